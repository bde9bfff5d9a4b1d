"""An unchanged re-apply ends without compiling (compiler.unchanged), and
only when the whole path would have said "no changes" too: real OVN."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler import compilation, compile_files
from compiler.cli import main
from compiler.ovsdb.client import connect
from compiler.ovsdb.state import read_fingerprint, read_state
from compiler.sandbox import Sandbox, build_topology
from compiler.unchanged import MEMO_FILE

from .conftest import SAMPLES
from .helpers import nb_dump

SAMPLE = SAMPLES / "ipv4-healthcheck.yaml"


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a run checked its files (one entry per check_files)."""
    calls: list[int] = []
    real = compilation.check_files

    def counted(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("compiler.cli.check_files", counted)
    return calls


def _apply(ovn: Sandbox, path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    status = main(["apply", str(path), "--db", ovn.nb_remote, *extra])
    return status, capsys.readouterr().err


def _ready(ovn: Sandbox, tmp_path: Path, text: str | None = None) -> Path:
    path = tmp_path / "lb.yaml"
    path.write_text(text if text is not None else SAMPLE.read_text())
    build_topology(ovn, compile_files([str(path)]).document)
    return path


def test_fingerprint_is_the_full_reads_and_moves_with_any_row(ovn: Sandbox, tmp_path: Path) -> None:
    path = _ready(ovn, tmp_path)
    assert main(["apply", str(path), "--db", ovn.nb_remote]) == 0
    with connect(ovn.nb_remote, "OVN_Northbound") as connection:
        first = read_fingerprint(connection, "v")
        assert first is not None and read_state(connection, "v").fingerprint == first
        assert read_fingerprint(connection, "other schema") != first
    # A write to a row a plan reads, one that ovn-lbc does not even manage: another fingerprint.
    ovn.nbctl("ls-add", "somebody-elses-switch")
    with connect(ovn.nb_remote, "OVN_Northbound") as connection:
        assert read_fingerprint(connection, "v") != first


def test_an_unchanged_reapply_ends_without_compiling(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], compiles: list[int], own_memo: Path
) -> None:
    path = _ready(ovn, tmp_path)
    assert _apply(ovn, path, capsys)[0] == 0  # the rows go in: nothing to remember
    assert not (own_memo / MEMO_FILE).exists()
    status, err = _apply(ovn, path, capsys)  # the whole path finds nothing to do: remembered
    assert status == 0 and "no changes; nothing sent" in err
    assert len(json.loads((own_memo / MEMO_FILE).read_text())) == 1
    before, compiled = nb_dump(ovn), len(compiles)
    status, err = _apply(ovn, path, capsys)
    assert status == 0 and err == f"ovn-lbc: apply: no changes; nothing sent to {ovn.nb_remote}\n"
    assert len(compiles) == compiled  # not compiled at all
    assert nb_dump(ovn) == before


def test_a_row_changed_by_anyone_is_put_back(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], compiles: list[int]
) -> None:
    path = _ready(ovn, tmp_path)
    for _ in range(2):
        assert _apply(ovn, path, capsys)[0] == 0  # applied, then remembered
    wanted = nb_dump(ovn)
    name = "incus-net49-lb-10.171.5.10-tcp"
    ovn.nbctl("set", "Load_Balancer", name, 'vips:"10.171.5.10:80"="10.135.209.2:8080"')
    compiled = len(compiles)
    status, err = _apply(ovn, path, capsys)
    assert status == 0 and "1 to change" in err, err
    assert len(compiles) == compiled + 1  # the memo missed: the whole path ran
    assert nb_dump(ovn) == wanted


def test_a_changed_byte_or_option_misses(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], compiles: list[int]
) -> None:
    path = _ready(ovn, tmp_path)
    for _ in range(2):
        assert _apply(ovn, path, capsys)[0] == 0
    compiled = len(compiles)
    path.write_text(path.read_text() + "\n# a comment changes no row\n")
    assert _apply(ovn, path, capsys)[0] == 0
    assert len(compiles) == compiled + 1
    assert _apply(ovn, path, capsys, "--adopt")[0] == 0  # another option: another run
    assert len(compiles) == compiled + 2
    assert _apply(ovn, path, capsys)[0] == 0  # the commented file is remembered now
    assert len(compiles) == compiled + 2


def test_a_run_with_a_diagnostic_is_never_remembered(
    ovn: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], compiles: list[int], own_memo: Path
) -> None:
    # N001: "0" means Incus's default, a note printed on every run.
    text = SAMPLE.read_text().replace('healthcheck.interval: "5"', 'healthcheck.interval: "0"')
    assert text != SAMPLE.read_text()
    path = _ready(ovn, tmp_path, text)
    for _ in range(3):
        status, err = _apply(ovn, path, capsys)
        assert status == 0 and "note[N001]" in err
    assert len(compiles) == 3
    assert not (own_memo / MEMO_FILE).exists()


@pytest.mark.parametrize("memo", ["{", '["not", "an object"]', '{"x": 1}', ""])
def test_a_broken_memo_is_a_miss(
    ovn: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    compiles: list[int],
    own_memo: Path,
    memo: str,
) -> None:
    path = _ready(ovn, tmp_path)
    own_memo.mkdir()
    (own_memo / MEMO_FILE).write_text(memo)
    for _ in range(3):
        status, err = _apply(ovn, path, capsys)
        assert status == 0 and "Traceback" not in err
    assert len(compiles) == 2  # the second run wrote a good memo over the broken one


def test_off_means_off(
    ovn: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    compiles: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OVN_LBC_CACHE", "off")
    path = _ready(ovn, tmp_path)
    for _ in range(3):
        assert _apply(ovn, path, capsys)[0] == 0
    assert len(compiles) == 3


def test_a_bad_file_is_exit_1_whatever_the_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The read runs beside the compile; a bad file still says only what is wrong with it.
    path = tmp_path / "bad.yaml"
    path.write_text("networks: [")
    status = main(["apply", str(path), "--db", f"unix:{tmp_path}/nobody.sock"])
    err = capsys.readouterr().err
    assert status == 1 and "error[" in err and "nobody.sock" not in err
