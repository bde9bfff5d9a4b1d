"""The DSL front end: same model as YAML, errors in words at the right token, fmt, convert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from compiler import CompileError, compile_files
from compiler.cli import main
from compiler.diagnostics import SourceRegistry, SourceText, sort_diagnostics
from compiler.emit.dsl import document_to_dsl
from compiler.emit.yaml import document_to_yaml
from compiler.frontend import INPUT_FORMATS, detect_format, load_files
from compiler.frontend.document import load_document
from compiler.frontend.dsl import KEYWORDS, load_dsl
from compiler.frontend.dsl_format import format_dsl
from compiler.ir import Document
from compiler.lower import lower
from compiler.resources import resource_dir

from .conftest import SAMPLES
from .helpers import errors_of

DSL_SAMPLES = sorted(SAMPLES.glob("*.lb"))


def twin_of(path: Path) -> Path:
    return next(p for p in SAMPLES.iterdir() if p.stem == path.stem and p.suffix in (".yaml", ".json"))


def load(text: str, name: str = "t.lb") -> tuple[Document, list[str]]:
    """The model, and every diagnostic as "LINE:COL CODE message"."""
    document, diagnostics = load_dsl(SourceText(name, text))
    return document, [f"{d.span.line}:{d.span.column} {d.code} {d.message}" for d in sort_diagnostics(diagnostics)]


def messages(text: str) -> list[str]:
    return load(text)[1]


NET = """\
network n1 {
    row-prefix p1
    router r1
    switch s1
    ipv4 10.0.0.1/24
    switch-port lsp2 10.0.0.2
    switch-port lsp3 10.0.0.3
"""


def network(*blocks: str) -> str:
    return NET + "".join(blocks) + "}\n"


def lb(*lines: str, address: str = "192.0.2.10") -> str:
    body = lines or ("backend b2 10.0.0.2", "tcp 80 -> b2")
    return f"    load-balancer {address} {{\n" + "".join(f"        {line}\n" for line in body) + "    }\n"


def forward(*lines: str, address: str = "192.0.2.20") -> str:
    return f"    forward {address} {{\n" + "".join(f"        {line}\n" for line in lines) + "    }\n"


# ---------------------------------------------------------------- samples


def test_every_sample_has_a_dsl_twin() -> None:
    stems = {p.stem for p in SAMPLES.iterdir() if p.suffix in (".yaml", ".json")}
    assert stems and stems == {p.stem for p in DSL_SAMPLES}


def rows_of(document: Document) -> list[tuple[object, ...]]:
    """Every row, with the fields equality leaves out (all but the source span)."""
    return [(row, row.network, row.kind, row.listen_address, row.description) for row in lower(document).rows]


@pytest.mark.parametrize("sample", DSL_SAMPLES, ids=lambda p: p.name)
def test_sample_twins_build_equal_models_and_rows(sample: Path) -> None:
    dsl, dsl_diagnostics, _ = load_files([str(sample)])
    other, other_diagnostics, _ = load_files([str(twin_of(sample))])
    assert dsl_diagnostics == other_diagnostics == []
    assert dsl.networks and dsl == other
    assert lower(dsl) == lower(other)
    assert rows_of(dsl) and rows_of(dsl) == rows_of(other)


@pytest.mark.parametrize("sample", DSL_SAMPLES, ids=lambda p: p.name)
def test_sample_twins_compile_to_the_same_script(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def script(path: Path) -> list[str]:
        assert main(["compile", str(path)]) == 0
        # Comment lines name the input file and line; everything else must match.
        return [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]

    assert script(sample) == script(twin_of(sample)) != []


@pytest.mark.parametrize("sample", DSL_SAMPLES, ids=lambda p: p.name)
def test_sample_twins_compile_without_warnings(sample: Path) -> None:
    compilation = compile_files([str(sample)])
    assert compilation.changes.rows and compilation.warnings == ()


@pytest.mark.parametrize("sample", DSL_SAMPLES, ids=lambda p: p.name)
def test_samples_are_formatted(sample: Path) -> None:
    text = sample.read_text(encoding="utf-8")
    assert format_dsl(SourceText(sample.name, text)) == text


def test_spans_point_at_dsl_tokens() -> None:
    document, _ = load(SAMPLES.joinpath("port-ranges.lb").read_text(encoding="utf-8"))
    balancer = document.networks[0].load_balancers[0]
    each = balancer.backends[2]
    # backend each 10.20.0.4:7080,7443,9100-9103 "one target port per listen port"
    assert (each.span.line, each.span.column) == (14, 9)
    assert (each.at("name").column, each.at("target_address").column, each.at("target_port").column) == (17, 22, 32)
    port = balancer.ports[0]
    assert port.at("target_backend[2]").column == 44 and port.at("listen_port").column == 13


# ---------------------------------------------------------------- the front-end switch


def test_lb_files_are_dsl() -> None:
    assert "dsl" in INPUT_FORMATS
    assert detect_format("x/pools.LB") == "dsl" and detect_format("pools.yaml") == "yaml"


def test_input_format_dsl_reads_any_name(tmp_path: Path) -> None:
    path = tmp_path / "pools.txt"
    path.write_text(SAMPLES.joinpath("ipv4-healthcheck.lb").read_text(encoding="utf-8"), encoding="utf-8")
    document, diagnostics, _ = load_files([str(path)], input_format="dsl")
    assert diagnostics == [] and len(document.networks[0].load_balancers) == 1


def test_crlf_and_tabs_read_like_newlines_and_blanks() -> None:
    text = SAMPLES.joinpath("forward-and-lb.lb").read_text(encoding="utf-8")
    twisted = text.replace("    ", "\t").replace("\n", "\r\n")
    assert load(twisted) == load(text)


# ---------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (network(lb("backend b2 10.0.0.2", "tcp -> b2")), "10:13 E100 expected a port number or range, found '->'"),
        (
            network(lb("backend b2", "tcp 80 -> b2")),
            "9:19 E100 expected a target address, like 10.0.0.2:80 or [fd42::2]:80, found the end of the line",
        ),
        (
            network(lb("tcp 80 -> ")),
            "9:19 E100 expected a backend name or 'pool' and a pool name, found the end of the line",
        ),
        (network(lb("tcp 80 b2")), "9:16 E100 expected '->', found \"b2\""),
        (
            network(lb("health-check interval", "tcp 80 -> b")),
            "9:30 E100 expected a duration like 5s, found the end of the line",
        ),
        (
            network(lb("user.team", "tcp 80 -> b")),
            "9:18 E100 expected a value in double quotes, found the end of the line",
        ),
        (
            network(lb('description "web pool', "tcp 80 -> b")),
            "9:21 E100 this string is not closed before the end of the line",
        ),
        (
            network(lb('backend b 10.0.0.2 "x" "y"', "tcp 80 -> b")),
            '9:32 E100 expected the end of the line, found the string "y"',
        ),
        (network(forward("default")), "9:16 E100 expected an IP address, found the end of the line"),
        (
            NET.replace("ipv4 10.0.0.1/24", "ipv4 {}"),
            "5:10 E100 expected an IPv4 gateway address with a prefix, like 10.135.209.1/24, found '{'",
        ),
        (
            NET + "    load-balancer 192.0.2.10 {\n",
            "9:1 E100 expected '}' before the end of the file: the load balancer that starts on line 8 is not closed",
        ),
        (network(lb()) + "}\n", "13:1 E100 expected a statement or the end of the file, found '}'"),
        ("network n1 @ {\n}\n", "1:12 E100 expected '{', found '@'"),
        ("version\n", "1:8 E100 expected a version number, found the end of the line"),
    ],
)
def test_syntax_errors_say_what_was_expected_in_words(text: str, expected: str) -> None:
    assert expected in messages(text)


def test_backend_names_without_commas_get_a_hint() -> None:
    _, diagnostics = load_dsl(SourceText("t.lb", network(lb("backend a 10.0.0.2", "tcp 80 -> a b"))))
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("E100", 10, 21)]
    assert diagnostics[0].notes == ("separate backend names with commas: -> web1, web2",)


def test_syntax_error_messages_never_name_grammar_terminals() -> None:
    grammar = (resource_dir("grammar") / "lb.lark").read_text(encoding="utf-8")
    terminals = set(re.findall(r"^([A-Z][A-Z0-9_]*):", grammar, re.MULTILINE)) | {"$END"}
    assert {"PORTS", "NAME", "NL", "ENDPOINT"} <= terminals
    broken = [
        "tcp 80 ->",
        "backend",
        "health-check interval",
        "health-check timeout 5s success",
        "user.x 5",
        "tcp 80 -> a,",
        "backend b 10.0.0.2 x",
        "{",
        "->",
        '"x"',
    ]
    for line in broken:
        found = messages(network(lb(line)))
        assert found, line
        for message in found:
            assert not terminals & set(re.findall(r"[A-Z$][A-Z0-9_]+", message)), message


def test_every_syntax_error_of_a_file_is_reported_once() -> None:
    text = network(
        lb("backend b2 10.0.0.2 10.0.0.3 @ 'junk'", "tcp 80 ->", "tcp 80 -> b2"),
        forward("tcp 443 10.0.0.3", "default"),
    ).replace("router r1", "router r1 r2")
    found = messages(text)
    assert [m.split(" ")[0:2] for m in found] == [
        ["3:15", "E100"],
        ["9:29", "E100"],
        ["10:18", "E100"],
        ["14:17", "E100"],
        ["15:16", "E100"],
    ]


def test_a_forgotten_brace_closes_the_block_before_the_next_one() -> None:
    text = network(lb().replace("    }\n", ""), lb(address="192.0.2.11"))
    document, found = load(text)
    assert found == [
        "11:5 E100 expected '}' before \"load-balancer\": the load balancer that starts on line 8 is not closed"
    ]
    # The unclosed block is left out; the one after it is read as written.
    assert [str(b.listen_address) for b in document.networks[0].load_balancers] == ["192.0.2.11"]


def test_a_broken_block_header_still_opens_its_block() -> None:
    text = network(lb("backend b2 10.0.0.x", "tcp 80 -> b2").replace("192.0.2.10 {", "192.0.2.10 junk {"))
    assert [m.split(" ")[1] for m in messages(text)] == ["E100", "E200"]


def test_a_header_without_its_brace_opens_the_block_when_a_body_follows() -> None:
    text = network(lb().replace(" {\n", "\n", 1))
    document, found = load(text)
    # One error: the "}" after the body closes the load balancer, not the network.
    assert found == ["8:29 E100 expected '{', found the end of the line"]
    assert len(document.networks) == 1 and document.networks[0].load_balancers == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            network(lb("backnd b2 10.0.0.2", "tcp 80 -> b2")),
            '9:9 E102 unknown statement "backnd" in a load balancer (did you mean "backend"?)',
        ),
        (
            network(lb("default 10.0.0.2")),
            "9:9 E302 a load balancer has no default target: whole-IP load balancing is not allowed",
        ),
        (network(lb("tpc 80 -> b2")), '9:9 E204 unknown protocol "tpc": expected tcp, udp or sctp'),
        (
            network(lb("health-check intervall 5s", "tcp 80 -> b2")),
            '9:22 E105 unknown health-check setting "intervall" (did you mean "interval"?)',
        ),
        ("netwrk n1 {\n}\n", '1:1 E102 unknown statement "netwrk" in the top level (did you mean "network"?)'),
    ],
)
def test_unknown_words_are_named_with_a_suggestion(text: str, expected: str) -> None:
    assert expected in messages(text)


def test_a_misspelt_block_keyword_still_checks_the_body() -> None:
    text = network(lb("backend b2 10.0.0.x", "tcp 80 -> b2").replace("load-balancer", "load-balancr"))
    assert [m.split(" ")[1] for m in messages(text)] == ["E102", "E200"]


# ---------------------------------------------------------------- structure and values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            NET.replace("router r1", "router r1\n    router r2") + "}\n",
            '4:5 E101 duplicate "router" (first given on line 3)',
        ),
        (
            network(lb('description "a"', 'description "b"', "backend b2 10.0.0.2", "tcp 80 -> b2")),
            '10:9 E101 duplicate "description" (first given on line 9)',
        ),
        (
            network(lb("health-check interval 5s interval 6s", "backend b2 10.0.0.2", "tcp 80 -> b2")),
            '9:34 E101 duplicate health-check setting "interval" (first given on line 9)',
        ),
        (
            network(lb('user.a "1"', 'user.a "2"', "backend b2 10.0.0.2", "tcp 80 -> b2")),
            '10:9 E101 duplicate key "user.a" (first given on line 9)',
        ),
        ("version 1\nversion 1\n", '2:1 E101 duplicate "version" (first given on line 1)'),
        ("version 2\n", '1:9 E104 unsupported format version "2": this ovn-lbc reads version 1'),
        (NET.replace("    switch s1\n", "") + "}\n", '1:1 E103 network "n1" needs a "switch" line'),
        (
            network(lb("backend b2 10.0.0.x", "tcp 80 -> b2")),
            '9:20 E200 backend address: "10.0.0.x" is not an IPv4 or IPv6 address',
        ),
        (
            network(lb("backend b2 [10.0.0.2]:80", "tcp 80 -> b2")),
            '9:21 E200 backend address: "10.0.0.2" is not an IPv4 or IPv6 address',
        ),
        (
            network(forward("tcp 80 -> fd42::2:80,81")),
            '9:19 E200 forward target: "fd42::2:80,81" is not an IPv4 or IPv6 address',
        ),
        (
            NET.replace("10.0.0.1/24", "10.0.0.0/24") + "}\n",
            "5:10 E201 ipv4: the gateway 10.0.0.0 is the subnet's network or broadcast address",
        ),
        (
            NET + "    router-mac 02:75:b9\n}\n",
            '8:16 E202 router-mac: "02:75:b9" is not a MAC address like 02:75:b9:2e:ad:f4',
        ),
        (
            network(lb("backend b2 10.0.0.2", "tcp 80,70000 -> b2")),
            '10:16 E203 invalid listen port: "70000": ports are 1 to 65535',
        ),
        (
            network(lb("backend b2 10.0.0.2:90-80", "tcp 80 -> b2")),
            '9:29 E203 invalid target port: "90-80": a range a-b needs b greater than a',
        ),
        (
            network(lb("health-check interval 5", "backend b2 10.0.0.2", "tcp 80 -> b2")),
            '9:31 E205 interval: "5" is not a duration: expected a duration like 5s, 2m or 1h',
        ),
        (
            network(lb("health-check failure -1", "backend b2 10.0.0.2", "tcp 80 -> b2")),
            '9:30 E205 failure: "-1" is not an integer from 0 to 2147483647',
        ),
        (
            network(lb('backend "b 2" 10.0.0.2', "tcp 80 -> b2")),
            '9:17 E207 backend name "b 2" must be non-empty and contain no whitespace',
        ),
        (
            network(lb('backend b2 10.0.0.2 "\\u0000"', "tcp 80 -> b2")),
            "9:29 E208 the string contains a NUL character, which OVSDB cannot store",
        ),
        (network(lb('description "\\ud800"')), "9:21 E208 the string is not valid Unicode (a lone surrogate escape)"),
        (
            network(lb('description "a\\qb"')),
            '9:23 E100 unknown escape "\\q" in a string: use \\", \\\\, \\n, \\t or \\uXXXX',
        ),
        (
            "network n1 {\n    row-prefix p\n    router r\n    switch s\n}\n",
            '1:1 E317 network "n1" needs an ipv4 or ipv6 line',
        ),
    ],
)
def test_structure_and_value_errors_use_the_yaml_codes(text: str, expected: str) -> None:
    assert expected in messages(text)


def test_a_value_error_leaves_its_object_out_but_keeps_the_rest() -> None:
    text = network(lb("backend b2 10.0.0.x", "tcp 80 -> b2"), lb(address="192.0.2.11"))
    document, found = load(text)
    assert len(found) == 1
    assert [str(b.listen_address) for b in document.networks[0].load_balancers] == ["192.0.2.11"]


def test_a_syntax_error_leaves_out_the_innermost_block_only() -> None:
    text = network(lb("tcp 80 b2"), forward("tcp 53 -> 10.0.0.3"))
    document, found = load(text)
    assert len(found) == 1
    (net,) = document.networks
    assert net.load_balancers == () and len(net.forwards) == 1


def test_a_network_statement_with_a_syntax_error_leaves_the_network_out() -> None:
    document, found = load(NET.replace("switch-port lsp3 10.0.0.3", "switch-port lsp3 10.0.0.3 @") + "}\n")
    assert found == [
        "7:31 E100 expected an IP address, 'instance' and an instance name or the end of the line, found '@'"
    ]
    assert document.networks == ()


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        (network(lb("backend b2 10.0.0.2", "tcp 80 -> b2, b9")), "E310", 10, 23),
        (network(lb(), lb()), "E301", 12, 19),
        (network(lb("backend b2 10.0.0.2", "backend b2 10.0.0.3", "tcp 80 -> b2")), "E311", 10, 17),
        (network(lb("backend b2 10.0.0.2", "tcp 80 -> b2, b2")), "E314", 10, 23),
        (network(lb("backend b2 10.0.0.2:1,2,3", "tcp 80 -> b2")), "E309", 9, 29),
        (network(lb("backend b2 10.0.0.2", "tcp 80 -> b2", "tcp 79-81 -> b2")), "E308", 11, 13),
        (network(lb("health-check", "backend b2 10.0.0.2", "sctp 80 -> b2")), "E303", 11, 9),
        (network(lb("health-check", "backend b9 10.0.0.9", "tcp 80 -> b9")), "E312", 10, 20),
        (network(lb("backend b9 10.1.0.9", "tcp 80 -> b9")), "E306", 9, 20),
        (network(lb("backend b9 [fd42::9]", "tcp 80 -> b9")), "E305", 9, 21),
        (network(lb("backend b2 10.0.0.254", "tcp 80 -> b2")), "E304", 9, 20),
        (network(lb("backend b2 10.0.0.1", "tcp 80 -> b2")), "E307", 9, 20),
        (network(lb(address="192.0.2.10").replace("        tcp 80 -> b2\n", "")), "W005", 8, 19),
        (network(lb("health-check failure 0", "backend b2 10.0.0.2", "tcp 80 -> b2")), "N001", 9, 30),
        (network(lb("health-check interval 0s", "backend b2 10.0.0.2", "tcp 80 -> b2")), "N001", 9, 31),
        (network(lb("reject", "backend b2 10.0.0.2", "tcp 80 -> b2")), "W003", 9, 9),
        (network(lb("hairpin-snat-ip fd69::5", "backend b2 10.0.0.2", "tcp 80 -> b2")), "E321", 9, 25),
        (
            network(lb("hairpin-snat-ip 169.254.169.5 fd69::5", "backend b2 10.0.0.2", "tcp 80 -> b2")),
            "N002",
            9,
            25,
        ),
        (network(forward("default 10.0.0.3", "tcp 80 -> 10.0.0.3")), "E318", 10, 19),
        (network(forward("default 10.9.0.3")), "E306", 9, 17),
        (network(forward()), "W001", 8, 13),
        (NET + "    switch-port lsp4 10.0.0.4 10.0.0.3\n}\n", "E316", 8, 31),
        (network() + network(), "E300", 9, 9),
        (
            NET.replace("ipv4 10.0.0.1/24", "ipv4 10.0.0.1/24\n    ipv6 fd42::1/64")
            + lb("health-check", "backend b2 [fd42::2]", "tcp 80 -> b2", address="2001:db8::10")
            + "}\n",
            "E313",
            10,
            9,
        ),
    ],
)
def test_semantic_errors_point_at_the_dsl_token(tmp_path: Path, text: str, code: str, line: int, column: int) -> None:
    assert (code, line, column) in errors_of(tmp_path, text, name="input.lb")


# ---------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n",
        "# only a comment",
        "{",
        "}",
        "}}}\n{{{",
        "network",
        '"',
        "network n {",
        "network n {\n  load-balancer 1.2.3.4 {\n    backend",
        "\x00",
        "network n { row-prefix p }",
        "load-balancer 1.2.3.4 {\n}\n}\n",
        "network n {\n" * 50,
        'user."\\',
        "tcp 80 -> a\n" * 3,
        'network "\\u12" {\n}',
        "network n {\n    switch-port p " + "9" * 5000 + "\n}\n",
        network(lb("backend b 10.0.0.2:" + "9" * 5000, "tcp " + "8" * 5000 + " -> b")),
        network(lb("health-check interval " + "9" * 5000 + "s success " + "9" * 5000)),
        "version 1 \u00e9\nnetwork \u00e9 {\n}\n",
    ],
)
def test_any_text_gives_diagnostics_never_an_exception(text: str) -> None:
    source = SourceText("t.lb", text)
    document, diagnostics = load_dsl(source)
    assert isinstance(document, Document)
    for diagnostic in diagnostics:
        line = source.line(diagnostic.span.line)
        assert line is not None and 1 <= diagnostic.span.column <= len(line) + 1, diagnostic


def test_keywords_are_names_where_a_name_is_expected() -> None:
    text = (
        NET.replace("router r1", "router router").replace("lsp2", "network")
        + lb("backend tcp 10.0.0.2", "tcp 80 -> tcp")
        + "}\n"
    )
    document, found = load(text)
    assert found == []
    assert document.networks[0].router == "router" and document.networks[0].load_balancers[0].backends[0].name == "tcp"


# ---------------------------------------------------------------- fmt


MESSY = """\


# leading comment

version   1   # v
network   "net49"   {   # open


  # before row-prefix
    row-prefix   "incus-net49"
      router  "router"
    switch s # sw
    ipv4 10.0.0.1/24
    load-balancer 10.0.0.5 {
    tcp 80 ,  443 -> a ,b,"c d" "caf\\u00e9\\n"
    user."a key" "v"
    # end of lb

    }
    forward 10.0.0.6 {
    }
    # end of network


}   # close


# trailing

"""

FORMATTED = """\
# leading comment

version 1  # v

network net49 {  # open
    # before row-prefix
    row-prefix incus-net49
    router "router"
    switch s  # sw
    ipv4 10.0.0.1/24

    load-balancer 10.0.0.5 {
        tcp 80,443 -> a, b, "c d" "caf\u00e9\\n"
        user."a key" "v"
        # end of lb
    }

    forward 10.0.0.6 {
    }
    # end of network
}  # close

# trailing
"""


def test_fmt_gives_the_canonical_layout_and_keeps_comments() -> None:
    assert format_dsl(SourceText("t.lb", MESSY)) == FORMATTED


def test_fmt_is_idempotent_and_keeps_the_model() -> None:
    once = format_dsl(SourceText("t.lb", MESSY))
    assert format_dsl(SourceText("t.lb", once)) == once
    assert load(once)[0] == load(MESSY)[0]


def test_fmt_refuses_text_with_syntax_errors() -> None:
    with pytest.raises(CompileError) as caught:
        format_dsl(SourceText("t.lb", network(lb("tcp -> b2"))))
    assert [(d.code, d.span.line) for d in caught.value.diagnostics] == [("E100", 9)]


# ---------------------------------------------------------------- convert


def sample_documents() -> list[Document]:
    return [load_files([str(path)])[0] for path in DSL_SAMPLES]


@pytest.mark.parametrize("sample", DSL_SAMPLES, ids=lambda p: p.name)
def test_convert_round_trips_both_ways(sample: Path) -> None:
    document = load_files([str(sample)])[0]
    as_yaml = document_to_yaml(document)
    as_dsl = document_to_dsl(document)
    back_from_yaml, yaml_diagnostics = load_document(SourceText("c.yaml", as_yaml), "yaml")
    back_from_dsl, dsl_diagnostics = load_dsl(SourceText("c.lb", as_dsl))
    assert yaml_diagnostics == dsl_diagnostics == []
    assert document.networks and back_from_yaml == document == back_from_dsl
    # DSL -> YAML -> DSL is stable text.
    assert document_to_dsl(back_from_yaml) == as_dsl
    assert format_dsl(SourceText("c.lb", as_dsl)) == as_dsl


def test_yaml_has_the_incus_shape() -> None:
    document = load_files([str(SAMPLES / "forward-and-lb.lb"), str(SAMPLES / "port-ranges.lb")])[0]
    data = yaml.safe_load(document_to_yaml(document))
    lb_data = data["networks"][0]["load_balancers"][0]
    assert lb_data["config"] == {
        "healthcheck": "true",
        "healthcheck.interval": "5",
        "healthcheck.timeout": "20",
        "healthcheck.success_count": "3",
        "healthcheck.failure_count": "3",
        "user.team": "infra",
    }
    assert lb_data["backends"][0] == {
        "name": "u1",
        "description": "",
        "target_address": "10.135.209.2",
        "target_port": "22",
    }
    assert data["networks"][0]["forwards"][0]["config"] == {"target_address": "10.135.209.9"}
    same = data["networks"][1]["load_balancers"][0]["backends"][0]
    assert "target_port" not in same and same["name"] == "same"
    assert data["version"] == 1


def test_rendered_errors_quote_the_dsl_line() -> None:
    source = SourceText("t.lb", network(lb("tcp -> b2")))
    _, diagnostics = load_dsl(source)
    sources = SourceRegistry()
    sources.add(source)
    assert sources.render_all(diagnostics) == (
        "t.lb:9:13: error[E100]: expected a port number or range, found '->'\n"
        " 9 |         tcp -> b2\n"
        "   |             ^"
    )


def test_keyword_table_matches_the_grammar() -> None:
    grammar = (resource_dir("grammar") / "lb.lark").read_text(encoding="utf-8")
    for terminal, word in KEYWORDS.items():
        # A keyword that may follow a name is read first there (TERMINAL.2).
        assert re.search(rf"^{terminal}(\.2)?: /{re.escape(word)}\(\?!", grammar, re.MULTILINE), terminal
