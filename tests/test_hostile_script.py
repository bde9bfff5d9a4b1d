"""The ovn-nbctl script under attack, on a real OVN: odd names, values too
long for one argument, transactions that fail half-way, and two runs at once."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from compiler import Compilation, compile_files
from compiler.cli import main
from compiler.emit.nbctl import emit_nbctl, nbctl_script
from compiler.lower import group_uuid
from compiler.sandbox import Sandbox, build_topology, set_ports_up

from .conftest import SAMPLES
from .helpers import apply_script, compile_text, dump_table, nb_dump, transact
from .test_ovn import nb_state, without_uuids

GROUP_SAMPLE = SAMPLES / "options-and-group.yaml"


def groups_and_marks(ovn: Sandbox) -> tuple[list[tuple[str, str, list[str]]], dict[str, str]]:
    """Each group with its _uuid and its members' names; ovn-lbc's marks."""
    names = {row["_uuid"]: row["name"] for row in dump_table(ovn, "Load_Balancer")}
    groups = [
        (g["name"], g["_uuid"], sorted(names[u] for u in _list(g["load_balancer"])))
        for g in dump_table(ovn, "Load_Balancer_Group")
    ]
    rows = dump_table(ovn, "NB_Global")
    ids: dict[str, str] = rows[0]["external_ids"] if rows else {}
    return sorted(groups), {k: v for k, v in ids.items() if k.startswith("ovn-lbc:group:")}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- A: names ------------------------------------------------------------------------------

DASHED = """\
networks:
  - name: n1
    row_prefix: -p1
    router: -r1
    switch: --s1
    ipv4_address: 10.0.0.1/24
    attach_switches: [-c1]
    attach_routers: [--r2]
    switch_ports:
      - {name: -lsp2, addresses: [10.0.0.2]}
    load_balancers:
      - listen_address: 192.0.2.10
        config: {healthcheck: "true"}
        backends: [{name: b2, target_address: 10.0.0.2}]
        ports: [{protocol: tcp, listen_port: "80", target_backend: [b2]}]
  - name: n2
    row_prefix: -p2
    router: -r3
    switch: -s3
    ipv4_address: 10.1.0.1/24
    lb_group: --g1
    forwards:
      - listen_address: 192.0.2.20
        ports: [{protocol: tcp, listen_port: "22", target_address: 10.1.0.2}]
"""


def test_names_starting_with_a_dash_are_operands_for_ovn_nbctl(ovn: Sandbox, tmp_path: Path) -> None:
    """ovn-nbctl reads options only before a command's name; every name in
    the script follows one, so "-r1" or "--s1" is a name like any other."""
    compilation = compile_text(tmp_path, DASHED)
    build_topology(ovn, compilation.document)
    apply_script(ovn, compilation)
    apply_script(ovn, compilation)  # and again: found by name, updated in place
    by_script = without_uuids(nb_state(ovn))
    assert sorted(by_script) == ["-p1-lb-192.0.2.10-tcp", "-p2-lb-192.0.2.20-tcp"]
    assert by_script["-p1-lb-192.0.2.10-tcp"]["attached"] == [
        "Logical_Router:--r2",
        "Logical_Router:-r1",
        "Logical_Switch:--s1",
        "Logical_Switch:-c1",
    ]
    assert by_script["-p1-lb-192.0.2.10-tcp"]["ip_port_mappings"] == {"10.0.0.2": "-lsp2:10.0.0.254"}
    assert by_script["-p2-lb-192.0.2.20-tcp"]["attached"] == [
        "Logical_Router:-r3 via --g1",
        "Logical_Switch:-s3 via --g1",
    ]
    with Sandbox(str(tmp_path / "apply"), northd=False) as other:  # apply, which names nothing on a command line
        build_topology(other, compilation.document)
        assert main(["apply", str(tmp_path / "input.yaml"), "--db", other.nb_remote]) == 0
        assert without_uuids(nb_state(other)) == by_script


def test_a_failed_transaction_leaves_no_group_behind(ovn: Sandbox) -> None:
    """The group is created in the script's one transaction (it used to be
    created before it, and stayed when the transaction failed)."""
    compilation = compile_files([str(GROUP_SAMPLE)])
    build_topology(ovn, compilation.document)
    ovn.nbctl("ls-del", "clients-b")  # the transaction fails on it
    before = nb_dump(ovn)
    result = ovn.run_script(emit_nbctl(compilation.changes, [GROUP_SAMPLE.name]))
    assert result.returncode != 0 and "clients-b" in result.stderr
    assert nb_dump(ovn) == before
    assert dump_table(ovn, "Load_Balancer_Group") == []


# -- B: the reason for E325, on real OVN ----------------------------------------------------


@pytest.mark.parametrize(("port", "monitors"), [("lsp2", 1), ("lsp:2", 0)])
def test_northd_cuts_ip_port_mappings_at_the_first_colon(ovn: Sandbox, port: str, monitors: int) -> None:
    ovn.nbctl("ls-add", "s1")
    ovn.nbctl("lsp-add", "s1", port)
    ovn.nbctl("lsp-set-addresses", port, "0a:00:00:00:00:02 10.0.0.2")
    set_ports_up(ovn, [port])
    ovn.nbctl(
        "lb-add", "lb", "192.0.2.10:80", "10.0.0.2:80", "tcp",
        "--", "--id=@hc", "create", "Load_Balancer_Health_Check", 'vip="192.0.2.10:80"',
        "--", "add", "Load_Balancer", "lb", "health_check", "@hc",
        "--", "set", "Load_Balancer", "lb", f'ip_port_mappings:"10.0.0.2"="{port}:10.0.0.254"',
        "--", "ls-lb-add", "s1", "lb",
    )  # fmt: skip
    ovn.sync()
    assert len(dump_table(ovn, "Service_Monitor", db="sb")) == monitors


# -- C: one argument over the kernel's limit -------------------------------------------------------


def _wide_pool(backends: int) -> str:
    entries = "".join(
        f"          - {{name: b{i}, target_address: 10.0.{i // 250}.{i % 250 + 2}}}\n" for i in range(backends)
    )
    names = ", ".join(f"b{i}" for i in range(backends))
    return (
        "networks:\n  - name: n1\n    row_prefix: p1\n    router: r1\n    switch: s1\n"
        "    ipv4_address: 10.0.255.1/16\n    load_balancers:\n      - listen_address: 192.0.2.10\n"
        f"        backends:\n{entries}        ports:\n"
        f'          - {{protocol: tcp, listen_port: "80", target_backend: [{names}]}}\n'
    )


def test_a_vips_value_over_128_kib_is_located_at_its_port_entry_and_nothing_is_written(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _wide_pool(12000)  # "10.0.x.y:80," 12,000 times: about 160 KB in one vips value
    path = tmp_path / "wide.yaml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "lb.sh"
    assert main(["compile", str(path), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    line = len(text.splitlines())  # the port entry, the last line
    assert f"{path}:{line}:13: error[E326]:" in err and "MAX_ARG_STRLEN" in err
    assert "`ovn-lbc apply`" in err and "nothing was written" in err
    assert err.count("error[E326]") == 1  # once, though lb-add and set both carry the value
    assert not out.exists()
    # What the check prevents: the script as it would be fails on the kernel's limit ...
    compilation = compile_files([str(path)])
    build_topology(ovn, compilation.document)
    result = ovn.run_script(nbctl_script(compilation.changes, ["wide.yaml"]).text)
    assert result.returncode != 0 and "Argument list too long" in result.stderr
    assert dump_table(ovn, "Load_Balancer") == []
    # ... and apply, which sends the value over the socket, has no such limit.
    assert main(["apply", str(path), "--db", ovn.nb_remote]) == 0
    assert len(dump_table(ovn, "Load_Balancer")[0]["vips"]["192.0.2.10:80"]) > 128 * 1024


# -- D: a script of several transactions -------------------------------------------------------


def _two_networks() -> Compilation:
    return compile_files([str(SAMPLES / "forward-and-lb.yaml"), str(GROUP_SAMPLE)])


def test_a_split_script_says_it_is_not_atomic_in_its_header_and_a_warning() -> None:
    compilation = _two_networks()
    script = nbctl_script(compilation.changes, ["x"], budget=0)  # one transaction per row
    rows = len(compilation.changes.rows) + len(compilation.changes.nats)  # a NAT row is a row too
    assert script.transactions == rows + 1  # and one that attaches the group
    header = script.text.split("set -eu", 1)[0]
    assert "NOT ATOMIC" in header and f"{rows + 1} transactions" in header and "ovn-lbc apply" in header
    [found] = script.diagnostics
    second = compilation.changes.rows[1].source
    assert (found.code, found.span, found.is_error) == ("W004", second, False)
    assert "not atomic" in found.message and "ovn-lbc apply" in found.notes[0]
    whole = nbctl_script(compilation.changes, ["x"])
    assert whole.transactions == 1 and whole.diagnostics == () and "NOT ATOMIC" not in whole.text


def test_a_rerun_after_a_later_transaction_failed_converges_to_one_clean_run(ovn: Sandbox, tmp_path: Path) -> None:
    compilation = _two_networks()
    build_topology(ovn, compilation.document)
    ovn.nbctl("ls-del", "clients-b")  # the transactions of net50's rows fail on it
    script = emit_nbctl(compilation.changes, ["x"], budget=0)
    result = ovn.run_script(script)
    assert result.returncode != 0
    assert "stays committed" in result.stderr and "run the script again" in result.stderr
    committed = {row["name"] for row in dump_table(ovn, "Load_Balancer")}
    assert committed and committed < {row.name for row in compilation.changes.rows}  # half-way, as the header warns

    build_topology(ovn, compilation.document)  # the cause fixed: the switch is back
    result = ovn.run_script(script)
    assert result.returncode == 0, result.stderr
    with Sandbox(str(tmp_path / "clean"), northd=False) as clean:
        build_topology(clean, compilation.document)
        apply_script(clean, compilation)  # one transaction
        assert without_uuids(nb_state(ovn)) == without_uuids(nb_state(clean))
        groups, marks = groups_and_marks(ovn)
        assert (groups, marks) == groups_and_marks(clean)
        assert groups[0][1] == group_uuid("net50-lbs") and marks == {"ovn-lbc:group:net50-lbs": groups[0][1]}


def test_the_script_splits_only_where_the_exact_argument_bytes_require_it(ovn: Sandbox, tmp_path: Path) -> None:
    """Quoting makes each ' four characters in the script but it is one byte
    of the argument: the size that decides a split is the argument's."""
    data = yaml.safe_load((SAMPLES / "forward-and-lb.yaml").read_text(encoding="utf-8"))
    data["networks"][0]["load_balancers"][0]["description"] = "'" * 20_000
    compilation = compile_text(tmp_path, yaml.safe_dump(data))
    quoted = len(emit_nbctl(compilation.changes, ["x"]).encode())
    budget = 40_000  # well over the arguments (about 26 KB with pointers), well under the quoted text
    assert quoted > 80_000
    script = nbctl_script(compilation.changes, ["x"], budget=budget)
    assert script.transactions == 1 and script.diagnostics == ()
    build_topology(ovn, compilation.document)
    result = ovn.run_script(script.text)
    assert result.returncode == 0, result.stderr
    descriptions = [row["external_ids"].get("ovn-lbc:description") for row in dump_table(ovn, "Load_Balancer")]
    assert "'" * 20_000 in descriptions


# -- E: two runs at once ----------------------------------------------------------------------

ROWS_ONLY = [{"op": "delete", "table": "Load_Balancer", "where": []}]
AND_GROUPS = [
    *ROWS_ONLY,
    {"op": "update", "table": "Logical_Switch", "where": [], "row": {"load_balancer_group": ["set", []]}},
    {"op": "update", "table": "Logical_Router", "where": [], "row": {"load_balancer_group": ["set", []]}},
    {"op": "delete", "table": "Load_Balancer_Group", "where": []},
    {"op": "update", "table": "NB_Global", "where": [], "row": {"external_ids": ["map", []]}},
]


@pytest.mark.parametrize(
    ("sample", "keep_group"),
    [("forward-and-lb.yaml", False), ("options-and-group.yaml", True), ("options-and-group.yaml", False)],
    ids=["no-group", "group-there", "group-to-create"],
)
def test_two_runs_at_once_never_make_two_rows_of_one_name(tmp_path: Path, sample: str, keep_group: bool) -> None:
    """20 rounds, each from a database without the rows: two runs of one
    script at once. Both succeed (the later one retries on a fresh copy),
    except when both create one group: then one may fail, having written nothing."""
    compilation = compile_files([str(SAMPLES / sample)])
    names = sorted(row.name for row in compilation.changes.rows)
    with Sandbox(str(tmp_path / "ovn"), northd=False) as ovn:
        build_topology(ovn, compilation.document)
        ovn.nbctl("init")
        script = ovn.directory / "lb.sh"
        script.write_text(emit_nbctl(compilation.changes, [sample]), encoding="utf-8")
        reset = json.dumps(["OVN_Northbound", *(ROWS_ONLY if keep_group else AND_GROUPS)])
        if keep_group:
            assert ovn.run_script(script.read_text(encoding="utf-8")).returncode == 0
        deadline = time.monotonic() + 120
        for _ in range(20):
            assert time.monotonic() < deadline, "20 rounds took over 2 minutes"
            assert not any(isinstance(r, dict) and "error" in r for r in transact(ovn, reset))
            runs = [
                subprocess.Popen(["sh", str(script)], env=ovn.env, stderr=subprocess.PIPE, text=True) for _ in range(2)
            ]
            results = [(run.wait(timeout=60), run.communicate()[1]) for run in runs]
            rows = Counter(row["name"] for row in dump_table(ovn, "Load_Balancer"))
            assert sorted(rows) == names and set(rows.values()) == {1}, rows
            failed = [err for status, err in results if status != 0]
            if compilation.changes.groups and not keep_group:
                assert len(failed) <= 1 and all("Load_Balancer_Group" in err for err in failed), failed
                groups, marks = groups_and_marks(ovn)
                assert [(name, uuid) for name, uuid, _ in groups] == [("net50-lbs", group_uuid("net50-lbs"))]
                assert marks == {"ovn-lbc:group:net50-lbs": group_uuid("net50-lbs")} and groups[0][2] == names
            else:
                assert failed == []
                if keep_group:
                    assert [(name, members) for name, _, members in groups_and_marks(ovn)[0]] == [("net50-lbs", names)]
