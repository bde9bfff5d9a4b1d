"""ovn-lbc: a compiler for OVN network load balancers.

The pipeline, one module per stage::

    frontend (YAML/JSON text -> model)  ->  checks  ->  lower (model -> NB rows)
        ->  emit (rows -> ovn-nbctl script)

``compile_files`` runs all of it; the CLI is a thin layer over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .checks import run_checks
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


def compile_files(paths: Sequence[str], *, input_format: str | None = None) -> Compilation:
    """Read, check and lower ``paths``; raise CompileError listing every error."""
    with paused_gc():
        document, diagnostics, sources = load_files(paths, input_format=input_format)
        diagnostics.extend(run_checks(document))
        if any(d.is_error for d in diagnostics):
            raise CompileError(diagnostics, sources)
        return Compilation(document, lower(document), tuple(diagnostics), sources)


__all__ = ["Compilation", "CompileError", "Diagnostic", "compile_files", "__version__"]
