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

Nameless rows (``ovn-nbctl create load_balancer vips:...`` makes them):
under ``--adopt``, a wanted row whose name no row has takes over the one
nameless, unmarked row of its protocol and exactly its VIPs (the ``vips``
keys compared as OVN reads them), and renames it in place: same _uuid, so
its attachments and health checks stay. Two such rows for one wanted row,
or one for two, is E401: which to take is the operator's call. A row of
another name is never renamed: other tools find their rows by name.
Without ``--adopt`` a nameless row is foreign like any other.

Of ``options`` it manages the keys it knows (ir.OPTION_KEYS): another
tool's option on an owned row is kept; ``selection_fields`` is all its own.

Groups: a network with ``lb_group`` puts its rows in that Load_Balancer_Group
(created when missing; its name is unique in OVN) and attaches the group to
its datapaths. Members that are not ovn-lbc's are never removed. A row that
reaches a datapath through its group is detached from it. Groups the file
does not name are left alone, like hand-made attachments: a network that
drops ``lb_group`` gets direct attachments, and its rows stay in the old
group until it is deleted by hand. ``destroy`` deletes a group only when
ovn-lbc created it, no member is left and no datapath outside the files'
networks uses it.

Which groups ovn-lbc created: Load_Balancer_Group has no external_ids column
(NB schemas 23.03 to 26.03), so the mark cannot sit on the group. It sits in
NB_Global's external_ids instead: ``ovn-lbc:group:<name>`` = the group's
_uuid. ovn-lbc creates a group with a UUID of its own choosing (a name-based
UUID, lower.group_uuid: the same in the script, the JSON and every plan) and
writes the mark in the same transaction; ``destroy`` deletes the group and
the mark together. A group is ovn-lbc's only while the mark names its very
_uuid, so a group someone deleted and made again by hand under the same name
(a new _uuid) is theirs: used, never deleted; its stale mark stays until
ovn-lbc creates that group again. Limits: a group made by hand with
ovn-lbc's UUID for its name (``--id=<uuid>``) would pass for ovn-lbc's, and a
group ovn-lbc made before it kept marks is not marked, so it is never deleted.
Without an NB_Global row (no ovn-northd or ovn-nbctl has run yet) the plan
inserts one for the mark, as ovn-nbctl does.

Shared health checks: a Load_Balancer_Health_Check row that another row also
refers to (a foreign load balancer, say) is never modified: when ovn-lbc's
row needs it changed, the row gets a health check of its own (insert a new
one, repoint the row) and the shared one stays as it is for the other row.

NAT rows: a forward's default target is a dnat row on its network's router
(compiler/lower.py). NAT rows have no name: one is known, as Incus knows it,
by its router, its type and its external_ip (compared as addresses, so
``2001:DB8::1`` is ``2001:db8::1``). The same mark makes one ovn-lbc's; a
dnat row of that address on that router without it is a collision (E401,
``--adopt`` takes it over); an owned row no forward wants any more is taken
out of its router's ``nat`` (NAT is not a root table: OVSDB then deletes it).
Of its ``options`` only ``stateless`` is managed, of ``external_ids`` only
the ``ovn-lbc:`` keys.

Decisions an operator may want to know:
- An owned row attached to a datapath the file does not name (attached by
  hand, say, to make the VIP reachable from another switch) stays attached;
  so does one whose datapath was dropped from ``attach_switches``.

Why this module is long: it is the one diff of every table ovn-lbc writes
(load balancers and their health checks, groups, NAT rows) against the
database, and they share its ownership rules and its shapes (MapDiff,
Datapath); split by table, those would be read in several places.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from .diagnostics import Diagnostic, Span, error
from .facts import FoundPort
from .ir import OPTION_KEYS, Document, Network
from .lower import (
    OWNER_KEY,
    USER_KEY_PREFIX,
    GroupRow,
    HealthCheckRow,
    LoadBalancerRow,
    NatRow,
    NorthboundChanges,
    group_mark_key,
)
from .ovsdb.state import DbDatapath, DbGlobal, DbGroup, DbHealthCheck, DbLoadBalancer, DbNat, NorthboundState

DATAPATH_TABLES = ("Logical_Router", "Logical_Switch")
# The option keys ovn-lbc writes; other keys in an owned row's options are kept.
MANAGED_OPTIONS = frozenset(OPTION_KEYS) - {"selection_fields"}
# The NAT option ovn-lbc writes (lower.NAT_OPTIONS); another tool's keys are kept.
MANAGED_NAT_OPTIONS = frozenset({"stateless"})


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
    # before, after: a nameless row --adopt takes over gets the wanted row's name.
    rename: tuple[str, str] | None = None

    @property
    def action(self) -> str:
        return "add" if self.existing is None else "remove" if self.wanted is None else "change"

    @property
    def touches_row(self) -> bool:
        """Whether the Load_Balancer row itself is written (not only attached)."""
        return (
            bool(
                self.rename
                or self.protocol
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
    # Whether ovn-lbc made the existing group (its mark in NB_Global names it):
    # only such a group is ever deleted. A group the plan adds is ovn-lbc's.
    owned: bool = True
    # (_uuid, the ovn-lbc network that owns it) of each existing row in
    # add_members and remove_members: what the transaction's guard checks of a
    # member that the plan does not otherwise change (and so does not guard).
    member_owners: tuple[tuple[str, str], ...] = ()

    @property
    def mark(self) -> tuple[str, str] | None:
        """The NB_Global external_ids pair the plan writes (add) or deletes (remove)."""
        if self.action == "add" and self.wanted is not None:
            return self.wanted.mark_key, self.wanted.uuid
        if self.action == "remove" and self.existing is not None:
            return group_mark_key(self.name), self.existing.uuid
        return None


@dataclass(frozen=True, slots=True)
class NatChange:
    """One router NAT row (a forward's default target): add (``existing``
    None), change, or remove (``wanted`` None), with only what differs."""

    router: str
    external_ip: str
    network: str
    wanted: NatRow | None
    existing: DbNat | None
    # add: the router it goes in; remove: every router that holds it.
    routers: tuple[Datapath, ...] = ()
    # add: the _uuids of the rows of this type and external_ip elsewhere (on
    # other routers), as read: the add's guard expects exactly these.
    same_address: tuple[str, ...] = ()
    logical_ip: tuple[str, str] | None = None  # before, after
    options: MapDiff = MapDiff()
    external_ids: MapDiff = MapDiff()
    adopted_from: str | None = None

    @property
    def action(self) -> str:
        return "add" if self.existing is None else "remove" if self.wanted is None else "change"


@dataclass(frozen=True, slots=True)
class Plan:
    networks: tuple[Network, ...]
    changes: tuple[RowChange, ...]
    found_ports: tuple[FoundPort, ...] = ()
    unchanged: int = 0
    destroy: bool = False
    groups: tuple[GroupChange, ...] = ()
    # The NB_Global row the groups' marks go in; None when the database has none.
    nb_global: DbGlobal | None = None
    nats: tuple[NatChange, ...] = ()
    unchanged_nats: int = 0

    def __bool__(self) -> bool:
        return bool(self.changes or self.groups or self.nats)

    def count(self, action: str) -> int:
        rows = sum(1 for change in self.changes if change.action == action)
        rows += sum(1 for nat in self.nats if nat.action == action)
        return rows + sum(1 for group in self.groups if group.action == action)

    def summary(self) -> str:
        if not self:
            return "No changes."
        return f"Plan: {self.count('add')} to add, {self.count('change')} to change, {self.count('remove')} to remove."


# -- the plan ---------------------------------------------------------------------------


def _owner(row: DbLoadBalancer) -> str | None:
    return row.external_ids.get(OWNER_KEY)


def _owner_words(row: DbLoadBalancer) -> str:
    owner = _owner(row)
    return "not made by ovn-lbc" if owner is None else f"owned by ovn-lbc network {owner!r}"


def _health_check_changes(
    wanted: tuple[HealthCheckRow, ...], existing: list[DbHealthCheck], shared: frozenset[str] = frozenset()
) -> tuple[HealthCheckChange, ...]:
    """``shared``: the existing checks another row refers to too, which are never modified."""
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
        if (options or ids) and old.uuid in shared:
            # Changing it would change it for the other row as well: drop our
            # reference (the other row keeps the check alive) and add our own.
            changes.append(HealthCheckChange(check.vip, None, old))
            changes.append(HealthCheckChange(check.vip, check, None))
        elif options or ids:
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
    datapaths = state.datapaths_by_name()
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
    # How many rows refer to each health check: one referred to by two is shared.
    check_users: dict[str, int] = {}
    for row in state.load_balancers:
        for uuid in row.health_check:
            check_users[uuid] = check_users.get(uuid, 0) + 1
    shared_checks = frozenset(uuid for uuid, users in check_users.items() if users > 1)
    nameless, refused = _nameless_takeovers(wanted_rows, by_name, state) if adopt else ({}, {})
    for wanted in wanted_rows:
        candidates = by_name.get(wanted.name, [])
        owned = [row for row in candidates if _owner(row) == wanted.network]
        foreign = [row for row in candidates if _owner(row) != wanted.network]
        target: DbLoadBalancer | None = None
        adopted_from = None
        if foreign and (not adopt or len(candidates) > 1):
            diagnostics.append(_collision(wanted, foreign, candidates, adopt))
            continue
        if wanted.name in refused:
            diagnostics.append(refused[wanted.name])
            continue
        if wanted.name in nameless:  # no row has its name: it takes over a nameless one
            foreign = [nameless[wanted.name]]
        if foreign:
            target = foreign[0]
            adopted_from = _owner_words(target)
        elif owned:
            target = owned[0]  # sorted by UUID; any other owned row of this name is removed below
        if target is not None:
            claimed.add(target.uuid)
        resolved[wanted.name] = target.uuid if target is not None else None
        reached = group_datapaths.get(wanted.group, ()) if wanted.group is not None else ()
        change = _row_change(wanted, target, state, datapaths, reached, adopted_from, shared_checks)
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
    claimed_nats: set[str] = set()
    nats, unchanged_nats = _nat_changes(
        (() if destroy else changes.nats), state, datapaths, adopt, diagnostics, claimed_nats
    )
    nats += _nat_removals(state, networks, claimed_nats)
    plan = Plan(
        document.networks,
        _grouped(row_changes + removals, order),
        found_ports,
        unchanged,
        destroy,
        groups,
        state.nb_global,
        tuple(sorted(nats, key=lambda change: order[change.network])),  # sorted() is stable
        unchanged_nats,
    )
    return plan, diagnostics


# -- NAT rows ---------------------------------------------------------------------------


def _address(text: str) -> str:
    """An address as OVN reads it, to compare; the text itself when it is none."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def _nat_owner_words(row: DbNat) -> str:
    owner = row.external_ids.get(OWNER_KEY)
    return "not made by ovn-lbc" if owner is None else f"owned by ovn-lbc network {owner!r}"


def _nat_changes(
    wanted_rows: Iterable[NatRow],
    state: NorthboundState,
    datapaths: Mapping[tuple[str, str], list[DbDatapath]],
    adopt: bool,
    diagnostics: list[Diagnostic],
    claimed: set[str],
) -> tuple[list[NatChange], int]:
    """Each wanted dnat row against the rows of its router with its type and
    address (the rows taken go in ``claimed``); a missing router is E400's,
    reported already."""
    result: list[NatChange] = []
    unchanged = 0
    for wanted in wanted_rows:
        router = _first(datapaths, ("Logical_Router", wanted.router))
        if router is None:
            continue
        address = _address(wanted.external_ip)
        candidates = [  # sorted by _uuid: another owned row of the address is removed, unclaimed
            row
            for uuid in sorted(router.nat)
            if (row := state.nats.get(uuid)) is not None
            and row.type == wanted.type
            and _address(row.external_ip) == address
        ]
        foreign = [row for row in candidates if row.external_ids.get(OWNER_KEY) != wanted.network]
        if foreign and (not adopt or len(candidates) > 1):
            diagnostics.append(_nat_collision(wanted, foreign, candidates, adopt))
            continue
        here = Datapath("Logical_Router", router.name, router.uuid)
        if not candidates:
            result.append(_nat_add(wanted, here, state))
            continue
        claimed.add(candidates[0].uuid)
        change = _nat_change(wanted, candidates[0], here, _nat_owner_words(foreign[0]) if foreign else None)
        if change is None:
            unchanged += 1
        else:
            result.append(change)
    return result, unchanged


def _nat_add(wanted: NatRow, router: Datapath, state: NorthboundState) -> NatChange:
    # Rows of this type and external_ip elsewhere, for the guard that nobody makes another.
    elsewhere = (
        uuid for uuid, row in state.nats.items() if (row.type, row.external_ip) == (wanted.type, wanted.external_ip)
    )
    return NatChange(
        wanted.router,
        wanted.external_ip,
        wanted.network,
        wanted,
        None,
        (router,),
        tuple(sorted(elsewhere)),
        options=diff_map({}, dict(wanted.options)),
        external_ids=diff_map({}, dict(wanted.external_ids)),
    )


def _nat_change(wanted: NatRow, target: DbNat, router: Datapath, adopted_from: str | None) -> NatChange | None:
    """What differs, in the columns ovn-lbc manages; None when nothing does."""
    managed_options = {key: value for key, value in target.options.items() if key in MANAGED_NAT_OPTIONS}
    change = NatChange(
        wanted.router,
        wanted.external_ip,
        wanted.network,
        wanted,
        target,
        (router,),
        logical_ip=(target.logical_ip, wanted.logical_ip) if target.logical_ip != wanted.logical_ip else None,
        options=diff_map(managed_options, dict(wanted.options)),
        external_ids=diff_map(target.external_ids, dict(wanted.external_ids), managed_prefix=USER_KEY_PREFIX),
        adopted_from=adopted_from,
    )
    return change if change.logical_ip or change.options or change.external_ids else None


def _nat_removals(state: NorthboundState, networks: set[str], claimed: set[str]) -> list[NatChange]:
    """The NAT rows the files' networks own that no wanted row claimed (an
    owned row the plan changes or leaves as it is, is claimed too)."""
    holders: dict[str, list[DbDatapath]] = {}
    for datapath in state.datapaths:
        for uuid in datapath.nat:
            holders.setdefault(uuid, []).append(datapath)
    result = []
    for uuid, row in sorted(state.nats.items()):
        owner = row.external_ids.get(OWNER_KEY)
        if owner not in networks or uuid in claimed or uuid not in holders:
            continue
        held_by = sorted(holders[uuid], key=lambda d: (d.name, d.uuid))
        routers = tuple(Datapath(d.table, d.name, d.uuid) for d in held_by)
        result.append(NatChange(routers[0].name, row.external_ip, owner, None, row, routers))
    result.sort(key=lambda change: (change.router, _address(change.external_ip)))  # stable: then by _uuid
    return result


def _nat_collision(wanted: NatRow, foreign: list[DbNat], candidates: list[DbNat], adopt: bool) -> Diagnostic:
    where = f"for {wanted.external_ip} on router {wanted.router!r}"
    if adopt:
        return error(
            wanted.source,
            "E401",
            f"{len(candidates)} {wanted.type} NAT rows are {where}: OVN applies one of them, "
            "so --adopt will not pick one",
            "delete the extra rows first",
        )
    rows = "; ".join(f"{_nat_owner_words(row)}, _uuid {row.uuid}" for row in foreign)
    which = f"a {wanted.type} NAT row" if len(foreign) == 1 else f"{wanted.type} NAT rows"
    return error(
        wanted.source,
        "E401",
        f"the database already has {which} {where} ({rows}); ovn-lbc changes only rows it owns",
        "pass --adopt to take the row over, or remove it (ovn-nbctl lr-nat-del ROUTER dnat ADDRESS)",
    )


def owns_group(group: DbGroup, state: NorthboundState) -> bool:
    """Whether ovn-lbc made ``group``: NB_Global's mark for its name holds its _uuid."""
    marks = state.nb_global.external_ids if state.nb_global is not None else {}
    return marks.get(group_mark_key(group.name)) == group.uuid


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
    owner_of = {row.uuid: owner for row in state.load_balancers if (owner := _owner(row)) in networks}
    result: list[GroupChange] = []
    for group in changes.groups:
        existing = by_name.get(group.name)
        members = existing.load_balancer if existing is not None else frozenset()
        joining = [
            row
            for row in changes.members(group.name)
            if row.name in resolved and (resolved[row.name] is None or resolved[row.name] not in members)
        ]
        add = tuple((row.name, resolved[row.name]) for row in joining)
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
            ours = existing is None or owns_group(existing, state)
            # A joining row is the wanted row's (owned or adopted); a leaving one is its owner's.
            owners = tuple((uuid, row.network) for row in joining if (uuid := resolved[row.name]) is not None)
            owners += tuple((uuid, owner_of[uuid]) for _, uuid in leaving)
            result.append(
                GroupChange(
                    group.name, action, group, existing, add, leaving, tuple(attach), owned=ours, member_owners=owners
                )
            )
    return tuple(result)


def _destroyed_groups(
    document: Document,
    changes: NorthboundChanges,
    state: NorthboundState,
    datapaths: Mapping[tuple[str, str], list[DbDatapath]],
    removed: set[str],
) -> tuple[GroupChange, ...]:
    """The files' groups that ovn-lbc made, destroy leaves empty and only the
    files' datapaths use. A group made by hand is left in place, empty or not."""
    ours = {key for network in document.networks for key in network.datapaths()}
    result: list[GroupChange] = []
    for group in changes.groups:
        existing = next((g for g in state.groups if g.name == group.name), None)
        if existing is None or not owns_group(existing, state) or existing.load_balancer - removed:
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


def _vip_identity(key: str) -> tuple[str, int]:
    """A ``vips`` key as OVN reads it: the address canonical, the port a
    number (0, as OVN reads it, for none); text OVN cannot read stays itself."""
    if key.startswith("["):
        inside, _, rest = key[1:].partition("]")
        address, port = inside, rest.removeprefix(":")
    elif key.count(":") == 1:
        address, _, port = key.partition(":")
    else:
        address, port = key, ""
    if port and not (port.isascii() and port.isdigit()):
        return key, -1
    return _address(address), int(port) if port else 0


def _identity(protocol: str | None, vips: Iterable[str]) -> tuple[str, frozenset[tuple[str, int]]]:
    """What a nameless row is matched by: its protocol (empty is tcp, as OVN
    reads it) and the set of its VIPs."""
    return protocol or "tcp", frozenset(_vip_identity(key) for key in vips)


def _nameless_takeovers(
    wanted_rows: Iterable[LoadBalancerRow], by_name: Mapping[str, list[DbLoadBalancer]], state: NorthboundState
) -> tuple[dict[str, DbLoadBalancer], dict[str, Diagnostic]]:
    """For ``--adopt``: the nameless row each wanted row takes over (by the
    wanted row's name), when no row has that name and exactly one nameless,
    unmarked row has its protocol and VIPs, and no other wanted row has them
    too; and the E401 of each wanted row for which that is not clear."""
    free: dict[tuple[str, frozenset[tuple[str, int]]], list[DbLoadBalancer]] = {}
    for row in state.load_balancers:  # sorted by _uuid
        if row.name == "" and _owner(row) is None:
            free.setdefault(_identity(row.protocol, row.vips), []).append(row)
    if not free:
        return {}, {}
    matches: dict[str, tuple[LoadBalancerRow, list[DbLoadBalancer]]] = {}
    wanted_by: dict[str, list[LoadBalancerRow]] = {}  # nameless _uuid -> the wanted rows that match it
    for wanted in wanted_rows:
        if wanted.name in by_name:  # found by its name, as always
            continue
        rows = free.get(_identity(wanted.protocol, (key for key, _ in wanted.vips)), [])
        if rows:
            matches[wanted.name] = (wanted, rows)
            for row in rows:
                wanted_by.setdefault(row.uuid, []).append(wanted)
    taken: dict[str, DbLoadBalancer] = {}
    refused: dict[str, Diagnostic] = {}
    for name, (wanted, rows) in matches.items():
        others = [other.name for other in wanted_by[rows[0].uuid] if other.name != name]
        if len(rows) > 1:
            uuids = ", ".join(f"_uuid {row.uuid}" for row in rows)
            refused[name] = error(
                wanted.source,
                "E401",
                f"{len(rows)} nameless Load_Balancer rows ({uuids}) have the protocol and VIPs of {name!r}: "
                "--adopt renames one row, and the other would serve the same VIPs, so it will not pick one",
                f"delete the extra rows, or name the one to take over (ovn-nbctl set Load_Balancer UUID name={name})",
            )
        elif others:
            refused[name] = error(
                wanted.source,
                "E401",
                f"the nameless Load_Balancer row _uuid {rows[0].uuid} has the protocol and VIPs of {name!r} "
                f"and of {', '.join(repr(other) for other in others)}: --adopt will not pick which one it becomes",
                f"name it to say which (ovn-nbctl set Load_Balancer {rows[0].uuid} name=NAME)",
            )
        else:
            taken[name] = rows[0]
    return taken, refused


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
    shared_checks: frozenset[str] = frozenset(),
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
        health_checks=_health_check_changes(wanted.health_checks, existing_checks, shared_checks),
        attach=tuple(attach),
        detach=tuple(detach),
        adopted_from=adopted_from,
        # Found by name, a row has the wanted name; a nameless one --adopt took over gets it.
        rename=(target.name, wanted.name) if target.name != wanted.name else None,
    )
    if not change.touches_row and not change.attach and not change.detach:
        return None
    return change
