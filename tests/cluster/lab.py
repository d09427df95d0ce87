"""A real Slurm HA cluster on one Debian machine, for tests (run as root): Slurm 22.05 from
the host's packages, or 24.11 / 26.05 from a Debian root (runtime.py, roots.py).

    lab = Lab()                      # or Lab(slurm="24.11"), Lab(slurm="26.05")
    lab.start()                      # from nothing to healthy; installs packages if missing
    lab.run_client(["scontrol", "ping"], timeout=20)
    lab.kill("ctl1"); lab.wait_serving("ctl2"); lab.heal()
    lab.stop()                       # idempotent; leaves nothing behind

Hosts and addresses: see layout.py and netns.py. Daemon names: munge, db, dbd1, dbd2, ctl1,
ctl2, c1, c2. Which controller is serving is decided with a single-controller client
config per controller (see configs.render_probe_conf): `sdiag` through it answers only if
that controller is in control. `scontrol ping` cannot tell (a standby backup answers UP)
and `sacctmgr show cluster`'s ControlHost is cleared when the primary dies and can lag
behind a failback.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.cluster import cleanup, daemons, layout, netns, procs, restd, roots, status
from tests.cluster.configs import Paths
from tests.cluster.replica_hosts import ReplicaHosts
from tests.cluster.runtime import Runtime

# Holds the lab lock for a lab that outlives the process that started it (the command
# line's `up`); the last argument is what cleanup.leftovers() looks for.
KEEPER_MARK = f"{layout.PREFIX}-keeper"
KEEPER_CODE = "import signal\nwhile True:\n    signal.pause()\n"


def poll(
    what: str, check: Callable[[], tuple[bool, object]], timeout: float, interval: float = 0.25
) -> float:
    """Call check() until it returns (True, _); return the seconds it took. On the
    deadline raise TimeoutError naming `what` and the last observed state."""
    start = time.monotonic()
    observed: object = None
    while True:
        ok, observed = check()
        if ok:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise TimeoutError(
                f"{what}: not reached within {timeout:.0f}s; last observed: {observed}"
            )
        time.sleep(interval)


class Lab:
    """One running test cluster; see the module docstring."""

    def __init__(
        self, tmp_base: str | None = None, keep_logs: str | None = None, slurm: str | None = None
    ) -> None:
        self.tmp_base = tmp_base or tempfile.gettempdir()
        self.keep_logs = keep_logs or os.environ.get("SSLAB_KEEP_LOGS")
        self.slurm = slurm or roots.DEFAULT_SLURM  # release series: 22.05, 24.11, 26.05
        roots.release(self.slurm)  # ValueError on an unknown one, before anything starts
        self.runtime: Runtime | None = None
        self.paths: Paths | None = None
        self.hosts: netns.Hosts | None = None
        self.startup_seconds: float | None = None
        self.slurm_version: str | None = None
        self._lock: int | None = None
        self._keeper: procs.ProcRef | None = None  # holds the lock for a detached lab
        self._procs: dict[str, procs.ProcRef] = {}
        self._launchers: dict[str, procs.ProcRef] = {}  # the nsenter above each daemon
        self._popens: dict[str, subprocess.Popen] = {}
        self._cut: set[str] = set()
        self._replica_hosts: ReplicaHosts | None = None
        self._restd: restd.Restd | None = None

    @property
    def restd(self) -> restd.Restd:
        """The lab's slurmrestd instances, started only on request (restd.py)."""
        if self._restd is None:
            self._restd = restd.Restd(self)
        return self._restd

    @property
    def replica_hosts(self) -> ReplicaHosts:
        """Hosts for monitor replicas (mon1, mon2), made on ensure() (replica_hosts.py)."""
        if self._replica_hosts is None:
            self._replica_hosts = ReplicaHosts(self)
        return self._replica_hosts

    # --- where things are -----------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.paths is not None

    def _p(self) -> Paths:
        if self.paths is None:
            raise RuntimeError("the lab is not running")
        return self.paths

    @property
    def root(self) -> Path:
        return self._p().root

    @property
    def slurm_conf(self) -> Path:
        return self._p().slurm_conf

    @property
    def bin_dir(self) -> Path:
        return self._p().bin_dir

    @property
    def hub_bin_dir(self) -> Path:
        """Client wrappers for programs already running on the hub (the monitor under
        test there: its `slurm_bin`/`munge_bin`). They run the release's own clients."""
        return self._p().hub_bin_dir

    @property
    def munge_socket(self) -> Path:
        return self._p().munge_socket

    def probe_conf(self, target: str) -> Path:
        return self._p().probe_conf(target)

    def log_path(self, name: str) -> Path:
        return self._p().log_file(name)

    def log(self, name: str) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def client_env(self, conf: Path | None = None) -> dict[str, str]:
        """os.environ with SLURM_CONF set and the hub wrappers first on PATH."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(conf or self.slurm_conf)
        env["PATH"] = f"{self.bin_dir}:{env.get('PATH', daemons.DAEMON_PATH)}"
        return env

    def hub_env(self, conf: Path | None = None) -> dict[str, str]:
        """os.environ for a program run on the hub: SLURM_CONF set and the release's own
        clients (hub_bin_dir) first on PATH."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(conf or self.slurm_conf)
        env["PATH"] = f"{self.hub_bin_dir}:{env.get('PATH', daemons.DAEMON_PATH)}"
        return env

    # --- running programs on hosts ----------------------------------------------------

    def host_argv(self, host: str, argv: list[str]) -> list[str]:
        """argv that runs `argv` on `host` (its network, UTS, mount and, except for the
        hub, PID namespace) in the caller's working directory."""
        if self.hosts is None:
            raise RuntimeError("the lab is not running")
        prog = argv[0]
        if "/" not in prog and prog in layout.CLIENT_PROGRAMS and self.runtime is not None:
            # The release's own client (from its Debian root for 24.11 and 26.05).
            return [
                *self.hosts.enter_argv(host),
                *self.runtime.client_argv(prog, os.getcwd()),
                *argv[1:],
            ]
        if "/" not in prog:
            prog = shutil.which(prog, path=daemons.DAEMON_PATH) or prog
        return [*self.hosts.enter_argv(host), prog, *argv[1:]]

    def spawn_on(self, host: str, argv: list[str], **popen_kwargs) -> subprocess.Popen:
        """A long-running process on `host`. terminate()/kill() reach the program itself
        (not just nsenter); stop() kills whatever is still running in the lab."""
        popen_kwargs.setdefault("env", self.client_env())
        cls = procs.NsPopen if self.hosts and self.hosts.has_pid_ns(host) else subprocess.Popen
        return cls(self.host_argv(host, argv), **popen_kwargs)

    def run_on(
        self,
        host: str,
        argv: list[str],
        timeout: float,
        env: dict[str, str] | None = None,
        input: str | None = None,
        conf: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run to completion on `host`, text output captured. On timeout the program is
        killed and subprocess.TimeoutExpired raised (with what it had printed)."""
        env = env or self.client_env(conf)
        env.setdefault("LC_ALL", "C")
        p = self.spawn_on(
            host,
            argv,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        )
        try:
            out, err = p.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise subprocess.TimeoutExpired(argv, timeout, out, err) from None
        return subprocess.CompletedProcess(argv, p.returncode, out, err)

    def run_client(
        self, argv: list[str], timeout: float, conf: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """A client command on the hub, with SLURM_CONF (default: the lab's slurm.conf)."""
        return self.run_on("hub", argv, timeout, conf=conf)

    def spawn_client(self, argv: list[str], **popen_kwargs) -> subprocess.Popen:
        return self.spawn_on("hub", argv, **popen_kwargs)

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> float:
        """Bring the whole cluster up from nothing; return the seconds to healthy
        (package installation not counted)."""
        if self.running:
            return self.startup_seconds or 0.0
        daemons.ensure_packages()
        self.runtime = Runtime.for_release(self.slurm)  # builds the Debian root if missing
        self._acquire_lock()
        try:
            cleanup.cleanup_leftovers(self.tmp_base)
            t0 = time.monotonic()
            self._bring_up()
            self.startup_seconds = time.monotonic() - t0
        except BaseException:
            self.stop()
            raise
        return self.startup_seconds

    def _acquire_lock(self) -> None:
        """One lab per machine (fixed names and /24). The lock file is removed on stop, so
        a lock taken on a file that was unlinked meanwhile is retried on the new one."""
        while True:
            fd = os.open(layout.LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RuntimeError(
                    f"another lab is running ({layout.LOCK_FILE} is locked)"
                ) from None
            try:
                same = os.stat(layout.LOCK_FILE).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._lock = fd
                return
            os.close(fd)

    def _release_lock(self) -> None:
        if self._lock is not None or self._keeper is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(layout.LOCK_FILE)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
        if self._keeper is not None:
            self._keeper.signal(signal.SIGKILL)
            self._keeper.wait_gone(10)
            self._keeper = None

    # --- a lab that outlives its process (the command line) ------------------------------

    def detach(self) -> None:
        """Let this lab outlive the calling process: a small keeper process takes over
        the lab lock, and lab.json records all a later `Lab.attach()` needs. The daemons
        already run in their own sessions and are not stopped when the caller exits."""
        if self._lock is None:
            raise RuntimeError("only a lab started by this process can be detached")
        keeper = subprocess.Popen(
            [sys.executable, "-I", "-c", KEEPER_CODE, KEEPER_MARK],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=[self._lock],  # the flock belongs to the open file: shared with it
            start_new_session=True,
        )
        ref = procs.ProcRef.of(keeper.pid)
        if ref is None:
            raise RuntimeError("the lab keeper exited at once")
        self._keeper = ref
        self._save_state()
        os.close(self._lock)
        self._lock = None

    @classmethod
    def attach(cls, tmp_base: str | None = None) -> Lab:
        """The detached lab running on this machine (RuntimeError when there is none)."""
        tmp_base = tmp_base or tempfile.gettempdir()
        for state_file in sorted(Path(tmp_base).glob(f"{layout.PREFIX}-*/lab.json")):
            try:
                state = json.loads(state_file.read_text())
            except (OSError, ValueError):
                continue
            keeper = _ref(state.get("keeper"))
            if keeper is None or not keeper.alive():
                continue
            lab = cls(tmp_base, slurm=state.get("slurm"))
            lab._attach(state_file.parent, state, keeper)
            return lab
        raise RuntimeError("no lab is running (start one with: python3 -m tests.cluster up)")

    def _attach(self, root: Path, state: dict, keeper: procs.ProcRef) -> None:
        self._keeper = keeper
        self.runtime = Runtime.for_release(self.slurm, build=False)
        self.paths = Paths(root)
        self.slurm_version = state.get("slurm_version")
        self.startup_seconds = state.get("startup_seconds")
        self.hosts = netns.Hosts(self.paths, self.runtime)
        for host, pair in state.get("inits", {}).items():
            if (ref := _ref(pair)) is not None:
                self.hosts.inits[host] = ref
        self._procs = {n: r for n, p in state.get("procs", {}).items() if (r := _ref(p))}
        self._launchers = {n: r for n, p in state.get("launchers", {}).items() if (r := _ref(p))}
        self._cut = set(state.get("cut", []))

    def _bring_up(self) -> None:
        root = Path(tempfile.mkdtemp(prefix=f"{layout.PREFIX}-", dir=self.tmp_base))
        root.chmod(0o755)  # munge and mysql must reach their directories
        self.paths = paths = Paths(root)
        self._save_state()
        daemons.write_configs(paths)
        runtime = self.runtime or Runtime.for_release(self.slurm)
        if runtime.root is None:
            self.slurm_version = procs.run(
                ["scontrol", "--version"], timeout=10, env={"SLURM_CONF": str(paths.slurm_conf)}
            ).stdout.split()[-1]
        else:
            # Mount points for the lab inside the Debian root (see netns._bind_into_root).
            (runtime.root / root.relative_to("/")).mkdir(parents=True, exist_ok=True)
            (runtime.root / "etc/hosts").touch()
        self.hosts = netns.Hosts(paths, runtime)
        self.hosts.create()
        self._save_state()
        daemons.write_wrappers(paths, self.hosts.enter_argv("hub"), runtime)
        if runtime.root is not None:
            self.slurm_version = self.run_client(
                ["scontrol", "--version"], timeout=30
            ).stdout.split()[-1]
        daemons.prepare_munge(paths)
        self._start("munge")
        poll("munged socket", lambda: (daemons.unix_socket_answers(paths.munge_socket), None), 10)
        daemons.prepare_mariadb(paths)
        self._start("db")
        poll("mariadbd socket", lambda: (daemons.unix_socket_answers(paths.db_socket), None), 30)
        self._start("dbd1")
        self.wait_dbd_serving("dbd1", timeout=30)  # the first slurmctld start needs it
        self._start("dbd2")
        self._start("ctl1")
        self.wait_serving("ctl1", timeout=30)
        if not status.state_saved(self):
            # 24.11/26.05 first save their whole state after 5 minutes, and a 26.05 backup
            # that takes over before that dies (no assoc_usage). A clean shutdown saves
            # it at once: stop and start the primary once, before the backup exists.
            self._kill_proc("ctl1", signal.SIGTERM)
            self._start("ctl1")
            self.wait_serving("ctl1", timeout=30)
        self._start("ctl2")
        for node in layout.NODES:
            self._start(node)
        self.wait_nodes_idle(timeout=60)
        self.wait_healthy(timeout=60)

    def stop(self) -> None:
        """Tear everything down: our daemons, every process in a lab namespace, the
        namespaces, mounts, guard route and the temp directory. Idempotent; every step
        runs even when an earlier one fails (the first error is raised at the end).
        Without the lab lock nothing here is ours (maybe another process's lab): no-op."""
        if self._lock is None and self._keeper is None:
            return
        errors: list[Exception] = []

        def step(fn: Callable[..., object], *args: object) -> None:
            try:
                fn(*args)
            except Exception as e:  # noqa: BLE001 - keep tearing down, report at the end
                errors.append(e)

        for name in list(self._procs):
            step(self._kill_proc, name)
        if self.hosts is not None:
            step(self.hosts.stop_inits)
        step(cleanup.kill_in_lab_namespaces)
        for popen in self._popens.values():
            step(_reap, popen)
        self._popens.clear()
        self._procs.clear()
        self._cut.clear()
        step(netns.teardown_network, self.tmp_base)
        if self.paths is not None:
            step(self._keep_logs)
            shutil.rmtree(self.paths.root, ignore_errors=True)
            if self.runtime is not None and self.runtime.root is not None:
                step(_rmdir, self.runtime.root / self.paths.root.relative_to("/"))
        self._launchers.clear()
        self._replica_hosts = None
        self.paths = None
        self.hosts = None
        self._release_lock()
        if errors:
            raise errors[0]

    def _keep_logs(self) -> None:
        if not self.keep_logs or self.paths is None:
            return
        dest = Path(self.keep_logs) / self.paths.root.name
        dest.mkdir(parents=True, exist_ok=True)
        for log in self.paths.root.rglob("*.log"):
            shutil.copy(log, dest / f"{log.parent.name}-{log.name}")
        for out in (self.paths.root / "stdio").glob("*.out"):
            shutil.copy(out, dest / out.name)

    def _save_state(self) -> None:
        """Record our processes for cleanup_leftovers after a crash, and all that
        Lab.attach() needs to take over a detached lab."""
        pair = lambda r: [r.pid, r.start]  # noqa: E731
        state = {
            "procs": {n: pair(r) for n, r in self._procs.items()},
            "launchers": {n: pair(r) for n, r in self._launchers.items()},
            "inits": {h: pair(r) for h, r in (self.hosts.inits if self.hosts else {}).items()},
            "keeper": pair(self._keeper) if self._keeper else None,
            "slurm": self.slurm,
            "slurm_version": self.slurm_version,
            "startup_seconds": self.startup_seconds,
            "cut": sorted(self._cut),
        }
        tmp = self._p().state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self._p().state_file)

    # --- daemons ----------------------------------------------------------------------

    def _start(self, name: str) -> None:
        paths, d = self._p(), layout.DAEMONS[name]
        launch = daemons.launch(paths, name, self.runtime)
        stdio = open(paths.stdio_file(name), "ab")  # noqa: SIM115 - handed to the child
        kwargs = dict(
            stdin=subprocess.DEVNULL,
            stdout=stdio,
            stderr=subprocess.STDOUT,
            env=daemons.daemon_env(paths),
            cwd=paths.root,
            start_new_session=True,
        )
        try:
            if d.host is None:
                popen = subprocess.Popen(
                    launch.argv, user=launch.user, group=launch.user, extra_groups=[], **kwargs
                )
                ref = procs.ProcRef.of(popen.pid)
                if ref is None:
                    raise RuntimeError(f"{name} exited at once; see {paths.stdio_file(name)}")
            else:
                popen, ref = self._start_in_host(name, d.host, launch, kwargs)
                if (launcher := procs.ProcRef.of(popen.pid)) is not None:
                    self._launchers[name] = launcher
        finally:
            stdio.close()
        self._popens[name] = popen
        self._procs[name] = ref
        self._save_state()

    def _start_in_host(
        self, name: str, host: str, launch: daemons.Launch, kwargs: dict
    ) -> tuple[procs.NsPopen, procs.ProcRef]:
        """Start in the host's namespaces; a start that exits at once is tried once more
        (a 26.05 slurmctld restarted right after a kill -9 exited with status 1 once in
        CI, its output lost with the lab), and the error then quotes the daemon's output."""
        stdio = self._p().stdio_file(name)
        for attempt in (1, 2):
            popen = procs.NsPopen(self.host_argv(host, launch.argv), **kwargs)
            try:
                return popen, procs.wait_exec_child(popen, launch.program)
            except RuntimeError as exc:
                tail = stdio.read_text(errors="replace").splitlines()[-5:]
                if attempt == 2 or popen.poll() is None:  # still running: not a quick exit
                    raise RuntimeError(f"{exc}; {stdio} ends: {' | '.join(tail)}") from None
                print(f"{name} exited at once, starting it again; it said: {tail}", file=sys.stderr)
        raise AssertionError("unreachable")

    def _kill_proc(self, name: str, sig: int = signal.SIGKILL) -> None:
        ref = self._procs.get(name)
        if ref is not None:
            ref.signal(sig)
            if not ref.wait_gone(10 if sig == signal.SIGKILL else 5):
                ref.signal(signal.SIGKILL)
                ref.wait_gone(10)
        popen = self._popens.get(name)
        if popen is not None:
            _reap(popen)
        elif (launcher := self._launchers.get(name)) is not None:
            launcher.signal(signal.SIGCONT)  # an attached lab: let a stopped nsenter exit
        self._launchers.pop(name, None)

    def _check_name(self, name: str) -> None:
        if name not in layout.DAEMONS:
            raise KeyError(f"no lab daemon {name!r}; one of {', '.join(layout.DAEMONS)}")

    def pid(self, name: str) -> int | None:
        """PID (root namespace) of the daemon, None when it is not running."""
        self._check_name(name)
        ref = self._procs.get(name)
        return ref.pid if ref and ref.alive() else None

    def is_running(self, name: str) -> bool:
        """True while the daemon's process exists (frozen included)."""
        return self.pid(name) is not None

    def processes(self) -> dict[str, procs.ProcRef]:
        """Every process the lab started and still tracks: daemons by name, host inits
        as 'init:<host>'."""
        found = dict(self._procs)
        if self.hosts is not None:
            found.update({f"init:{h}": ref for h, ref in self.hosts.inits.items()})
        return found

    def is_frozen(self, name: str) -> bool:
        ref = self._procs.get(name)
        return bool(ref) and ref.state() in ("T", "t")

    def kill(self, name: str, sig: int = signal.SIGKILL, stale_socket: bool = False) -> None:
        """Send `sig` (default kill -9) to the daemon and wait until it is gone.

        munge: a munged killed with SIGKILL leaves its socket behind, and then every
        client gets `Connection refused` and libmunge and Slurm retry for more than a
        minute (commands hang). Under systemd the socket goes away with the unit's
        RuntimeDirectory when munged stops or dies, and commands fail at once with
        `Munge encode failed` / an authentication error. So the socket is removed here
        too, unless `stale_socket` asks for the hanging variant.
        """
        self._check_name(name)
        self._kill_proc(name, sig)
        if name == "munge" and not stale_socket:
            self._p().munge_socket.unlink(missing_ok=True)

    def restore(self, name: str) -> None:
        """Start the daemon again if it is not running (a frozen one is thawed)."""
        self._check_name(name)
        if self.is_frozen(name):
            self.thaw(name)
        elif not self.is_running(name):
            self._start(name)

    def freeze(self, name: str) -> None:
        """SIGSTOP: the process stays, its sockets accept, nothing answers."""
        self._check_name(name)
        ref = self._procs.get(name)
        if ref is None or not ref.signal(signal.SIGSTOP):
            raise RuntimeError(f"{name} is not running")

    def thaw(self, name: str) -> None:
        self._check_name(name)
        ref = self._procs.get(name)
        if ref is not None:
            ref.signal(signal.SIGCONT)
        # nsenter stops itself when its child stops; let it go on waiting for it.
        popen = self._popens.get(name)
        if popen is not None and popen.poll() is None:
            os.kill(popen.pid, signal.SIGCONT)
        elif popen is None and (launcher := self._launchers.get(name)) is not None:
            launcher.signal(signal.SIGCONT)

    def cut_link(self, host: str) -> None:
        """Disconnect `host` from the bridge (it keeps running, unreachable)."""
        self._hosts().cut(host)
        self._cut.add(host)
        self._save_state()

    def restore_link(self, host: str) -> None:
        self._hosts().restore(host)
        self._cut.discard(host)
        self._save_state()

    @property
    def cut_links(self) -> frozenset[str]:
        """Hosts whose link is cut (cut_link without restore_link)."""
        return frozenset(self._cut)

    def _hosts(self) -> netns.Hosts:
        if self.hosts is None:
            raise RuntimeError("the lab is not running")
        return self.hosts

    def takeover(self, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """`scontrol takeover`: the backup asks the primary to hand over control; the
        primary slurmctld exits (restore("ctl1") or heal() brings it back)."""
        return self.run_client(["scontrol", "takeover"], timeout=timeout)

    # --- observing --------------------------------------------------------------------

    def ping(self) -> dict[str, str]:
        """{'ctl1': 'UP'|'DOWN', ...} from `scontrol ping`, {} when it did not answer."""
        return status.ping(self)

    def controller_states(self) -> dict[str, str]:
        """{'ctl1': 'serving'|'standby'|'down: <why>', 'ctl2': ...}"""
        return status.controller_states(self)

    def serving(self) -> list[str]:
        """The controllers currently in control (normally exactly one)."""
        return [h for h, s in self.controller_states().items() if s == "serving"]

    def dbd_states(self) -> dict[str, str]:
        """{'dbd1': 'serving'|'standby'|'down: <why>', 'dbd2': ...}"""
        return status.dbd_states(self)

    def node_states(self) -> dict[str, str]:
        """{'c1': 'idle', 'c2': 'down*', ...} from sinfo, {} when it did not answer."""
        return status.node_states(self)

    # --- waiting ----------------------------------------------------------------------

    def wait_serving(self, host: str, timeout: float = 30) -> float:
        """Until `host` (ctl1/ctl2) is the only controller in control."""

        def check() -> tuple[bool, object]:
            states = self.controller_states()
            return [h for h, s in states.items() if s == "serving"] == [host], states

        return poll(f"{host} serving", check, timeout)

    def wait_dbd_serving(self, host: str, timeout: float = 30) -> float:
        """Until `host` (dbd1/dbd2) answers `sacctmgr show stats` on its own."""

        def check() -> tuple[bool, object]:
            states = self.dbd_states()
            return states.get(host) == "serving", states

        return poll(f"{host} serving", check, timeout)

    def wait_nodes_idle(self, timeout: float = 60) -> float:
        """Until every node is idle, resuming down/drained ones (a node cut off from the
        controllers longer than SlurmdTimeout goes down* and may stay there)."""

        def check() -> tuple[bool, object]:
            states = self.node_states()
            for node, state in states.items():
                if state.rstrip("*~#!%$@^-") in ("down", "drain", "drng", "fail"):
                    self.run_client(
                        ["scontrol", "update", f"nodename={node}", "state=resume"], timeout=20
                    )
            ok = bool(states) and all(s == "idle" for s in states.values())
            return ok, states

        return poll("nodes idle", check, timeout, interval=0.5)

    def wait_healthy(self, timeout: float = 60, primary: bool = True) -> float:
        """Until every daemon runs, both controllers answer ping, exactly one controller
        serves (ctl1 when `primary`), dbd1 serves and dbd2 stands by (any one serving
        when not `primary`), `sacctmgr show stats` answers and the nodes are idle."""
        return poll("healthy", lambda: status.health(self, primary), timeout, interval=0.5)

    def heal(self, timeout: float = 120) -> float:
        """Undo every kill, freeze and cut, fail back to the primaries and wait until
        healthy; (re)starts the lab when it is not running. Returns seconds taken."""
        t0 = time.monotonic()
        if not self.running:
            self.start()
            return time.monotonic() - t0
        for name in layout.START_ORDER:
            if self.is_frozen(name):
                self.thaw(name)
        for host in sorted(self._cut):
            self.restore_link(host)
        if self._replica_hosts is not None:
            self._replica_hosts.heal()
        for name in layout.START_ORDER:
            self.restore(name)
        status.fail_back(self, deadline=t0 + timeout)
        # A backup that handed control back may have exited doing so (a 26.05 slurmdbd
        # backup was seen gone after the primary's return): start whatever is not running.
        for name in layout.START_ORDER:
            self.restore(name)
        status.cancel_jobs(self)
        self.wait_nodes_idle(timeout=max(5.0, t0 + timeout - time.monotonic()))

        def healthy_restarting() -> tuple[bool, object]:
            # A daemon can also die after that pass (a 26.05 backup slurmdbd, now and then,
            # as the primary takes back control): start it again until the lab is healthy.
            for name in layout.START_ORDER:
                if not self.is_running(name) and not self.is_frozen(name):
                    self.restore(name)
            return status.health(self, True)

        poll("healthy", healthy_restarting, max(5.0, t0 + timeout - time.monotonic()), 0.5)
        return time.monotonic() - t0


def _ref(pair: list[int] | None) -> procs.ProcRef | None:
    return procs.ProcRef(pair[0], pair[1]) if pair else None


def _rmdir(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.rmdir()


def _reap(popen: subprocess.Popen) -> None:
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(popen.pid, signal.SIGCONT)  # a stopped nsenter cannot reap
    try:
        popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(timeout=5)
