"""A network's choice of health-check probe source (``probe_source``), in both front ends.

The choice decides the source of every ip_port_mappings value and which
address the reserved-address checks (E304) keep free; a bad choice is E211
(the value itself), E328 (not a spare address of the subnet) or E319
(``router`` before OVN 26.03).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from netaddr import IPAddress

from compiler import compile_files
from compiler.diagnostics import SourceText
from compiler.emit.dsl import document_to_dsl
from compiler.emit.yaml import document_to_yaml
from compiler.frontend.document import load_document
from compiler.frontend.dsl import load_dsl
from compiler.frontend.dsl_format import format_dsl
from compiler.ir import ProbeSource

from .helpers import compile_text, errors_of

YAML = """\
TARGETnetworks:
  - name: n1
    row_prefix: p1
    router: r1
    switch: s1
    ipv4_address: GATEWAY4
    ipv6_address: fd42:1:2:3::1/64
    router_mac: "02:75:b9:2e:ad:f4"
PROBE    switch_ports:
      - {name: lsp2, addresses: [BACKEND4, "BACKEND6"]}
    load_balancers:
      - listen_address: 192.0.2.10
        config: {healthcheck: "true"}
        backends: [{name: b2, target_address: BACKEND4}]
        ports: [{protocol: tcp, listen_port: "80", target_backend: [b2]}]
      - listen_address: "2001:db8::10"
        config: {healthcheck: "true"}
        backends: [{name: b2, target_address: "BACKEND6"}]
        ports: [{protocol: tcp, listen_port: "80", target_backend: [b2]}]
"""

DSL = """\
TARGETnetwork n1 {
    row-prefix p1
    router r1
    switch s1
    ipv4 GATEWAY4
    ipv6 fd42:1:2:3::1/64
    router-mac 02:75:b9:2e:ad:f4
PROBE    switch-port lsp2 BACKEND4 BACKEND6

    load-balancer 192.0.2.10 {
        health-check
        backend b2 BACKEND4
        tcp 80 -> b2
    }

    load-balancer 2001:db8::10 {
        health-check
        backend b2 [BACKEND6]
        tcp 80 -> b2
    }
}
"""


def _fill(template: str, target: str, gateway: str, probe: str, backends: tuple[str, str]) -> str:
    return (
        template.replace("TARGET", target)
        .replace("GATEWAY4", gateway or "10.0.0.1/24")
        .replace("PROBE", probe)
        .replace("BACKEND4", backends[0])
        .replace("BACKEND6", backends[1])
    )


BACKENDS = ("10.0.0.2", "fd42:1:2:3::2")


def yaml_text(
    ipv4: str | None = None,
    ipv6: str | None = None,
    target: str | None = "26.03",
    gateway: str = "",
    backends: tuple[str, str] = BACKENDS,
) -> str:
    """The YAML file; with a target, probe_source is on line 10."""
    choices = [f'{key}: "{value}"' for key, value in (("ipv4", ipv4), ("ipv6", ipv6)) if value is not None]
    probe = f"    probe_source: {{{', '.join(choices)}}}\n" if choices else ""
    return _fill(YAML, f'target_ovn: "{target}"\n' if target else "", gateway, probe, backends)


def dsl_text(
    ipv4: str | None = None,
    ipv6: str | None = None,
    target: str | None = "26.03",
    gateway: str = "",
    backends: tuple[str, str] = BACKENDS,
) -> str:
    """The same file in the DSL; with a target, the probe-source lines start on line 10."""
    lines = [
        f"    probe-source {key} {value}\n" for key, value in (("ipv4", ipv4), ("ipv6", ipv6)) if value is not None
    ]
    return _fill(DSL, f"target-ovn {target}\n\n" if target else "", gateway, "".join(lines), backends)


def mappings(tmp_path: Path, text: str, name: str) -> dict[str, tuple[tuple[str, str], ...]]:
    changes = compile_text(tmp_path, text, name).changes
    return {row.name: row.ip_port_mappings for row in changes.rows}


# ---------------------------------------------------------------- each choice, both front ends

EUI64 = "fd42:1:2:3:75:b9ff:fe2e:adf4"  # 02:75:b9:2e:ad:f4 in fd42:1:2:3::/64

CHOICES = [
    # (ipv4 choice, ipv6 choice, the IPv4 source, the IPv6 source)
    (None, None, "10.0.0.254", EUI64),  # the defaults: last and eui64
    ("last", "eui64", "10.0.0.254", EUI64),  # the defaults, written out
    ("router", None, "10.0.0.1", EUI64),
    ("10.0.0.200", None, "10.0.0.200", EUI64),
    (None, "last", "10.0.0.254", "fd42:1:2:3:ffff:ffff:ffff:fffe"),  # Incus's GetIP(subnet, -2)
    (None, "router", "10.0.0.254", "fd42:1:2:3::1"),
    (None, "fd42:1:2:3::fe", "10.0.0.254", "fd42:1:2:3::fe"),
    ("10.0.0.200", "FD42:1:2:3:0::FE", "10.0.0.200", "fd42:1:2:3::fe"),  # canonical
]


@pytest.mark.parametrize(("ipv4", "ipv6", "source4", "source6"), CHOICES)
def test_each_choice_gives_equal_models_and_its_mappings_in_yaml_and_dsl(
    tmp_path: Path, ipv4: str | None, ipv6: str | None, source4: str, source6: str
) -> None:
    from_yaml = compile_text(tmp_path, yaml_text(ipv4, ipv6), "input.yaml").document
    from_dsl = compile_text(tmp_path, dsl_text(ipv4, ipv6), "input.lb").document
    assert from_yaml == from_dsl
    network = from_yaml.networks[0]
    assert (str(network.health_check_source(4)), str(network.health_check_source(6))) == (source4, source6)
    expected = {
        "p1-lb-192.0.2.10-tcp": (("10.0.0.2", f"lsp2:{source4}"),),
        "p1-lb-2001:db8::10-tcp": (("[fd42:1:2:3::2]", f"lsp2:[{source6}]"),),
    }
    assert mappings(tmp_path, yaml_text(ipv4, ipv6), "input.yaml") == expected
    assert mappings(tmp_path, dsl_text(ipv4, ipv6), "input.lb") == expected


def test_the_model_keeps_the_kind_of_each_choice(tmp_path: Path) -> None:
    document = compile_text(tmp_path, dsl_text("router", "fd42:1:2:3::fe"), "input.lb").document
    assert document.networks[0].probe_source == ProbeSource("router", IPAddress("fd42:1:2:3::fe"))
    assert ProbeSource("last", "eui64") == ProbeSource()
    assert ProbeSource().chosen() == []


def test_a_bracketed_ipv6_address_is_read_in_the_dsl(tmp_path: Path) -> None:
    document = compile_text(tmp_path, dsl_text(ipv6="[fd42:1:2:3::fe]"), "input.lb").document
    assert document.networks[0].probe_source.ipv6 == IPAddress("fd42:1:2:3::fe")


def test_ipv6_last_needs_no_router_mac(tmp_path: Path) -> None:
    without_mac = dsl_text(ipv6="last").replace("    router-mac 02:75:b9:2e:ad:f4\n", "")
    assert errors_of(tmp_path, without_mac, "input.lb") == []
    eui64 = dsl_text().replace("    router-mac 02:75:b9:2e:ad:f4\n", "")
    assert errors_of(tmp_path, eui64, "input.lb") == [("E313", 18, 9)]  # today's rule for eui64


# ---------------------------------------------------------------- printed back: convert and fmt


@pytest.mark.parametrize(("ipv4", "ipv6", "source4", "source6"), CHOICES)
def test_convert_keeps_the_choice_and_prints_only_what_is_not_default(
    tmp_path: Path, ipv4: str | None, ipv6: str | None, source4: str, source6: str
) -> None:
    document = compile_text(tmp_path, dsl_text(ipv4, ipv6), "input.lb").document
    as_dsl, as_yaml = document_to_dsl(document), document_to_yaml(document)
    read_dsl, problems = load_dsl(SourceText("p.lb", as_dsl))
    assert problems == [] and read_dsl == document
    read_yaml, problems = load_document(SourceText("p.yaml", as_yaml), "yaml")
    assert problems == [] and read_yaml == document
    assert format_dsl(SourceText("p.lb", as_dsl)) == as_dsl
    chosen = document.networks[0].probe_source.chosen()
    assert as_dsl.count("probe-source") == len(chosen) and ("probe_source" in as_yaml) == bool(chosen)
    for version, choice in chosen:
        assert f"    probe-source ipv{version} {choice}\n" in as_dsl
        assert f"    ipv{version}: {choice}\n" in as_yaml


def test_fmt_keeps_probe_source_lines() -> None:
    text = dsl_text("10.0.0.200", "last").replace("probe-source ipv4", "probe-source   ipv4")
    assert "    probe-source ipv4 10.0.0.200\n    probe-source ipv6 last\n" in format_dsl(SourceText("t.lb", text))


# ---------------------------------------------------------------- mistakes, located in both front ends


def _at(text: str, line: int, word: str) -> tuple[int, int]:
    return line, text.splitlines()[line - 1].index(word) + 1


MISTAKES = [
    # (ipv4, ipv6, code, the word the caret is at)
    ("first", None, "E211", "first"),
    ("eui64", None, "E211", "eui64"),
    ("fd42:1:2:3::fe", None, "E211", "fd42:1:2:3::fe"),
    (None, "10.0.0.200", "E211", "10.0.0.200"),
    (None, "fd42::", "E328", "fd42::"),  # outside fd42:1:2:3::/64
    ("10.0.1.5", None, "E328", "10.0.1.5"),
    ("10.0.0.0", None, "E328", "10.0.0.0"),
    ("10.0.0.255", None, "E328", "10.0.0.255"),
    ("10.0.0.1", None, "E328", "10.0.0.1"),
    (None, "fd42:1:2:4::5", "E328", "fd42:1:2:4::5"),
    (None, "fd42:1:2:3::", "E328", "fd42:1:2:3::"),
    (None, "fd42:1:2:3::1", "E328", "fd42:1:2:3::1"),
]


@pytest.mark.parametrize(("ipv4", "ipv6", "code", "word"), MISTAKES)
def test_a_bad_choice_is_reported_at_its_value_in_yaml_and_dsl(
    tmp_path: Path, ipv4: str | None, ipv6: str | None, code: str, word: str
) -> None:
    yaml_input = yaml_text(ipv4, ipv6)
    assert (code, *_at(yaml_input, 10, word)) in errors_of(tmp_path, yaml_input, "input.yaml")
    dsl_input = dsl_text(ipv4, ipv6)
    assert (code, *_at(dsl_input, 10, word)) in errors_of(tmp_path, dsl_input, "input.lb")


def test_the_value_errors_say_what_is_wrong(tmp_path: Path) -> None:
    text = dsl_text("eui64", "10.0.0.5", target=None)
    document, diagnostics = load_dsl(SourceText("t.lb", text))
    assert [d.message for d in diagnostics] == [
        "probe-source ipv4: eui64 is for IPv6 only (the EUI-64 address of router_mac); "
        "an IPv4 probe source is last, router or an address",
        "probe-source ipv6: 10.0.0.5 is an IPv4 address, not an IPv6 one",
    ]
    assert document.networks == ()  # a network with a bad value is left out, as in YAML
    document, diagnostics = load_document(SourceText("t.yaml", yaml_text("first", target=None)), "yaml")
    assert [d.message for d in diagnostics] == ['probe_source.ipv4: "first" is not last, router or an IPv4 address']


def test_a_family_given_twice_in_the_dsl_is_an_error(tmp_path: Path) -> None:
    text = dsl_text("last", "last").replace("probe-source ipv6", "probe-source ipv4")
    assert ("E101", *_at(text, 11, "ipv4")) in errors_of(tmp_path, text, "input.lb")
    assert ('duplicate "probe-source ipv4" (first given on line 10)') in _messages(text)


def _messages(text: str) -> list[str]:
    return [d.message for d in load_dsl(SourceText("t.lb", text))[1]]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("probe-source ipv5 last", 'expected ipv4 or ipv6, found "ipv5"'),
        ("probe-source last", 'expected ipv4 or ipv6, found "last"'),
        ("probe-source ipv4", "expected last, router or an IPv4 address, found the end of the line"),
        ("probe-source ipv6", "expected last, eui64, router or an IPv6 address, found the end of the line"),
    ],
)
def test_dsl_syntax_errors_say_what_a_probe_source_line_takes(line: str, expected: str) -> None:
    assert expected in _messages(dsl_text().replace("    switch-port", f"    {line}\n    switch-port"))


def test_an_unknown_probe_source_key_is_e102_with_a_suggestion(tmp_path: Path) -> None:
    text = yaml_text().replace("    switch_ports:", "    probe_source: {ipv5: last}\n    switch_ports:")
    assert ("E102", *_at(text, 10, "ipv5")) in errors_of(tmp_path, text)


# ---------------------------------------------------------------- router and the OVN release


@pytest.mark.parametrize("target", [None, "25.09"])
def test_router_before_ovn_26_03_is_e319_at_the_value(tmp_path: Path, target: str | None) -> None:
    line = 10 if target else 9
    text = yaml_text(ipv6="router", target=target)
    assert [f for f in errors_of(tmp_path, text) if f[0] == "E319"] == [("E319", *_at(text, line, "router"))]
    text = dsl_text(ipv4="router", target=target)
    line = 10 if target else 8
    assert [f for f in errors_of(tmp_path, text, "input.lb") if f[0] == "E319"] == [
        ("E319", *_at(text, line, "router"))
    ]


def test_router_on_26_03_probes_from_the_gateway_which_is_not_reserved(tmp_path: Path) -> None:
    # With "last" the gateway may not be the last usable address ...
    text = yaml_text(gateway="10.0.0.254/24")
    assert ("E304", *_at(text, 7, "10.0.0.254")) in errors_of(tmp_path, text)
    # ... with "router" it may be any address: nothing else is set aside.
    text = yaml_text(ipv4="router", gateway="10.0.0.254/24")
    assert errors_of(tmp_path, text) == []
    assert mappings(tmp_path, text, "input.yaml")["p1-lb-192.0.2.10-tcp"] == (("10.0.0.2", "lsp2:10.0.0.254"),)


# ---------------------------------------------------------------- what is reserved follows the choice


@pytest.mark.parametrize(
    ("ipv4", "ipv6", "taken", "free"),
    [
        (None, None, "10.0.0.254", "10.0.0.200"),
        ("10.0.0.200", None, "10.0.0.200", "10.0.0.254"),
        ("router", None, None, "10.0.0.254"),
        (None, "last", "fd42:1:2:3:ffff:ffff:ffff:fffe", EUI64),
        (None, "fd42:1:2:3::fe", "fd42:1:2:3::fe", EUI64),
        (None, None, EUI64, "fd42:1:2:3:ffff:ffff:ffff:fffe"),
        (None, "router", None, EUI64),
    ],
)
def test_a_backend_and_its_switch_port_may_not_use_the_chosen_source_only(
    tmp_path: Path, ipv4: str | None, ipv6: str | None, taken: str | None, free: str
) -> None:
    for address, reported in ((taken, True), (free, False)):
        if address is None:
            continue
        backends = (address, BACKENDS[1]) if "." in address else (BACKENDS[0], address)
        for text, name in (
            (yaml_text(ipv4, ipv6, backends=backends), "input.yaml"),
            (dsl_text(ipv4, ipv6, backends=backends), "input.lb"),
        ):
            codes = [code for code, _, _ in errors_of(tmp_path, text, name)]
            # Twice when taken: the backend and its switch port.
            assert codes.count("E304") == (2 if reported else 0), (name, address, codes)
            assert codes == [] or reported, codes


def test_a_vip_may_not_be_the_chosen_source(tmp_path: Path) -> None:
    text = yaml_text("10.0.0.200").replace("listen_address: 192.0.2.10", "listen_address: 10.0.0.200")
    assert ("E304", *_at(text, 14, "10.0.0.200")) in errors_of(tmp_path, text)


def test_ipv6_last_in_a_subnet_too_small_is_e317(tmp_path: Path) -> None:
    text = dsl_text(ipv6="last", backends=("10.0.0.2", "fd42:1:2:3::")).replace("::1/64", "::1/127")
    assert ("E317", 20, 9) in errors_of(tmp_path, text, "input.lb")  # at the IPv6 pool's health-check line


def test_compile_files_reads_the_choice_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "n.lb"
    path.write_text(dsl_text("10.0.0.200"), encoding="utf-8")
    assert str(compile_files([str(path)]).document.networks[0].health_check_source(4)) == "10.0.0.200"
