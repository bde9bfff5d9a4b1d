"""``ovn-lbc sandbox --traffic``: real connections through a real datapath.

After the file is applied to a sandbox with a datapath (compiler.datapath),
every switch port of the file is a namespace and every backend a tiny server
that answers with its name. A client namespace on the network's switch then
opens N connections to every VIP and port, TCP and UDP, and the report says
which backend answered how often, beside each backend's health-check monitor
status in the Southbound database. ``--fail`` stops named backends, waits
until OVN's monitors see them offline, and sends the traffic again.
"""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from netaddr import IPAddress, IPNetwork

from .apply import apply_compilation
from .compilation import Compilation
from .datapath import Datapath, DatapathError, Interface, Namespace
from .ir import Document, Network
from .lower import LoadBalancerRow
from .ovsdb.client import OvsdbError
from .sandbox import Sandbox, SandboxError, build_topology, describe, port_interfaces, uplink_interface, uplinks

CLIENT_PORT = "ovn-lbc-client"
BACKEND_PORT = "ovn-lbc-backend"
BACKEND_MAC = "0a:00:00:fd:{:02x}:{:02x}"
CLIENT_MAC = "0a:00:00:fe:00:{:02x}"
# Clients' switches (attach_switches) get a subnet of the benchmarking range
# (RFC 2544) on a new port of the network's router: nothing real lives there.
CLIENT_SUBNETS = "198.18.{}.0/24"


@dataclass(frozen=True, slots=True)
class Vip:
    """One VIP and port of a Load_Balancer row, as the client dials it."""

    row: str
    network: str  # whose client dials it: the one on that network's switch
    protocol: str
    key: str  # the vips key, e.g. 10.0.0.1:80 or [fd00::1]:80
    address: str
    port: int
    backends: tuple[tuple[str, int], ...]  # (address, port)


@dataclass(frozen=True, slots=True)
class VipReport:
    vip: Vip
    answers: dict[str, int]
    monitors: dict[str, str]  # backend name -> Service_Monitor status


@dataclass
class TrafficSandbox:
    """A sandbox with its datapath, the file's ports plugged in and served."""

    sandbox: Sandbox
    datapath: Datapath
    document: Document
    servers: dict[str, Any] = field(default_factory=dict)  # switch port -> its server process
    served: dict[str, tuple[str, ...]] = field(default_factory=dict)  # switch port -> the backends it serves
    listening: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)  # switch port -> tcp, udp
    names: dict[str, str] = field(default_factory=dict)  # backend address -> its name
    clients: dict[str, Namespace] = field(default_factory=dict)  # switch -> its client
    vips: list[Vip] = field(default_factory=list)


def _split_key(key: str) -> tuple[str, int | None]:
    """A vips key or target -> (address without brackets, port or None)."""
    if key.startswith("["):
        address, _, rest = key[1:].partition("]")
        return address, int(rest[1:]) if rest.startswith(":") else None
    if key.count(":") == 1:
        address, _, port = key.partition(":")
        return address, int(port)
    return key, None


def vips_of(rows: Iterable[LoadBalancerRow]) -> list[Vip]:
    """Every VIP with a port (a whole-IP VIP has no port to dial)."""
    found: list[Vip] = []
    for row in rows:
        for key, targets in row.vips:
            address, port = _split_key(key)
            if port is None:
                continue
            backends = tuple((a, p if p is not None else port) for a, p in map(_split_key, targets.split(",")))
            found.append(Vip(row.name, row.network, row.protocol, key, address, port, backends))
    return found


def _free_address(network: Network, subnet: IPNetwork, taken: set[IPAddress]) -> IPAddress:
    """An address of ``subnet`` nothing of the file uses: counted down from the top,
    below the health-check source (the last usable IPv4 address)."""
    last = int(subnet.broadcast if subnet.version == 4 else subnet.last) - (1 if subnet.version == 4 else 0)
    for candidate in range(last - 1, int(subnet.first), -1):
        address = IPAddress(candidate, subnet.version)
        if address not in taken:
            return address
    raise DatapathError(f"network {network.name}'s subnet {subnet.cidr} has no address left for a client")


def _taken(network: Network) -> set[IPAddress]:
    taken = {address for port in network.switch_ports for address in port.addresses}
    taken |= {subnet.ip for subnet in (network.ipv4, network.ipv6) if subnet is not None}
    taken |= {source for version in (4, 6) if (source := network.health_check_source(version)) is not None}
    taken |= {lb.listen_address for lb in network.load_balancers} | {fwd.listen_address for fwd in network.forwards}
    return taken


def add_client(sandbox: Sandbox, datapath: Datapath, switch: str, interface: Interface, number: int) -> Namespace:
    """A client namespace on ``switch``, behind a Logical_Switch_Port of its own."""
    port = f"{CLIENT_PORT}-{number}"
    addresses = " ".join([interface.mac, *(address.split("/")[0] for address in interface.addresses)])
    sandbox.nbctl("--may-exist", "lsp-add", switch, port, "--", "lsp-set-addresses", port, addresses)
    return datapath.add_namespace(port, interface)


def connect_client_switch(sandbox: Sandbox, router: str, switch: str, subnet: IPNetwork) -> None:
    """Give a bare clients' switch a router port, so its client can reach the VIPs."""
    router_port = f"{router}-{switch}"
    mac = CLIENT_MAC.format(0x80 + (int(subnet.ip) >> 8 & 0x7F))
    sandbox.nbctl(
        "--may-exist",
        "lrp-add",
        router,
        router_port,
        mac,
        str(subnet),
        "--",
        "--may-exist",
        "lsp-add",
        switch,
        f"{switch}-{router}",
        "--",
        "lsp-set-type",
        f"{switch}-{router}",
        "router",
        "--",
        "lsp-set-addresses",
        f"{switch}-{router}",
        "router",
        "--",
        "lsp-set-options",
        f"{switch}-{router}",
        f"router-port={router_port}",
    )


def plug(sandbox: Sandbox, datapath: Datapath, document: Document, rows: Sequence[LoadBalancerRow]) -> TrafficSandbox:
    """Namespaces for the file's switch ports, servers on the backends' target
    ports, a client on every switch the load balancers act on, and one on
    every uplink (outside the network, where a forward's traffic comes from)."""
    plugged = TrafficSandbox(sandbox, datapath, document, vips=vips_of(rows))
    interfaces = port_interfaces(document)
    owner: dict[IPAddress, str] = {}
    for network in document.networks:
        for port in network.switch_ports:
            for address in port.addresses:
                owner.setdefault(address, port.name)
                if port.instance is not None:  # LXD: a pool's backends are its instances
                    plugged.names.setdefault(str(address), port.instance)
        for lb in network.load_balancers:
            for backend in lb.backends:
                plugged.names.setdefault(str(backend.target_address), backend.name)
    for network in document.networks:
        gateways = tuple(str(subnet.ip) for subnet in (network.ipv4, network.ipv6) if subnet is not None)
        targets = [b.target_address for lb in network.load_balancers for b in lb.backends]
        targets += [p.target_address for fwd in network.forwards for p in fwd.ports]
        targets += [fwd.default_target for fwd in network.forwards if fwd.default_target is not None]
        for address in dict.fromkeys(targets):
            subnet = network.subnet(address.version)
            if address in owner or subnet is None or address not in subnet:
                continue
            # A backend the file gives no switch port (an Incus file names none):
            # the sandbox makes one, as the platform would have.
            lsp = f"{BACKEND_PORT}-{len(interfaces) + 1}"
            interfaces[lsp] = Interface(
                BACKEND_MAC.format(len(interfaces) >> 8 & 0xFF, len(interfaces) & 0xFF),
                (f"{address}/{subnet.prefixlen}",),
                gateways,
            )
            sandbox.nbctl(
                "--may-exist",
                "lsp-add",
                network.switch,
                lsp,
                "--",
                "lsp-set-addresses",
                lsp,
                f"{interfaces[lsp].mac} {address}",
            )
            owner[address] = lsp
    listen: dict[str, dict[str, set[int]]] = {}
    for vip in plugged.vips:
        for address, target_port in vip.backends:
            if (server_port := owner.get(IPAddress(address))) is not None:
                listen.setdefault(server_port, {"tcp": set(), "udp": set()})[vip.protocol].add(target_port)
    for lsp, interface in interfaces.items():
        datapath.add_namespace(lsp, interface)
        addresses = [a.split("/")[0] for a in interface.addresses]
        names = sorted({plugged.names[a] for a in addresses if a in plugged.names}) or [lsp]
        ports = listen.get(lsp, {})
        if ports:
            plugged.served[lsp] = tuple(names)
            plugged.listening[lsp] = (sorted(ports.get("tcp", ())), sorted(ports.get("udp", ())))
            _serve(plugged, lsp)
    number = 0
    for network in document.networks:
        subnets = [s for s in (network.ipv4, network.ipv6) if s is not None]
        taken = _taken(network)
        addresses = []
        for subnet in subnets:
            address = _free_address(network, subnet, taken)
            taken.add(address)
            addresses.append(f"{address}/{subnet.prefixlen}")
        number += 1
        gateways = tuple(str(s.ip) for s in subnets)
        interface = Interface(CLIENT_MAC.format(number), tuple(addresses), gateways)
        plugged.clients.setdefault(network.switch, add_client(sandbox, datapath, network.switch, interface, number))
        for index, switch in enumerate(network.attach_switches, start=1):
            if switch in plugged.clients:
                continue
            subnet = IPNetwork(CLIENT_SUBNETS.format(len(plugged.clients) + index))
            subnet = IPNetwork(f"{IPAddress(int(subnet.network) + 1)}/24")  # .ip: the router's address
            connect_client_switch(sandbox, network.router, switch, subnet)
            number += 1
            client = Interface(
                CLIENT_MAC.format(number), (f"{IPAddress(int(subnet.network) + 10)}/24",), (str(subnet.ip),)
            )
            plugged.clients[switch] = add_client(sandbox, datapath, switch, client, number)
    for uplink in uplinks(document):
        number += 1
        plugged.clients[uplink.switch] = add_client(sandbox, datapath, uplink.switch, uplink_interface(uplink), number)
    return plugged


def monitor_statuses(sandbox: Sandbox) -> dict[tuple[str, int, str], str]:
    """(ip, port, protocol) -> status ("" before the first probe's result) of every Service_Monitor."""
    listing = json.loads(sandbox.sbctl("--format=json", "--columns=ip,port,protocol,status", "list", "Service_Monitor"))
    statuses: dict[tuple[str, int, str], str] = {}
    for ip, port, protocol, status in listing["data"]:
        protocol = protocol if isinstance(protocol, str) else "tcp"  # an empty optional column: tcp
        statuses[(ip, int(port), protocol)] = status if isinstance(status, str) else ""
    return statuses


def wait_for_ports_up(plugged: TrafficSandbox, timeout: float = 60) -> None:
    """Until ovn-controller has claimed every plugged port (Port_Binding.up)."""
    ports = set(plugged.datapath.namespaces)

    def all_up() -> bool:
        listing = json.loads(
            plugged.sandbox.sbctl("--format=json", "--columns=logical_port,up", "list", "Port_Binding")
        )
        up = {name for name, value in listing["data"] if value is True or value == ["set", [True]]}
        return ports <= up

    plugged.datapath.wait_until(all_up, timeout, "ovn-controller claiming every port")


def wait_for_monitors(plugged: TrafficSandbox, want: Iterable[tuple[str, int, str]] | None, timeout: float) -> None:
    """Until every monitor has a status, or (``want``) the named ones are offline."""

    def ready() -> bool:
        statuses = monitor_statuses(plugged.sandbox)
        if want is None:
            return all(statuses.values())
        return all(statuses.get(key) == "offline" for key in want)

    what = (
        "every health-check monitor getting a status"
        if want is None
        else "the stopped backends' monitors going offline"
    )
    plugged.datapath.wait_until(ready, timeout, what)


def _probe_bound(document: Document, counted: str) -> float:
    """How long a monitor may take to change its status, with a margin: ``counted``
    (success_count to go online, failure_count to go offline) probes, each taking
    at most interval + timeout (a UDP probe succeeds only when its timeout passes
    without an ICMP error)."""
    checks = [lb.health_check for n in document.networks for lb in n.load_balancers if lb.health_check]
    return 30 + max(((c.interval + c.timeout) * getattr(c, counted) for c in checks), default=0)


def measure(plugged: TrafficSandbox, vips: Sequence[Vip], connections: int) -> list[VipReport]:
    statuses = monitor_statuses(plugged.sandbox)
    reports = []
    switches = {network.name: network.switch for network in plugged.document.networks}
    for vip in vips:
        source = plugged.clients[switches[vip.network]]
        answers = dict(sorted(plugged.datapath.ask(source, vip.address, vip.port, vip.protocol, connections).items()))
        monitors = {
            plugged.names.get(address, address): statuses.get((address, port, vip.protocol), "")
            for address, port in vip.backends
        }
        reports.append(VipReport(vip, answers, {name: status or "(none)" for name, status in monitors.items()}))
    return reports


def _table(reports: Sequence[VipReport]) -> list[str]:
    lines = []
    for report in reports:
        vip = report.vip
        lines.append(f"VIP {vip.key} {vip.protocol} ({vip.row})")
        names = list(report.monitors) + sorted(set(report.answers) - set(report.monitors))
        width = max(len("backend"), *(len(name) for name in names))
        lines.append(f"  {'backend':<{width}}  answers  monitor")
        for name in names:
            monitor = report.monitors.get(name, "-")
            lines.append(f"  {name:<{width}}  {report.answers.get(name, 0):>7}  {monitor}")
    return lines


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_unwinds() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so every daemon, namespace and veth is
    removed (a plain SIGTERM would end Python without running any cleanup)."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def traffic_sandbox(
    compilation: Compilation, inputs: Sequence[str], *, directory: str | None = None
) -> Iterator[TrafficSandbox]:
    """A sandbox with a datapath, the file's ports plugged and served, the
    file applied as ``ovn-lbc apply`` does, and every port claimed by
    ovn-controller. Everything is stopped and removed on the way out."""
    document = compilation.document
    with terminate_unwinds(), Sandbox(directory) as sandbox:
        datapath = Datapath(sandbox.directory, sandbox.env, sandbox.sb_remote)
        build_topology(sandbox, document, chassis=datapath.chassis)  # uplinks' gateway ports on its chassis
        try:
            datapath.start()
            plugged = plug(sandbox, datapath, document, compilation.changes.rows)
            try:
                apply_compilation(compilation, inputs, sandbox.nb_remote, wait="sb", timeout=60)
            except OvsdbError as exc:
                raise SandboxError(f"apply failed: {exc}") from exc
            wait_for_ports_up(plugged)
            yield plugged
        finally:
            datapath.stop()


def _serve(plugged: TrafficSandbox, lsp: str) -> None:
    tcp, udp = plugged.listening[lsp]
    namespace = plugged.datapath.namespaces[lsp]
    plugged.servers[lsp] = plugged.datapath.serve(namespace, "+".join(plugged.served[lsp]), tcp, udp)


def start_backends(plugged: TrafficSandbox, names: Iterable[str]) -> None:
    """Start the named backends' servers again (after ``stop_backends``)."""
    names = set(names)
    for lsp, served in plugged.served.items():
        if set(served) & names and plugged.servers[lsp].poll() is not None:
            _serve(plugged, lsp)


def stop_backends(plugged: TrafficSandbox, names: Iterable[str]) -> list[tuple[str, int, str]]:
    """Stop the servers of the named backends; the monitors that should go offline."""
    names = set(names)
    for lsp, server in plugged.servers.items():
        if set(plugged.served[lsp]) & names:
            plugged.datapath.stop_server(server)
            server.wait(5)
    addresses = {address for address, name in plugged.names.items() if name in names}
    return sorted({(a, p, v.protocol) for v in plugged.vips for a, p in v.backends if a in addresses})


def run_traffic(
    compilation: Compilation,
    inputs: Sequence[str],
    *,
    traffic: bool = True,
    connections: int = 20,
    fail: Sequence[str] = (),
    output_format: str = "text",
) -> str:
    """``ovn-lbc sandbox`` with a real datapath: what OVN made of the file,
    with the monitors' real status, and (``traffic``) real connections to
    every VIP; with ``fail`` again after those backends were stopped."""
    document = compilation.document
    known = {backend.name for n in document.networks for lb in n.load_balancers for backend in lb.backends}
    unknown = [name for name in fail if name not in known]
    if unknown:
        raise SandboxError(f"--fail: no backend named {', '.join(unknown)} in the files")
    rounds: list[tuple[tuple[str, ...], list[VipReport]]] = []
    with traffic_sandbox(compilation, inputs) as plugged:
        # Bounded; a monitor still without status then is reported as it is.
        with contextlib.suppress(DatapathError):
            wait_for_monitors(plugged, None, _probe_bound(document, "success_count"))
        text = describe(plugged.sandbox, document) if output_format == "text" else ""
        if traffic:
            rounds.append(((), measure(plugged, plugged.vips, connections)))
            if fail:
                offline = stop_backends(plugged, fail)
                with contextlib.suppress(DatapathError):
                    wait_for_monitors(plugged, offline, _probe_bound(document, "failure_count"))
                rounds.append((tuple(fail), measure(plugged, plugged.vips, connections)))
    if output_format == "json":
        return render_rounds(rounds, connections, output_format)
    return text + ("\n" + render_rounds(rounds, connections, output_format) if rounds else "")


def render_rounds(
    rounds: Sequence[tuple[tuple[str, ...], Sequence[VipReport]]], connections: int, output_format: str
) -> str:
    if output_format == "json":
        return (
            json.dumps(
                {
                    "connections": connections,
                    "rounds": [
                        {
                            "stopped": list(stopped_names),
                            "vips": [
                                {
                                    "vip": r.vip.key,
                                    "protocol": r.vip.protocol,
                                    "row": r.vip.row,
                                    "answers": r.answers,
                                    "monitors": r.monitors,
                                }
                                for r in reports
                            ],
                        }
                        for stopped_names, reports in rounds
                    ],
                },
                indent=2,
            )
            + "\n"
        )
    lines = []
    for stopped_names, reports in rounds:
        title = f"{connections} connections to every VIP from a client on the network's switch"
        if stopped_names:
            title += f", after stopping {', '.join(stopped_names)} and waiting for its monitors"
        lines.append(f"== Traffic: {title}")
        lines.extend(_table(reports))
        lines.append("")
    return "\n".join(lines)
