"""``fmt``: DSL text in, the same file in its canonical layout out.

``format_dsl`` reprints a parsed file: four spaces per block level, one
space between words, names and strings quoted only where they must be, a
blank line around every block and at most one anywhere else, and every
comment kept where it was (a comment after a statement stays on its line;
a comment on a line of its own stays above the statement that follows it).
It reads DSL source through the front end's lexer and parser, so it lives in
the front end; the model -> DSL printer (``document_to_dsl``) is an output
and lives in ``compiler/emit/dsl.py``, printing in the same layout (it takes
``INDENT`` from here), so formatting its output changes nothing.
"""

from __future__ import annotations

import re

from lark import Token

from ..diagnostics import CompileError, SourceRegistry, SourceText
from .dsl_parser import parse_script
from .dsl_syntax import Statement
from .dsl_values import decode_string, name_text, quote, user_key_text

INDENT = "    "
_LIST_BLANKS = re.compile(r"[ \t]*,[ \t]*")


def format_dsl(source: SourceText) -> str:
    """The file in canonical layout; raises CompileError on a syntax error."""
    script = parse_script(source)
    if script.diagnostics:
        sources = SourceRegistry()
        sources.add(source)
        raise CompileError(script.diagnostics, sources)
    printer = _Printer()
    printer.body(0, _lines_of(script.leading, leading=True), script.statements)
    return printer.text()


# ---------------------------------------------------------------- comments and blank lines


def split_newline(token: Token | None) -> tuple[str | None, list[str]]:
    """A statement's end: (its trailing comment, the lines after it).

    Each line after it is "" (blank) or a comment, without indentation.
    """
    if token is None:
        return None, []
    segments = str(token.value).split("\n")
    trailing = segments[0].strip() or None
    return trailing, [segment.strip(" \t\f\r") for segment in segments[1:-1]]


def _lines_of(token: Token | None, leading: bool = False) -> list[str]:
    """The comment and blank lines in ``token``; the file's first one starts on line 1."""
    if token is None:
        return []
    trailing, lines = split_newline(token)
    if leading:
        return ([trailing] if trailing else [""]) + lines
    return lines


def _gap(lines: list[str], *, first: bool, last: bool, blank: bool) -> list[str]:
    """The lines between two statements: blank lines collapsed, trimmed at block edges."""
    result: list[str] = []
    for line in lines:
        if line or not result or result[-1]:
            result.append(line)
    if first:
        while result and not result[0]:
            result.pop(0)
    if last:
        while result and not result[-1]:
            result.pop()
    if blank and "" not in result:
        result.insert(0, "")
    return result


# ---------------------------------------------------------------- statements


def _token_text(token: Token) -> str:
    raw = str(token.value)
    if token.type in ("NAME", "STRING") and raw.startswith('"'):
        value, problem = decode_string(raw)
        if problem is not None or value is None:
            return raw  # reported by load_dsl; kept as written
        return name_text(value) if token.type == "NAME" else quote(value)
    if token.type == "NAME":
        return name_text(raw)
    if token.type == "USER_KEY" and raw.startswith('user."'):
        value, problem = decode_string(raw.removeprefix("user."))
        return raw if value is None else user_key_text("user." + value)
    if token.type in ("PORTS", "ENDPOINT"):
        return _LIST_BLANKS.sub(",", raw)
    return raw


def statement_text(statement: Statement) -> str:
    """One statement's words (a block's first line without its '{')."""
    words = [_token_text(statement.keyword)]
    for token in statement.args:
        if token.type == "COMMA":
            words[-1] += ","
        else:
            words.append(_token_text(token))
    return " ".join(words)


class _Printer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def text(self) -> str:
        return "\n".join(self.lines) + "\n" if self.lines else ""

    def line(self, depth: int, text: str, comment: str | None = None) -> None:
        if not text:
            self.lines.append("")
            return
        self.lines.append(INDENT * depth + text + (f"  {comment}" if comment else ""))

    def body(self, depth: int, opening: list[str], statements: list[Statement]) -> None:
        previous: Statement | None = None
        gap = opening
        for statement in statements:
            is_block = statement.body is not None or (previous is not None and previous.body is not None)
            for line in _gap(gap, first=previous is None, last=False, blank=previous is not None and is_block):
                self.line(depth, line)
            self.statement(depth, statement)
            gap = split_newline(statement.newline)[1]
            previous = statement
        for line in _gap(gap, first=previous is None, last=True, blank=False):
            self.line(depth, line)

    def statement(self, depth: int, statement: Statement) -> None:
        trailing = split_newline(statement.newline)[0]
        if statement.body is None:
            self.line(depth, statement_text(statement), trailing)
            return
        opening_comment, opening = split_newline(statement.opening)
        self.line(depth, statement_text(statement) + " {", opening_comment)
        self.body(depth + 1, opening, statement.body)
        self.line(depth, "}", trailing)
