"""``ovn-lbc apply``: send the changes as one transaction and check every result.

ovsdb-client exits 0 even when an operation failed; this does not. On any
failure the server has applied nothing (one transaction), and the error says
which operation failed, why in the server's words, and which input line the
operation came from.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..emit.ovsdb import DATABASE, ExistingRows, Transaction, build_transaction
from ..gcpause import paused_gc
from ..lower import NorthboundChanges
from .client import Connection, OvsdbError, SslFiles, connect

# What the transaction touches: refuse a server whose schema lacks any of it.
REQUIRED_COLUMNS = {
    "Load_Balancer": ("name", "protocol", "vips", "health_check", "ip_port_mappings", "external_ids"),
    "Load_Balancer_Health_Check": ("vip", "options", "external_ids"),
    "Logical_Router": ("name", "load_balancer"),
    "Logical_Switch": ("name", "load_balancer"),
    "NB_Global": ("nb_cfg", "sb_cfg", "hv_cfg"),
}
# Another client changing Load_Balancer between our read and our commit fails
# the guard; read again and retry this many times before giving up.
GUARD_ATTEMPTS = 3
GUARD_INDEX = 1  # the guard is the operation after the comment


class GuardFailed(OvsdbError):
    """Load_Balancer changed between the read and the transaction."""


@dataclass(frozen=True, slots=True)
class ApplyReport:
    remote: str
    operations: int
    rows: int
    schema_version: str
    seconds: float


def check_schema(schema: dict[str, Any]) -> str:
    """The schema's version; raise when a table or column we write is missing."""
    tables = schema.get("tables", {})
    for table, columns in REQUIRED_COLUMNS.items():
        if table not in tables:
            raise OvsdbError(f"the server's {DATABASE} schema has no table {table}")
        missing = [c for c in columns if c not in tables[table].get("columns", {})]
        if missing:
            raise OvsdbError(f"the server's {DATABASE} schema lacks {table} column(s) {', '.join(missing)}")
    return str(schema.get("version", "?"))


def _describe(txn: Transaction, index: int) -> str:
    op = txn.params[index + 1]
    what = f"operation {index + 1} ({op.get('op')} {op.get('table', '')}".rstrip() + ")"
    origin = txn.origins[index]
    if op.get("op") in ("wait", "mutate") and op.get("where"):
        what += f" on {op['where'][0][2]!r}"
        if origin is not None:
            what += f", which {origin.name} from {origin.source.file}:{origin.source.line} attaches to"
    elif origin is not None:
        what += f" for {origin.name}, from {origin.source.file}:{origin.source.line}"
    return what


def check_results(txn: Transaction, results: Any, *, guarded: bool = False) -> None:
    """Raise OvsdbError naming the first failed operation, if any."""
    if not isinstance(results, list):
        raise OvsdbError(f"unexpected transact result: {results!r}")
    for index, result in enumerate(results):
        if isinstance(result, dict) and result.get("error"):
            if guarded and index == GUARD_INDEX:
                raise GuardFailed("another client changed the Load_Balancer table while ovn-lbc was applying")
            reason = result["error"] + (f": {result['details']}" if result.get("details") else "")
            if index >= len(txn.origins):  # a commit-time failure comes after the operations
                raise OvsdbError(f"the transaction failed at commit: {reason}")
            raise OvsdbError(f"{_describe(txn, index)} failed: {reason}; nothing was applied")


def read_existing(connection: Connection) -> ExistingRows:
    """Every Load_Balancer row's UUID, by name."""
    result = connection.call(
        "transact", [DATABASE, {"op": "select", "table": "Load_Balancer", "where": [], "columns": ["_uuid", "name"]}]
    )
    if not isinstance(result, list) or not result or "rows" not in result[0]:
        raise OvsdbError(f"cannot read the Load_Balancer table: {result!r}")
    existing: dict[str, list[str]] = {}
    for row in result[0]["rows"]:
        existing.setdefault(row["name"], []).append(row["_uuid"][1])
    return existing


def _wait_for(connection: Connection, column: str, target: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = connection.call(
            "transact", [DATABASE, {"op": "select", "table": "NB_Global", "where": [], "columns": [column]}]
        )
        rows = result[0].get("rows", [])
        if rows and rows[0].get(column, 0) >= target:
            return
        if time.monotonic() > deadline:
            raise OvsdbError(f"applied, but {column} did not reach {target} within {timeout:g} s (is ovn-northd up?)")
        time.sleep(0.05)


def apply_changes(
    changes: NorthboundChanges,
    inputs: Sequence[str],
    remote: str,
    *,
    ssl_files: SslFiles | None = None,
    wait: str = "none",
    timeout: float = 60.0,
    progress: bool = False,
) -> ApplyReport:
    started = time.perf_counter()
    wait_column = {"sb": "sb_cfg", "hv": "hv_cfg"}.get(wait)
    with connect(remote, DATABASE, ssl_files) as connection:
        version = check_schema(connection.call("get_schema", [DATABASE]))
        for attempt in range(1, GUARD_ATTEMPTS + 1):
            with paused_gc():
                txn = build_transaction(changes, inputs, read_existing(connection))
            if wait_column:
                # Bump nb_cfg in the same transaction, as ovn-nbctl --wait does.
                bump = [
                    {"op": "mutate", "table": "NB_Global", "where": [], "mutations": [["nb_cfg", "+=", 1]]},
                    {"op": "select", "table": "NB_Global", "where": [], "columns": ["nb_cfg"]},
                ]
                txn = Transaction(txn.params + bump, txn.origins + [None] * len(bump))
            operations = len(txn.params) - 1
            if progress:
                print(
                    f"ovn-lbc: applying {len(changes.rows)} rows in {operations} operations "
                    f"to {connection.remote} (schema {version})...",
                    file=sys.stderr,
                    flush=True,
                )
            results = connection.call("transact", txn.params)
            try:
                check_results(txn, results, guarded=True)
                break
            except GuardFailed as exc:
                if attempt == GUARD_ATTEMPTS:
                    raise OvsdbError(f"{exc} ({GUARD_ATTEMPTS} attempts); nothing was applied") from exc
        if wait_column:
            target = results[-1]["rows"][0]["nb_cfg"]
            _wait_for(connection, wait_column, target, timeout)
        return ApplyReport(connection.remote, operations, len(changes.rows), version, time.perf_counter() - started)
