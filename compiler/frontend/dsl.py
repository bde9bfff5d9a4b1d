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
"""

from __future__ import annotations

import bisect
import difflib
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lark import Lark, Token, Transformer, Tree
from lark.common import LexerConf
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import Lexer, LexerState
from netaddr import EUI, IPAddress, IPNetwork

from ..diagnostics import Diagnostic, SourceText, Span, did_you_mean, error
from ..ir import (
    Backend,
    Document,
    Forward,
    ForwardPort,
    HealthCheck,
    LoadBalancer,
    LoadBalancerOptions,
    LoadBalancerPort,
    Network,
    PortRange,
    SwitchPort,
    Target,
)
from ..ovn_versions import parse_ovn_version
from ..resources import resource_dir
from .lb_options import build_options, parse_option
from .values import (
    MAX_HEALTH_CHECK_VALUE,
    name_problem,
    parse_address,
    parse_gateway,
    parse_mac,
    parse_ports,
    string_problem,
)

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
    **{terminal: key.replace("_", "-") for terminal, key in OPTION_TERMINALS.items()},
}
PROTOCOL_WORDS = ("tcp", "udp", "sctp")
_SETTING_WORDS = ("interval", "timeout", "success", "failure")
# The terminal of the value that follows each block keyword.
BLOCK_HEADERS = {"NETWORK": "NAME", "LOAD_BALANCER": "ADDRESS", "FORWARD": "ADDRESS"}
BLOCK_NAMES = {"NETWORK": "network", "LOAD_BALANCER": "load balancer", "FORWARD": "forward"}
# Where each statement belongs, for a statement written in the wrong block.
_HOMES = {
    "VERSION": "the top level",
    "TARGET_OVN": "the top level",
    "NETWORK": "the top level",
    **{terminal: "a load-balancer or forward block" for terminal in OPTION_TERMINALS},
    "DESCRIPTION": "a load-balancer or forward block",
    "USER_KEY": "a load-balancer or forward block",
    "PROTOCOL": "a load-balancer or forward block",
    "HEALTH_CHECK": "a load-balancer block",
    "BACKEND": "a load-balancer block",
    "DEFAULT": "a forward block",
    "INTERVAL": "a health-check line",
    "TIMEOUT": "a health-check line",
    "SUCCESS": "a health-check line",
    "FAILURE": "a health-check line",
}

BARE_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]*")
_USER_KEY_BARE = re.compile(r"[A-Za-z0-9_.:/-]*")
_WORD_AT = re.compile(r"[\w.:/-]+")
_NL = re.compile(r"(#[^\n]*)?(\n[ \t\f\r]*(#[^\n]*)?)+")
_DURATION = re.compile(r"([0-9]{1,12})([smh])")
# int() refuses numbers over 4300 digits; anything over 12 is out of range anyway.
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.?)")
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
# Never produced by the lexer: marks a value the error recovery made up.
PLACEHOLDER = "\x00"


# ---------------------------------------------------------------- syntax tree


@dataclass(slots=True, eq=False)
class Statement:
    """One line of DSL (a block is one statement with a body)."""

    keyword: Token
    args: list[Token]
    # The end of the statement: its trailing comment and the blank and
    # comment lines after it (see split_newline).
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


class _SyntaxTreeBuilder(Transformer[Token, Any]):
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
    attach_switch = attach_router = lb_group = lb_option = _statement
    health_check = backend = lb_port = default_target = forward_port = description = user_config = _statement
    network = load_balancer = forward = _block


# ---------------------------------------------------------------- the lexer


class _ContextualLexer(Lexer):
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
        ignored = [t.pattern.to_regexp() for t in self._terminals if t.name in conf.ignore]
        self._blanks = "(?:" + "|".join(ignored) + ")*" if ignored else ""
        self._skip = re.compile(self._blanks)
        self._ignore = set(conf.ignore)
        self._terminals_by_name = conf.terminals_by_name
        self._by_state: dict[Any, re.Pattern[str]] = {}
        self._root = self._scanner(t.name for t in self._terminals)

    def _scanner(self, names: Iterable[str]) -> re.Pattern[str]:
        wanted = set(names) - self._ignore
        choices = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in self._terminals if t.name in wanted)
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
        # position from the failing token (see _Recovery).
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


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    # grammar/ ships as the package compiler.grammar; resource_dir finds it
    # installed or in a source checkout.
    text = (resource_dir("grammar") / "lb.lark").read_text(encoding="utf-8")
    return Lark(
        text,
        parser="lalr",
        lexer=_ContextualLexer,
        # Spans come from the tokens the syntax tree keeps; lark's own
        # positions would only cost time on every reduction.
        propagate_positions=False,
        maybe_placeholders=False,
        transformer=_SyntaxTreeBuilder(),
    )


def parse_script(source: SourceText) -> Script:
    """Parse DSL text; syntax errors become diagnostics, never exceptions."""
    # Every statement ends with a newline, the last one too.
    padded = SourceText(source.name, source.text + "\n")
    recovery = _Recovery(source, padded)
    try:
        result: tuple[Token | None, list[Statement]] = _parser().parse(padded.text, on_error=recovery)  # type: ignore[assignment]
    except VisitError as exc:  # pragma: no cover - the tree builder raises nothing itself
        raise exc.orig_exc from exc
    except UnexpectedInput as exc:
        # The recovery gave up (it never should): report where, and keep nothing.
        if not recovery.diagnostics:
            recovery.report(_offset_of(exc, padded), "E100", "syntax error")
        return Script(None, [], recovery.diagnostics, recovery.offsets)
    return Script(result[0], result[1], recovery.diagnostics, recovery.offsets)


def _offset_of(exc: UnexpectedInput, padded: SourceText) -> int:
    if isinstance(exc, UnexpectedToken):
        if exc.token.type == "$END":
            return len(padded.text) - 1
        return exc.token.start_pos or 0
    return exc.pos_in_stream or 0


# ---------------------------------------------------------------- syntax errors in words


def _name_phrase(previous: str) -> str:
    # Backend names follow "backend", "->" and ",".
    return {
        "NETWORK": "a network name",
        "ROW_PREFIX": "a row prefix",
        "ROUTER": "a router name",
        "SWITCH": "a switch name",
        "SWITCH_PORT": "a switch port name",
        "ATTACH_SWITCH": "a switch name",
        "ATTACH_ROUTER": "a router name",
        "LB_GROUP": "a load balancer group name",
        "NEIGHBOR_RESPONDER": "all, reachable or none",
    }.get(previous, "a backend name")


def _subnet_phrase(previous: str) -> str:
    if previous == "IPV6":
        return "an IPv6 gateway address with a prefix, like fd42:1:2:3::1/64"
    return "an IPv4 gateway address with a prefix, like 10.135.209.1/24"


def _string_phrase(previous: str) -> str:
    return "a value in double quotes" if previous == "USER_KEY" else "a description in double quotes"


# What each terminal means to a reader, in the order a message lists them.
_PHRASES: dict[str, Callable[[str], str]] = {
    "VERSION_NUMBER": lambda _: "a version number",
    "NAME": _name_phrase,
    "ADDRESS": lambda _: "an IP address",
    "ENDPOINT": lambda _: "a target address, like 10.0.0.2:80 or [fd42::2]:80",
    "SUBNET": _subnet_phrase,
    "MAC": lambda _: "a MAC address like 02:75:b9:2e:ad:f4",
    "PORTS": lambda _: "a port number or range",
    "FIELDS": lambda _: "selection fields like ip_src, ip_dst",
    "DURATION": lambda _: "a duration like 5s",
    "COUNT": lambda _: "a number",
    "ARROW": lambda _: "'->'",
    "COMMA": lambda _: "','",
    "STRING": _string_phrase,
    "LBRACE": lambda _: "'{'",
    "RBRACE": lambda _: "'}'",
    "NL": lambda _: "the end of the line",
    "$END": lambda _: "the end of the file",
}

# The statements each block allows, as a reader would write them.
_STATEMENT_ORDER = (
    "VERSION",
    "TARGET_OVN",
    "NETWORK",
    "ROW_PREFIX",
    "ROUTER",
    "SWITCH",
    "IPV4",
    "IPV6",
    "ROUTER_MAC",
    "SWITCH_PORT",
    "ATTACH_SWITCH",
    "ATTACH_ROUTER",
    "LB_GROUP",
    "LOAD_BALANCER",
    "FORWARD",
    "DESCRIPTION",
    "HEALTH_CHECK",
    "DEFAULT",
    "USER_KEY",
    *OPTION_TERMINALS,
    "BACKEND",
    "PROTOCOL",
)


def statement_words(expected: Iterable[str]) -> list[str]:
    """The statement keywords among ``expected`` terminals, as written."""
    present = set(expected)
    words: list[str] = []
    for terminal in _STATEMENT_ORDER:
        if terminal not in present:
            continue
        if terminal == "PROTOCOL":
            words.extend(PROTOCOL_WORDS)
        elif terminal == "USER_KEY":
            words.append("user.KEY")
        else:
            words.append(KEYWORDS[terminal])
    return words


def block_context(expected: Iterable[str]) -> str:
    """Where a parser state is, from the statements it accepts."""
    present = set(expected)
    if "BACKEND" in present:
        return "a load balancer"
    if "DEFAULT" in present:
        return "a forward"
    if "ROUTER" in present:
        return "a network"
    if "INTERVAL" in present:
        return "a health-check line"
    return "the top level"


def expected_phrase(expected: Iterable[str], previous: str) -> str:
    """``{'PORTS'}`` -> "a port number or range"; several joined with "or"."""
    present = set(expected)
    phrases: list[str] = []
    if present & {"INTERVAL", "TIMEOUT", "SUCCESS", "FAILURE"}:
        phrases.append("a health-check setting (interval, timeout, success or failure)")
    statements = statement_words(present)
    if statements:
        where = block_context(present)
        phrases.append("a statement" if where == "the top level" else f"a statement of {where}")
        present.discard("NL")  # blank lines before a statement are no alternative to it
    for terminal, phrase in _PHRASES.items():
        if terminal in present:
            text = phrase(previous)
            if text not in phrases:
                phrases.append(text)
    if not phrases:
        return "something else"
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " or " + phrases[-1]


def describe_found(text: str, offset: int, token: Token | None) -> str:
    """What a syntax error found, in words: a word, a sign, the end of a line."""
    if token is not None and token.type == "$END":
        return "the end of the file"
    char = text[offset]
    if char in "\n#":
        return "the end of the line"
    if char == '"':
        shown = str(token.value) if token is not None else '"'
        return f"the string {shown[:40]}..." if len(shown) > 40 else f"the string {shown}"
    if text.startswith("->", offset):
        return "'->'"
    word = _WORD_AT.match(text, offset)
    if word:
        shown = word.group(0)
        return f'"{shown[:40]}..."' if len(shown) > 40 else f'"{shown}"'
    return f"'{char}'" if char.isprintable() else f"the character U+{ord(char):04X}"


# ---------------------------------------------------------------- error recovery


def _acceptable(state: Any) -> set[str]:
    return {name for name in state.parse_conf.states[state.position] if name.isupper()}


def _at_statement_start(state: Any) -> bool:
    """True between statements: where '}' or a top-level statement may come."""
    table = state.parse_conf.states[state.position]
    return "RBRACE" in table or "NETWORK" in table


def _leaves(values: Iterable[Any]) -> Iterator[Token]:
    for value in values:
        if isinstance(value, Token):
            yield value
        elif isinstance(value, Tree):
            yield from _leaves(value.children)
        elif isinstance(value, Statement):
            yield value.newline


def _pop_partial_statement(state: Any) -> list[Token]:
    """Drop what the parser holds of the statement being read; its tokens."""
    popped: list[Any] = []
    while not _at_statement_start(state):
        state.state_stack.pop()
        popped.append(state.value_stack.pop())
    popped.reverse()
    return list(_leaves(popped))


def _open_block(state: Any) -> Token | None:
    """The keyword of the innermost block still open on the parser's stack."""
    for value in reversed(state.value_stack):
        if isinstance(value, Token) and value.type in BLOCK_HEADERS:
            return value
    return None


class _Recovery:
    """lark's ``on_error`` hook: report one error per statement, resume at the next.

    The parser state is cut back to the start of the broken statement and the
    lexer moved past the end of its line, so the rest of a statement never
    produces errors of its own. Braces keep their meaning: a broken block
    header still opens its block (with a made-up value) so the body is
    checked, a stray '}' still closes one, and a block keyword that its block
    cannot hold closes the blocks left open before it (a forgotten '}').
    """

    def __init__(self, source: SourceText, padded: SourceText) -> None:
        self.source = source
        self.padded = padded
        self.text = padded.text
        self.diagnostics: list[Diagnostic] = []
        self.offsets: list[int] = []
        self._last = -1

    def report(self, offset: int, code: str, message: str, *notes: str, blame: int | None = None) -> None:
        """An error at ``offset``; ``blame`` is where the object it disqualifies is (default: the same)."""
        offset = min(offset, len(self.source.text))
        self.offsets.append(offset if blame is None else blame)
        self.diagnostics.append(error(self.padded.span_at(offset), code, message, *notes))

    def __call__(self, exc: UnexpectedInput) -> bool:
        parser = exc.interactive_parser
        state = parser.parser_state
        token = exc.token if isinstance(exc, UnexpectedToken) else None
        offset = _offset_of(exc, self.padded)
        if offset <= self._last and not (token is not None and token.type == "$END"):
            return False  # no progress: never loop
        self._last = offset
        if token is not None and token.type != "$END" and token.end_pos is not None:
            # The lexer keeps its position to itself while all is well; resume after the token.
            self._move_lexer(parser.lexer_thread.state, token.end_pos)
        expected = _acceptable(state)
        previous = _last_token_type(state.value_stack)
        partial = _pop_partial_statement(state)
        if token is not None and token.type == "$END":
            return self._at_end_of_file(parser, offset, expected, previous)
        word = self._word(offset, token)
        if not partial and word is not None:
            return self._unknown_statement(parser, word, offset, expected)
        if word is not None and "INTERVAL" in expected:
            self.report(
                offset,
                "E105",
                f'unknown health-check setting "{word}"{did_you_mean(word, _SETTING_WORDS)}',
                "allowed: interval DURATION, timeout DURATION, success COUNT, failure COUNT",
            )
        elif "LBRACE" in expected and token is not None and token.type == "NL" and partial:
            return self._missing_brace(parser, partial, offset, expected, previous)
        elif token is None and self.text[offset] == '"':
            self.report(offset, "E100", "this string is not closed before the end of the line")
        else:
            found = describe_found(self.text, offset, token)
            # Two backend names with only a blank between them: say how to list them.
            notes = ("separate backend names with commas: -> web1, web2",) if "COMMA" in expected and word else ()
            self.report(offset, "E100", f"expected {expected_phrase(expected, previous)}, found {found}", *notes)
        return self._finish_statement(parser, partial, token)

    # -- the cases ----------------------------------------------------------

    def _at_end_of_file(self, parser: Any, offset: int, expected: set[str], previous: str) -> bool:
        state = parser.parser_state
        block = _open_block(state)
        if block is not None:
            where = f"the {BLOCK_NAMES[block.type]} that starts on line {block.line}"
            self.report(offset, "E100", f"expected '}}' before the end of the file: {where} is not closed")
        else:
            self.report(offset, "E100", f"expected {expected_phrase(expected, previous)}, found the end of the file")
        self._close_blocks(parser, offset, levels=None)
        return True

    def _unknown_statement(self, parser: Any, word: str, offset: int, expected: set[str]) -> bool:
        terminal = _keyword_terminal(word)
        if terminal is not None and terminal not in expected and self._closes_to(parser, terminal, offset):
            return True
        where = block_context(expected)
        allowed = statement_words(expected)
        notes = ("allowed here: " + ", ".join(allowed),) if allowed else ()
        line_end = self.text.find("\n", offset)
        if terminal is None and "PROTOCOL" in expected and "->" in self.text[offset:line_end]:
            self.report(offset, "E204", f'unknown protocol "{word}": expected tcp, udp or sctp')
        elif terminal is None:
            choices = [w for w in allowed if w != "user.KEY"]
            self.report(offset, "E102", f'unknown statement "{word}" in {where}{did_you_mean(word, choices)}', *notes)
            # A misspelt block keyword still opens its block, so its body is read.
            terminal = _keyword_terminal(_closest(word, choices) or "")
        elif terminal in expected:
            found = describe_found(self.text, offset, None)
            self.report(offset, "E100", f"expected {expected_phrase(expected, '')}, found {found}")
        else:
            home = _HOMES.get(terminal, "a network block")
            self.report(offset, "E102", f'"{word}" cannot appear in {where}: it belongs in {home}', *notes)
        start = Token(terminal or "NAME", word, offset, *self._position(offset), offset + len(word))
        return self._finish_statement(parser, [start], None, skip_from=offset + len(word))

    def _missing_brace(self, parser: Any, partial: list[Token], offset: int, expected: set[str], prev: str) -> bool:
        """A block header without its '{': open the block when a body follows."""
        self.report(offset, "E100", f"expected {expected_phrase(expected, prev)}, found the end of the line")
        keyword = partial[0]
        if keyword.type in BLOCK_HEADERS and keyword.type in parser.choices():
            trial = parser.copy(deepcopy_values=False)
            self._open(trial, keyword, self._start_of(keyword))
            following = _WORD_AT.match(self.text, parser.lexer_thread.state.line_ctr.char_pos)
            terminal = _keyword_terminal(following.group(0)) if following else None
            if terminal is not None and terminal in trial.choices() and terminal not in BLOCK_HEADERS:
                self._open(parser, keyword, self._start_of(keyword))
        return True

    def _finish_statement(
        self, parser: Any, partial: list[Token], token: Token | None, skip_from: int | None = None
    ) -> bool:
        """Skip to the next statement, keeping what the braces of this one meant."""
        braces = sum(1 if t.value == "{" else -1 if t.value == "}" else 0 for t in partial)
        if token is not None and token.type != "NL":
            braces += 1 if token.value == "{" else -1 if token.value == "}" else 0
        lexer = parser.lexer_thread.state
        if token is None or token.type != "NL":
            start = skip_from if skip_from is not None else lexer.line_ctr.char_pos
            end, more = self._scan_line(start)
            braces += more
            self._move_lexer(lexer, end)
        if braces > 0:
            keyword = partial[0] if partial else None
            if keyword is not None and keyword.type in BLOCK_HEADERS and keyword.type in parser.choices():
                self._open(parser, keyword, self._start_of(keyword))
            else:
                self._move_lexer(lexer, self._skip_blocks(lexer.line_ctr.char_pos, braces))
        elif braces < 0:
            self._close_blocks(parser, lexer.line_ctr.char_pos, levels=-braces)
        return True

    # -- moving the parser ------------------------------------------------

    def _closes_to(self, parser: Any, terminal: str, offset: int) -> bool:
        """A block keyword out of place: close the open blocks if that makes it fit."""
        trial = parser.copy(deepcopy_values=False)
        closed: list[Token] = []
        while "RBRACE" in trial.choices():
            block = _open_block(trial.parser_state)
            trial.feed_token(self._token("RBRACE", "}", offset))
            trial.feed_token(self._token("NL", "\n", offset))
            if block is not None:
                closed.append(block)
            if terminal in trial.choices():
                break
        else:
            return False
        innermost = closed[0]
        self.report(
            offset,
            "E100",
            f"expected '}}' before \"{_word_of(self.text, offset)}\": the {BLOCK_NAMES[innermost.type]} "
            f"that starts on line {innermost.line} is not closed",
            # The unclosed block is at fault, not the one that starts here.
            blame=offset - 1,
        )
        for _ in closed:
            parser.feed_token(self._token("RBRACE", "}", offset))
            parser.feed_token(self._token("NL", "\n", offset))
        # Read the keyword again, now where it belongs.
        self._move_lexer(parser.lexer_thread.state, offset)
        return True

    def _open(self, parser: Any, keyword: Token, offset: int) -> None:
        """Open the block a broken header meant to open, with a made-up value."""
        value_type = BLOCK_HEADERS[keyword.type]
        for terminal, value in (
            (keyword.type, keyword.value),
            (value_type, PLACEHOLDER),
            ("LBRACE", "{"),
            ("NL", "\n"),
        ):
            parser.feed_token(self._token(terminal, value, offset))

    def _close_blocks(self, parser: Any, offset: int, levels: int | None) -> None:
        count = 0
        while "RBRACE" in parser.choices() and (levels is None or count < levels):
            parser.feed_token(self._token("RBRACE", "}", offset))
            parser.feed_token(self._token("NL", "\n", offset))
            count += 1

    def _token(self, terminal: str, value: str, offset: int) -> Token:
        line, column = self._position(offset)
        return Token(terminal, value, offset, line, column, line, column, offset)

    def _position(self, offset: int) -> tuple[int, int]:
        span = self.padded.span_at(offset)
        return span.line, span.column

    def _start_of(self, token: Token) -> int:
        return token.start_pos or 0

    def _move_lexer(self, lexer: Any, offset: int) -> None:
        # lark has no public way to move its lexer; LineCounter's four fields
        # are all it keeps of a position.
        counter = lexer.line_ctr
        line, column = self._position(offset)
        counter.char_pos = offset
        counter.line = line
        counter.column = column
        counter.line_start_pos = offset - column + 1

    # -- reading the raw text ---------------------------------------------

    def _word(self, offset: int, token: Token | None) -> str | None:
        if token is not None and token.type in ("NL", "$END", "STRING"):
            return None
        match = _WORD_AT.match(self.text, offset)
        return match.group(0) if match else None

    def _scan_line(self, start: int) -> tuple[int, int]:
        """(where the next statement starts, the net count of braces) from ``start``."""
        text = self.text
        index = start
        braces = 0
        while index < len(text) and text[index] != "\n":
            char = text[index]
            if char == "#":
                index = text.find("\n", index)
                break
            if char == '"':
                index = _end_of_string(text, index)
                continue
            braces += 1 if char == "{" else -1 if char == "}" else 0
            index += 1
        if index == -1 or index >= len(text):
            return len(text), braces
        match = _NL.match(text, index)
        return (match.end() if match else index + 1), braces

    def _skip_blocks(self, start: int, depth: int) -> int:
        """Past the '}' that closes ``depth`` blocks opened before ``start``."""
        position = start
        while depth > 0 and position < len(self.text):
            position, braces = self._scan_line(position)
            depth += braces
        return position


def _end_of_string(text: str, start: int) -> int:
    index = start + 1
    while index < len(text) and text[index] not in '"\n':
        index += 2 if text[index] == "\\" else 1
    return index + 1 if index < len(text) and text[index] == '"' else min(index, len(text))


def _word_of(text: str, offset: int) -> str:
    match = _WORD_AT.match(text, offset)
    return match.group(0) if match else text[offset : offset + 1]


def _closest(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _keyword_terminal(word: str) -> str | None:
    if word in PROTOCOL_WORDS:
        return "PROTOCOL"
    if word.startswith("user."):
        return "USER_KEY"
    return next((terminal for terminal, spelled in KEYWORDS.items() if spelled == word), None)


def _last_token_type(values: list[Any]) -> str:
    tokens = list(_leaves(values[-1:]))
    return tokens[-1].type if tokens else ""


# ---------------------------------------------------------------- value rules shared with document.py
# The same checks and messages as the YAML front end's ModelBuilder, as
# functions of text (ModelBuilder's take YAML nodes).


def parse_count(text: str) -> int | None:
    """A health-check count: 1 to 2**31-1 (ovn-controller reads C ints)."""
    if not re.fullmatch(r"[0-9]{1,12}", text) or not 1 <= int(text) <= MAX_HEALTH_CHECK_VALUE:
        return None
    return int(text)


def parse_duration(text: str) -> int | None:
    """``5s``, ``2m``, ``1h`` -> seconds; None for anything else."""
    match = _DURATION.fullmatch(text)
    if not match:
        return None
    seconds = int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    return seconds if 1 <= seconds <= MAX_HEALTH_CHECK_VALUE else None


def decode_string(quoted: str) -> tuple[str, None] | tuple[None, tuple[int, str]]:
    """The value of a double-quoted string, or (offset, message) of a bad escape."""
    body = quoted[1:-1]
    problem: tuple[int, str] | None = None

    def replace(match: re.Match[str]) -> str:
        nonlocal problem
        escape = match.group(1)
        if escape in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[escape]
        if len(escape) == 5:
            return chr(int(escape[1:], 16))
        if problem is None:
            problem = (
                match.start() + 1,
                f'unknown escape "\\{escape}" in a string: use \\", \\\\, \\n, \\t or \\uXXXX',
            )
        return ""

    value = _ESCAPE.sub(replace, body) if "\\" in body else body
    if problem is not None:
        return None, problem
    try:
        # \ud83d\ude00 is one character, as in JSON; a lone half stays and is reported (E208).
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        pass
    return value, None


def quote(value: str) -> str:
    """A double-quoted string that reads back as ``value``."""
    parts = ['"']
    for char in value:
        if char in '"\\':
            parts.append("\\" + char)
        elif char == "\n":
            parts.append("\\n")
        elif char == "\t":
            parts.append("\\t")
        elif ord(char) <= 0xFFFF and unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(char)
    parts.append('"')
    return "".join(parts)


def name_text(value: str) -> str:
    """A name as a bare word when it reads back as itself, else quoted."""
    if BARE_WORD.fullmatch(value) and _keyword_terminal(value) is None:
        return value
    return quote(value)


def user_key_text(key: str) -> str:
    """``user.team`` as is; a key a bare word cannot spell as ``user."..."``."""
    suffix = key.removeprefix("user.")
    return key if _USER_KEY_BARE.fullmatch(suffix) else "user." + quote(suffix)


def mac_text(mac: EUI) -> str:
    """``02:75:b9:2e:ad:f4``: the form both front ends read (netaddr prints dashes)."""
    return ":".join(f"{byte:02x}" for byte in mac.words)


def duration_text(seconds: int) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def endpoint_text(address: IPAddress, ports: str) -> str:
    """An address with optional ports; IPv6 always in brackets."""
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"{host}:{ports}" if ports else host


def split_endpoint(text: str) -> tuple[str, int, str | None, int]:
    """``[fd42::2]:80`` -> (address, its offset, ports or None, their offset).

    An address with one colon is IPv4 with ports; with more, a bare IPv6
    address (which cannot take ports: put it in brackets).
    """
    if text.startswith("["):
        close = text.find("]")
        if close == -1:
            return text, 0, None, 0
        rest = text[close + 1 :]
        if not rest:
            return text[1:close], 1, None, 0
        if rest.startswith(":"):
            return text[1:close], 1, rest[1:], close + 2
        return text, 0, None, 0
    if text.count(":") == 1:
        address, _, ports = text.partition(":")
        return address, 0, ports, len(address) + 1
    return text, 0, None, 0


# ---------------------------------------------------------------- statements -> model


def load_dsl(source: SourceText) -> tuple[Document, list[Diagnostic]]:
    """Parse and build one DSL file; never raises on any text."""
    script = parse_script(source)
    builder = ModelBuilder(source, script)
    document = builder.document()
    return document, script.diagnostics + builder.diagnostics


_NETWORK_SINGLES = ("ROW_PREFIX", "ROUTER", "SWITCH", "IPV4", "IPV6", "ROUTER_MAC", "LB_GROUP")
_LOAD_BALANCER_SINGLES = ("DESCRIPTION", "HEALTH_CHECK", *OPTION_TERMINALS)
_FORWARD_SINGLES = ("DESCRIPTION", "DEFAULT", *OPTION_TERMINALS)
_SETTING_KEYS = {"INTERVAL": "interval", "TIMEOUT": "timeout", "SUCCESS": "success_count", "FAILURE": "failure_count"}


def _any_none(values: Iterable[object]) -> bool:
    # By identity: netaddr objects compare equal to plain numbers (EUI(0) == False).
    return any(value is None for value in values)


class ModelBuilder:
    """Builds the model from the statements, reporting bad values.

    Every statement is read, so all value errors of a file are reported at
    once; an object with an error (or a syntax error directly inside it) is
    then left out of the model.
    """

    def __init__(self, source: SourceText, script: Script) -> None:
        self.file = source.name
        self.script = script
        self.diagnostics: list[Diagnostic] = []
        self._error_offsets = sorted(script.error_offsets)

    # -- helpers ------------------------------------------------------------

    def fail(self, span: Span, code: str, message: str, *notes: str) -> None:
        self.diagnostics.append(error(span, code, message, *notes))

    def span(self, token: Token, shift: int = 0) -> Span:
        return Span(self.file, token.line or 0, (token.column or 0) + shift)

    def has_syntax_error(self, block: Statement) -> bool:
        """True when a syntax error lies in ``block`` but in none of its blocks."""
        if not self._error_offsets:
            return False
        start, end = block.keyword.start_pos or 0, block.end_pos
        first = bisect.bisect_left(self._error_offsets, start)
        inner = [(s.keyword.start_pos or 0, s.end_pos) for s in block.body or () if s.body is not None]
        for offset in self._error_offsets[first:]:
            if offset > end:
                return False
            if not any(a <= offset <= b for a, b in inner):
                return True
        return False

    def singles(self, block: Statement, terminals: tuple[str, ...]) -> dict[str, Statement]:
        """The statements a block may hold once; a repeated one is reported (E101)."""
        found: dict[str, Statement] = {}
        for statement in block.body or ():
            terminal = statement.keyword.type
            if terminal not in terminals:
                continue
            if terminal in found:
                first = found[terminal].keyword
                self.fail(
                    self.span(statement.keyword),
                    "E101",
                    f'duplicate "{statement.keyword.value}" (first given on line {first.line})',
                )
            else:
                found[terminal] = statement
        return found

    def each(self, block: Statement, terminal: str) -> Iterator[Statement]:
        return (s for s in block.body or () if s.keyword.type == terminal)

    def text(self, token: Token) -> str | None:
        """A NAME or STRING token's value: unquoted and unescaped, or None (reported)."""
        raw = str(token.value)
        if raw == PLACEHOLDER:
            return None
        if not raw.startswith('"'):
            return raw
        value, problem = decode_string(raw)
        if problem is not None:
            self.fail(self.span(token, problem[0]), "E100", problem[1])
            return None
        assert value is not None
        message = string_problem(value)
        if message is not None:
            self.fail(self.span(token), "E208", message)
            return None
        return value

    def name(self, token: Token, what: str, spans: dict[str, Span], key: str = "name") -> str | None:
        spans[key] = self.span(token)
        value = self.text(token)
        if value is None:
            return None
        if not str(token.value).startswith('"'):
            return value  # a bare word is never empty and holds no whitespace
        message = name_problem(value, what)
        if message is not None:
            self.fail(self.span(token), "E207", message)
            return None
        return value

    def address(self, token: Token, what: str, spans: dict[str, Span], key: str) -> IPAddress | None:
        """An address on its own: bare, or IPv6 in brackets."""
        text = str(token.value)
        if text == PLACEHOLDER:
            return None
        spans[key] = self.span(token)
        bracketed = text.startswith("[") and text.endswith("]")
        address = parse_address(text[1:-1] if bracketed else text)
        if address is None or (bracketed and address.version != 6):
            note = ("brackets are for IPv6 addresses only",) if bracketed and address is not None else ()
            self.fail(self.span(token), "E200", f'{what}: "{text}" is not an IPv4 or IPv6 address', *note)
            return None
        return address

    def ports(self, token: Token, text: str, shift: int, what: str) -> tuple[PortRange, ...] | None:
        if text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= 65535:
            return (PortRange(int(text), int(text)),)  # the common case, without parse_ports' regex
        ranges, problems = parse_ports(text)
        for offset, message in problems:
            self.fail(self.span(token, shift + offset), "E203", f"invalid {what}: {message}")
        return None if problems else ranges

    def endpoint(
        self, token: Token, what: str, spans: dict[str, Span]
    ) -> tuple[IPAddress, tuple[PortRange, ...]] | None:
        """A target: an address and optional ports (``10.0.0.2:80``, ``[fd42::2]:80``)."""
        text = str(token.value)
        address_text, address_at, ports_text, ports_at = split_endpoint(text)
        spans["target_address"] = self.span(token, address_at)
        address = parse_address(address_text)
        bracketed = address_at == 1
        if address is None or (bracketed and address.version != 6):
            note = ("brackets are for IPv6 addresses only",) if bracketed and address is not None else ()
            if address is None and text.count(":") > 1 and not bracketed:
                note = ("an IPv6 address with ports goes in brackets: [fd42::2]:80",)
            self.fail(
                self.span(token, address_at), "E200", f'{what}: "{address_text}" is not an IPv4 or IPv6 address', *note
            )
            address = None
        ports: tuple[PortRange, ...] | None = ()
        if ports_text is not None:
            spans["target_port"] = self.span(token, ports_at)
            ports = self.ports(token, ports_text, ports_at, "target port")
        if address is None or ports is None:
            return None
        return address, ports

    def description(self, statement: Statement | None, spans: dict[str, Span]) -> str | None:
        if statement is None:
            return ""
        token = statement.args[0]
        spans["description"] = self.span(token)
        return self.text(token)

    def trailing_description(self, statement: Statement, spans: dict[str, Span]) -> str | None:
        last = statement.args[-1]
        if last.type != "STRING":
            return ""
        spans["description"] = self.span(last)
        return self.text(last)

    def user_config(self, block: Statement, spans: dict[str, Span]) -> tuple[tuple[str, str], ...] | None:
        pairs: dict[str, str] = {}
        lines: dict[str, int] = {}
        ok = True
        for statement in self.each(block, "USER_KEY"):
            key_token, value_token = statement.keyword, statement.args[0]
            key = self.user_key(key_token)
            value = self.text(value_token)
            if key is None or value is None:
                ok = False
                continue
            if key in pairs:
                self.fail(self.span(key_token), "E101", f'duplicate key "{key}" (first given on line {lines[key]})')
                continue
            spans[f"config.{key}"] = self.span(value_token)
            pairs[key] = value
            lines[key] = key_token.line or 0
        return tuple(sorted(pairs.items())) if ok else None

    def user_key(self, token: Token) -> str | None:
        raw = str(token.value)
        suffix = raw.removeprefix("user.")
        if not suffix.startswith('"'):
            return raw
        value, problem = decode_string(suffix)
        if problem is not None:
            self.fail(self.span(token, len("user.") + problem[0]), "E100", problem[1])
            return None
        assert value is not None
        message = string_problem(value)
        if message is not None:
            self.fail(self.span(token), "E208", message)
            return None
        return "user." + value

    # -- objects --------------------------------------------------------------

    def document(self) -> Document:
        networks: list[Network] = []
        self.version()
        for statement in self.script.statements:
            if statement.keyword.type == "NETWORK":
                network = self.network(statement)
                if network is not None:
                    networks.append(network)
        return Document(tuple(networks), self.target())

    def target(self) -> Target | None:
        statements = [s for s in self.script.statements if s.keyword.type == "TARGET_OVN"]
        for extra in statements[1:]:
            first = statements[0].keyword.line
            self.fail(self.span(extra.keyword), "E101", f'duplicate "target-ovn" (first given on line {first})')
        if not statements or str(statements[0].args[0].value) == PLACEHOLDER:
            return None
        token = statements[0].args[0]
        version = parse_ovn_version(str(token.value))
        if isinstance(version, str):
            self.fail(self.span(token), "E210", f"target-ovn: {version}")
            return None
        return Target(version, f"target-ovn at {self.span(token)}", self.span(token))

    def attach_names(
        self, block: Statement, terminal: str, what: str, key: str, spans: dict[str, Span]
    ) -> tuple[str, ...] | None:
        names: list[str | None] = []
        for statement in self.each(block, terminal):
            for token in statement.args:
                names.append(self.name(token, what, spans, f"{key}[{len(names)}]"))
        return None if _any_none(names) else tuple(n for n in names if n is not None)

    def options(self, found: dict[str, Statement], spans: dict[str, Span]) -> LoadBalancerOptions | None:
        """The option statements of a load-balancer or forward block; None when any is bad."""
        values: dict[str, object] = {}
        ok = True
        for terminal, key in OPTION_TERMINALS.items():
            statement = found.get(terminal)
            if statement is None:
                continue
            tokens = statement.args
            spans[f"config.{key}"] = self.span(tokens[0] if tokens else statement.keyword)
            if not tokens:  # a flag
                values[key] = True
                continue
            words = [self.text(token) if token.type == "NAME" else str(token.value) for token in tokens]
            if any(word is None or word == PLACEHOLDER for word in words):
                ok = False
                continue
            starts = [sum(len(str(w)) + 1 for w in words[:index]) for index in range(len(words))]
            parsed = parse_option(key, " ".join(str(w) for w in words))
            for offset, message in parsed.problems:
                index = max(i for i, start in enumerate(starts) if start <= offset)
                message = message.replace(f"{key}:", f"{KEYWORDS[terminal]}:", 1)
                self.fail(self.span(tokens[index], offset - starts[index]), parsed.code, message)
            if parsed.problems:
                ok = False
            else:
                values[key] = parsed.value
        return build_options(values) if ok else None

    def version(self) -> None:
        first: Token | None = None
        for statement in self.script.statements:
            if statement.keyword.type != "VERSION":
                continue
            if first is not None:
                self.fail(
                    self.span(statement.keyword), "E101", f'duplicate "version" (first given on line {first.line})'
                )
                continue
            first = statement.keyword
            number = statement.args[0]
            if number.value != "1":
                self.fail(
                    self.span(number),
                    "E104",
                    f'unsupported format version "{number.value}": this ovn-lbc reads version 1',
                )

    def network(self, block: Statement) -> Network | None:
        spans: dict[str, Span] = {}
        name = self.name(block.args[0], "network name", spans)
        found = self.singles(block, _NETWORK_SINGLES)
        row_prefix = self.required_name(block, name, found, "ROW_PREFIX", "row_prefix", spans)
        router = self.required_name(block, name, found, "ROUTER", "router", spans)
        switch = self.required_name(block, name, found, "SWITCH", "switch", spans)
        ipv4 = self.subnet(found.get("IPV4"), 4, spans)
        ipv6 = self.subnet(found.get("IPV6"), 6, spans)
        mac = self.mac(found.get("ROUTER_MAC"), spans)
        attach_switches = self.attach_names(block, "ATTACH_SWITCH", "switch name", "attach_switches", spans)
        attach_routers = self.attach_names(block, "ATTACH_ROUTER", "router name", "attach_routers", spans)
        group_statement = found.get("LB_GROUP")
        lb_group = self.name(group_statement.args[0], "lb-group name", spans, "lb_group") if group_statement else None
        switch_ports = [self.switch_port(s) for s in self.each(block, "SWITCH_PORT")]
        forwards = [self.forward(s) for s in self.each(block, "FORWARD")]
        load_balancers = [self.load_balancer(s) for s in self.each(block, "LOAD_BALANCER")]
        if (
            self.has_syntax_error(block)
            or _any_none(switch_ports)
            or attach_switches is None
            or attach_routers is None
            or (group_statement is not None and lb_group is None)
            or any(value is False for value in (ipv4, ipv6, mac))
            or name is None
            or row_prefix is None
            or router is None
            or switch is None
        ):
            return None
        if ipv4 is None and ipv6 is None:
            self.fail(self.span(block.keyword), "E317", f'network "{name}" needs an ipv4 or ipv6 line')
            return None
        assert not isinstance(ipv4, bool) and not isinstance(ipv6, bool) and not isinstance(mac, bool)
        return Network(
            name=name,
            row_prefix=row_prefix,
            router=router,
            switch=switch,
            ipv4=ipv4,
            ipv6=ipv6,
            router_mac=mac,
            switch_ports=tuple(p for p in switch_ports if p is not None),
            attach_switches=attach_switches,
            attach_routers=attach_routers,
            lb_group=lb_group,
            forwards=tuple(f for f in forwards if f is not None),
            load_balancers=tuple(lb for lb in load_balancers if lb is not None),
            span=self.span(block.keyword),
            spans=spans,
        )

    def required_name(
        self,
        block: Statement,
        network: str | None,
        found: dict[str, Statement],
        terminal: str,
        key: str,
        spans: dict[str, Span],
    ) -> str | None:
        statement = found.get(terminal)
        keyword = KEYWORDS[terminal]
        if statement is None and self.has_syntax_error(block):
            return None  # the line may be the one with the syntax error
        if statement is None:
            shown = f' "{network}"' if network is not None else ""
            self.fail(self.span(block.keyword), "E103", f'network{shown} needs a "{keyword}" line')
            return None
        return self.name(statement.args[0], keyword, spans, key)

    def subnet(self, statement: Statement | None, version: int, spans: dict[str, Span]) -> IPNetwork | None | bool:
        """The gateway with its prefix; None when absent, False when bad."""
        if statement is None:
            return None
        token = statement.args[0]
        key = f"ipv{version}_address"
        spans[key] = self.span(token)
        result = parse_gateway(str(token.value), version, f"ipv{version}")
        if isinstance(result, str):
            self.fail(self.span(token), "E201", result)
            return False
        return result

    def mac(self, statement: Statement | None, spans: dict[str, Span]) -> EUI | None | bool:
        if statement is None:
            return None
        token = statement.args[0]
        spans["router_mac"] = self.span(token)
        mac = parse_mac(str(token.value))
        if mac is None:
            self.fail(
                self.span(token),
                "E202",
                f'router-mac: "{token.value}" is not a MAC address like 02:75:b9:2e:ad:f4',
            )
            return False
        return mac

    def switch_port(self, statement: Statement) -> SwitchPort | None:
        spans: dict[str, Span] = {}
        name = self.name(statement.args[0], "switch port name", spans)
        addresses = [
            self.address(token, "switch port address", spans, f"addresses[{index}]")
            for index, token in enumerate(statement.args[1:])
        ]
        if name is None or _any_none(addresses):
            return None
        return SwitchPort(
            name,
            tuple(a for a in addresses if a is not None),
            span=self.span(statement.keyword),
            spans=spans,
        )

    def load_balancer(self, block: Statement) -> LoadBalancer | None:
        spans: dict[str, Span] = {}
        listen = self.address(block.args[0], "listen address", spans, "listen_address")
        found = self.singles(block, _LOAD_BALANCER_SINGLES)
        description = self.description(found.get("DESCRIPTION"), spans)
        health_check_ok, health_check = self.health_check(found.get("HEALTH_CHECK"), spans)
        options = self.options(found, spans)
        user_config = self.user_config(block, spans)
        backends = [self.backend(s) for s in self.each(block, "BACKEND")]
        ports = [self.load_balancer_port(s) for s in self.each(block, "PROTOCOL")]
        if (
            self.has_syntax_error(block)
            or listen is None
            or description is None
            or not health_check_ok
            or options is None
            or user_config is None
            or _any_none(backends)
            or _any_none(ports)
        ):
            return None
        return LoadBalancer(
            listen_address=listen,
            backends=tuple(b for b in backends if b is not None),
            ports=tuple(p for p in ports if p is not None),
            description=description,
            health_check=health_check,
            options=options,
            user_config=user_config,
            span=self.span(block.keyword),
            spans=spans,
        )

    def health_check(self, statement: Statement | None, spans: dict[str, Span]) -> tuple[bool, HealthCheck | None]:
        """(False, None) for a bad value, else (True, the check or None when off)."""
        if statement is None:
            return True, None
        spans["config.healthcheck"] = self.span(statement.keyword)
        numbers: dict[str, int] = {}
        lines: dict[str, int] = {}
        ok = True
        for setting, value in zip(statement.args[::2], statement.args[1::2], strict=True):
            key = _SETTING_KEYS[setting.type]
            if key in lines:
                self.fail(
                    self.span(setting),
                    "E101",
                    f'duplicate health-check setting "{setting.value}" (first given on line {lines[key]})',
                )
                continue
            lines[key] = setting.line or 0
            spans[f"config.healthcheck.{key}"] = self.span(value)
            number = self.setting(setting, value)
            if number is None:
                ok = False
            else:
                numbers[key] = number
        return (True, HealthCheck(**numbers)) if ok else (False, None)

    def setting(self, setting: Token, value: Token) -> int | None:
        text = str(value.value)
        if setting.type in ("INTERVAL", "TIMEOUT"):
            seconds = parse_duration(text)
            if seconds is None:
                why = (
                    f"is not 1 to {MAX_HEALTH_CHECK_VALUE} seconds"
                    if re.fullmatch(r"[0-9]+[smh]", text)
                    else "is not a duration: expected a duration like 5s, 2m or 1h"
                )
                self.fail(self.span(value), "E205", f'{setting.value}: "{text}" {why}')
            return seconds
        count = parse_count(text)
        if count is None:
            self.fail(self.span(value), "E205", f'{setting.value}: "{text}" is not a positive integer')
        return count

    def backend(self, statement: Statement) -> Backend | None:
        spans: dict[str, Span] = {}
        name = self.name(statement.args[0], "backend name", spans)
        target = self.endpoint(statement.args[1], "backend address", spans)
        description = self.trailing_description(statement, spans)
        if name is None or target is None or description is None:
            return None
        address, ports = target
        return Backend(name, address, ports, description, span=self.span(statement.keyword), spans=spans)

    def listen_ports(self, statement: Statement, spans: dict[str, Span]) -> tuple[PortRange, ...] | None:
        token = statement.args[0]
        spans["protocol"] = self.span(statement.keyword)
        spans["listen_port"] = self.span(token)
        return self.ports(token, str(token.value), 0, "listen port")

    def load_balancer_port(self, statement: Statement) -> LoadBalancerPort | None:
        spans: dict[str, Span] = {}
        listen_ports = self.listen_ports(statement, spans)
        names = [token for token in statement.args[2:] if token.type == "NAME"]
        targets: list[str | None] = []
        for index, token in enumerate(names):
            spans[f"target_backend[{index}]"] = self.span(token)
            targets.append(self.text(token))
        description = self.trailing_description(statement, spans)
        if listen_ports is None or description is None or _any_none(targets):
            return None
        return LoadBalancerPort(
            str(statement.keyword.value),
            listen_ports,
            tuple(t for t in targets if t is not None),
            description,
            span=self.span(statement.keyword),
            spans=spans,
        )

    def forward(self, block: Statement) -> Forward | None:
        spans: dict[str, Span] = {}
        listen = self.address(block.args[0], "listen address", spans, "listen_address")
        found = self.singles(block, _FORWARD_SINGLES)
        description = self.description(found.get("DESCRIPTION"), spans)
        default_target: IPAddress | None = None
        default_ok = True
        if "DEFAULT" in found:
            token = found["DEFAULT"].args[0]
            default_target = self.address(token, "default target", spans, "default_target")
            spans["config.target_address"] = self.span(token)
            default_ok = default_target is not None
        options = self.options(found, spans)
        user_config = self.user_config(block, spans)
        ports = [self.forward_port(s) for s in self.each(block, "PROTOCOL")]
        if (
            self.has_syntax_error(block)
            or listen is None
            or description is None
            or options is None
            or not default_ok
            or user_config is None
            or _any_none(ports)
        ):
            return None
        return Forward(
            listen_address=listen,
            ports=tuple(p for p in ports if p is not None),
            default_target=default_target,
            description=description,
            options=options,
            user_config=user_config,
            span=self.span(block.keyword),
            spans=spans,
        )

    def forward_port(self, statement: Statement) -> ForwardPort | None:
        spans: dict[str, Span] = {}
        listen_ports = self.listen_ports(statement, spans)
        target = self.endpoint(statement.args[2], "forward target", spans)
        description = self.trailing_description(statement, spans)
        if listen_ports is None or target is None or description is None:
            return None
        address, ports = target
        return ForwardPort(
            str(statement.keyword.value),
            listen_ports,
            address,
            ports,
            description,
            span=self.span(statement.keyword),
            spans=spans,
        )
