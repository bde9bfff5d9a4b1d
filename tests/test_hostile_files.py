"""Hostile files: any input of N bytes is answered in time and memory linear in N.

Each shape an attacker (or an accident) can give ovn-lbc is compiled at two
sizes, the second about 8 times the first, and the ratios of peak memory
(tracemalloc: deterministic) and CPU time (process_time: the machine may be
loaded) must stay under 3 times the size ratio, which anything quadratic
(64 times at 8x) exceeds. Each answer is a result or a clean CompileError
with the expected code, never another exception; some shapes also have an
absolute bound, stated beside them.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from compiler import frontend
from compiler.compilation import compile_files
from compiler.diagnostics import (
    MAX_EXCERPT_COLUMNS,
    MAX_MESSAGE_CHARACTERS,
    MAX_RENDERED_DIAGNOSTICS,
    CompileError,
    SourceRegistry,
    SourceText,
    Span,
    error,
)
from compiler.frontend.dsl_recovery import MAX_SYNTAX_ERRORS
from compiler.frontend.tree import ALIAS_NODES_PER_BYTE, MIN_ALIAS_NODES

from .conftest import ROOT

SCALE = 8
# Anything linear stays under this ratio at SCALE times the input; a
# quadratic algorithm reaches SCALE**2.
BOUND = 3 * SCALE


@dataclass
class Answer:
    seconds: float
    peak: int  # bytes, traced
    codes: Counter[str]
    rendered: str
    size: int  # the file's bytes


def _compile(path: Path) -> tuple[Counter[str], str]:
    try:
        compile_files([str(path)])
    except CompileError as exc:
        # Rendered inside the measurement: printing must be bounded too.
        return Counter(d.code for d in exc.diagnostics), exc.render()
    return Counter(), ""


def measure(path: Path) -> Answer:
    """CPU time (untraced, the best of two runs) and traced peak memory of compiling ``path``."""
    times = []
    for _ in range(2):
        started = time.process_time()
        _compile(path)
        times.append(time.process_time() - started)
    tracemalloc.start()
    try:
        codes, rendered = _compile(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Answer(min(times), peak, codes, rendered, path.stat().st_size)


def assert_linear(tmp_path: Path, name: str, make: Callable[[int], str], unit: int) -> tuple[Answer, Answer]:
    """Compile ``make(unit)`` and ``make(SCALE * unit)``; their costs grow with the size, no faster."""
    paths = []
    for label, count in (("1x", unit), ("8x", SCALE * unit)):
        path = tmp_path / f"{label}-{name}"
        path.write_text(make(count), encoding="utf-8", newline="")
        paths.append(path)
    _compile(paths[0])  # caches (the grammar, the schema) are not the input's cost
    small, big = measure(paths[0]), measure(paths[1])
    size_ratio = big.size / small.size
    assert size_ratio < 1.5 * SCALE
    # Shown with -s: the constants a reader of the README's bounds wants.
    print(
        f"{name}: {small.size} B -> {big.size} B; {small.seconds:.3f} s -> {big.seconds:.3f} s; "
        f"peak {small.peak / small.size:.1f}x -> {big.peak / big.size:.1f}x the file"
    )
    assert big.peak / small.peak < 3 * size_ratio, (small, big)
    # A floor under the small time: a few milliseconds would make the ratio noise.
    assert big.seconds / max(small.seconds, 0.02) < 3 * size_ratio, (small.seconds, big.seconds)
    return small, big


# ---------------------------------------------------------------- documents


def _network_yaml(lbs: list[str]) -> str:
    """A one-line flow-style document (valid YAML and JSON) of these load balancers."""
    return (
        '{"version": 1, "networks": [{"name": "n", "row_prefix": "p", "router": "r", "switch": "s", '
        '"ipv4_address": "10.0.0.1/16", "load_balancers": [' + ", ".join(lbs) + "]}]}\n"
    )


def _lb_json(index: int, description: str = "") -> str:
    address = f"172.16.{index // 250}.{index % 250 + 1}"
    backend = f"10.0.{index // 250}.{index % 250 + 2}"
    return (
        f'{{"listen_address": "{address}", "description": "{description}", '
        f'"backends": [{{"name": "b", "target_address": "{backend}"}}], '
        '"ports": [{"protocol": "tcp", "listen_port": "80", "target_backend": ["b"]}]}'
    )


def one_line_flow(count: int) -> str:
    # Long descriptions make the line long for its number of values, as a
    # copy of the line per value would feel most.
    return _network_yaml([_lb_json(i, "d" * 4000) for i in range(count)])


def dsl_network(body: str, line_end: str = "\n") -> str:
    text = "network n {\n    row-prefix p\n    router r\n    switch s\n    ipv4 10.0.0.1/16\n" + body + "}\n"
    return text.replace("\n", line_end)


def dsl_lbs(count: int) -> str:
    lbs = "".join(
        f"    load-balancer 172.16.{i // 250}.{i % 250 + 1} {{\n"
        f"        backend b 10.0.{i // 250}.{i % 250 + 2}\n"
        "        tcp 80 -> b\n    }\n"
        for i in range(count)
    )
    return lbs


def dsl_one_lb(*lines: str) -> str:
    return dsl_network("    load-balancer 10.1.0.1 {\n" + "".join(f"        {line}\n" for line in lines) + "    }\n")


def alias_bomb(levels: int, width: int) -> str:
    """The "billion laughs": each level repeats the one before ``width`` times."""
    lines = ["version: 1", 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels + 1)]
    return "\n".join([*lines, "networks: []"]) + "\n"


# ---------------------------------------------------------------- resource exhaustion


def test_a_one_line_flow_yaml_file_is_linear(tmp_path: Path) -> None:
    # Each value copied its whole line: 10,000 load balancers on one line
    # took 5 times as long as indented, a 19 MB line did not finish.
    small, big = assert_linear(tmp_path, "flow.yaml", one_line_flow, 150)
    assert not small.codes and not big.codes
    assert big.peak < 40 * big.size  # measured: about 12 times the file


def test_a_one_line_json_file_is_linear(tmp_path: Path) -> None:
    small, big = assert_linear(tmp_path, "flow.json", one_line_flow, 100)
    assert not small.codes and not big.codes
    assert big.peak < 40 * big.size


def test_a_dsl_file_with_old_mac_line_ends_is_linear(tmp_path: Path) -> None:
    # "\r" alone ends lines: the whole file used to be one line.
    small, big = assert_linear(tmp_path, "cr.lb", lambda n: dsl_network(dsl_lbs(n), "\r"), 150)
    assert not small.codes and not big.codes


def test_a_long_quoted_dsl_string_needs_little_memory(tmp_path: Path) -> None:
    # The string terminal's regex kept ~150 bytes of backtracking state per
    # character: a 10 MB description needed 1.5 GB.
    small, big = assert_linear(
        tmp_path,
        "string.lb",
        lambda n: dsl_one_lb(f'description "{"x" * n}"', "backend a 10.0.0.2", "tcp 80 -> a"),
        40_000,
    )
    assert not big.codes
    assert big.peak < 12 * big.size  # measured: about 4 times the string


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda n: 'description "' + "\\n" * n + '"', id="escapes"),
        pytest.param(lambda n: f"backend {'b' * n} 10.0.0.2", id="name"),
        pytest.param(lambda n: f"backend a 10.0.0.2:{'8' * n}", id="endpoint"),
        pytest.param(lambda n: f"tcp {'1' * n} -> a", id="ports"),
        pytest.param(lambda n: f'user."{"k" * n}" "v"', id="user-key"),
    ],
)
def test_every_long_dsl_token_needs_little_memory(tmp_path: Path, token: Callable[[int], str]) -> None:
    small, big = assert_linear(tmp_path, "token.lb", lambda n: dsl_one_lb(token(n), "backend a 10.0.0.2"), 40_000)
    assert big.peak < 12 * big.size


def test_blanks_before_a_bad_character_take_linear_time(tmp_path: Path) -> None:
    # "(?:[ \t]+)*" in front of every token tried each way to split n blanks
    # before a character no terminal takes: 2**n (27 blanks: 7 s).
    small, big = assert_linear(tmp_path, "blanks.lb", lambda n: dsl_network(f"    row-prefix {' ' * n}~\n"), 400)
    assert big.codes == Counter({"E100": 1})
    assert big.seconds < 1


def test_thousands_of_diagnostics_on_one_long_line_print_little(tmp_path: Path) -> None:
    # Each diagnostic echoed its whole line: 8,000 repeated names on a 49 KB
    # line printed 577 MB.
    def repeated(count: int) -> str:
        return dsl_one_lb("backend web1 10.0.0.2", "tcp 80 -> " + ", ".join(["web1"] * count))

    small, big = assert_linear(tmp_path, "repeated.lb", repeated, 1000)
    assert big.codes["E314"] == SCALE * 1000 - 1
    assert len(big.rendered) < 2 * MAX_RENDERED_DIAGNOSTICS * (MAX_EXCERPT_COLUMNS + 200)
    assert big.rendered.splitlines()[-1].startswith(f"and {SCALE * 1000 - 1 - MAX_RENDERED_DIAGNOSTICS} more: E314 x")
    assert max(len(line) for line in big.rendered.splitlines()) < MAX_EXCERPT_COLUMNS + 20


def test_unknown_names_on_one_long_line_print_little(tmp_path: Path) -> None:
    def unknown(count: int) -> str:
        return dsl_one_lb("backend web1 10.0.0.2", "tcp 80 -> " + ", ".join(f"x{i}" for i in range(count)))

    small, big = assert_linear(tmp_path, "unknown.lb", unknown, 1000)
    assert big.codes["E310"] == SCALE * 1000
    assert f"and {SCALE * 1000 - MAX_RENDERED_DIAGNOSTICS} more: E310 x" in big.rendered


def test_a_long_option_line_is_linear(tmp_path: Path) -> None:
    # Each word's offset was summed from the start of the line, and each
    # problem searched every word: quadratic in the words of one option.
    def addresses(count: int) -> str:
        words = " ".join(f"10.0.{i // 250}.{i % 250 + 1}" for i in range(count))
        return dsl_one_lb(f"hairpin-snat-ip {words}", "backend a 10.0.0.2", "tcp 80 -> a")

    small, big = assert_linear(tmp_path, "option.lb", addresses, 1000)
    assert big.codes["E209"] == SCALE * 1000 - 1  # a second IPv4 address, each after the first


def test_a_file_of_garbage_lines_stops_after_its_first_hundred_errors(tmp_path: Path) -> None:
    # Recovering from a syntax error costs tens of microseconds and a
    # diagnostic: 200,000 broken lines took 77 s and 300 times the file.
    small, big = assert_linear(tmp_path, "garbage.lb", lambda n: "nonsense here\n" * n, 2000)
    assert sum(big.codes.values()) == MAX_SYNTAX_ERRORS + 1
    assert f"more than {MAX_SYNTAX_ERRORS:,} syntax errors: the rest of the file is not read" in big.rendered
    assert big.peak < 40 * big.size


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    # 9 levels of 9: 387 million strings from 500 bytes (6 GB and more).
    for levels, width in ((9, 9), (12, 30)):
        path = tmp_path / f"bomb-{levels}.yaml"
        path.write_text(alias_bomb(levels, width), encoding="utf-8")
        answer = measure(path)
        assert answer.codes == Counter({"E106": 1}), answer.rendered
        assert answer.seconds < 1 and answer.peak < 5_000_000
        assert f"expands to more than {MIN_ALIAS_NODES:,} nodes through YAML aliases" in answer.rendered


def test_a_small_alias_bomb_is_refused_before_anything_expands_it(tmp_path: Path) -> None:
    # 7 levels of 7: 7.4 million strings, within reach of the old code, which
    # expanded all of them (for the shape check) before refusing the file.
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(7, 7), encoding="utf-8")
    answer = measure(path)
    assert answer.codes == Counter({"E106": 1}), answer.rendered
    assert answer.peak < 5_000_000
    # The alias that crossed the bound, where it is written.
    assert "bomb.yaml:8:10: error[E106]" in answer.rendered and " 8 | l6: &l6 [*l5, *l5," in answer.rendered


def test_aliases_may_expand_a_file_within_their_bound(tmp_path: Path) -> None:
    # Aliases are fine below the bound: 2,000 copies of one load balancer
    # (each reported once, where it is written).
    lb = _lb_json(0).replace("{", "&lb {", 1)
    aliases = ", ".join(["*lb"] * 2000)
    text = _network_yaml([lb, aliases])
    path = tmp_path / "aliases.yaml"
    path.write_text(text, encoding="utf-8")
    answer = measure(path)
    assert set(answer.codes) <= {"E301", "E315"}, answer.rendered
    assert answer.peak < 20_000_000
    # The bound: what aliases may add, whatever the file's size.
    assert MIN_ALIAS_NODES == 1_000_000 and ALIAS_NODES_PER_BYTE == 10


def test_a_document_without_aliases_is_never_refused_for_its_size(tmp_path: Path) -> None:
    # Only what aliases add counts: a big plain file passes (its size is bounded by the read bound).
    path = tmp_path / "plain.yaml"
    path.write_text("version: 1\nnetworks: []\nx: [" + ", ".join(["a"] * 300_000) + "]\n", encoding="utf-8")
    codes, _ = _compile(path)
    assert "E106" not in codes


HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("name", "text", "code"),
    [
        ("port.yaml", _network_yaml([_lb_json(0).replace('"80"', HUGE)]), "E203"),
        ("port.json", _network_yaml([_lb_json(0).replace('"80"', HUGE)]), "E203"),
        ("port-string.yaml", _network_yaml([_lb_json(0).replace('"80"', f'"{HUGE}"')]), "E203"),
        (
            "interval.yaml",
            _network_yaml(
                [
                    _lb_json(0).replace(
                        '"backends"', f'"config": {{"healthcheck": "true", "healthcheck.interval": {HUGE}}}, "backends"'
                    )
                ]
            ),
            "E205",
        ),
        (
            "interval.json",
            _network_yaml(
                [_lb_json(0).replace('"backends"', f'"config": {{"healthcheck.interval": "{HUGE}"}}, "backends"')]
            ),
            "E205",
        ),
        (
            "affinity.json",
            _network_yaml([_lb_json(0).replace('"backends"', f'"config": {{"affinity_timeout": {HUGE}}}, "backends"')]),
            "E209",
        ),
        ("version.yaml", f"version: {HUGE}\nnetworks: []\n", "E104"),
        ("version.json", f'{{"version": -{HUGE}, "networks": []}}', "E104"),
        ("hex.yaml", f"version: 0x{'f' * 5000}\nnetworks: []\n", "E104"),
        ("base60.yaml", f"version: {HUGE}:00\nnetworks: []\n", "E104"),
        ("port.lb", dsl_one_lb("backend a 10.0.0.2", f"tcp {HUGE} -> a"), "E203"),
        ("target-port.lb", dsl_one_lb(f"backend a 10.0.0.2:{HUGE}", "tcp 80 -> a"), "E203"),
        ("interval.lb", dsl_one_lb(f"health-check interval {HUGE}s", "backend a 10.0.0.2", "tcp 80 -> a"), "E205"),
        ("count.lb", dsl_one_lb(f"health-check success {HUGE}", "backend a 10.0.0.2", "tcp 80 -> a"), "E205"),
        ("affinity.lb", dsl_one_lb(f"affinity-timeout {HUGE}s", "backend a 10.0.0.2", "tcp 80 -> a"), "E209"),
    ],
)
def test_a_huge_integer_is_the_fields_own_error(tmp_path: Path, name: str, text: str, code: str) -> None:
    # int() refuses more than 4,300 digits: a ValueError traceback.
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    codes, rendered = _compile(path)
    assert code in codes, rendered
    # A message that quotes the number quotes a bounded part of it.
    assert max(len(line) for line in rendered.splitlines()) < MAX_MESSAGE_CHARACTERS + 300, rendered[:2000]
    # And eight times as many digits cost about eight times as much, no more.
    big = tmp_path / f"big-{name}"
    big.write_text(text.replace(HUGE, HUGE * SCALE), encoding="utf-8")
    small_answer, big_answer = measure(path), measure(big)
    assert code in big_answer.codes
    assert big_answer.peak / small_answer.peak < BOUND


def test_an_explicitly_tagged_scalar_that_does_not_convert_is_a_syntax_error(tmp_path: Path) -> None:
    for value in ("!!int abc", "!!bool maybe", '!!int ""', "!!int 0x", "!!bool ''"):
        path = tmp_path / "tagged.yaml"
        path.write_text(f"version: {value}\nnetworks: []\n", encoding="utf-8")
        codes, rendered = _compile(path)
        assert codes == Counter({"E100": 1}), rendered
        assert "is not a YAML" in rendered


# ---------------------------------------------------------------- reading


@pytest.fixture
def small_read_bound(monkeypatch: pytest.MonkeyPatch) -> int:
    limit = 1024 * 1024
    monkeypatch.setattr(frontend, "MAX_INPUT_BYTES", limit)
    return limit


def test_the_read_bound_is_documented_and_fits_a_big_file() -> None:
    # bench/generate.py 50000: a 37.7 MB file; the bound leaves a margin of 6.
    assert frontend.MAX_INPUT_BYTES == 256 * 1024 * 1024


def test_a_file_over_the_read_bound_is_refused(tmp_path: Path, small_read_bound: int) -> None:
    exact = tmp_path / "exact.yaml"
    exact.write_bytes(b"#" * small_read_bound)
    assert isinstance(frontend.read_source(str(exact)), SourceText)
    over = tmp_path / "over.yaml"
    over.write_bytes(b"#" * (small_read_bound + 1))
    found = frontend.read_source(str(over))
    assert not isinstance(found, SourceText)
    assert found.code == "E107"
    assert "larger than 1 MiB, the most ovn-lbc reads of one input" in found.message


def _check_in_child(path: str, limit: int, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``check PATH`` in a child with the read bound set and its memory capped at 1 GB."""
    code = (
        "import sys; from compiler import frontend; from compiler.cli import main; "
        f"frontend.MAX_INPUT_BYTES = {limit}; sys.exit(main(['check', {path!r}]))"
    )

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=cap,  # noqa: PLW1509 - the child runs only Python
        check=False,
    )


def test_dev_zero_is_cut_at_the_read_bound() -> None:
    # An endless file: read to the end, it was a MemoryError (or the OOM killer).
    result = _check_in_child("/dev/zero", 8 * 1024 * 1024)
    assert result.returncode == 1, result.stderr
    assert "error[E107]" in result.stderr and "Traceback" not in result.stderr


def test_a_fifo_that_never_ends_is_cut_at_the_read_bound(tmp_path: Path) -> None:
    fifo = tmp_path / "endless.yaml"
    os.mkfifo(fifo)
    stop = threading.Event()

    def feed() -> None:
        try:
            with open(fifo, "wb") as handle:
                while not stop.is_set():
                    handle.write(b"# endless\n" * 10_000)
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        result = _check_in_child(str(fifo), 8 * 1024 * 1024)
    finally:
        stop.set()
    writer.join(timeout=10)
    assert result.returncode == 1, result.stderr
    assert "error[E107]" in result.stderr


def test_stdin_is_read_within_the_bound(monkeypatch: pytest.MonkeyPatch, small_read_bound: int) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"#" * (small_read_bound + 1)), encoding="utf-8"))
    found = frontend.read_source("-")
    assert not isinstance(found, SourceText) and found.code == "E107"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"version: 1\r\n"), encoding="utf-8"))
    read = frontend.read_source("-")
    assert isinstance(read, SourceText) and read.name == "<stdin>"


# ---------------------------------------------------------------- what diagnostics print


def _registry(text: str) -> SourceRegistry:
    registry = SourceRegistry()
    registry.add(SourceText("f", text))
    return registry


def test_a_long_line_is_cut_around_the_caret() -> None:
    text = "".join(f"{i:>9} " for i in range(10_000))  # column c holds a known character
    registry = _registry(text + "\n")
    for column in (1, 37, 50_000, len(text) - 3, len(text) + 1):
        rendered = registry.render(error(Span("f", 1, column), "E100", "m")).splitlines()
        shown, caret = rendered[1], rendered[2]
        assert len(shown) <= len(" 1 | ") + MAX_EXCERPT_COLUMNS + 6
        under = caret.index("^")
        assert caret[:under].strip() in ("|",)
        if column <= len(text):
            assert shown[under] == text[column - 1]
        assert shown.startswith(" 1 | ...") == (column > MAX_EXCERPT_COLUMNS // 2 + 1)
        assert shown.endswith("...") == (column < len(text) - MAX_EXCERPT_COLUMNS // 2)


def test_a_long_message_keeps_its_start_and_its_end() -> None:
    from compiler.diagnostics import bounded_message

    assert bounded_message("x" * MAX_MESSAGE_CHARACTERS) == "x" * MAX_MESSAGE_CHARACTERS
    long = "unsupported format version " + "9" * 100_000 + ": this ovn-lbc reads version 1"
    shown = bounded_message(long)
    assert shown.startswith("unsupported format version 999") and shown.endswith(": this ovn-lbc reads version 1")
    assert "(99," in shown and "characters left out" in shown and len(shown) < MAX_MESSAGE_CHARACTERS + 60


def test_a_short_line_is_shown_as_written() -> None:
    registry = _registry("a:\tb  c\n")
    assert registry.render(error(Span("f", 1, 4), "E100", "m")) == "f:1:4: error[E100]: m\n 1 | a:\tb  c\n   |   \t^"


def test_control_characters_are_escaped_and_the_caret_stays_under_its_character() -> None:
    registry = _registry('name: "\x1b[2J\x07\x7f\x85x"\n')
    rendered = registry.render(error(Span("f", 1, 15), "E207", 'name "\x1b[2J\x07" is bad', "see \x1b]0;t\x07"))
    assert "\x1b" not in rendered and "\x07" not in rendered and "\x7f" not in rendered and "\x85" not in rendered
    header, shown, caret, note = rendered.splitlines()
    assert header == 'f:1:15: error[E207]: name "\\u001b[2J\\u0007" is bad'
    assert shown == ' 1 | name: "\\u001b[2J\\u0007\\u007f\\u0085x"'
    assert shown[caret.index("^")] == "x"
    assert note == "  = note: see \\u001b]0;t\\u0007"


def test_diagnostics_of_one_run_are_capped_with_a_count_by_code() -> None:
    registry = _registry("x\n" * 400)
    found = [error(Span("f", line, 1), "E310" if line % 5 else "E311", "m") for line in range(1, 401)]
    rendered = CompileError(found, registry).render()
    assert rendered.count("error[") == MAX_RENDERED_DIAGNOSTICS
    assert rendered.splitlines()[-1] == "and 200 more: E310 x 160, E311 x 40"


# ---------------------------------------------------------------- strings the database cannot carry


def _config_key_document(key: str) -> str:
    return _network_yaml([_lb_json(0).replace('"backends"', f'"config": {{{json.dumps(key)}: "v"}}, "backends"')])


@pytest.mark.parametrize(
    ("key", "suffix"),
    [
        ("user.a\x00b", ".json"),
        ("user.a\ud800b", ".json"),
        ("user.\udfff", ".json"),
        # YAML refuses a surrogate escape itself (E100); a NUL escape it reads.
        ("user.a\x00b", ".yaml"),
    ],
)
def test_a_config_key_ovsdb_cannot_store_is_e208(tmp_path: Path, key: str, suffix: str) -> None:
    path = tmp_path / f"key{suffix}"
    path.write_text(_config_key_document(key), encoding="utf-8")
    codes, rendered = _compile(path)
    assert codes == Counter({"E208": 1}), rendered
    assert "config key" in rendered


@pytest.mark.parametrize("key", ['user."a\\u0000b"', 'user."a\\ud800b"', 'user."a\x00b"'])
def test_a_dsl_user_key_ovsdb_cannot_store_is_e208(tmp_path: Path, key: str) -> None:
    path = tmp_path / "key.lb"
    path.write_text(dsl_one_lb(f'{key} "v"', "backend a 10.0.0.2", "tcp 80 -> a"), encoding="utf-8")
    codes, rendered = _compile(path)
    assert codes == Counter({"E208": 1}), rendered


# ---------------------------------------------------------------- line ends and empty files


@pytest.mark.parametrize("line_end", ["\r", "\r\n", "\n"])
def test_dsl_lines_end_at_cr_crlf_and_lf(tmp_path: Path, line_end: str) -> None:
    path = tmp_path / "ends.lb"
    body = "# a comment first\n" + dsl_one_lb("backend a 10.0.0.2", "tcp 80 -> a, nope")
    path.write_text(body.replace("\n", line_end), encoding="utf-8", newline="")
    codes, rendered = _compile(path)
    assert codes == Counter({"E310": 1}), rendered
    assert f"{path}:9:22: error[E310]" in rendered
    assert " 9 |         tcp 80 -> a, nope\n" in rendered


def test_yaml_and_dsl_count_lines_alike_with_old_mac_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "ends.yaml"
    path.write_text("version: 1\rnetworks: []\rbogus: 1\r", encoding="utf-8", newline="")
    codes, rendered = _compile(path)
    assert codes == Counter({"E102": 1})
    assert f"{path}:3:1: error[E102]" in rendered and " 3 | bogus: 1\n" in rendered


def test_yaml_line_separators_do_not_shift_the_caret_line(tmp_path: Path) -> None:
    # libyaml ends lines at NEL and LINE SEPARATOR too; the caret line must be the one meant.
    path = tmp_path / "sep.yaml"
    path.write_text('version: 1\ndescription: "a\u2028b"\nnetworks: []\nbogus: 1\n', encoding="utf-8")
    codes, rendered = _compile(path)
    assert codes["E102"] == 2
    assert " 4 | bogus: 1\n" in rendered


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "# comment\r\r", "   \n  \r\n"])
@pytest.mark.parametrize("suffix", [".lb", ".yaml"])
def test_an_empty_file_is_an_error_in_every_format(tmp_path: Path, text: str, suffix: str) -> None:
    path = tmp_path / f"empty{suffix}"
    path.write_text(text, encoding="utf-8", newline="")
    codes, rendered = _compile(path)
    assert codes == Counter({"E100": 1}), rendered
    assert f"{path}:1:1: error[E100]: the document is empty" in rendered
