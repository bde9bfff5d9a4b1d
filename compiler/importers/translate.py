"""Virtual services (services.py) -> load balancers in the context's networks.

One load balancer per VIP, in the network whose subnet holds its first real
server (Incus's shape: a VIP is one object with named backends and one port
entry per service, so TCP and UDP services of one VIP are one load
balancer). Backends are named after their switch port, or their address
when none is known; a real server on a port other than the service's gets
it as the backend's target port. What OVN does is said where keepalived or
ipvsadm said something else (codes K0xx, docs/import.md):

- keepalived's checkers become the load balancer's health check:
  ``delay_loop`` -> interval, ``connect_timeout`` -> timeout, and
  ``retry`` + 1 -> failure_count (keepalived gives a server ``retry`` more
  tries after its first failure; OVN counts failures), success_count 1
  (keepalived takes a server back at its first good check);
- ``persistence_timeout`` (ipvsadm ``-p``) -> ``affinity_timeout``, at most
  65535 (what ovn-northd accepts); ``sh`` -> ``selection_fields ip_src``
  (``sh-port``: and ``tp_src``); a ``sorry_server`` -> ``reject``;
- a real server of weight 0 (quiesced) is left out, and so is what no
  network holds.

Load balancers are built with spans into the keepalived or ipvsadm file, so
the ordinary checks, run next, report there too.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from netaddr import IPAddress

from ..diagnostics import Diagnostic, Span, warning
from ..ir import (
    Backend,
    Document,
    HealthCheck,
    LoadBalancer,
    LoadBalancerOptions,
    LoadBalancerPort,
    Network,
    PortRange,
    SwitchPort,
)
from .context import Context
from .services import PROBES, Checker, RealServer, VirtualService

# Codes that mean something of the input is not in the output (exit status 4).
LEFT_OUT = frozenset({"K009", "K012", "K013", "K017"})
# ovn-northd caps Load_Balancer options:affinity_timeout here.
MAX_AFFINITY_TIMEOUT = 65535
# Schedulers OVN's choice (a hash of each new connection over the backends
# that are up) is as good as: round robin, and weighted round robin when the
# weights are equal (the weights have their own finding).
_EVEN = ("rr", "wrr")
_HASHING = ("sh", "mh")


@dataclass(slots=True)
class _Pool:
    """The services of one VIP, placed in one network."""

    network: int
    address: IPAddress
    first: VirtualService
    services: list[tuple[VirtualService, list[RealServer]]] = field(default_factory=list)


@dataclass(slots=True)
class _Result:
    context: Context
    diagnostics: list[Diagnostic] = field(default_factory=list)
    found_ports: dict[int, dict[str, list[IPAddress]]] = field(default_factory=dict)

    def warn(self, span: Span, code: str, message: str, *notes: str) -> None:
        self.diagnostics.append(warning(span, code, message, *notes))


@dataclass(frozen=True, slots=True)
class Translation:
    document: Document
    diagnostics: tuple[Diagnostic, ...]

    @property
    def left_out(self) -> bool:
        return any(d.code in LEFT_OUT for d in self.diagnostics)


def translate(services: Sequence[VirtualService], context: Context) -> Translation:
    """The context's document with a load balancer for each VIP of ``services``."""
    result = _Result(context)
    networks = list(context.document.networks)
    pools: dict[IPAddress, _Pool] = {}
    for service in services:
        _place(result, networks, pools, service)
    added: dict[int, list[LoadBalancer]] = {}
    for pool in pools.values():
        added.setdefault(pool.network, []).append(_load_balancer(result, networks[pool.network], pool))
    for index, balancers in added.items():
        network = networks[index]
        found = result.found_ports.get(index, {})
        extra = tuple(SwitchPort(name, tuple(addresses)) for name, addresses in found.items())
        networks[index] = replace(
            network,
            load_balancers=network.load_balancers + tuple(balancers),
            switch_ports=network.switch_ports + extra,
        )
    document = replace(context.document, networks=tuple(networks))
    return Translation(document, tuple(result.diagnostics))


# -- placing services in networks ------------------------------------------------------


def _network_of(networks: list[Network], address: IPAddress) -> int | None:
    for index, network in enumerate(networks):
        subnet = network.subnet(address.version)
        if subnet is not None and address in subnet.cidr:
            return index
    return None


def _describe(service: VirtualService) -> str:
    port = "" if service.port is None else f" port {service.port}"
    return f"{service.protocol.upper()} {service.address}{port}"


def _place(result: _Result, networks: list[Network], pools: dict[IPAddress, _Pool], service: VirtualService) -> None:
    what = f"virtual server {_describe(service)}"
    if service.port is None:
        result.warn(
            service.span,
            "K012",
            f"{what} (every port, a persistent port-0 service) is left out: that is whole-IP load balancing, "
            "which ovn-lbc refuses (E302)",
            "write one virtual server per port",
        )
        return
    usable: list[RealServer] = []
    for server in service.real_servers:
        if server.weight == 0:
            result.warn(
                server.weight_span or server.span,
                "K013",
                f"real server {server.address} has weight 0 (quiesced: no new connections) and is left out",
                "OVN has no weights; put it back once it should take connections",
            )
        elif server.address.version != service.address.version:
            result.warn(
                server.span,
                "K013",
                f"real server {server.address} is IPv{server.address.version} and the VIP "
                f"IPv{service.address.version}: left out (only tunnelled IPVS real servers may differ, "
                "and OVN does not tunnel)",
            )
        else:
            usable.append(server)
    if not service.real_servers:
        result.warn(service.span, "K012", f"{what} has no real servers: left out")
        return
    if not usable:
        result.warn(service.span, "K012", f"{what} has no real server OVN can balance to: left out")
        return
    placed = [(server, _network_of(networks, server.address)) for server in usable]
    pool = pools.get(service.address)
    chosen = pool.network if pool is not None else next((index for _, index in placed if index is not None), None)
    if chosen is None:
        addresses = ", ".join(str(server.address) for server in usable)
        result.warn(
            service.span,
            "K012",
            f"{what} is left out: no network of {result.context.origin} holds its real servers ({addresses})",
            "add the network the real servers are on to the network file",
        )
        return
    network = networks[chosen]
    inside = [server for server, index in placed if index == chosen]
    if not inside:
        result.warn(
            service.span,
            "K012",
            f"{what} is left out: its VIP is already a load balancer of network {network.name} "
            f"(at {pool.first.header if pool else ''}), and none of its real servers is in that network",
        )
        return
    for server, index in placed:
        if index != chosen:
            where = "no network" if index is None else f"network {networks[index].name}"
            result.warn(
                server.span,
                "K013",
                f"real server {server.address} is left out: it is in {where}, and the VIP {service.address} "
                f"is placed in network {network.name}",
            )
    if pool is None:
        for kind, obj in network.listeners():
            if obj.listen_address == service.address:
                result.warn(
                    service.span,
                    "K012",
                    f"{what} is left out: {service.address} is already a {kind} of network {network.name} "
                    f"in {result.context.origin}",
                )
                return
        pool = pools[service.address] = _Pool(chosen, service.address, service)
    for other, _ in pool.services:
        if (other.protocol, other.port) == (service.protocol, service.port):
            result.warn(service.span, "K012", f"{what} is defined twice (first at {other.header}): the first is kept")
            return
    pool.services.append((service, inside))


# -- one load balancer ------------------------------------------------------------------


def _switch_port(result: _Result, index: int, network: Network, address: IPAddress) -> str | None:
    name = result.context.file_port(network, address)
    if name is not None:
        return name
    names = result.context.database_port(network, address)
    if len(names) != 1:
        return None
    result.found_ports.setdefault(index, {}).setdefault(names[0], [])
    if address not in result.found_ports[index][names[0]]:
        result.found_ports[index][names[0]].append(address)
    return names[0]


def _load_balancer(result: _Result, network: Network, pool: _Pool) -> LoadBalancer:
    index = pool.network
    keys: dict[tuple[IPAddress, int | None], RealServer] = {}
    entries: list[tuple[VirtualService, list[tuple[IPAddress, int | None]]]] = []
    for service, servers in pool.services:
        chosen: list[tuple[IPAddress, int | None]] = []
        for server in servers:
            key = (server.address, server.port if server.port not in (None, service.port) else None)
            if key in chosen:
                result.warn(server.span, "K013", f"real server {server.address} is listed twice: the first is kept")
                continue
            chosen.append(key)
            keys.setdefault(key, server)
        entries.append((service, chosen))
        _service_findings(result, service, servers)
    ports_of = {key: _switch_port(result, index, network, key[0]) for key in keys}
    names = _backend_names(keys, ports_of)
    backends = tuple(
        Backend(
            names[key],
            key[0],
            (PortRange(key[1], key[1]),) if key[1] is not None else (),
            span=server.span,
            spans={"target_address": server.span, "target_port": server.span, "name": server.span},
        )
        for key, server in keys.items()
    )
    ports = tuple(
        LoadBalancerPort(
            service.protocol,
            (PortRange(service.port or 0, service.port or 0),),
            tuple(names[key] for key in chosen),
            description=f"{os.path.basename(service.header.file)}:{service.header.line}",
            span=service.header,
            spans={"listen_port": service.span, "protocol": service.span, "target_backend": service.span},
        )
        for service, chosen in entries
    )
    health_check, check_span = _health_check(result, pool, network, keys, ports_of)
    options, option_spans = _options(result, pool, health_check is not None)
    first = pool.first
    spans = {"listen_address": first.span, **option_spans}
    if check_span is not None:
        spans["config.healthcheck"] = check_span
    return LoadBalancer(
        listen_address=pool.address,
        backends=backends,
        ports=ports,
        description=f"imported from {os.path.basename(first.header.file)}",
        health_check=health_check,
        options=options,
        span=first.header,
        spans=spans,
    )


def _backend_names(
    keys: dict[tuple[IPAddress, int | None], RealServer], ports_of: dict[tuple[IPAddress, int | None], str | None]
) -> dict[tuple[IPAddress, int | None], str]:
    """Each backend after its switch port or address; the target port added where one name is taken twice."""
    bases = {key: ports_of[key] or str(key[0]) for key in keys}
    counts = Counter(bases.values())
    names: dict[tuple[IPAddress, int | None], str] = {}
    used: set[str] = set()
    for key, base in bases.items():
        name = base if counts[base] == 1 or key[1] is None else f"{base}-{key[1]}"
        candidate, number = name, 2
        while candidate in used:
            candidate, number = f"{name}-{number}", number + 1
        used.add(candidate)
        names[key] = candidate
    return names


def _service_findings(result: _Result, service: VirtualService, servers: list[RealServer]) -> None:
    """What one service says that OVN does differently: forwarding, scheduler, weights."""
    method = next(
        ((server.method, server.method_span or server.span) for server in servers if server.method in ("DR", "TUN")),
        None,
    )
    if method is None and service.method in ("DR", "TUN") and any(s.method is None for s in servers):
        method = (service.method, service.method_span or service.header)
    if method is not None:
        kind = "direct routing (DR)" if method[0] == "DR" else "tunnelling (TUN)"
        result.warn(
            method[1],
            "K002",
            f"{kind} is imported as OVN's DNAT, which keeps the client's address as {method[0]} does",
            "the real servers need no VIP on a loopback (nor arp_ignore), and their replies must go back through "
            "OVN: their default route is the network's router",
        )
    scheduler = service.scheduler
    if scheduler not in _EVEN and scheduler != "sh":
        said = (
            f"scheduler {scheduler}" if service.scheduler_span is not None else f"the default scheduler, {scheduler},"
        )
        extra = (
            "; mh becomes a hash of the client address (selection_fields ip_src), without Maglev's consistency"
            if scheduler == "mh"
            else ""
        )
        result.warn(
            service.scheduler_span or service.header,
            "K003",
            f"{said} is not imported: OVN picks a backend for each new connection by a hash over the backends "
            f"that are up, evenly{extra}",
        )
    weights = [server for server in servers if server.weight != servers[0].weight]
    if weights:
        server = weights[0]
        shown = ", ".join(f"{s.address} {s.weight}" for s in servers)
        result.warn(
            server.weight_span or server.span,
            "K004",
            f"weight {server.weight} is not imported: OVN gives every backend an equal share (the weights: {shown})",
        )


def _whole_seconds(result: _Result, value: float, span: Span, what: str) -> int:
    seconds = max(1, math.ceil(value))
    if seconds != value:
        result.warn(span, "K006", f"{what} {value:g} s becomes {seconds} s: OVN counts whole seconds, at least 1")
    return min(seconds, 2_147_483_647)


def _check_of(result: _Result, service: VirtualService, server: RealServer) -> Checker | None:
    """The one checker OVN's probe stands for, and the findings of the others."""
    if not server.checkers:
        return None
    probes = [checker for checker in server.checkers if checker.kind in PROBES]
    chosen = probes[0] if probes else server.checkers[0]
    for checker in server.checkers:
        if checker is not chosen:
            result.warn(
                checker.span,
                "K005",
                f"{checker.kind} is not imported: OVN runs one probe per backend (the {chosen.kind} at "
                f"line {chosen.span.line})",
            )
    if chosen.kind not in PROBES:
        result.warn(
            chosen.span,
            "K005",
            f"{chosen.kind} is imported as a {service.protocol.upper()} probe of the backend's port: OVN probes "
            "TCP and UDP only (a TCP probe opens a connection, a UDP probe sends a datagram)",
        )
    elif PROBES[chosen.kind] != service.protocol and service.protocol != "sctp":
        result.warn(
            chosen.span,
            "K006",
            f"{chosen.kind} on a {service.protocol.upper()} service: OVN probes a {service.protocol} VIP's "
            f"backends with {service.protocol.upper()}",
        )
    return chosen


def _health_check(
    result: _Result,
    pool: _Pool,
    network: Network,
    keys: dict[tuple[IPAddress, int | None], RealServer],
    ports_of: dict[tuple[IPAddress, int | None], str | None],
) -> tuple[HealthCheck | None, Span | None]:
    chosen: tuple[HealthCheck, Checker] | None = None
    unchecked: list[RealServer] = []
    for service, servers in pool.services:
        for server in servers:
            checker = _check_of(result, service, server)
            if checker is None:
                unchecked.append(server)
                continue
            check = HealthCheck(
                interval=_whole_seconds(result, checker.interval.value, checker.interval.span, "delay_loop"),
                timeout=_whole_seconds(result, checker.timeout.value, checker.timeout.span, "connect_timeout"),
                success_count=1,
                failure_count=min(int(checker.retry.value) + 1, 2_147_483_647),
            )
            if chosen is None:
                chosen = (check, checker)
            elif check != chosen[0]:
                result.warn(
                    checker.span,
                    "K006",
                    f"this checker's timing ({_timing(check)}) is not imported: OVN gives a load balancer one "
                    f"health check, the one at {chosen[1].span} ({_timing(chosen[0])})",
                )
    if chosen is None:
        return None, None
    for server in unchecked:
        result.warn(
            server.span,
            "K006",
            f"real server {server.address} has no checker, but OVN probes every backend of a health-checked "
            "load balancer",
        )
    vip = pool.address
    sctp = next((service for service, _ in pool.services if service.protocol == "sctp"), None)
    if sctp is not None:
        result.warn(
            chosen[1].span,
            "K017",
            f"the health check of {vip} is left out: OVN cannot probe SCTP backends, and {vip} has an SCTP service "
            f"(at {sctp.header})",
        )
        return None, None
    missing = [key for key in keys if ports_of[key] is None]
    if missing:
        server = keys[missing[0]]
        searched = result.context.origin + (
            f" nor in the database {result.context.database}" if result.context.database else ""
        )
        result.warn(
            server.span,
            "K017",
            f"the health check of {vip} is left out: OVN probes a backend through its switch port, and "
            f"{server.address} has none in {searched}",
            f"add it to network {network.name}'s switch_ports, or give --db to find it",
        )
        return None, None
    return chosen[0], chosen[1].span


def _timing(check: HealthCheck) -> str:
    return f"interval {check.interval} s, timeout {check.timeout} s, failure_count {check.failure_count}"


def _options(result: _Result, pool: _Pool, health_checked: bool) -> tuple[LoadBalancerOptions, dict[str, Span]]:
    spans: dict[str, Span] = {}
    affinity: int | None = None
    fields: tuple[str, ...] = ()
    reject = False
    persisted = [service for service, _ in pool.services if service.persistence and service.persistence.value > 0]
    if persisted:
        first = persisted[0].persistence
        assert first is not None
        affinity = int(first.value)
        spans["config.affinity_timeout"] = first.span
        if affinity > MAX_AFFINITY_TIMEOUT:
            result.warn(
                first.span,
                "K007",
                f"persistence of {affinity} s is imported as affinity_timeout {MAX_AFFINITY_TIMEOUT}: the most "
                "ovn-northd takes",
            )
            affinity = MAX_AFFINITY_TIMEOUT
        for service, _ in pool.services:
            other = service.persistence
            if other is not None and other is not first and min(int(other.value), MAX_AFFINITY_TIMEOUT) != affinity:
                result.warn(
                    other.span,
                    "K007",
                    f"persistence of {other.value:g} s is not imported: OVN's affinity_timeout applies to every port "
                    f"of {pool.address}, and the one at {first.span} is used",
                )
        unpersisted = next((service for service, _ in pool.services if all(service is not p for p in persisted)), None)
        if unpersisted is not None:
            result.warn(
                unpersisted.header,
                "K007",
                f"{_describe(unpersisted)} is not persistent, but gets affinity_timeout {affinity}: it applies to "
                f"every port of {pool.address}",
            )
    hashed = [service for service, _ in pool.services if service.scheduler in _HASHING]
    if hashed:
        first_hashed = hashed[0]
        port_flag = "sh-port" if first_hashed.scheduler == "sh" else "mh-port"
        fields = ("ip_src", "tp_src") if port_flag in first_hashed.scheduler_flags else ("ip_src",)
        spans["config.selection_fields"] = first_hashed.scheduler_span or first_hashed.header
        plain = next((service for service, _ in pool.services if service.scheduler not in _HASHING), None)
        if plain is not None:
            result.warn(
                plain.scheduler_span or plain.header,
                "K003",
                f"{_describe(plain)} does not hash by source, but gets selection_fields {', '.join(fields)}: "
                f"they apply to every port of {pool.address}",
            )
    sorry = next((service.sorry_server for service, _ in pool.services if service.sorry_server), None)
    if sorry is not None:
        if health_checked:
            reject = True
            spans["config.reject"] = sorry
            result.warn(
                sorry,
                "K008",
                "sorry_server is imported as reject, OVN's closest: when no backend is up, clients get a TCP reset "
                "(ICMP unreachable for UDP) instead of the sorry server",
            )
        else:
            result.warn(
                sorry,
                "K008",
                "sorry_server is not imported: OVN has no fallback server, and its closest, reject, "
                "needs a health check to ever fire",
            )
    return LoadBalancerOptions(affinity_timeout=affinity, selection_fields=fields, reject=reject), spans
