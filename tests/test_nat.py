"""A forward's default target as Incus writes it since July 2026: a dnat NAT
row on the network's router (lxc/incus 42053c457d7b), owned, planned,
guarded, applied and destroyed like the load balancers, on a real OVN.

NAT rows have no name: one is known by its router, its type and its
external_ip, and NAT is not a root table (a row lives while its router's
``nat`` refers to it).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.lower import NatRow
from compiler.ovsdb.dumps import DumpError, state_from_dump
from compiler.sandbox import Sandbox, build_topology, uplink_interface, uplinks
from compiler.saved_plan import saved_plan_problem

from .conftest import SAMPLES
from .helpers import compile_text, dump_table, nb_dump
from .test_plan import load, operations, plan_json, plan_text, write

SAMPLE = SAMPLES / "forward-and-lb.yaml"
ROUTER = "incus-net49-lr"
OWNER = "ovn-lbc:network"
# Where the sample's default target is (config.target_address's value).
TARGET_AT = f"{SAMPLE}:20:27"

TWO_FAMILIES = """\
version: 1
networks:
  - name: net60
    row_prefix: incus-net60
    router: incus-net60-lr
    switch: incus-net60-ls-int
    ipv4_address: 10.60.0.1/24
    ipv6_address: fd42:60::1/64
    forwards:
      - listen_address: 192.0.2.60
        description: only a default target
        config:
          target_address: 10.60.0.5
          user.owner: ops
      - listen_address: "2001:DB8:0:60::0:20"
        config:
          target_address: "fd42:60::5"
"""


def nat_rows(ovn: Sandbox) -> list[dict[str, Any]]:
    return sorted(dump_table(ovn, "NAT"), key=lambda row: (row["type"], row["external_ip"]))


def router_nat(ovn: Sandbox, name: str = ROUTER) -> set[str]:
    (router,) = (row for row in dump_table(ovn, "Logical_Router") if row["name"] == name)
    refs = router["nat"]
    return set(refs if isinstance(refs, list) else [refs])


# -- lowering ---------------------------------------------------------------------------


def test_a_default_target_is_a_dnat_row_on_the_router_and_no_load_balancer(tmp_path: Path) -> None:
    changes = compile_text(tmp_path, TWO_FAMILIES).changes
    assert changes.rows == ()  # no port entries: no Load_Balancer row (Incus neither)
    first, second = changes.nats
    assert first == NatRow(
        router="incus-net60-lr",
        type="dnat",
        external_ip="192.0.2.60",
        logical_ip="10.60.0.5",
        options=(("stateless", "false"),),
        external_ids=(
            ("ovn-lbc:description", "only a default target"),
            ("ovn-lbc:kind", "forward"),
            (OWNER, "net60"),
            ("ovn-lbc:user.owner", "ops"),
        ),
        network="net60",
        description="only a default target",
        source=first.source,
    )
    assert (first.source.line, first.source.column) == (13, 27)  # the target_address value
    # The address canonical, without brackets, as Incus's listenIP.String().
    assert (second.external_ip, second.logical_ip) == ("2001:db8:0:60::20", "fd42:60::5")

    forward = compile_files([str(SAMPLE)]).changes
    assert [row.vips for row in forward.rows if row.kind == "forward"] == [(("10.171.5.20:443", "10.135.209.2:8443"),)]
    assert not any(":" not in key for row in forward.rows for key, _ in row.vips)  # no port-less VIP left
    assert [(nat.router, nat.external_ip, nat.logical_ip) for nat in forward.nats] == [
        (ROUTER, "10.171.5.20", "10.135.209.9")
    ]


# -- plan, apply, re-apply, change, remove, destroy --------------------------------------------


def test_a_default_target_is_planned_applied_changed_removed_and_destroyed(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    text = plan_text(ovn, SAMPLE, capsys)
    assert (
        f"  + nat dnat 10.171.5.20 -> 10.135.209.9 on router {ROUTER}  ({SAMPLE}:20)\n"
        '      + option "stateless" = "false"\n'
        '      + external_id "ovn-lbc:kind" = "forward"\n'
        '      + external_id "ovn-lbc:network" = "net49"\n'
    ) in text
    assert text.endswith("Plan: 3 to add, 0 to change, 0 to remove.\n")
    params = plan_json(ovn, SAMPLE, capsys)
    (insert,) = (op for op in params[1:] if op["op"] == "insert" and op["table"] == "NAT")
    assert insert["row"] == {
        "type": "dnat",
        "external_ip": "10.171.5.20",
        "logical_ip": "10.135.209.9",
        "options": ["map", [["stateless", "false"]]],
        "external_ids": ["map", [["ovn-lbc:kind", "forward"], [OWNER, "net49"]]],
    }
    (router_op,) = (op for op in params[1:] if op["op"] == "mutate" and op["table"] == "Logical_Router")
    assert ["nat", "insert", ["set", [["named-uuid", insert["uuid-name"]]]]] in router_op["mutations"]
    nobody_else = {
        "op": "wait",
        "table": "NAT",
        "where": [["type", "==", "dnat"], ["external_ip", "==", "10.171.5.20"]],
        "columns": ["_uuid"],
        "until": "==",
        "rows": [],
        "timeout": 0,
    }
    assert nobody_else in params
    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote, "--wait=sb"]) == 0
    (nat,) = nat_rows(ovn)
    assert (nat["type"], nat["external_ip"], nat["logical_ip"]) == ("dnat", "10.171.5.20", "10.135.209.9")
    assert router_nat(ovn) == {nat["_uuid"]}
    assert [row["name"] for row in dump_table(ovn, "Load_Balancer")].count("incus-net49-lb-10.171.5.20-udp") == 0
    dnat = [line for line in ovn.sbctl("lflow-list", ROUTER).splitlines() if "ct_dnat_in_czone(10.135.209.9)" in line]
    assert len(dnat) == 1 and "lr_in_dnat" in dnat[0] and "ip4.dst == 10.171.5.20" in dnat[0], dnat

    # Again: nothing to do, nothing sent.
    before = nb_dump(ovn)
    capsys.readouterr()
    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    assert "no changes; nothing sent" in capsys.readouterr().err
    assert nb_dump(ovn) == before
    assert "No changes. 2 load balancers and 1 NAT row unchanged." in plan_text(ovn, SAMPLE, capsys)

    # Another target: the row changes in place (one update), its _uuid stays.
    data = load("forward-and-lb.yaml")
    data["networks"][0]["forwards"][0]["config"]["target_address"] = "10.135.209.8"
    moved = write(tmp_path / "moved.yaml", data)
    text = plan_text(ovn, moved, capsys)
    assert f"  ~ nat dnat 10.171.5.20 -> 10.135.209.9 on router {ROUTER}  ({moved}:" in text
    assert '      ~ logical_ip: "10.135.209.9" => "10.135.209.8"\n' in text
    assert text.endswith("Plan: 0 to add, 1 to change, 0 to remove. 2 load balancers unchanged.\n")
    assert operations(plan_json(ovn, moved, capsys)) == Counter({("update", "NAT"): 1})
    assert main(["apply", str(moved), "--db", ovn.nb_remote]) == 0
    (changed,) = nat_rows(ovn)
    assert (changed["_uuid"], changed["logical_ip"]) == (nat["_uuid"], "10.135.209.8")

    # No default target any more (the port entry stays): out of the router's nat, so deleted.
    del data["networks"][0]["forwards"][0]["config"]["target_address"]
    portonly = write(tmp_path / "port-only.yaml", data)
    text = plan_text(ovn, portonly, capsys)
    assert (
        f"  - nat dnat 10.171.5.20 -> 10.135.209.8 on router {ROUTER}  (_uuid {nat['_uuid']}; not in the file)\n"
    ) in text
    params = plan_json(ovn, portonly, capsys)
    assert operations(params) == Counter({("mutate", "Logical_Router"): 1})
    (router_op,) = (op for op in params[1:] if op["op"] == "mutate")
    assert router_op["mutations"] == [["nat", "delete", ["set", [["uuid", nat["_uuid"]]]]]]
    assert main(["apply", str(portonly), "--db", ovn.nb_remote]) == 0
    assert nat_rows(ovn) == [] and router_nat(ovn) == set()
    assert len(dump_table(ovn, "Load_Balancer")) == 2

    # Back, then destroy: every owned row goes, the NAT row with them.
    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    assert "  - nat dnat 10.171.5.20 -> 10.135.209.9" in plan_text(ovn, SAMPLE, capsys, "--destroy")
    assert main(["destroy", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    assert nat_rows(ovn) == [] and dump_table(ovn, "Load_Balancer") == []


def test_rows_ovn_lbc_wrote_before_become_the_nat_row(ovn: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    """What ovn-lbc (and Incus) wrote before: the default target as a port-less
    VIP of the tcp row and of a udp row. The plan takes it out of both, the
    udp row goes (nothing else is in it), and the NAT row comes."""
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    ovn.nbctl("destroy", "NAT", nat_rows(ovn)[0]["_uuid"], "--", "clear", "Logical_Router", ROUTER, "nat")
    tcp, udp = "incus-net49-lb-10.171.5.20-tcp", "incus-net49-lb-10.171.5.20-udp"
    ovn.nbctl("set", "Load_Balancer", tcp, 'vips:"10.171.5.20"="10.135.209.9"')
    ovn.nbctl(
        "lb-add", udp, "10.171.5.20", "10.135.209.9",
        "--", "set", "Load_Balancer", udp, "protocol=udp",
        f'external_ids:"{OWNER}"=net49', 'external_ids:"ovn-lbc:kind"=forward',
        "--", "lr-lb-add", ROUTER, udp, "--", "ls-lb-add", "incus-net49-ls-int", udp,
    )  # fmt: skip
    text = plan_text(ovn, SAMPLE, capsys)
    assert f'  ~ load balancer {tcp}  ({SAMPLE}:17)\n      - vip "10.171.5.20" -> "10.135.209.9"\n' in text
    assert f"  - load balancer {udp}  (_uuid " in text
    assert "  + nat dnat 10.171.5.20 -> 10.135.209.9 on router" in text
    assert text.endswith("Plan: 1 to add, 1 to change, 1 to remove. 1 load balancer unchanged.\n")
    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    assert sorted(row["name"] for row in dump_table(ovn, "Load_Balancer")) == ["incus-net49-lb-10.171.5.10-tcp", tcp]
    assert [row["logical_ip"] for row in nat_rows(ovn)] == ["10.135.209.9"]
    assert "No changes." in plan_text(ovn, SAMPLE, capsys)


# -- ownership: another's row of the address, --adopt -----------------------------------------------


def test_a_dnat_row_of_the_address_made_by_hand_is_e401_until_adopted(
    ovn: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    ovn.nbctl("lr-nat-add", ROUTER, "dnat", "10.171.5.20", "10.135.209.7")
    (theirs,) = nat_rows(ovn)
    before = nb_dump(ovn)
    capsys.readouterr()
    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 1
    err = capsys.readouterr().err
    assert (
        f"{TARGET_AT}: error[E401]: the database already has a dnat NAT row for 10.171.5.20 on router "
        f"'{ROUTER}' (not made by ovn-lbc, _uuid {theirs['_uuid']}); ovn-lbc changes only rows it owns"
    ) in err
    assert "--adopt" in err and nb_dump(ovn) == before

    text = plan_text(ovn, SAMPLE, capsys, "--adopt")
    assert (
        f"  ~ nat dnat 10.171.5.20 -> 10.135.209.7 on router {ROUTER}  ({SAMPLE}:20)\n"
        "      ~ adopted: the row was not made by ovn-lbc\n"
        '      ~ logical_ip: "10.135.209.7" => "10.135.209.9"\n'
        '      + external_id "ovn-lbc:kind" = "forward"\n'
        '      + external_id "ovn-lbc:network" = "net49"\n'
    ) in text  # lr-nat-add writes options:stateless=false itself
    params = plan_json(ovn, SAMPLE, capsys, "--adopt")
    assert saved_plan_problem(params) is None
    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote, "--adopt"]) == 0
    (adopted,) = nat_rows(ovn)
    assert adopted["_uuid"] == theirs["_uuid"] and adopted["logical_ip"] == "10.135.209.9"
    assert adopted["external_ids"][OWNER] == "net49" and adopted["options"] == {"stateless": "false"}
    assert "No changes." in plan_text(ovn, SAMPLE, capsys)


def test_another_networks_row_and_two_rows_of_the_address_are_named(
    ovn: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    ovn.nbctl("lr-nat-add", ROUTER, "dnat", "10.171.5.20", "10.135.209.7")
    (row,) = nat_rows(ovn)
    ovn.nbctl("set", "NAT", row["_uuid"], f'external_ids:"{OWNER}"=net7')
    capsys.readouterr()
    assert main(["plan", str(SAMPLE), "--db", ovn.nb_remote]) == 1
    assert f"(owned by ovn-lbc network 'net7', _uuid {row['_uuid']})" in capsys.readouterr().err
    # lr-nat-add refuses a second row of one address; a generic create does not.
    ovn.nbctl(
        "--", "--id=@n", "create", "NAT", "type=dnat", "external_ip=10.171.5.20", "logical_ip=10.135.209.6",
        "--", "add", "Logical_Router", ROUTER, "nat", "@n",
    )  # fmt: skip
    assert main(["plan", str(SAMPLE), "--db", ovn.nb_remote, "--adopt"]) == 1
    err = capsys.readouterr().err
    assert f"error[E401]: 2 dnat NAT rows are for 10.171.5.20 on router '{ROUTER}': OVN applies one" in err


def test_an_address_written_otherwise_is_the_same_address(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """OVN reads external_ip as an address: a row of "2001:DB8:0:60:0::20" is one of 2001:db8:0:60::20."""
    compilation = compile_text(tmp_path, TWO_FAMILIES)
    build_topology(ovn, compilation.document)
    ovn.nbctl(
        "--", "--id=@n", "create", "NAT", "type=dnat", 'external_ip="2001:DB8:0:60:0::20"', 'logical_ip="fd42:60::7"',
        "--", "add", "Logical_Router", "incus-net60-lr", "nat", "@n",
    )  # fmt: skip
    capsys.readouterr()
    assert main(["plan", str(tmp_path / "input.yaml"), "--db", ovn.nb_remote]) == 1
    assert "already has a dnat NAT row for 2001:db8:0:60::20 on router 'incus-net60-lr'" in capsys.readouterr().err
    assert main(["apply", str(tmp_path / "input.yaml"), "--db", ovn.nb_remote, "--adopt"]) == 0
    rows = nat_rows(ovn)
    assert [(r["external_ip"], r["logical_ip"]) for r in rows] == [
        ("192.0.2.60", "10.60.0.5"),
        ("2001:DB8:0:60:0::20", "fd42:60::5"),  # taken over as it is written
    ]
    assert "No changes." in plan_text(ovn, tmp_path / "input.yaml", capsys)


# -- saved plans: what the planner writes for NAT rows, and nothing else ----------------------------------


def _where(uuid: str) -> list[Any]:
    return [["_uuid", "==", ["uuid", uuid]]]


def _nat_guard(uuid: str, **row: Any) -> dict[str, Any]:
    columns = ["type", "external_ip", "logical_ip", "options", "external_ids"]
    shown = {"options": ["map", []], "external_ids": ["map", []], **row}
    return {
        "op": "wait",
        "table": "NAT",
        "where": _where(uuid),
        "columns": columns,
        "until": "==",
        "rows": [{column: shown[column] for column in columns}],
        "timeout": 0,
    }


def _saved_plans(ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Real plans to edit: add (a fresh database), change and remove; the uuids they deal with."""
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    ovn.nbctl("lr-nat-add", ROUTER, "dnat", "10.171.5.99", "10.135.209.3")  # someone else's, on our router
    (foreign,) = nat_rows(ovn)
    found: dict[str, Any] = {"foreign": foreign["_uuid"], "add": plan_json(ovn, SAMPLE, capsys)}
    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    data = load("forward-and-lb.yaml")
    data["networks"][0]["forwards"][0]["config"]["target_address"] = "10.135.209.8"
    found["change"] = plan_json(ovn, write(tmp_path / "moved.yaml", data), capsys)
    del data["networks"][0]["forwards"][0]["config"]["target_address"]
    found["remove"] = plan_json(ovn, write(tmp_path / "port-only.yaml", data), capsys)
    found["ours"] = next(row["_uuid"] for row in nat_rows(ovn) if row["external_ip"] == "10.171.5.20")
    found["switch"] = next(row["_uuid"] for row in dump_table(ovn, "Logical_Switch") if row["name"].endswith("int"))
    return found


def _edited(params: list[Any], edit: Any) -> list[Any]:
    copied: list[Any] = json.loads(json.dumps(params))
    edit(copied)
    return copied


def _index(params: list[Any], op: str, table: str) -> int:
    return next(i for i, item in enumerate(params) if i and item["op"] == op and item["table"] == table)


def test_every_nat_plan_is_accepted_and_a_hand_edited_one_refused_naming_the_operation(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plans = _saved_plans(ovn, tmp_path, capsys)
    add, change, remove = plans["add"], plans["change"], plans["remove"]
    foreign, ours, switch = plans["foreign"], plans["ours"], plans["switch"]
    for params in (add, change, remove):
        assert saved_plan_problem(params) is None, json.dumps(params, indent=1)[:3000]
    foreign_guard = _nat_guard(foreign, type="dnat", external_ip="10.171.5.99", logical_ip="10.135.209.3")

    def take_out_foreign(params: list[Any]) -> None:
        params[_index(params, "mutate", "Logical_Router")]["mutations"].append(
            ["nat", "delete", ["set", [["uuid", foreign]]]]
        )

    def set_insert(**row: Any) -> Any:
        return lambda params: params[_index(params, "insert", "NAT")]["row"].update(row)

    def drop_address_guard(params: list[Any]) -> None:
        params.pop(next(i for i, op in enumerate(params) if i and op["op"] == "wait" and op["table"] == "NAT"))

    def put_foreign_in(params: list[Any]) -> None:
        params[_index(params, "mutate", "Logical_Router")]["mutations"].append(
            ["nat", "insert", ["set", [["uuid", foreign]]]]
        )

    def mutate(table: str, uuid: str, *mutations: list[Any]) -> dict[str, Any]:
        return {"op": "mutate", "table": table, "where": _where(uuid), "mutations": list(mutations)}

    cases: dict[str, tuple[list[Any], str]] = {
        "take-out-a-foreign-row": (
            _edited(remove, take_out_foreign),
            f"(mutate Logical_Router): no guard before it on NAT row {foreign}",
        ),
        "take-out-a-foreign-row-with-a-guard": (
            _edited(remove, lambda p: (p.insert(2, foreign_guard), take_out_foreign(p))),
            f"NAT row {foreign} is not ovn-lbc's: its guard shows no ovn-lbc:network mark",
        ),
        "delete-a-nat-row": (
            _edited(change, lambda p: p.append({"op": "delete", "table": "NAT", "where": _where(ours)})),
            "(delete NAT): ovn-lbc never deletes NAT rows",
        ),
        "insert-without-the-address-guard": (
            _edited(add, drop_address_guard),
            "(insert NAT): no guard before it shows the dnat NAT rows of '10.171.5.20'",
        ),
        "insert-snat": (_edited(add, set_insert(type="snat")), "ovn-lbc makes only dnat NAT rows, not 'snat'"),
        "insert-without-the-mark": (
            _edited(add, set_insert(external_ids=["map", []])),
            "the row lacks ovn-lbc's ownership mark (ovn-lbc:network)",
        ),
        "insert-another-column": (
            _edited(add, set_insert(logical_port="lsp")),
            "it writes column(s) 'logical_port', which ovn-lbc does not",
        ),
        "insert-with-a-uuid": (
            _edited(add, lambda p: p[_index(p, "insert", "NAT")].update(uuid=foreign)),
            "ovn-lbc lets the server choose a NAT row's _uuid",
        ),
        "put-a-foreign-row-in-the-router": (
            _edited(add, put_foreign_in),
            f"it puts NAT row {foreign} in a router; ovn-lbc puts in only the rows it inserts",
        ),
        "nat-of-a-switch": (
            _edited(add, lambda p: p.append(mutate("Logical_Switch", switch, ["nat", "delete", ["set", []]]))),
            "it mutates 'nat'; ovn-lbc changes only load_balancer and load_balancer_group",
        ),
        "a-foreign-option": (
            _edited(change, lambda p: p.append(mutate("NAT", ours, ["options", "insert", ["map", [["x", "y"]]]]))),
            "it changes key 'x' of options, which ovn-lbc does not manage",
        ),
        "another-column": (
            _edited(change, lambda p: p.append(mutate("NAT", ours, ["logical_port", "insert", ["set", ["x"]]]))),
            "it mutates column 'logical_port', which ovn-lbc does not",
        ),
        "update-the-address": (
            _edited(change, lambda p: p[_index(p, "update", "NAT")]["row"].update(external_ip="10.171.5.21")),
            "it writes column(s) 'external_ip', which ovn-lbc does not",
        ),
        "update-a-foreign-row": (
            _edited(
                change,
                lambda p: (
                    p.insert(2, foreign_guard),
                    p.append({"op": "update", "table": "NAT", "where": _where(foreign), "row": {"logical_ip": "x"}}),
                ),
            ),
            f"NAT row {foreign} is not ovn-lbc's",
        ),
        "an-address-guard-that-shows-garbage": (
            _edited(
                add, lambda p: p[next(i for i, o in enumerate(p) if i and o.get("table") == "NAT")].update(rows="all")
            ),
            "a guard on a NAT address shows the _uuid of each row it has",
        ),
    }
    before = nb_dump(ovn)
    for name, (params, words) in cases.items():
        problem = saved_plan_problem(params)
        assert problem is not None and words in problem, (name, problem)
    # And through the command line: refused before connecting, exit 2, one line.
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(cases["take-out-a-foreign-row-with-a-guard"][0]))
    capsys.readouterr()
    assert main(["apply", "--plan-file", str(path), "--db", ovn.nb_remote]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ovn-lbc: apply: {path} is not a saved plan: operation ") and err.count("\n") == 1
    assert nb_dump(ovn) == before
    # The genuine one applies (change and remove were made from one state: one of them).
    path.write_text(json.dumps(remove))
    assert main(["apply", "--plan-file", str(path), "--db", ovn.nb_remote]) == 0
    assert [row["external_ip"] for row in nat_rows(ovn)] == ["10.171.5.99"]


def test_a_saved_nat_plan_is_refused_once_the_row_or_the_address_moved(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plans = _saved_plans(ovn, tmp_path, capsys)
    change = tmp_path / "change.json"
    change.write_text(json.dumps(plans["change"]))
    ovn.nbctl("set", "NAT", plans["ours"], "external_ids:touched=by-hand")  # someone else, meanwhile
    moved = nb_dump(ovn)
    capsys.readouterr()
    assert main(["apply", "--plan-file", str(change), "--db", ovn.nb_remote]) == 3
    err = capsys.readouterr().err
    assert (
        f"the database moved since the plan was made: NAT row dnat 10.171.5.20 -> 10.135.209.9 "
        f"(_uuid {plans['ours']}) was changed or deleted"
    ) in err
    assert nb_dump(ovn) == moved

    # The add, once someone made a dnat row of the address (on another router).
    assert main(["destroy", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    add = tmp_path / "add.json"
    add.write_text(json.dumps(plan_json(ovn, SAMPLE, capsys)))
    ovn.nbctl("lr-add", "elsewhere", "--", "lr-nat-add", "elsewhere", "dnat", "10.171.5.20", "10.0.0.9")
    moved = nb_dump(ovn)
    assert main(["apply", "--plan-file", str(add), "--db", ovn.nb_remote]) == 3
    assert "a dnat NAT row for 10.171.5.20 was created or deleted" in capsys.readouterr().err
    assert nb_dump(ovn) == moved
    # Planned again, it expects that row (elsewhere, not ovn-lbc's business) and applies.
    assert main(["apply", str(SAMPLE), "--db", ovn.nb_remote]) == 0
    assert sorted(row["logical_ip"] for row in nat_rows(ovn)) == ["10.0.0.9", "10.135.209.3", "10.135.209.9"]


# -- copies of the database: the NAT table's shape -------------------------------------------------------

_READ = {
    "Load_Balancer": ["_uuid", "name"],
    "Load_Balancer_Health_Check": ["_uuid", "vip"],
    "Load_Balancer_Group": ["_uuid", "name"],
    "Logical_Switch": ["_uuid", "name"],
    "Logical_Router": ["_uuid", "name", "nat"],
    "Logical_Switch_Port": ["_uuid", "name"],
    "NB_Global": ["_uuid"],
    "NAT": ["_uuid", "type", "external_ip", "logical_ip", "options", "external_ids"],
}
NAT_UUID = ["uuid", "5b5d2b4c-21c1-4c5e-8a4e-6b0a4e3c1d2f"]
ROUTER_UUID = ["uuid", "0b3a35b4-1ab4-4e2c-9dd3-31c2a0f7a0f1"]


def _dump(nat: list[Any], router_nat: Any) -> str:
    rows = {"NAT": [nat], "Logical_Router": [[ROUTER_UUID, ROUTER, router_nat]]}
    return "\n".join(
        json.dumps({"caption": f"{table} table", "headings": headings, "data": rows.get(table, [])})
        for table, headings in _READ.items()
    )


GOOD_NAT = [NAT_UUID, "dnat", "10.171.5.20", "10.135.209.9", ["map", [["stateless", "false"]]], ["map", []]]


def test_a_dump_s_nat_rows_are_read_and_their_shape_checked() -> None:
    state = state_from_dump(_dump(GOOD_NAT, NAT_UUID))  # a one-element set, written bare
    (router,) = state.datapaths
    assert router.nat == frozenset({NAT_UUID[1]})
    nat = state.nats[NAT_UUID[1]]
    assert (nat.type, nat.external_ip, nat.logical_ip, dict(nat.options)) == (
        "dnat",
        "10.171.5.20",
        "10.135.209.9",
        {"stateless": "false"},
    )


@pytest.mark.parametrize(
    ("nat", "router_nat", "words"),
    [
        (GOOD_NAT[:2] + [7] + GOOD_NAT[3:], NAT_UUID, "NAT row 5b5d2b4c-21c1-4c5e-8a4e-6b0a4e3c1d2f: external_ip is 7"),
        (GOOD_NAT[:3] + [["set", []]] + GOOD_NAT[4:], NAT_UUID, "logical_ip is"),
        (GOOD_NAT[:1] + [None] + GOOD_NAT[2:], NAT_UUID, "type is null, not a string"),
        (GOOD_NAT[:4] + [["map", [["stateless"]]]] + GOOD_NAT[5:], NAT_UUID, "options is"),
        (GOOD_NAT, ["set", ["not-a-uuid"]], "nat is"),
        (GOOD_NAT, "x", "not a set of UUIDs"),
    ],
    ids=["address", "logical-ip", "type", "options", "nat-strings", "nat-string"],
)
def test_a_dump_whose_nat_rows_are_malformed_is_one_error(nat: list[Any], router_nat: Any, words: str) -> None:
    with pytest.raises(DumpError) as caught:
        state_from_dump(_dump(nat, router_nat))
    assert "is not in OVSDB's JSON notation" in str(caught.value) and words in str(caught.value), caught.value


# -- the sandbox's uplinks: where OVN applies a router's NAT rows ------------------------------------


def test_a_router_with_a_default_target_gets_one_uplink_on_a_free_subnet(tmp_path: Path) -> None:
    text = TWO_FAMILIES.replace("10.60.0.1/24", "198.19.0.1/24").replace("10.60.0.5", "198.19.0.5")
    second = TWO_FAMILIES.split("networks:\n", 1)[1].replace("name: net60", "name: net61")
    second = second.replace("incus-net60-ls-int", "incus-net61-ls-int").replace(
        "row_prefix: incus-net60", "row_prefix: incus-net61"
    )
    second = second.replace("192.0.2.60", "192.0.2.61").replace("2001:DB8:0:60::0:20", "2001:db8:0:61::20")
    third = "  - {name: net62, row_prefix: p62, router: r62, switch: s62, ipv4_address: 10.62.0.1/24}\n"
    document = compile_text(tmp_path, text + second + third).document
    (uplink,) = uplinks(document)  # net60 and net61 share a router; net62 forwards nothing
    assert (uplink.router, uplink.switch, uplink.router_port) == (
        "incus-net60-lr",
        "incus-net60-lr-ext",
        "incus-net60-lr-lrp-ext",
    )
    # 198.19.0.0/24 is net60's own subnet: the next /24 it is.
    assert (str(uplink.router_address), str(uplink.client_address)) == ("198.19.1.1/24", "198.19.1.10/24")
    assert uplink_interface(uplink).gateways == ("198.19.1.1",)
    assert uplinks(compile_files([str(SAMPLES / "ipv4-healthcheck.yaml")]).document) == []
