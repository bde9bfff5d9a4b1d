"""Load_Balancer options, attachments and the target release in both front
ends: the same value reads the same in YAML and the DSL, and every bad value
is one diagnostic at the exact character, with the same code in both."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.ir import LoadBalancerOptions
from compiler.ovn_versions import FEATURES, OvnVersion, effective_target, parse_ovn_version, release_of_schema

from .helpers import compile_text, errors_of

YAML = """\
version: 1
{top}networks:
  - name: n
    row_prefix: p
    router: r
    switch: s
    ipv4_address: 10.0.0.1/24
    load_balancers:
      - listen_address: {listen}
        config: {{{config}}}
        backends: [{{name: b, target_address: "{backend}", target_port: "80"}}]
        ports: [{{protocol: tcp, listen_port: "80", target_backend: [b]}}]
"""

DSL = """\
version 1
{top}
network n {{
    row-prefix p
    router r
    switch s
    ipv4 10.0.0.1/24
    load-balancer {listen} {{
        {statement}
        backend b {backend}:80
        tcp 80 -> b
    }}
}}
"""


def yaml_text(config: str, *, listen: str = "192.0.2.10", backend: str = "10.0.0.2", top: str = "") -> str:
    return YAML.format(config=config, listen=listen, backend=backend, top=top)


def dsl_text(statement: str, *, listen: str = "192.0.2.10", backend: str = "10.0.0.2", top: str = "") -> str:
    return DSL.format(statement=statement, listen=listen, backend=backend, top=top)


# (YAML config, DSL statement, the options both must give)
SAME: list[tuple[str, str, LoadBalancerOptions]] = [
    ("affinity_timeout: '300'", "affinity-timeout 5m", LoadBalancerOptions(affinity_timeout=300)),
    ("affinity_timeout: 65535", "affinity-timeout 65535", LoadBalancerOptions(affinity_timeout=65535)),
    (
        "selection_fields: 'ip_src, tp_dst'",
        "selection-fields ip_src,tp_dst",
        LoadBalancerOptions(selection_fields=("ip_src", "tp_dst")),
    ),
    (
        "skip_snat: true, add_route: 'true'",
        "skip-snat\n        add-route",
        LoadBalancerOptions(skip_snat=True, add_route=True),
    ),
    ("reject: 'false'", "", LoadBalancerOptions()),  # false is OVN's default: the same model as leaving it out
    ("neighbor_responder: none", "neighbor-responder none", LoadBalancerOptions(neighbor_responder="none")),
]


@pytest.mark.parametrize(("config", "statement", "expected"), SAME)
def test_both_front_ends_read_the_same_options(
    tmp_path: Path, config: str, statement: str, expected: LoadBalancerOptions
) -> None:
    from_yaml = compile_text(tmp_path, yaml_text(config)).document.networks[0].load_balancers[0]
    from_dsl = compile_text(tmp_path, dsl_text(statement), "input.lb").document.networks[0].load_balancers[0]
    assert from_yaml.options == from_dsl.options == expected


# (code, YAML config, DSL statement, the text the caret must point at)
BAD: list[tuple[str, str, str, str]] = [
    ("E209", "affinity_timeout: '0'", "affinity-timeout 0", "0"),
    ("E209", "affinity_timeout: '70000'", "affinity-timeout 70000", "70000"),
    ("E209", "affinity_timeout: soon", "affinity-timeout soon", "soon"),
    ("E209", "selection_fields: 'ip_src,ip_sauce'", "selection-fields ip_src,ip_sauce", "ip_sauce"),
    ("E209", "selection_fields: 'ip_src,ip_src'", "selection-fields ip_src, ip_src", "ip_src"),
    ("E209", "selection_fields: 'ip_src,,tp_dst'", "selection-fields ip_src,,tp_dst", ",,"),
    ("E209", "hairpin_snat_ip: '192.0.2.1 192.0.2.2'", "hairpin-snat-ip 192.0.2.1 192.0.2.2", "192.0.2.2"),
    ("E209", "hairpin_snat_ip: '192.0.2.300'", "hairpin-snat-ip 192.0.2.300", "192.0.2.300"),
    ("E209", "neighbor_responder: some", "neighbor-responder some", "some"),
]


def _caret_text(text: str, line: int, column: int, length: int) -> str:
    return text.splitlines(keepends=True)[line - 1][column - 1 :][:length]


@pytest.mark.parametrize(("code", "config", "statement", "at"), BAD)
def test_a_bad_option_is_one_error_at_the_bad_item_in_both_front_ends(
    tmp_path: Path, code: str, config: str, statement: str, at: str
) -> None:
    for name, text in (("input.yaml", yaml_text(config)), ("input.lb", dsl_text(statement))):
        found = errors_of(tmp_path, text, name)
        assert [c for c, _, _ in found] == [code], (name, found)
        _, line, column = found[0]
        # The YAML value may be quoted: the caret is on the item, inside the quotes.
        assert _caret_text(text, line, column, len(at)) == at, (name, found)


CHECKED: list[tuple[str, str, str, dict[str, str]]] = [
    ("E320", "reject: 'true', event: 'true'", "reject\n        event", {}),
    ("E321", "selection_fields: ipv6_src", "selection-fields ipv6_src", {"top_yaml": "target_ovn: '25.03'\n"}),
    ("E321", "hairpin_snat_ip: 'fd00::1'", "hairpin-snat-ip fd00::1", {}),
    ("E304", "hairpin_snat_ip: 10.0.0.254", "hairpin-snat-ip 10.0.0.254", {}),
    ("E319", "selection_fields: ipv6_src", "selection-fields ipv6_src", {"listen": "2001:db8::10"}),
    ("E319", "use_stateless_nat: 'true'", "use-stateless-nat", {}),
    ("E319", "ct_flush: 'true'", "ct-flush", {}),
]


@pytest.mark.parametrize(("code", "config", "statement", "extra"), CHECKED)
def test_options_are_checked_together_in_both_front_ends(
    tmp_path: Path, code: str, config: str, statement: str, extra: dict[str, str]
) -> None:
    listen = extra.get("listen", "192.0.2.10")
    backend = "fd00::2" if ":" in listen else "10.0.0.2"
    top_yaml = extra.get("top_yaml", "")
    top_dsl = top_yaml.replace("target_ovn: '", "target-ovn ").replace("'", "")
    dsl_backend = f"[{backend}]" if ":" in backend else backend
    texts = (
        ("input.yaml", yaml_text(config, listen=listen, backend=backend, top=top_yaml)),
        (
            "input.lb",
            dsl_text(statement, listen=listen, backend=dsl_backend, top=top_dsl),
        ),
    )
    for name, text in texts:
        codes = [c for c, _, _ in errors_of(tmp_path, text, name)]
        assert code in codes, (name, codes)


def test_a_feature_above_the_target_names_the_release_that_brought_it(tmp_path: Path) -> None:
    text = yaml_text("use_stateless_nat: 'true'")
    path = tmp_path / "input.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["check", str(path)]) == 1
    assert main(["check", str(path), "--ovn-version", "25.03"]) == 0
    assert main(["check", str(path), "--ovn-version", "24.09"]) == 1
    # target_ovn in the file says the same; the command line wins over it.
    path.write_text(text.replace("version: 1\n", "version: 1\ntarget_ovn: '25.09'\n"), encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert main(["check", str(path), "--ovn-version", "24.03"]) == 1


def test_an_empty_item_in_an_address_list_is_an_error(tmp_path: Path) -> None:
    # YAML only: in the DSL the addresses are separate words, and a comma there is a syntax error.
    text = yaml_text("hairpin_snat_ip: '192.0.2.1,'")
    found = errors_of(tmp_path, text)
    assert [c for c, _, _ in found] == ["E209"]
    assert _caret_text(text, found[0][1], found[0][2], 1) == ","


def test_unsupported_options_say_why(tmp_path: Path) -> None:
    for key in ("template", "address-family", "distributed"):
        found = errors_of(tmp_path, yaml_text(f"{key}: 'true'"))
        assert [c for c, _, _ in found] == ["E322"]


def test_files_that_disagree_on_the_target_are_an_error(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.lb"
    first.write_text(yaml_text("", top="target_ovn: '24.03'\n"), encoding="utf-8")
    second.write_text(
        DSL.format(statement="", listen="192.0.2.11", backend="10.0.0.3", top="target-ovn 25.03").replace(
            "network n", "network m"
        ),
        encoding="utf-8",
    )
    with pytest.raises(Exception) as caught:
        compile_files([str(first), str(second)])
    assert "E210" in str(getattr(caught.value, "diagnostics", caught.value))


def test_attachments_and_groups_in_both_front_ends(tmp_path: Path) -> None:
    yaml_form = yaml_text("").replace(
        "    switch: s\n", "    switch: s\n    attach_switches: [c1, c2]\n    attach_routers: [r2]\n    lb_group: g\n"
    )
    dsl_form = dsl_text("").replace(
        "    switch s\n",
        "    switch s\n    attach-switch c1\n    attach-switch c2\n    attach-router r2\n    lb-group g\n",
    )
    a = compile_text(tmp_path, yaml_form)
    b = compile_text(tmp_path, dsl_form, "input.lb")
    assert a.document == b.document
    (row,) = a.changes.rows
    assert (row.group, row.datapaths) == ("g", ())
    (group,) = a.changes.groups
    assert group.datapaths == (
        ("Logical_Router", "r"),
        ("Logical_Router", "r2"),
        ("Logical_Switch", "s"),
        ("Logical_Switch", "c1"),
        ("Logical_Switch", "c2"),
    )
    twice = errors_of(tmp_path, yaml_form.replace("[c1, c2]", "[c1, c1]"))
    assert [c for c, _, _ in twice] == ["E323"]


def test_the_version_table() -> None:
    assert parse_ovn_version("24.03") == OvnVersion(24, 3)
    assert parse_ovn_version("23.03.1") == OvnVersion(23, 3, 1)
    assert isinstance(parse_ovn_version("22.12"), str)
    assert isinstance(parse_ovn_version("24.3.x"), str)
    ct_flush = FEATURES["ct_flush"]
    assert not ct_flush.available_in(OvnVersion(23, 3))
    assert ct_flush.available_in(OvnVersion(23, 3, 1)) and ct_flush.available_in(OvnVersion(23, 9))
    assert release_of_schema("7.0.0") == OvnVersion(23, 3)
    assert release_of_schema("7.5.0") == OvnVersion(24, 3)  # between two known releases: the older
    assert release_of_schema("6.3.0") is None
    # A schema cannot tell 23.03.1 from 23.03: a declared patch release stands.
    assert effective_target(OvnVersion(23, 3, 1), OvnVersion(23, 3)) == OvnVersion(23, 3, 1)
    assert effective_target(OvnVersion(25, 3), OvnVersion(23, 3)) == OvnVersion(23, 3)
    assert effective_target(None, OvnVersion(25, 9)) == OvnVersion(25, 9)
