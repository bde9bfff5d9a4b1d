"""Shared fixtures. ``ovn`` is a real, throwaway OVN: never a mock.

Without OVN installed the OVN tests are skipped on a developer machine and
fail under CI=true: a CI run that silently skipped them would prove nothing.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from compiler.sandbox import Sandbox, missing_programs

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

# The tests that press Ctrl-C on a child (SIGINT) stand for a terminal's. A
# suite started in the background by sh (`pytest &`, nohup) ignores SIGINT,
# every child inherits that, and Python installs no handler where it is
# ignored: those children would sleep through it. A handled signal is back to
# its default in a child, so the children get Python's own handler again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def require_ovn() -> None:
    missing = missing_programs()
    if not missing:
        return
    message = f"OVN is not installed (missing {', '.join(missing)})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI=true forbids skipping", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def own_memo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own memo of unchanged runs (compiler.unchanged), never the user's:
    what one test applied cannot end another's apply early."""
    directory = tmp_path / "ovn-lbc-cache"
    monkeypatch.setenv("OVN_LBC_CACHE", str(directory))
    return directory


@pytest.fixture
def ovn(tmp_path: Path) -> Iterator[Sandbox]:
    """NB + SB ovsdb-server and ovn-northd in a temp dir, stopped by pid."""
    require_ovn()
    sandbox = Sandbox(str(tmp_path / "ovn"))
    with sandbox:
        yield sandbox


def sample_paths() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
