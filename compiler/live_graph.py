"""``ovn-lbc graph --db``: the files as a live OVN sees them.

read the Northbound database (its release, the switch ports of backends the
file names none for) -> compile with those facts, as plan does -> read the
Southbound Service_Monitor statuses -> the picture (emit.graph) colours each
health-checked backend by its monitor. Nothing is written to either database.

Every wait is bounded as for plan: each connect and request by its own
bound, or the whole of both reads by ``--timeout`` (``Limits.total``), which
the Southbound read gets what is left of.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .apply import schema_version
from .compilation import CheckedInput, Compilation, compile_against
from .diagnostics import CompileError
from .emit.ovsdb import DATABASE
from .gcpause import paused_gc
from .ovsdb.client import Limits, SslFiles, connect, left_of
from .ovsdb.southbound import SOUTHBOUND, monitor_statuses, read_service_monitors
from .ovsdb.state import read_state


@dataclass(frozen=True, slots=True)
class LiveGraph:
    compilation: Compilation
    statuses: dict[tuple[str, int, str, str], str]
    northbound: str  # the remotes as connected (a cluster's member)
    southbound: str


def read_live(
    checked: CheckedInput,
    northbound: str,
    southbound: str,
    *,
    ssl_files: SslFiles | None = None,
    limits: Limits | None = None,
) -> LiveGraph:
    """The compilation with the Northbound's facts, and the Southbound's monitor
    statuses. CompileError when the file and the database disagree; OvsdbError
    when a database cannot be read."""
    limits = limits or Limits()
    started = time.monotonic()
    with connect(northbound, DATABASE, ssl_files, limits) as connection:
        version = schema_version(connection)
        with paused_gc():
            state = read_state(connection, version)
        nb_remote = connection.remote
    compilation, diagnostics = compile_against(checked, state)
    if diagnostics:
        raise CompileError(diagnostics, compilation.sources)
    with connect(southbound, SOUTHBOUND, ssl_files, left_of(limits, started)) as connection:
        monitors = read_service_monitors(connection)
        sb_remote = connection.remote
    return LiveGraph(compilation, monitor_statuses(monitors), nb_remote, sb_remote)
