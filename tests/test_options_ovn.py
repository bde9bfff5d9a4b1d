"""Load_Balancer options, groups and the target release, as a real ovn-northd sees them.

Each option is checked in what northd produces from it: logical flows where
northd turns it into flows (affinity, hash fields, reject, skip_snat), and the
Southbound Load_Balancer row where northd hands it to ovn-controller, which
builds OpenFlow from it (hairpin_snat_ip, ct_flush, neighbor_responder). There
is no ovn-controller here, so OpenFlow itself is out of reach.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler import compile_files
from compiler.apply import apply_compilation
from compiler.cli import main
from compiler.sandbox import Sandbox, build_topology, set_ports_up

from .conftest import SAMPLES
from .helpers import dump_table
from .test_ovn import nb_state

SAMPLE = SAMPLES / "options-and-group.yaml"
POOL = "incus-net50-lb-10.172.0.10-tcp"
FORWARD = "incus-net50-lb-10.172.0.20-tcp"
SWITCH, ROUTER, GROUP = "incus-net50-ls-int", "incus-net50-lr", "net50-lbs"


def apply_sample(ovn: Sandbox, path: Path = SAMPLE) -> Any:
    compilation = compile_files([str(path)])
    build_topology(ovn, compilation.document)
    apply_compilation(compilation, [path.name], ovn.nb_remote, wait="sb")
    return compilation


def flows(ovn: Sandbox, datapath: str, stage: str, needle: str = "") -> list[str]:
    """The logical flows of one pipeline stage (by name: table numbers move between releases)."""
    return [
        line.strip()
        for line in ovn.sbctl("lflow-list", datapath).splitlines()
        if f"({stage} " in line.replace(f"({stage})", f"({stage} ") and needle in line
    ]


def sb_options(ovn: Sandbox, name: str) -> dict[str, str]:
    rows = [row for row in dump_table(ovn, "Load_Balancer", db="sb") if row["name"] == name]
    assert len(rows) == 1, rows
    options: dict[str, str] = rows[0]["options"]
    return options


def test_options_become_northds_flows_and_southbound_options(ovn: Sandbox) -> None:
    apply_sample(ovn)
    # affinity_timeout: northd checks and learns the client's backend, on the switch and the router.
    assert flows(ovn, SWITCH, "ls_in_lb_aff_check", "reg1 == 10.172.0.10 && reg2[0..15] == 80")
    learned = flows(ovn, SWITCH, "ls_in_lb_aff_learn", "commit_lb_aff(")
    assert len(learned) == 2 and all("timeout = 300" in line for line in learned), learned
    assert len(flows(ovn, ROUTER, "lr_in_lb_aff_learn", "commit_lb_aff(")) == 2
    # selection_fields: the hash fields of the backend choice.
    pool = flows(ovn, SWITCH, "ls_in_lb", "ip4.dst == 10.172.0.10 && tcp.dst == 80")
    assert len(pool) == 1 and 'hash_fields="ip_dst,ip_src"' in pool[0], pool
    # skip_snat (on the forward): the router marks its connections to skip lb_force_snat_ip.
    forward = flows(ovn, ROUTER, "lr_in_dnat", "ip4.dst == 10.172.0.20")
    assert len(forward) == 1 and "flags.skip_snat_for_lb = 1" in forward[0] and "skip_snat)" in forward[0]
    # Options ovn-controller acts on reach the Southbound row unchanged.
    pool_options = sb_options(ovn, POOL)
    assert pool_options["hairpin_snat_ip"] == "10.172.0.250"
    assert pool_options["ct_flush"] == "true"
    assert pool_options["affinity_timeout"] == "300"
    assert sb_options(ovn, FORWARD)["neighbor_responder"] == "all"
    assert "hairpin_snat_ip" not in sb_options(ovn, FORWARD)


def _all_backends_offline(ovn: Sandbox, compilation: Any) -> None:
    set_ports_up(ovn, [p.name for n in compilation.document.networks for p in n.switch_ports])
    ovn.sync()
    monitors = dump_table(ovn, "Service_Monitor", db="sb")
    assert len(monitors) == 2
    for monitor in monitors:
        ovn.sbctl("set", "Service_Monitor", monitor["_uuid"], "status=offline")
    ovn.sync()


@pytest.mark.parametrize("reject", [True, False])
def test_reject_answers_once_every_backend_is_offline(ovn: Sandbox, tmp_path: Path, reject: bool) -> None:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    if not reject:
        del data["networks"][0]["load_balancers"][0]["config"]["reject"]
    path = tmp_path / "pool.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    compilation = apply_sample(ovn, path)
    before = flows(ovn, SWITCH, "ls_in_lb", "ip4.dst == 10.172.0.10 && tcp.dst == 80")
    assert len(before) == 1 and "ct_lb_mark(backends=10.140.0.2:8080,10.140.0.3:8080" in before[0]

    _all_backends_offline(ovn, compilation)
    for datapath, stage in ((SWITCH, "ls_in_lb"), (ROUTER, "lr_in_dnat")):
        after = flows(ovn, datapath, stage, "ip4.dst == 10.172.0.10")
        assert len(after) == 1, after
        assert "ct_lb_mark" not in after[0]
        # With reject the client gets a TCP reset; without, the packet is dropped.
        assert ("reject {" in after[0]) is reject and ("drop;" in after[0]) is not reject, after[0]


def test_a_group_carries_the_rows_to_every_datapath_and_destroy_removes_it(
    ovn: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    compilation = apply_sample(ovn)
    groups = dump_table(ovn, "Load_Balancer_Group")
    assert [g["name"] for g in groups] == [GROUP]
    state = nb_state(ovn)
    assert sorted(groups[0]["load_balancer"]) == sorted(state[name]["uuid"] for name in (POOL, FORWARD))
    # Each row reaches every datapath through the group, none directly.
    expected = sorted(f"{table}:{name} via {GROUP}" for table, name in compilation.document.networks[0].datapaths())
    assert state[POOL]["attached"] == state[FORWARD]["attached"] == expected
    assert len(expected) == 4  # router, switch and the two clients' switches
    # A client's switch gets the VIP's flows although no row is attached to it.
    assert flows(ovn, "clients-b", "ls_in_lb", "ip4.dst == 10.172.0.10 && tcp.dst == 80")

    assert main(["destroy", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    assert dump_table(ovn, "Load_Balancer") == []
    assert dump_table(ovn, "Load_Balancer_Group") == []
    for table in ("Logical_Switch", "Logical_Router"):
        assert all(row["load_balancer_group"] == [] for row in dump_table(ovn, table))


def test_a_group_that_is_not_only_ovn_lbcs_keeps_its_other_members(
    ovn: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    compilation = compile_files([str(SAMPLE)])
    build_topology(ovn, compilation.document)
    # Someone else's group of that name, with their load balancer in it.
    ovn.nbctl("lb-add", "theirs", "192.0.2.99:80", "10.140.0.9:80", "tcp")
    ovn.nbctl("create", "Load_Balancer_Group", f"name={GROUP}")
    ovn.nbctl(
        "--id=@lb", "get", "Load_Balancer", "theirs", "--", "add", "Load_Balancer_Group", GROUP, "load_balancer", "@lb"
    )
    theirs = nb_state(ovn)["theirs"]["uuid"]

    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    members = dump_table(ovn, "Load_Balancer_Group")[0]["load_balancer"]
    assert theirs in members and len(members) == 3

    assert main(["destroy", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    groups = dump_table(ovn, "Load_Balancer_Group")
    assert [(g["name"], g["load_balancer"]) for g in groups] == [(GROUP, theirs)]  # one member: a bare atom
    assert set(nb_state(ovn)) == {"theirs"}


def test_the_databases_release_bounds_the_target(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """This machine's OVN is 23.03 (NB schema 7.0.0): a file may say it runs
    23.03.1 (a schema does not tell patch releases apart), not 25.03."""
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    build_topology(ovn, compile_files([str(SAMPLE)]).document)

    data["target_ovn"] = "25.03"
    pool = data["networks"][0]["load_balancers"][0]
    pool["config"]["use_stateless_nat"] = "true"
    newer = tmp_path / "newer.yaml"
    newer.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["check", str(newer)]) == 0  # fine for a 25.03 site ...
    capsys.readouterr()
    assert main(["plan", str(newer), "--db", ovn.nb_remote]) == 1  # ... not for this database
    err = capsys.readouterr().err
    assert "error[E319]: use_stateless_nat needs OVN 25.03 or later; the target is OVN 23.03" in err
    assert "the database: its NB schema 7.0.0 is OVN 23.03's" in err

    del pool["config"]["use_stateless_nat"]
    del data["target_ovn"]  # nobody says 23.03.1, and the schema says only 23.03: no ct_flush
    undeclared = tmp_path / "undeclared.yaml"
    undeclared.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["apply", str(undeclared), "--db", ovn.nb_remote]) == 1
    assert "ct_flush needs OVN 23.03.1, or 23.06 or later" in capsys.readouterr().err
    assert dump_table(ovn, "Load_Balancer") == []
    # Declared on the command line, it applies.
    assert main(["apply", str(undeclared), "--db", ovn.nb_remote, "--ovn-version", "23.03.1"]) == 0
    assert {row["name"] for row in dump_table(ovn, "Load_Balancer")} == {POOL, FORWARD}
