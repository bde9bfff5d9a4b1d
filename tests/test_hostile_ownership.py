"""Ownership to the letter, on a real OVN: groups ovn-lbc did not create and
health checks a foreign row shares are never changed or deleted.

Load_Balancer_Group has no external_ids, so ovn-lbc marks the groups it
creates in NB_Global's external_ids (``ovn-lbc:group:<name>`` = the group's
_uuid, compiler/plan.py); every path that creates a group writes the mark
in the same transaction: the plan (apply), the DB-blind JSON and the script.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler import compile_files
from compiler.cli import main
from compiler.emit.ovsdb import emit_json
from compiler.lower import group_uuid
from compiler.sandbox import Sandbox, build_topology

from .conftest import SAMPLES
from .helpers import apply_script, dump_table, transact

SAMPLE = SAMPLES / "options-and-group.yaml"
GROUP = "net50-lbs"
MARK = f"ovn-lbc:group:{GROUP}"
HC_SAMPLE = SAMPLES / "ipv4-healthcheck.yaml"
NAME = "incus-net49-lb-10.171.5.10-tcp"


def marks(ovn: Sandbox) -> dict[str, str]:
    rows = dump_table(ovn, "NB_Global")
    ids: dict[str, str] = rows[0]["external_ids"] if rows else {}
    return {key: value for key, value in ids.items() if key.startswith("ovn-lbc:group:")}


def table_json(ovn: Sandbox, table: str) -> str:
    """A table exactly as ovsdb-server holds it, to compare byte for byte."""
    return subprocess.run(
        ["ovsdb-client", "dump", "--format=json", ovn.nb_remote, "OVN_Northbound", table],
        env=ovn.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def hand_made_group(ovn: Sandbox) -> str:
    ovn.nbctl("create", "Load_Balancer_Group", f"name={GROUP}")
    uuid: str = dump_table(ovn, "Load_Balancer_Group")[0]["_uuid"]
    return uuid


# -- groups -----------------------------------------------------------------------


def test_destroy_leaves_a_hand_made_group_of_the_files_name_in_place(
    ovn: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    uuid = hand_made_group(ovn)  # empty, made by hand, with lb_group's name
    pristine = table_json(ovn, "Load_Balancer_Group")

    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    group = dump_table(ovn, "Load_Balancer_Group")[0]
    assert group["_uuid"] == uuid and len(group["load_balancer"]) == 2  # used as it is
    assert marks(ovn) == {}  # and not claimed
    capsys.readouterr()
    assert main(["plan", str(SAMPLE), "--db", ovn.nb_remote, "--destroy"]) == 0
    assert "load balancer group" not in capsys.readouterr().out

    assert main(["destroy", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    assert dump_table(ovn, "Load_Balancer") == []
    assert table_json(ovn, "Load_Balancer_Group") == pristine  # still there, empty again, byte-identical


def test_a_group_ovn_lbc_created_is_marked_and_destroy_removes_group_and_mark(
    ovn: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    capsys.readouterr()
    assert main(["plan", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    assert f'+ mark in NB_Global external_ids "{MARK}" = "{group_uuid(GROUP)}"' in capsys.readouterr().out
    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    group = dump_table(ovn, "Load_Balancer_Group")[0]
    assert group["_uuid"] == group_uuid(GROUP)
    assert marks(ovn) == {MARK: group["_uuid"]}

    assert main(["destroy", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    assert dump_table(ovn, "Load_Balancer_Group") == []
    assert marks(ovn) == {}


def test_a_group_deleted_and_made_again_by_hand_is_no_longer_ovn_lbcs(ovn: Sandbox) -> None:
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    ovn.nbctl("clear", "Logical_Router", "incus-net50-lr", "load_balancer_group")
    for switch in ("incus-net50-ls-int", "clients-a", "clients-b"):
        ovn.nbctl("clear", "Logical_Switch", switch, "load_balancer_group")
    ovn.nbctl("destroy", "Load_Balancer_Group", GROUP)
    uuid = hand_made_group(ovn)  # same name, new _uuid; the old mark stays behind
    assert marks(ovn) == {MARK: group_uuid(GROUP)} and uuid != group_uuid(GROUP)
    pristine = table_json(ovn, "Load_Balancer_Group")

    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    assert dump_table(ovn, "Load_Balancer_Group")[0]["_uuid"] == uuid
    assert main(["destroy", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    assert table_json(ovn, "Load_Balancer_Group") == pristine


def test_the_db_blind_json_and_the_script_mark_the_group_they_create(ovn: Sandbox, tmp_path: Path) -> None:
    """Either way the group is ovn-lbc's: destroy (planned against the
    database) deletes it and its mark, and leaves NB_Global as it was."""
    compilation = compile_files([str(SAMPLE)])
    build_topology(ovn, compilation.document)
    ovn.nbctl("set", "NB_Global", ".", "external_ids:someone=else")  # an NB_Global row, with a key of another tool
    before = dump_table(ovn, "NB_Global")[0]["external_ids"]
    results = transact(ovn, emit_json(compilation.changes, [SAMPLE.name]))
    assert not any(isinstance(r, dict) and "error" in r for r in results), results
    assert marks(ovn) == {MARK: group_uuid(GROUP)}
    assert dump_table(ovn, "Load_Balancer_Group")[0]["_uuid"] == group_uuid(GROUP)
    assert main(["destroy", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    assert dump_table(ovn, "Load_Balancer_Group") == []
    assert dump_table(ovn, "NB_Global")[0]["external_ids"] == before

    with Sandbox(str(tmp_path / "script"), northd=False) as other:  # no NB_Global row at all yet
        build_topology(other, compilation.document)
        apply_script(other, compilation)
        apply_script(other, compilation)  # a re-run finds the group and leaves the mark as it is
        assert marks(other) == {MARK: group_uuid(GROUP)}
        assert main(["destroy", str(SAMPLE), "--db", other.nb_remote]) == 0
        assert dump_table(other, "Load_Balancer_Group") == [] and marks(other) == {}


def test_a_plan_on_a_database_without_nb_global_inserts_it_for_the_mark(ovn: Sandbox, tmp_path: Path) -> None:
    with Sandbox(str(tmp_path / "bare"), northd=False) as bare:
        build_topology(bare, compile_files([str(SAMPLE)]).document)
        assert dump_table(bare, "NB_Global") == []  # nothing has initialised it
        assert main(["apply", str(SAMPLE), "--db", bare.nb_remote]) == 0
        assert marks(bare) == {MARK: group_uuid(GROUP)}
        assert main(["destroy", str(SAMPLE), "--db", bare.nb_remote]) == 0
        assert dump_table(bare, "Load_Balancer_Group") == [] and marks(bare) == {}


# -- health checks a foreign row shares ----------------------------------------------


def _share_our_health_check(ovn: Sandbox) -> tuple[str, str]:
    """A foreign load balancer that refers to ovn-lbc's health check row."""
    ours = next(row for row in dump_table(ovn, "Load_Balancer") if row["name"] == NAME)
    check = ours["health_check"]
    ovn.nbctl("lb-add", "theirs", "10.171.5.10:80", "10.135.209.2:8080", "tcp")
    ovn.nbctl("add", "Load_Balancer", "theirs", "health_check", check)
    return check, table_json(ovn, "Load_Balancer_Health_Check")


def _foreign_check(ovn: Sandbox, uuid: str) -> Any:
    tables = json.loads(table_json(ovn, "Load_Balancer_Health_Check"))
    return [row for row in tables["data"] if row[tables["headings"].index("_uuid")] == ["uuid", uuid]]


def test_a_health_check_a_foreign_row_shares_is_never_changed_ours_gets_its_own(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_topology(ovn, compile_files([str(HC_SAMPLE)]).document)
    assert main(["apply", str(HC_SAMPLE), "--db", ovn.nb_remote]) == 0
    shared, _ = _share_our_health_check(ovn)
    before = _foreign_check(ovn, shared)
    theirs = next(row for row in dump_table(ovn, "Load_Balancer") if row["name"] == "theirs")

    data = yaml.safe_load(HC_SAMPLE.read_text(encoding="utf-8"))
    data["networks"][0]["load_balancers"][0]["config"]["healthcheck.interval"] = "9"
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    capsys.readouterr()
    assert main(["plan", str(edited), "--db", ovn.nb_remote]) == 0
    text = capsys.readouterr().out
    assert f'- health check on "10.171.5.10:80" (_uuid {shared})' in text
    assert '+ health check on "10.171.5.10:80": failure_count=3 interval=9' in text
    assert main(["apply", str(edited), "--db", ovn.nb_remote]) == 0

    assert _foreign_check(ovn, shared) == before  # byte-identical
    assert next(row for row in dump_table(ovn, "Load_Balancer") if row["name"] == "theirs") == theirs
    ours = next(row for row in dump_table(ovn, "Load_Balancer") if row["name"] == NAME)
    assert ours["health_check"] != shared
    checks = {row["_uuid"]: row for row in dump_table(ovn, "Load_Balancer_Health_Check")}
    assert checks[ours["health_check"]]["options"]["interval"] == "9"
    capsys.readouterr()
    assert main(["plan", str(edited), "--db", ovn.nb_remote]) == 0
    assert "No changes." in capsys.readouterr().out

    assert main(["destroy", str(edited), "--db", ovn.nb_remote]) == 0
    assert _foreign_check(ovn, shared) == before
    assert [row["name"] for row in dump_table(ovn, "Load_Balancer")] == ["theirs"]


def test_dropping_a_shared_health_check_leaves_it_to_the_foreign_row(ovn: Sandbox, tmp_path: Path) -> None:
    build_topology(ovn, compile_files([str(HC_SAMPLE)]).document)
    assert main(["apply", str(HC_SAMPLE), "--db", ovn.nb_remote]) == 0
    shared, _ = _share_our_health_check(ovn)
    before = _foreign_check(ovn, shared)
    data = yaml.safe_load(HC_SAMPLE.read_text(encoding="utf-8"))
    data["networks"][0]["load_balancers"][0]["config"]["healthcheck"] = "false"
    for key in ("interval", "timeout", "success_count", "failure_count"):
        del data["networks"][0]["load_balancers"][0]["config"][f"healthcheck.{key}"]
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["apply", str(edited), "--db", ovn.nb_remote]) == 0
    assert _foreign_check(ovn, shared) == before
    ours = next(row for row in dump_table(ovn, "Load_Balancer") if row["name"] == NAME)
    assert ours["health_check"] == []


def test_a_saved_destroy_plan_is_refused_once_the_groups_mark_is_gone(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The plan deletes the group because the mark said ovn-lbc made it: its
    guard makes the whole plan fail, changing nothing, when the mark went."""
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    saved = tmp_path / "destroy.json"
    assert main(["plan", str(SAMPLE), "--db", ovn.nb_remote, "--destroy", "--format", "json", "-o", str(saved)]) == 0
    # The group is no longer marked as ovn-lbc's:
    ovn.nbctl("remove", "NB_Global", ".", "external_ids", json.dumps(MARK))
    before = table_json(ovn, "Load_Balancer_Group")
    capsys.readouterr()
    assert main(["apply", "--plan-file", str(saved), "--db", ovn.nb_remote]) == 3
    err = capsys.readouterr().err
    assert f"ovn-lbc's mark of group '{GROUP}'" in err and "nothing was applied" in err
    assert table_json(ovn, "Load_Balancer_Group") == before
    assert len(dump_table(ovn, "Load_Balancer")) == 2


# -- NAT rows of others, on ovn-lbc's router and beside it ------------------------------------------


FORWARD_SAMPLE = SAMPLES / "forward-and-lb.yaml"


def _foreign_nat(ovn: Sandbox, owned: set[str]) -> tuple[Any, Any]:
    """Every NAT row but ``owned`` exactly as ovsdb-server holds it, and each router's
    other references, by name."""
    tables = json.loads(table_json(ovn, "NAT"))
    uuid_at = tables["headings"].index("_uuid")
    rows = sorted((row for row in tables["data"] if row[uuid_at][1] not in owned), key=lambda row: row[uuid_at][1])
    refs = {}
    for router in dump_table(ovn, "Logical_Router"):
        nat = router["nat"] if isinstance(router["nat"], list) else [router["nat"]]
        refs[router["name"]] = sorted(set(nat) - owned)
    return rows, refs


def _owned_nat(ovn: Sandbox) -> set[str]:
    return {row["_uuid"] for row in dump_table(ovn, "NAT") if row["external_ids"].get("ovn-lbc:network") == "net49"}


def test_nat_rows_of_others_are_never_touched(ovn: Sandbox, tmp_path: Path) -> None:
    """On ovn-lbc's router: a dnat of another address, an snat of the forward's
    own address (Incus pairs one with a NIC's external address), a row another
    ovn-lbc network owns; beside it, a dnat of the forward's address on another
    router. Through apply, a new target, no default target and destroy, each
    stays byte-identical and in its router."""
    build_topology(ovn, compile_files([str(FORWARD_SAMPLE)]).document)
    router = "incus-net49-lr"
    ovn.nbctl("lr-nat-add", router, "dnat", "10.171.5.99", "10.135.209.3")
    ovn.nbctl("lr-nat-add", router, "snat", "10.171.5.20", "10.135.209.9")
    ovn.nbctl("lr-nat-add", router, "dnat", "10.171.5.98", "10.135.209.2")
    other = next(row["_uuid"] for row in dump_table(ovn, "NAT") if row["external_ip"] == "10.171.5.98")
    ovn.nbctl("set", "NAT", other, 'external_ids:"ovn-lbc:network"=net50')
    ovn.nbctl("lr-add", "elsewhere", "--", "lr-nat-add", "elsewhere", "dnat", "10.171.5.20", "10.0.0.9")
    pristine = _foreign_nat(ovn, set())
    assert len(pristine[0]) == 4

    data = yaml.safe_load(FORWARD_SAMPLE.read_text(encoding="utf-8"))
    moved = tmp_path / "moved.yaml"
    data["networks"][0]["forwards"][0]["config"]["target_address"] = "10.135.209.8"
    moved.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    port_only = tmp_path / "port-only.yaml"
    del data["networks"][0]["forwards"][0]["config"]["target_address"]
    port_only.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    for path in (FORWARD_SAMPLE, FORWARD_SAMPLE, moved, port_only, FORWARD_SAMPLE):
        assert main(["apply", str(path), "--db", ovn.nb_remote]) == 0
        assert _foreign_nat(ovn, _owned_nat(ovn)) == pristine, path
    assert len(_owned_nat(ovn)) == 1
    assert main(["destroy", str(FORWARD_SAMPLE), "--db", ovn.nb_remote]) == 0
    assert _owned_nat(ovn) == set() and _foreign_nat(ovn, set()) == pristine
