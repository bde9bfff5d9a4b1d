"""`ovn-lbc import --from db`: a database's rows -> a file that `apply --adopt`
takes without changing anything but ovn-lbc's marks, and a plan after that is empty.

Each database is built the way a kind of site builds it (Incus-style rows,
hand-written ovn-nbctl sequences, LXD-style rows, a group on many switches),
on a real ovsdb-server and ovn-northd. The NB tables are compared with
their _uuids, the marks taken out.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.codes import CODES, DOCTOR_CODES, IMPORT_CODES
from compiler.importers.database import import_database
from compiler.ir import format_ports
from compiler.lower import KIND_KEY, OWNER_KEY
from compiler.ovn_versions import OvnVersion
from compiler.ovsdb.dumps import tables_from_dump
from compiler.sandbox import Sandbox, build_topology

from .conftest import require_ovn, sample_paths
from .helpers import dump_table, nb_dump
from .test_schemas import need, release_of_file, schema_files

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
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


def wanted_rows(path: Path) -> list[tuple[Any, ...]]:
    """What a file lowers to, but the marks (the imported network may have another name)."""
    return sorted(
        (
            row.name,
            row.protocol,
            row.vips,
            row.ip_port_mappings,
            tuple((check.vip, check.options) for check in row.health_checks),
            row.options,
            row.selection_fields,
            row.datapaths,
            row.group,
        )
        for row in compile_files([str(path)]).changes.rows
    )


@pytest.mark.parametrize("to", ["yaml", "dsl"])
@pytest.mark.parametrize("sample", sample_paths(), ids=lambda path: path.name)
def test_every_sample_round_trips_with_nothing_left_out(ovn: Sandbox, tmp_path: Path, sample: Path, to: str) -> None:
    """Each sample applied, its marks taken away (another tool's rows), imported:
    nothing left out (exit 0), and the file lowers to the sample's very rows."""
    build_topology(ovn, compile_files([str(sample)]).document)
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    strip_marks(ovn)
    out = round_trip(ovn, tmp_path, to=to)
    assert wanted_rows(out) == wanted_rows(sample)


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


def check_by_hand(ovn: Sandbox, row: str, vip: str) -> None:
    """A health check as ovn-nbctl users add one, in three steps: the check (not a
    root table: created and referred to in one invocation, or collected), then the
    mappings of backends 10.0.0.11 and .12 (switch ports vm1, vm2), probed from .254."""
    ovn.nbctl(
        "--id=@hc",
        "create",
        "Load_Balancer_Health_Check",
        f'vip="{vip}"',
        "options:interval=5",
        "options:timeout=3",
        "options:success_count=1",
        "options:failure_count=2",
        "--",
        "add",
        "Load_Balancer",
        row,
        "health_check",
        "@hc",
    )
    ovn.nbctl("set", "Load_Balancer", row, 'ip_port_mappings:"10.0.0.11"="vm1:10.0.0.254"')
    ovn.nbctl("set", "Load_Balancer", row, 'ip_port_mappings:"10.0.0.12"="vm2:10.0.0.254"')


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
    check_by_hand(ovn, name, "10.0.0.100:80")
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


def test_lxd_pool_rows_round_trip(ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """samples/lxd-pool.yaml sends instance c1's 10.24.140.50 to port 80 (pool
    http) and to port 22 (backend c1-ssh), and c3's 10.24.140.52 to 8080 (http)
    and 53 (dns): no one target_port says that, so each becomes two backends."""
    path = SAMPLES / "lxd-pool.yaml"
    build_topology(ovn, compile_files([str(path)]).document)
    assert main(["apply", str(path), "--db", ovn.nb_remote]) == 0
    strip_marks(ovn)
    capsys.readouterr()
    out = round_trip(ovn, tmp_path)
    err = capsys.readouterr().err
    assert "left out" not in err and "3 Load_Balancer rows imported" in err
    assert wanted_rows(out) == wanted_rows(path)
    lb = compile_files([str(out)]).document.networks[0].load_balancers[0]
    split = sorted((str(b.target_address), str(b.target_ports)) for b in lb.backends)
    assert [address for address, _ in split].count("10.24.140.50") == 2
    assert [address for address, _ in split].count("10.24.140.52") == 2
    assert len(lb.backends) == 5  # .50 twice, .51 once (port 80 and 53, each its listen port), .52 twice


def test_a_backend_sent_to_other_ports_by_each_port_entry(ovn: Sandbox, tmp_path: Path) -> None:
    """By hand: 10.0.0.11 goes from tcp 22 to 2222, from tcp 80 to 8080, from
    tcp 8000-8001 to 9000-9001 and from udp 8080 to 8080. No one target_port
    says that: three backends of that address, the one of 8080 used by tcp 80
    and udp 8080 both (there "8080" and "none" would do: one backend fewer)."""
    topology(ovn, tmp_path)
    for name, vip, backends, protocol in (
        ("site-lb-10.0.0.100-tcp", "10.0.0.100:22", "10.0.0.11:2222", "tcp"),
        ("site-lb-10.0.0.100-tcp", "10.0.0.100:80", "10.0.0.11:8080,10.0.0.12:80", "tcp"),
        ("site-lb-10.0.0.100-tcp", "10.0.0.100:8000", "10.0.0.11:9000", "tcp"),
        ("site-lb-10.0.0.100-tcp", "10.0.0.100:8001", "10.0.0.11:9001", "tcp"),
        ("site-lb-10.0.0.100-udp", "10.0.0.100:8080", "10.0.0.11:8080", "udp"),
    ):
        ovn.nbctl("lb-add", name, vip, backends, protocol)
    for row in ("site-lb-10.0.0.100-tcp", "site-lb-10.0.0.100-udp"):
        ovn.nbctl("lr-lb-add", "lr1", row)
        ovn.nbctl("ls-lb-add", "ls1", row)
    out = round_trip(ovn, tmp_path)
    lb = compile_files([str(out)]).document.networks[0].load_balancers[0]
    # Named after the switch port; an address's backends together, in the order its port entries use them.
    assert [(b.name, str(b.target_address), format_ports(b.target_ports)) for b in lb.backends] == [
        ("vm1", "10.0.0.11", "2222"),
        ("vm1-2", "10.0.0.11", "8080"),
        ("vm1-3", "10.0.0.11", "9000-9001"),
        ("vm2", "10.0.0.12", ""),
    ]
    assert [(p.protocol, format_ports(p.listen_ports), p.target_backends) for p in lb.ports] == [
        ("tcp", "22", ("vm1",)),
        ("tcp", "80", ("vm1-2", "vm2")),
        ("tcp", "8000-8001", ("vm1-3",)),
        ("udp", "8080", ("vm1-2",)),
    ]


def hc_variant(tmp_path: Path) -> Path:
    """samples/lxd-pool.yaml with LXD's default, health-checked pools (so OVN 26.03)."""
    text = (SAMPLES / "lxd-pool.yaml").read_text()
    text = text.replace("version: 1\n", 'version: 1\ntarget_ovn: "26.03"\n')
    text = text.replace('healthcheck: "false"', 'healthcheck: "true"\n          healthcheck.interval: "7"', 1)
    text = text.replace('healthcheck: "false"', 'healthcheck: "true"')
    path = tmp_path / "lxd-pool-checked.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("to", ["yaml", "dsl"])
def test_health_checked_lxd_pools_round_trip_as_pools(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], to: str
) -> None:
    """A health-checked pool's VIP beside a backend's in one row (LXD's default:
    pools are checked, backends not) has a health check on some VIPs only, and
    two pools' checks differ: one load balancer's health check cannot say it, so
    the checked VIPs are imported as pools (instances named after their switch
    ports), probed from the router's address as LXD's are. 26.03's schema, as
    LXD needs it; no northd."""
    require_ovn()
    path = hc_variant(tmp_path)
    newest = [schema for schema in schema_files() if release_of_file(schema).series >= (26, 3)]
    schema = need(newest[0] if newest else None)
    with Sandbox(str(tmp_path / "ovn2603"), nb_schema=str(schema), northd=False) as server:
        build_topology(server, compile_files([str(path)]).document)
        assert main(["apply", str(path), "--db", server.nb_remote]) == 0
        strip_marks(server)
        assert len(dump_table(server, "Load_Balancer_Health_Check")) == 3
        capsys.readouterr()
        out = round_trip(server, tmp_path, to=to)
        err = capsys.readouterr().err
    assert "left out" not in err and "3 Load_Balancer rows imported" in err
    assert wanted_rows(out) == wanted_rows(path)
    network = compile_files([str(out)]).document.networks[0]
    assert sorted((pool.protocol, pool.health_check) for pool in network.pools) == sorted(
        (pool.protocol, pool.health_check) for pool in compile_files([str(path)]).document.networks[0].pools
    )
    target = compile_files([str(out)]).document.declared_target
    assert target is not None and target.version == OvnVersion(26, 3)


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
    assert "warning[I002]: row 'lb-by-hand'" in err and "does not follow" in err
    assert "warning[I010]: row 'site-lb-10.0.0.103-tcp'" in err and "attached to no router or switch" in err
    # A nameless row attached nowhere is in no network to be named in.
    assert "warning[I010]: nameless row" in err and "attached to no router or switch" in err
    # --match: only the rows named.
    out = tmp_path / "matched.yaml"
    assert main(["import", "--db", ovn.nb_remote, "--match", "site-lb-10.0.0.100-*", "-o", str(out)]) == 0
    assert "10.0.0.100" in out.read_text() and "10.0.0.102" not in out.read_text()


def test_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import"]) == 2
    assert main(["import", "--from", "db"]) == 2
    assert main(["import", "--from", "db", "--db", "unix:/x", "--from-dump", "d"]) == 2


def left_out_codes(err: str) -> dict[str, str]:
    """Row name (or "nameless") -> the code of its left-out line."""
    found = {}
    for line in err.splitlines():
        match = re.fullmatch(
            r"ovn-lbc: import: warning\[(I\d{3})\]: (?:row '([^']*)'|(nameless) row|NAT row ([^(]*)) "
            r"\(_uuid [0-9a-f-]+\): left out: .+",
            line,
        )
        if match:
            found[match[2] or match[3] or match[4].strip()] = match[1]
        else:
            assert "left out:" not in line, line
    return found


def test_each_kind_of_row_left_out_has_its_code(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One row of each kind the file cannot describe: each is left out with
    its stable code (what scripts match on), the rest is imported and round-trips."""
    topology(ovn, tmp_path)

    def attached(name: str) -> None:
        ovn.nbctl("lr-lb-add", "lr1", name)
        ovn.nbctl("ls-lb-add", "ls1", name)

    ovn.nbctl("lb-add", "site-lb-10.0.0.100-tcp", "10.0.0.100:80", "10.0.0.11:80", "tcp")  # fine
    attached("site-lb-10.0.0.100-tcp")
    # A nameless row with ovn-lbc's mark: ovn-lbc names every row it makes, so it renames none of those.
    ovn.nbctl(
        "create",
        "Load_Balancer",
        'vips:"10.0.0.101:80"="10.0.0.11:80"',
        "protocol=tcp",
        'external_ids:"ovn-lbc:network"=gone',
    )
    ovn.nbctl("lb-add", "lb-by-hand", "10.0.0.102:80", "10.0.0.11:80", "tcp")
    attached("lb-by-hand")
    ovn.nbctl("lb-add", "site-lb-10.0.0.103-tcp", "10.0.0.103:80", "10.0.0.11:80", "tcp")  # attached nowhere
    # Two rows of one name.
    ovn.nbctl("lb-add", "site-lb-10.0.0.104-tcp", "10.0.0.104:80", "10.0.0.11:80", "tcp")
    ovn.nbctl("--add-duplicate", "lb-add", "site-lb-10.0.0.104-tcp", "10.0.0.104:81", "10.0.0.11:80", "tcp")
    # A template load balancer (OVN 23.03's ^VARIABLES).
    ovn.nbctl(
        "create",
        "Load_Balancer",
        "name=site-lb-10.0.0.105-tcp",
        "protocol=tcp",
        'vips:"^vip:^vport"="^backends"',
        "options:template=true",
        "options:address-family=ipv4",
    )
    attached("site-lb-10.0.0.105-tcp")
    # Two addresses in one row.
    ovn.nbctl("lb-add", "site-lb-10.0.0.106-tcp", "10.0.0.106:80", "10.0.0.11:80", "tcp")
    ovn.nbctl("lb-add", "site-lb-10.0.0.106-tcp", "10.0.0.107:80", "10.0.0.11:80", "tcp")
    attached("site-lb-10.0.0.106-tcp")
    # A port-less VIP: an older forward's default target.
    ovn.nbctl("create", "Load_Balancer", "name=site-lb-10.0.0.108-tcp", "protocol=tcp", 'vips:"10.0.0.108"="10.0.0.11"')
    attached("site-lb-10.0.0.108-tcp")
    # A backend outside the network's subnet: the checks refuse the file (E306).
    ovn.nbctl("lb-add", "site-lb-10.0.0.109-tcp", "10.0.0.109:80", "192.168.9.9:80", "tcp")
    attached("site-lb-10.0.0.109-tcp")
    # Health checked, and a mapping of an address that is no backend: apply would remove it.
    ovn.nbctl("lb-add", "site-lb-10.0.0.110-tcp", "10.0.0.110:80", "10.0.0.11:80", "tcp")
    attached("site-lb-10.0.0.110-tcp")
    check_by_hand(ovn, "site-lb-10.0.0.110-tcp", "10.0.0.110:80")
    # An option ovn-lbc writes only as true.
    ovn.nbctl("lb-add", "site-lb-10.0.0.111-tcp", "10.0.0.111:80", "10.0.0.11:80", "tcp")
    ovn.nbctl("set", "Load_Balancer", "site-lb-10.0.0.111-tcp", "options:reject=false")
    attached("site-lb-10.0.0.111-tcp")
    # One VIP health checked, one not, probed from the network's .254: no LXD pool's VIP (the router's address).
    ovn.nbctl("lb-add", "site-lb-10.0.0.112-tcp", "10.0.0.112:80", "10.0.0.11:80", "tcp")
    ovn.nbctl("lb-add", "site-lb-10.0.0.112-tcp", "10.0.0.112:81", "10.0.0.11:81", "tcp")
    attached("site-lb-10.0.0.112-tcp")
    ovn.nbctl(
        "--id=@hc",
        "create",
        "Load_Balancer_Health_Check",
        'vip="10.0.0.112:80"',
        *(f"options:{key}=3" for key in ("interval", "timeout", "success_count", "failure_count")),
        "--",
        "add",
        "Load_Balancer",
        "site-lb-10.0.0.112-tcp",
        "health_check",
        "@hc",
    )
    ovn.nbctl("set", "Load_Balancer", "site-lb-10.0.0.112-tcp", 'ip_port_mappings:"10.0.0.11"="vm1:10.0.0.254"')
    # The tcp and udp rows of one address with different descriptions.
    for protocol in ("tcp", "udp"):
        ovn.nbctl("lb-add", f"site-lb-10.0.0.113-{protocol}", "10.0.0.113:53", "10.0.0.11:53", protocol)
        attached(f"site-lb-10.0.0.113-{protocol}")
    ovn.nbctl("set", "Load_Balancer", "site-lb-10.0.0.113-udp", 'external_ids:"ovn-lbc:description"=dns')
    # Attached to a clients' switch only: no router and switch of one network.
    ovn.nbctl("lb-add", "site-lb-10.0.0.114-tcp", "10.0.0.114:80", "10.0.0.11:80", "tcp")
    ovn.nbctl("ls-lb-add", "clients1", "site-lb-10.0.0.114-tcp")
    # In two groups.
    ovn.nbctl("lb-add", "site-lb-10.0.0.115-tcp", "10.0.0.115:80", "10.0.0.11:80", "tcp")
    uuid = ovn.nbctl("--bare", "--columns=_uuid", "find", "Load_Balancer", "name=site-lb-10.0.0.115-tcp").strip()
    for group in ("g1", "g2"):
        ovn.nbctl("create", "Load_Balancer_Group", f"name={group}", f"load_balancer={uuid}")
    # ip_port_mappings without a health check.
    ovn.nbctl("lb-add", "site-lb-10.0.0.116-tcp", "10.0.0.116:80", "10.0.0.11:80", "tcp")
    ovn.nbctl("set", "Load_Balancer", "site-lb-10.0.0.116-tcp", 'ip_port_mappings:"10.0.0.11"="vm1:10.0.0.254"')
    attached("site-lb-10.0.0.116-tcp")
    # A VIP naming one backend twice.
    ovn.nbctl("lb-add", "site-lb-10.0.0.117-tcp", "10.0.0.117:80", "10.0.0.11:80,10.0.0.11:81", "tcp")
    attached("site-lb-10.0.0.117-tcp")
    # No VIPs at all.
    ovn.nbctl("create", "Load_Balancer", "name=site-lb-10.0.0.118-tcp", "protocol=tcp")
    # A udp name on a tcp row.
    ovn.nbctl("lb-add", "site-lb-10.0.0.119-udp", "10.0.0.119:80", "10.0.0.11:80", "tcp")
    attached("site-lb-10.0.0.119-udp")
    # An ovn-lbc key ovn-lbc never writes.
    ovn.nbctl("lb-add", "site-lb-10.0.0.120-tcp", "10.0.0.120:80", "10.0.0.11:80", "tcp")
    ovn.nbctl("set", "Load_Balancer", "site-lb-10.0.0.120-tcp", 'external_ids:"ovn-lbc:colour"=blue')
    attached("site-lb-10.0.0.120-tcp")
    # A forward (so marked) whose VIP has two targets.
    ovn.nbctl("lb-add", "site-lb-10.0.0.121-tcp", "10.0.0.121:80", "10.0.0.11:80,10.0.0.12:80", "tcp")
    ovn.nbctl("set", "Load_Balancer", "site-lb-10.0.0.121-tcp", 'external_ids:"ovn-lbc:kind"=forward')
    attached("site-lb-10.0.0.121-tcp")
    # A stateless dnat row: a default target is written with options:stateless=false.
    ovn.nbctl("lr-nat-add", "lr1", "dnat", "10.0.0.122", "10.0.0.11")
    nat = ovn.nbctl("--bare", "--columns=_uuid", "find", "NAT", "external_ip=10.0.0.122").strip()
    ovn.nbctl("set", "NAT", nat, "options:stateless=true")
    # A dnat row whose logical_ip (a string column) is no address.
    ovn.nbctl("lr-nat-add", "lr1", "dnat", "10.0.0.123", "10.0.0.12")
    nat = ovn.nbctl("--bare", "--columns=_uuid", "find", "NAT", "external_ip=10.0.0.123").strip()
    ovn.nbctl("set", "NAT", nat, "logical_ip=somewhere")
    capsys.readouterr()
    out = round_trip(ovn, tmp_path, expect=4)
    codes = left_out_codes(capsys.readouterr().err)
    assert codes == {
        "nameless": "I001",
        "lb-by-hand": "I002",
        "site-lb-10.0.0.104-tcp": "I003",
        "site-lb-10.0.0.105-tcp": "I005",
        "site-lb-10.0.0.106-tcp": "I004",
        "site-lb-10.0.0.108-tcp": "I006",
        "site-lb-10.0.0.103-tcp": "I010",
        "site-lb-10.0.0.111-tcp": "I015",
        "site-lb-10.0.0.109-tcp": "I020",
        "site-lb-10.0.0.110-tcp": "I021",
        "site-lb-10.0.0.112-tcp": "I013",
        "site-lb-10.0.0.113-tcp": "I017",
        "site-lb-10.0.0.113-udp": "I017",
        "site-lb-10.0.0.114-tcp": "I011",
        "site-lb-10.0.0.115-tcp": "I012",
        "site-lb-10.0.0.116-tcp": "I014",
        "site-lb-10.0.0.117-tcp": "I007",
        "site-lb-10.0.0.118-tcp": "I008",
        "site-lb-10.0.0.119-udp": "I009",
        "site-lb-10.0.0.120-tcp": "I016",
        "site-lb-10.0.0.121-tcp": "I018",
        "dnat 10.0.0.122 on lr1": "I019",
        "dnat 10.0.0.123 on lr1": "I019",
    }
    assert set(codes.values()) == set(IMPORT_CODES)  # every code has its row here
    assert "10.0.0.100" in out.read_text()


def test_the_import_codes_are_registered_used_and_documented() -> None:
    """Each I code: in IMPORT_CODES, raised somewhere in the importer, listed in
    docs/diagnostics.md and docs/import.md; no other code family has it."""
    registered = set(IMPORT_CODES)
    assert registered == {f"I{number:03d}" for number in range(1, len(registered) + 1)}
    assert not registered & (set(CODES) | set(DOCTOR_CODES))
    source = "".join(
        (ROOT / "compiler" / "importers" / name).read_text()
        for name in ("database.py", "database_model.py", "database_rows.py")
    )
    assert set(re.findall(r'"(I\d{3})"', source)) == registered
    for doc in ("diagnostics.md", "import.md"):
        listed = set(re.findall(r"^\| (I\d{3}) \|", (ROOT / "docs" / doc).read_text(), re.MULTILINE))
        assert listed == registered, (doc, listed ^ registered)


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
    check_by_hand(ovn, checked, "10.0.0.100:80")
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
