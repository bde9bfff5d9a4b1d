"""LXD's load-balancer pools: both front ends, the checks, the rows.

The same pool in YAML (as ``lxc network load-balancer pool show`` prints it)
and in the DSL is the same model and the same rows; every new key and value
has a failing case in both, located at line and column; the lowering follows
canonical/lxd@a83edf2a's OVN driver (tests/test_lxd_corpus.py compares with
LXD's own output and rows).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler import CompileError, compile_files
from compiler.diagnostics import SourceText
from compiler.emit.dsl import document_to_dsl
from compiler.emit.yaml import document_to_yaml
from compiler.frontend import load_files
from compiler.frontend.document import load_document
from compiler.frontend.dsl import load_dsl
from compiler.ir import LXD_POOL_HEALTH_CHECK, Document, HealthCheck, LoadBalancerPool, PoolInstance
from compiler.lower import lower

from .helpers import errors_of

YAML = """\
target_ovn: "26.03"
networks:
  - name: n1
    row_prefix: lxd-net5
    router: r1
    switch: s1
    ipv4_address: 10.0.0.1/24
    ipv6_address: fd00::1/64
    switch_ports:
      - {name: lsp2, addresses: [10.0.0.2, "fd00::2"], instance: i2}
      - {name: lsp3, addresses: [10.0.0.3], instance: i3}
    load_balancer_pools:
      - name: web
        description: ""
        config:
          protocol: tcp
          target_port: "80"
        instances:
          - name: i2
          - name: i3
            target_port: "8080"
        used_by: []
    load_balancers:
      - listen_address: 192.0.2.10
        config: {}
        backends: [{name: b2, target_address: 10.0.0.2, target_port: ""}]
        ports:
          - {protocol: tcp, listen_port: "80", target_pool: web}
          - {protocol: tcp, listen_port: "22", target_backend: [b2]}
"""

DSL = """\
target-ovn 26.03

network n1 {
    row-prefix lxd-net5
    router r1
    switch s1
    ipv4 10.0.0.1/24
    ipv6 fd00::1/64
    switch-port lsp2 10.0.0.2 fd00::2 instance i2
    switch-port lsp3 10.0.0.3 instance i3

    pool web {
        protocol tcp
        target-port 80
        instance i2
        instance i3 8080
    }

    load-balancer 192.0.2.10 {
        backend b2 10.0.0.2
        tcp 80 -> pool web
        tcp 22 -> b2
    }
}
"""


def at(text: str, anchor: str, token: str) -> tuple[int, int]:
    """(line, column) of ``token`` on the last line holding ``anchor`` (a
    second definition comes after the first); ``anchor$``: the line is exactly that."""
    lines = list(enumerate(text.splitlines(), start=1))
    found = [(n, line) for n, line in lines if (line == anchor[:-1] if anchor.endswith("$") else anchor in line)]
    assert found, f"{anchor!r} not in the text"
    number, line = found[-1]
    return number, line.index(token) + 1


def models(yaml_text: str, dsl_text: str) -> tuple[Document, Document]:
    a, a_found = load_document(SourceText("p.yaml", yaml_text), "yaml")
    b, b_found = load_dsl(SourceText("p.lb", dsl_text))
    assert a_found == b_found == []
    return a, b


# ---------------------------------------------------------------- one model, one set of rows


def test_yaml_and_dsl_give_the_same_pool_and_rows() -> None:
    from_yaml, from_dsl = models(YAML, DSL)
    assert from_yaml == from_dsl
    (network,) = from_yaml.networks
    assert network.pools == (
        LoadBalancerPool("web", 80, "tcp", "", LXD_POOL_HEALTH_CHECK, (PoolInstance("i2"), PoolInstance("i3", 8080))),
    )
    assert [p.instance for p in network.switch_ports] == ["i2", "i3"]
    assert lower(from_yaml) == lower(from_dsl)
    (row,) = lower(from_yaml).rows
    assert row.name == "lxd-net5-lb-192.0.2.10-tcp"
    assert dict(row.vips) == {"192.0.2.10:22": "10.0.0.2:22", "192.0.2.10:80": "10.0.0.2:80,10.0.0.3:8080"}
    # Only the pool's VIP is health-checked: LXD's defaults, probed from the router (10.0.0.1).
    assert [(c.vip, dict(c.options)) for c in row.health_checks] == [
        ("192.0.2.10:80", {"failure_count": "1", "interval": "5", "success_count": "1", "timeout": "3"})
    ]
    assert dict(row.ip_port_mappings) == {"10.0.0.2": "lsp2:10.0.0.1", "10.0.0.3": "lsp3:10.0.0.1"}


def test_an_ipv6_pool_vip_takes_only_ipv6_addresses_and_probes_from_the_ipv6_router_address() -> None:
    yaml_text = YAML.replace("listen_address: 192.0.2.10", 'listen_address: "2001:db8::10"').replace(
        '          - {protocol: tcp, listen_port: "22", target_backend: [b2]}\n', ""
    )
    document, found = load_document(
        SourceText("p.yaml", yaml_text.replace('[{name: b2, target_address: 10.0.0.2, target_port: ""}]', "[]")), "yaml"
    )
    assert found == []
    (row,) = lower(document).rows
    # i3 has no IPv6 address: LXD skips the addresses of the other family.
    assert dict(row.vips) == {"[2001:db8::10]:80": "[fd00::2]:80"}
    assert dict(row.ip_port_mappings) == {"[fd00::2]": "lsp2:[fd00::1]"}
    assert [c.vip for c in row.health_checks] == ["[2001:db8::10]:80"]


def test_an_instance_with_two_nics_gives_every_address_in_the_order_written() -> None:
    yaml_text = YAML.replace(
        "      - {name: lsp3,",
        "      - {name: lsp2b, addresses: [10.0.0.7, 10.0.0.8], instance: i2}\n      - {name: lsp3,",
    )
    dsl_text = DSL.replace(
        "    switch-port lsp3", "    switch-port lsp2b 10.0.0.7 10.0.0.8 instance i2\n    switch-port lsp3"
    )
    from_yaml, from_dsl = models(yaml_text, dsl_text)
    assert from_yaml == from_dsl
    (row,) = lower(from_yaml).rows
    assert dict(row.vips)["192.0.2.10:80"] == "10.0.0.2:80,10.0.0.7:80,10.0.0.8:80,10.0.0.3:8080"


def test_a_pool_used_by_two_load_balancers_and_a_udp_pool_beside_it() -> None:
    text = YAML.replace(
        "    load_balancers:\n",
        '      - {name: dns, config: {protocol: udp, target_port: "53", healthcheck: "false"},'
        " instances: [{name: i3}]}\n"
        "    load_balancers:\n"
        "      - listen_address: 192.0.2.11\n"
        '        ports: [{protocol: tcp, listen_port: "443", target_pool: web},'
        ' {protocol: udp, listen_port: "53", target_pool: dns}]\n',
    )
    document, found = load_document(SourceText("p.yaml", text), "yaml")
    assert found == []
    rows = {row.name: row for row in lower(document).rows}
    assert dict(rows["lxd-net5-lb-192.0.2.11-tcp"].vips) == {"192.0.2.11:443": "10.0.0.2:80,10.0.0.3:8080"}
    udp = rows["lxd-net5-lb-192.0.2.11-udp"]
    assert (dict(udp.vips), udp.health_checks, udp.ip_port_mappings) == ({"192.0.2.11:53": "10.0.0.3:53"}, (), ())


def test_healthcheck_false_and_lxds_values_and_an_empty_healthcheck() -> None:
    def pool_of(config: str) -> HealthCheck | None:
        text = YAML.replace("          protocol: tcp\n", f"          protocol: tcp\n{config}")
        document, _ = load_document(SourceText("p.yaml", text), "yaml")
        return document.networks[0].pools[0].health_check

    assert pool_of('          healthcheck: "false"\n') is None
    assert pool_of('          healthcheck: "off"\n') is None
    # LXD validates an empty value as unset, and only a false one turns checks off.
    assert pool_of('          healthcheck: ""\n') == LXD_POOL_HEALTH_CHECK
    assert pool_of('          healthcheck.timeout: "0"\n          healthcheck.failure_count: 7\n') == HealthCheck(
        5, 0, 1, 7
    )


def test_convert_keeps_pools_both_ways() -> None:
    document, _ = load_document(SourceText("p.yaml", YAML), "yaml")
    as_dsl = document_to_dsl(document)
    assert "    pool web {\n        protocol tcp\n        target-port 80\n        instance i2\n" in as_dsl
    assert "tcp 80 -> pool web" in as_dsl and "instance i3" in as_dsl
    back_from_dsl, found = load_dsl(SourceText("c.lb", as_dsl))
    back_from_yaml, found_yaml = load_document(SourceText("c.yaml", document_to_yaml(document)), "yaml")
    assert found == found_yaml == [] and back_from_dsl == document == back_from_yaml
    off = YAML.replace("          protocol: tcp\n", '          protocol: tcp\n          healthcheck: "false"\n')
    document, _ = load_document(SourceText("p.yaml", off), "yaml")
    assert "no-health-check" in document_to_dsl(document)
    assert 'healthcheck: "false"' in document_to_yaml(document) or "healthcheck: 'false'" in document_to_yaml(document)


# ---------------------------------------------------------------- errors, located, in both front ends

# (code, what to change, into what, the line's anchor, the token the caret is on)
YAML_CASES = [
    ("E310", "target_pool: web}", "target_pool: wbe}", "target_pool: wbe", "wbe"),
    (
        "E340",
        "    load_balancers:\n",
        '      - {name: web, config: {target_port: "81"}}\n    load_balancers:\n',
        'config: {target_port: "81"}',
        "web",
    ),
    ("E341", "target_pool: web}", "target_pool: web, target_backend: [b2]}", "target_pool: web,", "web,"),
    ("E103", ", target_pool: web}", "}", '{protocol: tcp, listen_port: "80"}', "{protocol"),
    ("E342", 'listen_port: "80", target_pool', 'listen_port: "80-81", target_pool', "80-81", "80-81"),
    ("E343", '{protocol: tcp, listen_port: "80"', '{protocol: udp, listen_port: "80"', "protocol: udp", "udp"),
    ("E344", "          - name: i3\n", "          - name: i2\n", "- name: i2", "i2"),
    ("E345", "          - name: i3\n", "          - name: i9\n", "- name: i9", "i9"),
    (
        "E347",
        "        used_by: []\n    load_balancers:\n",
        '        used_by: []\n      - {name: web2, config: {target_port: "8080"}, instances: [{name: i3}]}\n'
        "    load_balancers:\n      - listen_address: 192.0.2.11\n"
        '        ports: [{protocol: tcp, listen_port: "81", target_pool: web2}]\n',
        "- name: i3",  # the pool found second: web2's port entry comes first
        "i3",
    ),
    ("E204", "protocol: tcp\n          target", "protocol: sctp\n          target", "protocol: sctp", "sctp"),
    ("E203", 'target_port: "80"\n', 'target_port: "80,81"\n', 'target_port: "80,81"', "80,81"),
    ("E203", 'target_port: "8080"', 'target_port: "0"', 'target_port: "0"', "0"),
    ("E103", '          target_port: "80"\n', "", "        config:$", "config"),
    ("E206", "protocol: tcp\n", "protocol: tcp\n          healthcheck: maybe\n", "healthcheck: maybe", "maybe"),
    ("E205", "protocol: tcp\n", 'protocol: tcp\n          healthcheck.interval: "5s"\n', "interval", "5s"),
    ("E205", "protocol: tcp\n", "protocol: tcp\n          healthcheck.timeout: 2147483648\n", "timeout", "2147483648"),
    (
        "W002",
        "protocol: tcp\n",
        'protocol: tcp\n          healthcheck: "no"\n          healthcheck.timeout: 9\n',
        "timeout",
        "9",
    ),
    ("E105", "protocol: tcp\n", "protocol: tcp\n          reject: true\n", "reject", "reject"),
    (
        "E102",
        "        used_by: []\n",
        "        used_by: []\n        target_port: 80\n",
        "        target_port: 80",
        "target",
    ),
    ("E207", "      - name: web\n", '      - name: "w b"\n', 'name: "w b"', "w b"),
    ("E207", "instance: i3}", 'instance: ""}', 'instance: ""', '"}'),
    ("E104", "instance: i3}", "instance: [i3]}", "instance: [i3]", "[i3]"),
    (
        "W007",
        '        instances:\n          - name: i2\n          - name: i3\n            target_port: "8080"\n',
        "        instances: []\n",
        "target_pool: web",
        "web",
    ),
    ("E319", 'target_ovn: "26.03"\n', "", "      - name: web", "name"),
    ("E104", "        used_by: []\n", "        used_by: x\n", "used_by: x", "x"),
    ("E104", "target_pool: web}", "target_pool: [web]}", "target_pool: [web]", "[web]"),
    (
        "E104",
        '        instances:\n          - name: i2\n          - name: i3\n            target_port: "8080"\n',
        "        instances: i2\n",
        "instances: i2",
        "i2",
    ),
    ("E205", "protocol: tcp\n", "protocol: tcp\n          healthcheck.success_count: -1\n", "success", "-1"),
    ("E208", '        description: ""\n', '        description: "a\\0b"\n', "description:", '"a'),
]


@pytest.mark.parametrize(
    ("code", "old", "new", "anchor", "token"), YAML_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(YAML_CASES)]
)
def test_yaml_errors_point_at_the_node(tmp_path: Path, code: str, old: str, new: str, anchor: str, token: str) -> None:
    assert old in YAML
    text = YAML.replace(old, new, 1)
    assert (code, *at(text, anchor, token)) in errors_of(tmp_path, text), errors_of(tmp_path, text)


DSL_CASES = [
    ("E310", "-> pool web", "-> pool wbe", "-> pool wbe", "wbe"),
    (
        "E340",
        "    load-balancer",
        "    pool web {\n        target-port 81\n    }\n\n    load-balancer",
        "pool web {",
        "web",
    ),
    ("E342", "tcp 80 -> pool", "tcp 80-81 -> pool", "80-81", "80-81"),
    ("E342", "tcp 80 -> pool", "tcp 80,81 -> pool", "80,81", "80,81"),
    ("E343", "tcp 80 -> pool", "udp 80 -> pool", "udp 80", "udp"),
    ("E344", "instance i3 8080", "instance i2 8080", "instance i2 8080", "i2"),
    ("E345", "instance i3 8080", "instance i9 8080", "instance i9", "i9"),
    (
        "E347",
        "    load-balancer 192.0.2.10 {\n",
        "    pool web2 {\n        target-port 8080\n        instance i3\n    }\n\n    load-balancer 192.0.2.10 {\n"
        "        tcp 81 -> pool web2\n",
        "instance i3 8080",  # the pool found second: web2's port entry comes first
        "i3",
    ),
    ("E204", "protocol tcp", "protocol sctp", "protocol sctp", "sctp"),
    ("E203", "target-port 80\n", "target-port 80,81\n", "target-port 80,81", "80,81"),
    ("E203", "instance i3 8080", "instance i3 80-81", "instance i3", "80-81"),
    ("E103", "        target-port 80\n", "", "pool web {", "pool"),
    ("E205", "target-port 80\n", "target-port 80\n        health-check interval 5\n", "health-check", "5"),
    ("E320", "target-port 80\n", "target-port 80\n        health-check\n        no-health-check\n", "no-health", "no"),
    ("E101", "target-port 80\n", "target-port 80\n        target-port 81\n", "target-port 81", "target"),
    ("E207", "instance i2\n", 'instance "i 2"\n', 'instance "i 2"', '"'),
    ("E207", "10.0.0.3 instance i3", '10.0.0.3 instance "i 3"', '"i 3"', '"'),
    (
        "E102",
        "        tcp 80 -> pool web\n",
        "        protocol tcp\n        tcp 80 -> pool web\n",
        "protocol tcp",
        "protocol",
    ),
    ("E100", "-> pool web", "-> pool", "-> pool", "$"),  # at the end of the line
    ("W007", "        instance i2\n        instance i3 8080\n", "", "-> pool web", "web"),
    ("E319", "target-ovn 26.03\n", "", "pool web {", "pool"),
    ("E205", "target-port 80\n", "target-port 80\n        health-check failure x\n", "failure", "x"),
    ("E208", "target-port 80\n", 'target-port 80\n        description "\\u0000"\n', "description", '"'),
    ("E100", "target-port 80\n", "target-port 80\n        user.team web\n", "user.team", "web"),
]


@pytest.mark.parametrize(
    ("code", "old", "new", "anchor", "token"), DSL_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(DSL_CASES)]
)
def test_dsl_errors_point_at_the_token(tmp_path: Path, code: str, old: str, new: str, anchor: str, token: str) -> None:
    assert old in DSL
    text = DSL.replace(old, new, 1)
    found = errors_of(tmp_path, text, name="input.lb")
    line, column = at(text, anchor, token if token != "$" else anchor)
    if token == "$":  # the end of the line
        column = len(text.splitlines()[line - 1]) + 1
    assert (code, line, column) in found, found


def test_every_new_code_fails_in_both_front_ends() -> None:
    new = {"E340", "E341", "E342", "E343", "E344", "E345", "E346", "E347", "W007"}
    yaml_only = {"E341"}  # the DSL cannot write both: "-> pool NAME" or backend names
    by_probe = {"E346"}  # tested below, in both
    assert new - {c[0] for c in YAML_CASES} == by_probe
    assert new - {c[0] for c in DSL_CASES} == yaml_only | by_probe


# ---------------------------------------------------------------- probe sources and reject


MIXED_YAML = YAML.replace("        config: {}\n", '        config: {healthcheck: "true"}\n')
MIXED_DSL = DSL.replace("        backend b2", "        health-check\n        backend b2")


def test_an_address_probed_from_two_sources_in_one_row_is_an_error_in_both(tmp_path: Path) -> None:
    """The load balancer's own health check probes b2 (10.0.0.2) from 10.0.0.254,
    the pool probes instance i2 (10.0.0.2 too) from the router: one row, one mapping."""
    found = errors_of(tmp_path, MIXED_YAML)
    assert ("E346", *at(MIXED_YAML, "name: b2", "10.0.0.2")) in found, found
    found = errors_of(tmp_path, MIXED_DSL, name="input.lb")
    assert ("E346", *at(MIXED_DSL, "backend b2", "10.0.0.2")) in found, found
    with pytest.raises(CompileError) as caught:
        path = tmp_path / "mixed.yaml"
        path.write_text(MIXED_YAML, encoding="utf-8")
        compile_files([str(path)])
    (problem,) = [d for d in caught.value.diagnostics if d.code == "E346"]
    assert '"lsp2:10.0.0.254"' in problem.message and '"lsp2:10.0.0.1"' in problem.message


def test_one_probe_source_each_is_fine(tmp_path: Path) -> None:
    """With the pool unchecked, or b2 elsewhere, each address has one mapping."""
    unchecked = MIXED_YAML.replace(
        "          protocol: tcp\n", '          protocol: tcp\n          healthcheck: "false"\n'
    )
    assert errors_of(tmp_path, unchecked) == []
    apart = MIXED_YAML.replace("target_address: 10.0.0.2", "target_address: 10.0.0.5").replace(
        "      - {name: lsp3,", "      - {name: lsp5, addresses: [10.0.0.5]}\n      - {name: lsp3,"
    )
    path = tmp_path / "apart.yaml"
    path.write_text(apart, encoding="utf-8")
    (row,) = compile_files([str(path)]).changes.rows
    assert dict(row.ip_port_mappings) == {
        "10.0.0.2": "lsp2:10.0.0.1",
        "10.0.0.3": "lsp3:10.0.0.1",
        "10.0.0.5": "lsp5:10.0.0.254",
    }
    assert [c.vip for c in row.health_checks] == ["192.0.2.10:22", "192.0.2.10:80"]
    assert {c.vip: dict(c.options)["interval"] for c in row.health_checks} == {
        "192.0.2.10:22": "10",  # the load balancer's (Incus's defaults)
        "192.0.2.10:80": "5",  # the pool's (LXD's)
    }


@pytest.mark.parametrize(
    ("pool_config", "instances", "warned"),
    [
        ("", "[{name: i2}]", False),  # checked pool: reject fires when i2 is offline
        (', healthcheck: "false"', "[{name: i2}]", True),  # every VIP has a backend, always
        ("", "[]", True),  # no VIP for the empty pool (W007), the other VIP has a backend
    ],
)
def test_reject_is_warned_about_only_where_it_cannot_fire(
    tmp_path: Path, pool_config: str, instances: str, warned: bool
) -> None:
    text = (
        YAML.split("    load_balancer_pools:\n")[0]
        + f'    load_balancer_pools: [{{name: web, config: {{target_port: "80"{pool_config}}},'
        + f" instances: {instances}}}]\n"
        + "    load_balancers:\n"
        + "      - listen_address: 192.0.2.10\n"
        + "        config: {reject: 'true'}\n"
        + "        backends: [{name: b2, target_address: 10.0.0.2}]\n"
        + '        ports: [{protocol: tcp, listen_port: "80", target_pool: web},'
        + ' {protocol: tcp, listen_port: "22", target_backend: [b2]}]\n'
    )
    codes = [code for code, _, _ in errors_of(tmp_path, text)]
    assert ("W003" in codes) is warned, codes


def test_the_sample_twins_have_pools_and_instances() -> None:
    samples = Path(__file__).resolve().parent.parent / "samples"
    (document, found, _), (twin, twin_found, _) = (
        load_files([str(samples / "lxd-pool.yaml")]),
        load_files([str(samples / "lxd-pool.lb")]),
    )
    assert found == twin_found == [] and document == twin
    (network,) = document.networks
    assert [pool.name for pool in network.pools] == ["http", "dns"]
    assert all(port.instance for port in network.switch_ports)
    assert {row.name for row in lower(document).rows} == {
        "lxd-net5-lb-192.0.2.100-tcp",
        "lxd-net5-lb-192.0.2.100-udp",
        "lxd-net5-lb-2001:db8:1:2::100-tcp",
    }


def test_the_documented_example_compiles(tmp_path: Path) -> None:
    docs = Path(__file__).resolve().parent.parent / "docs" / "input-format.md"
    section = docs.read_text(encoding="utf-8").split("## LXD pools", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text(example, encoding="utf-8")
    compilation = compile_files([str(path)])
    assert compilation.warnings == ()
    (row,) = compilation.changes.rows
    assert dict(row.vips)["192.0.2.178:443"] == "10.24.140.50:443,10.24.140.52:8443"
    assert [c.vip for c in row.health_checks] == ["192.0.2.178:443"]
