"""The DSL's words and its lexer.

The tables say which terminal of ``grammar/lb.lark`` each statement keyword
is and how it is spelt; the lexer reads text into those terminals. They live
together because both are facts about the words of the language, and every
other part reads them from here so a keyword is spelt in one place: the
parser, the error recovery (which names statements in its messages), the
model builder, and the quoting rules of ``dsl_values`` (a name that is a
keyword must be quoted), which ``fmt`` and ``compiler/emit/dsl.py`` print by.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from lark import Token
from lark.common import LexerConf
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from lark.lexer import Lexer, LexerState

# ---------------------------------------------------------------- the grammar's words

# The option statements of load-balancer and forward blocks, by terminal,
# and the YAML config key each stands for.
OPTION_TERMINALS: dict[str, str] = {
    "AFFINITY_TIMEOUT": "affinity_timeout",
    "SELECTION_FIELDS": "selection_fields",
    "REJECT": "reject",
    "EVENT": "event",
    "HAIRPIN_SNAT_IP": "hairpin_snat_ip",
    "SKIP_SNAT": "skip_snat",
    "ADD_ROUTE": "add_route",
    "NEIGHBOR_RESPONDER": "neighbor_responder",
    "CT_FLUSH": "ct_flush",
    "USE_STATELESS_NAT": "use_stateless_nat",
}

# Statement keywords as written, by terminal name. Protocols and user.KEY
# start statements too but are not single words.
KEYWORDS: dict[str, str] = {
    "VERSION": "version",
    "TARGET_OVN": "target-ovn",
    "NETWORK": "network",
    "ROW_PREFIX": "row-prefix",
    "ROUTER": "router",
    "SWITCH": "switch",
    "IPV4": "ipv4",
    "IPV6": "ipv6",
    "ROUTER_MAC": "router-mac",
    "SWITCH_PORT": "switch-port",
    "ATTACH_SWITCH": "attach-switch",
    "ATTACH_ROUTER": "attach-router",
    "LB_GROUP": "lb-group",
    "PROBE_SOURCE": "probe-source",
    "LOAD_BALANCER": "load-balancer",
    "FORWARD": "forward",
    "DESCRIPTION": "description",
    "HEALTH_CHECK": "health-check",
    "BACKEND": "backend",
    "DEFAULT": "default",
    "INTERVAL": "interval",
    "TIMEOUT": "timeout",
    "SUCCESS": "success",
    "FAILURE": "failure",
    "POOL": "pool",
    "PROTOCOL_SETTING": "protocol",
    "TARGET_PORT": "target-port",
    "NO_HEALTH_CHECK": "no-health-check",
    "INSTANCE": "instance",
    **{terminal: key.replace("_", "-") for terminal, key in OPTION_TERMINALS.items()},
}
PROTOCOL_WORDS = ("tcp", "udp", "sctp")
# The terminal of the value that follows each block keyword.
BLOCK_HEADERS = {"NETWORK": "NAME", "LOAD_BALANCER": "ADDRESS", "FORWARD": "ADDRESS", "POOL": "NAME"}


def keyword_terminal(word: str) -> str | None:
    """The terminal a word would start a statement as, or None for no keyword."""
    if word in PROTOCOL_WORDS:
        return "PROTOCOL"
    if word.startswith("user."):
        return "USER_KEY"
    return next((terminal for terminal, spelled in KEYWORDS.items() if spelled == word), None)


# ---------------------------------------------------------------- the lexer

_GROUP_REPEAT = re.compile(r"(?<!\\)\)([*+])(?![+?])")


def possessive(regexp: str) -> str:
    """A terminal's pattern with its repeated groups possessive: ``(...)*`` -> ``(...)*+``.

    Python's re keeps a backtracking entry for each repetition of a group,
    about 150 bytes a character: a 10 MB string took 1.5 GB. A possessive
    repeat keeps none. It matches the same text here because the lexer
    takes each token whole, and in every terminal of the grammar what
    follows a repeated group (a closing quote, or nothing) is something the
    group cannot match, so giving back part of a repetition never helps.
    """
    return _GROUP_REPEAT.sub(r")\1+", regexp)


class ContextualLexer(Lexer):
    """lark's contextual lexer, with less work per token.

    As in lark, each parser state reads only the terminals that state can
    accept, and text no terminal of the state matches is reported as
    UnexpectedToken (for a word of the language out of place) or
    UnexpectedCharacters. Unlike lark, one regular expression per state reads
    the blanks before a token together with the token, and only newline
    tokens count lines: lexing was two thirds of the parse time.
    """

    __future_interface__ = 2  # lex(lexer_state, parser_state), as lark's own lexers

    def __init__(self, conf: LexerConf) -> None:
        # lark's order: priority, then the longest possible match first.
        self._terminals = sorted(
            conf.terminals, key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name)
        )
        ignored = [possessive(t.pattern.to_regexp()) for t in self._terminals if t.name in conf.ignore]
        # Possessive: "(?:[ \t]+)*" that may give blanks back tries every way
        # to split them before a character no terminal takes, 2**n for n blanks.
        self._blanks = "(?:" + "|".join(ignored) + ")*+" if ignored else ""
        self._skip = re.compile(self._blanks)
        self._ignore = set(conf.ignore)
        self._terminals_by_name = conf.terminals_by_name
        self._by_state: dict[Any, re.Pattern[str]] = {}
        self._root = self._scanner(t.name for t in self._terminals)

    def _scanner(self, names: Iterable[str]) -> re.Pattern[str]:
        wanted = set(names) - self._ignore
        choices = "|".join(
            f"(?P<{t.name}>{possessive(t.pattern.to_regexp())})" for t in self._terminals if t.name in wanted
        )
        return re.compile(f"{self._blanks}(?:{choices})")

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        source: Any = lexer_state.text  # a TextSlice since lark 1.2.2, a str before
        text: str = getattr(source, "text", source)
        end: int = getattr(source, "end", len(text))
        counter = lexer_state.line_ctr
        states = parser_state.parse_conf.states
        stack = parser_state.state_stack
        by_state = self._by_state
        new_string = str.__new__
        # The position lives in locals; the line counter is written back only
        # where a line starts and at the end. A parse error reads the
        # position from the failing token (see dsl_recovery.Recovery).
        position, line, line_start = counter.char_pos, counter.line, counter.line_start_pos
        while True:
            state = stack[-1]
            scanner = by_state.get(state)
            if scanner is None:
                scanner = by_state[state] = self._scanner(states[state])
            match = scanner.match(text, position, end)
            if match is None:
                counter.char_pos = position
                counter.column = position - line_start + 1
                self._fail(text, end, lexer_state, parser_state)
                return
            kind = match.lastgroup
            assert kind is not None
            start = match.start(kind)
            position = match.end()
            column = start - line_start + 1
            value = match.group(kind)
            # Token(...) without its constructor's keyword handling: a third of
            # the time of making half a million tokens.
            token = new_string(Token, value)
            token.type, token.value, token.start_pos, token.line, token.column = kind, value, start, line, column
            if kind == "NL":
                line += value.count("\n")
                line_start = start + value.rindex("\n") + 1
                counter.char_pos, counter.line, counter.line_start_pos = position, line, line_start
                counter.column = position - line_start + 1
            token.end_line, token.end_column, token.end_pos = line, position - line_start + 1, position
            yield token

    def _fail(self, text: str, end: int, lexer_state: LexerState, parser_state: Any) -> None:
        """At text no terminal of this state matches: the end, or an error like lark's."""
        counter = lexer_state.line_ctr
        blanks = self._skip.match(text, counter.char_pos, end)
        position = blanks.end() if blanks else counter.char_pos
        counter.char_pos = position
        counter.column = position - counter.line_start_pos + 1
        if position >= end:
            return
        allowed = {name for name in parser_state.parse_conf.states[parser_state.position] if name.isupper()}
        history = [lexer_state.last_token] if lexer_state.last_token else None
        found = self._root.match(text, position, end)
        if found is None or found.lastgroup is None:
            raise UnexpectedCharacters(  # type: ignore[no-untyped-call]
                text,
                position,
                counter.line,
                counter.column,
                allowed=allowed,
                state=parser_state,
                token_history=history,
                terminals_by_name=self._terminals_by_name,
            )
        # A word of the language, out of place: the parser's error, with the word consumed.
        kind = found.lastgroup
        token = Token(kind, found.group(kind), position, counter.line, counter.column)
        token.end_pos = counter.char_pos = found.end()
        counter.column = counter.char_pos - counter.line_start_pos + 1
        raise UnexpectedToken(  # type: ignore[no-untyped-call]
            token, allowed, state=parser_state, token_history=history, terminals_by_name=self._terminals_by_name
        )
