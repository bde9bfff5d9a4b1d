"""ovn-lbc: a compiler for OVN network load balancers.

The pipeline, one module per stage (docs/architecture.md draws it)::

    frontend (YAML/JSON/DSL text -> model)  ->  checks  ->  lower (model -> NB rows)
        ->  plan (rows vs. what the database holds; optional)
        ->  emit (ovn-nbctl script, OVSDB transaction, readable plan)
        ->  apply (to a live database, through ovsdb/)

``compile_files`` (compiler.compilation) runs the first three; the CLI is a
thin layer over the stages. Nothing inside the package imports this facade.
"""

from __future__ import annotations

from .compilation import Compilation, compile_files
from .diagnostics import CompileError, Diagnostic
from .version import __version__

__all__ = ["Compilation", "CompileError", "Diagnostic", "compile_files", "__version__"]
