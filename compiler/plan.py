"""Planning: the rows the file describes against the rows the database holds.

The result is a Plan: per load balancer, add (+), change (~) or remove (-),
and for a change only what differs: the ``vips``, ``ip_port_mappings`` and
``external_ids`` keys added, changed or removed, the health checks to add,
change or drop, and the datapaths to attach to. The emitters turn it into
text for people (emit/plan_text.py) or a guarded transaction (emit/ovsdb.py).

Ownership: ovn-lbc marks every row it makes with ``ovn-lbc:network``. It
changes and deletes only rows with its mark for a network of the file, takes
over a same-named row without the mark only under ``--adopt``, and leaves
every other row alone. Of ``external_ids`` it manages only the ``ovn-lbc:``
keys: other tools' keys on an owned row are kept.

Of ``options`` it manages the keys it knows (ir.OPTION_KEYS): another
tool's option on an owned row is kept; ``selection_fields`` is all its own.

Groups: a network with ``lb_group`` puts its rows in that Load_Balancer_Group
(created when missing; its name is unique in OVN) and attaches the group to
its datapaths. Members that are not ovn-lbc's are never removed. A row that
reaches a datapath through its group is detached from it. Groups the file
does not name are left alone, like hand-made attachments: a network that
drops ``lb_group`` gets direct attachments, and its rows stay in the old
group until it is deleted by hand. ``destroy`` deletes a group only when no
member is left and no datapath outside the files' networks uses it.

Decisions an operator may want to know:
- An owned row attached to a datapath the file does not name (attached by
  hand, say, to make the VIP reachable from another switch) stays attached;
  so does one whose datapath was dropped from ``attach_switches``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace

from netaddr import AddrFormatError, IPAddress

from . import Compilation
from .checks import check_ovn_version
from .diagnostics import CompileError, Diagnostic, Span, error
from .ir import OPTION_KEYS, Document, Network, SwitchPort, Target
from .lower import OWNER_KEY, USER_KEY_PREFIX, GroupRow, HealthCheckRow, LoadBalancerRow, NorthboundChanges, lower
from .ovn_versions import effective_target, release_of_schema
from .ovsdb.state import DbDatapath, DbGroup, DbHealthCheck, DbLoadBalancer, NorthboundState

DATAPATH_TABLES = ("Logical_Router", "Logical_Switch")
# The option keys ovn-lbc writes; other keys in an owned row's options are kept.
MANAGED_OPTIONS = frozenset(OPTION_KEYS) - {"selection_fields"}


@dataclass(frozen=True, slots=True)
class MapDiff:
    """What turns one OVSDB map into another, key by key."""

    added: tuple[tuple[str, str], ...] = ()
    changed: tuple[tuple[str, str, str], ...] = ()  # key, before, after
    removed: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    @property
    def keys_to_delete(self) -> list[str]:
        return [key for key, _, _ in self.changed] + [key for key, _ in self.removed]

    @property
    def pairs_to_insert(self) -> list[tuple[str, str]]:
        return [(key, after) for key, _, after in self.changed] + list(self.added)


NO_CHANGE = MapDiff()


def diff_map(before: Mapping[str, str], after: Mapping[str, str], *, managed_prefix: str = "") -> MapDiff:
    """Key-by-key difference; with ``managed_prefix`` other keys of ``before`` are left as they are."""
    if before == after:  # the common case on a re-apply: nothing to compare key by key
        return NO_CHANGE
    added = tuple((key, value) for key, value in sorted(after.items()) if key not in before)
    changed = tuple(
        (key, before[key], value) for key, value in sorted(after.items()) if key in before and before[key] != value
    )
    removed = tuple(
        (key, value) for key, value in sorted(before.items()) if key not in after and key.startswith(managed_prefix)
    )
    return MapDiff(added, changed, removed)


@dataclass(frozen=True, slots=True)
class HealthCheckChange:
    """One Load_Balancer_Health_Check: add (``existing`` None), change, or remove (``wanted`` None)."""

    vip: str
    wanted: HealthCheckRow | None
    existing: DbHealthCheck | None
    options: MapDiff = MapDiff()
    external_ids: MapDiff = MapDiff()

    @property
    def action(self) -> str:
        return "add" if self.existing is None else "remove" if self.wanted is None else "change"


@dataclass(frozen=True, slots=True)
class Datapath:
    table: str
    name: str
    uuid: str  # "" when the row is not in the database (offline compile)


@dataclass(frozen=True, slots=True)
class RowChange:
    """One Load_Balancer row to add, change or remove, with only what differs."""

    name: str
    network: str
    wanted: LoadBalancerRow | None  # None: remove
    existing: DbLoadBalancer | None  # None: add
    protocol: tuple[str | None, str] | None = None  # before, after
    vips: MapDiff = MapDiff()
    ip_port_mappings: MapDiff = MapDiff()
    external_ids: MapDiff = MapDiff()
    options: MapDiff = MapDiff()
    selection_fields: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # before, after
    health_checks: tuple[HealthCheckChange, ...] = ()
    attach: tuple[Datapath, ...] = ()
    # Datapaths the row's group reaches: a direct attachment there only duplicates it.
    detach: tuple[Datapath, ...] = ()
    adopted_from: str | None = None  # whose row this was, when --adopt took it over

    @property
    def action(self) -> str:
        return "add" if self.existing is None else "remove" if self.wanted is None else "change"

    @property
    def touches_row(self) -> bool:
        """Whether the Load_Balancer row itself is written (not only attached)."""
        return (
            bool(
                self.protocol
                or self.vips
                or self.ip_port_mappings
                or self.external_ids
                or self.options
                or self.selection_fields
                or self.health_checks
            )
            or self.action != "change"
        )


@dataclass(frozen=True, slots=True)
class GroupChange:
    """One Load_Balancer_Group to create, change or delete."""

    name: str
    action: str  # add | change | remove
    wanted: GroupRow | None
    existing: DbGroup | None
    # (row name, its _uuid or None when the plan adds the row) to put in the group.
    add_members: tuple[tuple[str, str | None], ...] = ()
    remove_members: tuple[tuple[str, str], ...] = ()  # (row name, _uuid)
    attach: tuple[Datapath, ...] = ()
    detach: tuple[Datapath, ...] = ()  # only when the group is deleted


@dataclass(frozen=True, slots=True)
class FoundPort:
    """A backend's Logical_Switch_Port found in the database, not in the file."""

    network: str
    switch: str
    backend: str
    address: str
    port: str


@dataclass(frozen=True, slots=True)
class Plan:
    networks: tuple[Network, ...]
    changes: tuple[RowChange, ...]
    found_ports: tuple[FoundPort, ...] = ()
    unchanged: int = 0
    destroy: bool = False
    groups: tuple[GroupChange, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.changes or self.groups)

    def count(self, action: str) -> int:
        rows = sum(1 for change in self.changes if change.action == action)
        return rows + sum(1 for group in self.groups if group.action == action)

    def summary(self) -> str:
        if not self:
            return "No changes."
        return f"Plan: {self.count('add')} to add, {self.count('change')} to change, {self.count('remove')} to remove."


# -- switch ports from the database ---------------------------------------------


def _port_addresses(entries: Iterable[str]) -> set[IPAddress]:
    """The IP addresses in Logical_Switch_Port ``addresses`` entries ("MAC IP...", "router", ...)."""
    found: set[IPAddress] = set()
    for entry in entries:
        for word in entry.split()[1:]:
            try:
                found.add(IPAddress(word.split("/")[0]))
            except (AddrFormatError, ValueError):
                continue
    return found


def _datapaths_by_name(state: NorthboundState) -> dict[tuple[str, str], list[DbDatapath]]:
    by_name: dict[tuple[str, str], list[DbDatapath]] = {}
    for datapath in state.datapaths:
        by_name.setdefault((datapath.table, datapath.name), []).append(datapath)
    return by_name


def discover_switch_ports(
    document: Document, state: NorthboundState
) -> tuple[Document, tuple[FoundPort, ...], list[Diagnostic]]:
    """Give each health-checked backend without a switch port in the file the
    Logical_Switch_Port of its network's switch that has its address."""
    switches = _datapaths_by_name(state)
    networks: list[Network] = []
    found: list[FoundPort] = []
    diagnostics: list[Diagnostic] = []
    for network in document.networks:
        known = {address for port in network.switch_ports for address in port.addresses}
        missing = [
            backend
            for lb in network.load_balancers
            if lb.health_check is not None
            for backend in lb.backends
            if backend.target_address not in known
        ]
        if not missing:
            networks.append(network)
            continue
        owners: dict[IPAddress, list[str]] = {}
        for switch in switches.get(("Logical_Switch", network.switch), []):
            for uuid in switch.ports:
                port = state.switch_ports.get(uuid)
                if port is not None:
                    for address in _port_addresses(port.addresses):
                        owners.setdefault(address, []).append(port.name)
        added: dict[str, list[IPAddress]] = {}
        for backend in missing:
            names = sorted(set(owners.get(backend.target_address, [])))
            span = backend.at("target_address")
            if not names:
                diagnostics.append(
                    error(
                        span,
                        "E312",
                        f'backend "{backend.name}" ({backend.target_address}) has no switch port: health checks '
                        f"need one, and no Logical_Switch_Port of switch {network.switch} has this address",
                        f"add the port to network {network.name}'s switch_ports, or give the port this address",
                    )
                )
            elif len(names) > 1:
                diagnostics.append(
                    error(
                        span,
                        "E316",
                        f"address {backend.target_address} is on several Logical_Switch_Ports of switch "
                        f"{network.switch} ({', '.join(names)}): a health check could not tell which to probe",
                        f"name the port in network {network.name}'s switch_ports",
                    )
                )
            else:
                if backend.target_address not in added.setdefault(names[0], []):
                    added[names[0]].append(backend.target_address)
                found.append(
                    FoundPort(network.name, network.switch, backend.name, str(backend.target_address), names[0])
                )
        extra = tuple(SwitchPort(name, tuple(addresses)) for name, addresses in sorted(added.items()))
        networks.append(replace(network, switch_ports=network.switch_ports + extra))
    return replace(document, networks=tuple(networks)), tuple(found), diagnostics


# -- the plan ---------------------------------------------------------------------------


def _owner(row: DbLoadBalancer) -> str | None:
    return row.external_ids.get(OWNER_KEY)


def _owner_words(row: DbLoadBalancer) -> str:
    owner = _owner(row)
    return "not made by ovn-lbc" if owner is None else f"owned by ovn-lbc network {owner!r}"


def _health_check_changes(
    wanted: tuple[HealthCheckRow, ...], existing: list[DbHealthCheck]
) -> tuple[HealthCheckChange, ...]:
    changes: list[HealthCheckChange] = []
    by_vip: dict[str, DbHealthCheck] = {}
    for present in sorted(existing, key=lambda c: c.uuid):
        if present.vip in by_vip:  # a second check on one VIP: keep one
            changes.append(HealthCheckChange(present.vip, None, present))
        else:
            by_vip[present.vip] = present
    for check in wanted:
        old = by_vip.pop(check.vip, None)
        if old is None:
            changes.append(HealthCheckChange(check.vip, check, None))
            continue
        options = diff_map(old.options, dict(check.options))
        ids = diff_map(old.external_ids, dict(check.external_ids), managed_prefix=USER_KEY_PREFIX)
        if options or ids:
            changes.append(HealthCheckChange(check.vip, check, old, options, ids))
    changes.extend(HealthCheckChange(vip, None, old) for vip, old in sorted(by_vip.items()))
    return tuple(changes)


def _named_datapaths(network: Network) -> Iterator[tuple[str, str, Span]]:
    """Every datapath a network names, with where it names it."""
    yield "Logical_Router", network.router, network.at("router")
    for index, name in enumerate(network.attach_routers):
        yield "Logical_Router", name, network.at(f"attach_routers[{index}]")
    yield "Logical_Switch", network.switch, network.at("switch")
    for index, name in enumerate(network.attach_switches):
        yield "Logical_Switch", name, network.at(f"attach_switches[{index}]")


def _datapath_errors(document: Document, by_name: Mapping[tuple[str, str], list[DbDatapath]]) -> Iterable[Diagnostic]:
    for network in document.networks:
        if not (network.load_balancers or network.forwards):
            continue
        for table, name, span in _named_datapaths(network):
            found = by_name.get((table, name), [])
            if len(found) != 1:
                problem = "no" if not found else f"{len(found)}"
                yield error(
                    span,
                    "E400",
                    f"the database has {problem} {table} row{'s' if len(found) > 1 else ''} named {name!r}",
                    "the load balancers attach to it by name: it must exist exactly once"
                    if found
                    else "create it first (or fix the name); ovn-lbc does not create routers or switches",
                )


def make_plan(
    document: Document,
    changes: NorthboundChanges,
    state: NorthboundState,
    *,
    adopt: bool = False,
    destroy: bool = False,
    found_ports: tuple[FoundPort, ...] = (),
) -> tuple[Plan, list[Diagnostic]]:
    """What to do to ``state`` so it holds ``changes`` (or, with ``destroy``, none of its networks' rows)."""
    diagnostics: list[Diagnostic] = []
    datapaths = _datapaths_by_name(state)
    wanted_rows = () if destroy else changes.rows
    if not destroy:
        diagnostics.extend(_datapath_errors(document, datapaths))
    by_name: dict[str, list[DbLoadBalancer]] = {}
    for row in state.load_balancers:
        by_name.setdefault(row.name, []).append(row)
    claimed: set[str] = set()
    row_changes: list[RowChange] = []
    unchanged = 0
    # Each wanted row's _uuid, or None when the plan adds it (for group membership).
    resolved: dict[str, str | None] = {}
    group_datapaths = {group.name: group.datapaths for group in changes.groups}
    for wanted in wanted_rows:
        candidates = by_name.get(wanted.name, [])
        owned = [row for row in candidates if _owner(row) == wanted.network]
        foreign = [row for row in candidates if _owner(row) != wanted.network]
        target: DbLoadBalancer | None = None
        adopted_from = None
        if foreign and (not adopt or len(candidates) > 1):
            diagnostics.append(_collision(wanted, foreign, candidates, adopt))
            continue
        if foreign:
            target = foreign[0]
            adopted_from = _owner_words(target)
        elif owned:
            target = owned[0]  # sorted by UUID; any other owned row of this name is removed below
        if target is not None:
            claimed.add(target.uuid)
        resolved[wanted.name] = target.uuid if target is not None else None
        reached = group_datapaths.get(wanted.group, ()) if wanted.group is not None else ()
        change = _row_change(wanted, target, state, datapaths, reached, adopted_from)
        if change is None:
            unchanged += 1
        else:
            row_changes.append(change)
    networks = {network.name for network in document.networks}
    removals = [
        RowChange(row.name, owner, None, row)
        for row in state.load_balancers
        if (owner := _owner(row)) in networks and row.uuid not in claimed
    ]
    order = {network.name: index for index, network in enumerate(document.networks)}
    removals.sort(
        key=lambda change: (order[change.network], change.name, change.existing.uuid if change.existing else "")
    )
    removed = {change.existing.uuid for change in removals if change.existing is not None}
    if destroy:
        groups = _destroyed_groups(document, changes, state, datapaths, removed)
    else:
        groups = _group_changes(changes, state, datapaths, resolved, networks, removed)
    plan = Plan(
        document.networks,
        _grouped(row_changes + removals, order),
        found_ports,
        unchanged,
        destroy,
        groups,
    )
    return plan, diagnostics


def _first(datapaths: Mapping[tuple[str, str], list[DbDatapath]], key: tuple[str, str]) -> DbDatapath | None:
    found = datapaths.get(key, [])
    return found[0] if found else None


def _group_changes(
    changes: NorthboundChanges,
    state: NorthboundState,
    datapaths: Mapping[tuple[str, str], list[DbDatapath]],
    resolved: Mapping[str, str | None],
    networks: set[str],
    removed: set[str],
) -> tuple[GroupChange, ...]:
    """Create or fill the file's groups, and attach them; an owned row in one
    of them that belongs elsewhere now leaves it. Groups the file does not
    name are not touched (like a hand-made attachment)."""
    by_name = {group.name: group for group in state.groups}
    wanted_group = {row.name: row.group for row in changes.rows}
    owned = {row.uuid: row.name for row in state.load_balancers if _owner(row) in networks}
    result: list[GroupChange] = []
    for group in changes.groups:
        existing = by_name.get(group.name)
        members = existing.load_balancer if existing is not None else frozenset()
        add = tuple(
            (row.name, resolved[row.name])
            for row in changes.members(group.name)
            if row.name in resolved and (resolved[row.name] is None or resolved[row.name] not in members)
        )
        leaving = tuple(
            sorted(
                (name, uuid)
                for uuid in members
                if uuid in owned and uuid not in removed and wanted_group.get(name := owned[uuid]) != group.name
            )
        )
        attach = []
        for key in group.datapaths:
            datapath = _first(datapaths, key)
            if datapath is not None and (existing is None or existing.uuid not in datapath.load_balancer_group):
                attach.append(Datapath(key[0], key[1], datapath.uuid))
        if existing is None or add or leaving or attach:
            action = "add" if existing is None else "change"
            result.append(GroupChange(group.name, action, group, existing, add, leaving, tuple(attach)))
    return tuple(result)


def _destroyed_groups(
    document: Document,
    changes: NorthboundChanges,
    state: NorthboundState,
    datapaths: Mapping[tuple[str, str], list[DbDatapath]],
    removed: set[str],
) -> tuple[GroupChange, ...]:
    """The files' groups that destroy leaves empty and only the files' datapaths use."""
    ours = {key for network in document.networks for key in network.datapaths()}
    result: list[GroupChange] = []
    for group in changes.groups:
        existing = next((g for g in state.groups if g.name == group.name), None)
        if existing is None or existing.load_balancer - removed:
            continue
        users = [d for d in state.datapaths if existing.uuid in d.load_balancer_group]
        if any((d.table, d.name) not in ours for d in users):
            continue
        detach = tuple(sorted((Datapath(d.table, d.name, d.uuid) for d in users), key=lambda d: (d.table, d.name)))
        result.append(GroupChange(group.name, "remove", None, existing, detach=detach))
    return tuple(result)


def _grouped(changes: list[RowChange], order: Mapping[str, int]) -> tuple[RowChange, ...]:
    """Network by network (file order); within one, the file's order, then removals."""
    return tuple(sorted(changes, key=lambda change: order[change.network]))  # sorted() is stable


def _collision(
    wanted: LoadBalancerRow, foreign: list[DbLoadBalancer], candidates: list[DbLoadBalancer], adopt: bool
) -> Diagnostic:
    if adopt:
        return error(
            wanted.source,
            "E401",
            f"{len(candidates)} Load_Balancer rows are named {wanted.name!r}: OVN finds rows by name, "
            "so --adopt will not pick one",
            "delete the extra rows first",
        )
    rows = "; ".join(f"{_owner_words(row)}, _uuid {row.uuid}" for row in foreign)
    return error(
        wanted.source,
        "E401",
        f"the database already has {'a Load_Balancer row' if len(foreign) == 1 else 'Load_Balancer rows'} "
        f"named {wanted.name!r} ({rows}); ovn-lbc changes only rows it owns",
        "pass --adopt to take the row over, or give the network another row_prefix",
    )


def _row_change(
    wanted: LoadBalancerRow,
    target: DbLoadBalancer | None,
    state: NorthboundState,
    datapaths: Mapping[tuple[str, str], list[DbDatapath]],
    reached_by_group: tuple[tuple[str, str], ...],
    adopted_from: str | None,
) -> RowChange | None:
    attach = []
    for key in wanted.datapaths:
        datapath = _first(datapaths, key)
        if datapath is not None and (target is None or target.uuid not in datapath.load_balancer):
            attach.append(Datapath(key[0], key[1], datapath.uuid))
    detach = []
    for key in reached_by_group:
        datapath = _first(datapaths, key)
        if datapath is not None and target is not None and target.uuid in datapath.load_balancer:
            detach.append(Datapath(key[0], key[1], datapath.uuid))
    if target is None:
        return RowChange(
            wanted.name,
            wanted.network,
            wanted,
            None,
            vips=diff_map({}, dict(wanted.vips)),
            ip_port_mappings=diff_map({}, dict(wanted.ip_port_mappings)),
            external_ids=diff_map({}, dict(wanted.external_ids)),
            options=diff_map({}, dict(wanted.options)),
            selection_fields=((), wanted.selection_fields) if wanted.selection_fields else None,
            health_checks=tuple(HealthCheckChange(check.vip, check, None) for check in wanted.health_checks),
            attach=tuple(attach),
        )
    existing_checks = [state.health_checks[uuid] for uuid in target.health_check if uuid in state.health_checks]
    change = RowChange(
        wanted.name,
        wanted.network,
        wanted,
        target,
        protocol=(target.protocol, wanted.protocol) if target.protocol != wanted.protocol else None,
        vips=diff_map(target.vips, dict(wanted.vips)),
        ip_port_mappings=diff_map(target.ip_port_mappings, dict(wanted.ip_port_mappings)),
        external_ids=diff_map(target.external_ids, dict(wanted.external_ids), managed_prefix=USER_KEY_PREFIX),
        options=diff_map(
            {key: value for key, value in target.options.items() if key in MANAGED_OPTIONS}, dict(wanted.options)
        ),
        selection_fields=(
            (target.selection_fields, wanted.selection_fields)
            if target.selection_fields != wanted.selection_fields
            else None
        ),
        health_checks=_health_check_changes(wanted.health_checks, existing_checks),
        attach=tuple(attach),
        detach=tuple(detach),
        adopted_from=adopted_from,
    )
    if not change.touches_row and not change.attach and not change.detach:
        return None
    return change


def database_target(document: Document, state: NorthboundState) -> Document:
    """The document, with the target the database's schema says when it says
    one that is older than (or when nobody declared) the file's target."""
    release = release_of_schema(state.schema_version) if state.schema_version else None
    if release is None:
        return document
    declared = document.declared_target
    version = effective_target(declared.version if declared else None, release)
    if declared is not None and version == declared.version:
        return document
    origin = f"the database: its NB schema {state.schema_version} is OVN {release}'s"
    return replace(document, declared_target=Target(version, origin))


def plan_compilation(
    compilation: Compilation, state: NorthboundState, *, adopt: bool = False, destroy: bool = False
) -> Plan:
    """The plan for a compiled file against ``state``; CompileError when the
    file and the database disagree (every such problem at once)."""
    document, changes = compilation.document, compilation.changes
    found: tuple[FoundPort, ...] = ()
    diagnostics: list[Diagnostic] = []
    if not destroy:
        diagnostics.extend(check_ovn_version(database_target(document, state)))
        document, found, problems = discover_switch_ports(document, state)
        diagnostics.extend(problems)
        if found:  # the found ports add ip_port_mappings: lower again
            changes = lower(document)
    plan, problems = make_plan(document, changes, state, adopt=adopt, destroy=destroy, found_ports=found)
    diagnostics.extend(problems)
    if diagnostics:
        raise CompileError(diagnostics, compilation.sources)
    return plan
