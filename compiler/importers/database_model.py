"""``import --from db``, its middle: the rows of one listen address (read by
database_rows.py) -> one load balancer or one forward of the model.
compiler/importers/database.py places them in networks and checks the whole.

The model says a backend's target port once per backend (none: the listen
port; one; or one per listen port of every port entry using it, LXD's
rule), while a row says it per VIP. When one address is sent to ports that
no single target_port can say (an LXD pool's instance on port 80 that is
also a backend on port 22, as samples/lxd-pool.yaml has it), the address
becomes several backends, one per target_port needed: the rows they lower
to are the same, since a VIP's backends are addresses and ports, and
backend names are no column.

The model has one health check a load balancer, while a row has one per
VIP. LXD's rows check a pool's VIPs and not a backend's, and two pools may
check differently: then each checked VIP becomes an LXD pool's (the one
other thing of the input format that carries a health check), whose VIP
lower.py writes the way LXD does, probed from the router's address.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from netaddr import IPAddress

from ..diagnostics import Span
from ..ir import (
    POOL_PROTOCOLS,
    Backend,
    Forward,
    ForwardPort,
    HealthCheck,
    LoadBalancer,
    LoadBalancerOptions,
    LoadBalancerPool,
    LoadBalancerPort,
    PoolInstance,
    PortRange,
)
from ..lower import vip_key
from ..ovsdb.state import DbNat
from .database_rows import UnsupportedRow, _address, _external_ids, _Row, _Vip

# A backend's target_port: () for the listen port, one range of one port, or one port per listen port.
_Shape = tuple[PortRange, ...]


def _ranges(ports: Sequence[int]) -> tuple[PortRange, ...]:
    """Ascending runs as ranges, in the order given."""
    ranges: list[PortRange] = []
    for port in ports:
        if ranges and ranges[-1].last + 1 == port:
            ranges[-1] = PortRange(ranges[-1].first, port)
        else:
            ranges.append(PortRange(port, port))
    return tuple(ranges)


def _target_shape(pairs: Sequence[tuple[int, int]]) -> _Shape:
    """A forward port's target_port for (listen, target) pairs in listen order:
    none (the listen port), one for all, or one per listen port."""
    if all(listen == target for listen, target in pairs):
        return ()
    if len({target for _, target in pairs}) == 1:
        return (PortRange(pairs[0][1], pairs[0][1]),)
    return _ranges([target for _, target in pairs])


def _shapes(pairs: Sequence[tuple[int, int]]) -> tuple[_Shape, ...]:
    """Every target_port that sends one port entry's (listen, target) pairs
    where the row does, the plainest first: none, one port, one per listen port.
    Several fit when, say, port 80 goes to 80 (none, or "80")."""
    found: list[_Shape] = []
    if all(listen == target for listen, target in pairs):
        found.append(())
    targets = [target for _, target in pairs]
    if len(set(targets)) == 1:
        found.append((PortRange(targets[0], targets[0]),))
    else:
        found.append(_ranges(targets))
    return tuple(found)


def _cover(candidates: Mapping[int, Sequence[_Shape]]) -> dict[int, _Shape]:
    """A target_port for each port entry (key) among its candidates, using few
    distinct ones (each is one more backend in the file): each entry takes the
    one that fits the most entries, the plainest of equals. One pass, so a
    database of many entries costs no more than linear time; and when one
    target_port fits every entry, every entry takes the same one."""
    counts = Counter(shape for shapes in candidates.values() for shape in shapes)
    # max() keeps the first of the largest: the plainest, as _shapes orders them.
    return {entry: max(shapes, key=counts.__getitem__) for entry, shapes in candidates.items()}


@dataclass(frozen=True, slots=True)
class _Names:
    """Backends named after their switch port (their address when none or
    several), unique per load balancer: a second backend of one address (a
    second target_port) gets ``-2``, and so on."""

    owners: Mapping[IPAddress, list[str]]

    def names(self, addresses: Iterable[IPAddress]) -> list[str]:
        taken: set[str] = set()
        numbers: dict[str, int] = {}  # base -> the next number to try: all below it are taken
        result: list[str] = []
        for address in addresses:
            ports = sorted(set(self.owners.get(address, [])))
            name = ports[0] if len(ports) == 1 else str(address)
            base, number = name, numbers.get(name, 2)
            while name in taken:
                name, number = f"{base}-{number}", number + 1
            numbers[base] = number
            taken.add(name)
            result.append(name)
        return result


@dataclass(frozen=True, slots=True)
class _Entry:
    """A port entry being built: consecutive listen ports of one protocol with
    the same backend addresses, or (``pool``) one pool's VIP."""

    protocol: str
    ports: list[int]
    addresses: tuple[IPAddress, ...]
    pool: LoadBalancerPool | None = None  # unnamed until the load balancer is whole


@dataclass
class _Pools:
    """A network's pools as the import makes them (mutable: a builder), one
    per protocol, health check, instances and their ports: a pool that two
    load balancers use is one pool, as in LXD (where it is one object, and
    E347 refuses two pools sharing an instance's port)."""

    named: dict[LoadBalancerPool, LoadBalancerPool] = field(default_factory=dict)  # unnamed -> named

    def pending(self, unnamed: Iterable[LoadBalancerPool]) -> dict[LoadBalancerPool, LoadBalancerPool]:
        """Names for ``unnamed``, not yet taken: a load balancer left out leaves no pool behind."""
        taken = {pool.name for pool in self.named.values()}
        found: dict[LoadBalancerPool, LoadBalancerPool] = {}
        for pool in unnamed:
            if pool in found:
                continue
            if pool in self.named:
                found[pool] = self.named[pool]
                continue
            base = f"{pool.protocol}-{pool.target_port}"
            name, number = base, 2
            while name in taken:
                name, number = f"{base}-{number}", number + 1
            taken.add(name)
            found[pool] = replace(pool, name=name)
        return found

    def add(self, found: Mapping[LoadBalancerPool, LoadBalancerPool]) -> None:
        self.named.update(found)

    def pools(self) -> tuple[LoadBalancerPool, ...]:
        return tuple(self.named.values())


@dataclass(frozen=True, slots=True)
class _Built:
    """A load balancer, the pools it names (``_Pools.add`` them once it is
    kept), and its rows' ip_port_mappings by who probes them."""

    lb: LoadBalancer
    pools: Mapping[LoadBalancerPool, LoadBalancerPool]
    probed: Mapping[IPAddress, tuple[str, IPAddress]]  # by its own health check: (switch port, source)
    pooled: Mapping[IPAddress, str]  # by its pools', from the router's address: the switch port


def _pool_of(
    row: _Row, vip: _Vip, check: HealthCheck, gateways: Mapping[int, IPAddress], span: Span
) -> LoadBalancerPool:
    """An (unnamed) LXD pool whose VIP lowers to this one, as
    lower.py's _pool_vip does it: an instance per switch port (named after
    it), its addresses of the family together, one target port each, probed
    from the router's address."""
    assert vip.port is not None
    key = vip_key(row.address, vip.port)

    def refuse(why: str) -> UnsupportedRow:
        return UnsupportedRow(
            "I013",
            f"VIP {key!r}'s health check is not the other VIPs' of {row.address}: ovn-lbc writes that only "
            f"as an LXD pool's, and it cannot be one: {why}",
        )

    if row.protocol not in POOL_PROTOCOLS:
        raise refuse(f"a pool is {' or '.join(POOL_PROTOCOLS)}, not {row.protocol}")
    groups: list[tuple[str, list[tuple[IPAddress, int]]]] = []
    for address, port in vip.targets:
        assert port is not None
        mapped = row.mappings.get(address)
        if mapped is None:
            raise refuse(f"backend {address} has no ip_port_mappings entry to name its switch port")
        switch_port, source = mapped
        gateway = gateways.get(address.version)
        if source != gateway:
            raise refuse(f"backend {address} is probed from {source}, not from the router's address {gateway}")
        if groups and groups[-1][0] == switch_port:
            groups[-1][1].append((address, port))
        elif any(name == switch_port for name, _ in groups):
            raise refuse(f"the addresses of switch port {switch_port} are not next to each other in its backends")
        else:
            groups.append((switch_port, [(address, port)]))
    instances: list[tuple[str, int]] = []
    for switch_port, targets in groups:
        addresses = [address for address, _ in targets]
        if len({port for _, port in targets}) > 1:
            raise refuse(f"the addresses of switch port {switch_port} go to different ports (one an instance)")
        if addresses != sorted(addresses):
            raise refuse(f"the addresses of switch port {switch_port} are not in ascending order")
        instances.append((switch_port, targets[0][1]))
    pool_port = instances[0][1]
    return LoadBalancerPool(
        "",
        pool_port,
        row.protocol,
        health_check=check,
        instances=tuple(PoolInstance(name, None if port == pool_port else port, span=span) for name, port in instances),
        span=span,
    )


def _load_balancer(
    rows: Sequence[_Row], names: _Names, pools: _Pools, gateways: Mapping[int, IPAddress], span: Span
) -> _Built:
    """The load balancer of one listen address's rows (its tcp, udp and sctp ones)."""
    first = rows[0]
    for row in rows[1:]:
        for what, mine, theirs in (
            ("options", row.options, first.options),
            ("description", row.description, first.description),
            ("user config", row.user, first.user),
        ):
            if mine != theirs:
                raise UnsupportedRow(
                    "I017",
                    f"its {what} differs from row {first.name!r}'s of the same address "
                    "(one load balancer has one for all its protocols)",
                )
    # One health check for every VIP is the load balancer's. Otherwise (LXD:
    # a health-checked pool beside backends or another pool) each checked VIP
    # is a pool's, and the load balancer has none.
    checks = {vip.check for row in rows for vip in row.vips}
    check = next(iter(checks)) if len(checks) == 1 else None
    pooled = len(checks) > 1
    if not pooled:
        for row in rows[1:]:
            if row.mappings != first.mappings:
                raise UnsupportedRow(
                    "I017",
                    f"its ip_port_mappings differ from row {first.name!r}'s of the same address "
                    "(one load balancer has one health check for all its protocols)",
                )
        if check is None and first.mappings:
            raise UnsupportedRow("I014", "it has ip_port_mappings but no health check")
    entries: list[_Entry] = []
    for row in rows:
        for vip in row.vips:
            assert vip.port is not None
            if pooled and vip.check is not None:
                pool = _pool_of(row, vip, vip.check, gateways, span)
                entries.append(_Entry(row.protocol, [vip.port], (), pool))
                continue
            addresses = tuple(a for a, _ in vip.targets)
            last = entries[-1] if entries else None
            if last is not None and last.pool is None and (last.protocol, last.addresses) == (row.protocol, addresses):
                last.ports.append(vip.port)
            else:
                entries.append(_Entry(row.protocol, [vip.port], addresses))
    pooled_mappings: dict[IPAddress, str] = {}
    if pooled:
        for row in rows:
            wanted = {
                address: row.mappings[address]
                for vip in row.vips
                if vip.check is not None
                for address, _ in vip.targets
            }
            if extra := sorted(set(row.mappings) - set(wanted)):
                raise UnsupportedRow(
                    "I014",
                    f"row {row.db.name!r}'s ip_port_mappings has {', '.join(map(str, extra))}, which no pool's VIP "
                    "of it probes",
                )
            pooled_mappings.update((address, switch_port) for address, (switch_port, _) in wanted.items())
    found = pools.pending(entry.pool for entry in entries if entry.pool is not None)
    backends, ports = _backends_and_ports(entries, rows, names, found, span)
    lb = LoadBalancer(
        first.address,
        backends,
        ports,
        first.description,
        check,
        first.options,
        first.user,
        span=span,
    )
    return _Built(lb, found, dict(first.mappings) if check is not None else {}, pooled_mappings)


def _backends_and_ports(
    entries: Sequence[_Entry],
    rows: Sequence[_Row],
    names: _Names,
    pools: Mapping[LoadBalancerPool, LoadBalancerPool],
    span: Span,
) -> tuple[tuple[Backend, ...], tuple[LoadBalancerPort, ...]]:
    """The backends (one per address and target_port needed) and the port entries."""
    targets = {(row.protocol, vip.port, a): p for row in rows for vip in row.vips for a, p in vip.targets}
    uses: dict[IPAddress, list[int]] = {}  # address -> the entries it is in, in order
    for index, entry in enumerate(entries):
        for address in entry.addresses:
            uses.setdefault(address, []).append(index)
    shape_of: dict[tuple[int, IPAddress], _Shape] = {}
    backend_keys: dict[tuple[IPAddress, _Shape], None] = {}  # in order: an address's together
    for address, indexes in uses.items():
        candidates = {
            index: _shapes(
                [(port, targets[(entries[index].protocol, port, address)] or port) for port in entries[index].ports]
            )
            for index in indexes
        }
        for index, shape in _cover(candidates).items():
            shape_of[(index, address)] = shape
            backend_keys.setdefault((address, shape))
    named = dict(zip(backend_keys, names.names(a for a, _ in backend_keys), strict=True))
    backends = tuple(Backend(named[key], key[0], key[1], span=span) for key in backend_keys)
    ports = tuple(
        LoadBalancerPort(entry.protocol, _ranges(entry.ports), (), target_pool=pools[entry.pool].name, span=span)
        if entry.pool is not None
        else LoadBalancerPort(
            entry.protocol,
            _ranges(entry.ports),
            tuple(named[(a, shape_of[(index, a)])] for a in entry.addresses),
            span=span,
        )
        for index, entry in enumerate(entries)
    )
    return backends, ports


def _forward(rows: Sequence[_Row], nat: DbNat | None, span: Span) -> Forward:
    first = rows[0] if rows else None
    for row in rows:
        if any(vip.check is not None for vip in row.vips) or row.mappings:
            raise UnsupportedRow("I018", "a forward has no health check")
        if first is not None and (row.options, row.description, row.user) != (
            first.options,
            first.description,
            first.user,
        ):
            raise UnsupportedRow("I017", f"its options or description differ from row {first.name!r}'s")
    ports: list[ForwardPort] = []
    for row in rows:
        by_target: dict[IPAddress, list[tuple[int, int]]] = {}
        for vip in row.vips:
            if len(vip.targets) != 1:
                raise UnsupportedRow(
                    "I018", f"a forward's VIP has one target, VIP port {vip.port} has {len(vip.targets)}"
                )
            address, port = vip.targets[0]
            assert vip.port is not None and port is not None
            by_target.setdefault(address, []).append((vip.port, port))
        for address, pairs in by_target.items():
            shape = _target_shape(pairs)
            ports.append(ForwardPort(row.protocol, _ranges([p for p, _ in pairs]), address, shape, span=span))
    description, user = (first.description, first.user) if first is not None else ("", ())
    options = first.options if first is not None else LoadBalancerOptions()
    default = None
    if nat is not None:
        default = _address(nat.logical_ip, "I019")
        nat_description, nat_user, _, _ = _external_ids(nat)
        if first is None:
            description, user = nat_description, nat_user
        elif (nat_description, nat_user) != (description, user):
            raise UnsupportedRow(
                "I019", "its NAT row's description or user config differs from its load balancer rows'"
            )
    listen = first.address if first is not None else _address(nat.external_ip if nat else "", "I019")
    return Forward(listen, tuple(ports), default, description, options, user, span=span)
