"""The lab's hosts: one network + UTS + mount (+ PID) namespace each, on one bridge.

- Every host's network namespace is an `ip netns` (/run/netns/sslab-<host>), joined by a
  veth pair (hub side `v-<host>`, host side `eth0`) to the bridge `br0` in the hub
  namespace. No default route anywhere; the root namespace gets an `unreachable` route
  for the lab's /24 so a stray client can never send lab traffic off the machine.
- Daemon hosts (db, ctl1, ctl2, dbd1, dbd2, c1, c2) also get their own UTS, mount and
  PID namespace, held by a small init process (PID 1 there, reaps orphans) started with
  `unshare --pid --fork --mount-proc`: on ctl1, `ps` and /proc show only ctl1's processes,
  so a monitor run "on" ctl1 sees its local slurmctld and nothing of ctl2's.
  Killing the init kills everything on that host.
- The hub (clients, the monitor under test) has UTS and mount namespaces persisted as
  files under <tmp>/ns, and no PID namespace: a client entered with nsenter is exec'd in
  place, so whoever started it holds its real PID.
- In each host's mount namespace (propagation slave: it sees later host mounts, and
  nothing leaks back) /etc/hosts is the lab's hosts file and <tmp>/local is the host's
  own directory. /sys is left alone (`ip netns exec` would remount it, and slurmd 22.05
  does not start without /sys/fs/cgroup).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cluster import layout, procs
from tests.cluster.configs import Paths
from tests.cluster.runtime import Runtime

IP_TIMEOUT = 10

# PID 1 of a host: reap whatever gets reparented to it, exit on SIGTERM.
INIT_CODE = """\
import os, signal
sigs = {signal.SIGCHLD, signal.SIGTERM}
signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
while signal.sigwaitinfo(sigs).si_signo == signal.SIGCHLD:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass
"""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return procs.run(["ip", *args], timeout=IP_TIMEOUT, check=check)


def netns_path(host: str) -> str:
    return f"/run/netns/{layout.netns_name(host)}"


class Hosts:
    """Creates, enters, cuts and destroys the lab's host namespaces."""

    def __init__(self, paths: Paths, runtime: Runtime | None = None) -> None:
        self.paths = paths
        self.runtime = runtime
        self.inits: dict[str, procs.ProcRef] = {}
        self._init_popens: dict[str, subprocess.Popen] = {}

    # --- building -------------------------------------------------------------------

    def create(self) -> None:
        for host in layout.HOSTS:
            ip("netns", "add", layout.netns_name(host))
        hub = layout.netns_name("hub")
        ip("-n", hub, "link", "set", "lo", "up")
        ip("-n", hub, "link", "add", layout.BRIDGE, "type", "bridge", "stp_state", "0")
        ip("-n", hub, "addr", "add", f"{layout.HOSTS['hub']}/24", "dev", layout.BRIDGE)
        ip("-n", hub, "link", "set", layout.BRIDGE, "up")
        for host, addr in layout.HOSTS.items():
            if host == "hub":
                continue
            ns, veth = layout.netns_name(host), layout.veth_name(host)
            # Created inside the hub namespace: no lab interface ever shows up in the
            # root namespace, so nothing can clash with the machine's own names.
            ip("-n", hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("-n", hub, "link", "set", veth, "master", layout.BRIDGE, "up")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
        ip("route", "add", "unreachable", layout.SUBNET_CIDR)
        self._make_hub()
        for host in layout.HOSTS:
            if host != "hub":
                self._start_init(host)

    def add(self, host: str, addr: str) -> None:
        """One more host on the bridge after start (the monitor replicas' hosts, made
        only when a test asks), built as create() builds the daemon hosts."""
        hub, ns, veth = layout.netns_name("hub"), layout.netns_name(host), layout.veth_name(host)
        ip("netns", "add", ns)
        ip("-n", hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("-n", hub, "link", "set", veth, "master", layout.BRIDGE, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        self._start_init(host)

    def remove(self, host: str) -> None:
        """Undo add(): the host's processes (its init, and with it its PID namespace) and
        its network namespace (the veth pair goes with it)."""
        ref, popen = self.inits.pop(host, None), self._init_popens.pop(host, None)
        if ref is not None:
            ref.signal(9)
            ref.wait_gone(10)
        if popen is not None:
            popen.wait(timeout=10)
        ip("netns", "del", layout.netns_name(host), check=False)

    def _make_hub(self) -> None:
        ns_dir = self.paths.ns_dir
        ns_dir.mkdir(exist_ok=True)
        # A namespace file can only be bind-mounted below a private mount.
        procs.run(["mount", "--bind", str(ns_dir), str(ns_dir)], timeout=10)
        procs.run(["mount", "--make-private", str(ns_dir)], timeout=10)
        uts, mnt = ns_dir / "hub.uts", ns_dir / "hub.mnt"
        uts.touch()
        mnt.touch()
        procs.run(
            [
                "nsenter",
                f"--net={netns_path('hub')}",
                "unshare",
                f"--uts={uts}",
                f"--mount={mnt}",
                "--propagation",
                "slave",
                "true",
            ],
            timeout=10,
        )
        self._setup_host("hub", ["nsenter", f"--uts={uts}"], ["nsenter", f"--mount={mnt}"])

    def _start_init(self, host: str) -> None:
        argv = [
            "nsenter", f"--net={netns_path(host)}",
            "unshare", "--uts", "--mount", "--propagation", "slave", "--pid", "--fork",
            "--mount-proc",
            sys.executable, "-I", "-c", INIT_CODE,
        ]  # fmt: skip
        # unshare 2.38 prints a spurious "sigprocmask unblock failed" when its child dies.
        with open(self.paths.root / "stdio" / f"init-{host}.out", "ab") as out:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._init_popens[host] = popen
        self.inits[host] = procs.wait_exec_child(popen, sys.executable)
        target = f"--target={self.inits[host].pid}"
        self._setup_host(host, ["nsenter", target, "--uts"], ["nsenter", target, "--mount"])

    def _setup_host(self, host: str, uts: list[str], mnt: list[str]) -> None:
        hdir = self.paths.host_dir(host)
        hdir.mkdir(parents=True, exist_ok=True)
        procs.run([*uts, "hostname", host], timeout=10)
        procs.run([*mnt, "mount", "--bind", str(self.paths.hosts_file), "/etc/hosts"], timeout=10)
        procs.run([*mnt, "mount", "--bind", str(hdir), str(self.paths.local)], timeout=10)
        # The copy of <tmp>/ns would pin the other hosts' namespaces from inside this one.
        procs.run([*mnt, "umount", "--lazy", str(self.paths.ns_dir)], timeout=10, check=False)
        if self.runtime is not None and self.runtime.root is not None:
            self._bind_into_root(mnt, self.runtime.root)

    def _bind_into_root(self, mnt: list[str], root: Path) -> None:
        """Make the release's Debian root see what the host sees: the lab directory
        (with this host's <tmp>/local) at the same path, the lab's /etc/hosts (minimal
        roots have none), and this host's /proc, /dev and /sys. Only in this host's mount
        namespace: nothing shows in the root namespace or in the cached root."""
        binds = [
            ("--rbind", str(self.paths.root), f"{root}{self.paths.root}"),
            ("--bind", str(self.paths.hosts_file), f"{root}/etc/hosts"),
            ("--rbind", "/proc", f"{root}/proc"),
            ("--rbind", "/dev", f"{root}/dev"),
            ("--rbind", "/sys", f"{root}/sys"),
        ]
        for how, source, target in binds:
            procs.run([*mnt, "mount", how, source, target], timeout=10)

    # --- using ----------------------------------------------------------------------

    def enter_argv(self, host: str) -> list[str]:
        """nsenter prefix that runs a program on `host` (all of its namespaces), in the
        caller's working directory."""
        if host == "hub":
            ns = self.paths.ns_dir
            return [
                "/usr/bin/nsenter", f"--net={netns_path('hub')}", f"--uts={ns}/hub.uts",
                f"--mount={ns}/hub.mnt", "--wd=.",
            ]  # fmt: skip
        if host not in self.inits:
            raise KeyError(f"no such lab host: {host!r}")
        return [
            "/usr/bin/nsenter", f"--target={self.inits[host].pid}",
            "--net", "--uts", "--mount", "--pid", "--wd=.",
        ]  # fmt: skip

    def has_pid_ns(self, host: str) -> bool:
        return host != "hub"

    def cut(self, host: str) -> None:
        """Take the host's bridge port down: its peers' packets vanish (timeouts, not
        refusals), like a pulled cable; the host itself keeps running."""
        self._link(host, "down")

    def restore(self, host: str) -> None:
        self._link(host, "up")

    def _link(self, host: str, state: str) -> None:
        if host == "hub" or host not in layout.HOSTS:
            raise ValueError(f"no link to cut for {host!r}")
        ip("-n", layout.netns_name("hub"), "link", "set", layout.veth_name(host), state)

    def link_up(self, host: str) -> bool:
        out = ip("-n", layout.netns_name("hub"), "-o", "link", "show", layout.veth_name(host))
        return "state DOWN" not in out.stdout and ",UP" in out.stdout.split(">")[0]

    # --- tearing down ---------------------------------------------------------------

    def stop_inits(self) -> None:
        for ref in self.inits.values():
            ref.signal(9)  # the kernel then kills everything in that PID namespace
        for host, popen in self._init_popens.items():
            try:
                popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout=5)
            self.inits.pop(host, None)
        self._init_popens.clear()


def lab_net_ns_ids() -> dict[str, str]:
    """'sslab-<host>' -> 'net:[inode]' of every lab network namespace that exists."""
    found = {}
    run_netns = Path("/run/netns")
    if run_netns.is_dir():
        for entry in run_netns.iterdir():
            if entry.name.startswith(f"{layout.PREFIX}-"):
                try:
                    found[entry.name] = f"net:[{os.stat(entry).st_ino}]"
                except OSError:
                    found[entry.name] = ""
    return found


def lab_mounts(tmp_base: str) -> list[str]:
    """Mount points (root namespace) under a lab temp directory, deepest first."""
    prefix = os.path.join(tmp_base, f"{layout.PREFIX}-")
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point.startswith(prefix):
            points.append(point)
    return sorted(set(points), key=len, reverse=True)


def guard_route_present() -> bool:
    out = ip("route", "show", "type", "unreachable", layout.SUBNET_CIDR, check=False)
    return bool(out.stdout.strip())


def teardown_network(tmp_base: str) -> None:
    """Remove every lab namespace, mount and the guard route (processes must be gone)."""
    for point in lab_mounts(tmp_base):
        procs.run(["umount", "--lazy", point], timeout=10, check=False)
    for name in lab_net_ns_ids():
        ip("netns", "del", name, check=False)
    if guard_route_present():
        ip("route", "del", "unreachable", layout.SUBNET_CIDR, check=False)
