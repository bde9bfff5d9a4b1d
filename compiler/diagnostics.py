"""Source spans, diagnostics and the one exception that carries them.

Every user mistake becomes a :class:`Diagnostic` with a stable code; a run
collects all of them and raises one :class:`CompileError` at the end, so the
operator sees every problem of a file at once (the sqlglot way).
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A position in an input file: 1-based line and column."""

    file: str
    line: int
    column: int

    def shifted(self, columns: int) -> Span:
        """The same line, ``columns`` characters further right."""
        return Span(self.file, self.line, self.column + columns)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding: where, how bad, a stable code and a message in words."""

    span: Span
    code: str
    message: str
    severity: Severity = Severity.ERROR
    notes: tuple[str, ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.file, self.span.line, self.span.column, self.code)


def error(span: Span, code: str, message: str, *notes: str) -> Diagnostic:
    return Diagnostic(span, code, message, Severity.ERROR, notes)


def warning(span: Span, code: str, message: str, *notes: str) -> Diagnostic:
    return Diagnostic(span, code, message, Severity.WARNING, notes)


@dataclass(slots=True)
class SourceText:
    """An input file's text, with a line index for spans and caret lines."""

    name: str
    text: str
    _line_starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        starts = [0]
        find = self.text.find
        position = find("\n")
        while position != -1:
            starts.append(position + 1)
            position = find("\n", position + 1)
        self._line_starts = starts

    def span_at(self, offset: int) -> Span:
        """The span of a character offset (0-based) in this text."""
        line_index = bisect.bisect_right(self._line_starts, offset) - 1
        return Span(self.name, line_index + 1, offset - self._line_starts[line_index] + 1)

    def line(self, number: int) -> str | None:
        """Line ``number`` (1-based) without its newline, or None."""
        if not 1 <= number <= len(self._line_starts):
            return None
        start = self._line_starts[number - 1]
        end = self.text.find("\n", start)
        text = self.text[start:] if end == -1 else self.text[start:end]
        return text.rstrip("\r")


class SourceRegistry:
    """The texts of every file of a run, so diagnostics can quote them."""

    def __init__(self) -> None:
        self._sources: dict[str, SourceText] = {}

    def add(self, source: SourceText) -> None:
        self._sources[source.name] = source

    def get(self, name: str) -> SourceText | None:
        return self._sources.get(name)

    def render(self, diagnostic: Diagnostic) -> str:
        """``FILE:LINE:COL: error[CODE]: message``, the source line and a caret."""
        d = diagnostic
        lines = [f"{d.span}: {d.severity.value}[{d.code}]: {d.message}"]
        source = self.get(d.span.file)
        text = source.line(d.span.line) if source else None
        if text is not None:
            gutter = str(d.span.line)
            pad = " " * len(gutter)
            # Tabs keep their width in the caret line so the caret stays aligned.
            prefix = "".join(ch if ch == "\t" else " " for ch in text[: d.span.column - 1])
            lines.append(f" {gutter} | {text}")
            lines.append(f" {pad} | {prefix}^")
        lines.extend(f"  = note: {note}" for note in d.notes)
        return "\n".join(lines)

    def render_all(self, diagnostics: Iterable[Diagnostic]) -> str:
        return "\n".join(self.render(d) for d in sort_diagnostics(diagnostics))


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Stable report order: by file, line, column and code, duplicates removed."""
    return sorted(set(diagnostics), key=Diagnostic.sort_key)


class CompileError(Exception):
    """Raised once per run with every diagnostic found (errors and warnings)."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: SourceRegistry) -> None:
        self.diagnostics = sort_diagnostics(diagnostics)
        self.sources = sources
        super().__init__(self.render())

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    def render(self) -> str:
        return self.sources.render_all(self.diagnostics)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean "x"?)' suffix, or '' when nothing is close."""
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
