"""The fast path (json.loads or libyaml's events without marks, no spans)
against the located path.

A run that prints no source location may read JSON with the json module, or
YAML without asking libyaml where anything is, and build the model without
spans; any diagnostic sends the whole run back to
the located path (compiler.compilation). These tests hold the two paths to
the same model, the same output and the same diagnostics.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from compiler import cli
from compiler.apply import _check_located_results, check_results, plan_against
from compiler.compilation import check_files, compile_files, relocated
from compiler.diagnostics import CompileError
from compiler.emit.ovsdb import build_plan_transaction, emit_json
from compiler.ovsdb.client import OvsdbError
from compiler.ovsdb.state import DbDatapath, NorthboundState

from .conftest import ROOT, SAMPLES, sample_paths

GOLDEN_ERRORS = Path(__file__).parent / "golden" / "errors"


def _json_inputs(tmp_path: Path) -> list[Path]:
    """Every sample as JSON: the JSON samples, and the YAML ones converted."""
    paths = []
    for sample in sample_paths():
        if sample.suffix == ".json":
            paths.append(sample)
        else:
            converted = tmp_path / (sample.stem + ".json")
            converted.write_text(json.dumps(yaml.safe_load(sample.read_text(encoding="utf-8")), indent=1))
            paths.append(converted)
    return paths


@pytest.mark.parametrize("index", range(len(sample_paths())))
def test_fast_and_located_paths_give_the_same_model_and_output(index: int, tmp_path: Path) -> None:
    path = str(_json_inputs(tmp_path)[index])
    located = compile_files([path])
    fast = compile_files([path], fast=True)
    assert located.located and not fast.located
    assert fast.document == located.document
    assert fast.changes == located.changes
    assert fast.warnings == located.warnings == ()
    assert emit_json(fast.changes, [path]) == emit_json(located.changes, [path])
    again = relocated(fast)
    assert again.located and again.document == located.document


def _yaml_inputs() -> list[Path]:
    """YAML as people write it: the samples, and the Incus and LXD corpora's files that are whole documents."""
    corpora = [ROOT / "tests" / "corpus" / name for name in ("incus", "lxd")]
    found = [p for p in sample_paths() if p.suffix != ".json"]
    for corpus in corpora:
        for path in sorted(corpus.glob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            if text.lstrip().startswith(("networks:", "version:", "target_ovn:")) or "\nnetworks:" in text:
                found.append(path)
    return found


@pytest.mark.parametrize("sample", _yaml_inputs(), ids=lambda p: p.name)
def test_yaml_takes_the_fast_path_to_the_same_model(sample: Path) -> None:
    located = compile_files([str(sample)])
    fast = compile_files([str(sample)], fast=True)
    assert fast.document == located.document and fast.changes == located.changes
    # A file with a warning or a note went back to the located path, whole.
    assert fast.located == bool(located.warnings)
    assert [(d.span, d.message) for d in fast.warnings] == [(d.span, d.message) for d in located.warnings]


@pytest.mark.parametrize("anchor", [False, True])
def test_yaml_the_plain_reader_reads_stays_fast(anchor: bool, tmp_path: Path) -> None:
    path = tmp_path / "edited.yaml"
    text = (SAMPLES / "ipv4-healthcheck.yaml").read_text()
    if anchor:  # an anchor that no alias uses changes nothing
        text = text.replace('target_port: "8080"', 'target_port: &port "8080"', 1)
    path.write_text(text)
    fast = compile_files([str(path)], fast=True)
    assert not fast.located and fast.document == compile_files([str(path)]).document


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # An alias, a merge key and a tagged key: plain data cannot say what they share or merge.
        ('target_port: "8080"\n          - name: web3', "target_port: *port\n          - name: web3"),
        ("          - name: web1\n", "          - <<: {name: web1}\n"),
        ("          - name: web1\n", "          - !!str name: web1\n"),
        # An integer whose text a string field keeps (0120 stays "0120", as Incus keeps it).
        ('listen_port: "80"', "listen_port: 0120"),
    ],
)
def test_yaml_the_plain_reader_leaves_to_the_located_path(old: str, new: str, tmp_path: Path) -> None:
    path = tmp_path / "edited.yaml"
    text = (SAMPLES / "ipv4-healthcheck.yaml").read_text().replace(old, new, 1)
    if "*port" in new:
        first = 'target_port: "8080"\n          - name: web2'
        text = text.replace(first, first.replace("target_port: ", "target_port: &port "))
    assert text != (SAMPLES / "ipv4-healthcheck.yaml").read_text()
    path.write_text(text)
    located = compile_files([str(path)])
    fast = compile_files([str(path)], fast=True)
    assert fast.located and fast.document == located.document and fast.changes == located.changes


@pytest.mark.parametrize(
    "text",
    [
        "networks: [",  # a syntax error
        "networks: []\nnetworks: []\n",  # a duplicate key
        "a: &x [1]\nb: *y\n",  # an alias without its anchor
        "networks: []\n---\nnetworks: []\n",  # a second document
        "version: !!int abc\nnetworks: []\n",  # a tag that does not convert
        "networks: [{name: n, <<: 1}]\n",  # a merge of no mapping
        "networks: {}\n",  # a shape error
    ],
)
def test_what_the_yaml_reader_reports_falls_back(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(text)
    assert cli.main(["check", str(path)]) == 1
    fast_err = capsys.readouterr().err
    assert cli.main(["compile", str(path)]) == 1  # compile prints locations: always the located path
    assert fast_err == capsys.readouterr().err and "error[" in fast_err


def _check_output(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *, fast: bool
) -> tuple[int, str, str]:
    monkeypatch.setattr(cli, "_prints_no_location", lambda args: fast)
    status = cli.main(["check", str(path)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    "broken", sorted(p for p in GOLDEN_ERRORS.iterdir() if p.suffix in (".json", ".yaml")), ids=lambda p: p.name
)
def test_errors_fall_back_to_identical_diagnostics(
    broken: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(GOLDEN_ERRORS.parent)
    relative = broken.relative_to(GOLDEN_ERRORS.parent)
    fast = _check_output(relative, monkeypatch, capsys, fast=True)
    located = _check_output(relative, monkeypatch, capsys, fast=False)
    assert fast == located
    assert fast[0] == 1 and "error[" in fast[2]
    # The same diagnostics compile prints, byte for byte (the golden file).
    assert cli.main(["compile", str(relative)]) == 1
    assert capsys.readouterr().err == broken.with_name(broken.name + ".err").read_text(encoding="utf-8")


WARNED = {
    "version": 1,
    "networks": [
        {
            "name": "net0",
            "row_prefix": "incus-net0",
            "router": "incus-net0-lr",
            "switch": "incus-net0-ls-int",
            "ipv4_address": "10.0.0.1/24",
            "load_balancers": [
                {
                    "listen_address": "172.16.0.1",
                    # W002: a health-check value without the health check; N001: 0 is the default.
                    "config": {"healthcheck.interval": "5", "healthcheck.timeout": "0"},
                    "backends": [{"name": "b0", "target_address": "10.0.0.2", "target_port": "8080"}],
                    "ports": [{"protocol": "tcp", "listen_port": "80", "target_backend": ["b0"]}],
                }
            ],
        }
    ],
}


def test_a_warning_or_a_note_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "warned.json"
    path.write_text(json.dumps(WARNED, indent=2))
    checked = check_files([str(path)], fast=True)
    assert checked.located
    assert sorted(d.code for d in checked.warnings) == ["N001", "W002", "W002"]
    assert checked.warnings == check_files([str(path)]).warnings
    assert all(d.span.line > 0 for d in checked.warnings)
    fast = _check_output(path, monkeypatch, capsys, fast=True)
    assert fast == _check_output(path, monkeypatch, capsys, fast=False)
    assert "warning[W002]" in fast[2] and fast[0] == 0


@pytest.mark.parametrize(
    "text, code",
    [
        ('{"version": 1, "version": 1, "networks": []}', "E101"),  # json.loads would keep the last
        ('{"version": NaN, "networks": []}', "E100"),
        ('{"version": 1, "networks": []} x', "E100"),
        ('\ufeff{"version": 1, "networks": []}', "E100"),
        ('{"version": 1.0, "networks": []}', "E104"),
    ],
)
def test_what_json_loads_reads_otherwise_falls_back(text: str, code: str, tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CompileError) as fast:
        check_files([str(path)], fast=True)
    with pytest.raises(CompileError) as located:
        check_files([str(path)])
    assert fast.value.diagnostics == located.value.diagnostics
    assert code in {d.code for d in fast.value.diagnostics}


def test_a_failed_operation_is_named_with_its_line() -> None:
    """apply names the input line of a failed operation: a fast-path
    transaction is made again, located, to name it."""
    path = str(ROOT / "samples" / "port-ranges.json")
    fast = check_files([path], against_database=True, fast=True)
    assert not fast.located
    datapaths = tuple(
        DbDatapath(table, f"00000000-0000-0000-0000-{index:012d}", name, frozenset())
        for index, (table, name) in enumerate(
            (table, name)
            for network in fast.document.networks
            for table, name in (("Logical_Router", network.router), ("Logical_Switch", network.switch))
        )
    )
    state = NorthboundState((), {}, datapaths, {})
    sent = build_plan_transaction(plan_against(fast, state), [path])
    located = build_plan_transaction(plan_against(relocated(fast), state), [path])
    assert sent.params == located.params
    failing = next(
        i for i, origin in enumerate(located.origins) if origin is not None and sent.params[i + 1]["op"] == "insert"
    )
    results = [{}] * (len(sent.params) - 1)
    results[failing] = {"error": "constraint violation", "details": "made up"}
    with pytest.raises(OvsdbError) as expected:
        check_results(located, results)
    with pytest.raises(OvsdbError) as got:
        _check_located_results(located, sent, results)
    assert str(got.value) == str(expected.value)
    assert f"port-ranges.json:{located.origins[failing].source.line}" in str(got.value)  # type: ignore[union-attr]
    assert ":0 " not in str(got.value)
