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
out is a LeftOut, never dropped in silence, with a code of compiler/codes.py's
IMPORT_CODES that says which kind of reason it is (the reason's words may
change; the code not).

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from netaddr import IPAddress

from ..addresses import eui64_address, last_usable_address
from ..checks import CHECKS, DATABASE_CHECKS, check_ovn_version, run_checks
from ..compilation import CheckedInput, compile_against
from ..diagnostics import Diagnostic, SourceRegistry, Span
from ..facts import switch_port_owners
from ..ir import (
    PROTOCOLS,
    Document,
    Forward,
    LoadBalancer,
    Network,
    ProbeChoice,
    ProbeSource,
    SwitchPort,
    Target,
)
from ..lower import NAT_OPTIONS
from ..ovn_versions import FEATURES, OLDEST_SUPPORTED, SCHEMA_RELEASES, release_of_schema
from ..ovsdb.state import DbDatapath, DbLoadBalancer, DbNat, NorthboundState
from ..plan import MapDiff, Plan, make_plan
from .database_model import _forward, _load_balancer, _Names, _Pools
from .database_rows import (
    _MARKS,
    UnsupportedRow,
    _address,
    _Place,
    _read_row,
    _Row,
    _Topology,
    name_nameless,
)

_ROUNDS = 8  # leave-out rounds before giving up (each leaves at least one load balancer out)


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A row the file does not describe, and why: ``code`` (IMPORT_CODES of
    compiler/codes.py) is what scripts match on, ``reason`` what people read."""

    table: str  # Load_Balancer | NAT
    name: str
    uuid: str
    code: str
    reason: str

    def line(self) -> str:
        what = f"row {self.name!r}" if self.name else "nameless row"
        if self.table != "Load_Balancer":
            what = f"{self.table} row {self.name}"
        return f"warning[{self.code}]: {what} (_uuid {self.uuid}): left out: {self.reason}"


@dataclass(frozen=True, slots=True)
class DatabaseImport:
    document: Document
    left_out: tuple[LeftOut, ...]
    rows: int  # Load_Balancer rows described by the document
    nats: int  # NAT rows described
    # (_uuid, name) of each nameless row described: the name the file gives it,
    # which ``apply --adopt`` writes into the row.
    named: tuple[tuple[str, str], ...] = ()


# -- NAT rows ---------------------------------------------------------------------------


def _nat_problem(nat: DbNat) -> str | None:
    try:
        logical = _address(nat.logical_ip, "I019")
    except UnsupportedRow as exc:  # a string column: anything may be in it
        return f"logical_ip {exc.reason}"
    if str(logical) != nat.logical_ip:
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
                raise UnsupportedRow("I003", f"{len(by_name[db.name])} rows have this name; OVN finds rows by name")
            row = _read_row(db, state)
            place = topology.place(db, row.address)
        except UnsupportedRow as exc:
            left.append(LeftOut("Load_Balancer", db.name, db.uuid, exc.code, exc.reason))
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
            external = _address(nat.external_ip, "I019")
        except UnsupportedRow:
            continue
        homes = [net for net in networks.values() if net.place.router == router]
        home = next((net for net in homes if external in net.rows), None)
        if home is None and patterns:
            continue  # --match names Load_Balancer rows; a NAT row alone has no name
        what = f"dnat {nat.external_ip} on {router}"
        if home is None:
            if not homes:
                left.append(LeftOut("NAT", what, uuid, "I019", "no imported network has its router"))
                continue
            home = homes[0]
        problem = _nat_problem(nat) or (
            None if str(external) == nat.external_ip else "its external_ip is not written canonically"
        )
        if problem is not None:
            left.append(LeftOut("NAT", what, uuid, "I019", problem))
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
    left.extend(LeftOut("Load_Balancer", db.name, db.uuid, problem.code, problem.reason) for db, problem in refused)
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
        for unit, (code, reason) in by_unit.items():
            net, address, _ = units[unit]
            for row in net.rows.pop(address, []):
                left.append(LeftOut("Load_Balancer", row.db.name, row.db.uuid, code, reason))
            nat = net.nats.pop(address, None)
            if nat is not None:
                left.append(LeftOut("NAT", f"dnat {nat.external_ip} on {net.place.router}", nat.uuid, code, reason))
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
        pools = _Pools()
        instances: set[str] = set()  # switch ports that are pool instances (named after them)
        gateways = {network.version: network.ip for network in (place.ipv4, place.ipv6) if network is not None}
        for address in sorted(set(net.rows) | set(net.nats), key=lambda a: (a.version, a)):
            line = len(units) + 1
            units[line] = (net, address, index)
            span = Span(file, line, 1)
            rows = sorted(net.rows.get(address, []), key=lambda r: PROTOCOLS.index(r.protocol))
            nat = net.nats.get(address)
            try:
                kinds = {row.kind for row in rows} - {None}
                if len(kinds) > 1:
                    raise UnsupportedRow("I016", "its rows are marked as a load balancer and as a forward")
                forward = nat is not None or kinds == {"forward"}
                if forward:
                    forwards.append(_forward(rows, nat, span))
                    continue
                built = _load_balancer(rows, _Names(owners), pools, gateways, span)
                every = {**built.pooled, **{backend: port for backend, (port, _) in built.probed.items()}}
                for backend, port in every.items():
                    if mapped.get(backend, port) != port:
                        raise UnsupportedRow(
                            "I014",
                            f"its mapping of {backend} to port {port} contradicts another row's ({mapped[backend]})",
                        )
                # The network's probe source is its load balancers' own; pools probe from the router.
                for backend, (_, source) in built.probed.items():
                    if sources.get(backend.version, source) != source:
                        raise UnsupportedRow(
                            "I014", f"its probe source {source} is not the network's ({sources[backend.version]})"
                        )
                for backend, port in every.items():
                    mapped[backend] = port
                    if backend not in ports.setdefault(port, []):
                        ports[port].append(backend)
                for backend, (_, source) in built.probed.items():
                    sources[backend.version] = source
                pools.add(built.pools)
                instances.update(instance.name for pool in built.pools.values() for instance in pool.instances)
                load_balancers.append(built.lb)
            except UnsupportedRow as exc:
                del units[line]
                for row in net.rows.pop(address, []):
                    left.append(LeftOut("Load_Balancer", row.db.name, row.db.uuid, exc.code, exc.reason))
                if (nat := net.nats.pop(address, None)) is not None:
                    what = f"dnat {nat.external_ip} on {place.router}"
                    left.append(LeftOut("NAT", what, nat.uuid, exc.code, exc.reason))
        if not (load_balancers or forwards):
            continue
        switch_ports = tuple(
            SwitchPort(
                name,
                tuple(sorted(addresses, key=lambda a: (a.version, a))),
                name if name in instances else None,
                span=base.span,
            )
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
                pools=pools.pools(),
            )
        )
    return Document(tuple(networks), _target(state, networks)), units


def _target(state: NorthboundState, networks: Sequence[Network]) -> Target | None:
    """The oldest release that has every feature the rows use, when that is
    newer than the default (23.03): the rows are there, so the site runs a
    release that has them. The file is read back (and later checked by `check`)
    without the database, so it must say so itself, or a router probe source,
    an LXD pool's health check or use_stateless_nat would not compile alone.
    The oldest one, not the database's own, so that a live database and its
    dump (which says no schema version) give the same file; and ct_flush
    needs only 23.03.1, which no schema can tell from 23.03. Nothing when no
    release up to the database's has them all: then the checks refuse the rows."""
    document = Document(tuple(networks))
    if not any(d.code == "E319" for d in check_ovn_version(document)):
        return None
    release = release_of_schema(state.schema_version) if state.schema_version else None
    candidates = {version for feature in FEATURES.values() for version in (feature.since, feature.backport) if version}
    candidates.update(version for _, version in SCHEMA_RELEASES)
    for version in sorted(candidates):
        # A schema says a series, not its patch release (23.03.1 has 23.03's schema).
        if version <= OLDEST_SUPPORTED or (release is not None and version.series > release.series):
            continue
        target = Target(version, f"the imported rows: they use features of OVN {version}")
        if not any(d.code == "E319" for d in check_ovn_version(replace(document, declared_target=target))):
            return target
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
) -> tuple[dict[int, tuple[str, str]], set[str]] | None:
    """None when the document, checked and planned against ``state`` with
    --adopt, changes nothing but marks; else each failing unit's reason, and
    the networks a plan would remove owned rows of."""
    deferred = tuple(check for check in CHECKS if check not in DATABASE_CHECKS)
    diagnostics = list(run_checks(document, deferred))
    problems: dict[int, tuple[str, str]] = {}
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
    diagnostic: Diagnostic,
    units: Mapping[int, tuple[_Net, IPAddress]],
    files: Mapping[int, str],
    into: dict[int, tuple[str, str]],
) -> None:
    """The unit (a load balancer or forward) a finding is about; a network's finding: all of its units."""
    step = "plan" if diagnostic.code.startswith("E4") else "check"
    reason = ("I020", f"the file would not {step}: {diagnostic.code} {diagnostic.message}")
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
    plan: Plan, units: Mapping[int, tuple[_Net, IPAddress]], problems: dict[int, tuple[str, str]], owned: set[str]
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
            problems.setdefault(row_line, ("I021", f"applying the file would change its {', '.join(what)}"))
    for group in plan.groups:
        for name, _ in (*group.add_members, *group.remove_members):
            if (member := line_of.get(name)) is not None:
                problems.setdefault(member, ("I021", f"applying the file would change group {group.name}'s members"))
        if group.action == "add" or group.attach:
            for line, (net, _) in units.items():
                if net.place.group == group.name:
                    problems.setdefault(line, ("I021", f"applying the file would change group {group.name}"))
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
                problems.setdefault(nat_line, ("I021", "applying the file would change its NAT row"))
