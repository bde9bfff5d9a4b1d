"""OVSDB JSON-RPC (RFC 7047): the ``params`` of one ``transact`` request.

The transaction makes the same rows as the shell script, for machines:
``ovsdb-client transact REMOTE "$(cat txn.json)"``. In order:

- a ``comment`` naming the sources (written into the database log);
- a ``wait`` per router and switch, so a missing datapath fails the whole
  transaction ("timed out") instead of leaving rows attached to nothing;
- per row: ``delete`` any row of that name (health checks go with it: they
  are not root rows). Offline the delete selects by name; ``apply`` first
  reads the table and deletes by ``_uuid``, which ovsdb-server looks up
  directly instead of scanning every row (the name has no index), guarded by
  a ``wait`` that fails if the rows it read changed in the meantime. Then
  ``insert`` the health checks and the row, which refers
  to them by ``named-uuid`` (unreferenced health checks would be collected);
- one ``mutate`` per router and switch inserting its rows. A server-side
  mutation, not a rewrite of the column: the deleted rows' weak references
  vanish on commit instead of being written back;
- a forward's default target (a NAT row, not a root row): a ``wait`` that no
  NAT row of its type has its address, its ``insert``, and its router's
  ``mutate`` takes it into ``nat`` with the load balancers. OVSDB has no
  "insert unless it exists" and a NAT row no name to delete it by, so sending
  the transaction again fails at that wait and changes nothing (as it does at
  a group's insert); ``plan``/``apply`` change the row in place;
- with groups: each ``insert`` gives the group ovn-lbc's UUID for its name,
  and one ``mutate`` of NB_Global writes the marks that say ovn-lbc made
  them (compiler/plan.py: only such a group is ever deleted). On a database
  without an NB_Global row the mutate changes nothing: the group is then
  unmarked, taken for one made by hand and never deleted (the safe side).

Unlike the script, re-running gives new UUIDs (an OVSDB transaction cannot
insert conditionally); ``ovn-lbc plan``/``apply`` will change only what differs.

Why this module is long: it holds both transactions, the offline one and
the plan's (with its guards, row changes and the form ``apply`` sends as it
is made), which share every operation's encoding; split, each half would
import the other's helpers.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..lower import (
    GROUP_MARK_PREFIX,
    OWNER_KEY,
    HealthCheckRow,
    LoadBalancerRow,
    NatRow,
    NorthboundChanges,
    Pairs,
)
from ..ovsdb.state import (
    GROUP_COLUMNS,
    HEALTH_CHECK_COLUMNS,
    LOAD_BALANCER_COLUMNS,
    NAT_COLUMNS,
    encode_group,
    encode_health_check,
    encode_load_balancer,
    encode_nat,
)
from ..plan import Datapath, MapDiff, NatChange, Plan, RowChange
from ..version import __version__

DATABASE = "OVN_Northbound"


def _map(pairs: Pairs) -> list[Any]:
    return ["map", [[key, value] for key, value in pairs]]


def _named_set(names: Sequence[str]) -> list[Any]:
    return ["set", [["named-uuid", name] for name in names]]


def _guard(table: str, where: list[Any], columns: Sequence[str], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A ``wait`` that fails at once unless ``where`` selects exactly ``rows``."""
    return {
        "op": "wait",
        "table": table,
        "where": where,
        "columns": list(columns),
        "until": "==",
        "rows": rows,
        "timeout": 0,
    }


def _insert_health_check(check: HealthCheckRow, uuid_name: str) -> dict[str, Any]:
    return {
        "op": "insert",
        "table": "Load_Balancer_Health_Check",
        "row": {"vip": check.vip, "options": _map(check.options), "external_ids": _map(check.external_ids)},
        "uuid-name": uuid_name,
    }


def _insert_load_balancer(row: LoadBalancerRow, uuid_name: str, hc_names: Sequence[str]) -> dict[str, Any]:
    return {
        "op": "insert",
        "table": "Load_Balancer",
        "row": {
            "name": row.name,
            "protocol": row.protocol,
            "vips": _map(row.vips),
            "health_check": _named_set(hc_names),
            "ip_port_mappings": _map(row.ip_port_mappings),
            "external_ids": _map(row.external_ids),
            "options": _map(row.options),
            "selection_fields": ["set", list(row.selection_fields)],
        },
        "uuid-name": uuid_name,
    }


def _insert_nat(row: NatRow, uuid_name: str) -> dict[str, Any]:
    """A NAT row, with exactly the columns a plan reads and guards."""
    return {
        "op": "insert",
        "table": "NAT",
        "row": {
            "type": row.type,
            "external_ip": row.external_ip,
            "logical_ip": row.logical_ip,
            "options": _map(row.options),
            "external_ids": _map(row.external_ids),
        },
        "uuid-name": uuid_name,
    }


def nat_address_guard(nat_type: str, external_ip: str, uuids: Sequence[str]) -> dict[str, Any]:
    """A ``wait`` that fails unless the NAT rows of this type and external_ip
    are exactly ``uuids`` (none, DB-blind): nobody made one since the read."""
    where = [["type", "==", nat_type], ["external_ip", "==", external_ip]]
    return _guard("NAT", where, ["_uuid"], [{"_uuid": ["uuid", uuid]} for uuid in uuids])


def _insert_group(name: str, members: list[Any], uuid_name: str, uuid: str) -> dict[str, Any]:
    """The group with the _uuid its mark records (ovsdb-server takes a client's
    ``uuid`` since OVS 2.13), so the mark can be written in this transaction."""
    return {
        "op": "insert",
        "table": "Load_Balancer_Group",
        "uuid": uuid,
        "row": {"name": name, "load_balancer": ["set", members]},
        "uuid-name": uuid_name,
    }


def _mark_mutations(added: Sequence[tuple[str, str]], removed: Sequence[str]) -> list[Any]:
    """NB_Global external_ids: delete the marks' keys (a stale value too), insert the new marks."""
    keys = sorted({*removed, *(key for key, _ in added)})
    mutations: list[Any] = [["external_ids", "delete", ["set", keys]]] if keys else []
    if added:
        mutations.append(["external_ids", "insert", ["map", [[key, value] for key, value in added]]])
    return mutations


def _row_ops(row: LoadBalancerRow, index: int) -> tuple[list[dict[str, Any]], str]:
    lb_name = f"lb{index}"
    ops: list[dict[str, Any]] = [{"op": "delete", "table": "Load_Balancer", "where": [["name", "==", row.name]]}]
    hc_names = [f"hc{index}_{number}" for number in range(1, len(row.health_checks) + 1)]
    ops.extend(_insert_health_check(check, name) for check, name in zip(row.health_checks, hc_names, strict=True))
    ops.append(_insert_load_balancer(row, lb_name, hc_names))
    return ops, lb_name


Origin = LoadBalancerRow | NatRow | None


@dataclass(frozen=True, slots=True)
class Transaction:
    """The request's params and, for each operation, the row it serves (or None)."""

    params: list[Any]
    origins: list[Origin]


@dataclass(frozen=True, slots=True)
class PlannedTransaction:
    """build_plan_transaction(plan, inputs), kept as the plan: ``apply`` sends
    its operations as they are made (``operations``) and builds it whole only
    to name a failed operation (``whole``)."""

    plan: Plan
    inputs: Sequence[str]

    def __bool__(self) -> bool:
        return bool(self.plan)

    def operations(self) -> Iterator[dict[str, Any]]:
        return (op for op, _ in plan_operations(self.plan, self.inputs))

    def whole(self) -> Transaction:
        return build_plan_transaction(self.plan, self.inputs)


def _comment(inputs: Sequence[str]) -> dict[str, Any]:
    return {"op": "comment", "comment": f"ovn-lbc {__version__}: {', '.join(inputs)}"}


def build_transaction(changes: NorthboundChanges, inputs: Sequence[str]) -> Transaction:
    """``["OVN_Northbound", op, ...]``: every change in one transaction, for a
    database ovn-lbc has not read (``compile --format json``). A group is
    inserted, so this needs a database without a group of that name; ``plan``
    and ``apply`` read the database and handle an existing one."""
    return _collected(transaction_operations(changes, inputs))


def _collected(operations: Iterable[tuple[dict[str, Any], Origin]]) -> Transaction:
    """A transaction whole, from operations made one at a time."""
    params: list[Any] = [DATABASE]
    origins: list[Origin] = []
    for op, origin in operations:
        params.append(op)
        origins.append(origin)
    return Transaction(params, origins)


def transaction_operations(
    changes: NorthboundChanges, inputs: Sequence[str]
) -> Iterator[tuple[dict[str, Any], Origin]]:
    """build_transaction's operations one at a time, each with its origin:
    ``compile --format json`` writes them as they are made."""
    yield _comment(inputs), None
    # Each datapath once, with the first row that needs it, to say where it is named.
    needed_by: dict[tuple[str, str], Origin] = {}
    first_member: dict[str, LoadBalancerRow] = {}
    for row in changes.rows:
        for key in row.datapaths:
            needed_by.setdefault(key, row)
        if row.group is not None:
            first_member.setdefault(row.group, row)
    for group in changes.groups:
        for key in group.datapaths:
            needed_by.setdefault(key, first_member.get(group.name))
    for nat in changes.nats:
        needed_by.setdefault(("Logical_Router", nat.router), nat)
    for (table, name), origin in needed_by.items():
        yield _guard(table, [["name", "==", name]], ["name"], [{"name": name}]), origin
    for nat in changes.nats:
        yield nat_address_guard(nat.type, nat.external_ip, ()), nat
    attach_rows: dict[tuple[str, str], list[Any]] = {key: [] for key in needed_by}
    attach_groups: dict[tuple[str, str], list[Any]] = {key: [] for key in needed_by}
    group_members: dict[str, list[Any]] = {group.name: [] for group in changes.groups}
    for index, row in enumerate(changes.rows, start=1):
        row_ops, lb_name = _row_ops(row, index)
        for op in row_ops:
            yield op, row
        for key in row.datapaths:
            attach_rows[key].append(["named-uuid", lb_name])
        if row.group is not None:
            group_members[row.group].append(["named-uuid", lb_name])
    for number, group in enumerate(changes.groups, start=1):
        yield (
            _insert_group(group.name, group_members[group.name], f"group{number}", group.uuid),
            first_member.get(group.name),
        )
        for key in group.datapaths:
            attach_groups[key].append(["named-uuid", f"group{number}"])
    if changes.groups:
        marks = [(group.mark_key, group.uuid) for group in changes.groups]
        yield {"op": "mutate", "table": "NB_Global", "where": [], "mutations": _mark_mutations(marks, [])}, None
    attach_nats: dict[tuple[str, str], list[Any]] = {key: [] for key in needed_by}
    for number, nat in enumerate(changes.nats, start=1):
        yield _insert_nat(nat, f"nat{number}"), nat
        attach_nats[("Logical_Router", nat.router)].append(["named-uuid", f"nat{number}"])
    for (table, name), origin in needed_by.items():
        mutations = [
            [column, "insert", ["set", refs]]
            for column, refs in (
                ("load_balancer", attach_rows[(table, name)]),
                ("load_balancer_group", attach_groups[(table, name)]),
                ("nat", attach_nats[(table, name)]),
            )
            if refs
        ]
        yield {"op": "mutate", "table": table, "where": [["name", "==", name]], "mutations": mutations}, origin


def emit_json(changes: NorthboundChanges, inputs: Sequence[str], *, pretty: bool = False) -> str:
    """The transaction as JSON text, deterministic; one op per line unless pretty."""
    return "".join(emit_json_pieces(changes, inputs, pretty=pretty))


def emit_json_pieces(changes: NorthboundChanges, inputs: Sequence[str], *, pretty: bool = False) -> Iterator[str]:
    """emit_json's text in pieces, made as they are written."""
    params = itertools.chain([DATABASE], (op for op, _ in transaction_operations(changes, inputs)))
    return transaction_json_pieces(params, pretty=pretty)


def plan_json_pieces(plan: Plan, inputs: Sequence[str], *, pretty: bool = False) -> Iterator[str]:
    """``plan --format json``: build_plan_transaction's text in pieces, made as they are written."""
    params = itertools.chain([DATABASE], (op for op, _ in plan_operations(plan, inputs)))
    return transaction_json_pieces(params, pretty=pretty)


# -- the transaction of a plan ---------------------------------------------------


def _where_uuid(uuid: str) -> list[Any]:
    return [["_uuid", "==", ["uuid", uuid]]]


def _map_mutations(column: str, diff: MapDiff) -> list[Any]:
    """Delete the changed and removed keys, then insert the new pairs (one op, in order)."""
    mutations: list[Any] = []
    if diff.keys_to_delete:
        mutations.append([column, "delete", ["set", diff.keys_to_delete]])
    if diff.pairs_to_insert:
        mutations.append([column, "insert", ["map", [[key, value] for key, value in diff.pairs_to_insert]]])
    return mutations


def ownership_guard(uuid: str, network: str) -> dict[str, Any]:
    """A ``wait`` that fails unless Load_Balancer row ``uuid`` still carries
    ovn-lbc's mark for ``network``: the guard of a row the plan only puts in a
    group or takes out of one (otherwise unchanged, so not guarded whole)."""
    where = _where_uuid(uuid) + [["external_ids", "includes", ["map", [[OWNER_KEY, network]]]]]
    return _guard("Load_Balancer", where, ["_uuid"], [{"_uuid": ["uuid", uuid]}])


def _guards(plan: Plan) -> Iterator[tuple[dict[str, Any], Origin]]:
    """A ``wait`` for everything the plan read and acts on: if another client
    changed it since, the whole transaction fails instead of overwriting."""
    datapaths: dict[str, tuple[Datapath, Origin]] = {}
    # Load_Balancer rows already guarded (whole, by a row change): a group member needs no other guard.
    guarded = {change.existing.uuid for change in plan.changes if change.existing is not None}
    for change in plan.changes:
        if change.existing is None:  # nobody made a row of this name meanwhile
            yield _guard("Load_Balancer", [["name", "==", change.name]], ["_uuid"], []), change.wanted
        else:
            row = [encode_load_balancer(change.existing)]
            yield _guard("Load_Balancer", _where_uuid(change.existing.uuid), LOAD_BALANCER_COLUMNS, row), change.wanted
            if change.rename is not None:
                # The row is guarded as read (nameless, unmarked); and nobody took its new name meanwhile.
                yield _guard("Load_Balancer", [["name", "==", change.rename[1]]], ["_uuid"], []), change.wanted
        for check in change.health_checks:
            if check.existing is not None and check.wanted is not None:
                row = [encode_health_check(check.existing)]
                where = _where_uuid(check.existing.uuid)
                yield _guard("Load_Balancer_Health_Check", where, HEALTH_CHECK_COLUMNS, row), change.wanted
        for datapath in (*change.attach, *change.detach):
            datapaths.setdefault(datapath.uuid, (datapath, change.wanted))
    for group in plan.groups:
        if group.existing is None:
            yield _guard("Load_Balancer_Group", [["name", "==", group.name]], ["_uuid"], []), None
        else:
            row = [encode_group(group.existing)]
            yield _guard("Load_Balancer_Group", _where_uuid(group.existing.uuid), GROUP_COLUMNS, row), None
        for uuid, network in group.member_owners:
            if uuid not in guarded:  # still ovn-lbc's: a foreign row never joins or leaves a group
                guarded.add(uuid)
                yield ownership_guard(uuid, network), None
        for datapath in (*group.attach, *group.detach):
            datapaths.setdefault(datapath.uuid, (datapath, None))
    for nat in plan.nats:
        if nat.wanted is not None and nat.existing is None:
            yield nat_address_guard(nat.wanted.type, nat.external_ip, nat.same_address), nat.wanted
        elif nat.existing is not None:
            row = [encode_nat(nat.existing)]
            yield _guard("NAT", _where_uuid(nat.existing.uuid), NAT_COLUMNS, row), nat.wanted
        if nat.action != "change":  # its routers' nat is written
            for datapath in nat.routers:
                datapaths.setdefault(datapath.uuid, (datapath, nat.wanted))
    marks = [group for group in plan.groups if group.mark is not None]
    if marks and plan.nb_global is None:  # nobody made an NB_Global row meanwhile
        yield _guard("NB_Global", [], ["_uuid"], []), None
    elif marks and plan.nb_global is not None:
        # NB_Global is still there and, for a group to delete, still marks it ovn-lbc's.
        uuid = plan.nb_global.uuid
        where = _where_uuid(uuid) + [
            ["external_ids", "includes", ["map", [list(mark)]]]
            for group in marks
            if group.action == "remove" and (mark := group.mark) is not None
        ]
        yield _guard("NB_Global", where, ["_uuid"], [{"_uuid": ["uuid", uuid]}]), None
    for uuid, (datapath, origin) in datapaths.items():
        yield _guard(datapath.table, _where_uuid(uuid), ["name"], [{"name": datapath.name}]), origin


def _change_ops(change: RowChange, index: int) -> tuple[list[dict[str, Any]], list[Any]]:
    """The operations of one row change, and the reference datapaths attach."""
    ops: list[dict[str, Any]] = []
    if change.existing is None:
        assert change.wanted is not None
        hc_names = [f"hc{index}_{number}" for number in range(1, len(change.wanted.health_checks) + 1)]
        ops.extend(
            _insert_health_check(check, name) for check, name in zip(change.wanted.health_checks, hc_names, strict=True)
        )
        ops.append(_insert_load_balancer(change.wanted, f"lb{index}", hc_names))
        return ops, ["named-uuid", f"lb{index}"]
    uuid = change.existing.uuid
    if change.wanted is None:
        return [{"op": "delete", "table": "Load_Balancer", "where": _where_uuid(uuid)}], ["uuid", uuid]
    new_checks: list[str] = []
    dropped_checks: list[str] = []
    # After the row's mutate: when it adopts the row, the mark comes first, so
    # a saved plan's check finds the row ovn-lbc's when its checks change.
    check_mutations: list[dict[str, Any]] = []
    for number, check in enumerate(change.health_checks, start=1):
        if check.action == "add":  # before the row's mutate, which refers to it by named-uuid
            assert check.wanted is not None
            new_checks.append(f"hc{index}_{number}")
            ops.append(_insert_health_check(check.wanted, new_checks[-1]))
        elif check.action == "remove":
            assert check.existing is not None
            dropped_checks.append(check.existing.uuid)
        elif check.existing is not None:
            mutations = _map_mutations("options", check.options) + _map_mutations("external_ids", check.external_ids)
            check_mutations.append(
                {
                    "op": "mutate",
                    "table": "Load_Balancer_Health_Check",
                    "where": _where_uuid(check.existing.uuid),
                    "mutations": mutations,
                }
            )
    mutations = (
        _map_mutations("vips", change.vips)
        + _map_mutations("ip_port_mappings", change.ip_port_mappings)
        + _map_mutations("external_ids", change.external_ids)
        + _map_mutations("options", change.options)
    )
    if dropped_checks:
        # The health check rows are not root rows: unreferenced, they are collected.
        mutations.append(["health_check", "delete", ["set", [["uuid", u] for u in dropped_checks]]])
    if new_checks:
        mutations.append(["health_check", "insert", _named_set(new_checks)])
    if mutations:
        ops.append({"op": "mutate", "table": "Load_Balancer", "where": _where_uuid(uuid), "mutations": mutations})
    ops.extend(check_mutations)
    # Columns written whole: name (a nameless row adopted: after the mutate
    # that marks it, as a saved plan's check expects), protocol, and
    # selection_fields (a set ovn-lbc owns).
    columns: dict[str, Any] = {}
    if change.rename is not None:
        columns["name"] = change.rename[1]
    if change.protocol is not None:
        columns["protocol"] = change.protocol[1]
    if change.selection_fields is not None:
        columns["selection_fields"] = ["set", list(change.selection_fields[1])]
    if columns:
        ops.append({"op": "update", "table": "Load_Balancer", "where": _where_uuid(uuid), "row": columns})
    return ops, ["uuid", uuid]


@dataclass
class _DatapathMutations:
    """What one datapath gains and loses, sent as one ``mutate``."""

    datapath: Datapath
    attach: list[Any]
    detach: list[Any]
    attach_groups: list[Any]
    detach_groups: list[Any]
    add_nats: list[Any]
    remove_nats: list[Any]

    def op(self) -> dict[str, Any]:
        mutations = [
            [column, verb, ["set", refs]]
            for column, verb, refs in (
                ("load_balancer", "delete", self.detach),
                ("load_balancer", "insert", self.attach),
                ("load_balancer_group", "delete", self.detach_groups),
                ("load_balancer_group", "insert", self.attach_groups),
                # Out of its router's nat, a NAT row (not a root row) is deleted at commit.
                ("nat", "delete", self.remove_nats),
                ("nat", "insert", self.add_nats),
            )
            if refs
        ]
        return {
            "op": "mutate",
            "table": self.datapath.table,
            "where": _where_uuid(self.datapath.uuid),
            "mutations": mutations,
        }


def _nat_ops(change: NatChange, index: int) -> tuple[list[dict[str, Any]], list[Any]]:
    """The operations of one NAT change, and the reference its routers' ``nat`` gains or loses."""
    if change.existing is None:
        assert change.wanted is not None
        return [_insert_nat(change.wanted, f"nat{index}")], ["named-uuid", f"nat{index}"]
    reference = ["uuid", change.existing.uuid]
    if change.wanted is None:
        return [], reference
    ops: list[dict[str, Any]] = []
    where = _where_uuid(change.existing.uuid)
    mutations = _map_mutations("options", change.options) + _map_mutations("external_ids", change.external_ids)
    if mutations:  # first: when it adopts the row, the mark comes before the rest
        ops.append({"op": "mutate", "table": "NAT", "where": where, "mutations": mutations})
    if change.logical_ip is not None:
        ops.append({"op": "update", "table": "NAT", "where": where, "row": {"logical_ip": change.logical_ip[1]}})
    return ops, reference


def build_plan_transaction(plan: Plan, inputs: Sequence[str]) -> Transaction:
    """The transaction that carries out ``plan``: guards, then row changes,
    then groups (which refer to new rows, so after them), then NAT rows, then
    one mutation per datapath that gains or loses load balancers, groups or
    NAT rows. A nameless row ``--adopt`` takes over is renamed in place (an
    ``update`` of ``name`` by _uuid), guarded as it was read and by a wait
    that no row has its new name. An empty plan is an empty transaction
    (``["OVN_Northbound"]``): nothing to send."""
    return _collected(plan_operations(plan, inputs))


def plan_operations(plan: Plan, inputs: Sequence[str]) -> Iterator[tuple[dict[str, Any], Origin]]:
    """build_plan_transaction's operations one at a time, each with its
    origin, in the same order: ``apply`` encodes and sends them as they are
    made, so the whole transaction is never held as Python objects (53 MB at
    10,000 load balancers)."""
    if not plan:
        return
    yield _comment(inputs), None
    yield from _guards(plan)
    per_datapath: dict[str, _DatapathMutations] = {}

    def on(datapath: Datapath) -> _DatapathMutations:
        return per_datapath.setdefault(datapath.uuid, _DatapathMutations(datapath, [], [], [], [], [], []))

    references: dict[str, list[Any]] = {}
    for index, change in enumerate(plan.changes, start=1):
        change_ops, reference = _change_ops(change, index)
        for op in change_ops:
            yield op, change.wanted
        references[change.name] = reference
        for datapath in change.attach:
            on(datapath).attach.append(reference)
        for datapath in change.detach:
            on(datapath).detach.append(reference)
    for number, group in enumerate(plan.groups, start=1):
        added = [["uuid", uuid] if uuid is not None else references[name] for name, uuid in group.add_members]
        if group.existing is None:
            assert group.wanted is not None
            yield _insert_group(group.name, added, f"group{number}", group.wanted.uuid), None
            reference = ["named-uuid", f"group{number}"]
        else:
            reference = ["uuid", group.existing.uuid]
            mutations = []
            if group.remove_members:
                mutations.append(["load_balancer", "delete", ["set", [["uuid", u] for _, u in group.remove_members]]])
            if added:
                mutations.append(["load_balancer", "insert", ["set", added]])
            if mutations:
                where = _where_uuid(group.existing.uuid)
                yield {"op": "mutate", "table": "Load_Balancer_Group", "where": where, "mutations": mutations}, None
        if group.action == "remove":
            # Its strong references go in the datapaths' mutations below; a
            # delete with any left would fail the whole transaction.
            yield {"op": "delete", "table": "Load_Balancer_Group", "where": [["_uuid", "==", reference]]}, None
        for datapath in group.attach:
            on(datapath).attach_groups.append(reference)
        for datapath in group.detach:
            on(datapath).detach_groups.append(reference)
    for index, nat in enumerate(plan.nats, start=1):
        nat_ops, reference = _nat_ops(nat, index)
        for op in nat_ops:
            yield op, nat.wanted
        for datapath in nat.routers:
            if nat.action == "add":
                on(datapath).add_nats.append(reference)
            elif nat.action == "remove":
                on(datapath).remove_nats.append(reference)
    added_marks = [mark for group in plan.groups if group.action == "add" and (mark := group.mark) is not None]
    removed_marks = [mark[0] for group in plan.groups if group.action == "remove" and (mark := group.mark) is not None]
    if plan.nb_global is None and added_marks:
        # As ovn-nbctl does on a database nothing has initialised yet.
        pairs = [[key, value] for key, value in added_marks]
        yield {"op": "insert", "table": "NB_Global", "row": {"external_ids": ["map", pairs]}}, None
    elif plan.nb_global is not None and (added_marks or removed_marks):
        where = _where_uuid(plan.nb_global.uuid)
        yield (
            {
                "op": "mutate",
                "table": "NB_Global",
                "where": where,
                "mutations": _mark_mutations(added_marks, removed_marks),
            },
            None,
        )
    for datapath_mutations in per_datapath.values():
        yield datapath_mutations.op(), None


def transaction_json(params: list[Any], *, pretty: bool = False) -> str:
    """Deterministic JSON text; one op per line unless pretty, so a diff of two runs stays readable."""
    return "".join(transaction_json_pieces(params, pretty=pretty))


def transaction_json_pieces(params: Iterable[Any], *, pretty: bool = False) -> Iterator[str]:
    """transaction_json's text, a piece per parameter as each comes: 50,000
    load balancers' transaction is never whole in memory, as objects or text."""
    opening, between = ("[\n  ", ",\n  ") if pretty else ("[", ",\n ")
    first = True
    for item in params:
        if pretty:
            # json.dumps(a_list, indent=2) is each item's own dump, two spaces deeper.
            text = json.dumps(item, indent=2, ensure_ascii=False).replace("\n", "\n  ")
        else:
            text = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        yield (opening if first else between) + text
        first = False
    if first:
        yield "[]\n"
    else:
        yield "\n]\n" if pretty else "]\n"


def describe_guard(op: Mapping[str, Any]) -> str | None:
    """What a failed guard says changed, read from the ``wait`` itself (so a
    saved plan's failure can be explained too); None when ``op`` is no guard."""
    if op.get("op") != "wait" or op.get("timeout") != 0:
        return None
    table = op.get("table", "")
    where = op.get("where") or [[None, None, None]]
    rows = op.get("rows") or [{}]
    column, _, value = where[0]
    if table == "NB_Global":
        if op.get("rows") == []:
            return "an NB_Global row was created"
        groups = [
            str(pair[0]).removeprefix(GROUP_MARK_PREFIX)
            for clause in where[1:]
            if isinstance(clause, list) and len(clause) == 3 and clause[1] == "includes"
            for pair in (clause[2][1] if isinstance(clause[2], list) and len(clause[2]) == 2 else [])
            if isinstance(pair, list) and pair
        ]
        if groups:
            names = ", ".join(repr(name) for name in groups)
            return f"the NB_Global row, or ovn-lbc's mark of group {names} in it, was changed or deleted"
        return "the NB_Global row was deleted"
    if column == "name" and op.get("rows") == []:
        return f"a {table} row named {value!r} was created"
    if table == "NAT" and column == "type":
        address = where[1][2] if len(where) > 1 and isinstance(where[1], list) and len(where[1]) == 3 else "?"
        return f"a {value} NAT row for {address} was created or deleted"
    if column != "_uuid":
        return None
    uuid = value[1] if isinstance(value, list) else value
    if table == "Load_Balancer" and op.get("columns") == ["_uuid"]:  # an ownership guard
        owners = [
            str(pair[1])
            for clause in where[1:]
            if isinstance(clause, list) and len(clause) == 3 and clause[1] == "includes"
            for pair in (clause[2][1] if isinstance(clause[2], list) and len(clause[2]) == 2 else [])
            if isinstance(pair, list) and len(pair) == 2 and pair[0] == OWNER_KEY
        ]
        network = f" (network {owners[0]!r})" if owners else ""
        return f"Load_Balancer row {uuid} was deleted or is no longer ovn-lbc's{network}"
    if table == "NAT":
        row = rows[0]
        return (
            f"NAT row {row.get('type')} {row.get('external_ip')} -> {row.get('logical_ip')} "
            f"(_uuid {uuid}) was changed or deleted"
        )
    if table == "Load_Balancer" and rows[0].get("name") == "":
        return f"nameless Load_Balancer row (_uuid {uuid}) was changed, named or deleted"
    label = rows[0].get("name") if table != "Load_Balancer_Health_Check" else f"for VIP {rows[0].get('vip')!r}"
    label = repr(label) if table != "Load_Balancer_Health_Check" else label
    return f"{table} row {label} (_uuid {uuid}) was changed or deleted"
