"""Front ends: files in, one model out.

The format comes from the file name (``.json`` is JSON, ``.lb`` the DSL,
anything else YAML) unless the caller names one. Several files form one
document.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import BinaryIO

from ..diagnostics import Diagnostic, SourceRegistry, SourceText, Span, error
from ..ir import Document, Network, Target
from .document import load_document, load_document_fast
from .plain import NotPlain as NotPlain  # re-exported: the fast path declines with it

INPUT_FORMATS = ("yaml", "json", "dsl")


def detect_format(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith(".json"):
        return "json"
    return "dsl" if lowered.endswith(".lb") else "yaml"


# The most bytes of one input ovn-lbc reads (256 MiB): a 50,000-load-balancer
# file is about 38 MB. A larger or endless input (/dev/zero, a FIFO that
# never ends) is refused at this bound instead of filling the memory.
MAX_INPUT_BYTES = 256 * 1024 * 1024
_CHUNK = 1024 * 1024


def _read_bounded(stream: BinaryIO, limit: int) -> bytearray | None:
    """At most ``limit`` bytes of ``stream``, in chunks; None when it holds more."""
    data = bytearray()
    while len(data) <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - len(data)))
        if not chunk:
            return data
        data += chunk
    return None


def _size_text(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    return f"{limit:,} bytes"


def read_source(path: str) -> SourceText | Diagnostic:
    """A file's text; ``-`` is standard input. A read failure is a diagnostic."""
    name = "<stdin>" if path == "-" else path
    limit = MAX_INPUT_BYTES
    try:
        if path == "-":
            stream = getattr(sys.stdin, "buffer", None)
            if stream is None:  # a text stream put in place of stdin (tests, embedding)
                text = sys.stdin.read(limit + 1)
                if len(text) > limit:
                    return _too_large(name, limit)
                return SourceText(name, text)
            data = _read_bounded(stream, limit)
        else:
            with open(path, "rb") as handle:
                data = _read_bounded(handle, limit)
        if data is None:
            return _too_large(name, limit)
        return SourceText(name, data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return error(
            Span(name, 1, 1),
            "E100",
            f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})",
        )
    except OSError as exc:
        return error(Span(name, 0, 0), "E100", f"cannot read the file: {exc.strerror or exc}")


def _too_large(name: str, limit: int) -> Diagnostic:
    return error(
        Span(name, 0, 0),
        "E107",
        f"cannot read the file: it is larger than {_size_text(limit)}, the most ovn-lbc reads of one input",
    )


# A file read, with its format; or why it could not be read.
Input = tuple[SourceText, str] | Diagnostic


def read_sources(
    paths: Sequence[str], *, input_format: str | None = None, sources: SourceRegistry | None = None
) -> tuple[list[Input], SourceRegistry]:
    """Read every file once (standard input cannot be read twice), in order:
    each text with its format, or its read failure; and the registry of the texts."""
    registry = sources or SourceRegistry()
    read: list[Input] = []
    for path in paths:
        source = read_source(path)
        if isinstance(source, Diagnostic):
            read.append(source)
            continue
        registry.add(source)
        read.append((source, input_format or detect_format(source.name)))
    return read, registry


def build_document(read: Sequence[Input], *, fast: bool = False) -> tuple[Document, list[Diagnostic]]:
    """Parse and build every text; the networks of all of them in order.

    ``fast``: JSON and YAML without locations (``document.load_document_fast``);
    it raises NotPlain instead of returning any diagnostic. The DSL always
    takes its located path (it is the small front end: 2 s for 10,000).
    """
    diagnostics: list[Diagnostic] = []
    networks: list[Network] = []
    target: Target | None = None
    for entry in read:
        if isinstance(entry, Diagnostic):
            if fast:
                raise NotPlain("a file cannot be read")
            diagnostics.append(entry)
            continue
        source, chosen = entry
        if chosen == "dsl":
            from .dsl import load_dsl  # lark and the DSL's modules: only when a file is DSL

            document, found = load_dsl(source)
        elif fast and chosen in ("json", "yaml"):
            document, found = load_document_fast(source, chosen), []
        else:
            document, found = load_document(source, chosen)
        if fast and found:
            raise NotPlain("a front end has diagnostics to report")
        diagnostics.extend(found)
        networks.extend(document.networks)
        declared = document.declared_target
        if declared is not None and target is not None and declared.version != target.version:
            if fast:
                raise NotPlain("target_ovn disagrees (E210)")
            diagnostics.append(
                error(
                    declared.span or Span(source.name, 1, 1),
                    "E210",
                    f"target_ovn {declared.version} disagrees with {target.origin} ({target.version}): "
                    "one run writes for one OVN release",
                )
            )
        target = target or declared
    return Document(tuple(networks), target), diagnostics


def load_files(
    paths: Sequence[str], *, input_format: str | None = None, sources: SourceRegistry | None = None
) -> tuple[Document, list[Diagnostic], SourceRegistry]:
    """Read, parse and build every file; the networks of all of them in order."""
    read, registry = read_sources(paths, input_format=input_format, sources=sources)
    document, diagnostics = build_document(read)
    return document, diagnostics, registry
