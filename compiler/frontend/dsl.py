"""The DSL front end: ``.lb`` text -> syntax tree -> the same model as YAML.

Two passes, like the YAML front end. 1. Syntax: lark's LALR parser, with
``grammar/lb.lark``, builds a small syntax tree of :class:`Statement` inside
the parse (``transformer=``), so no lark tree is ever built for the whole
file. A syntax error is reported in words and the parser resumes at the next
statement, so every syntax error of a file is reported at once. 2. Values:
the statements become the model; every value is checked with the YAML front
end's rules and codes, and a span of the exact DSL token is kept under the
same keys the YAML front end uses, so the semantic checks point into DSL text.

An object with a syntax or value error is left out of the model, as in the
YAML front end; a syntax error disqualifies the innermost block around it.

This module is the entry point, :func:`load_dsl`, and re-exports the names
other code has always imported from here. The work is in modules of one job:

- ``dsl_lexer``: the grammar's words (keyword tables) and the contextual lexer
- ``dsl_syntax``: the syntax tree (:class:`Statement`, :class:`Script`)
- ``dsl_parser``: the grammar, loaded once, and :func:`parse_script`
- ``dsl_recovery``: syntax errors in words, and resuming after them
- ``dsl_values``: values as the DSL spells them, read and written
- ``dsl_builder``: statements -> model, with the located value diagnostics
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, SourceText, Span, error
from ..ir import Document
from .dsl_builder import ModelBuilder
from .dsl_lexer import BLOCK_HEADERS, KEYWORDS, OPTION_TERMINALS, PROTOCOL_WORDS
from .dsl_parser import parse_script
from .dsl_recovery import BLOCK_NAMES, block_context, describe_found, expected_phrase, statement_words
from .dsl_syntax import PLACEHOLDER, Script, Statement
from .dsl_values import (
    BARE_WORD,
    decode_string,
    duration_text,
    endpoint_text,
    mac_text,
    name_text,
    parse_count,
    parse_duration,
    quote,
    split_endpoint,
    user_key_text,
)

__all__ = [
    "BARE_WORD",
    "BLOCK_HEADERS",
    "BLOCK_NAMES",
    "KEYWORDS",
    "OPTION_TERMINALS",
    "PLACEHOLDER",
    "PROTOCOL_WORDS",
    "ModelBuilder",
    "Script",
    "Statement",
    "block_context",
    "decode_string",
    "describe_found",
    "duration_text",
    "endpoint_text",
    "expected_phrase",
    "load_dsl",
    "mac_text",
    "name_text",
    "parse_count",
    "parse_duration",
    "parse_script",
    "quote",
    "split_endpoint",
    "statement_words",
    "user_key_text",
]


def load_dsl(source: SourceText) -> tuple[Document, list[Diagnostic]]:
    """Parse and build one DSL file; never raises on any text."""
    script = parse_script(source)
    if not script.statements and not script.diagnostics:
        # Nothing but blanks and comments: an error, as an empty YAML file is.
        return Document(), [error(Span(source.name, 1, 1), "E100", "the document is empty")]
    builder = ModelBuilder(source, script)
    document = builder.document()
    return document, script.diagnostics + builder.diagnostics
