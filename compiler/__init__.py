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
from dataclasses import dataclass

from .checks import CHECKS, check_backends_have_switch_ports, run_checks
from .diagnostics import CompileError, Diagnostic, SourceRegistry
from .frontend import load_files
from .gcpause import paused_gc
from .ir import Document
from .lower import NorthboundChanges, lower

__version__ = "0.1.0"


@dataclass(frozen=True, slots=True)
class Compilation:
    """A successful run: the model, its rows and any warnings."""

    document: Document
    changes: NorthboundChanges
    warnings: tuple[Diagnostic, ...]
    sources: SourceRegistry


def compile_files(
    paths: Sequence[str], *, input_format: str | None = None, switch_ports_from_database: bool = False
) -> Compilation:
    """Read, check and lower ``paths``; raise CompileError listing every error.

    With ``switch_ports_from_database`` a health-checked backend may lack a
    switch port: the plan looks it up in the database (compiler.plan).
    """
    checks = CHECKS
    if switch_ports_from_database:
        checks = tuple(check for check in CHECKS if check is not check_backends_have_switch_ports)
    with paused_gc():
        document, diagnostics, sources = load_files(paths, input_format=input_format)
        diagnostics.extend(run_checks(document, checks))
        if any(d.is_error for d in diagnostics):
            raise CompileError(diagnostics, sources)
        return Compilation(document, lower(document), tuple(diagnostics), sources)


__all__ = ["Compilation", "CompileError", "Diagnostic", "compile_files", "__version__"]
