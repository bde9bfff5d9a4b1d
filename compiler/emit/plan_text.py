"""A plan for people: what ``apply`` would add (+), change (~) and remove (-).

Grouped by network in the file's order, each load balancer (and each NAT
row, a forward's default target) with the line of the file it comes from,
and only what differs. Every value is printed as a
JSON string, so a space, a quote or an escape is visible byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from netaddr import IPAddress

from ..ir import Network
from ..plan import GroupChange, HealthCheckChange, MapDiff, NatChange, Plan, RowChange


def _q(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _map_lines(label: str, diff: MapDiff, arrow: str = " -> ") -> Iterator[str]:
    for key, value in diff.added:
        yield f"+ {label} {_q(key)}{arrow}{_q(value)}"
    for key, before, after in diff.changed:
        yield f"~ {label} {_q(key)}: {_q(before)} => {_q(after)}"
    for key, value in diff.removed:
        yield f"- {label} {_q(key)}{arrow}{_q(value)}"


def _options(pairs: Sequence[tuple[str, str]]) -> str:
    return " ".join(f"{key}={value}" for key, value in pairs)


def _health_check_lines(check: HealthCheckChange) -> Iterator[str]:
    if check.action == "add" and check.wanted is not None:
        yield f"+ health check on {_q(check.vip)}: {_options(check.wanted.options)}"
    elif check.action == "remove" and check.existing is not None:
        yield f"- health check on {_q(check.vip)} (_uuid {check.existing.uuid})"
    else:
        yield f"~ health check on {_q(check.vip)}"
        for line in _map_lines("option", check.options, " = "):
            yield "    " + line
        for line in _map_lines("external_id", check.external_ids, " = "):
            yield "    " + line


def _row_lines(change: RowChange) -> Iterator[str]:
    sign = {"add": "+", "change": "~", "remove": "-"}[change.action]
    where = ""
    if change.wanted is not None:
        where = f"  ({change.wanted.source.file}:{change.wanted.source.line})"
    elif change.existing is not None:
        where = f"  (_uuid {change.existing.uuid}; not in the file)"
    yield f"{sign} load balancer {change.name}{where}"
    details: list[str] = []
    if change.adopted_from:
        details.append(f"~ adopted: the row was {change.adopted_from}")
    if change.rename is not None and change.existing is not None:
        old_name, new_name = change.rename
        details.append(f"~ name: {_q(old_name)} => {_q(new_name)}  (renamed in place, _uuid {change.existing.uuid})")
    if change.protocol is not None:
        before, after = change.protocol
        details.append(f"~ protocol: {_q(before or '')} => {_q(after)}")
    if change.action == "remove" and change.existing is not None:
        details.extend(f"- vip {_q(key)} -> {_q(value)}" for key, value in sorted(change.existing.vips.items()))
    else:
        details.extend(_map_lines("vip", change.vips))
        for check in change.health_checks:
            details.extend(_health_check_lines(check))
        details.extend(_map_lines("mapping", change.ip_port_mappings))
        details.extend(_map_lines("external_id", change.external_ids, " = "))
        details.extend(_map_lines("option", change.options, " = "))
        if change.selection_fields is not None:
            before, after = (" ".join(fields) or "(none)" for fields in change.selection_fields)
            details.append(
                f"~ selection_fields: {before} => {after}" if change.existing else f"+ selection_fields: {after}"
            )
        details.extend(f"+ attach to {datapath.table} {datapath.name}" for datapath in change.attach)
        details.extend(
            f"- detach from {datapath.table} {datapath.name} (its group reaches it)" for datapath in change.detach
        )
    for line in details:
        yield "    " + line


def _nat_lines(change: NatChange) -> Iterator[str]:
    sign = {"add": "+", "change": "~", "remove": "-"}[change.action]
    existing, wanted = change.existing, change.wanted
    if wanted is not None:
        where = f"  ({wanted.source.file}:{wanted.source.line})"
        kind, target = wanted.type, existing.logical_ip if existing is not None else wanted.logical_ip
    else:
        assert existing is not None
        where = f"  (_uuid {existing.uuid}; not in the file)"
        kind, target = existing.type, existing.logical_ip
    routers = ", ".join(datapath.name for datapath in change.routers) or change.router
    yield f"{sign} nat {kind} {change.external_ip} -> {target} on router {routers}{where}"
    details: list[str] = []
    if change.adopted_from:
        details.append(f"~ adopted: the row was {change.adopted_from}")
    if change.logical_ip is not None:
        details.append(f"~ logical_ip: {_q(change.logical_ip[0])} => {_q(change.logical_ip[1])}")
    details.extend(_map_lines("option", change.options, " = "))
    details.extend(_map_lines("external_id", change.external_ids, " = "))
    for line in details:
        yield "    " + line


def _group_lines(group: GroupChange) -> Iterator[str]:
    sign = {"add": "+", "change": "~", "remove": "-"}[group.action]
    where = f"  ({group.wanted.source.file}:{group.wanted.source.line})" if group.wanted is not None else ""
    if group.existing is not None:
        others = len(group.existing.load_balancer)
        where += f"  (_uuid {group.existing.uuid}, {others} member{'s' if others != 1 else ''})"
        if not group.owned:
            where += "  (not made by ovn-lbc: used, never deleted)"
    yield f"{sign} load balancer group {_q(group.name)}{where}"
    if group.mark is not None:
        key, uuid = group.mark
        yield f"    {sign} mark in NB_Global external_ids {_q(key)} = {_q(uuid)}"
    for name, _ in group.add_members:
        yield f"    + member {name}"
    for name, uuid in group.remove_members:
        yield f"    - member {name} (_uuid {uuid}): its network uses another group now"
    for datapath in group.attach:
        yield f"    + attach to {datapath.table} {datapath.name}"
    for datapath in group.detach:
        yield f"    - detach from {datapath.table} {datapath.name}"


def _probe_sources(network: Network) -> str | None:
    """``probe sources: ipv4 10.135.209.254 (last), ...``: the address each family's
    health checks probe from and how it was chosen; None without health checks.
    A change of choice shows as changed mappings only, so this says what they mean."""
    versions = sorted(
        {b.target_address.version for lb in network.load_balancers if lb.health_check is not None for b in lb.backends}
    )
    shown: list[str] = []
    for version in versions:
        source = network.health_check_source(version)
        if source is not None:
            choice = network.probe_source.of(version)
            shown.append(f"ipv{version} {source} ({'given' if isinstance(choice, IPAddress) else choice})")
    if not shown:
        return None
    return f"probe source{'s' if len(shown) > 1 else ''}: {', '.join(shown)}"


def render_plan(plan: Plan, inputs: Sequence[str], against: str) -> str:
    lines = [f"# ovn-lbc plan{' --destroy' if plan.destroy else ''}: {', '.join(inputs)} against {against}"]
    for network in plan.networks:
        changes = [change for change in plan.changes if change.network == network.name]
        nats = [change for change in plan.nats if change.network == network.name]
        found = [port for port in plan.found_ports if port.network == network.name]
        if not changes and not nats and not found:
            continue
        lines.append("")
        lines.append(f"network {network.name} (router {network.router}, switch {network.switch})")
        probe_sources = None if plan.destroy else _probe_sources(network)
        if probe_sources is not None:
            lines.append(f"  {probe_sources}")
        for port in found:
            lines.append(
                f"  found switch port {_q(port.port)} on {port.switch} for backend {_q(port.backend)} ({port.address})"
            )
        for change in changes:
            lines.extend("  " + line for line in _row_lines(change))
        for nat in nats:
            lines.extend("  " + line for line in _nat_lines(nat))
    if plan.groups:
        lines.append("")
        lines.append("load balancer groups")
        for group in plan.groups:
            lines.extend("  " + line for line in _group_lines(group))
    lines.append("")
    kept = [f"{plan.unchanged} load balancer{'s' if plan.unchanged != 1 else ''}"] if plan.unchanged else []
    if plan.unchanged_nats:
        kept.append(f"{plan.unchanged_nats} NAT row{'s' if plan.unchanged_nats != 1 else ''}")
    unchanged = f" {' and '.join(kept)} unchanged." if kept else ""
    lines.append(plan.summary() + unchanged)
    return "\n".join(lines) + "\n"
