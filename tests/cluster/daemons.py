"""How each lab daemon is prepared and started: files on first start, argv, readiness."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from tests.cluster import configs, layout, procs
from tests.cluster.configs import Paths
from tests.cluster.runtime import Runtime

DAEMON_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    user: str | None = None  # only for root-namespace daemons (munged)
    exe: str | None = None  # what /proc/PID/exe becomes once started (default argv[0])

    @property
    def program(self) -> str:
        return self.exe or self.argv[0]


def ensure_packages() -> None:
    """Install the Debian packages the lab needs when any is missing (a fresh CI box)."""
    missing = []
    for pkg in layout.PACKAGES:
        out = procs.run(["dpkg-query", "-W", "-f=${Status}", pkg], timeout=30, check=False)
        if "install ok installed" not in out.stdout:
            missing.append(pkg)
    if not missing:
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    procs.run([*layout.APT_LOCKED, "apt-get", "update"], timeout=600, env=env)
    procs.run(
        [*layout.APT_LOCKED, "apt-get", "install", "-y", "--no-install-recommends",
         *layout.PACKAGES],
        timeout=1200,
        env=env,
    )


def program_path(name: str) -> str:
    found = shutil.which(name, path=DAEMON_PATH)
    if not found:
        raise FileNotFoundError(f"{name} not found in {DAEMON_PATH}")
    return found


def daemon_env(paths: Paths) -> dict[str, str]:
    # slurmdbd finds slurmdbd.conf next to $SLURM_CONF; nothing from the caller leaks in.
    return {"PATH": DAEMON_PATH, "LC_ALL": "C", "SLURM_CONF": str(paths.slurm_conf)}


def write_configs(paths: Paths) -> None:
    """Every file the lab needs before its first daemon starts."""
    for d in (paths.etc, paths.local, paths.state, paths.root / "stdio", paths.bin_dir):
        d.mkdir(parents=True, exist_ok=True)
    db_password = secrets.token_hex(12)
    paths.hosts_file.write_text(configs.render_hosts())
    paths.slurm_conf.write_text(configs.render_slurm_conf(paths))
    paths.slurmdbd_conf.write_text(configs.render_slurmdbd_conf(paths, db_password))
    paths.slurmdbd_conf.chmod(0o600)  # slurmdbd refuses a readable one
    paths.jwt_key.write_bytes(secrets.token_bytes(32))
    paths.jwt_key.chmod(0o600)  # SlurmUser (root) alone: whoever reads it can mint tokens
    for target in (*layout.CONTROLLERS, *layout.DBDS):
        conf = paths.probe_conf(target)
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(configs.render_probe_conf(paths, target))
    (paths.db_dir / "init.sql").parent.mkdir(parents=True, exist_ok=True)
    (paths.db_dir / "init.sql").write_text(configs.render_db_init_sql(db_password))
    for node in layout.NODES:
        (paths.host_dir(node) / "spool").mkdir(parents=True, exist_ok=True)


def write_wrappers(paths: Paths, hub_enter: list[str], runtime: Runtime) -> None:
    """<tmp>/bin: from the root namespace into the hub; <tmp>/hubbin: on the hub itself.
    Both run the release's own programs (from its Debian root if it has one)."""
    paths.hub_bin_dir.mkdir(parents=True, exist_ok=True)
    for program in layout.CLIENT_PROGRAMS:
        for directory, enter in ((paths.bin_dir, hub_enter), (paths.hub_bin_dir, [])):
            wrapper = directory / program
            wrapper.write_text(configs.render_wrapper(enter, runtime.wrapper_argv(program)))
            wrapper.chmod(0o755)


def _chown_tree(path: Path, user: str) -> None:
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, pw.pw_uid, pw.pw_gid)


def prepare_munge(paths: Paths) -> None:
    """Own key and socket directory, owned by munge; the directory o+x so that every
    daemon (root) and client can reach the socket."""
    paths.munge_dir.mkdir(mode=0o755, exist_ok=True)
    paths.munge_key.write_bytes(secrets.token_bytes(1024))
    paths.munge_key.chmod(0o600)
    _chown_tree(paths.munge_dir, "munge")
    paths.munge_dir.chmod(0o755)


def prepare_mariadb(paths: Paths) -> None:
    paths.db_dir.chmod(0o755)
    _chown_tree(paths.db_dir, "mysql")
    procs.run(
        [
            program_path("mariadb-install-db"),
            "--no-defaults",
            f"--datadir={paths.db_data}",
            "--user=mysql",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
            "--skip-name-resolve",
        ],  # fmt: skip
        timeout=120,
    )


def launch(paths: Paths, name: str, runtime: Runtime | None = None) -> Launch:
    conf = str(paths.slurm_conf)
    if name == "munge":
        m = paths.munge_dir
        return Launch(
            [
                program_path("munged"),
                "--foreground",
                f"--socket={paths.munge_socket}",
                f"--key-file={paths.munge_key}",
                f"--log-file={m / 'munged.log'}",
                f"--pid-file={m / 'munged.pid'}",
                f"--seed-file={m / 'munged.seed'}",
                "--num-threads=4",
            ],  # fmt: skip
            user="munge",
        )
    if name == "db":
        d = paths.db_dir
        return Launch(
            [
                program_path("mariadbd"),
                "--no-defaults",
                f"--datadir={paths.db_data}",
                f"--socket={paths.db_socket}",
                f"--port={layout.MARIADB_PORT}",
                "--bind-address=0.0.0.0",
                "--user=mysql",
                f"--pid-file={d / 'mariadbd.pid'}",
                f"--log-error={d / 'mariadbd.log'}",
                "--skip-name-resolve",
                # Sizes slurmdbd recommends (it logs an error otherwise).
                "--innodb-buffer-pool-size=128M",
                "--innodb-log-file-size=64M",
                "--innodb-lock-wait-timeout=900",
                "--skip-log-bin",
                "--innodb-flush-log-at-trx-commit=2",
                # Idempotent; bootstrap (mariadb-install-db) runs without grant tables.
                f"--init-file={d / 'init.sql'}",
            ],  # fmt: skip
        )
    program = layout.DAEMONS[name].program
    rt = runtime or Runtime("22.05", None)
    if program == "slurmdbd":
        return Launch(rt.argv("slurmdbd", "-D"), exe=rt.exe("slurmdbd"))
    if program == "slurmctld":
        return Launch(rt.argv("slurmctld", "-D", "-f", conf), exe=rt.exe("slurmctld"))
    if program == "slurmd":
        return Launch(rt.argv("slurmd", "-D", "-N", name, "-f", conf), exe=rt.exe("slurmd"))
    raise KeyError(name)


def unix_socket_answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True
