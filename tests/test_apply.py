"""`ovn-lbc apply` against real ovsdb-server (and ovn-northd for --wait)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.sandbox import Sandbox, build_topology

from .conftest import SAMPLES, sample_paths
from .helpers import apply_script, dump_table
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


def test_failed_apply_exits_3_names_the_operation_and_changes_nothing(
    ovn: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = SAMPLES / "forward-and-lb.yaml"
    ovn.nbctl("ls-add", "incus-net49-ls-int")  # the router is missing
    before = subprocess.run(
        ["ovsdb-client", "dump", ovn.nb_remote], env=ovn.env, capture_output=True, text=True, check=True
    ).stdout
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 3
    err = capsys.readouterr().err
    assert "wait Logical_Router) on 'incus-net49-lr'" in err
    assert "forward-and-lb.yaml:29" in err  # the load balancer that needs the router
    assert "timed out" in err and "nothing was applied" in err
    after = subprocess.run(
        ["ovsdb-client", "dump", ovn.nb_remote], env=ovn.env, capture_output=True, text=True, check=True
    ).stdout
    assert after == before


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


def test_apply_again_replaces_its_rows_and_keeps_others(ovn: Sandbox) -> None:
    sample = SAMPLES / "forward-and-lb.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    ovn.nbctl("lb-add", "someone-elses-lb", "192.0.2.1:80", "10.0.0.1:80")
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    first = without_uuids(nb_state(ovn))
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    assert without_uuids(nb_state(ovn)) == first
    names = sorted(row["name"] for row in dump_table(ovn, "Load_Balancer"))
    assert names.count("someone-elses-lb") == 1 and len(names) == len(set(names))
    # The replaced rows' health checks went with them: no orphans are left.
    referenced = set()
    for row in dump_table(ovn, "Load_Balancer"):
        checks = row["health_check"]  # OVSDB writes a one-element set as the bare UUID
        referenced.update(checks if isinstance(checks, list) else [checks])
    assert {row["_uuid"] for row in dump_table(ovn, "Load_Balancer_Health_Check")} == referenced


def test_a_concurrent_change_fails_the_guard_and_apply_retries(
    ovn: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another client adds a load balancer between apply's read and its commit."""
    from compiler.ovsdb import apply as apply_module

    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    real_read = apply_module.read_existing
    reads: list[int] = []

    def read_then_race(connection: object) -> object:
        existing = real_read(connection)  # type: ignore[arg-type]
        reads.append(len(existing))
        if len(reads) == 1:
            ovn.nbctl("lb-add", "racing-lb", "192.0.2.7:80", "10.0.0.1:80")
        return existing

    monkeypatch.setattr(apply_module, "read_existing", read_then_race)
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 0
    assert reads == [0, 1]  # the second read saw the racing row, and that attempt committed
    names = sorted(row["name"] for row in dump_table(ovn, "Load_Balancer"))
    assert names == ["incus-net49-lb-10.171.5.10-tcp", "racing-lb"]


def test_apply_gives_up_after_repeated_concurrent_changes(
    ovn: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from compiler.ovsdb import apply as apply_module

    sample = SAMPLES / "ipv4-healthcheck.yaml"
    build_topology(ovn, compile_files([str(sample)]).document)
    real_read = apply_module.read_existing
    races = iter(range(100))

    def read_then_race(connection: object) -> object:
        existing = real_read(connection)  # type: ignore[arg-type]
        ovn.nbctl("lb-add", f"racing-lb-{next(races)}", "192.0.2.7:80", "10.0.0.1:80")
        return existing

    monkeypatch.setattr(apply_module, "read_existing", read_then_race)
    assert main(["apply", str(sample), "--db", ovn.nb_remote]) == 3
    err = capsys.readouterr().err
    assert "another client changed the Load_Balancer table" in err and "nothing was applied" in err
    names = {row["name"] for row in dump_table(ovn, "Load_Balancer")}
    assert names == {f"racing-lb-{i}" for i in range(apply_module.GUARD_ATTEMPTS)}
