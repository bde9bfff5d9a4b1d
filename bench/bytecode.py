"""Byte-compile ovn-lbc before timing it, as installing it does.

`pip install` writes every module's bytecode; a source checkout run with
PYTHONDONTWRITEBYTECODE set (as these machines do) would instead compile
each module from source on every start, about 0.1 s of a `check`, which no
installed ovn-lbc pays. Python reads existing bytecode whatever that
variable says, so compiling once here makes the checkout start like an
installation.
"""

from __future__ import annotations

import compileall
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "compiler"


def compile_package() -> None:
    if not compileall.compile_dir(str(PACKAGE), quiet=1):
        raise SystemExit(f"cannot byte-compile {PACKAGE}")
