"""The compiled scripts on a real OVN: NB rows, SB Service_Monitors, logical flows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler import compile_files
from compiler.emit import nbctl
from compiler.sandbox import Sandbox, build_topology, set_ports_up

from .conftest import SAMPLES, sample_paths
from .helpers import apply_script, compile_text, dump_table, lb_flows


def nb_state(ovn: Sandbox) -> dict[str, Any]:
    """Every Load_Balancer by name, health checks inlined, attachments by name;
    and every router's NAT row as "NAT <type> <external_ip> on <router>" (as
    lower.NatRow.name calls it), since NAT rows have no name.

    UUIDs differ from run to run; names and contents are what must match.
    """
    checks = {row["_uuid"]: row for row in dump_table(ovn, "Load_Balancer_Health_Check")}
    state: dict[str, Any] = {}
    for row in dump_table(ovn, "Load_Balancer"):
        hc = row["health_check"] if isinstance(row["health_check"], list) else [row["health_check"]]
        state[row["name"]] = {
            "protocol": row["protocol"],
            "vips": row["vips"],
            "ip_port_mappings": row["ip_port_mappings"],
            "external_ids": row["external_ids"],
            "options": row["options"],
            "selection_fields": _refs(row["selection_fields"]),
            "health_checks": sorted((checks[u]["vip"], json.dumps(checks[u]["options"], sort_keys=True)) for u in hc),
            "uuid": row["_uuid"],
        }
    by_uuid = {lb["uuid"]: lb for lb in state.values()}
    for lb in state.values():
        lb["attached"] = []
    groups = {row["_uuid"]: row for row in dump_table(ovn, "Load_Balancer_Group")}
    for table in ("Logical_Router", "Logical_Switch"):
        for datapath in dump_table(ovn, table):
            where = f"{table}:{datapath['name']}"
            for uuid in _refs(datapath["load_balancer"]):
                if uuid in by_uuid:
                    by_uuid[uuid]["attached"].append(where)
            for group in _refs(datapath["load_balancer_group"]):
                for uuid in _refs(groups[group]["load_balancer"]):
                    if uuid in by_uuid:
                        by_uuid[uuid]["attached"].append(f"{where} via {groups[group]['name']}")
    for lb in state.values():
        lb["attached"].sort()
    nats = {row["_uuid"]: row for row in dump_table(ovn, "NAT")}
    for router in dump_table(ovn, "Logical_Router"):
        for uuid in _refs(router["nat"]):
            nat = nats[uuid]
            state[f"NAT {nat['type']} {nat['external_ip']} on {router['name']}"] = {
                column: nat[column] for column in ("logical_ip", "options", "external_ids", "logical_port")
            } | {"uuid": uuid}
    return state


def _refs(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def without_uuids(state: dict[str, Any]) -> dict[str, Any]:
    return {name: {k: v for k, v in row.items() if k != "uuid"} for name, row in state.items()}


def applied(ovn: Sandbox, sample: Path) -> Any:
    compilation = compile_files([str(sample)])
    build_topology(ovn, compilation.document)
    apply_script(ovn, compilation)
    return compilation


@pytest.mark.parametrize("sample", sample_paths(), ids=lambda p: p.name)
def test_sample_rows_are_what_the_compiler_meant(ovn: Sandbox, sample: Path) -> None:
    compilation = applied(ovn, sample)
    state = nb_state(ovn)
    assert set(state) == {row.name for row in compilation.changes.rows} | {n.name for n in compilation.changes.nats}
    for nat in compilation.changes.nats:
        got = state[nat.name]
        assert (got["logical_ip"], got["options"]) == (nat.logical_ip, dict(nat.options))
        assert got["external_ids"] == dict(nat.external_ids) and got["logical_port"] == []
    for row in compilation.changes.rows:
        got = state[row.name]
        assert got["protocol"] == row.protocol
        assert got["vips"] == dict(row.vips)
        assert got["ip_port_mappings"] == dict(row.ip_port_mappings)
        assert got["external_ids"] == dict(row.external_ids)
        # northd matches a health check to its VIP by strcmp: every check's vip
        # must be a vips key (a row may check some VIPs only: a pool's, LXD's way).
        assert [vip for vip, _ in got["health_checks"]] == sorted(check.vip for check in row.health_checks)
        assert {vip for vip, _ in got["health_checks"]} <= set(got["vips"])
        via = f" via {row.group}" if row.group is not None else ""
        datapaths = {group.name: group.datapaths for group in compilation.changes.groups}.get(row.group, row.datapaths)
        assert got["attached"] == sorted(f"{table}:{name}{via}" for table, name in datapaths)
        assert got["options"] == dict(row.options)
        assert sorted(got["selection_fields"]) == list(row.selection_fields)


@pytest.mark.parametrize("sample", sample_paths(), ids=lambda p: p.name)
def test_running_the_script_twice_changes_nothing(ovn: Sandbox, sample: Path) -> None:
    compilation = applied(ovn, sample)
    first = nb_state(ovn)
    first_checks = len(dump_table(ovn, "Load_Balancer_Health_Check"))
    apply_script(ovn, compilation)
    again = nb_state(ovn)
    # Same rows, no duplicates; the same UUIDs but for NAT rows, which the
    # script makes again (a NAT row has no name to find it by).
    assert without_uuids(again) == without_uuids(first)
    assert {k: v for k, v in again.items() if not k.startswith("NAT ")} == {
        k: v for k, v in first.items() if not k.startswith("NAT ")
    }
    assert len(dump_table(ovn, "Load_Balancer_Health_Check")) == first_checks
    assert len(dump_table(ovn, "NAT")) == len(compilation.changes.nats)


def test_ipv4_pool_is_what_incus_creates(ovn: Sandbox) -> None:
    applied(ovn, SAMPLES / "ipv4-healthcheck.yaml")
    state = nb_state(ovn)
    row = state["incus-net49-lb-10.171.5.10-tcp"]
    assert row["vips"] == {"10.171.5.10:80": "10.135.209.2:8080,10.135.209.3:8080,10.135.209.4:8080"}
    assert row["health_checks"] == [
        (
            "10.171.5.10:80",
            json.dumps({"failure_count": "3", "interval": "5", "success_count": "3", "timeout": "20"}),
        )
    ]
    assert row["ip_port_mappings"] == {
        "10.135.209.2": "incus-net49-instance-22be9150-eth0:10.135.209.254",
        "10.135.209.3": "incus-net49-instance-5c3e8a41-eth0:10.135.209.254",
        "10.135.209.4": "incus-net49-instance-9f1d7b20-eth0:10.135.209.254",
    }
    assert row["external_ids"]["ovn-lbc:network"] == "net49"
    assert row["external_ids"]["ovn-lbc:user.team"] == "infra"


def _monitors(ovn: Sandbox) -> set[tuple[str, str, int, str, str]]:
    return {
        (m["logical_port"], m["ip"], m["port"], m["protocol"], m["src_ip"])
        for m in dump_table(ovn, "Service_Monitor", db="sb")
    }


def _set_monitor_status(ovn: Sandbox, ip: str, status: str) -> None:
    for uuid in ovn.sbctl("--bare", "--columns=_uuid", "find", "Service_Monitor", f'ip="{ip}"').split():
        ovn.sbctl("set", "Service_Monitor", uuid, f"status={status}")
    ovn.sync()


def test_health_checks_reach_northd_and_offline_backends_leave(ovn: Sandbox) -> None:
    compilation = applied(ovn, SAMPLES / "ipv4-healthcheck.yaml")
    set_ports_up(ovn, [p.name for p in compilation.document.networks[0].switch_ports])
    ovn.sync()
    assert _monitors(ovn) == {
        ("incus-net49-instance-22be9150-eth0", "10.135.209.2", 8080, "tcp", "10.135.209.254"),
        ("incus-net49-instance-5c3e8a41-eth0", "10.135.209.3", 8080, "tcp", "10.135.209.254"),
        ("incus-net49-instance-9f1d7b20-eth0", "10.135.209.4", 8080, "tcp", "10.135.209.254"),
    }
    everyone = "ct_lb_mark(backends=10.135.209.2:8080,10.135.209.3:8080,10.135.209.4:8080)"
    assert any(everyone in flow for flow in lb_flows(ovn, "incus-net49-ls-int"))

    _set_monitor_status(ovn, "10.135.209.3", "offline")
    flows = lb_flows(ovn, "incus-net49-ls-int")
    assert any("ct_lb_mark(backends=10.135.209.2:8080,10.135.209.4:8080)" in f for f in flows), flows
    assert not any("10.135.209.3:8080" in f for f in flows)

    _set_monitor_status(ovn, "10.135.209.3", "online")
    assert any(everyone in flow for flow in lb_flows(ovn, "incus-net49-ls-int"))


def test_ipv6_health_checks_use_the_eui64_source(ovn: Sandbox) -> None:
    compilation = applied(ovn, SAMPLES / "ipv6-healthcheck.yaml")
    set_ports_up(ovn, [p.name for p in compilation.document.networks[0].switch_ports])
    ovn.sync()
    source = "fd42:1:2:3:75:b9ff:fe2e:adf4"
    assert _monitors(ovn) == {
        (port, ip, 53, protocol, source)
        for port, ip in (
            ("incus-net50-instance-a1-eth0", "fd42:1:2:3::2"),
            ("incus-net50-instance-a2-eth0", "fd42:1:2:3::3"),
        )
        for protocol in ("tcp", "udp")
    }
    state = nb_state(ovn)
    assert state["incus-net50-lb-2001:db8:0:100::10-udp"]["ip_port_mappings"] == {
        "[fd42:1:2:3::2]": f"incus-net50-instance-a1-eth0:[{source}]",
        "[fd42:1:2:3::3]": f"incus-net50-instance-a2-eth0:[{source}]",
    }
    flows = lb_flows(ovn, "incus-net50-ls-int")
    assert any("udp.dst == 53" in f and "backends=[fd42:1:2:3::2]:53,[fd42:1:2:3::3]:53" in f for f in flows)

    _set_monitor_status(ovn, "fd42:1:2:3::2", "offline")
    flows = lb_flows(ovn, "incus-net50-ls-int")
    assert any("backends=[fd42:1:2:3::3]:53)" in f for f in flows), flows
    assert not any("[fd42:1:2:3::2]:53" in f for f in flows)


def test_forward_beside_load_balancer(ovn: Sandbox) -> None:
    applied(ovn, SAMPLES / "forward-and-lb.yaml")
    state = nb_state(ovn)
    # The port entry is a VIP of the tcp row; the default target a dnat NAT
    # row on the router, as Incus writes it since July 2026: no udp row, no
    # port-less VIP.
    assert state["incus-net49-lb-10.171.5.20-tcp"]["vips"] == {"10.171.5.20:443": "10.135.209.2:8443"}
    assert "incus-net49-lb-10.171.5.20-udp" not in state
    assert state["incus-net49-lb-10.171.5.20-tcp"]["health_checks"] == []
    nat = state["NAT dnat 10.171.5.20 on incus-net49-lr"]
    assert (nat["logical_ip"], nat["options"]) == ("10.135.209.9", {"stateless": "false"})
    assert nat["external_ids"] == {"ovn-lbc:kind": "forward", "ovn-lbc:network": "net49"}
    flows = lb_flows(ovn, "incus-net49-ls-int")
    assert any("ip4.dst == 10.171.5.20 && tcp.dst == 443" in f and "backends=10.135.209.2:8443" in f for f in flows)
    assert not any("backends=10.135.209.9" in f for f in flows), flows
    # The sandbox gave the router an uplink whose gateway port makes the row take effect.
    dnat = [line for line in ovn.sbctl("lflow-list", "incus-net49-lr").splitlines() if "ct_dnat_in_czone" in line]
    assert any('ip4.dst == 10.171.5.20 && inport == "incus-net49-lr-lrp-ext"' in line for line in dnat), dnat


def test_port_ranges_follow_lxd_target_port_rules(ovn: Sandbox) -> None:
    applied(ovn, SAMPLES / "port-ranges.json")
    state = nb_state(ovn)
    tcp = state["incus-net51-lb-10.171.5.30-tcp"]["vips"]
    assert len(tcp) == 6
    assert tcp["10.171.5.30:80"] == "10.20.0.2:80,10.20.0.3:9000,10.20.0.4:7080"
    assert tcp["10.171.5.30:443"] == "10.20.0.2:443,10.20.0.3:9000,10.20.0.4:7443"
    assert tcp["10.171.5.30:8003"] == "10.20.0.2:8003,10.20.0.3:9000,10.20.0.4:9103"
    udp = state["incus-net51-lb-10.171.5.30-udp"]["vips"]
    assert udp["10.171.5.30:27015"] == "10.20.0.2:27015,10.20.0.3:9000,10.20.0.4:7080"
    assert udp["10.171.5.30:27020"] == "10.20.0.2:27020,10.20.0.3:9000,10.20.0.4:9103"


NASTY = "quote\" apostrophe' $(touch {marker}) `touch {marker}` back\\slash\nnew line\ttab é ✓ ${{HOME}} *"


def test_any_string_is_stored_byte_exact_and_never_executed(ovn: Sandbox, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    nasty = NASTY.format(marker=marker)
    text = (SAMPLES / "ipv4-healthcheck.yaml").read_text()
    text = text.replace("description: web pool", f"description: {json.dumps(nasty)}")
    text = text.replace("user.team: infra", f"user.team: {json.dumps(nasty)}")
    compilation = compile_text(tmp_path, text)
    build_topology(ovn, compilation.document)
    apply_script(ovn, compilation)
    ids = nb_state(ovn)["incus-net49-lb-10.171.5.10-tcp"]["external_ids"]
    assert ids["ovn-lbc:description"] == nasty
    assert ids["ovn-lbc:user.team"] == nasty
    assert not marker.exists()


def test_split_transactions_give_the_same_rows(ovn: Sandbox, tmp_path: Path) -> None:
    compilation = compile_files([str(SAMPLES / "forward-and-lb.yaml")])
    script = nbctl.emit_nbctl(compilation.changes, ["forward-and-lb.yaml"], budget=500)
    assert script.count('ovn-nbctl "$@"') == len(compilation.changes.rows) + len(compilation.changes.nats)
    assert "Split here" in script
    build_topology(ovn, compilation.document)
    result = ovn.run_script(script)
    assert result.returncode == 0, result.stderr
    split_state = without_uuids(nb_state(ovn))

    with Sandbox(str(tmp_path / "other"), northd=False) as other:
        build_topology(other, compilation.document)
        apply_script(other, compilation)
        assert without_uuids(nb_state(other)) == split_state


def test_database_depends_only_on_meaning(ovn: Sandbox, tmp_path: Path) -> None:
    """The same document as YAML and as reformatted JSON, under other names."""
    source = SAMPLES / "forward-and-lb.yaml"
    as_json = tmp_path / "elsewhere" / "renamed.json"
    as_json.parent.mkdir()
    as_json.write_text(json.dumps(yaml.safe_load(source.read_text()), indent=7, sort_keys=True))
    applied(ovn, source)
    yaml_state = without_uuids(nb_state(ovn))
    with Sandbox(str(tmp_path / "other"), northd=False) as other:
        compilation = compile_files([str(as_json)])
        build_topology(other, compilation.document)
        apply_script(other, compilation, [str(as_json)])
        assert without_uuids(nb_state(other)) == yaml_state


def test_missing_router_fails_and_writes_nothing(ovn: Sandbox) -> None:
    compilation = compile_files([str(SAMPLES / "forward-and-lb.yaml")])
    ovn.nbctl("ls-add", "incus-net49-ls-int")  # the switch exists, the router does not
    result = ovn.run_script(nbctl.emit_nbctl(compilation.changes, ["x"]))
    assert result.returncode != 0
    assert "incus-net49-lr" in result.stderr
    assert dump_table(ovn, "Load_Balancer") == []
    assert dump_table(ovn, "Load_Balancer_Health_Check") == []
