"""A throwaway OVN: NB and SB ovsdb-server plus ovn-northd in a temp dir.

No root services and no systemd: every daemon runs detached with its pid,
log, socket and control files in one directory, and is stopped by pid. The
test suite and ``ovn-lbc sandbox`` share this one implementation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from netaddr import IPNetwork

from .apply import apply_compilation
from .compilation import Compilation
from .datapath import Interface, process_start_time, stop_process
from .ir import Document
from .ovsdb.client import Connection, OvsdbError, connect
from .ovsdb.state import DATABASE

REQUIRED_PROGRAMS = ("ovsdb-tool", "ovsdb-server", "ovn-northd", "ovn-nbctl", "ovn-sbctl")
SCHEMA_DIRS = ("/usr/share/ovn", "/usr/local/share/ovn")
# The chassis an uplink's gateway port names when no datapath runs (northd
# makes its flows all the same; nothing claims the port).
SANDBOX_CHASSIS = "ovn-lbc-sandbox"
# Uplinks get one /24 each of the second half of the benchmarking range
# 198.18.0.0/15 (RFC 2544; clients' switches use the first half): nothing real lives there.
UPLINK_SUBNETS = IPNetwork("198.19.0.0/16")


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
        self._daemons: list[tuple[int, str | None]] = []  # (pid, start time)

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
        # In reverse order, by pid, never a pid another process has taken since.
        for pid, started in reversed(self._daemons):
            stop_process(pid, started)
        self._daemons.clear()
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
        pid = int(pidfile.read_text().strip())
        self._daemons.append((pid, process_start_time(pid)))

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


# ---------------------------------------------------------------- topology


def _mac(network_index: int, port_index: int) -> str:
    return f"0a:00:00:{network_index & 0xFF:02x}:{port_index >> 8 & 0xFF:02x}:{port_index & 0xFF:02x}"


@dataclass(frozen=True, slots=True)
class _Port:
    """A Logical_Router_Port or Logical_Switch_Port to create on its datapath."""

    table: str
    parent: tuple[str, str]  # (table, name) of its router or switch
    columns: dict[str, Any]
    # A router port that is a distributed gateway port: on this chassis.
    gateway_chassis: str | None = None


@dataclass(frozen=True, slots=True)
class Uplink:
    """A network router's way out, as Incus gives every router one: an
    external switch ``<router>-ext`` whose router port ``<router>-lrp-ext``
    is a distributed gateway port (a Gateway_Chassis row for the sandbox's
    chassis), and an address on it for a client outside the network.

    OVN applies a router's NAT rows (a forward's default target) only on a
    gateway router or through a distributed gateway port; a plain router
    gets no flow for them, and northd says nothing. So a network whose
    forwards have a default target gets an uplink; the others keep a router
    without a gateway port, which the datapath tests rely on."""

    network: str
    router: str
    switch: str
    router_port: str
    switch_port: str
    router_address: IPNetwork  # the gateway port's address, with the /24
    client_address: IPNetwork
    router_mac: str
    client_mac: str


def _overlaps(subnet: IPNetwork, others: Sequence[IPNetwork]) -> bool:
    return any(subnet.first <= other.last and other.first <= subnet.last for other in others)


def uplinks(document: Document) -> list[Uplink]:
    """The uplink of every router of a network that has a forward with a
    default target (one per router, however many networks share it), each on
    a /24 of UPLINK_SUBNETS that no subnet or address of the file touches."""
    used = [IPNetwork(str(n.ipv4)) for n in document.networks if n.ipv4 is not None]
    listeners = [lb.listen_address for n in document.networks for lb in n.load_balancers]
    listeners += [fwd.listen_address for n in document.networks for fwd in n.forwards]
    used += [IPNetwork(f"{address}/32") for address in listeners if address.version == 4]
    free = (subnet for subnet in UPLINK_SUBNETS.subnet(24) if not _overlaps(subnet, used))
    found: list[Uplink] = []
    for network in document.networks:
        if network.router in {uplink.router for uplink in found}:
            continue
        if not any(fwd.default_target is not None for fwd in network.forwards):
            continue
        subnet = next(free, None)
        if subnet is None:
            raise SandboxError(f"no /24 of {UPLINK_SUBNETS} is left for network {network.name}'s uplink")
        number = len(found) + 1
        found.append(
            Uplink(
                network=network.name,
                router=network.router,
                switch=f"{network.router}-ext",
                router_port=f"{network.router}-lrp-ext",
                switch_port=f"{network.router}-ext-lrp",
                router_address=IPNetwork(f"{subnet.network + 1}/24"),
                client_address=IPNetwork(f"{subnet.network + 10}/24"),
                router_mac=f"0a:00:01:00:{number >> 8 & 0xFF:02x}:{number & 0xFF:02x}",
                client_mac=f"0a:00:01:01:{number >> 8 & 0xFF:02x}:{number & 0xFF:02x}",
            )
        )
    return found


def uplink_interface(uplink: Uplink) -> Interface:
    """What the namespace of the client on an uplink holds: its address, and
    the router's gateway port as the default route."""
    return Interface(uplink.client_mac, (str(uplink.client_address),), (str(uplink.router_address.ip),))


def _topology(document: Document, chassis: str) -> tuple[list[tuple[str, str]], list[_Port]]:
    """The routers and switches (in order, once each) and the ports on them.

    Per network: a router with a port on the internal switch (the gateway
    addresses and router_mac), the switch's router-type port, one switch port
    per switch_ports entry with its addresses, bare clients' switches and
    routers, only there to attach to, and (when it needs one) the uplink,
    its gateway port on ``chassis``.
    """
    datapaths: dict[tuple[str, str], None] = {}
    ports: list[_Port] = []
    for index, network in enumerate(document.networks, start=1):
        router, switch = ("Logical_Router", network.router), ("Logical_Switch", network.switch)
        datapaths.update(dict.fromkeys((router, switch)))
        router_port = f"{network.router}-{network.switch}"
        mac = str(network.router_mac).replace("-", ":").lower() if network.router_mac else _mac(index, 0)
        networks = [str(n) for n in (network.ipv4, network.ipv6) if n is not None]
        ports.append(_Port("Logical_Router_Port", router, {"name": router_port, "mac": mac, "networks": networks}))
        ports.append(
            _Port(
                "Logical_Switch_Port",
                switch,
                {
                    "name": f"{network.switch}-{network.router}",
                    "type": "router",
                    "addresses": ["router"],
                    "options": {"router-port": router_port},
                },
            )
        )
        datapaths.update(dict.fromkeys(("Logical_Router", name) for name in network.attach_routers))
        datapaths.update(dict.fromkeys(("Logical_Switch", name) for name in network.attach_switches))
        for port_index, port in enumerate(network.switch_ports, start=1):
            addresses = " ".join([_mac(index, port_index), *(str(a) for a in port.addresses)])
            ports.append(_Port("Logical_Switch_Port", switch, {"name": port.name, "addresses": [addresses]}))
    for uplink in uplinks(document):
        external = ("Logical_Switch", uplink.switch)
        datapaths[external] = None
        columns = {"name": uplink.router_port, "mac": uplink.router_mac, "networks": [str(uplink.router_address)]}
        ports.append(_Port("Logical_Router_Port", ("Logical_Router", uplink.router), columns, chassis))
        ports.append(
            _Port(
                "Logical_Switch_Port",
                external,
                {
                    "name": uplink.switch_port,
                    "type": "router",
                    "addresses": ["router"],
                    "options": {"router-port": uplink.router_port},
                },
            )
        )
    return list(datapaths), ports


def port_interfaces(document: Document) -> dict[str, Interface]:
    """What a namespace standing for each switch port of the file holds: the
    MAC the topology gave the port, its addresses with the subnet's prefix,
    and the network's gateways as default routes."""
    interfaces: dict[str, Interface] = {}
    for index, network in enumerate(document.networks, start=1):
        gateways = tuple(str(subnet.ip) for subnet in (network.ipv4, network.ipv6) if subnet is not None)
        for port_index, port in enumerate(network.switch_ports, start=1):
            addresses = []
            for address in port.addresses:
                subnet = network.subnet(address.version)
                addresses.append(f"{address}/{subnet.prefixlen if subnet is not None else address.netmask_bits()}")
            interfaces.setdefault(port.name, Interface(_mac(index, port_index), tuple(addresses), gateways))
    return interfaces


def _value(value: Any) -> Any:
    """A Python value in OVSDB's JSON notation (RFC 7047 5.1)."""
    if isinstance(value, dict):
        return ["map", [[key, item] for key, item in value.items()]]
    if isinstance(value, list):
        return ["set", value]
    return value


def _existing_names(connection: Connection) -> dict[str, dict[str, str]]:
    tables = ("Logical_Router", "Logical_Switch", "Logical_Router_Port", "Logical_Switch_Port")
    selects = [{"op": "select", "table": table, "where": [], "columns": ["_uuid", "name"]} for table in tables]
    results = connection.call("transact", [DATABASE, *selects])
    return {
        table: {row["name"]: row["_uuid"][1] for row in result["rows"]}
        for table, result in zip(tables, results, strict=True)
    }


def build_topology(sandbox: Sandbox | str, document: Document, *, chassis: str = SANDBOX_CHASSIS) -> None:
    """Create every network's router, switch and ports that are not there yet,
    in one transaction through ovn-lbc's own client (``sandbox``: a Sandbox or
    a remote, a cluster's comma list too); uplinks' gateway ports on ``chassis``.

    One transaction whatever the size: 50,000 load balancers need 40,000
    ports, which as chains of ovn-nbctl calls under --timeout failed on a
    busy machine; one transact has no such clock.
    """
    remote = sandbox if isinstance(sandbox, str) else sandbox.nb_remote
    datapaths, ports = _topology(document, chassis)
    with connect(remote, DATABASE) as connection:
        existing = _existing_names(connection)
        operations: list[dict[str, Any]] = []
        children: dict[tuple[str, str], list[list[str]]] = {}
        for number, port in enumerate(ports):
            if port.columns["name"] in existing[port.table]:
                continue  # as --may-exist: a port of that name stays as it is
            existing[port.table][port.columns["name"]] = ""
            row = {column: _value(value) for column, value in port.columns.items()}
            if port.gateway_chassis is not None:
                # Named as `ovn-nbctl lrp-set-gateway-chassis PORT CHASSIS 1` names it.
                name = f"{port.columns['name']}_{port.gateway_chassis}"
                gateway = {"name": name, "chassis_name": port.gateway_chassis, "priority": 1}
                operations.append(
                    {"op": "insert", "table": "Gateway_Chassis", "row": gateway, "uuid-name": f"gateway{number}"}
                )
                row["gateway_chassis"] = ["set", [["named-uuid", f"gateway{number}"]]]
            operations.append({"op": "insert", "table": port.table, "row": row, "uuid-name": f"port{number}"})
            children.setdefault(port.parent, []).append(["named-uuid", f"port{number}"])
        for number, (table, name) in enumerate(datapaths):
            new_ports = ["set", children.get((table, name), [])]
            if name in existing[table]:
                if new_ports[1]:
                    operations.append(
                        {
                            "op": "mutate",
                            "table": table,
                            "where": [["_uuid", "==", ["uuid", existing[table][name]]]],
                            "mutations": [["ports", "insert", new_ports]],
                        }
                    )
                continue
            row = {"name": name, "ports": new_ports}
            operations.append({"op": "insert", "table": table, "row": row, "uuid-name": f"datapath{number}"})
        if not operations:
            return
        results = connection.call("transact", [DATABASE, *operations])
    failed = [result for result in results if isinstance(result, dict) and result.get("error")]
    if failed or len(results) < len(operations):
        raise SandboxError(f"building the topology failed: {failed or results}")
    if isinstance(sandbox, Sandbox) and sandbox.with_northd:
        # Until northd has made the Port_Binding rows, as ovn-nbctl's slower calls let it.
        sandbox.sync()


def set_ports_up(sandbox: Sandbox, port_names: Sequence[str]) -> None:
    """Mark ports up in SB, as ovn-controller would; northd probes only up ports."""
    for name in port_names:
        sandbox.sbctl("set", "Port_Binding", name, "up=true")


def show_in_sandbox(compilation: Compilation, inputs: Sequence[str]) -> str:
    """Apply a compiled file to a fresh OVN built for it, as ``ovn-lbc apply``
    does (one transaction over JSON-RPC); report what OVN made of it. Without
    a datapath no probe is sent: the ports are marked up by hand, and the
    monitors' status stays empty."""
    document = compilation.document
    with Sandbox() as sandbox:
        build_topology(sandbox, document)
        try:
            apply_compilation(compilation, inputs, sandbox.nb_remote, wait="sb", timeout=60)
        except OvsdbError as exc:
            raise SandboxError(f"apply failed: {exc}") from exc
        set_ports_up(sandbox, [p.name for n in document.networks for p in n.switch_ports])
        sandbox.sync()
        return describe(sandbox, document)


def describe(sandbox: Sandbox, document: Document) -> str:
    """The Load_Balancer rows, their health checks, the Southbound monitors
    and the load-balancing logical flows of every switch the rows act on;
    the NAT rows of forwards' default targets and their routers' DNAT flows."""
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
    routers = [n.router for n in document.networks if any(f.default_target is not None for f in n.forwards)]
    if routers:
        sections.append(("Northbound NAT rows (forwards' default targets)", sandbox.nbctl("list", "NAT")))
    for router in dict.fromkeys(routers):
        flows = [line.strip() for line in sandbox.sbctl("lflow-list", router).splitlines() if "ct_dnat" in line]
        sections.append((f"Logical flows of {router} that DNAT", "\n".join(flows) + "\n"))
    switches = (name for n in document.networks for table, name in n.datapaths() if table == "Logical_Switch")
    for switch in dict.fromkeys(switches):
        flows = [line.strip() for line in sandbox.sbctl("lflow-list", switch).splitlines() if "ct_lb_mark(" in line]
        sections.append((f"Logical flows of {switch} that load-balance", "\n".join(flows) + "\n"))
    return "\n".join(f"== {title}\n{body.rstrip()}\n" for title, body in sections)
