"""DSL text -> syntax tree: the lark grammar, loaded once, and one parse.

lark's LALR parser with ``grammar/lb.lark``, the contextual lexer of
``dsl_lexer`` and the tree builder of ``dsl_syntax``. A syntax error never
stops the parse: lark calls the error recovery of ``dsl_recovery``, which
reports it in words and resumes at the next statement, so every syntax
error of a file is reported at once.
"""

from __future__ import annotations

import functools
import re

from lark import Lark, Token
from lark.exceptions import UnexpectedInput, VisitError

from ..diagnostics import SourceText
from ..resources import resource_dir
from .dsl_lexer import ContextualLexer
from .dsl_recovery import Recovery, offset_of
from .dsl_syntax import Script, Statement, SyntaxTreeBuilder


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    # grammar/ ships as the package compiler.grammar; resource_dir finds it
    # installed or in a source checkout.
    text = (resource_dir("grammar") / "lb.lark").read_text(encoding="utf-8")
    return Lark(
        text,
        parser="lalr",
        lexer=ContextualLexer,
        # Spans come from the tokens the syntax tree keeps; lark's own
        # positions would only cost time on every reduction.
        propagate_positions=False,
        maybe_placeholders=False,
        transformer=SyntaxTreeBuilder(),
    )


# A carriage return not followed by a newline: an old Mac line end.
_LONE_CR = re.compile(r"\r(?!\n)")


def parse_script(source: SourceText) -> Script:
    """Parse DSL text; syntax errors become diagnostics, never exceptions."""
    text = source.text
    if "\r" in text:
        # A lone "\r" ends a line, as in YAML and in SourceText's line count;
        # the grammar's lines end at "\n". Same length, so offsets stay.
        text = _LONE_CR.sub("\n", text)
    # Every statement ends with a newline, the last one too.
    padded = SourceText(source.name, text + "\n")
    recovery = Recovery(source, padded)
    try:
        result: tuple[Token | None, list[Statement]] = _parser().parse(padded.text, on_error=recovery)  # type: ignore[assignment]
    except VisitError as exc:  # pragma: no cover - the tree builder raises nothing itself
        raise exc.orig_exc from exc
    except UnexpectedInput as exc:
        # The recovery gave up (it never should): report where, and keep nothing.
        if not recovery.diagnostics:
            recovery.report(offset_of(exc, padded), "E100", "syntax error")
        return Script(None, [], recovery.diagnostics, recovery.offsets)
    return Script(result[0], result[1], recovery.diagnostics, recovery.offsets)
