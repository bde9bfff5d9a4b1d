"""Front-end units: positions in YAML and JSON, ports, canonical addresses."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from netaddr import EUI, IPNetwork

from compiler.addresses import eui64_address, last_usable_address
from compiler.diagnostics import SourceText
from compiler.frontend.tree import (
    MappingNode,
    ScalarNode,
    SequenceNode,
    parse_json,
    parse_yaml,
    to_plain,
)
from compiler.frontend.values import parse_ports
from compiler.ir import expand_ports

from .helpers import compile_text, errors_of


def test_json_positions_match_yaml_positions() -> None:
    yaml_text = 'a:\n  b: ["x", "yé"]\n'
    json_text = '{"a":\n  {"b": ["x", "yé"]}}\n'
    y, _ = parse_yaml(SourceText("f.yaml", yaml_text))
    j, _ = parse_json(SourceText("f.json", json_text))
    assert y is not None and j is not None
    assert to_plain(y) == to_plain(j)
    for root in (y, j):
        assert isinstance(root, MappingNode)
        inner = root.items["a"]
        assert isinstance(inner, MappingNode)
        seq = inner.items["b"]
        assert isinstance(seq, SequenceNode)
        second = seq.items[1]
        assert isinstance(second, ScalarNode)
        # The characters of "yé" start right after the quote, on line 2.
        assert second.span.line == 2 and second.verbatim
    assert y.items["a"].items["b"].items[1].span.column == 13  # type: ignore[union-attr]
    assert j.items["a"].items["b"].items[1].span.column == 16  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('{"a": 1,}', 1, 9),
        ('{"a" 1}', 1, 6),
        ("[1, 2\n", 2, 1),
        ('{"a": tru}', 1, 7),
        ('{"a": "x\ny"}', 1, 9),
    ],
)
def test_json_syntax_errors_are_located(text: str, line: int, column: int) -> None:
    root, diagnostics = parse_json(SourceText("f.json", text))
    assert root is None
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("E100", line, column)]


def test_port_item_errors_point_inside_the_string(tmp_path: Path) -> None:
    text = (
        "networks:\n  - {name: n, row_prefix: p, router: r, switch: s, ipv4_address: 10.0.0.1/24,\n"
        "     load_balancers: [{listen_address: 192.0.2.1, backends: [{name: b, target_address: 10.0.0.2}],\n"
        '       ports: [{protocol: tcp, listen_port: "80, 99999", target_backend: [b]}]}]}\n'
    )
    found = errors_of(tmp_path, text)
    column = text.splitlines()[3].index("99999") + 1
    assert found == [("E203", 4, column)]


def test_yaml_one_point_one_scalars_are_read_as_incus_strings(tmp_path: Path) -> None:
    text = (
        "networks:\n  - {name: n, row_prefix: p, router: r, switch: s, ipv4_address: 10.0.0.1/24,\n"
        "     switch_ports: [{name: lsp, addresses: [10.0.0.2]}],\n"
        "     load_balancers: [{listen_address: 192.0.2.1, config: {healthcheck: yes, healthcheck.interval: 7},\n"
        "       backends: [{name: b, target_address: 10.0.0.2, target_port: 8080}],\n"
        "       ports: [{protocol: tcp, listen_port: 80, target_backend: [b]}]}]}\n"
    )
    lb = compile_text(tmp_path, text).document.networks[0].load_balancers[0]
    assert lb.health_check is not None and lb.health_check.interval == 7
    assert expand_ports(lb.backends[0].target_ports) == [8080]


def test_addresses_are_canonical_everywhere(tmp_path: Path) -> None:
    text = (
        "networks:\n  - {name: n, row_prefix: p, router: r, switch: s, ipv6_address: 'FD42:0001:0:0::1/64',\n"
        "     load_balancers: [{listen_address: '2001:DB8:0:0:0:0:0:10',\n"
        "       backends: [{name: b, target_address: 'fd42:1::0:2'}],\n"
        "       ports: [{protocol: tcp, listen_port: '80', target_backend: [b]}]}]}\n"
    )
    row = compile_text(tmp_path, text).changes.rows[0]
    assert row.name == "p-lb-2001:db8::10-tcp"
    assert row.vips == (("[2001:db8::10]:80", "[fd42:1::2]:80"),)


def test_health_check_sources() -> None:
    assert str(last_usable_address(IPNetwork("10.135.209.1/24"))) == "10.135.209.254"
    assert str(last_usable_address(IPNetwork("10.0.0.1/30"))) == "10.0.0.2"
    assert last_usable_address(IPNetwork("10.0.0.1/31")) is None
    # Incus's GetIP(subnet, -2) for IPv6 too: two below the end of the subnet.
    assert str(last_usable_address(IPNetwork("fd42:1:2:3::1/64"))) == "fd42:1:2:3:ffff:ffff:ffff:fffe"
    assert str(last_usable_address(IPNetwork("fd42::1/126"))) == "fd42::2"
    assert last_usable_address(IPNetwork("fd42::1/127")) is None
    source = eui64_address(IPNetwork("fd42:1:2:3::1/64"), EUI("02:75:b9:2e:ad:f4"))
    assert str(source) == "fd42:1:2:3:75:b9ff:fe2e:adf4"
    # A universally administered MAC gets the bit set instead of cleared.
    source = eui64_address(IPNetwork("fd00::1/64"), EUI("00:16:3e:00:00:01"))
    assert str(source) == "fd00::216:3eff:fe00:1"


port_ranges = st.lists(
    st.tuples(st.integers(1, 65535), st.integers(0, 20)).map(lambda t: (t[0], min(65535, t[0] + t[1]))),
    min_size=1,
    max_size=6,
)


@given(port_ranges)
def test_port_lists_round_trip(ranges: list[tuple[int, int]]) -> None:
    text = ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)
    parsed, problems = parse_ports(text)
    if any(a != b and b <= a for a, b in ranges):
        return
    assert problems == []
    assert expand_ports(parsed) == [p for a, b in ranges for p in range(a, b + 1)]


@given(st.text(max_size=30))
def test_port_parser_never_raises(text: str) -> None:
    parsed, problems = parse_ports(text)
    assert parsed or problems or not text.strip(",")


def test_yaml_anchors_and_merge_keys(tmp_path: Path) -> None:
    text = (
        "networks:\n"
        "  - &base {name: m, row_prefix: p, router: r, switch: s, ipv4_address: 10.0.0.1/24}\n"
        "  - <<: *base\n"
        "    name: n\n"
        "    row_prefix: q\n"
    )
    merged = compile_text(tmp_path, text).document.networks[1]
    # Keys written beside the merge win; the others come from the anchor.
    assert (merged.name, merged.row_prefix, merged.router, merged.ipv4) == ("n", "q", "r", IPNetwork("10.0.0.1/24"))
    assert ("E104", 3, 5) in errors_of(tmp_path, text.replace("<<: *base", "<<: [1]"))


def test_integers_keep_their_text_where_strings_are_expected(tmp_path: Path) -> None:
    text = (
        "networks:\n  - {name: n, row_prefix: p, router: r, switch: s, ipv4_address: 10.0.0.1/24,\n"
        "     load_balancers: [{listen_address: 192.0.2.1,\n"
        "       backends: [{name: b, target_address: 10.0.0.2, target_port: 010}],\n"
        "       ports: [{protocol: tcp, listen_port: '80', target_backend: [b]}]}]}\n"
    )
    # YAML 1.1 reads 010 as octal 8; Incus (and ovn-lbc) read the text: port 10.
    backend = compile_text(tmp_path, text).document.networks[0].load_balancers[0].backends[0]
    assert expand_ports(backend.target_ports) == [10]
    assert errors_of(
        tmp_path, text.replace("listen_address: 192.0.2.1,", "listen_address: 192.0.2.1, description: 017,")
    ) == [("E104", 3, 64)]


def test_unicode_digits_are_not_numbers(tmp_path: Path) -> None:
    text = (
        "networks:\n  - {name: n, row_prefix: p, router: r, switch: s, ipv4_address: 10.0.0.1/24,\n"
        "     switch_ports: [{name: lsp, addresses: [10.0.0.2]}],\n"
        "     load_balancers: [{listen_address: 192.0.2.1, config: {healthcheck: 'true', healthcheck.interval: '٥'},\n"
        "       backends: [{name: b, target_address: 10.0.0.2, target_port: '٨٠'}],\n"
        "       ports: [{protocol: tcp, listen_port: '80', target_backend: [b]}]}]}\n"
    )
    assert sorted(code for code, _, _ in errors_of(tmp_path, text)) == ["E203", "E205"]


def test_a_port_of_thousands_of_digits_is_a_diagnostic_not_a_traceback(tmp_path: Path) -> None:
    text = f"""\
networks:
  - name: n
    row_prefix: p
    router: r
    switch: s
    ipv4_address: 10.0.0.1/24
    load_balancers:
      - listen_address: 10.1.0.1
        backends: [{{name: b, target_address: 10.0.0.2}}]
        ports: [{{protocol: tcp, listen_port: "{"9" * 5000}", target_backend: [b]}}]
"""
    assert errors_of(tmp_path, text) == [("E203", 10, 47)]
