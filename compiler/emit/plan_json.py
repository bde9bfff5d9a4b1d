"""A plan for tools (``plan --format plan-json``): documented, versioned JSON.

``--format json`` is the transaction itself, for ``apply --plan-file``; this
is a description of the same plan that a CI step or a dashboard can read
without knowing OVSDB: per change its kind, action, source line, and the
before and after of every column and map key that changes, then the
summary. The shape is ``plan-json.schema.json`` beside this module (what
``ovn-lbc schema plan-json`` prints), described in docs/plan-json.md.

``format_version`` is "MAJOR.MINOR": a new field or a new kind of change
raises MINOR (readers ignore what they do not know); anything that changes
or removes a field raises MAJOR. Adding a kind of change is one function
here (``_<kind>_change``), one line in ``_changes`` and one ``$defs`` entry
in the schema.

Values are the exact strings OVSDB stores; ``json.dumps`` escapes what
needs escaping, so every byte survives a round trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

from ..diagnostics import Span
from ..ovsdb.state import DbLoadBalancer
from ..plan import Datapath, GroupChange, HealthCheckChange, MapDiff, NatChange, Plan, RowChange
from ..version import __version__

FORMAT_VERSION = "1.1"  # 1.1: a load balancer's ``name`` column (a nameless row renamed)
SCHEMA_FILE = "plan-json.schema.json"

Json = dict[str, Any]


def plan_json_schema() -> Json:
    """The JSON Schema of the plan-json format (``ovn-lbc schema plan-json``)."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: Json = json.loads(text)
    return schema


def _source(span: Span | None) -> Json | None:
    return None if span is None else {"file": span.file, "line": span.line, "column": span.column}


def _map_diff(diff: MapDiff) -> Json:
    return {
        "added": dict(diff.added),
        "changed": {key: {"before": before, "after": after} for key, before, after in diff.changed},
        "removed": dict(diff.removed),
    }


def _all_removed(values: Iterable[tuple[str, str]]) -> Json:
    return {"added": {}, "changed": {}, "removed": dict(sorted(values))}


def _datapaths(datapaths: Sequence[Datapath]) -> list[Json]:
    return [{"table": d.table, "name": d.name, "uuid": d.uuid or None} for d in datapaths]


def _health_check(check: HealthCheckChange) -> Json:
    columns: Json = {}
    if check.action == "add" and check.wanted is not None:
        columns["options"] = _map_diff(MapDiff(added=check.wanted.options))
        columns["external_ids"] = _map_diff(MapDiff(added=check.wanted.external_ids))
    elif check.action == "change":
        for name, diff in (("options", check.options), ("external_ids", check.external_ids)):
            if diff:
                columns[name] = _map_diff(diff)
    return {
        "vip": check.vip,
        "action": check.action,
        "uuid": check.existing.uuid if check.existing is not None else None,
        "columns": columns,
    }


def _removed_row_columns(row: DbLoadBalancer) -> Json:
    """A removed row loses every value it had: each column's before, nothing after."""
    columns: Json = {"protocol": {"before": row.protocol, "after": None}}
    for name, values in (
        ("vips", row.vips),
        ("ip_port_mappings", row.ip_port_mappings),
        ("external_ids", row.external_ids),
        ("options", row.options),
    ):
        if values:
            columns[name] = _all_removed(values.items())
    if row.selection_fields:
        columns["selection_fields"] = {"before": list(row.selection_fields), "after": []}
    if row.health_check:
        columns["health_check"] = {"before": sorted(row.health_check), "after": []}
    return columns


def _row_columns(change: RowChange) -> Json:
    if change.wanted is None and change.existing is not None:
        return _removed_row_columns(change.existing)
    columns: Json = {}
    if change.rename is not None:
        before_name, after_name = change.rename
        columns["name"] = {"before": before_name, "after": after_name}
    if change.action == "add" and change.wanted is not None:
        columns["protocol"] = {"before": None, "after": change.wanted.protocol}
    elif change.protocol is not None:
        before, after = change.protocol
        columns["protocol"] = {"before": before, "after": after}
    for name, diff in (
        ("vips", change.vips),
        ("ip_port_mappings", change.ip_port_mappings),
        ("external_ids", change.external_ids),
        ("options", change.options),
    ):
        if diff:
            columns[name] = _map_diff(diff)
    if change.selection_fields is not None:
        before_fields, after_fields = change.selection_fields
        columns["selection_fields"] = {"before": list(before_fields), "after": list(after_fields)}
    return columns


def _load_balancer_change(change: RowChange) -> Json:
    return {
        "kind": "load_balancer",
        "name": change.name,
        "network": change.network,
        "action": change.action,
        "source": _source(change.wanted.source if change.wanted is not None else None),
        "uuid": change.existing.uuid if change.existing is not None else None,
        "adopted_from": change.adopted_from,
        "columns": _row_columns(change),
        "health_checks": [_health_check(check) for check in change.health_checks],
        "attach": _datapaths(change.attach),
        "detach": _datapaths(change.detach),
    }


def _group_change(group: GroupChange) -> Json:
    uuid: str | None = None
    if group.existing is not None:
        uuid = group.existing.uuid
    elif group.wanted is not None:
        uuid = group.wanted.uuid  # the one the plan creates it with
    mark = None
    if group.mark is not None:
        key, value = group.mark
        mark = {"action": group.action, "key": key, "value": value}
    return {
        "kind": "group",
        "name": group.name,
        "networks": list(group.wanted.networks) if group.wanted is not None else [],
        "action": group.action,
        "source": _source(group.wanted.source if group.wanted is not None else None),
        "uuid": uuid,
        "owned": group.owned,
        "mark": mark,
        "members": {
            "added": [{"name": name, "uuid": member} for name, member in group.add_members],
            "removed": [{"name": name, "uuid": member} for name, member in group.remove_members],
        },
        "attach": _datapaths(group.attach),
        "detach": _datapaths(group.detach),
    }


def _nat_columns(nat: NatChange) -> Json:
    if nat.wanted is None and nat.existing is not None:  # removed: every value goes
        row = nat.existing
        columns: Json = {"logical_ip": {"before": row.logical_ip, "after": None}}
        for name, values in (("options", row.options), ("external_ids", row.external_ids)):
            if values:
                columns[name] = _all_removed(values.items())
        return columns
    columns = {}
    if nat.action == "add" and nat.wanted is not None:
        columns["logical_ip"] = {"before": None, "after": nat.wanted.logical_ip}
    elif nat.logical_ip is not None:
        before, after = nat.logical_ip
        columns["logical_ip"] = {"before": before, "after": after}
    for name, diff in (("options", nat.options), ("external_ids", nat.external_ids)):
        if diff:
            columns[name] = _map_diff(diff)
    return columns


def _nat_change(nat: NatChange) -> Json:
    return {
        "kind": "nat",
        "router": nat.router,
        "type": "dnat",
        "external_ip": nat.external_ip,
        "network": nat.network,
        "action": nat.action,
        "source": _source(nat.wanted.source if nat.wanted is not None else None),
        "uuid": nat.existing.uuid if nat.existing is not None else None,
        "adopted_from": nat.adopted_from,
        "columns": _nat_columns(nat),
    }


def _changes(plan: Plan) -> list[Json]:
    """Every change, in the text plan's order: one function per kind of change."""
    return [
        *map(_load_balancer_change, plan.changes),
        *map(_group_change, plan.groups),
        *map(_nat_change, plan.nats),
    ]


def plan_document(plan: Plan, inputs: Sequence[str], against: str) -> Json:
    """The plan as plain data, in a stable order (what ``render_plan_json`` prints)."""
    return {
        "format_version": FORMAT_VERSION,
        "generator": f"ovn-lbc {__version__}",
        "inputs": list(inputs),
        "against": against,
        "destroy": plan.destroy,
        "networks": [
            {"name": network.name, "router": network.router, "switch": network.switch} for network in plan.networks
        ],
        "found_switch_ports": [
            {
                "network": port.network,
                "switch": port.switch,
                "backend": port.backend,
                "address": port.address,
                "port": port.port,
            }
            for port in plan.found_ports
        ],
        "changes": _changes(plan),
        "summary": {
            "add": plan.count("add"),
            "change": plan.count("change"),
            "remove": plan.count("remove"),
            "unchanged": plan.unchanged,
            "unchanged_nat_rows": plan.unchanged_nats,
        },
    }


def render_plan_json(plan: Plan, inputs: Sequence[str], against: str, *, pretty: bool = False) -> str:
    """Deterministic JSON text: one line, or indented with ``pretty``. Strings
    are written as UTF-8; a lone surrogate (which no UTF-8 can carry) as an escape."""
    document = plan_document(plan, inputs, against)
    text = json.dumps(document, indent=2 if pretty else None, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(document, indent=2 if pretty else None, ensure_ascii=True)
    return text + "\n"
