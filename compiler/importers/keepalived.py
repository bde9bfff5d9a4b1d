"""keepalived.conf text -> a syntax tree of statements, ``include`` files spliced in.

The syntax is keepalived.conf(5)'s: a statement is a keyword and its
arguments on one line, optionally followed by a ``{ ... }`` block (its
``{`` on the same line or the next); ``{`` and ``}`` are words of their
own; comments run from ``#`` or ``!`` at the start of a word to the end of
the line; ``"..."`` and ``'...'`` quote (with backslash escapes), and
quoted and unquoted parts of one word join, as keepalived joins them.

``include FILE`` (and its variants ``includer``, ``includem``, ``includew``,
``includeb``, ``includea``) is textual, as in keepalived: the matched files'
statements take its place, at any depth of blocks. Patterns are globs with
csh braces, relative to the including file's directory, matches in sorted
order. Includes nest at most MAX_INCLUDE_DEPTH deep, a cycle is an error,
and all inclusions together read at most the input bound of one file
(frontend.MAX_INPUT_BYTES) and MAX_INCLUSIONS files, so time and memory stay
linear in what is read.

Not read (an error that says so): conditional lines (``@id ...``),
``$NAME=value`` parameters and ``$NAME`` uses, ``~SEQ`` and ``~LST``.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..diagnostics import Diagnostic, SourceRegistry, SourceText, Span, error, warning
from ..frontend import MAX_INPUT_BYTES, read_source

INCLUDE_KEYWORDS = frozenset({"include", "includer", "includem", "includew", "includeb", "includea"})
MAX_INCLUDE_DEPTH = 16
MAX_INCLUSIONS = 10_000
# Brace expansion multiplies: "{a,b}{c,d}..." is bounded, like everything else.
MAX_BRACE_ALTERNATIVES = 1_000

# One token: blanks, a brace, a comment, a line end, or a word of quoted and
# unquoted parts (an unterminated quote runs to the end of the line).
# Possessive repeats: a long word or string is read in one pass.
# Lines end as SourceText counts them ("\n", "\r\n", a lone "\r"), so carets line up.
_TOKEN = re.compile(
    r"""(?P<blank>[ \t\f\v]++)"""
    r"""|(?P<brace>[{}])"""
    r"""|(?P<comment>[#!][^\r\n]*+)"""
    r"""|(?P<newline>\r\n?|\n)"""
    r"""|(?P<word>(?:[^\s{}"']++|"(?:[^"\\\r\n]|\\[^\r\n])*+"?|'(?:[^'\\\r\n]|\\[^\r\n])*+'?)++)"""
)
# After an include keyword: blanks, the name up to a comment or the line's end.
_INCLUDE_ARGUMENT = re.compile(r"[ \t\f\v]*+(?P<name>(?:[^\s#!]|[ \t]++(?![#!\r\n]|$))*+)[^\r\n]*+")
_QUOTED = re.compile(r""""((?:[^"\\\r\n]|\\[^\r\n])*+)("?)|'((?:[^'\\\r\n]|\\[^\r\n])*+)('?)""")
_ESCAPES = {"a": "\a", "b": "\b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|c.|.)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    span: Span
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Statement:
    """``keyword arg... [{ statements }]``; ``block`` is None without braces."""

    keyword: Word
    args: tuple[Word, ...]
    block: tuple[Statement, ...] | None = None

    @property
    def span(self) -> Span:
        return self.keyword.span


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] == "x" and len(code) > 1:
            return chr(int(code[1:], 16))
        if code[0] in "01234567":
            return chr(int(code, 8) & 0xFF)
        if code[0] == "c" and len(code) == 2:
            return chr(ord(code[1].upper()) ^ 0x40)
        return _ESCAPES.get(code, code)

    return _ESCAPE.sub(one, text)


def _word_text(raw: str, span: Span, diagnostics: list[Diagnostic]) -> tuple[str, bool]:
    """The word with its quotes removed and escapes read; an unclosed quote is an error."""
    if '"' not in raw and "'" not in raw:
        return raw, False
    parts: list[str] = []
    position = 0
    for match in _QUOTED.finditer(raw):
        parts.append(raw[position : match.start()])
        body, closed = (match.group(1), match.group(2)) if match.group(1) is not None else match.group(3, 4)
        if not closed:
            diagnostics.append(
                error(span.shifted(match.start()), "E100", "a quoted string that is not closed on its line")
            )
        parts.append(_unescape(body))
        position = match.end()
    parts.append(raw[position:])
    return "".join(parts), True


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # word | { | } | newline
    word: Word


def lex(source: SourceText, diagnostics: list[Diagnostic]) -> Iterator[_Token]:
    """The words, braces and line ends of one file."""
    text, name = source.text, source.name
    line, line_start = 1, 0
    first = True  # no word yet on this line
    skip_to = 0  # the end of an include's file name, read with the keyword
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        position = match.start()
        if position < skip_to or kind in ("blank", "comment"):
            continue
        if kind == "newline":
            yield _NEWLINE
            line, line_start, first = line + 1, match.end(), True
            continue
        span = Span(name, line, position - line_start + 1)
        value = match.group()
        if kind == "brace":
            yield _Token(value, Word(value, span))
            first = False
            continue
        content, quoted = _word_text(value, span, diagnostics)
        yield _Token("word", Word(content, span, quoted))
        if first and content in INCLUDE_KEYWORDS and not quoted:
            # The rest of the line is the file name, braces and all (csh brace patterns).
            rest = _INCLUDE_ARGUMENT.match(text, match.end())
            assert rest is not None
            if rest.group("name"):
                name_span = Span(name, line, rest.start("name") - line_start + 1)
                file_name, name_quoted = _word_text(rest.group("name"), name_span, diagnostics)
                yield _Token("word", Word(file_name, name_span, name_quoted))
            skip_to = rest.end()
        first = False


_NEWLINE = _Token("newline", Word("\n", Span("", 0, 0)))


@dataclass(slots=True)
class _Frame:
    """A block being read: its header statement and the statements so far."""

    keyword: Word | None
    args: tuple[Word, ...]
    open_brace: Span | None
    children: list[Statement]


def _expand_braces(pattern: str) -> list[str]:
    """csh brace expansion in order, ``a{b,c{d,e}}f`` -> abf, acdf, acef (at most
    MAX_BRACE_ALTERNATIVES)."""
    pending = [pattern]
    done: list[str] = []
    while pending and len(done) + len(pending) <= MAX_BRACE_ALTERNATIVES:
        current = pending.pop(0)
        start = current.find("{")
        depth, end, cuts = 0, -1, [start]
        for index in range(max(start, 0), len(current) if start >= 0 else 0):
            char = current[index]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    end = index
                    break
            elif char == "," and depth == 1:
                cuts.append(index)
        if start < 0 or end < 0:
            done.append(current)
            continue
        cuts.append(end)
        head, tail = current[:start], current[end + 1 :]
        alternatives = [head + current[a + 1 : b] + tail for a, b in zip(cuts, cuts[1:], strict=False)]
        pending[:0] = alternatives  # expanded in place, so the order is the pattern's
    return done[:MAX_BRACE_ALTERNATIVES]


class _Reader:
    """Reads a file and its includes into one statement tree."""

    def __init__(self, registry: SourceRegistry, diagnostics: list[Diagnostic]) -> None:
        self.registry = registry
        self.diagnostics = diagnostics
        self.stack = [_Frame(None, (), None, [])]
        self.files: list[str] = []  # the real paths being read, for cycles
        self.sources: dict[str, SourceText] = {}
        self.characters = 0
        self.inclusions = 0
        self.stopped = False

    # -- statements ------------------------------------------------------

    def _finish(self, words: list[Word]) -> None:
        if not words:
            return
        keyword, *args = words
        if keyword.text in INCLUDE_KEYWORDS and not keyword.quoted:
            self._include(keyword, args)
            return
        if not keyword.quoted and (problem := _unsupported(keyword, args)) is not None:
            self.diagnostics.append(problem)
            return
        self.stack[-1].children.append(Statement(keyword, tuple(args)))

    def _open(self, words: list[Word], brace: Span) -> None:
        frame = self.stack[-1]
        if words:
            keyword, *args = words
            problem = None if keyword.quoted else _unsupported(keyword, args)
            if problem is not None:  # the block is read, to keep its braces paired, and dropped
                self.diagnostics.append(problem)
                self.stack.append(_Frame(None, (), brace, []))
                return
            self.stack.append(_Frame(keyword, tuple(args), brace, []))
            return
        previous = frame.children[-1] if frame.children else None
        if previous is not None and previous.block is None and previous.span.file == brace.file:
            # "keyword args" then "{" alone on a later line: keepalived reads one statement.
            frame.children.pop()
            self.stack.append(_Frame(previous.keyword, previous.args, brace, []))
            return
        self.diagnostics.append(error(brace, "E100", "'{' with no keyword before it"))
        self.stack.append(_Frame(None, (), brace, []))

    def _close(self, brace: Span) -> None:
        if len(self.stack) == 1:
            self.diagnostics.append(error(brace, "E100", "'}' closes no block"))
            return
        frame = self.stack.pop()
        if frame.keyword is not None:
            self.stack[-1].children.append(Statement(frame.keyword, frame.args, tuple(frame.children)))

    # -- files -----------------------------------------------------------

    def read(self, path: str, at: Span | None = None) -> None:
        """Feed one file's statements into the tree being built."""
        if self.stopped:
            return
        real = os.path.realpath(path)
        if real in self.files:
            chain = " -> ".join(
                [*(os.path.basename(f) for f in self.files[self.files.index(real) :]), os.path.basename(path)]
            )
            self.diagnostics.append(error(at or Span(path, 1, 1), "K015", f"include cycle: {chain}"))
            return
        if len(self.files) >= MAX_INCLUDE_DEPTH:
            self.diagnostics.append(
                error(at or Span(path, 1, 1), "K015", f"includes nested more than {MAX_INCLUDE_DEPTH} deep")
            )
            return
        source = self.sources.get(real)
        if source is None:
            found = read_source(path)
            if isinstance(found, Diagnostic):
                self.diagnostics.append(found if at is None else error(at, found.code, f"{path}: {found.message}"))
                return
            source = self.sources[real] = found
            self.registry.add(source)
        self.characters += len(source.text)
        if self.characters > MAX_INPUT_BYTES:
            self.diagnostics.append(
                error(
                    at or Span(path, 1, 1),
                    "E107",
                    f"the includes read more than {MAX_INPUT_BYTES // (1024 * 1024)} MiB in all, "
                    "the most ovn-lbc reads of one input",
                )
            )
            self.stopped = True
            return
        self.files.append(real)
        words: list[Word] = []
        for token in lex(source, self.diagnostics):
            if self.stopped:
                break
            if token.kind == "word":
                words.append(token.word)
                continue
            if token.kind == "newline":
                self._finish(words)
            elif token.kind == "{":
                self._open(words, token.word.span)
            else:
                self._finish(words)
                self._close(token.word.span)
            words = []
        self._finish(words)
        self.files.pop()
        if at is None:  # the top file: what is still open is never closed
            for frame in reversed(self.stack[1:]):
                self.diagnostics.append(error(frame.open_brace or Span(path, 1, 1), "E100", "'{' is never closed"))
                self._close(frame.open_brace or Span(path, 1, 1))

    def _include(self, keyword: Word, args: list[Word]) -> None:
        if len(args) != 1:
            self.diagnostics.append(error(keyword.span, "E100", f"{keyword.text} takes one file name or pattern"))
            return
        pattern = args[0]
        base = os.path.dirname(pattern.span.file)
        matches: list[str] = []
        for alternative in _expand_braces(pattern.text):
            full = alternative if os.path.isabs(alternative) else os.path.join(base, alternative)
            if glob.has_magic(full):
                matches.extend(sorted(glob.glob(full)))
            elif os.path.exists(full):
                matches.append(full)
        if not matches:
            self.diagnostics.append(
                warning(
                    pattern.span,
                    "K014",
                    f'no file matches "{pattern.text}" (relative to {base or "."}): nothing included',
                )
            )
            return
        for path in dict.fromkeys(os.path.normpath(match) for match in matches):
            self.inclusions += 1
            if self.inclusions > MAX_INCLUSIONS:
                self.diagnostics.append(error(pattern.span, "K015", f"more than {MAX_INCLUSIONS} files included"))
                self.stopped = True
                return
            self.read(path, pattern.span)


def _unsupported(keyword: Word, args: list[Word]) -> Diagnostic | None:
    """keepalived's preprocessor features, which the importer does not expand."""
    text = keyword.text
    what = None
    if text.startswith("@"):
        what = "a conditional line (@config-id): the importer cannot know which host reads the file"
    elif text.startswith("~SEQ") or text.startswith("~LST"):
        what = f"a {text[:4]} block"
    elif text.startswith("$"):
        what = "a parameter definition" if "=" in text else "a parameter"
    else:
        for word in args:
            if word.text.startswith("$") and not word.quoted:
                return error(
                    word.span,
                    "K016",
                    f"keepalived parameter {word.text} is not expanded by the importer",
                    "give the file with its parameters substituted",
                )
        return None
    return error(
        keyword.span,
        "K016",
        f"{what} is not read by the importer",
        "give the file as keepalived reads it on this host, with parameters, conditions and sequences expanded",
    )


def parse_keepalived(path: str, registry: SourceRegistry) -> tuple[tuple[Statement, ...], list[Diagnostic]]:
    """The statements of ``path`` with its includes spliced in, and every problem found."""
    diagnostics: list[Diagnostic] = []
    reader = _Reader(registry, diagnostics)
    reader.read(path)
    return tuple(reader.stack[0].children), diagnostics
