"""``import --from db``: a Northbound database's Load_Balancer rows -> the model.

A pure function of a NorthboundState. The rows are read back into the model
the front ends build (networks from the datapaths the rows are attached to,
a load balancer per listen address, forwards), and then the model is held
to the one promise of the import: ``apply --adopt`` of the printed file
changes nothing but ovn-lbc's marks (and names nameless rows). That is not
argued row by row but checked: the model is lowered and planned against the
very state it came from (compiler.plan, with ``adopt``), and every load
balancer whose rows the plan would change otherwise, or that the checks
refuse, is left out with the reason, and the rest planned again. A row left
out is a LeftOut, never dropped in silence.

Names: ovn-lbc finds its rows by name (``<row_prefix>-lb-<address>-<protocol>``,
compiler/lower.py). A nameless row (as ``ovn-nbctl create load_balancer
vips:...`` makes it) gets the name ovn-lbc would give it: the row_prefix of
the network whose router and switch it is on (of the rows named so there,
else the router's name without Incus's ``-lr``), its address and protocol.
``apply --adopt`` then renames it in place (plan.py takes over the one
nameless row of a row's protocol and VIPs), and the self-check below
accepts that rename, of exactly those rows. A row of another name (``lb-add
lb1 ...``) is left out: other tools find their rows by name, so ovn-lbc
renames none (see docs/import.md).

Why this module is long: building the model and holding it to the plan
are one loop (``_settle``) over the same units, a network's listen
address each, that both sides name the rows by; split, a unit's meaning
would be read in two places. Reading a row is database_rows.py's.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from netaddr import IPAddress

from ..addresses import eui64_address, last_usable_address
from ..checks import CHECKS, DATABASE_CHECKS, run_checks
from ..compilation import CheckedInput, compile_against
from ..diagnostics import Diagnostic, SourceRegistry, Span
from ..facts import switch_port_owners
from ..ir import (
    PROTOCOLS,
    Backend,
    Document,
    Forward,
    ForwardPort,
    LoadBalancer,
    LoadBalancerOptions,
    LoadBalancerPort,
    Network,
    PortRange,
    ProbeChoice,
    ProbeSource,
    SwitchPort,
    Target,
)
from ..lower import NAT_OPTIONS
from ..ovn_versions import FEATURES, release_of_schema
from ..ovsdb.state import DbDatapath, DbLoadBalancer, DbNat, NorthboundState
from ..plan import MapDiff, Plan, make_plan
from .database_rows import (
    _MARKS,
    UnsupportedRow,
    _address,
    _external_ids,
    _Place,
    _read_row,
    _Row,
    _Topology,
    name_nameless,
)

_ROUNDS = 8  # leave-out rounds before giving up (each leaves at least one load balancer out)


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A row the file does not describe, and why."""

    table: str  # Load_Balancer | NAT
    name: str
    uuid: str
    reason: str

    def line(self) -> str:
        what = f"row {self.name!r}" if self.name else "nameless row"
        if self.table != "Load_Balancer":
            what = f"{self.table} row {self.name}"
        return f"{what} (_uuid {self.uuid}): left out: {self.reason}"


@dataclass(frozen=True, slots=True)
class DatabaseImport:
    document: Document
    left_out: tuple[LeftOut, ...]
    rows: int  # Load_Balancer rows described by the document
    nats: int  # NAT rows described
    # (_uuid, name) of each nameless row described: the name the file gives it,
    # which ``apply --adopt`` writes into the row.
    named: tuple[tuple[str, str], ...] = ()


# -- rows -> load balancers and forwards ------------------------------------------------


def _ranges(ports: Sequence[int]) -> tuple[PortRange, ...]:
    """Ascending runs as ranges, in the order given."""
    ranges: list[PortRange] = []
    for port in ports:
        if ranges and ranges[-1].last + 1 == port:
            ranges[-1] = PortRange(ranges[-1].first, port)
        else:
            ranges.append(PortRange(port, port))
    return tuple(ranges)


def _target_shape(pairs: Sequence[tuple[int, int]]) -> tuple[PortRange, ...]:
    """A backend's target_port for (listen, target) pairs in listen order:
    none (the listen port), one for all, or one per listen port."""
    if all(listen == target for listen, target in pairs):
        return ()
    if len({target for _, target in pairs}) == 1:
        return (PortRange(pairs[0][1], pairs[0][1]),)
    return _ranges([target for _, target in pairs])


@dataclass
class _Names:
    """Backends named after their switch port (their address when none), unique per load balancer."""

    owners: Mapping[IPAddress, list[str]]

    def names(self, addresses: Iterable[IPAddress]) -> dict[IPAddress, str]:
        taken: set[str] = set()
        result: dict[IPAddress, str] = {}
        for address in addresses:
            ports = sorted(set(self.owners.get(address, [])))
            name = ports[0] if len(ports) == 1 else str(address)
            base, number = name, 2
            while name in taken:
                name, number = f"{base}-{number}", number + 1
            taken.add(name)
            result[address] = name
        return result


def _load_balancer(rows: Sequence[_Row], names: _Names, span: Span) -> LoadBalancer:
    first = rows[0]
    for row in rows[1:]:
        for what, mine, theirs in (
            ("health check", row.check, first.check),
            ("options", row.options, first.options),
            ("description", row.description, first.description),
            ("user config", row.user, first.user),
            ("ip_port_mappings", row.mappings, first.mappings),
        ):
            if mine != theirs:
                raise UnsupportedRow(
                    f"its {what} differs from row {first.name!r}'s of the same address "
                    "(one load balancer has one for all its protocols)"
                )
    addresses = list(dict.fromkeys(a for row in rows for vip in row.vips for a, _ in vip.targets))
    named = names.names(addresses)
    # Port entries: consecutive listen ports with the same backends, in order.
    entries: list[tuple[str, list[int], tuple[IPAddress, ...]]] = []
    for row in rows:
        for vip in row.vips:
            assert vip.port is not None
            backends = tuple(a for a, _ in vip.targets)
            if entries and entries[-1][0] == row.protocol and entries[-1][2] == backends:
                entries[-1][1].append(vip.port)
            else:
                entries.append((row.protocol, [vip.port], backends))
    targets = {(row.protocol, vip.port, a): p for row in rows for vip in row.vips for a, p in vip.targets}
    shapes: dict[IPAddress, tuple[PortRange, ...]] = {}
    for address in addresses:
        used = [(protocol, ports) for protocol, ports, backends in entries if address in backends]
        pairs = [[(port, targets[(protocol, port, address)] or port) for port in ports] for protocol, ports in used]
        flat = [pair for entry in pairs for pair in entry]
        if all(listen == target for listen, target in flat):
            shape: tuple[PortRange, ...] = ()
        elif len({target for _, target in flat}) == 1:
            shape = (PortRange(flat[0][1], flat[0][1]),)
        else:
            # One target port per listen port: the same list for every entry it is in.
            lists = {tuple(target for _, target in entry) for entry in pairs}
            if len(lists) != 1:
                raise UnsupportedRow(
                    f"backend {address}'s target ports differ from port entry to port entry in a way "
                    "target_port cannot say"
                )
            shape = _ranges(list(lists.pop()))
        shapes[address] = shape
    backends = tuple(Backend(named[a], a, shapes[a], span=span) for a in addresses)
    ports = tuple(
        LoadBalancerPort(protocol, _ranges(listen), tuple(named[a] for a in members), span=span)
        for protocol, listen, members in entries
    )
    return LoadBalancer(
        first.address,
        backends,
        ports,
        first.description,
        first.check,
        first.options,
        first.user,
        span=span,
    )


def _forward(rows: Sequence[_Row], nat: DbNat | None, span: Span) -> Forward:
    first = rows[0] if rows else None
    for row in rows:
        if row.check is not None or row.mappings:
            raise UnsupportedRow("a forward has no health check")
        if first is not None and (row.options, row.description, row.user) != (
            first.options,
            first.description,
            first.user,
        ):
            raise UnsupportedRow(f"its options or description differ from row {first.name!r}'s")
    ports: list[ForwardPort] = []
    for row in rows:
        by_target: dict[IPAddress, list[tuple[int, int]]] = {}
        for vip in row.vips:
            if len(vip.targets) != 1:
                raise UnsupportedRow(f"a forward's VIP has one target, VIP port {vip.port} has {len(vip.targets)}")
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
        default = _address(nat.logical_ip)
        nat_description, nat_user, _, _ = _external_ids(nat)
        if first is None:
            description, user = nat_description, nat_user
        elif (nat_description, nat_user) != (description, user):
            raise UnsupportedRow("its NAT row's description or user config differs from its load balancer rows'")
    listen = first.address if first is not None else _address(nat.external_ip if nat else "")
    return Forward(listen, tuple(ports), default, description, options, user, span=span)


def _nat_problem(nat: DbNat) -> str | None:
    if str(_address(nat.logical_ip)) != nat.logical_ip:
        return f"logical_ip {nat.logical_ip!r} is not one address written canonically"
    managed = {key: value for key, value in nat.options.items() if key == "stateless"}
    if managed != dict(NAT_OPTIONS):
        return "its options:stateless is not false (ovn-lbc writes stateless=false)"
    return None


# -- the import -----------------------------------------------------------------------


@dataclass
class _Net:
    key: tuple[object, ...]
    name: str
    prefix: str
    place: _Place
    rows: dict[IPAddress, list[_Row]] = field(default_factory=dict)
    nats: dict[IPAddress, DbNat] = field(default_factory=dict)


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def import_database(state: NorthboundState, patterns: Sequence[str] = ()) -> DatabaseImport:
    """The networks, load balancers and forwards of ``state``'s Load_Balancer
    rows (those whose name matches one of ``patterns``, or all), and the rows left out."""
    left: list[LeftOut] = []
    topology = _Topology(state)
    networks: dict[tuple[object, ...], _Net] = {}
    by_name: dict[str, list[DbLoadBalancer]] = {}
    for db in state.load_balancers:
        by_name.setdefault(db.name, []).append(db)
    for db in state.load_balancers:
        if not db.name or not _matches(db.name, patterns):
            continue  # nameless rows below, once the named rows have made their networks
        try:
            if len(by_name[db.name]) > 1:
                raise UnsupportedRow(f"{len(by_name[db.name])} rows have this name; OVN finds rows by name")
            row = _read_row(db, state)
            place = topology.place(db, row.address)
        except UnsupportedRow as exc:
            left.append(LeftOut("Load_Balancer", db.name, db.uuid, str(exc)))
            continue
        key = (row.owner, row.prefix, place)
        net = networks.get(key)
        if net is None:
            net = networks[key] = _Net(key, row.owner or row.prefix, row.prefix, place)
        net.rows.setdefault(row.address, []).append(row)
    _add_nameless(state, topology, networks, by_name, patterns, left)
    # A forward's default target: a dnat row on a network's router.
    nat_holders: dict[str, list[DbDatapath]] = {}
    for datapath in state.datapaths:
        for uuid in datapath.nat:
            nat_holders.setdefault(uuid, []).append(datapath)
    for uuid, nat in sorted(state.nats.items()):
        if nat.type != "dnat" or len(nat_holders.get(uuid, [])) != 1:
            continue
        router = nat_holders[uuid][0].name
        try:
            external = _address(nat.external_ip)
        except UnsupportedRow:
            continue
        homes = [net for net in networks.values() if net.place.router == router]
        home = next((net for net in homes if external in net.rows), None)
        if home is None and patterns:
            continue  # --match names Load_Balancer rows; a NAT row alone has no name
        what = f"dnat {nat.external_ip} on {router}"
        if home is None:
            if not homes:
                left.append(LeftOut("NAT", what, uuid, "no imported network has its router"))
                continue
            home = homes[0]
        problem = _nat_problem(nat) or (
            None if str(external) == nat.external_ip else "its external_ip is not written canonically"
        )
        if problem is not None:
            left.append(LeftOut("NAT", what, uuid, problem))
            continue
        home.nats[external] = nat
    return _settle(state, list(networks.values()), left)


def _add_nameless(
    state: NorthboundState,
    topology: _Topology,
    networks: dict[tuple[object, ...], _Net],
    by_name: Mapping[str, list[DbLoadBalancer]],
    patterns: Sequence[str],
    left: list[LeftOut],
) -> None:
    """The nameless rows, named (database_rows.name_nameless), each in the
    network the named rows on its router and switch make, else in one of its own."""
    homes: dict[_Place, list[tuple[str, str]]] = {}
    for net in networks.values():
        homes.setdefault(net.place, []).append((net.name, net.prefix))
    found, refused = name_nameless(state, topology, homes, by_name, lambda name: _matches(name, patterns))
    left.extend(LeftOut("Load_Balancer", db.name, db.uuid, reason) for db, reason in refused)
    for row, place in found:
        home = next((n for n in networks.values() if n.place == place and n.prefix == row.prefix), None)
        if home is None:
            key = (None, row.prefix, place)
            home = networks[key] = _Net(key, row.prefix, row.prefix, place)
        home.rows.setdefault(row.address, []).append(row)


def _settle(state: NorthboundState, nets: list[_Net], left: list[LeftOut]) -> DatabaseImport:
    """Build, check and plan; leave out what would change; again until nothing does."""
    names: dict[str, int] = {}
    for net in nets:  # network names unique
        count = names[net.name] = names.get(net.name, 0) + 1
        if count > 1:
            net.name = f"{net.name}-{count}"
    renamed: set[str] = set()
    for _ in range(_ROUNDS):
        document, units = _document(state, nets, left)
        problems = _verify(state, document, units)
        if problems is None:
            break
        by_unit, owned_leftovers = problems
        for net in nets:
            if net.name in owned_leftovers and net.name not in renamed:
                # Rows it owns that the file leaves out would be removed: another name.
                renamed.add(net.name)
                net.name = f"{net.name}-imported"
        for unit, reason in by_unit.items():
            net, address, _ = units[unit]
            for row in net.rows.pop(address, []):
                left.append(LeftOut("Load_Balancer", row.db.name, row.db.uuid, reason))
            nat = net.nats.pop(address, None)
            if nat is not None:
                left.append(LeftOut("NAT", f"dnat {nat.external_ip} on {net.place.router}", nat.uuid, reason))
    else:
        raise RuntimeError("the import does not settle")
    rows = sum(len(r) for net in nets for r in net.rows.values())
    nats = sum(len(net.nats) for net in nets)
    named = tuple(
        sorted((row.db.uuid, row.name) for net in nets for r in net.rows.values() for row in r if not row.db.name)
    )
    return DatabaseImport(document, tuple(left), rows, nats, named)


def _document(
    state: NorthboundState, nets: list[_Net], left: list[LeftOut]
) -> tuple[Document, dict[int, tuple[_Net, IPAddress, int]]]:
    """The document of what is left, and which (network, address) each span line stands for."""
    units: dict[int, tuple[_Net, IPAddress, int]] = {}
    networks: list[Network] = []
    for index, net in enumerate(nets, start=1):
        file = f"<database network {index}>"
        place = net.place
        base = Network(
            net.name,
            net.prefix,
            place.router,
            place.switch,
            place.ipv4,
            place.ipv6,
            place.router_mac,
            attach_switches=place.attach_switches,
            attach_routers=place.attach_routers,
            lb_group=place.group,
            span=Span(file, 0, 0),
        )
        owners = switch_port_owners(base, state)
        load_balancers: list[LoadBalancer] = []
        forwards: list[Forward] = []
        ports: dict[str, list[IPAddress]] = {}
        mapped: dict[IPAddress, str] = {}
        sources: dict[int, IPAddress] = {}
        for address in sorted(set(net.rows) | set(net.nats), key=lambda a: (a.version, a)):
            line = len(units) + 1
            units[line] = (net, address, index)
            span = Span(file, line, 1)
            rows = sorted(net.rows.get(address, []), key=lambda r: PROTOCOLS.index(r.protocol))
            nat = net.nats.get(address)
            try:
                kinds = {row.kind for row in rows} - {None}
                if len(kinds) > 1:
                    raise UnsupportedRow("its rows are marked as a load balancer and as a forward")
                forward = nat is not None or kinds == {"forward"}
                if forward:
                    forwards.append(_forward(rows, nat, span))
                    continue
                lb = _load_balancer(rows, _Names(owners), span)
                if lb.health_check is None:
                    if rows[0].mappings:
                        raise UnsupportedRow("it has ip_port_mappings but no health check")
                else:
                    for backend, (port, source) in rows[0].mappings.items():
                        if mapped.get(backend, port) != port:
                            raise UnsupportedRow(
                                f"its mapping of {backend} to port {port} contradicts another row's ({mapped[backend]})"
                            )
                        if sources.get(backend.version, source) != source:
                            raise UnsupportedRow(
                                f"its probe source {source} is not the network's ({sources[backend.version]})"
                            )
                    for backend, (port, source) in rows[0].mappings.items():
                        mapped[backend] = port
                        sources[backend.version] = source
                        if backend not in ports.setdefault(port, []):
                            ports[port].append(backend)
                load_balancers.append(lb)
            except UnsupportedRow as exc:
                del units[line]
                for row in net.rows.pop(address, []):
                    left.append(LeftOut("Load_Balancer", row.db.name, row.db.uuid, str(exc)))
                if (nat := net.nats.pop(address, None)) is not None:
                    left.append(LeftOut("NAT", f"dnat {nat.external_ip} on {place.router}", nat.uuid, str(exc)))
        if not (load_balancers or forwards):
            continue
        switch_ports = tuple(
            SwitchPort(name, tuple(sorted(addresses, key=lambda a: (a.version, a))), span=base.span)
            for name, addresses in ports.items()
        )
        probe = ProbeSource(
            _probe_choice(base, 4, sources.get(4), "last"),
            _probe_choice(base, 6, sources.get(6), "eui64"),
        )
        networks.append(
            replace(
                base,
                switch_ports=switch_ports,
                probe_source=probe,
                load_balancers=tuple(load_balancers),
                forwards=tuple(forwards),
            )
        )
    return Document(tuple(networks), _target(state, networks)), units


def _target(state: NorthboundState, networks: Sequence[Network]) -> Target | None:
    """23.03.1 when a row has ct_flush and the database is a 23.03 (or unknown) one:
    the rows are there, so the site runs a release that has it, and a schema
    cannot tell 23.03.1 from 23.03. Otherwise nothing: the database's schema says it."""
    release = release_of_schema(state.schema_version) if state.schema_version else None
    backport = FEATURES["ct_flush"].backport
    assert backport is not None
    used = any(lb.options.ct_flush for network in networks for lb in network.load_balancers) or any(
        fwd.options.ct_flush for network in networks for fwd in network.forwards
    )
    if used and (release is None or release.series == backport.series):
        return Target(backport, "the imported rows: ct_flush on an OVN 23.03 database")
    return None


def _probe_choice(network: Network, version: int, source: IPAddress | None, default: str) -> ProbeChoice:
    subnet = network.subnet(version)
    if source is None or subnet is None:
        return default
    if version == 4 and source == last_usable_address(subnet):
        return "last"
    if version == 6:
        if network.router_mac is not None and source == eui64_address(subnet, network.router_mac):
            return "eui64"
        if source == last_usable_address(subnet):
            return "last"
    if source == subnet.ip:
        return "router"
    return source


def _verify(
    state: NorthboundState, document: Document, units: Mapping[int, tuple[_Net, IPAddress, int]]
) -> tuple[dict[int, str], set[str]] | None:
    """None when the document, checked and planned against ``state`` with
    --adopt, changes nothing but marks; else each failing unit's reason, and
    the networks a plan would remove owned rows of."""
    deferred = tuple(check for check in CHECKS if check not in DATABASE_CHECKS)
    diagnostics = list(run_checks(document, deferred))
    problems: dict[int, str] = {}
    owned: set[str] = set()
    if not any(d.is_error for d in diagnostics):
        checked = CheckedInput(document, (), SourceRegistry(), True)
        compilation, found = compile_against(checked, state)
        diagnostics += found
        if not any(d.is_error for d in found):
            plan, planned = make_plan(compilation.document, compilation.changes, state, adopt=True)
            diagnostics += planned
            _plan_problems(plan, {u: (n, a) for u, (n, a, _) in units.items()}, problems, owned)
    files = {unit: f"<database network {index}>" for unit, (_, _, index) in units.items()}
    for diagnostic in diagnostics:
        if diagnostic.is_error:
            _blame(diagnostic, {u: (n, a) for u, (n, a, _) in units.items()}, files, problems)
    return (problems, owned) if problems or owned else None


def _blame(
    diagnostic: Diagnostic, units: Mapping[int, tuple[_Net, IPAddress]], files: Mapping[int, str], into: dict[int, str]
) -> None:
    """The unit (a load balancer or forward) a finding is about; a network's finding: all of its units."""
    step = "plan" if diagnostic.code.startswith("E4") else "check"
    reason = f"the file would not {step}: {diagnostic.code} {diagnostic.message}"
    span = diagnostic.span
    if span.line in units and files.get(span.line) == span.file:
        into.setdefault(span.line, reason)
        return
    blamed = [unit for unit, file in files.items() if file == span.file]
    if not blamed:
        raise RuntimeError(f"import: a finding about no row: {diagnostic.code} {diagnostic.message}")
    for unit in blamed:
        into.setdefault(unit, reason)


def _only_marks(diff: MapDiff) -> bool:
    keys = [key for key, _ in diff.added] + [key for key, _, _ in diff.changed] + [key for key, _ in diff.removed]
    return all(key in _MARKS for key in keys) and not diff.removed


def _plan_problems(
    plan: Plan, units: Mapping[int, tuple[_Net, IPAddress]], problems: dict[int, str], owned: set[str]
) -> None:
    line_of: dict[str, int] = {}
    renamed: dict[str, str] = {}  # the name the import gave a nameless row -> its _uuid
    for line, (net, address) in units.items():
        for row in net.rows.get(address, []):
            line_of[row.name] = line
            if not row.db.name:
                renamed[row.name] = row.db.uuid
        if (held := net.nats.get(address)) is not None:
            line_of[held.uuid] = line
    for change in plan.changes:
        if change.wanted is None:
            owned.add(change.network)
            continue
        row_line = line_of.get(change.name)
        what = []
        if change.existing is None:
            what.append("a new row")
        elif change.rename is not None or change.name in renamed:
            # Only the nameless row the import named is renamed, and to that name.
            if change.rename != ("", change.name) or renamed.get(change.name) != change.existing.uuid:
                what.append("name")
        if change.protocol:
            what.append("protocol")
        for column in ("vips", "ip_port_mappings", "options"):
            if getattr(change, column):
                what.append(column)
        if not _only_marks(change.external_ids):
            what.append("external_ids")
        if change.selection_fields:
            what.append("selection_fields")
        if any(c.action != "change" or c.options or not _only_marks(c.external_ids) for c in change.health_checks):
            what.append("health checks")
        if change.attach or change.detach:
            what.append("attachments")
        if what and row_line is not None:
            problems.setdefault(row_line, f"applying the file would change its {', '.join(what)}")
    for group in plan.groups:
        for name, _ in (*group.add_members, *group.remove_members):
            if (member := line_of.get(name)) is not None:
                problems.setdefault(member, f"applying the file would change group {group.name}'s members")
        if group.action == "add" or group.attach:
            for line, (net, _) in units.items():
                if net.place.group == group.name:
                    problems.setdefault(line, f"applying the file would change group {group.name}")
    for change_nat in plan.nats:
        if change_nat.wanted is None:
            owned.add(change_nat.network)
            continue
        if (
            change_nat.existing is None
            or change_nat.logical_ip
            or change_nat.options
            or not _only_marks(change_nat.external_ids)
        ):
            key = change_nat.existing.uuid if change_nat.existing is not None else ""
            nat_line = line_of.get(key) or next(
                (
                    ln
                    for ln, (net, a) in units.items()
                    if net.place.router == change_nat.router and str(a) == change_nat.external_ip
                ),
                None,
            )
            if nat_line is not None:
                problems.setdefault(nat_line, "applying the file would change its NAT row")
