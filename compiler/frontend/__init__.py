"""Front ends: files in, one model out.

The format comes from the file name (``.json`` is JSON, ``.lb`` the DSL,
anything else YAML) unless the caller names one. Several files form one
document.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from ..diagnostics import Diagnostic, SourceRegistry, SourceText, Span, error
from ..ir import Document, Network, Target
from .document import load_document
from .dsl import load_dsl

INPUT_FORMATS = ("yaml", "json", "dsl")


def detect_format(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".json"):
        return "json"
    return "dsl" if lowered.endswith(".lb") else "yaml"


def read_source(path: str) -> SourceText | Diagnostic:
    """A file's text; ``-`` is standard input. A read failure is a diagnostic."""
    try:
        if path == "-":
            return SourceText("<stdin>", sys.stdin.read())
        data = Path(path).read_bytes()
        return SourceText(path, data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return error(
            Span(path, 1, 1),
            "E100",
            f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})",
        )
    except OSError as exc:
        return error(Span(path, 0, 0), "E100", f"cannot read the file: {exc.strerror or exc}")


def load_files(
    paths: Sequence[str], *, input_format: str | None = None, sources: SourceRegistry | None = None
) -> tuple[Document, list[Diagnostic], SourceRegistry]:
    """Read, parse and build every file; the networks of all of them in order."""
    registry = sources or SourceRegistry()
    diagnostics: list[Diagnostic] = []
    networks: list[Network] = []
    target: Target | None = None
    for path in paths:
        source = read_source(path)
        if isinstance(source, Diagnostic):
            diagnostics.append(source)
            continue
        registry.add(source)
        chosen = input_format or detect_format(source.name)
        document, found = load_dsl(source) if chosen == "dsl" else load_document(source, chosen)
        diagnostics.extend(found)
        networks.extend(document.networks)
        declared = document.declared_target
        if declared is not None and target is not None and declared.version != target.version:
            diagnostics.append(
                error(
                    declared.span or Span(source.name, 1, 1),
                    "E210",
                    f"target_ovn {declared.version} disagrees with {target.origin} ({target.version}): "
                    "one run writes for one OVN release",
                )
            )
        target = target or declared
    return Document(tuple(networks), target), diagnostics, registry
