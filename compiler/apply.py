"""``ovn-lbc plan`` and ``apply``: the workflow over the stages below.

read the database (ovsdb/) -> bring its facts into the compilation
(compilation.compile_against) -> diff (plan) -> guarded transaction
(emit.ovsdb) -> send -> check every result.

ovsdb-client exits 0 even when an operation failed; this does not. On any
failure the server has applied nothing (one transaction), and the error says
which operation failed, why in the server's words, and which input line the
operation came from. A failed guard says which row another client changed
between the read and the commit.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .compilation import CheckedInput, Compilation, compile_against
from .diagnostics import CompileError
from .emit.ovsdb import DATABASE, Transaction, build_plan_transaction, describe_guard
from .gcpause import paused_gc
from .ovn_versions import OLDEST_SUPPORTED, SCHEMA_RELEASES, release_of_schema
from .ovsdb.client import Connection, OvsdbError, SslFiles, connect
from .ovsdb.state import READ_COLUMNS, NorthboundState, read_state
from .plan import Plan, make_plan

# What a plan reads and writes: refuse a server whose schema lacks any of it.
REQUIRED_COLUMNS = {**READ_COLUMNS, "NB_Global": ("nb_cfg", "sb_cfg", "hv_cfg")}


class GuardFailed(OvsdbError):
    """A row the plan read changed before the plan's transaction committed."""


@dataclass(frozen=True, slots=True)
class ApplyReport:
    remote: str
    operations: int  # 0: nothing to do, nothing sent
    summary: str
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
    version = str(schema.get("version", "?"))
    if release_of_schema(version) is None:
        raise OvsdbError(
            f"the server's {DATABASE} schema {version} is older than OVN {OLDEST_SUPPORTED}'s "
            f"({'.'.join(str(part) for part in SCHEMA_RELEASES[0][0])}), "
            "the oldest OVN ovn-lbc supports"
        )
    return version


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


def check_results(txn: Transaction, results: Any) -> None:
    """Raise OvsdbError naming the first failed operation, if any (GuardFailed for a guard)."""
    if not isinstance(results, list):
        raise OvsdbError(f"unexpected transact result: {results!r}")
    for index, result in enumerate(results):
        if isinstance(result, dict) and result.get("error"):
            if index < len(txn.params) - 1 and (changed := describe_guard(txn.params[index + 1])) is not None:
                raise GuardFailed(f"{changed} since ovn-lbc read the database; nothing was applied")
            reason = result["error"] + (f": {result['details']}" if result.get("details") else "")
            if index >= len(txn.params) - 1:  # a commit-time failure comes after the operations
                raise OvsdbError(f"the transaction failed at commit: {reason}")
            raise OvsdbError(f"{_describe(txn, index)} failed: {reason}; nothing was applied")


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


@contextmanager
def _session(remote: str, ssl_files: SslFiles | None) -> Iterator[tuple[Connection, str]]:
    with connect(remote, DATABASE, ssl_files) as connection:
        yield connection, check_schema(connection.call("get_schema", [DATABASE]))


def plan_against(
    compiled: CheckedInput | Compilation, state: NorthboundState, *, adopt: bool = False, destroy: bool = False
) -> Plan:
    """The plan for checked files against ``state`` (live or from a dump);
    CompileError when the file and the database disagree (every such problem
    at once: the facts' and the plan's)."""
    compilation, diagnostics = compile_against(compiled, state, destroy=destroy)
    plan, problems = make_plan(
        compilation.document,
        compilation.changes,
        state,
        adopt=adopt,
        destroy=destroy,
        found_ports=compilation.found_ports,
    )
    diagnostics.extend(problems)
    if diagnostics:
        raise CompileError(diagnostics, compilation.sources)
    return plan


def plan_live(
    compiled: CheckedInput | Compilation,
    remote: str,
    *,
    ssl_files: SslFiles | None = None,
    adopt: bool = False,
    destroy: bool = False,
) -> tuple[Plan, str]:
    """The plan against a live database, and the database's address."""
    with _session(remote, ssl_files) as (connection, version):
        state = read_state(connection, version)
        return plan_against(compiled, state, adopt=adopt, destroy=destroy), connection.remote


def send(connection: Connection, txn: Transaction, *, wait: str = "none", timeout: float = 60.0) -> int:
    """Send ``txn`` (with ``--wait``, bump nb_cfg in it and wait); return its operation count."""
    if len(txn.params) == 1:
        return 0  # an empty plan: nothing to send, nothing to wait for
    wait_column = {"sb": "sb_cfg", "hv": "hv_cfg"}.get(wait)
    if wait_column:
        # Bump nb_cfg in the same transaction, as ovn-nbctl --wait does.
        bump = [
            {"op": "mutate", "table": "NB_Global", "where": [], "mutations": [["nb_cfg", "+=", 1]]},
            {"op": "select", "table": "NB_Global", "where": [], "columns": ["nb_cfg"]},
        ]
        txn = Transaction(txn.params + bump, txn.origins + [None] * len(bump))
    results = connection.call("transact", txn.params)
    check_results(txn, results)
    if wait_column:
        _wait_for(connection, wait_column, results[-1]["rows"][0]["nb_cfg"], timeout)
    return len(txn.params) - 1


def apply_compilation(
    compiled: CheckedInput | Compilation,
    inputs: Sequence[str],
    remote: str,
    *,
    ssl_files: SslFiles | None = None,
    adopt: bool = False,
    destroy: bool = False,
    wait: str = "none",
    timeout: float = 60.0,
    progress: bool = False,
) -> ApplyReport:
    """Plan against the database and carry the plan out in one transaction.

    Raises CompileError when the file and the database disagree (nothing sent),
    OvsdbError when the server refuses or a guard fails (nothing applied).
    """
    started = time.perf_counter()
    with _session(remote, ssl_files) as (connection, version):
        with paused_gc():
            plan = plan_against(compiled, read_state(connection, version), adopt=adopt, destroy=destroy)
            txn = build_plan_transaction(plan, inputs)
        if progress and plan:
            print(
                f"ovn-lbc: {plan.summary()} Sending {len(txn.params) - 1} operations to {connection.remote} "
                f"(schema {version})...",
                file=sys.stderr,
                flush=True,
            )
        operations = send(connection, txn, wait=wait, timeout=timeout)
        return ApplyReport(connection.remote, operations, plan.summary(), version, time.perf_counter() - started)


def saved_plan_problem(params: Any) -> str | None:
    """Why ``params`` is not a transaction ``plan --format json`` could have written, or None."""
    if isinstance(params, list) and params and params[0] == DATABASE and all(isinstance(op, dict) for op in params[1:]):
        return None
    return f'expected a JSON array ["{DATABASE}", operation, ...]'


def apply_saved_plan(
    params: list[Any],
    remote: str,
    *,
    ssl_files: SslFiles | None = None,
    wait: str = "none",
    timeout: float = 60.0,
) -> ApplyReport:
    """Send a transaction ``plan --format json`` wrote (check it with
    ``saved_plan_problem`` first). Its guards make it fail, changing nothing,
    when the database moved since the plan was made."""
    started = time.perf_counter()
    with _session(remote, ssl_files) as (connection, version):
        txn = Transaction(params, [None] * (len(params) - 1))
        try:
            operations = send(connection, txn, wait=wait, timeout=timeout)
        except GuardFailed as exc:
            raise GuardFailed(f"the database moved since the plan was made: {exc}") from exc
        summary = "No changes." if operations == 0 else "the saved plan"
        return ApplyReport(connection.remote, operations, summary, version, time.perf_counter() - started)
