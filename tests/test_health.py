"""status and doctor as pure functions of synthetic databases, and their command line.

tests/test_status.py makes every finding on a real datapath; these tests
cover what a datapath on OVN 23.03 cannot show (other releases' semantics),
the parsing of what the databases send, and the command's failures.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from compiler import Compilation, compile_files
from compiler.cli import main
from compiler.diagnostics import Span
from compiler.health.doctor import diagnose
from compiler.health.joined import Target, join, targets_of
from compiler.health.observed import (
    Binding,
    Flow,
    Monitor,
    Observed,
    RouterPort,
    SwitchPortFacts,
    parse_flow,
    split_endpoint,
)
from compiler.health.read import observed_from_tables
from compiler.health.status import BackendStatus, backend_statuses, exit_status, summary
from compiler.ovsdb.state import DbDatapath, DbHealthCheck, DbLoadBalancer, DbSwitchPort, NorthboundState
from compiler.sandbox import Sandbox, build_topology

from .conftest import SAMPLES

SAMPLE = str(SAMPLES / "ipv4-healthcheck.yaml")
MAC = "0a:00:00:00:00:ee"


def _healthy(compilation: Compilation, schema: str = "7.0.0") -> Observed:
    """The databases as they are when the file is applied and every probe is answered."""
    document = compilation.document
    load_balancers, checks, attached = [], {}, {}
    for i, row in enumerate(compilation.changes.rows):
        uuids = []
        for j, check in enumerate(row.health_checks):
            uuid = f"hc-{i}-{j}"
            checks[uuid] = DbHealthCheck(uuid, check.vip, dict(check.options), dict(check.external_ids))
            uuids.append(uuid)
        found = DbLoadBalancer(
            f"lb-{i}",
            row.name,
            row.protocol,
            dict(row.vips),
            tuple(uuids),
            dict(row.ip_port_mappings),
            dict(row.external_ids),
            dict(row.options),
            row.selection_fields,
        )
        load_balancers.append(found)
        for datapath in row.datapaths:
            attached.setdefault(datapath, set()).add(found.uuid)
    ports: dict[str, DbSwitchPort] = {}
    facts: dict[str, SwitchPortFacts] = {}
    bindings: dict[str, Binding] = {}
    router_ports: dict[str, RouterPort] = {}
    on_switch: dict[str, list[str]] = {}
    for index, network in enumerate(document.networks):
        for number, port in enumerate(network.switch_ports):
            entry = f"0a:00:00:00:{index:02x}:{number:02x} " + " ".join(str(a) for a in port.addresses)
            ports[f"lsp-{port.name}"] = DbSwitchPort(f"lsp-{port.name}", port.name, (entry,))
            facts[port.name] = SwitchPortFacts(port.name, "", True, "")
            bindings[port.name] = Binding(port.name, "chassis-1", True, (entry,))
            on_switch.setdefault(network.switch, []).append(f"lsp-{port.name}")
        router_port = f"{network.router}-{network.switch}"
        switch_side = f"{network.switch}-{network.router}"
        ports[f"lsp-{switch_side}"] = DbSwitchPort(f"lsp-{switch_side}", switch_side, ("router",))
        facts[switch_side] = SwitchPortFacts(switch_side, "router", True, router_port)
        on_switch.setdefault(network.switch, []).append(f"lsp-{switch_side}")
        router_ports[router_port] = RouterPort(router_port, "0a:00:00:01:00:00", (str(network.ipv4),))
    datapaths = tuple(
        DbDatapath(table, f"dp-{name}", name, frozenset(uuids), tuple(on_switch.get(name, ())))
        for (table, name), uuids in attached.items()
    )
    state = NorthboundState(tuple(load_balancers), checks, datapaths, ports, (), schema, None)
    bare = Observed(state, {"svc_monitor_mac": MAC}, facts, router_ports, {"svc_monitor_mac": MAC}, (), bindings, ())
    joined = join(document, compilation.changes.rows, bare)
    monitors = []
    for target in joined.targets:
        if (port := joined.mapped_port(target)) is not None and target.port is not None:
            source = (joined.mapping(target) or "").partition(":")[2]
            monitors.append(Monitor(port, str(target.address), target.port, target.row.protocol, source, MAC, "online"))
    flows = []
    for row in compilation.changes.rows:
        by_vip: dict[str, list[Target]] = {}
        for target in targets_of(row):
            by_vip.setdefault(target.vip, []).append(target)
        for key, members in by_vip.items():
            vip = split_endpoint(key)
            assert vip is not None
            flows.append(
                Flow("ls_in_lb", vip[0], vip[1], row.protocol, frozenset((t.address, t.port) for t in members))
            )
    return replace(bare, monitors=tuple(monitors), flows=tuple(flows))


def _compiled() -> Compilation:
    return compile_files([SAMPLE])


def _codes(observed: Observed, compilation: Compilation) -> list[tuple[str, str]]:
    return [(f.code, f.backend) for f in diagnose(join(compilation.document, compilation.changes.rows, observed))]


def _statuses(observed: Observed, compilation: Compilation) -> tuple[BackendStatus, ...]:
    return backend_statuses(join(compilation.document, compilation.changes.rows, observed))


def _with_status(observed: Observed, status: str, *ips: str) -> Observed:
    monitors = tuple(replace(m, status=status) if m.ip in ips else m for m in observed.monitors)
    return replace(observed, monitors=monitors)


def test_a_healthy_database_is_clean_and_online() -> None:
    compilation = _compiled()
    observed = _healthy(compilation)
    assert _codes(observed, compilation) == []
    statuses = _statuses(observed, compilation)
    assert [(s.backend, s.state, s.in_flows) for s in statuses] == [
        ("web1", "online", True),
        ("web2", "online", True),
        ("web3", "online", True),
    ]
    assert exit_status(statuses) == 0


def test_after_26_03_an_offline_monitor_may_just_be_new() -> None:
    """OVN after 26.03 starts a new monitor offline ("fail closed"): a note, not a failure."""
    compilation = _compiled()
    for schema, expected in (("7.0.0", "D700"), ("7.18.0", "D700"), ("7.19.0", "D704")):
        observed = _with_status(_healthy(compilation, schema), "offline", "10.135.209.3")
        assert _codes(observed, compilation) == [(expected, "web2")], schema


def test_a_router_ports_address_is_a_probe_source_from_26_03() -> None:
    compilation = _compiled()
    for schema, expected in (("7.0.0", "D301"), ("7.18.0", "D303")):
        observed = _healthy(compilation, schema)
        (found,) = observed.nb.load_balancers
        mappings = {**found.ip_port_mappings, "10.135.209.2": "incus-net49-instance-22be9150-eth0:10.135.209.1"}
        state = replace(observed.nb, load_balancers=(replace(found, ip_port_mappings=mappings),))
        assert _codes(replace(observed, nb=state), compilation) == [(expected, "web1")], schema


def test_the_monitor_mac_missing_or_not_yet_in_the_southbound() -> None:
    compilation = _compiled()
    observed = _healthy(compilation)
    assert _codes(replace(observed, nb_options={}), compilation) == [("D500", "")]
    assert _codes(replace(observed, nb_options={"svc_monitor_mac": "0a:00:00:00:00:01"}), compilation) == [("D501", "")]
    # The same MAC in another spelling is the same MAC.
    assert _codes(replace(observed, nb_options={"svc_monitor_mac": MAC.upper()}), compilation) == []


def test_monitors_missing_waiting_or_all_offline() -> None:
    compilation = _compiled()
    observed = _healthy(compilation)
    assert _codes(replace(observed, monitors=()), compilation) == [("D705", n) for n in ("web1", "web2", "web3")]
    waiting = _with_status(observed, "", "10.135.209.2")
    assert _codes(waiting, compilation) == [("D703", "web1")]
    assert [s.state for s in _statuses(waiting, compilation)] == ["no status yet", "online", "online"]
    down = _with_status(observed, "offline", "10.135.209.2", "10.135.209.3", "10.135.209.4")
    assert sorted(_codes(down, compilation)) == [("D502", ""), ("D700", "web1"), ("D700", "web2"), ("D700", "web3")]


def test_the_summary_names_at_most_five_backends_per_state() -> None:
    statuses = tuple(
        BackendStatus("lb", "10.0.0.1:80", "tcp", f"b{n}", f"10.0.1.{n}:80", Span("lbs.yaml", n, 7), state, False)
        for n, state in enumerate(["offline"] * 7 + ["online", "not health-checked"], start=1)
    )
    assert summary(statuses) == (
        "9 backends: 1 online, 7 offline (b1 at lbs.yaml:1, b2 at lbs.yaml:2, b3 at lbs.yaml:3, b4 at lbs.yaml:4, "
        "b5 at lbs.yaml:5 and 2 more), 1 not health-checked"
    )
    assert exit_status(statuses) == 4
    assert exit_status(statuses[7:]) == 0


@pytest.mark.parametrize(
    ("match", "actions", "expected"),
    [
        # 23.03, switch and router.
        (
            "ct.new && ip4.dst == 10.0.0.10 && tcp.dst == 80",
            "reg0[1] = 0; ct_lb_mark(backends=10.0.0.2:8080,10.0.0.3:8080);",
            ("10.0.0.10", 80, "tcp", {("10.0.0.2", 8080), ("10.0.0.3", 8080)}),
        ),
        (
            "ct.new && !ct.rel && ip6 && ip6.dst == 2001:db8::10 && udp && udp.dst == 53",
            'ct_lb_mark(backends=[fd00::2]:53; hash_fields="ip_dst,ip_src");',
            ("2001:db8::10", 53, "udp", {("fd00::2", 53)}),
        ),
        # The register form of newer releases.
        (
            "ct.new && ip4.dst == 10.0.0.10 && reg1[16..23] == 6 && reg1[0..15] == 80",
            "ct_lb_mark(backends=10.0.0.2:8080);",
            ("10.0.0.10", 80, "tcp", {("10.0.0.2", 8080)}),
        ),
        # Every backend down: no backends at all.
        ("ct.new && ip4.dst == 10.0.0.10 && tcp.dst == 80", "drop;", None),
        # An affinity flow names one backend: not the VIP's.
        (
            "reg9[6] == 1 && ct.new && ip4.dst == 10.0.0.10 && reg4 == 10.0.0.2 && reg8[0..15] == 8080",
            "ct_lb_mark(backends=10.0.0.2:8080);",
            None,
        ),
    ],
)
def test_load_balancing_flows_are_read_in_both_forms(match: str, actions: str, expected: object) -> None:
    flow = parse_flow("ls_in_lb", match, actions)
    if expected is None:
        assert flow is None
        return
    assert flow is not None
    assert (str(flow.vip), flow.port, flow.protocol, {(str(a), p) for a, p in flow.backends}) == expected


def test_a_southbound_value_of_the_wrong_shape_is_named() -> None:
    bad = {"Service_Monitor": {"u1": {"_uuid": ["uuid", "u1"], "logical_port": "p", "ip": 7, "port": 80}}}
    with pytest.raises(ValueError, match="Service_Monitor row u1: ip is 7, not a string"):
        observed_from_tables({}, None, bad)
    bad = {"Port_Binding": {"u2": {"_uuid": ["uuid", "u2"], "logical_port": "p", "up": ["set", [1, 2]]}}}
    with pytest.raises(ValueError, match="Port_Binding row u2: up is"):
        observed_from_tables({}, None, bad)


def test_usage_and_database_failures_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", SAMPLE, "--db", "unix:/x", "--sb", "tcp:host:99999"]) == 2
    assert capsys.readouterr().err == (
        "ovn-lbc: status: --sb: remote 'tcp:host:99999': port 99999 is not between 1 and 65535\n"
    )
    missing = f"unix:{tmp_path}/none.sock"
    assert main(["doctor", SAMPLE, "--db", missing, "--sb", missing]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ovn-lbc: doctor: cannot connect to any remote:")
    assert main(["status", SAMPLE, "--db", missing, "--sb", missing, "--format", "json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert list(report) == ["state", "exit_status", "summary"] and report["state"] == "UNKNOWN"
    assert main(["status", str(tmp_path / "absent.yaml"), "--db", missing, "--sb", missing]) == 1


def test_rows_not_applied_and_a_southbound_that_is_not_one(ovn: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    """Real OVN without a datapath: the topology, no rows yet."""
    build_topology(ovn, compile_files([SAMPLE]).document)
    remotes = ["--db", ovn.nb_remote, "--sb", ovn.sb_remote]
    assert main(["status", SAMPLE, *remotes]) == 4
    out = capsys.readouterr().out
    assert "3 backends: 3 not applied" in out and "`ovn-lbc plan`" in out
    assert main(["doctor", SAMPLE, *remotes, "--format", "json"]) == 4
    (finding,) = json.loads(capsys.readouterr().out)["findings"]
    assert list(finding) == [
        "code",
        "severity",
        "file",
        "line",
        "column",
        "load_balancer",
        "vip",
        "backend",
        "target",
        "message",
        "fix",
    ]
    assert (finding["code"], finding["severity"], finding["line"]) == ("D100", "problem", 18)
    assert main(["status", SAMPLE, "--db", ovn.nb_remote, "--sb", ovn.nb_remote]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "OVN_Southbound" in err
