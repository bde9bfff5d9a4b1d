"""The workflow of status and doctor: read both databases, compile the file
against the Northbound one as ``plan`` does, join the two.

The file was read and checked before connecting (compilation.check_files
with ``against_database``), so a bad file is reported without touching a
database. What compiling against the database finds wrong (a backend with
no switch port, E312; a port address on two ports, E316) is not an error
here: the doctor reports it as what keeps the health check from working.
"""

from __future__ import annotations

from ..compilation import CheckedInput, Compilation, compile_against
from ..gcpause import paused_gc
from ..ovsdb.client import Limits, SslFiles
from .joined import Joined, join
from .read import read_observed


def examine(
    checked: CheckedInput | Compilation,
    nb_remote: str,
    sb_remote: str,
    *,
    ssl_files: SslFiles | None = None,
    limits: Limits | None = None,
) -> tuple[Joined, Compilation]:
    """The file's rows beside both databases; OvsdbError when one cannot be read."""
    observed = read_observed(nb_remote, sb_remote, ssl_files=ssl_files, limits=limits)
    with paused_gc():
        compilation, _found_wrong = compile_against(checked, observed.nb)
        return join(compilation.document, compilation.changes.rows, observed), compilation
