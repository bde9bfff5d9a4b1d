"""`ovn-lbc plan`, incremental `apply`, ownership and `destroy` on a real OVN."""

from __future__ import annotations

import copy
import json
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler import compile_files
from compiler.cli import main
from compiler.diagnostics import Diagnostic
from compiler.emit.ovsdb import build_plan_transaction
from compiler.emit.plan_json import plan_document
from compiler.emit.plan_text import render_plan
from compiler.ovsdb.dumps import tables_from_dump
from compiler.ovsdb.state import DbDatapath, DbLoadBalancer, NorthboundState
from compiler.plan import Plan, make_plan
from compiler.sandbox import Sandbox, build_topology, set_ports_up
from compiler.saved_plan import saved_plan_problem

from .conftest import SAMPLES, sample_paths
from .helpers import dump_table, lb_flows, nb_dump
from .test_ovn import nb_state, without_uuids

NAME = "incus-net49-lb-10.171.5.10-tcp"
OWNER = "ovn-lbc:network"


def load(sample: str) -> Any:
    return yaml.safe_load((SAMPLES / sample).read_text(encoding="utf-8"))


def write(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def plan_json(ovn: Sandbox, path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[Any]:
    capsys.readouterr()
    assert main(["plan", str(path), "--db", ovn.nb_remote, "--format", "json", *extra]) == 0
    params: list[Any] = json.loads(capsys.readouterr().out)
    return params


def plan_text(ovn: Sandbox, path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    capsys.readouterr()
    assert main(["plan", str(path), "--db", ovn.nb_remote, *extra]) == 0
    return capsys.readouterr().out


def operations(params: list[Any]) -> Counter[tuple[str, str]]:
    """The writes of a transaction: (op, table), not counting comment and wait."""
    return Counter((op["op"], op["table"]) for op in params[1:] if op["op"] not in ("comment", "wait"))


def uuids_by_name(ovn: Sandbox) -> dict[str, str]:
    return {row["name"]: row["_uuid"] for row in dump_table(ovn, "Load_Balancer")}


# -- apply, then plan: nothing to do -------------------------------------------------


@pytest.mark.parametrize("sample", sample_paths() + sorted(SAMPLES.glob("*.lb")), ids=lambda p: p.name)
def test_after_apply_the_plan_is_no_changes(ovn: Sandbox, sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    build_topology(ovn, compile_files([str(sample)]).document)
    assert "to add, 0 to change, 0 to remove." in plan_text(ovn, sample, capsys)
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    text = plan_text(ovn, sample, capsys)
    assert "No changes." in text and "+" not in text and "~" not in text
    assert plan_json(ovn, sample, capsys) == ["OVN_Northbound"]


# -- every kind of edit: the minimal transaction, and the rows a fresh apply gives ------------


def _lb(data: Any) -> Any:
    return data["networks"][0]["load_balancers"][0]


def _edit_backend_port(data: Any) -> None:
    _lb(data)["backends"][0]["target_port"] = "8081"


def _edit_backend_address(data: Any) -> None:
    # The address moves, and its switch port with it: the VIP and the mapping change.
    _lb(data)["backends"][2]["target_address"] = "10.135.209.5"
    data["networks"][0]["switch_ports"][2]["addresses"] = ["10.135.209.5"]


def _edit_interval(data: Any) -> None:
    _lb(data)["config"]["healthcheck.interval"] = "7"


def _edit_description(data: Any) -> None:
    _lb(data)["description"] = "web pool, now with TLS"


def _edit_user_key(data: Any) -> None:
    _lb(data)["config"]["user.team"] = "ops"
    _lb(data)["config"]["user.ticket"] = "OPS-7"


def _add_port(data: Any) -> None:
    _lb(data)["ports"].append({"protocol": "tcp", "listen_port": "443", "target_backend": ["web1", "web2"]})


def _add_udp_port(data: Any) -> None:
    _lb(data)["ports"].append({"protocol": "udp", "listen_port": "53", "target_backend": ["web1"]})


def _remove_backend(data: Any) -> None:
    del _lb(data)["backends"][2]
    _lb(data)["ports"][0]["target_backend"] = ["web1", "web2"]


def _health_check_off(data: Any) -> None:
    config = _lb(data)["config"]
    for key in [k for k in config if k.startswith("healthcheck")]:
        del config[key]


def _add_load_balancer(data: Any) -> None:
    second = copy.deepcopy(_lb(data))
    second["listen_address"] = "10.171.5.11"
    data["networks"][0]["load_balancers"].append(second)


def _remove_load_balancer(data: Any) -> None:
    data["networks"][0]["load_balancers"] = []
    data["networks"][0]["forwards"] = [{"listen_address": "10.171.5.20", "config": {"target_address": "10.135.209.9"}}]


def _remove_every_port(data: Any) -> None:
    # What `incus network load-balancer port remove` leaves: a load balancer with no ports, no row.
    _lb(data)["ports"] = []


def _affinity(data: Any) -> None:
    _lb(data)["config"]["affinity_timeout"] = "60"


def _selection_fields(data: Any) -> None:
    _lb(data)["config"]["selection_fields"] = "ip_src,tp_src"


def _attach_switch(data: Any) -> None:
    data["networks"][0]["attach_switches"] = ["clients"]


def _lb_group(data: Any) -> None:
    data["networks"][0]["lb_group"] = "web-group"


def _probe_source(data: Any) -> None:
    data["networks"][0]["probe_source"] = {"ipv4": "10.135.209.200"}


EDITS: dict[str, tuple[Callable[[Any], None], dict[tuple[str, str], int]]] = {
    "affinity-timeout": (_affinity, {("mutate", "Load_Balancer"): 1}),
    "selection-fields": (_selection_fields, {("update", "Load_Balancer"): 1}),
    "attach-switch": (_attach_switch, {("mutate", "Logical_Switch"): 1}),
    # The group is made and attached; the row joins it and leaves the
    # datapaths it reached directly (one mutate each does both); NB_Global
    # records that ovn-lbc made the group (the group itself has no external_ids).
    "lb-group": (
        _lb_group,
        {
            ("insert", "Load_Balancer_Group"): 1,
            ("mutate", "Logical_Router"): 1,
            ("mutate", "Logical_Switch"): 1,
            ("mutate", "NB_Global"): 1,
        },
    ),
    "backend-port": (_edit_backend_port, {("mutate", "Load_Balancer"): 1}),
    # Only the ip_port_mappings values change: the health checks stay as they are.
    "probe-source": (_probe_source, {("mutate", "Load_Balancer"): 1}),
    "backend-address": (_edit_backend_address, {("mutate", "Load_Balancer"): 1}),
    "health-check-interval": (_edit_interval, {("mutate", "Load_Balancer_Health_Check"): 1}),
    "description": (_edit_description, {("mutate", "Load_Balancer"): 1}),
    "user-keys": (_edit_user_key, {("mutate", "Load_Balancer"): 1}),
    "add-port": (_add_port, {("insert", "Load_Balancer_Health_Check"): 1, ("mutate", "Load_Balancer"): 1}),
    "remove-backend": (_remove_backend, {("mutate", "Load_Balancer"): 1}),
    "health-check-off": (_health_check_off, {("mutate", "Load_Balancer"): 1}),
    "add-udp-port": (
        _add_udp_port,
        {
            ("insert", "Load_Balancer"): 1,
            ("insert", "Load_Balancer_Health_Check"): 1,
            ("mutate", "Logical_Router"): 1,
            ("mutate", "Logical_Switch"): 1,
        },
    ),
    "add-load-balancer": (
        _add_load_balancer,
        {
            ("insert", "Load_Balancer"): 1,
            ("insert", "Load_Balancer_Health_Check"): 1,
            ("mutate", "Logical_Router"): 1,
            ("mutate", "Logical_Switch"): 1,
        },
    ),
    "remove-every-port": (_remove_every_port, {("delete", "Load_Balancer"): 1}),
    # A forward with only a default target: no Load_Balancer row, a dnat NAT
    # row in the router's nat (and the deleted row's weak references go by themselves).
    "replace-load-balancer-by-forward": (
        _remove_load_balancer,
        {("delete", "Load_Balancer"): 1, ("insert", "NAT"): 1, ("mutate", "Logical_Router"): 1},
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_each_edit_gives_the_minimal_transaction_and_the_rows_of_a_fresh_apply(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: str
) -> None:
    change, expected = EDITS[edit]
    original = write(tmp_path / "original.yaml", load("ipv4-healthcheck.yaml"))
    data = load("ipv4-healthcheck.yaml")
    change(data)
    edited = write(tmp_path / "edited.yaml", data)
    build_topology(ovn, compile_files([str(edited)]).document)  # with any switch the edit attaches to
    assert main(["apply", str(original), "--db", ovn.nb_remote]) == 0
    before = uuids_by_name(ovn)

    assert operations(plan_json(ovn, edited, capsys)) == Counter(expected)
    assert main(["apply", str(edited), "--db", ovn.nb_remote]) == 0

    # The same rows as applying the edited file to an empty database ...
    with Sandbox(str(tmp_path / "fresh"), northd=False) as fresh:
        build_topology(fresh, compile_files([str(edited)]).document)
        assert main(["apply", str(edited), "--db", fresh.nb_remote]) == 0
        assert without_uuids(nb_state(ovn)) == without_uuids(nb_state(fresh))
    # ... the rows that stayed kept their UUIDs, no health check is orphaned,
    after = uuids_by_name(ovn)
    assert all(after[name] == uuid for name, uuid in before.items() if name in after)
    referenced = {u for row in dump_table(ovn, "Load_Balancer") for u in _as_list(row["health_check"])}
    assert {row["_uuid"] for row in dump_table(ovn, "Load_Balancer_Health_Check")} == referenced
    # ... and there is nothing left to do.
    assert "No changes." in plan_text(ovn, edited, capsys)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_plan_shows_before_and_after(ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    data = load("ipv4-healthcheck.yaml")
    _edit_backend_port(data)
    _edit_interval(data)
    text = plan_text(ovn, write(tmp_path / "edited.yaml", data), capsys)
    assert "network net49 (router incus-net49-lr, switch incus-net49-ls-int)" in text
    assert f"  ~ load balancer {NAME}  ({tmp_path / 'edited.yaml'}:" in text
    assert (
        '      ~ vip "10.171.5.10:80": "10.135.209.2:8080,10.135.209.3:8080,10.135.209.4:8080"'
        ' => "10.135.209.2:8081,10.135.209.3:8080,10.135.209.4:8080"'
    ) in text
    assert '      ~ health check on "10.171.5.10:80"\n          ~ option "interval": "5" => "7"' in text
    assert text.endswith("Plan: 0 to add, 1 to change, 0 to remove.\n")


def test_a_new_probe_source_changes_only_the_mappings_and_the_plan_says_which(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    data = load("ipv4-healthcheck.yaml")
    _probe_source(data)
    text = plan_text(ovn, write(tmp_path / "edited.yaml", data), capsys)
    section = text.split("\n\n")[1].splitlines()
    assert section[:2] == [
        "network net49 (router incus-net49-lr, switch incus-net49-ls-int)",
        "  probe source: ipv4 10.135.209.200 (given)",
    ]
    assert section[2].startswith(f"  ~ load balancer {NAME}  ({tmp_path / 'edited.yaml'}:")
    assert section[3:] == [
        f'      ~ mapping "10.135.209.{n}": "{port}:10.135.209.254" => "{port}:10.135.209.200"'
        for n, port in (
            (2, "incus-net49-instance-22be9150-eth0"),
            (3, "incus-net49-instance-5c3e8a41-eth0"),
            (4, "incus-net49-instance-9f1d7b20-eth0"),
        )
    ]
    assert text.endswith("Plan: 0 to add, 1 to change, 0 to remove.\n")
    # The default choice is named too, whenever the network's section is shown.
    _edit_interval(data := load("ipv4-healthcheck.yaml"))
    assert "  probe source: ipv4 10.135.209.254 (last)\n" in plan_text(ovn, write(tmp_path / "e2.yaml", data), capsys)


# -- foreign rows are never touched ---------------------------------------------------------


def _owned(row: dict[str, Any], network: str = "net49") -> bool:
    ids = row.get("external_ids")
    return isinstance(ids, list) and [OWNER, network] in ids[1]


def outside_owned_rows(dump: str) -> Any:
    """The dump without net49's rows, and without references to them."""
    tables = tables_from_dump(dump)
    owned = {
        uuid
        for table in ("Load_Balancer", "Load_Balancer_Health_Check", "NAT")
        for uuid, row in tables[table].items()
        if _owned(row)
    }
    return {
        table: {
            uuid: {column: _without(value, owned) for column, value in row.items()}
            for uuid, row in rows.items()
            if uuid not in owned
        }
        for table, rows in tables.items()
    }


def _without(value: Any, owned: set[str]) -> Any:
    if isinstance(value, list) and len(value) == 2 and value[0] == "set":
        kept = [item for item in value[1] if not (isinstance(item, list) and item[1:] and item[1] in owned)]
        return kept[0] if len(kept) == 1 else ["set", kept]  # OVSDB writes a one-element set bare
    if isinstance(value, list) and len(value) == 2 and value[0] == "uuid" and value[1] in owned:
        return ["set", []]
    return value


def test_foreign_rows_stay_byte_identical_through_apply_edit_and_destroy(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "forward-and-lb.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    ovn.nbctl("lb-add", "foreign-lb", "192.0.2.1:80", "10.0.0.1:80")
    ovn.nbctl("ls-lb-add", "incus-net49-ls-int", "foreign-lb")  # on our switch
    ovn.nbctl("lr-lb-add", "incus-net49-lr", "foreign-lb")
    ovn.nbctl("ls-add", "other-ls", "--", "ls-lb-add", "other-ls", "foreign-lb")
    ovn.nbctl(
        "lb-add", "foreign-hc", "192.0.2.2:80", "10.0.0.2:80",
        "--", "--id=@hc", "create", "Load_Balancer_Health_Check", 'vip="192.0.2.2:80"', "options:interval=9",
        "--", "add", "Load_Balancer", "foreign-hc", "health_check", "@hc",
    )  # fmt: skip
    # A row another ovn-lbc network owns, even with one of our names' shapes.
    ovn.nbctl("lb-add", "other-net-lb", "192.0.2.3:80", "10.0.0.3:80")
    ovn.nbctl("set", "Load_Balancer", "other-net-lb", f'external_ids:"{OWNER}"=net50')
    # NAT rows of others on our router: another address's dnat, and an snat of
    # the forward's own address (Incus's pair for a NIC's external address).
    ovn.nbctl("lr-nat-add", "incus-net49-lr", "dnat", "10.171.5.99", "10.135.209.3")
    ovn.nbctl("lr-nat-add", "incus-net49-lr", "snat", "10.171.5.20", "10.135.209.9")
    pristine = nb_dump(ovn)
    expected = outside_owned_rows(pristine)

    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    assert outside_owned_rows(nb_dump(ovn)) == expected
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    assert outside_owned_rows(nb_dump(ovn)) == expected
    data = load("forward-and-lb.yaml")
    data["networks"][0]["forwards"][0]["config"]["target_address"] = "10.135.209.8"  # the NAT row changes
    assert main(["apply", str(write(tmp_path / "target.yaml", data)), "--db", ovn.nb_remote]) == 0
    assert outside_owned_rows(nb_dump(ovn)) == expected
    data["networks"][0]["load_balancers"][0]["backends"][1]["target_port"] = "2222"
    data["networks"][0]["forwards"] = []
    edited = write(tmp_path / "edited.yaml", data)
    assert main(["apply", str(edited), "--db", ovn.nb_remote]) == 0
    assert outside_owned_rows(nb_dump(ovn)) == expected
    assert sorted(uuids_by_name(ovn)) == ["foreign-hc", "foreign-lb", NAME, "other-net-lb"]
    assert sorted((row["type"], row["external_ip"]) for row in dump_table(ovn, "NAT")) == [
        ("dnat", "10.171.5.99"),
        ("snat", "10.171.5.20"),
    ]

    text = plan_text(ovn, edited, capsys, "--destroy")
    assert f"  - load balancer {NAME}" in text
    assert not any(name in text for name in ("foreign-lb", "foreign-hc", "other-net-lb"))
    assert main(["destroy", str(edited), "--db", ovn.nb_remote]) == 0
    assert nb_dump(ovn) == pristine  # every owned row gone, everything else as it was


# -- ownership: name collisions and --adopt -----------------------------------------------------


def test_a_same_named_row_ovn_lbc_does_not_own_is_an_error_until_adopted(
    ovn: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    ovn.nbctl("lb-add", NAME, "10.171.5.10:80", "10.135.209.2:8080")  # made by hand
    uuid = uuids_by_name(ovn)[NAME]
    before = nb_dump(ovn)
    capsys.readouterr()
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 1
    err = capsys.readouterr().err
    assert "ipv4-healthcheck.yaml:18:9: error[E401]: the database already has a Load_Balancer row named" in err
    assert f"not made by ovn-lbc, _uuid {uuid}" in err and "--adopt" in err
    assert nb_dump(ovn) == before

    text = plan_text(ovn, sample, capsys, "--adopt")
    assert "~ adopted: the row was not made by ovn-lbc" in text
    assert main(["apply", str(sample), "--db", ovn.nb_remote, "--adopt"]) == 0
    row = dump_table(ovn, "Load_Balancer")[0]
    assert row["_uuid"] == uuid and row["external_ids"][OWNER] == "net49"
    assert "No changes." in plan_text(ovn, sample, capsys)


def test_a_row_owned_by_another_network_is_named_as_such(ovn: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    ovn.nbctl("lb-add", NAME, "10.171.5.10:80", "10.135.209.2:8080")
    ovn.nbctl("set", "Load_Balancer", NAME, f'external_ids:"{OWNER}"=net7')
    ovn.nbctl("--add-duplicate", "lb-add", NAME, "10.171.5.10:81", "10.135.209.2:8080")
    capsys.readouterr()
    assert main(["plan", str(sample), "--db", ovn.nb_remote]) == 1
    assert "owned by ovn-lbc network 'net7'" in capsys.readouterr().err
    assert main(["plan", str(sample), "--db", ovn.nb_remote, "--adopt"]) == 1
    assert "2 Load_Balancer rows are named" in capsys.readouterr().err


# -- guarded: a saved plan is refused once the database moved ---------------------------------------


def test_a_saved_plan_applies_and_is_refused_once_the_database_moved(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    data = load("ipv4-healthcheck.yaml")
    _edit_backend_port(data)
    edited = write(tmp_path / "edited.yaml", data)
    saved = tmp_path / "plan.json"
    assert main(["plan", str(edited), "--db", ovn.nb_remote, "--format", "json", "-o", str(saved)]) == 0

    ovn.nbctl("set", "Load_Balancer", NAME, "external_ids:touched=by-hand")  # someone else, meanwhile
    moved = nb_dump(ovn)
    capsys.readouterr()
    assert main(["apply", "--plan-file", str(saved), "--db", ovn.nb_remote]) == 3
    err = capsys.readouterr().err
    assert "the database moved since the plan was made" in err and f"Load_Balancer row '{NAME}'" in err
    assert nb_dump(ovn) == moved

    ovn.nbctl("remove", "Load_Balancer", NAME, "external_ids", "touched")
    assert main(["apply", "--plan-file", str(saved), "--db", ovn.nb_remote]) == 0
    assert "10.135.209.2:8081" in dump_table(ovn, "Load_Balancer")[0]["vips"]["10.171.5.10:80"]
    assert "No changes." in plan_text(ovn, edited, capsys)


# -- offline: a dump or a backup plans exactly as the live database -------------------------------------


def test_a_plan_from_a_dump_or_a_backup_equals_the_live_plan(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "forward-and-lb.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    ovn.nbctl("lb-add", "foreign-lb", "192.0.2.1:80", "10.0.0.1:80")
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    data = load("forward-and-lb.yaml")
    data["networks"][0]["load_balancers"][0]["config"]["healthcheck.interval"] = "9"
    data["networks"][0]["forwards"][0]["ports"][0]["target_port"] = "9443"
    data["networks"][0]["forwards"][0]["config"]["target_address"] = "10.135.209.8"  # its NAT row
    edited = write(tmp_path / "edited.yaml", data)
    live_json = plan_json(ovn, edited, capsys)
    live_text = plan_text(ovn, edited, capsys)
    for command in ("dump", "backup"):
        copy_path = tmp_path / f"nb.{command}"
        arguments = ["ovsdb-client", command, ovn.nb_remote, "OVN_Northbound"]
        if command == "dump":
            arguments.insert(2, "--format=json")
        with copy_path.open("w") as handle:
            subprocess.run(arguments, env=ovn.env, stdout=handle, check=True)
        capsys.readouterr()
        assert main(["plan", str(edited), "--from-dump", str(copy_path), "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out) == live_json
        assert main(["plan", str(edited), "--from-dump", str(copy_path)]) == 0
        offline_text = capsys.readouterr().out
        assert offline_text.split("\n", 1)[1] == live_text.split("\n", 1)[1]  # all but "against ..."
    assert len(live_json) > 3
    assert operations(live_json)[("update", "NAT")] == 1


def test_a_file_that_is_no_dump_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"not": "a dump"}')
    assert main(["plan", str(SAMPLES / "ipv4-healthcheck.yaml"), "--from-dump", str(bogus)]) == 2
    assert "not the output of `ovsdb-client dump --format=json`" in capsys.readouterr().err
    tables = ["Load_Balancer", "Load_Balancer_Health_Check", "Logical_Switch", "Logical_Router", "Logical_Switch_Port"]
    short_row = [{"caption": f"{t} table", "headings": ["_uuid", "name"], "data": []} for t in tables]
    short_row[0]["data"] = [[["uuid", "0"]]]  # a value missing
    bogus.write_text("\n".join(json.dumps(table) for table in short_row))
    assert main(["plan", str(SAMPLES / "ipv4-healthcheck.yaml"), "--from-dump", str(bogus)]) == 2
    assert "is not in OVSDB's JSON notation" in capsys.readouterr().err


def test_a_file_that_is_no_saved_plan_is_refused_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "plan.json"
    bogus.write_text('{"op": "delete"}')
    assert main(["apply", "--plan-file", str(bogus), "--db", f"unix:{tmp_path / 'none.sock'}"]) == 2
    assert f"{bogus} is not a saved plan" in capsys.readouterr().err


# -- switch ports found in the database ---------------------------------------------------------


def test_switch_ports_may_come_from_the_database(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    data = load("ipv4-healthcheck.yaml")
    del data["networks"][0]["switch_ports"]
    portless = write(tmp_path / "portless.yaml", data)
    capsys.readouterr()
    assert main(["check", str(portless)]) == 1  # offline there is nowhere to find them
    assert "error[E312]" in capsys.readouterr().err

    text = plan_text(ovn, portless, capsys)
    assert (
        '  found switch port "incus-net49-instance-22be9150-eth0" on incus-net49-ls-int '
        'for backend "web1" (10.135.209.2)'
    ) in text
    assert main(["apply", str(portless), "--db", ovn.nb_remote]) == 0
    with Sandbox(str(tmp_path / "fresh"), northd=False) as fresh:
        build_topology(fresh, compile_files([str(sample)]).document)
        assert main(["apply", str(sample), "--db", fresh.nb_remote]) == 0
        assert without_uuids(nb_state(ovn)) == without_uuids(nb_state(fresh))

    # An address on two ports is ambiguous; an address on none is missing.
    # (ovn-nbctl lsp-set-addresses refuses the duplicate; a generic set does not)
    ovn.nbctl("lsp-add", "incus-net49-ls-int", "twin")
    ovn.nbctl("set", "Logical_Switch_Port", "twin", 'addresses="0a:00:00:00:00:99 10.135.209.3"')
    ovn.nbctl("lsp-del", "incus-net49-instance-9f1d7b20-eth0")
    capsys.readouterr()
    assert main(["plan", str(portless), "--db", ovn.nb_remote]) == 1
    err = capsys.readouterr().err
    assert "error[E316]: address 10.135.209.3 is on several Logical_Switch_Ports" in err
    assert "(incus-net49-instance-5c3e8a41-eth0, twin)" in err
    assert 'error[E312]: backend "web3" (10.135.209.4) has no switch port' in err
    assert "no Logical_Switch_Port of switch incus-net49-ls-int has this address" in err


def test_apply_takes_each_stage_once(ovn: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """read -> compile with the database's facts -> diff -> send: even when the
    database supplies switch ports, the model is checked, lowered and planned once."""
    import compiler.apply
    import compiler.compilation
    import compiler.facts

    calls: Counter[str] = Counter()

    def count(module: Any, name: str) -> None:
        real = getattr(module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)

    for name in ("build_document", "run_checks", "check_ovn_version", "lower"):
        count(compiler.compilation, name)
    count(compiler.facts, "discover_switch_ports")  # imported where the database's facts come in
    count(compiler.apply, "make_plan")
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    data = load("ipv4-healthcheck.yaml")
    del data["networks"][0]["switch_ports"]
    calls.clear()
    assert main(["apply", str(write(tmp_path / "portless.yaml", data)), "--db", ovn.nb_remote]) == 0
    assert calls == {
        "build_document": 1,
        "run_checks": 1,  # every check that needs no database, before the database's answer is used
        "check_ovn_version": 1,  # the one that waited for the database's release
        "discover_switch_ports": 1,
        "lower": 1,
        "make_plan": 1,
    }


def test_each_database_code_has_a_failing_case(ovn: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    """E400 (a missing datapath) and E401 (a name taken) against a real database."""
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    ovn.nbctl("ls-add", "incus-net49-ls-int", "--", "lr-add", "incus-net49-lr")
    ovn.nbctl("create", "Logical_Router", "name=incus-net49-lr")  # a second router of that name
    ovn.nbctl("lb-add", NAME, "10.171.5.10:80", "10.135.209.2:8080")
    capsys.readouterr()
    assert main(["plan", str(sample), "--db", ovn.nb_remote]) == 1
    err = capsys.readouterr().err
    assert "error[E400]: the database has 2 Logical_Router rows named 'incus-net49-lr'" in err
    assert "error[E401]" in err
    assert "ovn-lbc: 2 errors; nothing was written" in err


def test_incremental_edits_reach_northds_monitors_and_flows(ovn: Sandbox, tmp_path: Path) -> None:
    """What northd makes of an edited row: the new port in the monitors and the flow, the removed backend gone."""
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    document = compile_files([str(sample)]).document
    build_topology(ovn, document)
    set_ports_up(ovn, [p.name for p in document.networks[0].switch_ports])
    assert main(["apply", str(sample), "--db", ovn.nb_remote, "--wait=sb"]) == 0
    data = load("ipv4-healthcheck.yaml")
    _edit_backend_port(data)  # web1 -> 8081
    _remove_backend(data)  # web3 leaves
    assert main(["apply", str(write(tmp_path / "edited.yaml", data)), "--db", ovn.nb_remote, "--wait=sb"]) == 0
    ovn.sync()
    monitors = {(row["ip"], row["port"]) for row in dump_table(ovn, "Service_Monitor", db="sb")}
    assert monitors == {("10.135.209.2", 8081), ("10.135.209.3", 8080)}
    flows = lb_flows(ovn, "incus-net49-ls-int")
    assert any("ct_lb_mark(backends=10.135.209.2:8081,10.135.209.3:8080)" in flow for flow in flows), flows
    assert not any("10.135.209.4" in flow for flow in flows)


# -- --adopt and nameless rows: renamed in place, or E401 when which is not clear ---------------------

ROUTER_UUID = "00000000-0000-4000-8000-000000000001"
SWITCH_UUID = "00000000-0000-4000-8000-000000000002"


def nameless_row(uuid: str, vips: dict[str, str], protocol: str | None = "tcp", **ids: str) -> DbLoadBalancer:
    """A Load_Balancer row as `ovn-nbctl create load_balancer vips:...` makes it: no name."""
    return DbLoadBalancer(uuid, "", protocol, vips, (), {}, ids, {}, ())


def hand_made_state(*rows: DbLoadBalancer, networks: int = 1) -> NorthboundState:
    """The datapaths of ``networks`` copies of ipv4-healthcheck's network (see two_networks), and ``rows``."""
    datapaths = []
    for number in range(networks):
        suffix = "" if number == 0 else f"-{number}"
        datapaths.append(
            DbDatapath("Logical_Router", f"{ROUTER_UUID[:-1]}{2 * number + 1}", f"incus-net49-lr{suffix}", frozenset())
        )
        datapaths.append(
            DbDatapath(
                "Logical_Switch", f"{SWITCH_UUID[:-1]}{2 * number + 2}", f"incus-net49-ls-int{suffix}", frozenset()
            )
        )
    return NorthboundState(tuple(rows), {}, tuple(datapaths), {})


def two_networks(tmp_path: Path) -> Path:
    """ipv4-healthcheck twice, with another row_prefix, router and switch: one VIP, two row names."""
    data = load("ipv4-healthcheck.yaml")
    other = copy.deepcopy(data["networks"][0])
    other.update(name="net50", row_prefix="incus-net50", router="incus-net49-lr-1", switch="incus-net49-ls-int-1")
    data["networks"].append(other)
    return write(tmp_path / "two.yaml", data)


def planned(path: Path, state: NorthboundState, *, adopt: bool = True) -> tuple[Plan, list[Diagnostic]]:
    compilation = compile_files([str(path)])
    return make_plan(compilation.document, compilation.changes, state, adopt=adopt)


VIP = {"10.171.5.10:80": "10.135.209.2:8080"}
NAMELESS = "00000000-0000-4000-8000-00000000000a"
OTHER = "00000000-0000-4000-8000-00000000000b"


def test_adopt_renames_the_one_nameless_row_of_the_protocol_and_vips() -> None:
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    plan, problems = planned(sample, hand_made_state(nameless_row(NAMELESS, VIP)))
    assert problems == []
    (change,) = plan.changes
    assert change.existing is not None and change.existing.uuid == NAMELESS
    assert change.rename == ("", NAME) and change.touches_row and change.adopted_from == "not made by ovn-lbc"
    assert plan.summary() == "Plan: 0 to add, 1 to change, 0 to remove."
    # The transaction: guarded as read (nameless, unmarked) and that nobody took the name; then the update.
    params = build_plan_transaction(plan, ["lb.yaml"]).params
    guards = [op for op in params[1:] if op["op"] == "wait" and op["table"] == "Load_Balancer"]
    assert guards[0]["where"] == [["_uuid", "==", ["uuid", NAMELESS]]] and guards[0]["rows"][0]["name"] == ""
    assert guards[0]["rows"][0]["external_ids"] == ["map", []]
    assert guards[1]["where"] == [["name", "==", NAME]] and guards[1]["rows"] == []
    writes = [(op["op"], op["table"]) for op in params[1:] if op["op"] not in ("comment", "wait")]
    assert writes.index(("mutate", "Load_Balancer")) < writes.index(("update", "Load_Balancer"))
    (update,) = [op for op in params[1:] if op["op"] == "update"]
    assert update["where"] == [["_uuid", "==", ["uuid", NAMELESS]]] and update["row"] == {"name": NAME}
    assert saved_plan_problem(params) is None
    # Every rendering shows it.
    assert f'~ name: "" => "{NAME}"  (renamed in place, _uuid {NAMELESS})' in render_plan(plan, ["lb.yaml"], "db")
    columns = plan_document(plan, ["lb.yaml"], "db")["changes"][0]["columns"]
    assert columns["name"] == {"before": "", "after": NAME}
    # OVN reads "[FD00::A]:80" as "[fd00::a]:80", and an empty protocol as tcp.
    ipv6 = SAMPLES / "ipv6-healthcheck.yaml"
    compilation = compile_files([str(ipv6)])
    row = next(row for row in compilation.changes.rows if row.protocol == "tcp")
    shouted = {key.upper(): value for key, value in row.vips}
    network = compilation.document.networks[0]
    state = NorthboundState(
        (nameless_row(NAMELESS, shouted, protocol=None),),
        {},
        (
            DbDatapath("Logical_Router", ROUTER_UUID, network.router, frozenset()),
            DbDatapath("Logical_Switch", SWITCH_UUID, network.switch, frozenset()),
        ),
        {},
    )
    plan, problems = make_plan(compilation.document, compilation.changes, state, adopt=True)
    assert problems == [] and [(c.action, c.rename, c.protocol) for c in plan.changes if c.existing] == [
        ("change", ("", row.name), (None, "tcp"))
    ]


@pytest.mark.parametrize(
    "row",
    [
        nameless_row(NAMELESS, VIP, protocol="udp"),
        nameless_row(NAMELESS, {**VIP, "10.171.5.10:81": "10.135.209.2:8080"}),  # one VIP more
        nameless_row(NAMELESS, {"10.171.5.11:80": "10.135.209.2:8080"}),
        nameless_row(NAMELESS, VIP, **{OWNER: "net7"}),  # ovn-lbc's, of another network
        DbLoadBalancer(NAMELESS, "lb-by-hand", "tcp", VIP, (), {}, {}, {}, ()),  # named: other tools find it so
    ],
    ids=["protocol", "vips", "address", "marked", "named"],
)
def test_adopt_leaves_other_rows_alone(row: DbLoadBalancer) -> None:
    plan, problems = planned(SAMPLES / "ipv4-healthcheck.yaml", hand_made_state(row))
    assert problems == [] and [(c.action, c.rename) for c in plan.changes] == [("add", None)]


def test_without_adopt_a_nameless_row_is_foreign_and_untouched() -> None:
    plan, problems = planned(
        SAMPLES / "ipv4-healthcheck.yaml", hand_made_state(nameless_row(NAMELESS, VIP)), adopt=False
    )
    assert problems == [] and [(c.action, c.existing) for c in plan.changes] == [("add", None)]
    params = build_plan_transaction(plan, ["lb.yaml"]).params
    assert NAMELESS not in json.dumps(params)


def test_two_nameless_rows_for_one_row_are_e401(capsys: pytest.CaptureFixture[str]) -> None:
    state = hand_made_state(nameless_row(NAMELESS, VIP), nameless_row(OTHER, {"10.171.5.10:80": "10.0.0.9:1"}))
    plan, problems = planned(SAMPLES / "ipv4-healthcheck.yaml", state)
    assert not plan.changes
    (problem,) = problems
    assert (problem.code, problem.span.line, problem.span.column) == ("E401", 18, 9)
    assert problem.message == (
        f"2 nameless Load_Balancer rows (_uuid {NAMELESS}, _uuid {OTHER}) have the protocol and VIPs of {NAME!r}: "
        "--adopt renames one row, and the other would serve the same VIPs, so it will not pick one"
    )
    assert problem.notes == (
        f"delete the extra rows, or name the one to take over (ovn-nbctl set Load_Balancer UUID name={NAME})",
    )


def test_one_nameless_row_for_two_rows_is_e401(tmp_path: Path) -> None:
    path = two_networks(tmp_path)
    plan, problems = planned(path, hand_made_state(nameless_row(NAMELESS, VIP), networks=2))
    assert not plan.changes
    other = "incus-net50-lb-10.171.5.10-tcp"
    assert [(p.code, p.span.line) for p in problems] == [("E401", 19), ("E401", 66)]  # each load balancer's line
    assert problems[0].message == (
        f"the nameless Load_Balancer row _uuid {NAMELESS} has the protocol and VIPs of {NAME!r} and of {other!r}: "
        "--adopt will not pick which one it becomes"
    )
    assert f"of {other!r} and of {NAME!r}" in problems[1].message
    assert problems[0].notes == (f"name it to say which (ovn-nbctl set Load_Balancer {NAMELESS} name=NAME)",)
    # Named by hand, it is found by its name, and the other row is added.
    named = DbLoadBalancer(NAMELESS, other, "tcp", VIP, (), {}, {}, {}, ())
    plan, problems = planned(path, hand_made_state(named, networks=2))
    assert problems == [] and [(c.name, c.action, c.rename) for c in plan.changes] == [
        (NAME, "add", None),
        (other, "change", None),
    ]


def test_a_nameless_row_is_renamed_on_a_real_ovn_and_its_attachments_stay(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The E401 as the command line prints it, then the rename through a saved plan."""
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    vips = 'vips:"10.171.5.10:80"="10.135.209.2:8080"'
    uuid = ovn.nbctl("create", "Load_Balancer", vips, "protocol=tcp").strip()
    twin = ovn.nbctl("create", "Load_Balancer", vips, "protocol=tcp").strip()
    ovn.nbctl("add", "Logical_Switch", "incus-net49-ls-int", "load_balancer", uuid)
    capsys.readouterr()
    assert main(["plan", str(sample), "--db", ovn.nb_remote, "--adopt"]) == 1
    err = capsys.readouterr().err
    assert "ipv4-healthcheck.yaml:18:9: error[E401]: 2 nameless Load_Balancer rows (_uuid " in err
    assert uuid in err and twin in err and "ovn-nbctl set Load_Balancer UUID name=" in err
    ovn.nbctl("destroy", "Load_Balancer", twin)
    saved = tmp_path / "plan.json"
    assert main(["plan", str(sample), "--db", ovn.nb_remote, "--adopt", "--format", "json", "-o", str(saved)]) == 0
    assert main(["apply", "--plan-file", str(saved), "--db", ovn.nb_remote]) == 0
    (row,) = dump_table(ovn, "Load_Balancer")
    assert (row["_uuid"], row["name"], row["external_ids"][OWNER]) == (uuid, NAME, "net49")
    switch = next(r for r in dump_table(ovn, "Logical_Switch") if r["name"] == "incus-net49-ls-int")
    assert _as_list(switch["load_balancer"]) == [uuid]
    assert "No changes." in plan_text(ovn, sample, capsys)
    # Sent again, the saved plan fails at its guards: the row has its name and its mark now.
    assert main(["apply", "--plan-file", str(saved), "--db", ovn.nb_remote]) == 3
    assert f"nameless Load_Balancer row (_uuid {uuid}) was changed, named or deleted" in capsys.readouterr().err
