"""Golden files: every sample's script, and the diagnostics of broken inputs.

Regenerate with ``UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compiler.cli import main

from .conftest import ROOT, sample_paths

GOLDEN = Path(__file__).parent / "golden"
ERRORS = GOLDEN / "errors"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def check_golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert actual == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("sample", sample_paths(), ids=lambda p: p.name)
def test_sample_script_matches_golden(
    sample: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["compile", str(sample.relative_to(ROOT))]) == 0
    check_golden(GOLDEN / f"{sample.stem}.sh", capsys.readouterr().out)


@pytest.mark.parametrize("sample", sample_paths(), ids=lambda p: p.name)
def test_sample_json_matches_golden(
    sample: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["compile", "--format", "json", str(sample.relative_to(ROOT))]) == 0
    check_golden(GOLDEN / f"{sample.stem}.json", capsys.readouterr().out)


@pytest.mark.parametrize(
    "broken",
    sorted(ERRORS.glob("*.yaml")) + sorted(ERRORS.glob("*.json")) + sorted(ERRORS.glob("*.lb")),
    ids=lambda p: p.name,
)
def test_broken_input_diagnostics_match_golden(
    broken: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(GOLDEN)
    assert main(["compile", str(broken.relative_to(GOLDEN))]) == 1
    captured = capsys.readouterr()
    assert captured.out == "", "compile must print nothing on errors"
    check_golden(broken.with_suffix(broken.suffix + ".err"), captured.err)
