"""ovn-lbc: a compiler for OVN network load balancers.

The pipeline, one module per stage::

    frontend (YAML/JSON/DSL text -> model)  ->  checks  ->  lower (model -> NB rows)
        ->  plan (rows vs. what the database holds; optional)
        ->  emit (ovn-nbctl script, OVSDB transaction, readable plan)
        ->  ovsdb (apply to a live database)

``compile_files`` runs all of it; the CLI is a thin layer over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .checks import CHECKS, DATABASE_CHECKS, run_checks
from .diagnostics import CompileError, Diagnostic, SourceRegistry
from .frontend import load_files
from .gcpause import paused_gc
from .ir import Document, Target
from .lower import NorthboundChanges, lower
from .ovn_versions import OvnVersion

__version__ = "0.1.0"


@dataclass(frozen=True, slots=True)
class Compilation:
    """A successful run: the model, its rows and any warnings."""

    document: Document
    changes: NorthboundChanges
    warnings: tuple[Diagnostic, ...]
    sources: SourceRegistry


def compile_files(
    paths: Sequence[str],
    *,
    input_format: str | None = None,
    against_database: bool = False,
    ovn_version: OvnVersion | None = None,
) -> Compilation:
    """Read, check and lower ``paths``; raise CompileError listing every error.

    With ``against_database`` (plan, apply, destroy) two checks wait for the
    database (compiler.plan): a health-checked backend may lack a switch port,
    which the plan looks up, and the target release may come from the
    database's schema version.
    ``ovn_version`` (``--ovn-version``) overrides the files' ``target_ovn``.
    """
    checks = CHECKS
    if against_database:
        checks = tuple(check for check in CHECKS if check not in DATABASE_CHECKS)
    with paused_gc():
        document, diagnostics, sources = load_files(paths, input_format=input_format)
        if ovn_version is not None:
            document = replace(document, declared_target=Target(ovn_version, "--ovn-version"))
        diagnostics.extend(run_checks(document, checks))
        if any(d.is_error for d in diagnostics):
            raise CompileError(diagnostics, sources)
        return Compilation(document, lower(document), tuple(diagnostics), sources)


__all__ = ["Compilation", "CompileError", "Diagnostic", "compile_files", "__version__"]
