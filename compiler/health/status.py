"""``ovn-lbc status``: every backend of every VIP, in the file's words.

For each, the monitor's status as the Southbound database has it, whether
the VIP's load-balancing flows hold the backend right now, and its line in
the file. The exit status serves a monitoring check: 0 when every backend
that is health-checked is online and every row of the file is in the
database, 4 otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..addresses import endpoint
from ..diagnostics import Span
from .joined import Joined, Target

ONLINE = "online"
OFFLINE = "offline"
ERROR = "error"  # a status OVN's schema allows; counted with offline
NO_STATUS = "no status yet"  # northd made the monitor, ovn-controller has no result yet
NO_MONITOR = "no monitor yet"  # health-checked, but the Southbound has no monitor for it
NOT_APPLIED = "not applied"  # the database's row lacks it: `ovn-lbc plan` says what apply would change
NOT_CHECKED = "not health-checked"

# Report order, and the words JSON uses for each.
STATES = (ONLINE, OFFLINE, ERROR, NO_STATUS, NO_MONITOR, NOT_APPLIED, NOT_CHECKED)
JSON_NAMES = {
    ONLINE: "online",
    OFFLINE: "offline",
    ERROR: "error",
    NO_STATUS: "no_status",
    NO_MONITOR: "no_monitor",
    NOT_APPLIED: "not_applied",
    NOT_CHECKED: "not_health_checked",
}
# Every state but these makes the exit status 4.
HEALTHY = frozenset({ONLINE, NOT_CHECKED})
# How many backends the summary names per state before "and N more".
NAMED_IN_SUMMARY = 5


@dataclass(frozen=True, slots=True)
class BackendStatus:
    """One backend of one VIP, as the databases have it now."""

    load_balancer: str  # the row's name
    vip: str  # the vips key
    protocol: str
    backend: str  # its name in the file (its address when the file names none)
    target: str  # address:port, as the vips value writes it
    span: Span
    state: str  # one of STATES
    in_flows: bool  # in the VIP's ct_lb_mark(backends=...) now

    @property
    def where(self) -> str:
        return f"{self.span.file}:{self.span.line}"


def _state(joined: Joined, target: Target) -> str:
    row = joined.row_of(target)
    if not joined.applied(target):
        return NOT_APPLIED
    if row.check_for(target.vip) is None:
        # The file health-checks the VIP and the database does not: doctor says why (D400, D401).
        return NO_MONITOR if target.health_checked else NOT_CHECKED
    monitor = joined.monitor(target)
    if monitor is None:
        return NO_MONITOR
    return monitor.status if monitor.status in (ONLINE, OFFLINE, ERROR) else NO_STATUS


def backend_statuses(joined: Joined) -> tuple[BackendStatus, ...]:
    return tuple(
        BackendStatus(
            load_balancer=target.row.name,
            vip=target.vip,
            protocol=target.row.protocol,
            backend=target.name,
            target=endpoint(target.address, target.port),
            span=target.span,
            state=_state(joined, target),
            in_flows=joined.in_flows(target),
        )
        for target in joined.targets
    )


def exit_status(statuses: Iterable[BackendStatus]) -> int:
    """0 when every health-checked backend is online and everything is applied; 4 otherwise."""
    return 0 if all(status.state in HEALTHY for status in statuses) else 4


def counts(statuses: Iterable[BackendStatus]) -> dict[str, int]:
    found = {state: 0 for state in STATES}
    for status in statuses:
        found[status.state] += 1
    return found


def summary(statuses: tuple[BackendStatus, ...]) -> str:
    """``12 backends: 11 online, 1 offline (web3 at lbs.yaml:31)``: every state
    that occurs, the unhealthy ones with the backends they hold."""
    if not statuses:
        return "no backends: the files have no load balancer with backends"
    parts = []
    for state, count in counts(statuses).items():
        if not count:
            continue
        part = f"{count} {state}"
        if state not in HEALTHY:
            named = list(dict.fromkeys(f"{s.backend} at {s.where}" for s in statuses if s.state == state))
            more = len(named) - NAMED_IN_SUMMARY
            shown = ", ".join(named[:NAMED_IN_SUMMARY]) + (f" and {more} more" if more > 0 else "")
            part += f" ({shown})"
        parts.append(part)
    noun = "backend" if len(statuses) == 1 else "backends"
    return f"{len(statuses)} {noun}: " + ", ".join(parts)
