"""Load_Balancer options as both front ends read them: text in, a typed
value or the reasons why not out (each with its offset in the text, so a
diagnostic points at the bad item). The keys are the YAML ``config`` keys;
the DSL's statements map onto them (``affinity-timeout`` -> ``affinity_timeout``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netaddr import IPAddress

from ..ir import BOOLEAN_OPTION_KEYS, NEIGHBOR_RESPONDER_MODES, SELECTION_FIELDS, LoadBalancerOptions
from .values import parse_address, parse_bool

MAX_AFFINITY_TIMEOUT = 65535  # ovn-northd caps larger values and only logs a warning

# OVN options ovn-lbc will not write, and why: the reason is the error message.
UNSUPPORTED_OPTIONS: dict[str, str] = {
    "template": (
        "template load balancers (options:template) take their VIPs and backends from Chassis_Template_Var, "
        "which ovn-lbc does not manage, and ovn-northd ignores health checks on them; ovn-lbc writes "
        "concrete addresses instead"
    ),
    "address-family": "options:address-family only matters for template load balancers, which ovn-lbc does not write",
    "distributed": (
        "options:distributed (OVN 26.03) needs ip_port_mappings for every backend, with health checks or not, "
        "which ovn-lbc writes only for health-checked load balancers; not supported yet"
    ),
}

_ITEM = re.compile(r"[^\s,]+")
# An empty item: only blanks between the start or a comma and the next comma or the end.
_EMPTY_ITEM = re.compile(r"(?:^|,)\s*(?=,|$)")
_SECONDS = re.compile(r"0*([0-9]{1,12})([smh]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}

Problems = list[tuple[int, str]]  # (offset in the text, message)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A value, or the problems that stopped it (code E206 for booleans, else E209)."""

    value: object
    problems: Problems
    code: str


def _items(text: str) -> list[tuple[int, str]]:
    """Items separated by commas and/or blanks, with their offsets."""
    return [(match.start(), match.group()) for match in _ITEM.finditer(text)]


def parse_affinity_timeout(text: str) -> tuple[int | None, Problems]:
    match = _SECONDS.fullmatch(text.strip())
    if match is None:
        return None, [(0, f'affinity_timeout: "{text}" is not a number of seconds (or a duration like 5m)')]
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if not 1 <= seconds <= MAX_AFFINITY_TIMEOUT:
        # What ovn-kubernetes does for the longest session affinity Kubernetes
        # allows (86400 s): no timeout, a hash of the addresses instead.
        return None, [
            (
                0,
                f'affinity_timeout: "{text}" is not 1 to {MAX_AFFINITY_TIMEOUT} seconds '
                "(ovn-northd would cap it and only log a warning); for affinity that outlasts that, do as "
                "ovn-kubernetes does: no affinity_timeout, and selection_fields ip_src,ip_dst (a client "
                "keeps its backend while the backends stay the same)",
            )
        ]
    return seconds, []


def _empty_items(text: str, what: str) -> Problems:
    return [(match.start(), f"{what}: empty item in the list") for match in _EMPTY_ITEM.finditer(text)]


def parse_selection_fields(text: str) -> tuple[tuple[str, ...] | None, Problems]:
    items = _items(text)
    problems: Problems = _empty_items(text, "selection_fields") if items else []
    if not items:
        return None, [(0, "selection_fields: name at least one field, like ip_src,ip_dst")]
    fields: list[str] = []
    for offset, item in items:
        if item not in SELECTION_FIELDS:
            problems.append(
                (offset, f'selection_fields: unknown field "{item}"; OVN knows {", ".join(SELECTION_FIELDS)}')
            )
        elif item in fields:
            problems.append((offset, f'selection_fields: "{item}" is listed twice'))
        else:
            fields.append(item)
    return (None if problems else tuple(fields)), problems


def parse_hairpin_snat_ip(text: str) -> tuple[tuple[IPAddress, ...] | None, Problems]:
    items = _items(text)
    if not items:
        return None, [(0, "hairpin_snat_ip: give one IPv4 and/or one IPv6 address")]
    problems: Problems = _empty_items(text, "hairpin_snat_ip")
    by_family: dict[int, IPAddress] = {}
    for offset, item in items:
        address = parse_address(item)
        if address is None:
            problems.append((offset, f'hairpin_snat_ip: "{item}" is not an IPv4 or IPv6 address'))
        elif address.version in by_family:
            family = f"IPv{address.version}"
            problems.append(
                (offset, f"hairpin_snat_ip: a second {family} address ({address}); OVN takes one {family} at most")
            )
        else:
            by_family[address.version] = address
    return (None if problems else tuple(by_family[v] for v in sorted(by_family))), problems


def parse_neighbor_responder(text: str) -> tuple[str | None, Problems]:
    value = text.strip()
    if value in NEIGHBOR_RESPONDER_MODES:
        return value, []
    return None, [(0, f'neighbor_responder: "{text}" is not one of {", ".join(NEIGHBOR_RESPONDER_MODES)}')]


def parse_option(key: str, text: str) -> Parsed:
    """One option's value from its text (``key`` is one of ir.OPTION_KEYS)."""
    if key in BOOLEAN_OPTION_KEYS:
        flag = parse_bool(text)
        if flag is None:
            return Parsed(None, [(0, f'{key}: "{text}" is not a boolean (use "true" or "false")')], "E206")
        return Parsed(flag, [], "E206")
    parsers = {
        "affinity_timeout": parse_affinity_timeout,
        "selection_fields": parse_selection_fields,
        "hairpin_snat_ip": parse_hairpin_snat_ip,
        "neighbor_responder": parse_neighbor_responder,
    }
    value, problems = parsers[key](text)
    return Parsed(value, problems, "E209")


def build_options(values: Mapping[str, Any]) -> LoadBalancerOptions:
    """The options of the parsed values (option config key -> value)."""
    return LoadBalancerOptions(**values)
