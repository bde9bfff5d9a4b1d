"""DSL syntax errors: lark's errors in words, and resuming at the next statement.

Two jobs that only make sense together: the first half turns what the
parser expected and what it found into a sentence (``expected a port number
or range, found "x"``); the second, :class:`Recovery`, is lark's ``on_error``
hook, which reports one such sentence per broken statement and moves the
parser and lexer past it. Both read the parser's state and the raw text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lark import Token, Tree
from lark.exceptions import UnexpectedInput, UnexpectedToken

from ..diagnostics import Diagnostic, SourceText, did_you_mean, error
from .dsl_lexer import BLOCK_HEADERS, KEYWORDS, OPTION_TERMINALS, PROTOCOL_WORDS, keyword_terminal
from .dsl_syntax import PLACEHOLDER, Statement
from .values import WHOLE_IP_LOAD_BALANCING

# The health-check settings, for a misspelt one; each block in words.
_SETTING_WORDS = ("interval", "timeout", "success", "failure")
BLOCK_NAMES = {"NETWORK": "network", "LOAD_BALANCER": "load balancer", "FORWARD": "forward", "POOL": "pool"}
# Where each statement belongs, for a statement written in the wrong block.
_HOMES = {
    "VERSION": "the top level",
    "TARGET_OVN": "the top level",
    "NETWORK": "the top level",
    **{terminal: "a load-balancer or forward block" for terminal in OPTION_TERMINALS},
    "DESCRIPTION": "a load-balancer, forward or pool block",
    "USER_KEY": "a load-balancer, forward or pool block",
    "PROTOCOL": "a load-balancer or forward block",
    "HEALTH_CHECK": "a load-balancer or pool block",
    "PROTOCOL_SETTING": "a pool block",
    "TARGET_PORT": "a pool block",
    "NO_HEALTH_CHECK": "a pool block",
    "INSTANCE": "a pool block (or at the end of a switch-port line)",
    "BACKEND": "a load-balancer block",
    "DEFAULT": "a forward block",
    "INTERVAL": "a health-check line",
    "TIMEOUT": "a health-check line",
    "SUCCESS": "a health-check line",
    "FAILURE": "a health-check line",
}

_WORD_AT = re.compile(r"[\w.:/-]+")
# The NL terminal; possessive, as the lexer makes it (dsl_lexer.possessive).
_NL = re.compile(r"(#[^\n]*)?(\n[ \t\f\r]*(#[^\n]*)?)++")


def offset_of(exc: UnexpectedInput, padded: SourceText) -> int:
    """Where in the padded text a lark error is."""
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
        "POOL": "a pool name",
        "INSTANCE": "an instance name",
    }.get(previous, "a backend name")


def _subnet_phrase(previous: str) -> str:
    if previous == "IPV6":
        return "an IPv6 gateway address with a prefix, like fd42:1:2:3::1/64"
    return "an IPv4 gateway address with a prefix, like 10.135.209.1/24"


def _source_phrase(previous: str) -> str:
    if previous == "IPV6":
        return "last, eui64, router or an IPv6 address"
    return "last, router or an IPv4 address"


def _string_phrase(previous: str) -> str:
    return "a value in double quotes" if previous == "USER_KEY" else "a description in double quotes"


# What each terminal means to a reader, in the order a message lists them.
_PHRASES: dict[str, Callable[[str], str]] = {
    "VERSION_NUMBER": lambda _: "a version number",
    "NAME": _name_phrase,
    "ADDRESS": lambda _: "an IP address",
    "SOURCE": _source_phrase,
    "ENDPOINT": lambda _: "a target address, like 10.0.0.2:80 or [fd42::2]:80",
    "SUBNET": _subnet_phrase,
    "MAC": lambda _: "a MAC address like 02:75:b9:2e:ad:f4",
    "PORTS": lambda _: "a port number or range",
    "FIELDS": lambda _: "selection fields like ip_src, ip_dst",
    "DURATION": lambda _: "a duration like 5s",
    "COUNT": lambda _: "a number",
    "ARROW": lambda _: "'->'",
    "COMMA": lambda _: "','",
    "POOL": lambda _: "'pool' and a pool name",
    "INSTANCE": lambda _: "'instance' and an instance name",
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
    "PROBE_SOURCE",
    "LOAD_BALANCER",
    "FORWARD",
    "POOL",
    "DESCRIPTION",
    "PROTOCOL_SETTING",
    "TARGET_PORT",
    "HEALTH_CHECK",
    "NO_HEALTH_CHECK",
    "DEFAULT",
    "USER_KEY",
    *OPTION_TERMINALS,
    "BACKEND",
    "PROTOCOL",
    "INSTANCE",
)


def statement_words(expected: Iterable[str]) -> list[str]:
    """The statement keywords among ``expected`` terminals, as written."""
    present = set(expected)
    if "ROUTER" not in present:
        present.discard("POOL")  # "-> pool NAME" in a port entry; a pool block is a network's
    if "INSTANCE" in present and "TARGET_PORT" not in present:
        present.discard("INSTANCE")  # the end of a switch-port line, not a pool's statement
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
    if "TARGET_PORT" in present:
        return "a pool"
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
    if "IPV4" in present and "ROW_PREFIX" not in present:
        # After probe-source, where ipv4 and ipv6 name a family, not a statement.
        phrases.append("ipv4 or ipv6")
        present -= {"IPV4", "IPV6"}
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


# Syntax errors one file reports before the parse stops. Recovering costs
# far more than parsing (tens of microseconds, and a diagnostic, per broken
# line): a file of garbage lines would take minutes and hundreds of times
# its size in memory to say what its first errors say. Fewer than a run
# prints (MAX_RENDERED_DIAGNOSTICS), so the notice that it stopped is shown.
MAX_SYNTAX_ERRORS = 100


class Recovery:
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
        offset = offset_of(exc, self.padded)
        if offset <= self._last and not (token is not None and token.type == "$END"):
            return False  # no progress: never loop
        self._last = offset
        if len(self.diagnostics) >= MAX_SYNTAX_ERRORS:
            self.report(
                offset, "E100", f"more than {MAX_SYNTAX_ERRORS:,} syntax errors: the rest of the file is not read"
            )
            return False
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
        terminal = keyword_terminal(word)
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
            terminal = keyword_terminal(_closest(word, choices) or "")
        elif terminal in expected:
            found = describe_found(self.text, offset, None)
            self.report(offset, "E100", f"expected {expected_phrase(expected, '')}, found {found}")
        elif terminal == "DEFAULT" and where == "a load balancer":
            self.report(
                offset,
                "E302",
                *WHOLE_IP_LOAD_BALANCING,
            )
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
            terminal = keyword_terminal(following.group(0)) if following else None
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


def _last_token_type(values: list[Any]) -> str:
    tokens = list(_leaves(values[-1:]))
    return tokens[-1].type if tokens else ""
