"""The man page: docs/ovn-lbc.1 is exactly what the CLI's parser generates, and renders cleanly."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess

import pytest

from compiler.cli import build_parser
from compiler.manpage import build_manpage

from .conftest import ROOT

MANPAGE = ROOT / "docs" / "ovn-lbc.1"


def test_committed_manpage_is_current() -> None:
    committed = MANPAGE.read_text(encoding="utf-8")
    assert committed == build_manpage(), (
        "docs/ovn-lbc.1 differs from what `ovn-lbc --help` says; regenerate it with ./scripts/manpage"
    )


def test_manpage_structure() -> None:
    page = build_manpage()
    lines = page.splitlines()
    assert lines[0].startswith(".TH OVN\\-LBC 1 ")
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", '"EXIT STATUS"', "ENVIRONMENT", "EXAMPLES"):
        assert f".SH {section}" in lines, section
    subcommands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name in subcommands.choices:
        assert f".SS {name}" in lines, name
    assert "\\fB\\-\\-from\\-dump\\fR \\fIDUMP\\fR" in page  # an option with its argument
    assert "OVN_NB_DB" in page


def test_manpage_is_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    # --db's default comes from $OVN_NB_DB; the page must not depend on it.
    monkeypatch.setenv("OVN_NB_DB", "tcp:192.0.2.1:6641")
    monkeypatch.setenv("COLUMNS", "40")
    assert build_manpage() == MANPAGE.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
def test_manpage_renders_without_warnings() -> None:
    result = subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", "-z", str(MANPAGE)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_man_reads_it() -> None:
    result = subprocess.run(
        ["man", "--warnings", "-l", str(MANPAGE)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat", "LC_ALL": "C.UTF-8"},
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "ovn-lbc - compiles OVN network load balancers" in result.stdout
    assert "EXIT STATUS" in result.stdout
