"""The DSL's spelling of values, read and written.

Reading: strings with escapes, durations and counts, endpoints, with the
same checks and messages as the YAML front end. Writing: names, strings,
user keys, MACs, durations and endpoints in the form the DSL reads back as
the same value. Both directions sit together so a spelling and its reading
cannot drift apart; the model builder, ``fmt`` and the model -> DSL printer
(``compiler/emit/dsl.py``) share them.
"""

from __future__ import annotations

import re
import unicodedata

from netaddr import EUI, IPAddress

from .dsl_lexer import keyword_terminal
from .values import MAX_HEALTH_CHECK_VALUE

BARE_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]*")
_USER_KEY_BARE = re.compile(r"[A-Za-z0-9_.:/-]*")
_DURATION = re.compile(r"([0-9]{1,12})([smh])")
# int() refuses numbers over 4300 digits; anything over 12 is out of range anyway.
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|.?)")
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


# ---------------------------------------------------------------- value rules shared with document.py
# The same checks and messages as the YAML front end's ModelBuilder, as
# functions of text (ModelBuilder's take YAML nodes).


def parse_count(text: str) -> int | None:
    """A health-check count: 0 (the default) to 2**31-1 (ovn-controller reads C ints)."""
    if not re.fullmatch(r"[0-9]{1,12}", text) or not 0 <= int(text) <= MAX_HEALTH_CHECK_VALUE:
        return None
    return int(text)


def parse_duration(text: str) -> int | None:
    """``5s``, ``2m``, ``1h`` -> seconds; None for anything else."""
    match = _DURATION.fullmatch(text)
    if not match:
        return None
    seconds = int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    return seconds if 0 <= seconds <= MAX_HEALTH_CHECK_VALUE else None


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


# ---------------------------------------------------------------- values as DSL text
# What fmt and the model -> DSL printer write; each reads back as the same value.


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
    if BARE_WORD.fullmatch(value) and keyword_terminal(value) is None:
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
