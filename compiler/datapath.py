"""A real datapath for the sandbox: Open vSwitch's userspace datapath,
ovn-controller, and one network namespace per logical switch port.

Everything lives in the sandbox's temp dir and is undone in reverse order
(contextlib.ExitStack) on success, failure, timeout or Ctrl-C: daemons are
stopped by their pid (and the start time recorded with it, so a reused pid
is never killed), namespaces and veths are deleted by name. Names carry a
tag unique to the sandbox, so two sandboxes can run at once.

What makes it work here without a kernel module (../shared/OVN-NOTES.md):
``br-int`` with ``datapath_type=netdev``; the chassis in
``Open_vSwitch.external_ids`` pointing at the sandbox's Southbound database;
ovs-vswitchd and ovn-controller sharing one run dir (ovn-controller finds
``br-int.mgmt`` there); and ``ethtool -K eth0 tx off`` in every namespace,
or the userspace datapath forwards TCP segments with unfilled checksums and
every one of them is dropped.

Traffic never leaves the machine: a router's uplink, when the sandbox gives
it one, is a logical switch of the sandbox's with a client namespace on it,
and every address used is inside a namespace made here.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED_PROGRAMS = ("ovs-vswitchd", "ovs-vsctl", "ovn-controller", "ip", "ethtool")
VSWITCH_SCHEMAS = ("/usr/share/openvswitch/vswitch.ovsschema",)
AGENT = Path(__file__).with_name("netns_agent.py")


class DatapathError(RuntimeError):
    """The datapath could not be built (not root, no /dev/net/tun, a program missing, a daemon failed)."""


def datapath_problem(path: str) -> str | None:
    """Why this machine cannot run the datapath, in one line, or None."""
    if os.geteuid() != 0:
        return "the datapath needs root (network namespaces and veths)"
    if not os.path.exists("/dev/net/tun"):
        return "the datapath needs /dev/net/tun (the userspace datapath's own port is a tap device)"
    missing = [p for p in REQUIRED_PROGRAMS if shutil.which(p, path=path) is None]
    if missing:
        return (
            f"the datapath needs {', '.join(missing)} (Debian packages openvswitch-switch, ovn-host, "
            "ethtool, iproute2; ./scripts/setup installs them)"
        )
    if not any(os.path.isfile(schema) for schema in VSWITCH_SCHEMAS):
        return "the datapath needs the Open_vSwitch schema (Debian package openvswitch-common)"
    return None


def process_start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # A zombie counts as gone: detached daemons are re-parented to PID 1,
    # which in a container may never reap them.
    return None if fields[0] == "Z" else fields[19]  # field 22 of the whole line: starttime


def stop_process(pid: int, started: str | None, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; never a pid reused by another process."""
    if started is None or process_start_time(pid) != started:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if process_start_time(pid) != started:
            return
        time.sleep(0.02)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True, slots=True)
class Interface:
    """What goes inside a namespace's eth0."""

    mac: str
    addresses: tuple[str, ...]  # "10.0.0.2/24", "fd00::2/64"
    gateways: tuple[str, ...] = ()  # default routes, one per family


@dataclass
class Namespace:
    """A network namespace with one eth0 plugged into br-int as a logical switch port."""

    name: str
    port: str  # the Logical_Switch_Port it stands for
    interface: Interface
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def command(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]


class Datapath:
    """Open vSwitch and ovn-controller for one sandbox, and its namespaces."""

    def __init__(self, directory: Path, env: Mapping[str, str], sb_remote: str) -> None:
        self.directory = directory
        self.env = dict(env)
        self.sb_remote = sb_remote
        # Interface names have 15 characters at most: "lb" + 5 of tag + "p" + number.
        self.tag = secrets.token_hex(3)[:5]
        self.db_remote = f"unix:{directory / 'conf.sock'}"
        self.switch_namespace = f"lb{self.tag}sw"
        self.namespaces: dict[str, Namespace] = {}
        self._stack = contextlib.ExitStack()
        self._count = 0

    @property
    def chassis(self) -> str:
        """The chassis's system-id: what a gateway port's Gateway_Chassis names."""
        return f"ovn-lbc-{self.tag}"

    # -- life cycle ------------------------------------------------------

    def start(self) -> None:
        problem = datapath_problem(self.env.get("PATH", os.defpath))
        if problem:
            raise DatapathError(problem)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        d = self.directory
        schema = next(s for s in VSWITCH_SCHEMAS if os.path.isfile(s))
        self.run("ovsdb-tool", "create", str(d / "conf.db"), schema)
        self._daemon(
            "ovsdb-server",
            "conf",
            f"--remote=punix:{d / 'conf.sock'}",
            f"--unixctl={d / 'conf.ctl'}",
            str(d / "conf.db"),
        )
        self.vsctl("--no-wait", "init")
        # ovs-vswitchd in a namespace of its own: the userspace datapath makes
        # tap devices of fixed names (ovs-netdev, br-int), which would clash
        # with another sandbox's in one namespace; the veths' switch ends live there too.
        self.run("ip", "netns", "add", self.switch_namespace)
        self._stack.callback(self._quiet, "ip", "netns", "delete", self.switch_namespace)
        self._daemon(
            "ovs-vswitchd",
            "vswitchd",
            f"--unixctl={d / 'vswitchd.ctl'}",
            self.db_remote,
            netns=self.switch_namespace,
        )
        self.vsctl("add-br", "br-int", "--", "set", "Bridge", "br-int", "datapath_type=netdev", "fail-mode=secure")
        self._stack.callback(self._quiet, "ovs-vsctl", f"--db={self.db_remote}", "--timeout=10", "del-br", "br-int")
        self.vsctl(
            "set",
            "Open_vSwitch",
            ".",
            f"external_ids:system-id={self.chassis}",
            f"external_ids:ovn-remote={self.sb_remote}",
            "external_ids:ovn-encap-type=geneve",
            "external_ids:ovn-encap-ip=127.0.0.1",
            "external_ids:ovn-bridge=br-int",
        )
        self._daemon("ovn-controller", "controller", self.db_remote)

    def stop(self) -> None:
        self._stack.close()
        self.namespaces.clear()

    def __enter__(self) -> Datapath:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- processes -------------------------------------------------------

    def run(self, *args: str, timeout: float = 60) -> str:
        try:
            result = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise DatapathError(f"{' '.join(args[:4])} ... did not finish within {timeout:g} s") from None
        if result.returncode != 0:
            raise DatapathError(f"{' '.join(args[:4])} ... failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def _quiet(self, *args: str) -> None:
        with contextlib.suppress(DatapathError, OSError):
            self.run(*args, timeout=20)

    def vsctl(self, *args: str) -> str:
        return self.run("ovs-vsctl", f"--db={self.db_remote}", "--timeout=30", *args)

    def _daemon(self, program: str, name: str, *args: str, netns: str | None = None) -> None:
        pidfile = self.directory / f"{name}.pid"
        self.run(
            *(("ip", "netns", "exec", netns) if netns else ()),
            program,
            "--detach",
            "--no-chdir",
            f"--pidfile={pidfile}",
            f"--log-file={self.directory / f'{name}.log'}",
            *args,
        )
        pid = int(pidfile.read_text().strip())
        self._stack.callback(stop_process, pid, process_start_time(pid))

    # -- namespaces ------------------------------------------------------

    def add_namespace(self, port: str, interface: Interface) -> Namespace:
        """A namespace whose eth0 is the logical switch port ``port``."""
        self._count += 1
        name = f"lb{self.tag}p{self._count}"
        host_end, inner_end = f"{name}h", f"{name}n"
        switch = self.switch_namespace
        self.run("ip", "netns", "add", name)
        self._stack.callback(self._quiet, "ip", "netns", "delete", name)
        # Made where they go: the switch's end in ovs-vswitchd's namespace, the other in the port's.
        self.run(
            "ip", "link", "add", host_end, "netns", switch, "type", "veth", "peer", "name", inner_end, "netns", name
        )
        # Deleting one end deletes the pair; both go with their namespaces anyway.
        self._stack.callback(self._quiet, "ip", "-n", switch, "link", "delete", host_end)
        ns = Namespace(name, port, interface)
        inside = ns.command
        self.run(*inside("ip", "link", "set", inner_end, "name", "eth0"))
        self.run(*inside("ip", "link", "set", "eth0", "address", interface.mac))
        self.run(*inside("sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_ra=0"))
        for address in interface.addresses:
            extra = ("nodad",) if ":" in address else ()
            self.run(*inside("ip", "address", "add", address, "dev", "eth0", *extra))
        self.run(*inside("ip", "link", "set", "lo", "up"))
        self.run(*inside("ip", "link", "set", "eth0", "up"))
        for gateway in interface.gateways:
            self.run(*inside("ip", "-6" if ":" in gateway else "-4", "route", "add", "default", "via", gateway))
        self.run(*inside("ethtool", "-K", "eth0", "tx", "off"))
        self.run("ip", "netns", "exec", switch, "sysctl", "-q", "-w", f"net.ipv6.conf.{host_end}.disable_ipv6=1")
        self.run("ip", "-n", switch, "link", "set", host_end, "up")
        self.vsctl("add-port", "br-int", host_end, "--", "set", "Interface", host_end, f"external_ids:iface-id={port}")
        self.namespaces[port] = ns
        return ns

    def spawn(self, namespace: Namespace, *args: str) -> subprocess.Popen[str]:
        """Start ``netns_agent.py ARGS`` in ``namespace``; it is stopped with the datapath."""
        process = subprocess.Popen(
            namespace.command(sys.executable, "-I", str(AGENT), *args),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # `ip netns exec` execs the agent, so the pid is the agent's.
        self._stack.callback(self._reap, process)
        namespace.processes.append(process)
        return process

    @staticmethod
    def _reap(process: subprocess.Popen[str]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def serve(
        self, namespace: Namespace, name: str, tcp: Sequence[int], udp: Sequence[int], *, answer_all: bool = False
    ) -> subprocess.Popen[str]:
        """A backend server answering ``name`` (``answer_all``: every UDP datagram,
        OVN's probes too); returns once it listens."""
        args = ["serve", name, *(f"--tcp={p}" for p in tcp), *(f"--udp={p}" for p in udp)]
        args.append(f"--peers={self.peers_file(namespace)}")
        if answer_all:
            args.append("--answer-every-datagram")
        process = self.spawn(namespace, *args)
        assert process.stdout is not None
        line = _readline(process, 10.0)
        if line.strip() != "ready":
            error = process.stderr.read() if process.stderr and process.poll() is not None else ""
            raise DatapathError(f"backend {name} in {namespace.name} did not start: {line or error}".strip())
        return process

    def peers_file(self, namespace: Namespace) -> Path:
        """Where the server in ``namespace`` writes the address of every TCP client."""
        return self.directory / f"{namespace.name}.peers"

    def peers(self, namespace: Namespace) -> list[str]:
        path = self.peers_file(namespace)
        return path.read_text(encoding="utf-8").split() if path.exists() else []

    def stop_server(self, process: subprocess.Popen[str]) -> None:
        self._reap(process)

    def ask(
        self, namespace: Namespace, address: str, port: int, protocol: str, count: int, *, parallel: int = 5
    ) -> dict[str, int]:
        """``count`` connections from ``namespace`` to ``address``:``port``: the answers and how often."""
        output = self.run(
            *namespace.command(
                sys.executable,
                "-I",
                str(AGENT),
                "connect",
                address,
                str(port),
                f"--protocol={protocol}",
                f"--count={count}",
                f"--parallel={parallel}",
                "--timeout=2",
            ),
            timeout=10 + 3 * count,
        )
        answers: dict[str, int] = json.loads(output)["answers"]
        return answers

    def ping(self, namespace: Namespace, address: str, count: int) -> int:
        """ICMP echo requests from ``namespace``; how many were answered."""
        output = self.run(
            *namespace.command(sys.executable, "-I", str(AGENT), "ping", address, f"--count={count}"),
            timeout=10 + 2 * count,
        )
        replies: int = json.loads(output)["replies"]
        return replies

    def icmp_echoes_received(self, namespace: Namespace) -> int:
        """IcmpInEchos of the namespace's kernel: the echo requests that reached it."""
        lines = [line.split() for line in self.run(*namespace.command("cat", "/proc/net/snmp")).splitlines()]
        names, values = (line for line in lines if line[0] == "Icmp:")
        return int(values[names.index("InEchos")])

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise DatapathError(f"{what} did not happen within {timeout:g} s")
            time.sleep(0.2)


def _readline(process: subprocess.Popen[str], timeout: float) -> str:
    """One line of the process's stdout, or "" after ``timeout`` seconds or at its end."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline()
