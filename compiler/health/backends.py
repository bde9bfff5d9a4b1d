"""The doctor's checks of one backend: its mapping, its switch port, its probe source, its monitor.

In the order northd and ovn-controller need things: an ``ip_port_mappings``
entry under the key northd looks up (D200); the switch port it names
exists and is enabled (D201, D204), bound to a chassis and up (D202), and
holds the backend's address, without which ovn-controller sends no probe
and the monitor's status freezes (D203); a probe source that is an address
(D300), inside the backend's subnet (D302) and nobody else's (D301); then
the monitor itself (D700 and the notes D701, D703, D704, D705).

A backend gets the first problem of its mapping, port and source once per
row (it may serve several VIPs); the monitor checks then skip it, since
its monitor's state is explained.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from netaddr import EUI, AddrFormatError, IPAddress

from ..ovn_versions import OvnVersion
from ..ovsdb.state import DbSwitchPort
from .findings import Finding, backend_words, note, problem
from .joined import Joined, Target
from .observed import parse_address

# From OVN 26.03 a router port's own address may be the probe source.
ROUTER_PORT_SOURCE = OvnVersion(26, 3)
# After 26.03's schema (7.18.0), northd starts a new monitor offline ("fail
# closed") until its first good probe: an offline monitor may just be new.
FAIL_CLOSED_AFTER_SCHEMA = (7, 18, 0)
PLAN_FIX = "`ovn-lbc plan` shows what `ovn-lbc apply` would change; apply it"


@dataclass(frozen=True, slots=True)
class Index:
    """Who has which address on which switch, computed once per diagnosis."""

    switch_of: dict[str, str]  # switch port name -> its switch's name
    ports_on: dict[str, list[DbSwitchPort]]  # switch name -> its ports


def index(joined: Joined) -> Index:
    nb = joined.observed.nb
    switch_of: dict[str, str] = {}
    ports_on: dict[str, list[DbSwitchPort]] = {}
    for datapath in nb.datapaths:
        if datapath.table != "Logical_Switch":
            continue
        for uuid in datapath.ports:
            if (port := nb.switch_ports.get(uuid)) is not None:
                switch_of.setdefault(port.name, datapath.name)
                ports_on.setdefault(datapath.name, []).append(port)
    return Index(switch_of, ports_on)


def port_ips(entries: Iterable[str]) -> tuple[set[IPAddress], bool]:
    """The addresses in "MAC IP..." entries, and whether an entry is a MAC alone
    (which ovn-controller probes with as it is)."""
    found: set[IPAddress] = set()
    mac_alone = False
    for entry in entries:
        words = entry.split()
        if not words or not _is_mac(words[0]):
            continue  # "router", "unknown", "dynamic": no MAC ovn-controller could probe with
        addresses = {a for word in words[1:] if (a := parse_address(word.split("/")[0])) is not None}
        mac_alone |= not addresses
        found |= addresses
    return found, mac_alone


def _is_mac(text: str) -> bool:
    try:
        EUI(text)
    except (AddrFormatError, ValueError, TypeError):
        return False
    return ":" in text


def probe_source(value: str) -> str:
    """The source of a ``PORT:SOURCE[:AZ]`` mapping value, as written (brackets kept)."""
    source = value.partition(":")[2]
    if source.startswith("["):
        return source.partition("]")[0] + "]"
    return source if parse_address(source) is not None else source.partition(":")[0]


def _int_option(options: Mapping[str, str], key: str, default: int) -> int:
    """A health-check option as ovn-controller reads it: its default when absent or not a number."""
    value = options.get(key, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else default


def fail_closed(joined: Joined) -> bool:
    version = joined.observed.nb.schema_version or ""
    try:
        return tuple(int(part) for part in version.split(".")) > FAIL_CLOSED_AFTER_SCHEMA
    except ValueError:
        return False


# -- the mapping and the switch port -----------------------------------------------------


def _no_mapping(joined: Joined, target: Target) -> Finding:
    found = joined.row_of(target).found
    assert found is not None
    key = target.mapping_key
    near = [k for k in found.ip_port_mappings if k != key and parse_address(k) == target.address]
    wanted = dict(target.row.ip_port_mappings).get(key)
    words = backend_words(target)
    consequence = "northd makes no monitor for it and, the VIP being health-checked, leaves it out of the flows"
    if near:
        message = (
            f'{words}: the database\'s ip_port_mappings has the key "{near[0]}", but northd looks the backend '
            f'up as "{key}" (an IPv6 key is bracketed): {consequence}'
        )
        return problem(target.span, "D200", message, PLAN_FIX, target)
    if wanted is None:
        network = target.row.owner
        switch = network.switch if network is not None else "the network's switch"
        message = (
            f"{words}: the file names no switch port with address {target.address}, and no "
            f"Logical_Switch_Port of switch {switch} has it: {consequence}"
        )
        fix = "add the backend's port to the network's switch_ports, or give its Logical_Switch_Port this address"
        return problem(target.span, "D200", message, fix, target)
    message = f'{words}: the database\'s row has no ip_port_mappings entry "{key}" (the file gives "{wanted}"): '
    return problem(target.span, "D200", message + consequence, PLAN_FIX, target)


def _port_problem(joined: Joined, target: Target, port: str) -> Finding | None:
    words = backend_words(target)
    observed = joined.observed
    facts = observed.switch_ports.get(port)
    if facts is None:
        message = f"{words}: ip_port_mappings names switch port {port}, which does not exist: northd makes no monitor"
        fix = f"create Logical_Switch_Port {port} for the backend, or name the port it has in switch_ports"
        return problem(target.span, "D201", message, fix, target)
    if not facts.enabled:
        message = f"{words}: switch port {port} is disabled (enabled=false): northd makes no monitor for it"
        return problem(target.span, "D204", message, f"ovn-nbctl lsp-set-enabled {port} enabled", target)
    binding = observed.bindings.get(port)
    if binding is None or binding.chassis is None:
        state = "has no Port_Binding yet" if binding is None else "is bound to no chassis"
        message = (
            f"{words}: switch port {port} {state}: no ovn-controller probes it, and northd holds its monitor offline"
        )
        fix = (
            f"start the instance behind {port}, or give its OVS interface the port's name: "
            f"ovs-vsctl set Interface IFACE external_ids:iface-id={port}"
        )
        return problem(target.span, "D202", message, fix, target)
    if not binding.up:
        message = (
            f"{words}: switch port {port} is on chassis {binding.chassis} but not up: northd holds its monitor offline"
        )
        fix = f"check ovn-controller on {binding.chassis} and the instance's interface"
        return problem(target.span, "D202", message, fix, target)
    entries = binding.macs
    addresses, mac_alone = port_ips(entries)
    if target.address not in addresses and not mac_alone:
        monitor = joined.monitor(target)
        stale = f'; its monitor\'s status "{monitor.status}" is stale' if monitor is not None and monitor.status else ""
        shown = ", ".join(f'"{entry}"' for entry in entries) or "none"
        message = (
            f"{words}: switch port {port}'s addresses ({shown}) do not hold {target.address}: ovn-controller "
            f"sends it no probe{stale}"
        )
        mac = next((entry.split()[0] for entry in entries if entry.split() and _is_mac(entry.split()[0])), "MAC")
        fix = f'ovn-nbctl lsp-set-addresses {port} "{mac} {target.address}", or correct the backend\'s target_address'
        return problem(target.span, "D203", message, fix, target)
    return None


# -- the probe source ------------------------------------------------------------------------


def _source_problem(joined: Joined, target: Target, port: str, value: str, where: Index) -> Finding | None:
    words = backend_words(target)
    written = probe_source(value)
    source = parse_address(written)
    expected = dict(target.row.ip_port_mappings).get(target.mapping_key)
    expected_source = probe_source(expected) if expected else None
    fix = (
        f"use the network's health-check source {expected_source} (what the file's rows hold: {PLAN_FIX})"
        if expected_source
        else PLAN_FIX
    )
    if source is None or source.version != target.address.version:
        message = (
            f'{words}: the probe source "{written}" in ip_port_mappings is not an '
            f"IPv{target.address.version} address: northd makes no monitor"
        )
        return problem(target.span, "D300", message, fix, target)
    network = target.row.owner
    subnet = network.subnet(source.version) if network is not None else None
    if subnet is not None and source not in subnet:
        message = (
            f"{words}: probes come from {source}, outside network {network.name if network else ''}'s subnet "
            f"{subnet.cidr}: the backend answers through its gateway and the answers never come back, so the "
            "monitor never goes online"
        )
        return problem(target.span, "D302", message, fix, target)
    owners = _owners(joined, where, where.switch_of.get(port, ""), source)
    if owners:
        message = (
            f"{words}: the probe source {source} is also the address of {', '.join(owners)}: OVN answers ARP/ND "
            f"for {source} with svc_monitor_mac, for the probes, so the other owner stops being reachable"
        )
        return problem(target.span, "D301", message, fix, target)
    if expected is not None and expected != value:
        message = f'{words}: the database maps it to "{value}", the file to "{expected}"'
        return note(target.span, "D303", message, PLAN_FIX, target)
    return None


def _owners(joined: Joined, where: Index, switch: str, source: IPAddress) -> list[str]:
    """The switch ports of ``switch`` and the router ports behind it that have address ``source``."""
    observed = joined.observed
    release = observed.release
    routers_may = release is not None and release >= ROUTER_PORT_SOURCE
    owners = []
    for port in where.ports_on.get(switch, []):
        addresses, _ = port_ips(port.addresses)
        if source in addresses:
            owners.append(f"switch port {port.name}")
        facts = observed.switch_ports.get(port.name)
        router_port = observed.router_ports.get(facts.router_port) if facts and facts.type == "router" else None
        if router_port is not None and not routers_may:
            if source in {a for n in router_port.networks if (a := parse_address(n.split("/")[0])) is not None}:
                owners.append(f"router port {router_port.name}")
    return owners


# -- the monitor -------------------------------------------------------------------------------


def _monitor_finding(joined: Joined, target: Target) -> Finding | None:
    check = joined.row_of(target).check_for(target.vip)
    assert check is not None
    options = check.options
    interval = _int_option(options, "interval", 5)
    timeout = _int_option(options, "timeout", 3)
    successes = _int_option(options, "success_count", 1)
    failures = _int_option(options, "failure_count", 1)
    words = backend_words(target)
    monitor = joined.monitor(target)
    udp = target.row.protocol == "udp"
    if monitor is None:
        message = f"{words}: everything it needs is there, but the Southbound has no Service_Monitor for it"
        fix = "check that ovn-northd runs and reaches both databases (ovn-appctl -t ovn-northd status)"
        return problem(target.span, "D705", message, fix, target)
    if monitor.status in ("offline", "error"):
        if fail_closed(joined):
            message = (
                f"{words}: its monitor is offline; on this OVN a new monitor starts offline until its first good "
                f"probe, {interval + timeout} s or so after it is made"
            )
            return note(target.span, "D704", message, "if it stays offline, run doctor again", target)
        if udp:
            message = (
                f"{words}: its monitor is offline: the backend answered a probe with ICMP port unreachable, so "
                f"nothing listens on udp {target.port} at {target.address} (OVN counts silence as up and an "
                "ICMP error as down)"
            )
            fix = f"start the service on udp port {target.port} of {target.address}"
        else:
            message = (
                f"{words}: its monitor is offline: {failures} probe(s) from {monitor.src_ip} in a row got no SYN-ACK "
                f"from tcp {target.port} at {target.address}"
            )
            fix = (
                f"start the service on tcp port {target.port} of {target.address}, or let probes from "
                f"{monitor.src_ip} through its firewall"
            )
        return problem(target.span, "D700", message, fix, target)
    if not monitor.status:
        if udp:
            wait = (interval + timeout) * successes
            message = (
                f"{words}: its UDP monitor has no result yet: a UDP probe succeeds only when {timeout} s pass "
                f"without an ICMP error, so the first result comes about {wait} s after the monitor is made"
            )
        else:
            message = (
                f"{words}: its monitor has no result yet (a TCP probe has one within {timeout} s); until then "
                "OVN 23.03 to 26.03 keep the backend in the flows"
            )
        fix = "run doctor again in a while; if it stays so, ovn-controller is not probing it"
        return note(target.span, "D701" if udp else "D703", message, fix, target)
    return None


def backend_findings(joined: Joined) -> Iterator[Finding]:
    """Every backend of a health-checked VIP of a row in the database, in the file's order."""
    where = index(joined)
    looked_at: set[tuple[str, str]] = set()  # (row, address): the mapping is per row and address
    explained: set[tuple[str, str]] = set()  # ... and its monitor's state is explained by a problem
    for target in joined.targets:
        row = joined.row_of(target)
        if row.found is None or row.check_for(target.vip) is None or not joined.applied(target):
            continue  # not applied (D100, D101) or not health-checked there (D400, D401)
        key = (target.row.name, str(target.address))
        if key not in looked_at:
            looked_at.add(key)
            finding = _mapping_finding(joined, target, where)
            if finding is not None:
                yield finding
                if finding.is_problem:
                    explained.add(key)
        if key not in explained and (monitor := _monitor_finding(joined, target)) is not None:
            yield monitor


def _mapping_finding(joined: Joined, target: Target, where: Index) -> Finding | None:
    value = joined.mapping(target)
    port = joined.mapped_port(target)
    if value is None or port is None:
        return _no_mapping(joined, target)
    return _port_problem(joined, target, port) or _source_problem(joined, target, port, value, where)
