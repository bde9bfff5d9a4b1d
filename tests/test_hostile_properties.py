"""Hostile documents, generated: whatever the bytes, a clean answer in bounded time.

Every YAML, JSON and DSL input, however broken or malicious (random bytes,
control characters, deep nesting, aliases, huge numbers, NUL and lone
surrogates in keys and values, CR and CRLF mixes, BOMs), is answered by
``check`` with exit status 0 or 1 and never a traceback, and by
``compile_files`` with a result or a CompileError, within a generous
deadline per example.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.cli import main
from compiler.compilation import compile_files
from compiler.diagnostics import CompileError

from .conftest import ROOT, sample_paths

SAMPLES = [(p.suffix, p.read_text(encoding="utf-8")) for p in sample_paths()]
SAMPLES += [(p.suffix, p.read_text(encoding="utf-8")) for p in sorted((ROOT / "samples").glob("*.lb"))]
SUFFIXES = (".yaml", ".json", ".lb")
# Far above what any example here needs (milliseconds to a second): only a
# hang, or an input that is expanded or copied without bound, reaches it.
DEADLINE_SECONDS = 20.0

# Pieces an attacker would write, in every format's spelling.
FRAGMENTS = [
    "\x00",
    "\x1b[31m",
    "\x07",
    "\x7f",
    "\x85",
    "\u2028",
    "\u202e",
    "\ufeff",
    "\r",
    "\r\n",
    "\n\r",
    "\t",
    '"\\u0000"',
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"user.\\u0000"',
    'user."\\u0000" "x"\n',
    'user."\\ud800" "x"\n',
    '{user."\\u0000k": v}',
    "1" * 5000,
    "-" + "9" * 4400,
    "0x" + "f" * 5000,
    "1" * 4400 + ":00",
    "!!int abc",
    "!!bool maybe",
    "!!int 0b",
    "&a [x, x, x, x, x, x, x, x]",
    "*a",
    "<<: *a",
    "&b [*a, *a, *a, *a, *a, *a, *a, *a]",
    "*b",
    "[" * 300,
    "{" * 300,
    "{a: " * 200,
    "- " * 200,
    "]" * 50,
    '"' + "a" * 3000,
    " " * 200 + "~",
    "#",
    "\\",
    "\\u",
    "network n {\n",
    "}\n",
    "tcp 80 -> " + ", ".join(["a"] * 300) + "\n",
    "health-check interval " + "9" * 5000 + "s\n",
    "affinity-timeout " + "9" * 5000 + "\n",
    "listen_port: " + "9" * 5000,
    '"healthcheck.interval": ' + "9" * 5000,
]


# Values put in place of a field's value (or of a config key) of a sample.
HOSTILE_VALUES: list[object] = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfff",
    "\x1b[31m\x07",
    "",
    " ",
    "--",
    "\r\n",
    "\u2028",
    "a" * 5000,
    True,
    None,
    1.5,
    [],
    {},
    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
    "@HUGE@",
    "@HUGE-NEGATIVE@",
    "@HEX@",
    "@BASE60@",
    "@TAG-INT@",
    "@TAG-BOOL@",
    "@BOMB@",
]
# Spelled in the text after dumping: the dumpers cannot write these.
PLACEHOLDERS = {
    "@HUGE@": "1" * 5000,
    "@HUGE-NEGATIVE@": "-" + "9" * 4400,
    "@HEX@": "0x" + "f" * 4000,
    "@BASE60@": "1" * 4400 + ":00",
    "@TAG-INT@": "!!int abc",
    "@TAG-BOOL@": "!!bool maybe",
    "@BOMB@": "&a [&b [&c [x, x, x, x, x, x, x, x], *c, *c, *c, *c, *c, *c, *c], *b, *b, *b, *b, *b, *b, *b]",
}
# Tokens put in place of a word of a DSL sample.
HOSTILE_TOKENS = [
    '"\\u0000"',
    '"\\ud800"',
    '"a\x00b"',
    '"\x1b[31m"',
    "9" * 5000,
    "9" * 5000 + "s",
    '""',
    '"--"',
    "--x",
    'user."\\u0000"',
    'user."\\ud800"',
    "\r",
    "{",
    "}",
    "->",
    "[::1]:" + "9" * 5000,
    '"' + "a" * 5000,
    "#",
    " " * 300 + "~",
]


def _value_paths(data: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _value_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _value_paths(value, (*path, index))
    return found


STRUCTURED = [yaml.safe_load(text) for suffix, text in SAMPLES if suffix in (".yaml", ".json")]


@st.composite
def structured_document(draw: st.DrawFn) -> tuple[str, str]:
    """A sample document with one field's value, or one config key, replaced by a hostile one."""
    document = copy.deepcopy(draw(st.sampled_from(STRUCTURED)))
    paths = [p for p in _value_paths(document) if p]
    path = draw(st.sampled_from(paths))
    parent: Any = document
    for step in path[:-1]:
        parent = parent[step]
    hostile = draw(st.sampled_from(HOSTILE_VALUES))
    if isinstance(parent, dict) and isinstance(hostile, str) and draw(st.booleans()):
        key = path[-1]
        parent[("user." if "config" in path else "") + hostile] = parent.pop(key)
    else:
        parent[path[-1]] = hostile
    suffix = draw(st.sampled_from([".yaml", ".json"]))
    if suffix == ".json":
        text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    else:
        text = yaml.safe_dump(document, allow_unicode=draw(st.booleans()), default_flow_style=draw(st.booleans()))
    for placeholder, spelled in PLACEHOLDERS.items():
        for written in (json.dumps(placeholder), f"'{placeholder}'", placeholder):
            text = text.replace(written, spelled)
    return suffix, text


@st.composite
def dsl_document(draw: st.DrawFn) -> tuple[str, str]:
    """A DSL sample with one word replaced by a hostile token."""
    text = draw(st.sampled_from([text for suffix, text in SAMPLES if suffix == ".lb"]))
    words = [match.span() for match in re.finditer(r"\S+", text)]
    start, end = draw(st.sampled_from(words))
    return ".lb", text[:start] + draw(st.sampled_from(HOSTILE_TOKENS)) + text[end:]


@st.composite
def fragments_in_text(draw: st.DrawFn) -> tuple[str, str]:
    """A sample (or nothing) with hostile pieces put in anywhere, read as any format."""
    suffix = draw(st.sampled_from(SUFFIXES))
    text = draw(st.sampled_from(SAMPLES))[1] if draw(st.booleans()) else ""
    for _ in range(draw(st.integers(0, 6))):
        piece = draw(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)))
        at = draw(st.integers(0, len(text)))
        text = text[:at] + piece + text[at:]
    return suffix, text


@st.composite
def hostile_text(draw: st.DrawFn) -> tuple[str, str]:
    """(suffix, text): a hostile document, with any line ends and maybe a BOM."""
    suffix, text = draw(st.one_of(structured_document(), dsl_document(), fragments_in_text()))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    if ending == "mixed":
        lines = text.split("\n")
        text = "".join(line + draw(st.sampled_from(["\n", "\r\n", "\r"])) for line in lines)
    elif ending != "\n":
        text = text.replace("\n", ending)
    if draw(st.booleans()):
        text = "\ufeff" + text
    return suffix, text


def _answer(path: Path) -> None:
    """compile_files and ``check`` on one file: a clean answer, never another exception."""
    started = time.monotonic()
    try:
        compile_files([str(path)])
    except CompileError as exc:
        exc.render()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        status = main(["check", str(path)])
    assert status in (0, 1)
    assert time.monotonic() - started < DEADLINE_SECONDS


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile_text())
def test_hostile_text_gets_a_clean_answer(document: tuple[str, str]) -> None:
    suffix, text = document
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"hostile{suffix}"
        # surrogatepass: a lone surrogate becomes bytes that are not UTF-8.
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        _answer(path)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SUFFIXES), st.binary(max_size=400))
def test_random_bytes_get_a_clean_answer(suffix: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"bytes{suffix}"
        path.write_bytes(data)
        _answer(path)
