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
  vanish on commit instead of being written back.

Unlike the script, re-running gives new UUIDs (an OVSDB transaction cannot
insert conditionally); ``ovn-lbc plan``/``apply`` will change only what differs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..lower import LoadBalancerRow, NorthboundChanges, Pairs

DATABASE = "OVN_Northbound"


def _map(pairs: Pairs) -> list[Any]:
    return ["map", [[key, value] for key, value in pairs]]


def _named_set(names: Sequence[str]) -> list[Any]:
    return ["set", [["named-uuid", name] for name in names]]


def _wait_exists(table: str, name: str) -> dict[str, Any]:
    return {
        "op": "wait",
        "table": table,
        "where": [["name", "==", name]],
        "columns": ["name"],
        "until": "==",
        "rows": [{"name": name}],
        "timeout": 0,
    }


# Load_Balancer rows by name, as ``apply`` read them: name -> the rows' UUIDs.
ExistingRows = Mapping[str, Sequence[str]]


def _delete_ops(row: LoadBalancerRow, existing: ExistingRows | None) -> list[dict[str, Any]]:
    if existing is None:
        return [{"op": "delete", "table": "Load_Balancer", "where": [["name", "==", row.name]]}]
    return [
        {"op": "delete", "table": "Load_Balancer", "where": [["_uuid", "==", ["uuid", uuid]]]}
        for uuid in existing.get(row.name, ())
    ]


def guard_op(existing: ExistingRows) -> dict[str, Any]:
    """Fail the transaction unless Load_Balancer still holds exactly the rows read."""
    return {
        "op": "wait",
        "table": "Load_Balancer",
        "where": [],
        "columns": ["_uuid", "name"],
        "until": "==",
        "rows": [
            {"_uuid": ["uuid", uuid], "name": name} for name in sorted(existing) for uuid in sorted(existing[name])
        ],
        "timeout": 0,
    }


def _row_ops(row: LoadBalancerRow, index: int, existing: ExistingRows | None) -> tuple[list[dict[str, Any]], str]:
    lb_name = f"lb{index}"
    ops: list[dict[str, Any]] = _delete_ops(row, existing)
    hc_names = []
    for number, check in enumerate(row.health_checks, start=1):
        hc_name = f"hc{index}_{number}"
        hc_names.append(hc_name)
        ops.append(
            {
                "op": "insert",
                "table": "Load_Balancer_Health_Check",
                "row": {"vip": check.vip, "options": _map(check.options), "external_ids": _map(check.external_ids)},
                "uuid-name": hc_name,
            }
        )
    ops.append(
        {
            "op": "insert",
            "table": "Load_Balancer",
            "row": {
                "name": row.name,
                "protocol": row.protocol,
                "vips": _map(row.vips),
                "health_check": _named_set(hc_names),
                "ip_port_mappings": _map(row.ip_port_mappings),
                "external_ids": _map(row.external_ids),
            },
            "uuid-name": lb_name,
        }
    )
    return ops, lb_name


@dataclass(frozen=True, slots=True)
class Transaction:
    """The request's params and, for each operation, the row it serves (or None)."""

    params: list[Any]
    origins: list[LoadBalancerRow | None]


def build_transaction(
    changes: NorthboundChanges, inputs: Sequence[str], existing: ExistingRows | None = None
) -> Transaction:
    """``["OVN_Northbound", op, ...]``: every change in one transaction.

    With ``existing`` (what the database held when read), rows are deleted by
    UUID behind a guard; without it, by name.
    """
    ops: list[Any] = [{"op": "comment", "comment": f"ovn-lbc {__version__}: {', '.join(inputs)}"}]
    if existing is not None:
        ops.append(guard_op(existing))
    attach: dict[tuple[str, str], list[str]] = {}
    # The first row that needs each router or switch, to say where it is named.
    needed_by: dict[tuple[str, str], LoadBalancerRow] = {}
    for row in changes.rows:
        for key in (("Logical_Router", row.router), ("Logical_Switch", row.switch)):
            attach.setdefault(key, [])
            needed_by.setdefault(key, row)
    origins: list[LoadBalancerRow | None] = [None] * len(ops)
    for table, name in attach:
        ops.append(_wait_exists(table, name))
        origins.append(needed_by[(table, name)])
    for index, row in enumerate(changes.rows, start=1):
        row_ops, lb_name = _row_ops(row, index, existing)
        ops.extend(row_ops)
        origins.extend([row] * len(row_ops))
        attach[("Logical_Router", row.router)].append(lb_name)
        attach[("Logical_Switch", row.switch)].append(lb_name)
    for (table, name), lb_names in attach.items():
        ops.append(
            {
                "op": "mutate",
                "table": table,
                "where": [["name", "==", name]],
                "mutations": [["load_balancer", "insert", _named_set(lb_names)]],
            }
        )
        origins.append(needed_by[(table, name)])
    return Transaction([DATABASE, *ops], origins)


def emit_json(changes: NorthboundChanges, inputs: Sequence[str], *, pretty: bool = False) -> str:
    """The transaction as JSON text, deterministic; one op per line unless pretty."""
    params = build_transaction(changes, inputs).params
    if pretty:
        return json.dumps(params, indent=2, ensure_ascii=False) + "\n"
    # Compact, but one operation per line so a diff of two runs stays readable.
    body = ",\n ".join(json.dumps(item, ensure_ascii=False, separators=(",", ":")) for item in params)
    return f"[{body}]\n"
