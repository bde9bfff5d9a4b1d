"""Files shipped beside the code: templates/ and grammar/.

Installed, they live inside the package (compiler/templates); in a source
checkout they sit at the top of the tree. Look in both, installed first.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"ovn-lbc is missing its {name}/ directory (looked in {_PACKAGE})")
