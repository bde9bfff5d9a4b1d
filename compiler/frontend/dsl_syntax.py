"""The DSL's syntax tree: what the parse hands to the model builder and to ``fmt``.

A file is a :class:`Script` of :class:`Statement` (a block is a statement
with a body). The tree is built inside lark's LALR parse by
:class:`SyntaxTreeBuilder`, so no lark tree is ever built for a whole file.
It keeps the tokens themselves, with their positions, so the model builder
can point a diagnostic at the exact token and ``fmt`` can reprint every
comment where it was. It sits apart from the parser because the error
recovery, which the parser drives, makes statements too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lark import Token, Transformer

from ..diagnostics import Diagnostic

# Never produced by the lexer: marks a value the error recovery made up.
PLACEHOLDER = "\x00"


@dataclass(slots=True, eq=False)
class Statement:
    """One line of DSL (a block is one statement with a body)."""

    keyword: Token
    args: list[Token]
    # The end of the statement: its trailing comment and the blank and
    # comment lines after it (see dsl_format.split_newline).
    newline: Token
    body: list[Statement] | None = None
    opening: Token | None = None  # the newline after "{"
    close: Token | None = None  # "}"

    @property
    def end_pos(self) -> int:
        last = self.close or (self.args[-1] if self.args else self.keyword)
        return last.end_pos or last.start_pos or 0


@dataclass(slots=True)
class Script:
    """A parsed file: its statements, and every syntax error in it."""

    leading: Token | None  # comments and blank lines before the first statement
    statements: list[Statement]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error_offsets: list[int] = field(default_factory=list)


class SyntaxTreeBuilder(Transformer[Token, Any]):
    """Runs inside the LALR parse: each rule becomes a Statement at once."""

    def start(self, children: list[Any]) -> tuple[Token | None, list[Statement]]:
        if children and isinstance(children[0], Token):
            return children[0], children[1:]
        return None, children

    def _statement(self, children: list[Token]) -> Statement:
        return Statement(children[0], children[1:-1], children[-1])

    def _block(self, children: list[Any]) -> Statement:
        # KEYWORD value "{" NL statement* "}" NL
        return Statement(children[0], [children[1]], children[-1], children[4:-2], children[3], children[-2])

    version = target_ovn = row_prefix = router = switch = ipv4 = ipv6 = router_mac = switch_port = _statement
    attach_switch = attach_router = lb_group = probe_source = lb_option = _statement
    health_check = backend = lb_port = default_target = forward_port = description = user_config = _statement
    pool_protocol = target_port = no_health_check = instance = _statement
    network = load_balancer = forward = pool = _block
