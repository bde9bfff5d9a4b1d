"""`plan --detailed-exitcode` on a real OVN: every exit status it promises
(0 no changes, 2 changes pending, 1 invalid input or a usage error, 3 the
database failed), with every form of plan: text, the saved plan (json),
plan-json, to a file, --destroy and offline from a dump."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from compiler import compile_files
from compiler.cli import main
from compiler.sandbox import Sandbox, build_topology

from .conftest import ROOT, SAMPLES
from .test_plan import _edit_backend_port, load, write

SAMPLE = SAMPLES / "ipv4-healthcheck.yaml"
FORMATS = (["--format", "text"], ["--format", "json"], ["--format", "plan-json"])


def status(capsys: pytest.CaptureFixture[str], *argv: str) -> int:
    capsys.readouterr()
    code = main(["plan", *argv, "--detailed-exitcode"])
    capsys.readouterr()
    return code


def usage_status(argv: Sequence[str]) -> int | str | None:
    """The exit status of a command line argparse refuses."""
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    return exc.value.code


def dump_of(ovn: Sandbox, path: Path) -> Path:
    with path.open("w") as handle:
        subprocess.run(
            ["ovsdb-client", "dump", "--format=json", ovn.nb_remote, "OVN_Northbound"],
            env=ovn.env,
            stdout=handle,
            check=True,
        )
    return path


def test_0_without_changes_and_2_with_them_in_every_form(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    live = ["--db", ovn.nb_remote]
    for form in FORMATS:
        assert status(capsys, str(SAMPLE), *live, *form) == 2, form  # nothing applied yet
    assert main(["plan", str(SAMPLE), *live]) == 0  # without the flag, a plan with changes is a success
    assert main(["apply", str(SAMPLE), *live]) == 0
    empty_dump = dump_of(ovn, tmp_path / "applied.dump")
    data = load("ipv4-healthcheck.yaml")
    _edit_backend_port(data)
    edited = write(tmp_path / "edited.yaml", data)
    for form in FORMATS:
        for where in (live, ["--from-dump", str(empty_dump)]):
            assert status(capsys, str(SAMPLE), *where, *form) == 0, (form, where)
            assert status(capsys, str(edited), *where, *form) == 2, (form, where)
            output = tmp_path / "plan.out"
            assert status(capsys, str(edited), *where, *form, "-o", str(output)) == 2
            assert output.stat().st_size > 0  # the plan is written, and the status says it has changes
    # --destroy: the rows are there to remove (2); once destroyed, nothing is left (0).
    assert status(capsys, str(SAMPLE), *live, "--destroy") == 2
    assert main(["destroy", str(SAMPLE), *live]) == 0
    assert status(capsys, str(SAMPLE), *live, "--destroy") == 0
    # A saved plan written with the flag applies like any other.
    saved = tmp_path / "saved.json"
    assert status(capsys, str(SAMPLE), *live, "--format", "json", "-o", str(saved)) == 2
    assert main(["apply", "--plan-file", str(saved), *live]) == 0
    assert status(capsys, str(SAMPLE), *live) == 0


def test_1_for_invalid_input_and_for_every_usage_error(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = ROOT / "tests" / "golden" / "errors" / "many-errors.yaml"
    live = ["--db", ovn.nb_remote]
    assert status(capsys, str(broken), *live) == 1
    # In conflict with the database: no router or switch yet (E400).
    assert status(capsys, str(SAMPLE), *live) == 1
    build_topology(ovn, compile_files([str(SAMPLE)]).document)
    not_a_dump = tmp_path / "bogus.json"
    not_a_dump.write_text('{"not": "a dump"}')
    directory = tmp_path / "a-directory"
    directory.mkdir()
    usage_errors = [
        ["--db", "tcp:nowhere"],  # a malformed remote
        ["--from-dump", str(not_a_dump)],  # not a dump
        ["--from-dump", str(tmp_path / "missing.dump")],  # no such file
        [*live, "-o", str(directory)],  # an output that cannot be written
    ]
    for extra in usage_errors:
        capsys.readouterr()
        assert main(["plan", str(SAMPLE), *extra]) == 2, extra  # a usage error, as ever ...
        assert status(capsys, str(SAMPLE), *extra) == 1, extra  # ... is 1 when 2 means changes pending
    # What argparse refuses, with the flag anywhere on the line, abbreviated too.
    for argv in (
        ["plan", str(SAMPLE), "--format", "xml"],
        ["plan", str(SAMPLE), "--timeout", "0"],
        ["plan", str(SAMPLE), "--no-such-option"],
        ["plan", "--format"],
    ):
        assert usage_status(argv) == 2, argv
        assert usage_status([*argv[:1], "--detailed-exitcode", *argv[1:]]) == 1, argv
        assert usage_status([*argv[:1], "--detailed", *argv[1:]]) == 1, argv
        assert usage_status([*argv[:1], "--detailed-exitcode=yes", *argv[1:]]) == 1, argv
    # Not the flag: "--d" could be --db, --destroy or it; after "--" it is a file name; other commands keep 2.
    assert usage_status(["plan", "--d", str(SAMPLE)]) == 2
    assert usage_status(["plan", "--format", "xml", "--", "--detailed-exitcode"]) == 2
    assert usage_status(["apply", "--detailed-exitcode", str(SAMPLE)]) == 2
    capsys.readouterr()


def test_3_when_the_database_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for form in FORMATS:
        assert status(capsys, str(SAMPLE), "--db", f"unix:{tmp_path / 'no-server.sock'}", *form) == 3


def test_3_when_the_database_is_not_ovsdb(ovn: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    # The Southbound server has no OVN_Northbound: the plan cannot read it.
    assert status(capsys, str(SAMPLE), "--db", ovn.sb_remote) == 3
