"""Lowering: the checked model -> the Northbound rows it stands for.

This is where Incus's conventions live: one Load_Balancer per (listen address,
protocol), LXD's target-port rule, one health check per VIP whose ``vip`` is
the very string of the ``vips`` key, ip_port_mappings for every backend, and
a forward's default target as a ``dnat`` NAT row on the network's router
(Incus since July 2026, lxc/incus 42053c457d7b, "Fix NAT for network forward
default targets"; before, it was a port-less VIP in the tcp and the udp
load balancer). The emitters only print these rows; they decide nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from uuid import UUID, uuid5

from netaddr import IPAddress

from .addresses import endpoint, host
from .diagnostics import Span
from .ir import (
    Backend,
    Document,
    Forward,
    HealthCheck,
    LoadBalancer,
    LoadBalancerOptions,
    LoadBalancerPool,
    LoadBalancerPort,
    Network,
    PortRange,
    SwitchPort,
    expand_ports,
    pool_targets,
)

# The ownership mark: which network of which ovn-lbc document owns a row.
OWNER_KEY = "ovn-lbc:network"
KIND_KEY = "ovn-lbc:kind"
DESCRIPTION_KEY = "ovn-lbc:description"
USER_KEY_PREFIX = "ovn-lbc:"
# Load_Balancer_Group has no external_ids: the groups ovn-lbc creates are
# marked in NB_Global's external_ids, ``ovn-lbc:group:<name>`` = the group's
# _uuid (see compiler/plan.py). A group is ovn-lbc's only while both agree.
GROUP_MARK_PREFIX = "ovn-lbc:group:"
# The _uuid ovn-lbc gives a group it creates: a name-based UUID (RFC 4122
# version 5), so the script, the JSON and a plan can all write the mark in
# the very transaction that creates the group, and a plan is reproducible.
_GROUP_NAMESPACE = UUID("7d0b7a3c-2f1e-5d8a-9c4b-0e6f1a2b3c4d")

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class HealthCheckRow:
    """A Load_Balancer_Health_Check row; ``vip`` equals a ``vips`` key exactly."""

    vip: str
    options: Pairs
    external_ids: Pairs


@dataclass(frozen=True, slots=True)
class LoadBalancerRow:
    """A Load_Balancer row and where it takes effect: the datapaths it is
    attached to, or (with ``group``) none, its group being attached instead."""

    name: str
    protocol: str
    vips: Pairs
    health_checks: tuple[HealthCheckRow, ...]
    ip_port_mappings: Pairs
    external_ids: Pairs
    options: Pairs
    selection_fields: tuple[str, ...]  # sorted, as OVSDB keeps a set
    datapaths: tuple[tuple[str, str], ...]  # (table, name), attached directly
    group: str | None
    # For the reader of the output only; never written to the database.
    network: str = field(compare=False)
    kind: str = field(compare=False)
    listen_address: str = field(compare=False)
    description: str = field(compare=False)
    source: Span = field(compare=False)
    # The model the row comes from, to locate a value's line (value_span).
    model: LoadBalancer | Forward | None = field(default=None, compare=False, repr=False)
    owner: Network | None = field(default=None, compare=False, repr=False)


# What Incus writes on every forward's NAT row (CreateLogicalRouterNAT with
# stateless=false). OVN reads the option only on dnat_and_snat rows; it is
# written for the row to be exactly Incus's.
NAT_OPTIONS: Pairs = (("stateless", "false"),)


@dataclass(frozen=True, slots=True)
class NatRow:
    """A router's NAT row of type dnat: every packet to ``external_ip`` that no
    port entry of the forward takes goes to ``logical_ip``. NAT rows have no
    name: one is known by (router, type, external_ip), as Incus finds it."""

    router: str
    type: str
    external_ip: str  # canonical, no brackets, no prefix length
    logical_ip: str
    options: Pairs
    external_ids: Pairs
    # For the reader of the output only; never written to the database.
    network: str = field(compare=False)
    description: str = field(compare=False)
    source: Span = field(compare=False)  # the default target's line
    model: Forward | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        """What messages call the row."""
        return f"NAT {self.type} {self.external_ip} on {self.router}"


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A Load_Balancer_Group: the rows whose ``group`` names it are its
    members, and it is attached to the datapaths of every network using it."""

    name: str
    datapaths: tuple[tuple[str, str], ...]
    networks: tuple[str, ...]
    source: Span = field(compare=False)
    owners: tuple[Network, ...] = field(default=(), compare=False, repr=False)

    @property
    def mark_key(self) -> str:
        return group_mark_key(self.name)

    @property
    def uuid(self) -> str:
        """The _uuid ovn-lbc creates this group with (and records in its mark)."""
        return group_uuid(self.name)


def group_mark_key(name: str) -> str:
    """The NB_Global external_ids key that marks group ``name`` as ovn-lbc's."""
    return GROUP_MARK_PREFIX + name


def group_uuid(name: str) -> str:
    return str(uuid5(_GROUP_NAMESPACE, name))


@dataclass(frozen=True, slots=True)
class NorthboundChanges:
    """Everything a run writes, in a stable order."""

    rows: tuple[LoadBalancerRow, ...]
    groups: tuple[GroupRow, ...] = ()
    nats: tuple[NatRow, ...] = ()

    def members(self, group: str) -> list[LoadBalancerRow]:
        return [row for row in self.rows if row.group == group]


def target_port(backend_ports: tuple[PortRange, ...], index: int, listen_port: int) -> int:
    """LXD's rule: no target port -> the listen port; one -> it; N -> the i-th."""
    return _chosen_port(expand_ports(backend_ports), index, listen_port)


def _chosen_port(ports: list[int], index: int, listen_port: int) -> int:
    """target_port's rule on the target ports already expanded."""
    if not ports:
        return listen_port
    if len(ports) == 1:
        return ports[0]
    return ports[index]


def vip_key(listen_address: IPAddress, port: int | None) -> str:
    """A ``vips`` key. Port-less IPv6 stays unbracketed, as ovn-nbctl stores it."""
    return str(listen_address) if port is None else endpoint(listen_address, port)


def _vip_order(item: tuple[int | None, str]) -> tuple[int, int]:
    port = item[0]
    return (0, 0) if port is None else (1, port)


def _external_ids(network: Network, kind: str, description: str, user: Pairs) -> Pairs:
    ids = {OWNER_KEY: network.name, KIND_KEY: kind}
    if description:
        ids[DESCRIPTION_KEY] = description
    for key, value in user:
        ids[USER_KEY_PREFIX + key] = value
    return tuple(sorted(ids.items()))


def _load_balancer_rows(
    network: Network,
    lb: LoadBalancer,
    probe_targets: dict[IPAddress, str],
    pools: PoolIndex | None = None,
) -> Iterator[LoadBalancerRow]:
    # Each VIP with the health check it gets: the load balancer's for its
    # backends' VIPs, a pool's (or none) for a pool's VIP.
    by_protocol: dict[str, list[tuple[int | None, str, HealthCheck | None]]] = {}
    pool_mappings: dict[str, dict[str, str]] = {}
    by_name: dict[str, Backend] = {}
    for backend in lb.backends:  # lb.backend(name) for all names, without a scan each
        by_name.setdefault(backend.name, backend)
    for port in lb.ports:
        if port.target_pool is not None:
            vip = _pool_vip(network, lb, port, pools or PoolIndex.of(network))
            if vip is not None:
                listen_port, targets, check, pool_map = vip
                by_protocol.setdefault(port.protocol, []).append((listen_port, targets, check))
                pool_mappings.setdefault(port.protocol, {}).update(pool_map)
            continue
        backends = [b for name in port.target_backends if (b := by_name.get(name)) is not None]
        # Each backend's host text and target ports once per port entry, not once per listen port.
        hosts = [host(b.target_address) for b in backends]
        ports = [expand_ports(b.target_ports) for b in backends]
        for index, listen_port in enumerate(expand_ports(port.listen_ports)):
            targets = ",".join(
                f"{text}:{_chosen_port(chosen, index, listen_port)}" for text, chosen in zip(hosts, ports, strict=True)
            )
            by_protocol.setdefault(port.protocol, []).append((listen_port, targets, lb.health_check))
    mappings = _ip_port_mappings(probe_targets, lb.backends) if lb.health_check else ()
    ids = _external_ids(network, "load-balancer", lb.description, lb.user_config)
    for protocol in sorted(by_protocol):
        vips = sorted(by_protocol[protocol], key=lambda item: _vip_order(item[:2]))
        keys = [(vip_key(lb.listen_address, port), targets) for port, targets, _ in vips]
        checks = tuple(
            HealthCheckRow(key, health_check_options(check), ((OWNER_KEY, network.name),))
            for (key, _), (_, _, check) in zip(keys, vips, strict=True)
            if check is not None
        )
        row_mappings = mappings
        if protocol in pool_mappings:
            row_mappings = tuple(sorted({**pool_mappings[protocol], **dict(mappings)}.items()))
        yield _row(
            network,
            lb.listen_address,
            protocol,
            tuple(keys),
            checks,
            row_mappings,
            ids,
            "load balancer",
            lb,
        )


def health_check_options(check: HealthCheck) -> Pairs:
    """A Load_Balancer_Health_Check's ``options``: seconds and counts as decimal text."""
    return (
        ("failure_count", str(check.failure_count)),
        ("interval", str(check.interval)),
        ("success_count", str(check.success_count)),
        ("timeout", str(check.timeout)),
    )


@dataclass(frozen=True, slots=True)
class PoolIndex:
    """A network's pools by name and switch ports by instance, found once per network."""

    pools: dict[str, LoadBalancerPool]
    ports_by_instance: dict[str, list[SwitchPort]]

    @classmethod
    def of(cls, network: Network) -> PoolIndex:
        return cls(network.pools_by_name(), network.ports_by_instance())


def _pool_vip(
    network: Network, lb: LoadBalancer, port: LoadBalancerPort, index: PoolIndex
) -> tuple[int, str, HealthCheck | None, dict[str, str]] | None:
    """A pool port entry's one VIP, LXD's way: (listen port, targets, health
    check, ip_port_mappings), or None when the pool gives it no backend, for
    which LXD writes no VIP at all ("If the pool doesn't have any instances,
    don't bother creating a port map", lxd/network/driver_ovn.go 5590-5593;
    the checks warn, W006). Probes come from the router's own address,
    ``"<ip>"="<lsp>:<router address>"`` (lxd/network/openvswitch/ovn.go
    LoadBalancerHealthCheckMappingAdd, 2116-2134)."""
    pool = index.pools.get(port.target_pool or "")
    listen = expand_ports(port.listen_ports)
    if pool is None or not listen:
        return None
    version = lb.listen_address.version
    targets = pool_targets(pool, index.ports_by_instance, version)
    if not targets:
        return None
    text = ",".join(endpoint(target.address, target.port) for target in targets)
    source = network.pool_probe_source(version)
    mappings: dict[str, str] = {}
    if pool.health_check is not None and source is not None:
        mappings = {host(target.address): f"{target.switch_port}:{host(source)}" for target in targets}
    return listen[0], text, pool.health_check, mappings


def _probe_targets(network: Network) -> dict[IPAddress, str]:
    """For each switch-port address, its ip_port_mappings value ``<port>:<source>``."""
    sources = {version: network.health_check_source(version) for version in (4, 6)}
    return {
        address: f"{port.name}:{host(source)}"
        for port in network.switch_ports
        for address in port.addresses
        if (source := sources[address.version]) is not None
    }


def _ip_port_mappings(probe_targets: dict[IPAddress, str], backends: tuple[Backend, ...]) -> Pairs:
    mappings = {
        host(b.target_address): probe_targets[b.target_address] for b in backends if b.target_address in probe_targets
    }
    return tuple(sorted(mappings.items()))


def _forward_rows(network: Network, fwd: Forward) -> Iterator[LoadBalancerRow]:
    """The port entries' VIPs; a forward with only a default target has no row (Incus neither)."""
    by_protocol: dict[str, list[tuple[int | None, str]]] = {}
    for port in fwd.ports:
        for index, listen_port in enumerate(expand_ports(port.listen_ports)):
            target = endpoint(port.target_address, target_port(port.target_ports, index, listen_port))
            by_protocol.setdefault(port.protocol, []).append((listen_port, target))
    ids = _external_ids(network, "forward", fwd.description, fwd.user_config)
    for protocol in sorted(by_protocol):
        vips = sorted(by_protocol[protocol], key=_vip_order)
        keys = tuple((vip_key(fwd.listen_address, port), targets) for port, targets in vips)
        yield _row(network, fwd.listen_address, protocol, keys, (), (), ids, "forward", fwd)


def _forward_nat(network: Network, fwd: Forward) -> NatRow | None:
    """The default target as Incus writes it: a dnat row on the network's router
    (only there: attach_routers are for load balancers), with ovn-lbc's marks."""
    if fwd.default_target is None:
        return None
    return NatRow(
        router=network.router,
        type="dnat",
        external_ip=str(fwd.listen_address),
        logical_ip=str(fwd.default_target),
        options=NAT_OPTIONS,
        external_ids=_external_ids(network, "forward", fwd.description, fwd.user_config),
        network=network.name,
        description=fwd.description,
        source=fwd.at("default_target"),
        model=fwd,
    )


def option_pairs(options: LoadBalancerOptions) -> Pairs:
    """Load_Balancer ``options``: only what differs from OVN's defaults."""
    pairs = {key: text or "true" for key, text in options.config_values() if key != "selection_fields"}
    return tuple(sorted(pairs.items()))


def _row(
    network: Network,
    listen_address: IPAddress,
    protocol: str,
    vips: Pairs,
    checks: tuple[HealthCheckRow, ...],
    mappings: Pairs,
    ids: Pairs,
    kind: str,
    obj: LoadBalancer | Forward,
) -> LoadBalancerRow:
    return LoadBalancerRow(
        name=network.row_name(listen_address, protocol),
        protocol=protocol,
        vips=vips,
        health_checks=checks,
        ip_port_mappings=mappings,
        external_ids=ids,
        options=option_pairs(obj.options),
        selection_fields=tuple(sorted(obj.options.selection_fields)),
        datapaths=() if network.lb_group is not None else network.datapaths(),
        group=network.lb_group,
        network=network.name,
        kind=kind,
        listen_address=str(listen_address),
        description=obj.description,
        source=obj.span,
        model=obj,
        owner=network,
    )


def lower(document: Document) -> NorthboundChanges:
    """The rows of a checked document: network order, then source order."""
    rows: list[LoadBalancerRow] = []
    nats: list[NatRow] = []
    groups: dict[str, tuple[dict[tuple[str, str], None], list[Network], Span]] = {}
    for network in document.networks:
        probe_targets = _probe_targets(network)
        pools = PoolIndex.of(network)
        for lb in network.load_balancers:
            rows.extend(_load_balancer_rows(network, lb, probe_targets, pools))
        for fwd in network.forwards:
            rows.extend(_forward_rows(network, fwd))
            if (nat := _forward_nat(network, fwd)) is not None:
                nats.append(nat)
        if network.lb_group is not None:
            datapaths, networks, _ = groups.setdefault(network.lb_group, ({}, [], network.at("lb_group")))
            datapaths.update(dict.fromkeys(network.datapaths()))
            networks.append(network)
    group_rows = tuple(
        GroupRow(name, tuple(datapaths), tuple(n.name for n in networks), source, tuple(networks))
        for name, (datapaths, networks, source) in groups.items()
    )
    return NorthboundChanges(tuple(rows), group_rows, tuple(nats))


# -- where a value comes from ----------------------------------------------------------


def datapath_span(network: Network, table: str, name: str) -> Span | None:
    """Where ``network`` names datapath ``name`` of ``table``, or None."""
    if table == "Logical_Router":
        named = [("router", network.router)] + [
            (f"attach_routers[{i}]", n) for i, n in enumerate(network.attach_routers)
        ]
    else:
        named = [("switch", network.switch)] + [
            (f"attach_switches[{i}]", n) for i, n in enumerate(network.attach_switches)
        ]
    return next((network.at(key) for key, text in named if text == name), None)


def value_span(row: LoadBalancerRow, column: str, key: str = "") -> Span:
    """The line a value of ``row`` comes from: ``column`` (a Load_Balancer
    column, "datapath" with key "TABLE:NAME", or "group"), ``key`` a map key.
    The row's own line when nothing closer is known. Computed only when a
    diagnostic needs it, so lowering stays as fast as before."""
    obj, network = row.model, row.owner
    if obj is None or network is None:
        return row.source
    span: Span | None = None
    if column == "name":
        span = network.at("row_prefix")
    elif column == "group":
        span = network.at("lb_group")
    elif column == "datapath":
        table, _, name = key.partition(":")
        span = datapath_span(network, table, name)
    elif column == "external_ids" and key == DESCRIPTION_KEY:
        span = obj.at("description")
    elif column == "external_ids" and key.startswith(USER_KEY_PREFIX):
        span = obj.at("config." + key.removeprefix(USER_KEY_PREFIX))
    elif column == "options":
        span = obj.at("config." + key)
    elif column == "vips":
        span = _vip_span(row, obj, key)
    elif column == "ip_port_mappings":
        span = next(
            (port.at("name") for port in network.switch_ports for address in port.addresses if host(address) == key),
            None,
        )
    return span or row.source


def nat_value_span(nat: NatRow, column: str, key: str = "") -> Span:
    """The line a value of ``nat`` comes from (as value_span for a load balancer)."""
    fwd = nat.model
    span: Span | None = None
    if fwd is not None and column == "external_ids" and key == DESCRIPTION_KEY:
        span = fwd.at("description")
    elif fwd is not None and column == "external_ids" and key.startswith(USER_KEY_PREFIX):
        span = fwd.at("config." + key.removeprefix(USER_KEY_PREFIX))
    elif fwd is not None and column == "external_ip":
        span = fwd.at("listen_address")
    return span or nat.source


def _vip_span(row: LoadBalancerRow, obj: LoadBalancer | Forward, key: str) -> Span | None:
    """The port entry that makes the ``vips`` key ``key``."""
    for port in obj.ports:
        if port.protocol != row.protocol:
            continue
        if any(vip_key(obj.listen_address, number) == key for number in expand_ports(port.listen_ports)):
            return port.span
    return None
