"""``ovn-lbc doctor``: why a health check of the file does not work, in the file's terms.

Findings, in the order a health check needs things: the row is in the
database with every VIP and backend (D100, D101); each health-checked VIP
has a Load_Balancer_Health_Check whose ``vip`` is exactly its ``vips`` key
(D400, D401); NB_Global has the ``svc_monitor_mac`` the Southbound uses
(D500, D501; D502 notes every monitor offline at once, as a change of it
leaves them); the row is on every router and switch the file names, so
their clients reach the VIP (D600); then each backend (backends.py: D2xx,
D3xx, D7xx). A UDP VIP gets a note on what a UDP monitor proves (D702).

Nothing is written; a row ovn-lbc does not own is examined when the file
names it. The findings are data (findings.py), rendered by render.py.
"""

from __future__ import annotations

from collections.abc import Iterator

from netaddr import EUI, AddrFormatError, IPAddress

from ..lower import datapath_span, value_span
from ..ovsdb.state import DbHealthCheck
from .backends import PLAN_FIX, backend_findings
from .findings import Finding, note, problem
from .joined import Joined, JoinedRow, datapaths_reaching
from .observed import parse_address, split_endpoint


def _rows(joined: Joined) -> Iterator[Finding]:
    for row in joined.rows:
        wanted = row.wanted
        if row.found is None:
            message = (
                f"load balancer {wanted.name} is not in the Northbound database (not applied): nothing probes "
                "its backends and its VIPs do not answer"
            )
            yield problem(wanted.source, "D100", message, PLAN_FIX, load_balancer=wanted.name)
            continue
        for key, _ in wanted.vips:
            if key not in row.found.vips:
                message = f"VIP {key} of load balancer {wanted.name} is not in the database's row (not applied)"
                yield problem(
                    value_span(wanted, "vips", key), "D101", message, PLAN_FIX, load_balancer=wanted.name, vip=key
                )
    for target in joined.targets:
        row = joined.row_of(target)
        if row.found is not None and target.vip in row.found.vips and not joined.applied(target):
            message = (
                f"backend {target.name} ({target.target}) is not in VIP {target.vip} of the database's row "
                "(not applied)"
            )
            yield problem(target.span, "D101", message, PLAN_FIX, target)


def _addresses_of(text: str) -> set[IPAddress]:
    """The addresses a health check's vip may mean: as written, and without a port
    that an unbracketed IPv6 VIP ran into its address."""
    found: set[IPAddress] = set()
    parsed = split_endpoint(text)
    if parsed is not None:
        found.add(parsed[0])
    if text.count(":") > 1 and not text.startswith("["):
        bare = parse_address(text.rpartition(":")[0])
        if bare is not None:
            found.add(bare)
    return found


def _health_checks(joined: Joined) -> Iterator[Finding]:
    for row in joined.rows:
        found = row.found
        if found is None:
            continue
        wanted = row.wanted
        astray = [check for check in row.checks if check.vip not in found.vips]
        for check in wanted.health_checks:
            if row.check_for(check.vip) is not None or check.vip not in found.vips:
                continue
            yield _missing_check(row, check.vip, astray)


def _missing_check(row: JoinedRow, key: str, astray: list[DbHealthCheck]) -> Finding:
    wanted = row.wanted
    span = value_span(wanted, "vips", key)
    vip = split_endpoint(key)
    near = [check for check in astray if vip is not None and vip[0] in _addresses_of(check.vip)]
    if near:
        message = (
            f'VIP {key}: its health check\'s vip is "{near[0].vip}", not exactly the vips key "{key}": northd '
            "compares the two strings, finds no health check for the VIP, and makes no monitor"
        )
        return problem(
            span,
            "D401",
            message,
            f'set the health check\'s vip to "{key}" ({PLAN_FIX})',
            load_balancer=wanted.name,
            vip=key,
        )
    message = f"VIP {key} has no health check in the database's row {wanted.name}, though the file health-checks it"
    return problem(span, "D400", message, PLAN_FIX, load_balancer=wanted.name, vip=key)


def _monitor_mac(joined: Joined) -> Iterator[Finding]:
    """NB_Global's svc_monitor_mac, which the probes come from and northd copies to the Southbound."""
    first = next((row.wanted for row in joined.rows if row.wanted.health_checks), None)
    if first is None:
        return
    model = first.model
    span = model.at("config.healthcheck") if model is not None else first.source
    observed = joined.observed
    mac = observed.nb_options.get("svc_monitor_mac")
    if mac is None:
        message = (
            "NB_Global has no options:svc_monitor_mac, the MAC health-check probes come from: ovn-northd "
            "makes one when it runs, so it is not running against this database (or has never run)"
        )
        fix = "start ovn-northd against this Northbound database (it writes a new svc_monitor_mac)"
        yield problem(span, "D500", message, fix, load_balancer=first.name)
        return
    southbound = observed.sb_options.get("svc_monitor_mac")
    monitors = [monitor for target in joined.targets if (monitor := joined.monitor(target)) is not None]
    used = sorted({monitor.src_mac for monitor in monitors if monitor.src_mac})
    stale = [value for value in [southbound, *used] if value is not None and not _same_mac(value, mac)]
    if stale:
        message = (
            f"NB_Global options:svc_monitor_mac is {mac}, but the Southbound still uses {stale[0]}: ovn-northd "
            "has not caught up (it is stopped, or lost a database); once it does, every monitor goes offline "
            "until the backends' neighbour caches forget the old MAC (35 to 50 s measured)"
        )
        fix = (
            "check that ovn-northd runs; if the change was a mistake, set it back: "
            f"ovn-nbctl set NB_Global . options:svc_monitor_mac={stale[0]}"
        )
        yield problem(span, "D501", message, fix, load_balancer=first.name)


def _all_offline(joined: Joined) -> Iterator[Finding]:
    """Every monitor offline at once: a cause they share is likelier than every backend down."""
    first = next((row.wanted for row in joined.rows if row.wanted.health_checks), None)
    monitors = {
        (monitor.logical_port, monitor.ip, monitor.port, monitor.protocol): monitor.status
        for target in joined.targets
        if (monitor := joined.monitor(target)) is not None
    }
    if first is None or len(monitors) < 2 or any(status not in ("offline", "error") for status in monitors.values()):
        return
    span = first.model.at("config.healthcheck") if first.model is not None else first.source
    message = (
        f"all {len(monitors)} monitors are offline at once: something they share is likelier than every backend "
        "down. After a change of NB_Global options:svc_monitor_mac they are all offline until the backends' "
        "neighbour caches forget the old MAC (35 to 50 s measured); else check the probe source and ovn-controller"
    )
    yield note(span, "D502", message, "run doctor again in a minute", load_balancer=first.name)


def _same_mac(first: str, second: str) -> bool:
    try:
        return bool(EUI(first) == EUI(second))
    except (AddrFormatError, ValueError, TypeError):
        return first == second


def _attachments(joined: Joined) -> Iterator[Finding]:
    names = {(d.table, d.name) for d in joined.observed.nb.datapaths}
    for row in joined.rows:
        found, wanted = row.found, row.wanted
        network = wanted.owner
        if found is None or network is None:
            continue
        reached = datapaths_reaching(joined, found)
        for table, name in network.datapaths():
            if (table, name) in reached:
                continue
            kind = "router" if table == "Logical_Router" else "switch"
            span = datapath_span(network, table, name) or wanted.source
            if (table, name) not in names:
                why = f"{kind} {name} is not in the Northbound database"
                fix = f"create {kind} {name}, or correct its name in the file"
            else:
                whose = "its clients never reach" if kind == "switch" else "traffic it routes never reaches"
                why = f"load balancer {wanted.name} is not on {kind} {name}, which the file names: {whose} the VIPs"
                fix = f"ovn-nbctl {'ls' if kind == 'switch' else 'lr'}-lb-add {name} {wanted.name} ({PLAN_FIX})"
            yield problem(span, "D600", why, fix, load_balancer=wanted.name)


def _udp_notes(joined: Joined) -> Iterator[Finding]:
    for row in joined.rows:
        if row.found is None or row.wanted.protocol != "udp":
            continue
        for key, _ in row.wanted.vips:
            check = row.check_for(key)
            if check is None:
                continue
            timeout = check.options.get("timeout", "3")
            message = (
                f"VIP {key}: a UDP monitor counts silence as up: a backend is online when no ICMP port-unreachable "
                f"comes back within {timeout} s, so one that answers the probe, or a host that is down or drops "
                "it, is online too; only a stopped server on a live host (which sends the ICMP error) goes offline"
            )
            yield note(value_span(row.wanted, "vips", key), "D702", message, load_balancer=row.wanted.name, vip=key)


CHECKS = (_rows, _health_checks, _monitor_mac, _all_offline, _attachments, backend_findings, _udp_notes)


def diagnose(joined: Joined) -> tuple[Finding, ...]:
    """Every finding, in the file's order (by line, then code)."""
    found = {finding for check in CHECKS for finding in check(joined)}
    return tuple(sorted(found, key=Finding.sort_key))
