"""`ovn-lbc import --from db`: a database's rows -> a file that `apply --adopt`
takes without changing anything but ovn-lbc's marks, and a plan after that is empty.

Each database is built the way a kind of site builds it (Incus-style rows,
hand-written ovn-nbctl sequences, LXD-style rows, a group on many switches),
on a real ovsdb-server and ovn-northd. The NB tables are compared with
their _uuids, the marks taken out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.lower import KIND_KEY, OWNER_KEY
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
    assert "nameless row" in err and "it has no name" in err
    # --match: only the rows named.
    out = tmp_path / "matched.yaml"
    assert main(["import", "--db", ovn.nb_remote, "--match", "site-lb-10.0.0.100-*", "-o", str(out)]) == 0
    assert "10.0.0.100" in out.read_text() and "10.0.0.102" not in out.read_text()


def test_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import"]) == 2
    assert main(["import", "--from", "db"]) == 2
    assert main(["import", "--from", "db", "--db", "unix:/x", "--from-dump", "d"]) == 2
