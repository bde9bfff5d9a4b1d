"""The command line: exit codes, outputs, and nothing written on errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from compiler.cli import main

from .conftest import ROOT, SAMPLES, sample_paths

BROKEN = ROOT / "tests" / "golden" / "errors" / "many-errors.yaml"


def test_check_ok_and_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SAMPLES / "ipv4-healthcheck.yaml")]) == 0
    assert "ok (1 Load_Balancer row)" in capsys.readouterr().err
    assert main(["check", str(BROKEN)]) == 1
    err = capsys.readouterr().err
    assert "error[E102]" in err and "3 errors; nothing was written" in err


def test_compile_writes_nothing_on_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lb.sh"
    assert main(["compile", str(BROKEN), "-o", str(out)]) == 1
    assert not out.exists()
    assert capsys.readouterr().out == ""


def test_compile_to_file_is_executable_and_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a.sh", tmp_path / "b.sh"
    sample = str(SAMPLES / "forward-and-lb.yaml")
    assert main(["compile", sample, "-o", str(first)]) == 0
    assert main(["compile", sample, "--format", "nbctl", "-o", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert first.stat().st_mode & 0o111
    assert subprocess.run(["sh", "-n", str(first)], check=False).returncode == 0


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["compile"], ["frobnicate"], ["compile", "x.yaml", "--format", "xml"], []):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    capsys.readouterr()


def test_missing_file_is_a_diagnostic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "error[E100]: cannot read the file" in capsys.readouterr().err


def test_several_files_form_one_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The same network in two files is an error; two different ones compile together.
    one = SAMPLES / "ipv4-healthcheck.yaml"
    assert main(["check", str(one), str(one)]) == 1
    assert "error[E300]" in capsys.readouterr().err
    assert main(["check", str(one), str(SAMPLES / "port-ranges.json")]) == 0


def test_stdin_and_input_format(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    text = json.dumps(yaml.safe_load((SAMPLES / "ipv4-healthcheck.yaml").read_text()))
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["compile", "--input-format", "json", "-"]) == 0
    assert "from <stdin>" in capsys.readouterr().out


def test_schema_is_valid_and_accepts_every_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.validators.validator_for(schema).check_schema(schema)
    for sample in sample_paths():
        jsonschema.validate(yaml.safe_load(sample.read_text()), schema)


def test_python_dash_m_and_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "compiler", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0
    for words in ("exit status:", "diagnostics:", "OVN_NB_DB", "compile FILE..."):
        assert words in result.stdout


def test_sandbox_command_shows_rows_monitors_and_flows(capsys: pytest.CaptureFixture[str]) -> None:
    from .conftest import require_ovn

    require_ovn()
    assert main(["sandbox", str(SAMPLES / "ipv4-healthcheck.yaml")]) == 0
    out = capsys.readouterr().out
    assert "incus-net49-lb-10.171.5.10-tcp" in out
    assert out.count('src_ip              : "10.135.209.254"') == 3
    assert "ct_lb_mark(backends=10.135.209.2:8080,10.135.209.3:8080,10.135.209.4:8080)" in out


def test_installed_console_script_finds_its_templates(tmp_path: Path) -> None:
    """`pip install .` must give a working tool: templates and schema inside the package."""
    import os
    import shutil

    script = Path(sys.executable).parent / "ovn-lbc"
    if not script.exists():
        found = shutil.which("ovn-lbc")
        if found is None:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail("ovn-lbc is not installed in the test environment")
            pytest.skip("ovn-lbc is not installed (run scripts/setup)")
        script = Path(found)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [str(script), "compile", str(SAMPLES / "ipv4-healthcheck.yaml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # away from the source tree, so the installed package is used
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "lb-add 'incus-net49-lb-10.171.5.10-tcp'" in result.stdout
    result = subprocess.run([str(script), "schema"], capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert json.loads(result.stdout)["title"].startswith("ovn-lbc")


def test_fmt_check_rewrite_and_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    canonical = (SAMPLES / "ipv4-healthcheck.lb").read_text()
    messy = tmp_path / "messy.lb"
    messy.write_text(canonical.replace("    router ", "  router     ").replace("web1, web2", "web1 ,web2"))
    assert main(["fmt", "--check", str(SAMPLES / "ipv4-healthcheck.lb")]) == 0
    assert main(["fmt", "--check", str(messy)]) == 1
    assert "would reformat" in capsys.readouterr().err
    assert messy.read_text() != canonical  # --check changes nothing
    assert main(["fmt", str(messy)]) == 0
    assert messy.read_text() == canonical
    assert main(["fmt", "--check", str(messy)]) == 0
    broken = tmp_path / "broken.lb"
    broken.write_text(canonical.replace("tcp 80 ->", "tcp 80 =>"))
    before = broken.read_text()
    assert main(["fmt", str(broken)]) == 1
    assert "broken.lb:" in capsys.readouterr().err and broken.read_text() == before


@pytest.mark.parametrize("sample", sample_paths(), ids=lambda p: p.name)
@pytest.mark.parametrize("target", ["dsl", "yaml"])
def test_convert_then_compile_gives_the_same_transaction(
    sample: Path, target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    converted = tmp_path / ("converted.lb" if target == "dsl" else "converted.yaml")
    assert main(["convert", str(sample), "--to", target, "-o", str(converted)]) == 0
    capsys.readouterr()
    assert main(["compile", "--format", "json", str(sample)]) == 0
    original = json.loads(capsys.readouterr().out)
    assert main(["compile", "--format", "json", str(converted)]) == 0
    again = json.loads(capsys.readouterr().out)
    # Everything but the comment op, which names the input file.
    assert again[2:] == original[2:] and again[0] == original[0]


def test_convert_refuses_invalid_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(BROKEN), "--to", "dsl"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "error[E102]" in captured.err
