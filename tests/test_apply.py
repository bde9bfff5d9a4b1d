"""`ovn-lbc apply` against real ovsdb-server (and ovn-northd for --wait)."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.sandbox import Sandbox, build_topology

from .conftest import SAMPLES, sample_paths
from .helpers import apply_script, dump_table, nb_dump
from .test_ovn import nb_state, without_uuids


@pytest.mark.parametrize("sample", sample_paths() + sorted(SAMPLES.glob("*.lb")), ids=lambda p: p.name)
def test_apply_gives_exactly_the_rows_of_the_script(ovn: Sandbox, tmp_path: Path, sample: Path) -> None:
    compilation = compile_files([str(sample)])
    build_topology(ovn, compilation.document)
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    applied = without_uuids(nb_state(ovn))
    with Sandbox(str(tmp_path / "script"), northd=False) as other:
        build_topology(other, compilation.document)
        apply_script(other, compilation)
        assert without_uuids(nb_state(other)) == applied


def test_apply_reads_ovn_nb_db_and_waits_for_northd(
    ovn: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    monkeypatch.setenv("OVN_NB_DB", ovn.nb_remote)
    assert main(["apply", str(sample), "--wait=sb", "--timeout", "30"]) == 0
    assert f"to {ovn.nb_remote}" in capsys.readouterr().err
    nb_global = dump_table(ovn, "NB_Global")[0]
    assert nb_global["nb_cfg"] >= 1 and nb_global["sb_cfg"] == nb_global["nb_cfg"]
    # northd has already made the monitors: --wait=sb returned after it caught up.
    assert len(dump_table(ovn, "Service_Monitor", db="sb")) == 3


def test_a_missing_router_is_an_error_at_the_network_and_changes_nothing(
    ovn: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "forward-and-lb.yaml"
    ovn.nbctl("ls-add", "incus-net49-ls-int")  # the router is missing
    before = nb_dump(ovn)
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 1
    err = capsys.readouterr().err
    assert "forward-and-lb.yaml:8:13: error[E400]: the database has no Logical_Router row named 'incus-net49-lr'" in err
    assert "nothing was written" in err
    assert nb_dump(ovn) == before


def test_unreachable_database_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    remote = f"unix:{tmp_path / 'nope.sock'},tcp:127.0.0.1:1"
    assert main(["apply", str(SAMPLES / "ipv4-healthcheck.yaml"), "--db", remote]) == 3
    assert "cannot connect to any remote" in capsys.readouterr().err


def test_apply_over_tcp(ovn: Sandbox) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run(
        ["ovs-appctl", "-t", str(ovn.directory / "nb.ctl"), "ovsdb-server/add-remote", f"ptcp:{port}:127.0.0.1"],
        env=ovn.env,
        check=True,
        capture_output=True,
    )
    sample = SAMPLES / "port-ranges.json"
    build_topology(ovn, compile_files([str(sample)]).document)
    assert main(["apply", str(sample), "--db", f"tcp:127.0.0.1:{port}"]) == 0
    assert len(dump_table(ovn, "Load_Balancer")) == 2


def test_apply_again_sends_nothing_and_keeps_every_uuid(ovn: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    sample = SAMPLES / "forward-and-lb.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    ovn.nbctl("lb-add", "someone-elses-lb", "192.0.2.1:80", "10.0.0.1:80")
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    first = nb_dump(ovn)
    capsys.readouterr()
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    assert "no changes; nothing sent" in capsys.readouterr().err
    assert nb_dump(ovn) == first  # byte for byte, UUIDs included


def _race_after_read(monkeypatch: pytest.MonkeyPatch, race: Callable[[], None]) -> None:
    """Run ``race`` (another client's change) right after apply has read the database."""
    from compiler import apply as apply_module

    real_read = apply_module.read_state

    def read_then_race(connection: Any, *args: Any) -> Any:
        state = real_read(connection, *args)
        race()
        return state

    monkeypatch.setattr(apply_module, "read_state", read_then_race)


def test_a_row_changed_between_read_and_commit_aborts_the_apply(
    ovn: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    edited = tmp_path / "edited.yaml"
    edited.write_text(sample.read_text().replace('target_port: "8080"', 'target_port: "8081"', 1))
    name = "incus-net49-lb-10.171.5.10-tcp"
    _race_after_read(monkeypatch, lambda: ovn.nbctl("set", "Load_Balancer", name, "external_ids:someone=else"))
    assert main(["apply", str(edited), "--db", ovn.nb_remote]) == 3
    err = capsys.readouterr().err
    assert f"Load_Balancer row '{name}'" in err and "was changed or deleted since ovn-lbc read the database" in err
    assert "nothing was applied" in err
    row = dump_table(ovn, "Load_Balancer")[0]
    assert row["external_ids"]["someone"] == "else"  # the other client's change stands
    assert "8081" not in json.dumps(row["vips"])  # and none of ours went in


def test_a_request_cut_short_while_it_is_made_changes_nothing(ovn: Sandbox) -> None:
    """apply makes its operations as it sends them (emit.ovsdb.PlannedTransaction):
    when making one fails after thousands went out, the server got no whole
    request, so it applied nothing."""
    from compiler.ovsdb.client import connect

    def inserts(count: int) -> Iterator[Any]:
        yield "OVN_Northbound"
        for number in range(count):
            yield {"op": "insert", "table": "Load_Balancer", "row": {"name": f"lb{number}", "protocol": "tcp"}}

    def failing() -> Iterator[Any]:
        yield from inserts(5000)
        raise RuntimeError("a bug while the transaction was being made")

    before = nb_dump(ovn)
    with connect(ovn.nb_remote, "OVN_Northbound") as connection:
        with pytest.raises(RuntimeError):
            connection.call("transact", failing())
    assert nb_dump(ovn) == before
    # The same operations, whole, go in: a streamed request is an ordinary one.
    with connect(ovn.nb_remote, "OVN_Northbound") as connection:
        assert len(connection.call("transact", inserts(5000))) == 5000
    assert len(dump_table(ovn, "Load_Balancer")) == 5000


def test_a_row_created_between_read_and_commit_aborts_the_apply(
    ovn: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    name = "incus-net49-lb-10.171.5.10-tcp"
    _race_after_read(monkeypatch, lambda: ovn.nbctl("lb-add", name, "192.0.2.7:80", "10.0.0.1:80"))
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 3
    assert f"a Load_Balancer row named '{name}' was created" in capsys.readouterr().err
    assert [row["vips"] for row in dump_table(ovn, "Load_Balancer")] == [{"192.0.2.7:80": "10.0.0.1:80"}]
