"""Value rules both front ends share: what a port list, a gateway, a MAC, a
name or a storable string is, and why not. Text in, a value or a reason out;
each front end turns a reason into a diagnostic at its own location.
"""

from __future__ import annotations

import re

from netaddr import EUI, AddrFormatError, IPAddress, IPNetwork

from ..ir import PROBE_SOURCE_WORDS, HealthCheck, PortRange, ProbeChoice

MAX_HEALTH_CHECK_VALUE = 2**31 - 1  # ovn-controller reads the options as C ints
# E302, in both front ends: a default target (config target_address, DSL
# ``default``) on a load balancer.
WHOLE_IP_LOAD_BALANCING = (
    "a load balancer has no default target: whole-IP load balancing is not allowed",
    "a VIP without a port sends ICMP only ever to the first backend (Incus refuses it too); "
    "list the ports to balance, or use a forward for one target",
)
# Incus takes any uint32 for the healthcheck.* keys (and 0 for its default).
INCUS_HEALTH_CHECK_MAX = 2**32 - 1
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}
# At most 6 digits: anything longer is out of range anyway, and int() of
# thousands of digits raises instead of returning.
_PORT_ITEM = re.compile(r"\s*0*([0-9]{1,6})(?:\s*-\s*0*([0-9]{1,6}))?\s*$")


def health_check_value_problem(what: str, text: str, number: int | None) -> str:
    """Why a health-check value is refused (``number`` None: not a number at all)."""
    if number is None or number > INCUS_HEALTH_CHECK_MAX:
        return f'{what}: "{text}" is not an integer from 0 to {MAX_HEALTH_CHECK_VALUE}'
    # Incus would store it, and ovn-controller would silently use its own default.
    return (
        f'{what}: "{text}" is above {MAX_HEALTH_CHECK_VALUE}: Incus stores it, but ovn-controller reads '
        "the value as a C int and would silently ignore it"
    )


def zero_default_message(what: str, key: str) -> str:
    """The note for a health-check value of 0, which Incus reads as its default."""
    default = getattr(HealthCheck(), key)
    return f"{what} 0 means the default, {default}, as in Incus"


def parse_ports(text: str) -> tuple[tuple[PortRange, ...], list[tuple[int, str]]]:
    """``"80,8080-8090"`` -> ranges, and (offset, message) for each bad item."""
    ranges: list[PortRange] = []
    problems: list[tuple[int, str]] = []
    offset = 0
    for item in text.split(","):
        match = _PORT_ITEM.match(item)
        where = offset + len(item) - len(item.lstrip())
        if not match:
            shown = item.strip()
            problems.append(
                (
                    where,
                    f'"{shown}" is not a port or a range' if shown else "empty item in the port list",
                )
            )
        else:
            first = int(match.group(1))
            last = int(match.group(2)) if match.group(2) else first
            if not 1 <= first <= 65535 or not 1 <= last <= 65535:
                problems.append((where, f'"{item.strip()}": ports are 1 to 65535'))
            elif match.group(2) and last <= first:
                problems.append((where, f'"{item.strip()}": a range a-b needs b greater than a'))
            else:
                ranges.append(PortRange(first, last))
        offset += len(item) + 1
    return tuple(ranges), problems


def parse_single_port(text: str, what: str) -> tuple[int | None, list[tuple[int, str]]]:
    """One port, 1 to 65535: a pool's or a pool instance's target_port
    (LXD: validate.IsNetworkPort, one port, no list or range)."""
    ranges, problems = parse_ports(text)
    if problems:
        return None, problems
    if len(ranges) != 1 or len(ranges[0]) != 1:
        return None, [(0, f'"{text.strip()}" is not one port: {what} is a single port (LXD)')]
    return ranges[0].first, []


def pool_health_check_value(what: str, text: str) -> int | str:
    """A pool's healthcheck.* value, or why not (E205). LXD takes any uint64
    and writes it as it is, 0 too (no default for 0, unlike Incus)."""
    digits = re.fullmatch(r"0*([0-9]{1,12})", text.strip())
    number = int(digits.group(1)) if digits is not None else None
    if number is None:
        return f'{what}: "{text}" is not an integer from 0 to {MAX_HEALTH_CHECK_VALUE}'
    if number > MAX_HEALTH_CHECK_VALUE:
        return (
            f'{what}: "{text}" is above {MAX_HEALTH_CHECK_VALUE}: LXD stores it, but ovn-controller reads '
            "the value as a C int and would silently ignore it"
        )
    return number


def parse_pool_health_check_enabled(text: str) -> bool | None:
    """A pool's ``healthcheck``: LXD validates it as a boolean when it is not
    empty and turns checks off only for a false one (shared.IsFalse), so an
    empty value means on (lxd/network/driver_ovn.go checkPoolHealthCheck, 5374)."""
    return True if not text.strip() else parse_bool(text)


def parse_bool(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


def string_problem(text: str) -> str | None:
    """Why OVSDB cannot store ``text`` (E208), or None."""
    if "\x00" in text:
        return "the string contains a NUL character, which OVSDB cannot store"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "the string is not valid Unicode (a lone surrogate escape)"
    return None


def name_problem(value: str, what: str) -> str | None:
    """Why ``value`` is not a name (E207), or None."""
    if not value.strip() or any(ch.isspace() for ch in value):
        return f'{what} "{value}" must be non-empty and contain no whitespace'
    return None


def parse_address(text: str) -> IPAddress | None:
    try:
        return IPAddress(text)
    except (AddrFormatError, ValueError, TypeError):
        return None


def parse_gateway(text: str, version: int, what: str) -> IPNetwork | str:
    """``10.135.209.1/24`` -> the gateway with its prefix, or why not (E201)."""
    family = "IPv4" if version == 4 else "IPv6"
    example = "10.135.209.1/24" if version == 4 else "fd42:1:2:3::1/64"
    address, slash, prefix = text.partition("/")
    gateway = parse_address(address)
    if gateway is None or not slash or not re.fullmatch(r"[0-9]{1,3}", prefix) or gateway.version != version:
        return f'{what}: "{text}" is not an {family} gateway address with a prefix, like {example}'
    try:
        network = IPNetwork(f"{gateway}/{int(prefix)}")
    except (AddrFormatError, ValueError, TypeError):
        return f'{what}: "{text}" is not an {family} gateway address with a prefix, like {example}'
    if network.ip in (network.network, network.broadcast) and network.size > 2:
        return f"{what}: the gateway {network.ip} is the subnet's network or broadcast address"
    return network


def parse_mac(text: str) -> EUI | None:
    return EUI(text) if re.fullmatch(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}", text) else None


def parse_probe_source(text: str, version: int) -> ProbeChoice | None:
    """A probe_source value for one family -> the choice; None when it is none
    (``probe_source_problem`` says why).

    Only what the value says by itself is checked here; whether an address
    is a spare one of the network's subnet is a check of the network (E328).
    """
    if text in PROBE_SOURCE_WORDS and not (text == "eui64" and version == 4):
        return text
    address = parse_address(text)
    return address if address is not None and address.version == version else None


def probe_source_problem(text: str, version: int, what: str) -> str:
    """Why ``text`` is no probe source for IPv``version`` (E211)."""
    words = [word for word in PROBE_SOURCE_WORDS if version == 6 or word != "eui64"]
    if text == "eui64":
        return (
            f"{what}: eui64 is for IPv6 only (the EUI-64 address of router_mac); "
            f"an IPv4 probe source is {', '.join(words)} or an address"
        )
    address = parse_address(text)
    if address is not None:
        return f"{what}: {address} is an IPv{address.version} address, not an IPv{version} one"
    return f'{what}: "{text}" is not {", ".join(words)} or an IPv{version} address'
