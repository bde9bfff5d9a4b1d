"""``ovn-lbc plan`` and ``apply``: the workflow over the stages below.

read the database (ovsdb/) -> bring its facts into the compilation
(compilation.compile_against) -> diff (plan) -> guarded transaction
(emit.ovsdb) -> send -> check every result.

ovsdb-client exits 0 even when an operation failed; this does not. On any
failure the server has applied nothing (one transaction), and the error says
which operation failed, why in the server's words, and which input line the
operation came from. A failed guard says which row another client changed
between the read and the commit.

What the outcome is when things go wrong, in the exceptions raised (and the
command's exit status): nothing was applied (OvsdbError, 3); the changes
are committed but the ``--wait`` for ovn-northd or the hypervisors failed
(WaitFailed, 4); the transaction went out whole but no usable answer came
back, so it was applied whole or not at all (OutcomeUnknown, 5). An
interrupt (Interrupted, a KeyboardInterrupt) says which of these it left.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from .compilation import CheckedInput, Compilation, compile_against, relocated
from .diagnostics import CompileError
from .emit.ovsdb import DATABASE, PlannedTransaction, Transaction, build_plan_transaction, describe_guard
from .gcpause import paused_gc
from .ovn_versions import OLDEST_SUPPORTED, SCHEMA_RELEASES, release_of_schema
from .ovsdb.client import Connection, Limits, OvsdbError, PeerError, SslFiles, connect
from .ovsdb.state import READ_COLUMNS, NorthboundState, read_fingerprint, read_state
from .plan import Plan, make_plan
from .saved_plan import saved_plan_problem

# What a plan reads and writes: refuse a server whose schema lacks any of it.
REQUIRED_COLUMNS = {
    **READ_COLUMNS,
    "NB_Global": tuple(dict.fromkeys((*READ_COLUMNS.get("NB_Global", ()), "nb_cfg", "sb_cfg", "hv_cfg"))),
}
# How long --wait waits for ovn-northd (or the hypervisors) when the command has no --timeout.
WAIT_TIMEOUT = 60.0


class GuardFailed(OvsdbError):
    """A row the plan read changed before the plan's transaction committed."""


class WaitFailed(OvsdbError):
    """The changes are committed, but waiting for ovn-northd or the hypervisors failed."""


class OutcomeUnknown(OvsdbError):
    """The transaction went out whole and no usable answer came: it was applied whole or not at all."""


class _BadAnswer(OvsdbError):
    """An answer to a transaction that is not what RFC 7047 says it is."""


class Interrupted(KeyboardInterrupt):
    """SIGINT, with what it left behind."""


@dataclass(frozen=True, slots=True)
class ApplyReport:
    remote: str
    operations: int  # 0: nothing to do, nothing sent
    summary: str
    schema_version: str
    seconds: float
    # The fingerprint of the database a plan found nothing to do in (compiler.unchanged).
    unchanged_fingerprint: str | None = None


def check_schema(schema: Any) -> str:
    """The schema's version; raise when a table or column we write is missing."""
    tables = schema.get("tables") if isinstance(schema, dict) else None
    if not isinstance(tables, dict):
        raise OvsdbError("the server's answer to get_schema is not an OVSDB schema (no object of tables)")
    for table, columns in REQUIRED_COLUMNS.items():
        if table not in tables:
            raise OvsdbError(f"the server's {DATABASE} schema has no table {table}")
        found = tables[table].get("columns") if isinstance(tables[table], dict) else None
        if not isinstance(found, dict):
            raise OvsdbError(f"the server's {DATABASE} schema is malformed: table {table} has no object of columns")
        missing = [c for c in columns if c not in found]
        if missing:
            raise OvsdbError(f"the server's {DATABASE} schema lacks {table} column(s) {', '.join(missing)}")
    version = str(schema.get("version", "?"))
    if release_of_schema(version) is None:
        raise OvsdbError(
            f"the server's {DATABASE} schema {version[:40]!r} is older than OVN {OLDEST_SUPPORTED}'s "
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


def _reason(result: dict[str, Any]) -> str:
    error, details = result.get("error"), result.get("details")
    reason = error if isinstance(error, str) else json.dumps(error, default=str)
    if details:
        reason += f": {details if isinstance(details, str) else json.dumps(details, default=str)}"
    # The server's words, on one line and bounded: they may come from a hostile peer.
    reason = reason.encode("unicode_escape").decode("ascii")
    return reason if len(reason) <= 500 else reason[:500] + "..."


def check_results(txn: Transaction, results: Any) -> None:
    """Raise OvsdbError naming the first failed operation, if any (GuardFailed for a guard)."""
    _check_answer(results, len(txn.params) - 1, lambda: txn)


def _check_answer(results: Any, operations: int, whole: Callable[[], Transaction]) -> None:
    """check_results for a transaction of ``operations`` operations that
    ``whole`` makes (only when an operation failed and must be named)."""
    if not (isinstance(results, list) and all(result is None or isinstance(result, dict) for result in results)):
        raise _BadAnswer(f"the answer to the transaction is not a list of results (objects): {_brief(results)}")
    for index, result in enumerate(results):
        if isinstance(result, dict) and result.get("error"):
            if index >= operations:  # a commit-time failure comes after the operations
                raise OvsdbError(f"the transaction failed at commit: {_reason(result)}; nothing was applied")
            txn = whole()
            if (changed := describe_guard(txn.params[index + 1])) is not None:
                raise GuardFailed(f"{changed} since ovn-lbc read the database; nothing was applied")
            raise OvsdbError(f"{_describe(txn, index)} failed: {_reason(result)}; nothing was applied")
    # No error: then every operation has its result, or the answer is not one of ovsdb-server's.
    if len(results) < operations or any(result is None for result in results[:operations]):
        raise _BadAnswer(f"the answer to the transaction lacks results of {operations} operations: {_brief(results)}")


def _brief(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=True)
    return text if len(text) <= 200 else text[:200] + "..."


def _check_located_results(located: Transaction, sent: Transaction, results: Any) -> None:
    """Raise what check_results raises for ``sent``, from ``located``: the same
    operations, whose origins have their spans (the bump of --wait added after them)."""
    extra = len(sent.params) - len(located.params)
    if extra < 0 or located.params != sent.params[: len(located.params)]:
        return  # not the same transaction: the sent one's message stands
    check_results(Transaction(sent.params, located.origins + sent.origins[len(located.origins) :]), results)


def _nb_cfg(results: Any) -> int:
    """nb_cfg as the transaction's last operation (a select) read it."""
    rows = results[-1].get("rows") if isinstance(results[-1], dict) else None
    value = rows[0].get("nb_cfg") if isinstance(rows, list) and rows and isinstance(rows[0], dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise WaitFailed(
            f"the changes are committed, but the answer holds no NB_Global nb_cfg to wait for: {_brief(results[-1])}"
        )
    return value


def _wait_for(connection: Connection, column: str, target: int, timeout: float | None) -> None:
    """Poll NB_Global until ``column`` reaches ``target``, for ``timeout`` seconds
    or, when None, until the command's deadline (else WAIT_TIMEOUT); WaitFailed
    (the changes are in) otherwise."""
    if timeout is None and connection.deadline is not None:
        end, within = connection.deadline, "before the command's --timeout ran out"
    else:
        seconds = WAIT_TIMEOUT if timeout is None else timeout
        end, within = time.monotonic() + seconds, f"within {seconds:g} s"
        if connection.deadline is not None and connection.deadline < end:
            end, within = connection.deadline, "before the command's --timeout ran out"
    whom = "ovn-northd" if column == "sb_cfg" else "every hypervisor"
    reached: Any = None
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise WaitFailed(
                f"the changes are committed, but {whom} did not catch up {within} "
                f"({column} {reached} < nb_cfg {target}; is ovn-northd running?)"
            )
        try:
            result = connection.call(
                "transact",
                [DATABASE, {"op": "select", "table": "NB_Global", "where": [], "columns": [column]}],
                timeout=left,
            )
        except OvsdbError as exc:
            raise WaitFailed(f"the changes are committed, but waiting for {whom} failed: {exc}") from None
        rows = result[0].get("rows") if isinstance(result, list) and result and isinstance(result[0], dict) else None
        if not (isinstance(rows, list) and rows and isinstance(rows[0], dict)):
            raise WaitFailed(f"the changes are committed, but NB_Global cannot be read to wait: {_brief(result)}")
        reached = rows[0].get(column, 0)
        if isinstance(reached, int) and reached >= target:
            return
        time.sleep(min(0.05, max(end - time.monotonic(), 0)))


def _limits(limits: Limits | None, timeout: float | None) -> Limits:
    """``timeout`` bounds the whole command (``--timeout``)."""
    chosen = limits or Limits()
    return chosen if timeout is None else replace(chosen, total=timeout)


def schema_version(connection: Connection) -> str:
    """The Northbound schema's version, after checking it is one ovn-lbc can
    write to; OvsdbError naming the remote when not."""
    try:
        return check_schema(connection.call("get_schema", [DATABASE]))
    except OvsdbError as exc:
        if str(exc).startswith(connection.remote):
            raise
        raise OvsdbError(f"{connection.remote}: {exc}") from None


@contextmanager
def _session(remote: str, ssl_files: SslFiles | None, limits: Limits) -> Iterator[tuple[Connection, str]]:
    with connect(remote, DATABASE, ssl_files, limits) as connection:
        yield connection, schema_version(connection)


class EarlyRead:
    """The database read in a thread, begun before the files are compiled.

    Compiling is Python's work and reading is mostly ovsdb-server's (a re-apply
    of 10,000 load balancers waits 1.5 s for the server to write out its rows):
    on two cores the two overlap. Nothing is written by a read, and what it
    finds only counts once the files have compiled: a bad file is still exit 1
    with the database's own problems unsaid (``abandon``), and a good one meets
    any error of the read (connecting, the schema) exactly as without the
    thread, raised by ``take``. The plan's guards make a read taken early as
    safe as one taken late: a row changed in between fails the transaction.
    """

    def __init__(
        self,
        remote: str,
        *,
        ssl_files: SslFiles | None = None,
        limits: Limits | None = None,
        expected: str | None = None,
    ) -> None:
        """``expected``: a fingerprint (compiler.unchanged) to compare first; when
        the database still has it, nothing more is read (``unchanged``)."""
        self._remote, self._ssl_files, self._limits = remote, ssl_files, limits or Limits()
        self._expected = expected
        self._lock = threading.Lock()
        self._abandoned = False
        self._connection: Connection | None = None
        self._result: tuple[Connection, str, NorthboundState] | None = None
        self._error: BaseException | None = None
        self._unchanged = False
        self._compared = threading.Event()
        self._thread = threading.Thread(target=self._read, name="ovn-lbc-read", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            connection = connect(self._remote, DATABASE, self._ssl_files, self._limits)
            with self._lock:
                if self._abandoned:
                    connection.close()
                    return
                self._connection = connection
            version = schema_version(connection)
            if self._expected is not None and read_fingerprint(connection, version) == self._expected:
                self._unchanged = True
                self._compared.set()
                connection.close()
                return
            self._compared.set()
            with paused_gc():
                self._result = connection, version, read_state(connection, version)
        except BaseException as exc:  # handed to the main thread by take(), whatever it is
            self._error = exc
        finally:
            self._compared.set()

    @property
    def remote(self) -> str:
        """The remote the read reached (before it connects: the one asked for)."""
        connection = self._connection
        return connection.remote if connection is not None else self._remote

    def unchanged(self) -> bool:
        """Whether the database still has the expected fingerprint (waits for the
        comparison only; False when there was none to make, or the read failed:
        the whole path then meets the failure as usual)."""
        if self._expected is None:
            return False
        self._compared.wait()
        return self._unchanged

    def take(self) -> tuple[Connection, str, NorthboundState]:
        """The open connection, the schema version and the rows; what the read raised, if it failed."""
        self._thread.join()
        if self._error is not None:
            if self._connection is not None:
                self._connection.close()
            raise self._error
        assert self._result is not None
        return self._result

    def abandon(self) -> None:
        """Stop the read if it is still going and close its connection (a read
        blocked on the server ends at once; one still connecting, when it
        connects). Also when the read is done and nobody took it (a bad file
        met a quick database): the socket would otherwise wait for the
        collector. Closing one a session already closed does nothing."""
        with self._lock:
            self._abandoned = True
            connection = self._connection
        if connection is not None:
            connection.abort()


@contextmanager
def _read_session(
    remote: str, ssl_files: SslFiles | None, limits: Limits, early: EarlyRead | None
) -> Iterator[tuple[Connection, str, NorthboundState]]:
    """A connection, the schema version and the rows: from ``early`` when the read began there."""
    if early is not None:
        connection, version, state = early.take()
        with connection:
            yield connection, version, state
        return
    with _session(remote, ssl_files, limits) as (connection, version):
        with paused_gc():
            state = read_state(connection, version)
        yield connection, version, state


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
        if not compiled.located:  # the diagnostics need the file's locations
            return plan_against(relocated(compiled), state, adopt=adopt, destroy=destroy)
        raise CompileError(diagnostics, compilation.sources)
    return plan


def plan_live(
    compiled: CheckedInput | Compilation,
    remote: str,
    *,
    ssl_files: SslFiles | None = None,
    adopt: bool = False,
    destroy: bool = False,
    timeout: float | None = None,
    limits: Limits | None = None,
    early: EarlyRead | None = None,
) -> tuple[Plan, str]:
    """The plan against a live database, and the database's address.
    ``timeout`` bounds the whole of it (connecting included); ``early``: the
    read already begun (then its own remote and limits hold)."""
    with _read_session(remote, ssl_files, _limits(limits, timeout), early) as (connection, _, state):
        with paused_gc():
            return plan_against(compiled, state, adopt=adopt, destroy=destroy), connection.remote


def read_database(
    remote: str, *, ssl_files: SslFiles | None = None, limits: Limits | None = None
) -> tuple[NorthboundState, str]:
    """The rows a plan reads, from a live database, and the database's address
    (for what needs only the database's facts: ``import --db``)."""
    with _session(remote, ssl_files, _limits(limits, None)) as (connection, version):
        return read_state(connection, version), connection.remote


def _has_nb_global(connection: Connection) -> bool:
    result = connection.call("transact", [DATABASE, {"op": "select", "table": "NB_Global", "where": [], "columns": []}])
    rows = result[0].get("rows") if isinstance(result, list) and result and isinstance(result[0], dict) else None
    if not isinstance(rows, list):
        raise OvsdbError(f"cannot read NB_Global: the answer is {_brief(result)}")
    return bool(rows)


def send(
    connection: Connection,
    txn: Transaction | PlannedTransaction,
    *,
    wait: str = "none",
    timeout: float | None = None,
    located: Callable[[], Transaction] | None = None,
) -> int:
    """Send ``txn`` (with ``--wait``, bump nb_cfg in it and wait); return its operation count.

    A PlannedTransaction's operations are encoded and sent as they are made.
    ``timeout``: how long to wait for ovn-northd or the hypervisors (default:
    until the connection's deadline, or WAIT_TIMEOUT without one).
    ``located``: for a ``txn`` from the fast path, the same transaction with
    its origins' spans, made only when a failed operation must be named."""
    empty = not txn if isinstance(txn, PlannedTransaction) else len(txn.params) == 1
    if empty:
        return 0  # an empty plan: nothing to send, nothing to wait for
    wait_column = {"sb": "sb_cfg", "hv": "hv_cfg"}.get(wait)
    bump: list[dict[str, Any]] = []
    if wait_column:
        # Waiting reads NB_Global's counters: without the row there is nothing to
        # wait on, which is to be known before committing, not after.
        if not _has_nb_global(connection):
            raise OvsdbError(
                f"--wait={wait} needs the database's NB_Global row and it has none "
                "(ovn-northd or `ovn-nbctl init` makes it); nothing was sent"
            )
        # Bump nb_cfg in the same transaction, as ovn-nbctl --wait does.
        bump = [
            {"op": "mutate", "table": "NB_Global", "where": [], "mutations": [["nb_cfg", "+=", 1]]},
            {"op": "select", "table": "NB_Global", "where": [], "columns": ["nb_cfg"]},
        ]
    counted = 0

    def streamed(planned: PlannedTransaction) -> Iterator[Any]:
        nonlocal counted
        yield DATABASE
        for op in planned.operations():
            counted += 1
            yield op
        yield from bump

    def whole() -> Transaction:
        made = txn.whole() if isinstance(txn, PlannedTransaction) else txn
        return Transaction(made.params + bump, made.origins + [None] * len(bump))

    try:
        if isinstance(txn, PlannedTransaction):
            results = connection.call("transact", streamed(txn))
        else:
            results = connection.call("transact", txn.params + bump)
            counted = len(txn.params) - 1
        try:
            _check_answer(results, counted + len(bump), whole)
        except OvsdbError:
            if located is not None:
                _check_located_results(located(), whole(), results)
            raise
    except KeyboardInterrupt:
        if connection.request_sent:
            raise Interrupted(
                "interrupted with the transaction sent: it is applied whole or not at all (`ovn-lbc plan` shows which)"
            ) from None
        raise Interrupted("interrupted before the transaction went out whole; nothing was applied") from None
    except PeerError as exc:
        if not exc.sent:
            raise
        raise OutcomeUnknown(
            f"{exc}; the transaction was sent, so it is applied whole or not at all (`ovn-lbc plan` shows which)"
        ) from None
    except _BadAnswer as exc:
        raise OutcomeUnknown(
            f"{connection.remote}: {exc}; the transaction was sent, so it is applied whole or not at all "
            "(`ovn-lbc plan` shows which)"
        ) from None
    if wait_column:
        try:
            _wait_for(connection, wait_column, _nb_cfg(results), timeout)
        except KeyboardInterrupt:
            raise Interrupted(f"interrupted while waiting (--wait={wait}); the changes are committed") from None
    return counted + len(bump)


def apply_compilation(
    compiled: CheckedInput | Compilation,
    inputs: Sequence[str],
    remote: str,
    *,
    ssl_files: SslFiles | None = None,
    adopt: bool = False,
    destroy: bool = False,
    wait: str = "none",
    timeout: float | None = None,
    limits: Limits | None = None,
    progress: bool = False,
    early: EarlyRead | None = None,
) -> ApplyReport:
    """Plan against the database and carry the plan out in one transaction.

    ``timeout`` bounds the whole of it, the wait included (without it, each
    step has its own bound and --wait waits WAIT_TIMEOUT); ``early``: the
    read already begun (then its own remote and limits hold). Raises
    CompileError when the file and the database disagree (nothing sent),
    OvsdbError when the server refuses or a guard fails (nothing applied),
    WaitFailed and OutcomeUnknown as the module says.
    """
    started = time.perf_counter()
    with _read_session(remote, ssl_files, _limits(limits, timeout), early) as (connection, version, state):
        with paused_gc():
            plan = plan_against(compiled, state, adopt=adopt, destroy=destroy)

        def located() -> Transaction:
            with paused_gc():
                again = plan_against(relocated(compiled), state, adopt=adopt, destroy=destroy)
                return build_plan_transaction(again, inputs)

        # The transaction is made as it is sent (emit.ovsdb.PlannedTransaction):
        # built whole first, 10,000 load balancers peaked 53 MB higher.
        txn = PlannedTransaction(plan, inputs)
        if progress and plan:
            print(
                f"ovn-lbc: {plan.summary()} Sending {sum(1 for _ in txn.operations())} operations to "
                f"{connection.remote} (schema {version})...",
                file=sys.stderr,
                flush=True,
            )
        operations = send(connection, txn, wait=wait, located=None if compiled.located else located)
        return ApplyReport(
            connection.remote,
            operations,
            plan.summary(),
            version,
            time.perf_counter() - started,
            None if plan else state.fingerprint,
        )


def apply_saved_plan(
    params: list[Any],
    remote: str,
    *,
    ssl_files: SslFiles | None = None,
    wait: str = "none",
    timeout: float | None = None,
    limits: Limits | None = None,
) -> ApplyReport:
    """Send a transaction ``plan --format json`` wrote. It is checked first,
    before connecting (ValueError naming the operation that ovn-lbc's planner
    would not have written); its guards make it fail, changing nothing, when
    the database moved since the plan was made."""
    if (problem := saved_plan_problem(params)) is not None:
        raise ValueError(problem)
    started = time.perf_counter()
    with _session(remote, ssl_files, _limits(limits, timeout)) as (connection, version):
        txn = Transaction(params, [None] * (len(params) - 1))
        try:
            operations = send(connection, txn, wait=wait)
        except GuardFailed as exc:
            raise GuardFailed(f"the database moved since the plan was made: {exc}") from exc
        summary = "No changes." if operations == 0 else "The saved plan."
        return ApplyReport(connection.remote, operations, summary, version, time.perf_counter() - started)
