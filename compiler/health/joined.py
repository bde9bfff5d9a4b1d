"""The file's rows beside what the databases hold for them.

Every backend of every VIP of the file's load-balancer rows becomes a
Target: its name and line from the model, its address and port from the
lowered ``vips`` value (so whatever lower.py decides a backend is, a pool
member included, is what is looked at). Each row is matched to the
database's row of its name (the one its network owns, else the first): a
row ovn-lbc does not own is diagnosed too, since the file names it.

Strings are compared the way northd compares them: a health check's
``vip`` with a ``vips`` key exactly, an ``ip_port_mappings`` key as the
bracketed IPv6 (or plain IPv4) address, a Service_Monitor by (logical_port,
unbracketed ip, port, protocol).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from netaddr import IPAddress

from ..addresses import host
from ..diagnostics import Span
from ..ir import Backend, Document, LoadBalancer, expand_ports
from ..lower import OWNER_KEY, LoadBalancerRow, target_port, value_span
from ..ovsdb.state import DbDatapath, DbHealthCheck, DbLoadBalancer
from .observed import Flow, Monitor, Observed, split_endpoint


@dataclass(frozen=True, slots=True)
class Target:
    """One backend of one VIP of one of the file's rows."""

    row: LoadBalancerRow
    vip: str  # the vips key
    vip_port: int | None
    target: str  # the backend as the vips value writes it
    address: IPAddress
    port: int | None
    name: str  # the backend's name in the file; its address when the file names none
    span: Span  # the backend's line; the VIP's when the file names no backend
    health_checked: bool  # the file health-checks this VIP
    backend: Backend | None = field(default=None, compare=False, repr=False)

    @property
    def mapping_key(self) -> str:
        """The ip_port_mappings key northd looks the backend up by."""
        return host(self.address)

    @property
    def where(self) -> str:
        """``file:line`` of the backend, for summaries."""
        return f"{self.span.file}:{self.span.line}"


@dataclass(frozen=True, slots=True)
class JoinedRow:
    """A row of the file and the database's row of that name (None: not applied)."""

    wanted: LoadBalancerRow
    found: DbLoadBalancer | None
    same_name: int  # how many database rows have the name
    checks: tuple[DbHealthCheck, ...]  # the found row's health checks

    @property
    def owned(self) -> bool:
        return self.found is not None and self.found.external_ids.get(OWNER_KEY) == self.wanted.network

    def check_for(self, vip: str) -> DbHealthCheck | None:
        """The found row's health check whose vip is exactly ``vip``, as northd finds it."""
        return next((check for check in self.checks if check.vip == vip), None)


def _port_entry_backends(lb: LoadBalancer, protocol: str, vip_port: int | None) -> list[tuple[Backend, int]]:
    """The backends of the port entry that makes ``vip_port``, each with its target port."""
    by_name = {backend.name: backend for backend in reversed(lb.backends)}
    for entry in lb.ports:
        listen = expand_ports(entry.listen_ports)
        if entry.protocol != protocol or vip_port not in listen:
            continue
        index = listen.index(vip_port)
        found = [by_name[name] for name in entry.target_backends if name in by_name]
        return [(backend, target_port(backend.target_ports, index, vip_port)) for backend in found]
    return []


def _backend_of(
    lb: LoadBalancer | None, protocol: str, vip_port: int | None, address: IPAddress, port: int | None
) -> Backend | None:
    """The file's backend a target of the VIP stands for: by address, then by port
    when one entry sends the VIP to one address on two ports."""
    if lb is None:
        return None
    candidates = [(b, p) for b, p in _port_entry_backends(lb, protocol, vip_port) if b.target_address == address]
    exact = [b for b, p in candidates if p == port]
    chosen = exact or [b for b, _ in candidates]
    return chosen[0] if chosen else None


def targets_of(row: LoadBalancerRow) -> Iterator[Target]:
    """Every backend of every VIP of a load-balancer row, in the row's order."""
    lb = row.model if isinstance(row.model, LoadBalancer) else None
    checked = {check.vip for check in row.health_checks}
    for key, value in row.vips:
        vip = split_endpoint(key)
        vip_port = vip[1] if vip else None
        for text in value.split(","):
            parsed = split_endpoint(text) if text else None
            if parsed is None:
                continue
            address, port = parsed
            backend = _backend_of(lb, row.protocol, vip_port, address, port)
            span = backend.span if backend is not None else value_span(row, "vips", key)
            name = backend.name if backend is not None else str(address)
            yield Target(row, key, vip_port, text, address, port, name, span, key in checked, backend)


@dataclass(frozen=True, slots=True)
class Joined:
    """Everything status and doctor look at."""

    document: Document
    rows: tuple[JoinedRow, ...]
    targets: tuple[Target, ...]
    observed: Observed
    _by_row: dict[str, JoinedRow] = field(default_factory=dict, compare=False, repr=False)
    _monitors: dict[tuple[str, str, int, str], Monitor] = field(default_factory=dict, compare=False, repr=False)
    _flows: dict[tuple[IPAddress, int | None], list[Flow]] = field(default_factory=dict, compare=False, repr=False)

    def row_of(self, target: Target) -> JoinedRow:
        return self._by_row[target.row.name]

    def mapping(self, target: Target) -> str | None:
        """The database row's ip_port_mappings value for the backend, as northd finds it."""
        found = self.row_of(target).found
        return None if found is None else found.ip_port_mappings.get(target.mapping_key)

    def mapped_port(self, target: Target) -> str | None:
        """The switch port the database's mapping names (the text before its first colon)."""
        value = self.mapping(target)
        return None if value is None or ":" not in value else value.partition(":")[0]

    def monitor(self, target: Target) -> Monitor | None:
        port = self.mapped_port(target)
        if port is None or target.port is None:
            return None
        return self._monitors.get((port, str(target.address), target.port, target.row.protocol))

    def applied(self, target: Target) -> bool:
        """The database's row has this VIP with this backend in it."""
        found = self.row_of(target).found
        if found is None or target.vip not in found.vips:
            return False
        return _has_target(found.vips[target.vip], target)

    def in_flows(self, target: Target) -> bool:
        """Some load-balancing flow of this VIP holds the backend in its ct_lb_mark now."""
        vip = split_endpoint(target.vip)
        if vip is None:
            return False
        wanted = (target.address, target.port)
        return any(
            wanted in flow.backends for flow in self._flows.get(vip, ()) if flow.protocol in (None, target.row.protocol)
        )


def _has_target(value: str, target: Target) -> bool:
    wanted = (target.address, target.port)
    return any(split_endpoint(text) == wanted for text in value.split(",") if text)


def _choose(wanted: LoadBalancerRow, candidates: list[DbLoadBalancer]) -> DbLoadBalancer | None:
    owned = [row for row in candidates if row.external_ids.get(OWNER_KEY) == wanted.network]
    chosen = owned or candidates
    return chosen[0] if chosen else None


def join(document: Document, rows: tuple[LoadBalancerRow, ...], observed: Observed) -> Joined:
    """The file's load-balancer rows (not its forwards: they have no backends to check) beside the databases."""
    by_name: dict[str, list[DbLoadBalancer]] = {}
    for db_row in observed.nb.load_balancers:
        by_name.setdefault(db_row.name, []).append(db_row)
    joined_rows: list[JoinedRow] = []
    targets: list[Target] = []
    for row in rows:
        if row.kind != "load balancer":
            continue
        candidates = by_name.get(row.name, [])
        found = _choose(row, candidates)
        checks = tuple(
            check
            for uuid in (found.health_check if found is not None else ())
            if (check := observed.nb.health_checks.get(uuid)) is not None
        )
        joined_rows.append(JoinedRow(row, found, len(candidates), checks))
        targets.extend(targets_of(row))
    monitors = {(m.logical_port, m.ip, m.port, m.protocol): m for m in observed.monitors}
    flows: dict[tuple[IPAddress, int | None], list[Flow]] = {}
    for flow in observed.flows:
        flows.setdefault((flow.vip, flow.port), []).append(flow)
    return Joined(
        document,
        tuple(joined_rows),
        tuple(targets),
        observed,
        {joined.wanted.name: joined for joined in joined_rows},
        monitors,
        flows,
    )


def datapaths_reaching(joined: Joined, row: DbLoadBalancer) -> set[tuple[str, str]]:
    """(table, name) of every router and switch the database row takes effect on:
    attached directly, or through a group attached there."""
    groups = {group.uuid for group in joined.observed.nb.groups if row.uuid in group.load_balancer}
    reached: set[tuple[str, str]] = set()
    for datapath in joined.observed.nb.datapaths:
        if row.uuid in datapath.load_balancer or groups & datapath.load_balancer_group:
            reached.add((datapath.table, datapath.name))
    return reached


def switch_of(joined: Joined, name: str) -> list[DbDatapath]:
    return [d for d in joined.observed.nb.datapaths if d.table == "Logical_Switch" and d.name == name]
