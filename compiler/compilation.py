"""One compilation: files -> front end -> checks -> (database facts) -> lowering.

Offline (check, compile, convert, sandbox) every check runs on the file
alone. Against a database (plan, apply, destroy) the file is read and checked
before connecting, so a bad file is reported without touching the database,
but the checks that need the database's facts (compiler.facts) wait for
them: ``check_files(..., against_database=True)`` leaves them out, and
``compile_against`` brings the facts in, runs those checks once and lowers
the model once. Planning (compiler.plan) then only compares rows.

The fast path (``fast=True``, for runs that print no source location of a
valid file: ``check``, ``compile --format json``, ``apply``) reads JSON with
the json module and builds the model without spans. As soon as the run has
any diagnostic to print (an error, a warning or a note), it is read again
from the same texts on the located path, so every diagnostic is exactly as
without it; ``located`` says which path a result came from, and
``relocated`` gives the located result of an unlocated one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from .checks import CHECKS, DATABASE_CHECKS, Check, check_ovn_version, run_checks
from .diagnostics import CompileError, Diagnostic, SourceRegistry
from .frontend import Input, NotPlain, build_document, read_sources
from .gcpause import paused_gc
from .ir import Document, Target
from .lower import NorthboundChanges, lower
from .ovn_versions import OvnVersion

if TYPE_CHECKING:
    from .facts import FoundPort
    from .ovsdb.state import NorthboundState


@dataclass(frozen=True, slots=True)
class CheckedInput:
    """Files read and checked, not yet lowered. With ``database_checks_deferred``
    the checks in checks.DATABASE_CHECKS are left for ``compile_against``."""

    document: Document
    warnings: tuple[Diagnostic, ...]
    sources: SourceRegistry
    database_checks_deferred: bool = False
    # False: built on the fast path, without spans (see the module's docstring).
    located: bool = True
    rerun: _Rerun | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Compilation:
    """A successful run: the model, its rows and any warnings; against a
    database, also the switch ports found there."""

    document: Document
    changes: NorthboundChanges
    warnings: tuple[Diagnostic, ...]
    sources: SourceRegistry
    found_ports: tuple[FoundPort, ...] = ()
    located: bool = True
    rerun: _Rerun | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class _Rerun:
    """What an unlocated result was made from, to make it again on the located path."""

    read: tuple[Input, ...]
    sources: SourceRegistry
    checks: tuple[Check, ...]
    ovn_version: OvnVersion | None
    against_database: bool


def check_files(
    paths: Sequence[str],
    *,
    input_format: str | None = None,
    against_database: bool = False,
    ovn_version: OvnVersion | None = None,
    fast: bool = False,
) -> CheckedInput:
    """Read and check ``paths``; raise CompileError listing every error.

    With ``against_database`` (plan, apply, destroy) the checks that wait for
    the database's facts are left out: a health-checked backend may lack a
    switch port, which the database has, and the target release may come
    from the database's schema version.
    ``ovn_version`` (``--ovn-version``) overrides the files' ``target_ovn``.
    ``fast``: the fast path when the files have nothing to report (the
    module's docstring); the result's spans are then placeholders.
    """
    checks = CHECKS
    if against_database:
        checks = tuple(check for check in CHECKS if check not in DATABASE_CHECKS)
    with paused_gc():
        read, sources = read_sources(paths, input_format=input_format)
        rerun = _Rerun(tuple(read), sources, checks, ovn_version, against_database)
        if fast:
            try:
                document, _ = build_document(read, fast=True)
                document = _with_version(document, ovn_version)
                if not run_checks(document, checks):
                    return CheckedInput(document, (), sources, against_database, located=False, rerun=rerun)
            except NotPlain:
                pass
        return _check_located(rerun)


def _with_version(document: Document, ovn_version: OvnVersion | None) -> Document:
    if ovn_version is None:
        return document
    return replace(document, declared_target=Target(ovn_version, "--ovn-version"))


def _check_located(rerun: _Rerun) -> CheckedInput:
    with paused_gc():
        document, diagnostics = build_document(rerun.read)
        document = _with_version(document, rerun.ovn_version)
        diagnostics.extend(run_checks(document, rerun.checks))
        if any(d.is_error for d in diagnostics):
            raise CompileError(diagnostics, rerun.sources)
        return CheckedInput(document, tuple(diagnostics), rerun.sources, rerun.against_database)


def compile_files(
    paths: Sequence[str],
    *,
    input_format: str | None = None,
    ovn_version: OvnVersion | None = None,
    fast: bool = False,
) -> Compilation:
    """Read, check and lower ``paths`` on their own; raise CompileError listing every error."""
    with paused_gc():
        checked = check_files(paths, input_format=input_format, ovn_version=ovn_version, fast=fast)
        return _lowered(checked)


def _lowered(checked: CheckedInput) -> Compilation:
    return Compilation(
        checked.document,
        lower(checked.document),
        checked.warnings,
        checked.sources,
        located=checked.located,
        rerun=checked.rerun,
    )


def relocated(compiled: CheckedInput | Compilation) -> CheckedInput | Compilation:
    """The same result with its spans: ``compiled`` itself when it has them,
    else made again from the same texts on the located path (where a run that
    took the fast path finds it must print a location after all)."""
    if compiled.located:
        return compiled
    assert compiled.rerun is not None
    checked = _check_located(compiled.rerun)
    return checked if isinstance(compiled, CheckedInput) else _lowered(checked)


def compile_against(
    compiled: CheckedInput | Compilation, state: NorthboundState, *, destroy: bool = False
) -> tuple[Compilation, list[Diagnostic]]:
    """The compilation with the database's facts in it, and the problems they
    raise (the caller adds the plan's own and reports them all at once).

    ``destroy`` needs no facts: it removes what the networks own.
    A Compilation (every check already run offline) is lowered again only
    when the database supplied switch ports, and its version check runs
    again only when the database's release lowers the target.
    """
    from .facts import database_target, discover_switch_ports  # the database's side: not for `check`

    document = compiled.document
    diagnostics: list[Diagnostic] = []
    found: tuple[FoundPort, ...] = ()
    deferred = isinstance(compiled, CheckedInput) and compiled.database_checks_deferred
    with paused_gc():
        if not destroy:
            bounded = database_target(document, state)
            if deferred or bounded is not document:
                diagnostics.extend(check_ovn_version(bounded))
            document, found, problems = discover_switch_ports(document, state)
            diagnostics.extend(problems)
        if isinstance(compiled, Compilation) and not found:
            changes = compiled.changes
        else:
            changes = lower(document)
    compilation = Compilation(
        document, changes, compiled.warnings, compiled.sources, found, located=compiled.located, rerun=compiled.rerun
    )
    return compilation, diagnostics
