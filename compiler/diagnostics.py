"""Source spans, diagnostics and the one exception that carries them.

Every user mistake becomes a :class:`Diagnostic` with a stable code; a run
collects all of them and raises one :class:`CompileError` at the end, so the
operator sees every problem of a file at once (the sqlglot way).
"""

from __future__ import annotations

import bisect
import enum
import re
from collections import Counter
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
    # A fact worth knowing that needs no change: how a value was read.
    NOTE = "note"


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


def note(span: Span, code: str, message: str, *notes: str) -> Diagnostic:
    return Diagnostic(span, code, message, Severity.NOTE, notes)


# Line ends as libyaml reads them, and universal newlines: "\r\n", "\r", "\n".
_LINE_BREAK = re.compile(r"\r\n?|\n")
_NEWLINE = re.compile(r"\n")


def _line_starts(text: str) -> list[int]:
    breaks = _LINE_BREAK if "\r" in text else _NEWLINE
    return [0, *(match.end() for match in breaks.finditer(text))]


@dataclass(slots=True)
class SourceText:
    """An input file's text, with a line index for spans and caret lines.

    A line ends at "\n", "\r\n" or a lone "\r" (old Mac files), as YAML reads
    them, so every front end and every caret line count lines alike.
    """

    name: str
    text: str
    # Built on first use: a file that needs no span from offsets (the DSL's
    # tokens carry their lines) and no caret line never pays for it.
    _line_starts: list[int] | None = field(default=None, repr=False, compare=False)

    def _starts(self) -> list[int]:
        if self._line_starts is None:
            self._line_starts = _line_starts(self.text)
        return self._line_starts

    def span_at(self, offset: int) -> Span:
        """The span of a character offset (0-based) in this text."""
        starts = self._starts()
        line_index = bisect.bisect_right(starts, offset) - 1
        return Span(self.name, line_index + 1, offset - starts[line_index] + 1)

    def line_bounds(self, number: int) -> tuple[int, int] | None:
        """(start, end) offsets of line ``number`` (1-based) without its line end, or None.

        In constant time: a caller that needs a few characters of a line must
        not copy the whole line, which may be the whole file.
        """
        starts = self._starts()
        if not 1 <= number <= len(starts):
            return None
        start = starts[number - 1]
        if number == len(starts):
            return start, len(self.text)
        end = starts[number] - 1
        if end > start and self.text[end] == "\n" and self.text[end - 1] == "\r":
            end -= 1
        return start, end

    def line(self, number: int) -> str | None:
        """Line ``number`` (1-based) without its line end, or None."""
        bounds = self.line_bounds(number)
        return None if bounds is None else self.text[bounds[0] : bounds[1]]


# What a terminal would act on rather than show: C0 controls but tab, DEL, C1
# controls, and lone surrogates (which no terminal encoding can carry). They
# are shown escaped, as JSON strings (and so the plan) show them.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\b": "\\b", "\f": "\\f"}
# The most columns of a source line a diagnostic shows, around its caret: a
# long line (a one-line file) echoed whole by each of thousands of
# diagnostics would print gigabytes.
MAX_EXCERPT_COLUMNS = 160
_ELLIPSIS = "..."
# The most diagnostics one run prints in full; the rest are counted by code.
MAX_RENDERED_DIAGNOSTICS = 200


def _escape_char(char: str) -> str:
    return _SHORT_ESCAPES.get(char) or f"\\u{ord(char):04x}"


def escape_controls(text: str) -> str:
    """``text`` with control characters as visible escapes (``\\u001b``), tab kept."""
    return _CONTROL.sub(lambda match: _escape_char(match.group()), text)


def _shown(char: str) -> str:
    return _escape_char(char) if _CONTROL.match(char) else char


def _caret_prefix(shown: list[str]) -> str:
    # Tabs keep their width in the caret line so the caret stays aligned.
    return "".join("\t" if piece == "\t" else " " * len(piece) for piece in shown)


def excerpt(source: SourceText, line: int, column: int) -> tuple[str, str] | None:
    """The source line a diagnostic shows, and the blanks before its caret.

    A line of at most MAX_EXCERPT_COLUMNS plain characters is shown whole, as
    written. A longer one is cut to about that many columns around the caret,
    with "..." where it was cut, and control characters are shown escaped; the
    caret stays under its character. The work is bounded by the window, not
    by the line.
    """
    bounds = source.line_bounds(line)
    if bounds is None:
        return None
    start, end = bounds
    text = source.text
    caret = start + min(max(column - 1, 0), end - start)
    if end - start <= MAX_EXCERPT_COLUMNS and not _CONTROL.search(text, start, end):
        return text[start:end], _caret_prefix(list(text[start:caret]))
    width = MAX_EXCERPT_COLUMNS
    # Every character shows as at least one column: this many on each side
    # are more than the window can hold.
    before = [_shown(char) for char in reversed(text[max(start, caret - width) : caret])]
    after = [_shown(char) for char in text[caret : min(end, caret + width)]]
    left = _take(before, width // 2)
    right = _take(after, width - sum(map(len, before[:left])))
    if caret + right == end:  # the line ends first: give the left what is left
        left = _take(before, width - sum(map(len, after[:right])))
    shown_left = before[:left][::-1]
    cut_left = caret - left > start
    cut_right = caret + right < end
    line_text = (_ELLIPSIS if cut_left else "") + "".join(shown_left) + "".join(after[:right])
    line_text += _ELLIPSIS if cut_right else ""
    prefix = (" " * len(_ELLIPSIS) if cut_left else "") + _caret_prefix(shown_left)
    return line_text, prefix


# A message quotes what the input holds, and a value may be a megabyte long
# (a version of 100,000 digits): beyond this many characters it is cut.
MAX_MESSAGE_CHARACTERS = 1000


def bounded_message(text: str) -> str:
    """``text``, or its start and its end (where a message says what to do) around what is left out."""
    if len(text) <= MAX_MESSAGE_CHARACTERS:
        return text
    head, tail = MAX_MESSAGE_CHARACTERS * 2 // 3, MAX_MESSAGE_CHARACTERS // 3
    return f"{text[:head]}...({len(text) - head - tail:,} characters left out)...{text[-tail:]}"


def _take(pieces: list[str], budget: int) -> int:
    """How many of ``pieces`` fit in ``budget`` columns, from the first."""
    used = 0
    for count, piece in enumerate(pieces):
        used += len(piece)
        if used > budget:
            return count
    return len(pieces)


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
        # File names and messages quote what the input holds: escaped, so a
        # file cannot send a terminal its escape sequences through them.
        lines = [escape_controls(f"{d.span}: {d.severity.value}[{d.code}]: {bounded_message(d.message)}")]
        source = self.get(d.span.file)
        shown = excerpt(source, d.span.line, d.span.column) if source else None
        if shown is not None:
            text, prefix = shown
            gutter = str(d.span.line)
            pad = " " * len(gutter)
            lines.append(f" {gutter} | {text}")
            lines.append(f" {pad} | {prefix}^")
        lines.extend(escape_controls(f"  = note: {bounded_message(note)}") for note in d.notes)
        return "\n".join(lines)

    def render_all(self, diagnostics: Iterable[Diagnostic]) -> str:
        """Every diagnostic in report order, at most MAX_RENDERED_DIAGNOSTICS of them
        in full and a count by code of the rest: thousands of copies of one
        mistake say no more than two hundred."""
        ordered = sort_diagnostics(diagnostics)
        parts = [self.render(d) for d in ordered[:MAX_RENDERED_DIAGNOSTICS]]
        rest = ordered[MAX_RENDERED_DIAGNOSTICS:]
        if rest:
            counts = Counter(d.code for d in rest)
            by_count = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            parts.append(f"and {len(rest)} more: " + ", ".join(f"{code} x {count}" for code, count in by_count))
        return "\n".join(parts)


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
