"""LXD's own output compiles unmodified, and its rows are the rows LXD writes.

tests/corpus/lxd/ holds what ``lxc network load-balancer show`` and ``lxc
network load-balancer pool show`` print (each file's first line says where it
comes from: LXD's docs verbatim, or built from LXD's API structs), and
ovn-nb-pool-lowering.txt, the ovn-nbctl commands LXD's OVN driver issues for
its test suite's scenario (canonical/lxd@a83edf2a, lxd/network/openvswitch/
ovn.go LoadBalancerApply). Each file is put, as it is, into the block of
the OVN network it belongs to; the rows must be LXD's: names, vips,
Load_Balancer_Health_Check vip and options, ip_port_mappings. (ovn-lbc's
rows also carry its ownership mark in external_ids; LXD writes none.)
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from compiler import Compilation, CompileError, compile_files
from compiler.cli import main
from compiler.sandbox import Sandbox, build_topology, set_ports_up

from .helpers import apply_script, dump_table, lb_flows
from .test_ovn import nb_state
from .test_plan import operations, plan_json, plan_text
from .test_schemas import create_datapaths, need, release_of_file, schema_files

CORPUS = Path(__file__).parent / "corpus" / "lxd"

# LXD's test network (test/suites/network_ovn.sh 906-908), network ID 5; c1 is
# the instance of ovn-nb-pool-lowering.txt (volatile.uuid "U"), c2 and c3
# stand beside it. The doc examples' network holds their backend 10.41.211.5.
TEST_PORTS = [
    ("lxd-net5-instance-U-eth0", ["10.24.140.50", "fd42:bd85:5f89:5293:216:3eff:fe5d:1a2b"], "c1"),
    ("lxd-net5-instance-V-eth0", ["10.24.140.51", "fd42:bd85:5f89:5293:216:3eff:fe00:2"], "c2"),
    ("lxd-net5-instance-W-eth0", ["10.24.140.52", "fd42:bd85:5f89:5293:216:3eff:fe00:3"], "c3"),
]
TEST_SUBNETS = ("10.24.140.1/24", "fd42:bd85:5f89:5293::1/64")
DOC_PORTS = [
    (f"lxd-net5-instance-{name}-eth0", [f"10.41.211.{n}"], name) for n, name in ((2, "i1"), (3, "i2"), (4, "i3"))
]
DOC_SUBNETS = ("10.41.211.1/24", None)
DATAPATHS = (("Logical_Router", "lxd-net5-lr"), ("Logical_Switch", "lxd-net5-ls-int"))


def corpus(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def as_item(text: str, indent: int) -> str:
    """A YAML document as an item of a block list, its text unchanged but indented."""
    lines, first = [], True
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            lines.append(" " * indent + line)
            continue
        lines.append(" " * indent + ("- " if first else "  ") + line)
        first = False
    return "\n".join(lines) + "\n"


def network(
    pools: list[str],
    load_balancers: list[str],
    *,
    ports: list[tuple[str, list[str], str]] = TEST_PORTS,
    subnets: tuple[str, str | None] = TEST_SUBNETS,
    target: str | None = None,
) -> str:
    """The network block LXD's output goes in: LXD's names for network ID 5,
    the instances' NICs as switch ports, then the pools and load balancers as printed."""
    text = f'target_ovn: "{target}"\n' if target else ""
    text += (
        "networks:\n"
        "  - name: ovn1\n"
        "    row_prefix: lxd-net5\n"
        "    router: lxd-net5-lr\n"
        "    switch: lxd-net5-ls-int\n"
        f"    ipv4_address: {subnets[0]}\n"
    )
    if subnets[1]:
        text += f"    ipv6_address: {subnets[1]}\n"
    text += "    switch_ports:\n"
    for name, addresses, instance in ports:
        text += f"      - {{name: {name}, addresses: {json.dumps(addresses)}, instance: {instance}}}\n"
    if pools:
        text += "    load_balancer_pools:\n" + "".join(as_item(pool, 6) for pool in pools)
    if load_balancers:
        text += "    load_balancers:\n" + "".join(as_item(lb, 6) for lb in load_balancers)
    return text


def lb_show(listen_address: str, pool: str, port: str = "80") -> str:
    """``lxc network load-balancer show`` of a load balancer with one pool port,
    printed as LXD prints lb-show-ipv6-pool.yaml (after ``port add ADDRESS tcp
    PORT target_pool=POOL``)."""
    text = corpus("lb-show-ipv6-pool.yaml").split("\n", 1)[1]
    return (
        text.replace("2001:db8:1:2::100", listen_address)
        .replace("target_pool: http", f"target_pool: {pool}")
        .replace('listen_port: "80"', f'listen_port: "{port}"')
    )


def compiled(tmp_path: Path, text: str, name: str = "lxd.yaml") -> Compilation:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return compile_files([str(path)])


def rows_of(compilation: Compilation) -> dict[str, dict[str, Any]]:
    """What LXD decides of each row: its name, protocol, vips, health checks, mappings, datapaths."""
    return {
        row.name: {
            "protocol": row.protocol,
            "vips": dict(row.vips),
            "health_checks": sorted((check.vip, dict(check.options)) for check in row.health_checks),
            "ip_port_mappings": dict(row.ip_port_mappings),
            "options": dict(row.options),
            "datapaths": row.datapaths,
        }
        for row in compilation.changes.rows
    }


def lxd_rows() -> dict[str, dict[str, Any]]:
    """The rows ovn-nb-pool-lowering.txt's ovn-nbctl commands make, read from the commands."""
    rows: dict[str, dict[str, Any]] = {}
    attached: set[tuple[str, str]] = set()
    for line in corpus("ovn-nb-pool-lowering.txt").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        commands: list[list[str]] = [[]]
        for word in shlex.split(line):
            if word == "--":
                commands.append([])
            else:
                commands[-1].append(word)
        check: tuple[str, dict[str, str]] | None = None
        for command in commands:
            words = [w for w in command if w not in ("--may-exist", "--id=@id")]
            if words[0] == "lb-add":
                _, name, vip, targets, protocol = words
                row = rows.setdefault(name, {"vips": {}, "health_checks": [], "ip_port_mappings": {}})
                row["protocol"] = protocol
                row["vips"][vip] = targets
            elif words[:2] == ["add", "load_balancer"] and words[3] == "ip_port_mappings":
                key, _, value = words[4].partition("=")
                rows[words[2]]["ip_port_mappings"][key] = value
            elif words[:2] == ["create", "load_balancer_health_check"]:
                settings = dict(word.partition("=")[::2] for word in words[2:])
                options = {k.removeprefix("options:"): v for k, v in settings.items() if k.startswith("options:")}
                check = (settings["vip"], options)
            elif words[:2] == ["add", "load_balancer"] and words[3] == "health_check":
                assert check is not None
                rows[words[2]]["health_checks"].append(check)
            elif words[0] in ("lr-lb-add", "ls-lb-add"):
                attached.add(("Logical_Router" if words[0] == "lr-lb-add" else "Logical_Switch", words[1]))
    for row in rows.values():
        row["health_checks"].sort()
        row["options"] = {}  # LXD sets no Load_Balancer options
        row["datapaths"] = tuple(sorted(attached))
    return rows


def c1_scenario() -> str:
    """LXD's test scenario: pool http as created (pool-show-after-create.yaml),
    then ``pool instance add ovn1 http c1`` (instances gains "- name: c1"),
    and ``port add`` of tcp 80 with target_pool=http on 192.0.2.100 and on
    2001:db8:1:2::100 (lb-show-ipv6-pool.yaml)."""
    pool = corpus("pool-show-after-create.yaml").replace("instances: []", "instances:\n- name: c1")
    lb6 = corpus("lb-show-ipv6-pool.yaml")
    return network([pool], [lb_show("192.0.2.100", "http"), lb6], ports=TEST_PORTS[:1], target="26.03")


# -- every file of the corpus compiles to LXD's rows ----------------------------------------------


def test_the_rows_are_what_lxd_writes_for_its_test_scenario(tmp_path: Path) -> None:
    expected = lxd_rows()
    assert set(expected) == {"lxd-net5-lb-192.0.2.100-tcp", "lxd-net5-lb-2001:db8:1:2::100-tcp"}
    assert {name: {**row, "datapaths": DATAPATHS} for name, row in expected.items()} == expected
    compilation = compiled(tmp_path, c1_scenario())
    assert compilation.warnings == ()
    assert rows_of(compilation) == expected


def test_a_pool_just_created_has_no_instance_and_writes_no_vip(tmp_path: Path) -> None:
    """``pool create`` then ``port add``: LXD leaves a pool without targets out
    (lxd/network/driver_ovn.go 5590-5593), so no row at all; a warning says so."""
    text = network([corpus("pool-show-after-create.yaml")], [corpus("lb-show-ipv6-pool.yaml")])
    compilation = compiled(tmp_path, text)
    assert compilation.changes.rows == ()
    assert [(d.code, d.span.line) for d in compilation.warnings] == [
        ("W007", text.splitlines().index("          target_pool: http") + 1)
    ]
    assert 'pool "http" has no instances' in compilation.warnings[0].message


@pytest.mark.parametrize("variant", ["", ".exact"], ids=["verbatim-doc", "as-yaml-v2-prints-it"])
def test_the_documented_load_balancer_and_pool(tmp_path: Path, variant: str) -> None:
    """doc/howto/network_load_balancers.md: a backend port entry with ranges and
    a pool port entry on one load balancer; the pool health-checked by default,
    every 10 s, the rest LXD's defaults (3, 1, 1), probed from the router."""
    text = network(
        [corpus(f"pool-show-doc-example{variant}.yaml")],
        [corpus(f"lb-show-doc-example{variant}.yaml")],
        ports=DOC_PORTS,
        subnets=DOC_SUBNETS,
        target="26.03",
    )
    compilation = compiled(tmp_path, text)
    assert compilation.warnings == ()
    backend = {f"192.0.2.178:{port}": f"10.41.211.5:{port}" for port in [70, *range(80, 91)]}
    assert rows_of(compilation) == {
        "lxd-net5-lb-192.0.2.178-tcp": {
            "protocol": "tcp",
            "vips": {**backend, "192.0.2.178:443": "10.41.211.2:443,10.41.211.3:443,10.41.211.4:8443"},
            "health_checks": [
                ("192.0.2.178:443", {"failure_count": "1", "interval": "10", "success_count": "1", "timeout": "3"})
            ],
            "ip_port_mappings": {
                f"10.41.211.{n}": f"lxd-net5-instance-{name}-eth0:10.41.211.1"
                for n, name in ((2, "i1"), (3, "i2"), (4, "i3"))
            },
            "options": {},
            "datapaths": DATAPATHS,
        }
    }


def test_a_pool_without_health_checks_in_another_project(tmp_path: Path) -> None:
    """``healthcheck: "false"``: plain VIPs on any OVN release, no mappings, no
    health-check rows; c2's own target port; used_by with ?project= is ignored."""
    text = network(
        [corpus("pool-show-project-ipv6-used.yaml")],
        [lb_show("192.0.2.100", "web"), lb_show("2001:db8:1:2::100", "web")],
    )
    compilation = compiled(tmp_path, text)
    assert compilation.warnings == ()
    assert rows_of(compilation) == {
        "lxd-net5-lb-192.0.2.100-tcp": {
            "protocol": "tcp",
            "vips": {"192.0.2.100:80": "10.24.140.50:8080,10.24.140.51:8443"},
            "health_checks": [],
            "ip_port_mappings": {},
            "options": {},
            "datapaths": DATAPATHS,
        },
        "lxd-net5-lb-2001:db8:1:2::100-tcp": {
            "protocol": "tcp",
            "vips": {
                "[2001:db8:1:2::100]:80": "[fd42:bd85:5f89:5293:216:3eff:fe5d:1a2b]:8080,"
                "[fd42:bd85:5f89:5293:216:3eff:fe00:2]:8443"
            },
            "health_checks": [],
            "ip_port_mappings": {},
            "options": {},
            "datapaths": DATAPATHS,
        },
    }


def test_the_edit_template_of_pool_edit(tmp_path: Path) -> None:
    """lxc's help template (one-space indents, no used_by), used by a load balancer on 443."""
    text = network([corpus("pool-edit-helptemplate.yaml")], [lb_show("192.0.2.1", "pool1", "443")], target="26.03")
    (row,) = rows_of(compiled(tmp_path, text)).values()
    assert row["vips"] == {"192.0.2.1:443": "10.24.140.50:443,10.24.140.51:443,10.24.140.52:8443"}
    assert row["health_checks"] == [
        ("192.0.2.1:443", {"failure_count": "1", "interval": "10", "success_count": "1", "timeout": "10"})
    ]
    assert row["ip_port_mappings"] == {address[0]: f"{name}:10.24.140.1" for name, address, _ in TEST_PORTS}


def test_the_rest_api_body_of_a_pool_as_json(tmp_path: Path) -> None:
    """GET /1.0/networks/NET/load-balancer-pools/https (doc/rest-api.yaml's
    example), in a JSON document: LXD's default health check, 5/3/1/1."""
    pool = json.loads(corpus("pool-get.json").split("\n", 1)[1])
    lb = {
        "listen_address": "192.0.2.1",
        "location": "",
        "description": "",
        "config": {},
        "backends": [],
        "ports": [{"description": "", "protocol": "tcp", "listen_port": "443", "target_pool": "https"}],
    }
    ports = [
        {"name": n, "addresses": a, "instance": i}
        for n, a, i in (
            ("lxd-net5-instance-a-eth0", ["10.24.140.2"], "i1"),
            ("lxd-net5-instance-b-eth0", ["10.24.140.3"], "i2"),
        )
    ]
    document = {
        "target_ovn": "26.03",
        "networks": [
            {
                "name": "default",
                "row_prefix": "lxd-net5",
                "router": "lxd-net5-lr",
                "switch": "lxd-net5-ls-int",
                "ipv4_address": "10.24.140.1/24",
                "switch_ports": ports,
                "load_balancer_pools": [pool],
                "load_balancers": [lb],
            }
        ],
    }
    compilation = compiled(tmp_path, json.dumps(document, indent=2), "lxd.json")
    (row,) = rows_of(compilation).values()
    assert row["vips"] == {"192.0.2.1:443": "10.24.140.2:443,10.24.140.3:8443"}
    assert row["health_checks"] == [
        ("192.0.2.1:443", {"failure_count": "1", "interval": "5", "success_count": "1", "timeout": "3"})
    ]
    assert row["ip_port_mappings"] == {
        "10.24.140.2": "lxd-net5-instance-a-eth0:10.24.140.1",
        "10.24.140.3": "lxd-net5-instance-b-eth0:10.24.140.1",
    }


def test_every_compilable_corpus_file_is_used() -> None:
    """Each LXD output of the corpus is compiled by a test above (pool info and
    pool state are LXD's reports of live state, no input: left out of the corpus)."""
    here = Path(__file__).read_text(encoding="utf-8")
    for path in sorted(CORPUS.iterdir()):
        either = re.sub(r"(\.exact)?\.yaml$", "{variant}.yaml", path.name)
        assert path.name in here or either in here, path.name
        assert path.read_text(encoding="utf-8").startswith("# source: "), path.name


def test_a_health_checked_pool_needs_ovn_26_03_as_lxd_needs_northd_25_09_90(tmp_path: Path) -> None:
    text = c1_scenario().replace('target_ovn: "26.03"\n', "")
    with pytest.raises(CompileError) as refused:
        compiled(tmp_path, text)
    (problem,) = refused.value.diagnostics
    assert problem.code == "E319" and problem.message.startswith('pool "http"\'s health check')
    assert "needs OVN 26.03 or later" in problem.message
    assert any("LXD refuses it too below northd 25.09.90" in n for n in problem.notes)
    # The pool's line: the health check is LXD's default, no key says it.
    assert problem.span.line == text.splitlines().index("      - name: http") + 1
    off = text.replace("  healthcheck.interval:", '  healthcheck: "false"\n          healthcheck.interval:')
    path = tmp_path / "off.yaml"
    path.write_text(off, encoding="utf-8")
    compilation = compile_files([str(path)])  # on any release
    assert [d.code for d in compilation.warnings] == ["W002", "W002"]
    assert all(row["health_checks"] == [] and row["ip_port_mappings"] == {} for row in rows_of(compilation).values())
    assert {name: row["vips"] for name, row in rows_of(compilation).items()} == {
        name: row["vips"] for name, row in lxd_rows().items()
    }


# -- on a real OVN -------------------------------------------------------------------------------------


def test_lxds_rows_on_a_real_ovn_probe_from_the_router_and_balance(ovn: Sandbox, tmp_path: Path) -> None:
    """The script of the test scenario on a real ovsdb-server and northd: the
    rows are LXD's, northd makes a monitor per instance address probed from
    the router's own address, and the flows balance to c1 until its monitor
    goes offline. (This sandbox's northd is 23.03: the rows are what 26.03
    reads; a 23.03 northd reads them too, but only 26.03 answers probes from a
    router port's address, so only the rows and flows are tested here.)"""
    compilation = compiled(tmp_path, c1_scenario())
    build_topology(ovn, compilation.document)
    apply_script(ovn, compilation)
    state = nb_state(ovn)
    for name, row in lxd_rows().items():
        got = state[name]
        assert (got["protocol"], got["vips"], got["ip_port_mappings"]) == (
            row["protocol"],
            row["vips"],
            row["ip_port_mappings"],
        )
        assert got["health_checks"] == sorted((vip, json.dumps(o, sort_keys=True)) for vip, o in row["health_checks"])
        assert got["options"] == {} and got["attached"] == sorted(f"{t}:{n}" for t, n in DATAPATHS)

    set_ports_up(ovn, ["lxd-net5-instance-U-eth0"])
    ovn.sync()
    monitors = {(m["logical_port"], m["ip"], m["port"], m["src_ip"]) for m in dump_table(ovn, "Service_Monitor", "sb")}
    assert monitors == {
        ("lxd-net5-instance-U-eth0", "10.24.140.50", 80, "10.24.140.1"),
        ("lxd-net5-instance-U-eth0", "fd42:bd85:5f89:5293:216:3eff:fe5d:1a2b", 80, "fd42:bd85:5f89:5293::1"),
    }
    flows = lb_flows(ovn, "lxd-net5-ls-int")
    assert any("ip4.dst == 192.0.2.100 && tcp.dst == 80" in f and "backends=10.24.140.50:80)" in f for f in flows)
    assert any("backends=[fd42:bd85:5f89:5293:216:3eff:fe5d:1a2b]:80)" in f for f in flows), flows

    for uuid in ovn.sbctl("--bare", "--columns=_uuid", "find", "Service_Monitor", 'ip="10.24.140.50"').split():
        ovn.sbctl("set", "Service_Monitor", uuid, "status=offline")
    ovn.sync()
    flows = lb_flows(ovn, "lxd-net5-ls-int")
    assert not any("10.24.140.50:80" in f for f in flows) and any("fe5d:1a2b]:80" in f for f in flows), flows


def test_a_pool_without_health_checks_is_applied_and_planned_on_ovn_23_03(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(
        network(
            [corpus("pool-show-project-ipv6-used.yaml")],
            [lb_show("192.0.2.100", "web"), lb_show("2001:db8:1:2::100", "web")],
        ),
        encoding="utf-8",
    )
    build_topology(ovn, compile_files([str(path)]).document)
    assert main(["apply", str(path), "--db", ovn.nb_remote, "--wait=sb"]) == 0
    assert "No changes." in plan_text(ovn, path, capsys)
    flows = lb_flows(ovn, "lxd-net5-ls-int")
    assert any("ct_lb_mark(backends=10.24.140.50:8080,10.24.140.51:8443)" in f for f in flows), flows
    assert dump_table(ovn, "Load_Balancer_Health_Check") == []


def test_a_health_checked_pool_is_planned_against_26_03_and_refused_by_23_03(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The target comes down to the database's release (its NB schema): a
    23.03 database refuses the health-checked pool, as LXD refuses northd
    23.03; a 26.03 database (its schema in a real ovsdb-server) takes it, and
    adding an instance to the pool changes the two rows in place."""
    path = tmp_path / "c1.yaml"
    path.write_text(c1_scenario(), encoding="utf-8")
    build_topology(ovn, compile_files([str(path)]).document)
    capsys.readouterr()
    assert main(["plan", str(path), "--db", ovn.nb_remote]) == 1
    err = capsys.readouterr().err
    assert "error[E319]" in err and "the database: its NB schema" in err and "is OVN 23.03's" in err

    newest = [schema for schema in schema_files() if release_of_file(schema).series >= (26, 3)]
    schema = need(newest[0] if newest else None)  # fails under CI=true, as tests/test_schemas.py does
    with Sandbox(str(tmp_path / "ovn2603"), nb_schema=str(schema), northd=False) as server:
        create_datapaths(server, compile_files([str(path)]).document)
        assert main(["apply", str(path), "--db", server.nb_remote]) == 0
        state = nb_state(server)
        assert {name: (row["vips"], row["ip_port_mappings"]) for name, row in state.items()} == {
            name: (row["vips"], row["ip_port_mappings"]) for name, row in lxd_rows().items()
        }
        assert "No changes." in plan_text(server, path, capsys)

        grown = tmp_path / "grown.yaml"
        grown.write_text(
            c1_scenario()
            .replace("- name: c1\n", "- name: c1\n        - name: c2\n")
            .replace(
                "    switch_ports:\n",
                "    switch_ports:\n      - {name: lxd-net5-instance-V-eth0, "
                "addresses: [10.24.140.51], instance: c2}\n",
            ),
            encoding="utf-8",
        )
        assert operations(plan_json(server, grown, capsys)) == Counter({("mutate", "Load_Balancer"): 1})
        assert main(["apply", str(grown), "--db", server.nb_remote]) == 0
        row = nb_state(server)["lxd-net5-lb-192.0.2.100-tcp"]
        assert row["vips"] == {"192.0.2.100:80": "10.24.140.50:80,10.24.140.51:80"}
        assert row["ip_port_mappings"]["10.24.140.51"] == "lxd-net5-instance-V-eth0:10.24.140.1"
