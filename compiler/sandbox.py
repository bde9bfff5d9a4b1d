"""A throwaway OVN: NB and SB ovsdb-server plus ovn-northd in a temp dir.

No root services and no systemd: every daemon runs detached with its pid,
log, socket and control files in one directory, and is stopped by pid. The
test suite and ``ovn-lbc sandbox`` share this one implementation.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from .apply import apply_compilation
from .compilation import Compilation
from .ir import Document, Network
from .ovsdb.client import OvsdbError

REQUIRED_PROGRAMS = ("ovsdb-tool", "ovsdb-server", "ovn-northd", "ovn-nbctl", "ovn-sbctl")
SCHEMA_DIRS = ("/usr/share/ovn", "/usr/local/share/ovn")


class SandboxError(RuntimeError):
    """OVN is missing or a daemon would not start."""


def search_path() -> str:
    """PATH plus the sbin directories: Debian puts ovsdb-server in /usr/sbin,
    which is not on an ordinary user's PATH."""
    entries = os.environ.get("PATH", os.defpath).split(os.pathsep)
    return os.pathsep.join(entries + [d for d in ("/usr/sbin", "/sbin") if d not in entries])


def missing_programs() -> list[str]:
    return [program for program in REQUIRED_PROGRAMS if shutil.which(program, path=search_path()) is None]


def find_schema(name: str) -> Path:
    for directory in SCHEMA_DIRS:
        path = Path(directory) / name
        if path.is_file():
            return path
    raise SandboxError(f"cannot find {name} in {', '.join(SCHEMA_DIRS)} (is ovn-common installed?)")


class Sandbox:
    """NB + SB ovsdb-server and ovn-northd, started on enter, stopped on exit."""

    def __init__(self, directory: str | None = None, *, nb_schema: str | None = None, northd: bool = True) -> None:
        self._own_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="ovn-lbc-sandbox-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.nb_schema = Path(nb_schema) if nb_schema else find_schema("ovn-nb.ovsschema")
        self.with_northd = northd
        self.nb_remote = f"unix:{self.directory / 'nb.sock'}"
        self.sb_remote = f"unix:{self.directory / 'sb.sock'}"
        self._pidfiles: list[Path] = []

    # -- life cycle ------------------------------------------------------

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def env(self) -> dict[str, str]:
        """The environment that points OVN's tools at this sandbox."""
        d = str(self.directory)
        return {
            **os.environ,
            "PATH": search_path(),
            "OVS_RUNDIR": d,
            "OVS_LOGDIR": d,
            "OVN_RUNDIR": d,
            "OVN_LOGDIR": d,
            "OVN_NB_DB": self.nb_remote,
            "OVN_SB_DB": self.sb_remote,
        }

    def start(self) -> None:
        missing = missing_programs()
        if missing:
            raise SandboxError(
                "OVN is not installed (missing " + ", ".join(missing) + "); "
                "install the Debian packages ovn-central ovn-common openvswitch-common"
            )
        d = self.directory
        self._run("ovsdb-tool", "create", str(d / "nb.db"), str(self.nb_schema))
        self._run("ovsdb-tool", "create", str(d / "sb.db"), str(find_schema("ovn-sb.ovsschema")))
        for db in ("nb", "sb"):
            self._daemon(
                "ovsdb-server",
                db,
                f"--remote=punix:{d / f'{db}.sock'}",
                f"--unixctl={d / f'{db}.ctl'}",
                str(d / f"{db}.db"),
            )
        if self.with_northd:
            self._daemon(
                "ovn-northd",
                "northd",
                f"--unixctl={d / 'northd.ctl'}",
                f"--ovnnb-db={self.nb_remote}",
                f"--ovnsb-db={self.sb_remote}",
            )
            self.sync()

    def stop(self) -> None:
        for pidfile in reversed(self._pidfiles):
            try:
                pid = int(pidfile.read_text().strip())
                os.kill(pid, signal.SIGTERM)
            except (OSError, ValueError):
                continue
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.01)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self._pidfiles.clear()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _daemon(self, program: str, name: str, *args: str) -> None:
        d = self.directory
        pidfile = d / f"{name}.pid"
        self._run(
            program,
            "--detach",
            "--no-chdir",
            f"--pidfile={pidfile}",
            f"--log-file={d / f'{name}.log'}",
            *args,
        )
        self._pidfiles.append(pidfile)

    def _run(self, *args: str) -> str:
        result = subprocess.run(
            args,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise SandboxError(f"{' '.join(args[:3])} ... failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    # -- tools -----------------------------------------------------------

    def nbctl(self, *args: str) -> str:
        return self._run("ovn-nbctl", "--timeout=30", *args)

    def sbctl(self, *args: str) -> str:
        return self._run("ovn-sbctl", "--timeout=30", *args)

    def sync(self) -> None:
        """Wait until ovn-northd has brought the SB database up to date."""
        self.nbctl("--wait=sb", "sync")

    def run_script(self, script: str) -> subprocess.CompletedProcess[str]:
        """Run a generated shell script against this sandbox's NB database."""
        # From a file: a big script is far over the 128 KiB limit of `sh -c`.
        path = self.directory / "script.sh"
        path.write_text(script, encoding="utf-8")
        return subprocess.run(
            ["sh", str(path)], env=self.env, capture_output=True, text=True, timeout=3600, check=False
        )


def _alive(pid: int) -> bool:
    """True while ``pid`` runs. A zombie counts as gone: detached daemons are
    re-parented to PID 1, which in a container may never reap them."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


# ---------------------------------------------------------------- topology


TOPOLOGY_BUDGET = 256 * 1024


def _mac(network_index: int, port_index: int) -> str:
    return f"0a:00:00:{network_index & 0xFF:02x}:{port_index >> 8 & 0xFF:02x}:{port_index & 0xFF:02x}"


def topology_commands(network: Network, network_index: int) -> list[list[str]]:
    """ovn-nbctl commands that build what the network's rows attach to.

    A router with a port on the internal switch (the gateway addresses and
    router_mac), and one switch port per switch_ports entry with its addresses.
    """
    router_port = f"{network.router}-{network.switch}"
    mac = str(network.router_mac).replace("-", ":").lower() if network.router_mac else _mac(network_index, 0)
    networks = [str(n) for n in (network.ipv4, network.ipv6) if n is not None]
    commands = [
        ["--may-exist", "lr-add", network.router],
        ["--may-exist", "ls-add", network.switch],
        ["--may-exist", "lrp-add", network.router, router_port, mac, *networks],
        ["--may-exist", "lsp-add", network.switch, f"{network.switch}-{network.router}"],
        ["lsp-set-type", f"{network.switch}-{network.router}", "router"],
        ["lsp-set-addresses", f"{network.switch}-{network.router}", "router"],
        ["lsp-set-options", f"{network.switch}-{network.router}", f"router-port={router_port}"],
    ]
    # Clients' switches and other routers: bare, only there to attach to.
    commands.extend(["--may-exist", "lr-add", name] for name in network.attach_routers)
    commands.extend(["--may-exist", "ls-add", name] for name in network.attach_switches)
    for port_index, port in enumerate(network.switch_ports, start=1):
        addresses = " ".join([_mac(network_index, port_index), *(str(a) for a in port.addresses)])
        commands.append(["--may-exist", "lsp-add", network.switch, port.name])
        commands.append(["lsp-set-addresses", port.name, addresses])
    return commands


def build_topology(sandbox: Sandbox, document: Document) -> None:
    """Create every network's router, switch and ports.

    Whole networks are batched into one ovn-nbctl call each until the
    arguments reach TOPOLOGY_BUDGET bytes; a big document (50,000 load
    balancers: 40,000 ports) would pass the kernel's argument limit at once.
    """
    batch: list[str] = []
    size = 0
    for index, network in enumerate(document.networks, start=1):
        for command in topology_commands(network, index):
            batch.extend(["--", *command])
            size += sum(len(arg) + 1 for arg in command) + 3
        if size > TOPOLOGY_BUDGET:
            sandbox.nbctl(*batch)
            batch, size = [], 0
    if batch:
        sandbox.nbctl(*batch)


def set_ports_up(sandbox: Sandbox, port_names: Sequence[str]) -> None:
    """Mark ports up in SB, as ovn-controller would; northd probes only up ports."""
    for name in port_names:
        sandbox.sbctl("set", "Port_Binding", name, "up=true")


def show_in_sandbox(compilation: Compilation, inputs: Sequence[str]) -> str:
    """Apply a compiled file to a fresh OVN built for it, as ``ovn-lbc apply``
    does (one transaction over JSON-RPC); report what OVN made of it."""
    document = compilation.document
    with Sandbox() as sandbox:
        build_topology(sandbox, document)
        try:
            apply_compilation(compilation, inputs, sandbox.nb_remote, wait="sb", timeout=60)
        except OvsdbError as exc:
            raise SandboxError(f"apply failed: {exc}") from exc
        set_ports_up(sandbox, [p.name for n in document.networks for p in n.switch_ports])
        sandbox.sync()
        sections = [
            ("Northbound Load_Balancer rows", sandbox.nbctl("list", "Load_Balancer")),
            (
                "Northbound Load_Balancer_Health_Check rows",
                sandbox.nbctl("list", "Load_Balancer_Health_Check"),
            ),
            (
                "Southbound Service_Monitor rows (one per health-checked backend)",
                sandbox.sbctl(
                    "--columns=logical_port,ip,port,protocol,src_ip,status",
                    "list",
                    "Service_Monitor",
                ),
            ),
        ]
        if any(network.lb_group is not None for network in document.networks):
            sections.append(("Northbound Load_Balancer_Group rows", sandbox.nbctl("list", "Load_Balancer_Group")))
        switches = (name for n in document.networks for table, name in n.datapaths() if table == "Logical_Switch")
        for switch in dict.fromkeys(switches):
            flows = [line.strip() for line in sandbox.sbctl("lflow-list", switch).splitlines() if "ct_lb_mark(" in line]
            sections.append((f"Logical flows of {switch} that load-balance", "\n".join(flows) + "\n"))
    return "\n".join(f"== {title}\n{body.rstrip()}\n" for title, body in sections)
