"""`ovn-lbc import --from db`: a database's rows -> a file that `apply --adopt`
takes without changing anything but ovn-lbc's marks, and a plan after that is empty.

Each database is built the way a kind of site builds it (Incus-style rows,
hand-written ovn-nbctl sequences, LXD-style rows, a group on many switches),
on a real ovsdb-server and ovn-northd. The NB tables are compared with
their _uuids, the marks taken out.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.importers.database import import_database
from compiler.lower import KIND_KEY, OWNER_KEY
from compiler.ovsdb.dumps import tables_from_dump
from compiler.sandbox import Sandbox, build_topology

from .helpers import dump_table, nb_dump

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
TABLES = (
    "Load_Balancer",
    "Load_Balancer_Health_Check",
    "Load_Balancer_Group",
    "Logical_Switch",
    "Logical_Router",
    "Logical_Switch_Port",
    "Logical_Router_Port",
    "NAT",
)
MARKS = (OWNER_KEY, KIND_KEY)
UUID_ELSEWHERE = "00000000-0000-4000-8000-0000000000ee"


def tables(ovn: Sandbox) -> dict[str, list[dict[str, Any]]]:
    """The tables the import and apply touch, the marks left out."""
    found = {}
    for table in TABLES:
        rows = dump_table(ovn, table)
        for row in rows:
            if isinstance(row.get("external_ids"), dict):
                row["external_ids"] = {k: v for k, v in row["external_ids"].items() if k not in MARKS}
        found[table] = sorted(rows, key=lambda row: row["_uuid"])
    return found


def strip_marks(ovn: Sandbox) -> None:
    """Make ovn-lbc's rows look like another tool's: no ownership marks."""
    for table in ("Load_Balancer", "Load_Balancer_Health_Check", "NAT"):
        for row in dump_table(ovn, table):
            for key in MARKS:
                if key in row["external_ids"]:
                    ovn.nbctl("remove", table, row["_uuid"], "external_ids", f'"{key}"')


def round_trip(ovn: Sandbox, tmp_path: Path, *extra: str, expect: int = 0, to: str = "yaml") -> Path:
    """import -> apply --adopt -> the same tables but the marks -> an empty plan; the file."""
    before = tables(ovn)
    out = tmp_path / f"imported.{'lb' if to == 'dsl' else 'yaml'}"
    assert main(["import", "--db", ovn.nb_remote, "--to", to, "-o", str(out), *extra]) == expect
    # The same from a copy of the database.
    dump = tmp_path / "nb.json"
    dump.write_text(nb_dump(ovn))
    copy = tmp_path / f"from-dump.{'lb' if to == 'dsl' else 'yaml'}"
    assert main(["import", "--from-dump", str(dump), "--to", to, "-o", str(copy), *extra]) == expect
    assert copy.read_text() == out.read_text()
    assert main(["apply", str(out), "--db", ovn.nb_remote, "--adopt"]) == 0
    assert tables(ovn) == before
    assert main(["plan", str(out), "--db", ovn.nb_remote, "--detailed-exitcode"]) == 0
    return out


@pytest.mark.parametrize(
    "sample",
    ["ipv4-healthcheck.yaml", "ipv6-healthcheck.yaml", "forward-and-lb.yaml", "options-and-group.yaml"],
)
def test_incus_style_rows_round_trip(ovn: Sandbox, tmp_path: Path, sample: str) -> None:
    path = str(SAMPLES / sample)
    build_topology(ovn, compile_files([path]).document)
    assert main(["apply", path, "--db", ovn.nb_remote]) == 0
    strip_marks(ovn)
    round_trip(ovn, tmp_path)


def test_dsl_output_round_trips(ovn: Sandbox, tmp_path: Path) -> None:
    path = str(SAMPLES / "ipv4-healthcheck.yaml")
    build_topology(ovn, compile_files([path]).document)
    assert main(["apply", path, "--db", ovn.nb_remote]) == 0
    strip_marks(ovn)
    round_trip(ovn, tmp_path, to="dsl")


NETWORK = """\
version: 1
networks:
  - name: net1
    row_prefix: site
    router: lr1
    switch: ls1
    ipv4_address: 10.0.0.1/24
    switch_ports:
      - {name: vm1, addresses: [10.0.0.11]}
      - {name: vm2, addresses: [10.0.0.12]}
    attach_switches: [clients1, clients2, clients3]
"""


def topology(ovn: Sandbox, tmp_path: Path, text: str = NETWORK) -> None:
    network = tmp_path / "network.yaml"
    network.write_text(text)
    build_topology(ovn, compile_files([str(network)]).document)


def test_a_health_check_added_by_hand_in_three_steps(ovn: Sandbox, tmp_path: Path) -> None:
    topology(ovn, tmp_path)
    name = "site-lb-10.0.0.100-tcp"
    ovn.nbctl("lb-add", name, "10.0.0.100:80", "10.0.0.11:8080,10.0.0.12:8080", "tcp")
    ovn.nbctl("lr-lb-add", "lr1", name)
    ovn.nbctl("ls-lb-add", "ls1", name)
    # Not a root table: created and referred to in one invocation, or collected.
    ovn.nbctl(
        "--id=@hc",
        "create",
        "Load_Balancer_Health_Check",
        'vip="10.0.0.100:80"',
        "options:interval=5",
        "options:timeout=3",
        "options:success_count=1",
        "options:failure_count=2",
        "--",
        "add",
        "Load_Balancer",
        name,
        "health_check",
        "@hc",
    )
    ovn.nbctl("set", "Load_Balancer", name, 'ip_port_mappings:"10.0.0.11"="vm1:10.0.0.254"')
    ovn.nbctl("set", "Load_Balancer", name, 'ip_port_mappings:"10.0.0.12"="vm2:10.0.0.254"')
    out = round_trip(ovn, tmp_path)
    text = out.read_text()
    assert "name: vm1" in text and "healthcheck.failure_count" in text


def test_a_group_on_many_switches(ovn: Sandbox, tmp_path: Path) -> None:
    topology(ovn, tmp_path)
    group = ovn.nbctl("create", "Load_Balancer_Group", "name=web").strip()
    for address, protocol in (("10.0.0.100", "tcp"), ("10.0.0.100", "udp"), ("10.0.0.101", "tcp")):
        name = f"site-lb-{address}-{protocol}"
        ovn.nbctl("lb-add", name, f"{address}:53", "10.0.0.11:53,10.0.0.12:53", protocol)
        ovn.nbctl("lb-add", name, f"{address}:54", "10.0.0.11:53,10.0.0.12:53", protocol)
        uuid = ovn.nbctl("--bare", "--columns=_uuid", "find", "Load_Balancer", f"name={name}").strip()
        ovn.nbctl("add", "Load_Balancer_Group", group, "load_balancer", uuid)
    for datapath in ("ls1", "clients1", "clients2", "clients3"):
        ovn.nbctl("add", "Logical_Switch", datapath, "load_balancer_group", group)
    ovn.nbctl("add", "Logical_Router", "lr1", "load_balancer_group", group)
    text = round_trip(ovn, tmp_path).read_text()
    assert "lb_group: web" in text


def test_lxd_pool_rows_round_trip(ovn: Sandbox, tmp_path: Path) -> None:
    path = str(SAMPLES / "lxd-pool.yaml")
    build_topology(ovn, compile_files([path]).document)
    assert main(["apply", path, "--db", ovn.nb_remote]) == 0
    strip_marks(ovn)
    round_trip(ovn, tmp_path, expect=4)


def test_rows_it_cannot_describe_are_listed_and_left_out(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topology(ovn, tmp_path)
    ovn.nbctl("lb-add", "site-lb-10.0.0.100-tcp", "10.0.0.100:80", "10.0.0.11:80", "tcp")
    ovn.nbctl("ls-lb-add", "ls1", "site-lb-10.0.0.100-tcp")
    ovn.nbctl("lr-lb-add", "lr1", "site-lb-10.0.0.100-tcp")
    ovn.nbctl("lb-add", "lb-by-hand", "10.0.0.102:80", "10.0.0.11:80", "tcp")
    ovn.nbctl("lr-lb-add", "lr1", "lb-by-hand")
    ovn.nbctl("lb-add", "site-lb-10.0.0.103-tcp", "10.0.0.103:80", "10.0.0.11:80", "tcp")  # attached nowhere
    ovn.nbctl("create", "Load_Balancer", 'vips:"10.0.0.104:80"="10.0.0.11:80"', "protocol=tcp")
    capsys.readouterr()
    round_trip(ovn, tmp_path, expect=4)
    err = capsys.readouterr().err
    assert "row 'lb-by-hand'" in err and "does not follow" in err
    assert "row 'site-lb-10.0.0.103-tcp'" in err and "attached to no router or switch" in err
    assert "nameless row" in err and "attached to no router or switch" in err  # so in no network to be named in
    # --match: only the rows named.
    out = tmp_path / "matched.yaml"
    assert main(["import", "--db", ovn.nb_remote, "--match", "site-lb-10.0.0.100-*", "-o", str(out)]) == 0
    assert "10.0.0.100" in out.read_text() and "10.0.0.102" not in out.read_text()


def test_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import"]) == 2
    assert main(["import", "--from", "db"]) == 2
    assert main(["import", "--from", "db", "--db", "unix:/x", "--from-dump", "d"]) == 2


# -- nameless rows: named by the import, renamed in place by apply --adopt ------------------------


def nameless(ovn: Sandbox, protocol: str, vips: dict[str, str], *datapaths: tuple[str, str]) -> str:
    """A row as `ovn-nbctl create load_balancer vips:...` makes it: no name; attached to ``datapaths``."""
    pairs = [f'vips:"{key}"="{value}"' for key, value in vips.items()]
    uuid = ovn.nbctl("create", "Load_Balancer", *pairs, f"protocol={protocol}").strip()
    for table, name in datapaths:
        ovn.nbctl("add", table, name, "load_balancer", uuid)
    return uuid


def nameless_site(ovn: Sandbox, tmp_path: Path) -> dict[str, str]:
    """A named row of prefix `site` and nameless rows beside it: with a health check,
    of udp, on the network and a gateway router, and alone on the gateway router.
    The _uuid of each nameless row, by the name the import gives it ('' when none)."""
    topology(ovn, tmp_path)
    ovn.nbctl("lr-add", "gw1", "--", "set", "Logical_Router", "gw1", "options:chassis=chassis-1")
    network = (("Logical_Router", "lr1"), ("Logical_Switch", "ls1"))
    ovn.nbctl("lb-add", "site-lb-10.0.0.110-tcp", "10.0.0.110:80", "10.0.0.11:80", "tcp")
    ovn.nbctl("lr-lb-add", "lr1", "site-lb-10.0.0.110-tcp")
    ovn.nbctl("ls-lb-add", "ls1", "site-lb-10.0.0.110-tcp")
    checked = nameless(ovn, "tcp", {"10.0.0.100:80": "10.0.0.11:8080,10.0.0.12:8080"}, *network)
    ovn.nbctl(
        "--id=@hc",
        "create",
        "Load_Balancer_Health_Check",
        'vip="10.0.0.100:80"',
        "options:interval=5",
        "options:timeout=3",
        "options:success_count=1",
        "options:failure_count=2",
        "--",
        "add",
        "Load_Balancer",
        checked,
        "health_check",
        "@hc",
    )
    ovn.nbctl("set", "Load_Balancer", checked, 'ip_port_mappings:"10.0.0.11"="vm1:10.0.0.254"')
    ovn.nbctl("set", "Load_Balancer", checked, 'ip_port_mappings:"10.0.0.12"="vm2:10.0.0.254"')
    udp = nameless(ovn, "udp", {"10.0.0.101:53": "10.0.0.11:53,10.0.0.12:53"}, *network)
    gateway = ("Logical_Router", "gw1")
    # On the network and on the gateway router: the gateway is an attach_router of a network of its own.
    both = nameless(ovn, "tcp", {"10.0.0.102:443": "10.0.0.12:443"}, *network, gateway)
    alone = nameless(ovn, "tcp", {"10.0.0.103:80": "10.0.0.11:80"}, gateway)  # no switch: no network
    return {
        "site-lb-10.0.0.100-tcp": checked,
        "site-lb-10.0.0.101-udp": udp,
        "lr1-lb-10.0.0.102-tcp": both,
        "": alone,
    }


def renamed(before: dict[str, list[dict[str, Any]]], names: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """``before`` with each nameless row of ``names`` (name -> _uuid) given its name."""
    by_uuid = {uuid: name for name, uuid in names.items() if name}
    rows = [{**row, "name": by_uuid.get(row["_uuid"], row["name"])} for row in before["Load_Balancer"]]
    return {**before, "Load_Balancer": rows}


def whole_nb(ovn: Sandbox, names: dict[str, str] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """Every NB table as dumped (OVSDB's JSON notation), ovn-lbc's marks left out; with
    ``names`` (name -> _uuid), those nameless rows shown as named."""
    found = tables_from_dump(nb_dump(ovn))
    for rows in found.values():
        for row in rows.values():
            ids = row.get("external_ids")
            if isinstance(ids, list) and ids[0] == "map":
                row["external_ids"] = ["map", [pair for pair in ids[1] if pair[0] not in MARKS]]
    for name, uuid in (names or {}).items():
        if name:
            found["Load_Balancer"][uuid]["name"] = name
    return found


@pytest.mark.parametrize("how", ["apply", "plan-file"])
def test_nameless_rows_are_named_and_renamed_in_place(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    names = nameless_site(ovn, tmp_path)
    before = whole_nb(ovn, names)
    assert whole_nb(ovn) != before  # the names are what apply will add
    out = tmp_path / "imported.yaml"
    capsys.readouterr()
    assert main(["import", "--db", ovn.nb_remote, "-o", str(out)]) == 4
    err = capsys.readouterr().err
    assert f"nameless row (_uuid {names['']}): left out: it is attached to router gw1 and no switch" in err
    for name, uuid in names.items():
        if name:
            assert f"nameless row (_uuid {uuid}): named {name}; apply --adopt renames it" in err
    dump = tmp_path / "nb.json"
    dump.write_text(nb_dump(ovn))
    copy = tmp_path / "from-dump.yaml"
    assert main(["import", "--from-dump", str(dump), "-o", str(copy)]) == 4
    assert copy.read_text() == out.read_text()
    text = out.read_text()
    assert "row_prefix: site" in text and "row_prefix: lr1" in text and "attach_routers:\n  - gw1" in text

    plan = tmp_path / "plan.txt"
    assert main(["plan", str(out), "--db", ovn.nb_remote, "--adopt", "-o", str(plan)]) == 0
    shown = plan.read_text()
    for name, uuid in names.items():
        if name:
            assert f'~ name: "" => "{name}"  (renamed in place, _uuid {uuid})' in shown
    assert shown.endswith("Plan: 0 to add, 4 to change, 0 to remove.\n")

    if how == "apply":
        assert main(["apply", str(out), "--db", ovn.nb_remote, "--adopt"]) == 0
    else:  # reviewed offline, from the same dump, and applied later
        saved = tmp_path / "plan.json"
        assert main(["plan", str(out), "--from-dump", str(dump), "--adopt", "--format", "json", "-o", str(saved)]) == 0
        live = tmp_path / "live.json"
        assert main(["plan", str(out), "--db", ovn.nb_remote, "--adopt", "--format", "json", "-o", str(live)]) == 0
        assert json.loads(saved.read_text()) == json.loads(live.read_text())
        assert main(["apply", "--plan-file", str(saved), "--db", ovn.nb_remote]) == 0
    # The whole database as it was, _uuids and attachments too; only the marks and the names are new.
    assert whole_nb(ovn) == before
    marked = {row["_uuid"]: row["external_ids"] for row in dump_table(ovn, "Load_Balancer")}
    assert {marked[uuid].get(OWNER_KEY) for name, uuid in names.items() if name} == {"site", "lr1"}
    assert OWNER_KEY not in marked[names[""]]
    assert main(["plan", str(out), "--db", ovn.nb_remote, "--detailed-exitcode"]) == 0


def test_nameless_rows_the_name_would_not_fit_are_left_out(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The name ovn-lbc would give is another row's, or two nameless rows' (ovn-lbc's one row);
    marked rows; a named row of another name stays left out, not renamed."""
    topology(ovn, tmp_path)
    network = (("Logical_Router", "lr1"), ("Logical_Switch", "ls1"))
    ovn.nbctl("lb-add", "lr1-lb-10.0.0.100-tcp", "10.0.0.100:80", "10.0.0.11:80", "tcp")  # attached nowhere
    taken = nameless(ovn, "tcp", {"10.0.0.100:81": "10.0.0.11:80"}, *network)
    first = nameless(ovn, "tcp", {"10.0.0.101:80": "10.0.0.11:80"}, *network)
    second = nameless(ovn, "tcp", {"10.0.0.101:81": "10.0.0.11:80"}, *network)
    marked = nameless(ovn, "tcp", {"10.0.0.102:80": "10.0.0.11:80"}, *network)
    ovn.nbctl("set", "Load_Balancer", marked, f'external_ids:"{OWNER_KEY}"=net1')
    ovn.nbctl("lb-add", "by-hand", "10.0.0.103:80", "10.0.0.11:80", "tcp")
    ovn.nbctl("lr-lb-add", "lr1", "by-hand")
    ovn.nbctl("ls-lb-add", "ls1", "by-hand")
    kept = nameless(ovn, "udp", {"10.0.0.104:53": "10.0.0.11:53"}, *network)
    capsys.readouterr()
    out = tmp_path / "imported.yaml"
    assert main(["import", "--db", ovn.nb_remote, "-o", str(out)]) == 4
    err = capsys.readouterr().err
    assert f"(_uuid {taken}): left out: the name ovn-lbc would give it, 'lr1-lb-10.0.0.100-tcp', is another" in err
    assert f"(_uuid {first}): left out: nameless row {second} would be named 'lr1-lb-10.0.0.101-tcp' too" in err
    assert f"(_uuid {second}): left out: nameless row {first} would be named" in err
    assert f"(_uuid {marked}): left out: it has no name but ovn-lbc's mark" in err
    assert "row 'by-hand'" in err and "does not follow" in err
    assert f"nameless row (_uuid {kept}): named lr1-lb-10.0.0.104-udp" in err
    # --match holds a nameless row to the name the import gives it.
    matched = tmp_path / "matched.yaml"
    assert main(["import", "--db", ovn.nb_remote, "--match", "lr1-lb-10.0.0.104-*", "-o", str(matched)]) == 0
    assert "10.0.0.104" in matched.read_text() and "10.0.0.101" not in matched.read_text()
    before = tables(ovn)
    assert main(["apply", str(out), "--db", ovn.nb_remote, "--adopt"]) == 0
    assert tables(ovn) == renamed(before, {"lr1-lb-10.0.0.104-udp": kept})
    assert main(["plan", str(out), "--db", ovn.nb_remote, "--detailed-exitcode"]) == 0


@pytest.mark.parametrize("forged", ["another-row", "a-named-row"])
def test_the_self_check_takes_only_the_renames_of_the_rows_it_named(
    ovn: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forged: str
) -> None:
    """A plan that would rename another row than the one the import named (or
    one with a name) is the plan changing a row: that load balancer is left out."""
    import compiler.importers.database as database
    from compiler.ovsdb.dumps import state_from_dump

    topology(ovn, tmp_path)
    uuid = nameless(ovn, "tcp", {"10.0.0.100:80": "10.0.0.11:80"}, ("Logical_Router", "lr1"), ("Logical_Switch", "ls1"))
    state = state_from_dump(nb_dump(ovn))
    assert import_database(state).named == ((uuid, "lr1-lb-10.0.0.100-tcp"),)
    real = database.make_plan

    def wrong(*args: Any, **kwargs: Any) -> Any:
        plan, problems = real(*args, **kwargs)
        changes = []
        for change in plan.changes:
            if change.rename is not None and change.existing is not None:
                if forged == "another-row":
                    change = replace(change, existing=replace(change.existing, uuid=UUID_ELSEWHERE))
                else:
                    change = replace(change, rename=("lb-by-hand", change.name))
            changes.append(change)
        return replace(plan, changes=tuple(changes)), problems

    monkeypatch.setattr(database, "make_plan", wrong)
    found = import_database(state)
    assert found.named == () and found.rows == 0
    assert [(left.uuid, left.reason) for left in found.left_out] == [(uuid, "applying the file would change its name")]
