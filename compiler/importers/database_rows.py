"""``import --from db``, its first half: one Load_Balancer row read back
into what the model needs (its VIPs, health check, mappings, options and
marks), and where the rows are (the networks their datapaths make).
compiler/importers/database.py turns these into the model and checks it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from netaddr import EUI, AddrFormatError, IPAddress, IPNetwork

from ..addresses import endpoint, host
from ..ir import (
    NEIGHBOR_RESPONDER_MODES,
    SELECTION_FIELDS,
    HealthCheck,
    LoadBalancerOptions,
)
from ..lower import (
    DESCRIPTION_KEY,
    KIND_KEY,
    OWNER_KEY,
    USER_KEY_PREFIX,
    option_pairs,
    vip_key,
)
from ..ovsdb.state import DbDatapath, DbLoadBalancer, DbNat, NorthboundState
from ..plan import MANAGED_OPTIONS

_NAME = re.compile(r"^(?P<prefix>.+)-lb-(?P<address>[0-9A-Fa-f.:]+)-(?P<protocol>tcp|udp|sctp)$")
_HEALTH_CHECK_KEYS = ("failure_count", "interval", "success_count", "timeout")
# The external_ids keys that are ovn-lbc's marks, which the import may add or change.
_MARKS = frozenset({OWNER_KEY, KIND_KEY})


class UnsupportedRow(Exception):
    """Why a row cannot be described by the input format: a code of
    compiler/codes.py's IMPORT_CODES (stable, for scripts) and the reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# -- one row read ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Vip:
    port: int | None
    targets: tuple[tuple[IPAddress, int | None], ...]
    check: HealthCheck | None = None  # its Load_Balancer_Health_Check's values


@dataclass(frozen=True, slots=True)
class _Row:
    db: DbLoadBalancer
    prefix: str
    address: IPAddress
    protocol: str
    vips: tuple[_Vip, ...]
    mappings: Mapping[IPAddress, tuple[str, IPAddress]]  # backend -> (switch port, source)
    options: LoadBalancerOptions
    description: str
    user: tuple[tuple[str, str], ...]
    kind: str | None
    owner: str | None


def _address(text: str, code: str) -> IPAddress:
    """An address; UnsupportedRow with ``code`` (the column's) if not."""
    try:
        return IPAddress(text)
    except (AddrFormatError, ValueError, TypeError):
        raise UnsupportedRow(code, f"{text!r} is not an IP address") from None


def _endpoint(text: str, code: str) -> tuple[IPAddress, int | None]:
    """``A``, ``A:P``, ``[A6]``, ``[A6]:P``, ``A6``: the address and the port."""
    if text.startswith("["):
        inside, _, rest = text[1:].partition("]")
        address = _address(inside, code)
        if address.version != 6:
            raise UnsupportedRow(code, f"{text!r}: only IPv6 is bracketed")
        if not rest:
            return address, None
        if not rest.startswith(":"):
            raise UnsupportedRow(code, f"{text!r} is not ADDRESS:PORT")
        return address, _port(text, rest[1:], code)
    if text.count(":") == 1:
        head, _, tail = text.partition(":")
        return _address(head, code), _port(text, tail, code)
    return _address(text, code), None


def _port(text: str, digits: str, code: str) -> int:
    if not (digits.isascii() and digits.isdigit()) or not 0 < int(digits) <= 65535 or str(int(digits)) != digits:
        raise UnsupportedRow(code, f"{text!r}: the port is not a number 1-65535")
    return int(digits)


def _vips(row: DbLoadBalancer, listen: IPAddress) -> tuple[_Vip, ...]:
    if not row.vips:
        raise UnsupportedRow("I008", "it has no VIPs (ovn-lbc writes no row without one)")
    vips: list[_Vip] = []
    for key, value in sorted(row.vips.items()):
        if key.startswith("^") or "^" in value:
            raise UnsupportedRow("I005", f"VIP {key!r} is a template VIP")
        address, port = _endpoint(key, "I007")
        if address != listen:
            raise UnsupportedRow(
                "I004", f"VIP {key!r} is not of the listen address {listen} its name says (one address a row)"
            )
        if vip_key(address, port) != key:
            raise UnsupportedRow(
                "I007", f"VIP {key!r} is not written the way ovn-lbc writes it ({vip_key(address, port)!r})"
            )
        if port is None:
            raise UnsupportedRow(
                "I006",
                f"VIP {key!r} has no port (a forward's default target as Incus wrote it before July 2026): "
                "ovn-lbc writes a default target as a NAT row instead",
            )
        targets = tuple(_endpoint(text, "I007") for text in value.split(",")) if value else ()
        if not targets:
            raise UnsupportedRow("I008", f"VIP {key!r} has no backends")
        if ",".join(endpoint(a, p) for a, p in targets) != value:
            raise UnsupportedRow("I007", f"the backends of VIP {key!r} are not written the way ovn-lbc writes them")
        if any(p is None for _, p in targets):
            raise UnsupportedRow("I007", f"a backend of VIP {key!r} has no port")
        if any(a.version != listen.version for a, _ in targets):
            raise UnsupportedRow("I007", f"VIP {key!r} has backends of another address family")
        if len({a for a, _ in targets}) != len(targets):
            raise UnsupportedRow("I007", f"VIP {key!r} names one backend address twice")
        vips.append(_Vip(port, targets))
    return tuple(sorted(vips, key=lambda vip: vip.port or 0))


def _health_checks(row: DbLoadBalancer, state: NorthboundState) -> dict[str, HealthCheck]:
    """Each health-checked VIP's check, by its vips key. Whether the VIPs' checks
    can be one load balancer's, or pools', is database_model.py's question."""
    checks = [state.health_checks[uuid] for uuid in row.health_check if uuid in state.health_checks]
    found: dict[str, HealthCheck] = {}
    vips: set[str] = set()
    for check in checks:
        if check.vip not in row.vips:
            raise UnsupportedRow(
                "I013", f"its health check's vip {check.vip!r} is no VIP of the row (OVN ignores the check)"
            )
        if check.vip in vips:
            raise UnsupportedRow("I013", f"VIP {check.vip!r} has two health checks")
        vips.add(check.vip)
        if tuple(sorted(check.options)) != _HEALTH_CHECK_KEYS:
            raise UnsupportedRow(
                "I013",
                f"the health check of {check.vip!r} has options {', '.join(sorted(check.options)) or 'none'}: "
                "ovn-lbc writes exactly interval, timeout, success_count and failure_count",
            )
        values = {}
        for key in _HEALTH_CHECK_KEYS:
            text = check.options[key]
            if not (text.isascii() and text.isdigit()) or str(int(text)) != text:
                raise UnsupportedRow("I013", f"the health check of {check.vip!r} has {key}={text!r}, not a number")
            values[key] = int(text)
        ids = {k for k in check.external_ids if k.startswith(USER_KEY_PREFIX) and k != OWNER_KEY}
        if ids:
            raise UnsupportedRow("I013", f"the health check of {check.vip!r} has ovn-lbc keys {', '.join(sorted(ids))}")
        found[check.vip] = HealthCheck(**values)
    return found


def _mappings(row: DbLoadBalancer) -> dict[IPAddress, tuple[str, IPAddress]]:
    found: dict[IPAddress, tuple[str, IPAddress]] = {}
    for key, value in sorted(row.ip_port_mappings.items()):
        address, port = _endpoint(key, "I014")
        if port is not None or host(address) != key:
            raise UnsupportedRow("I014", f"ip_port_mappings key {key!r} is not written the way ovn-lbc writes it")
        name, _, source_text = value.partition(":")
        if not name or not source_text:
            raise UnsupportedRow("I014", f"ip_port_mappings value {value!r} is not PORT:SOURCE")
        source, source_port = _endpoint(source_text, "I014")
        if source_port is not None or host(source) != source_text or source.version != address.version:
            raise UnsupportedRow("I014", f"ip_port_mappings value {value!r} is not PORT:SOURCE as ovn-lbc writes it")
        found[address] = (name, source)
    return found


def _options(row: DbLoadBalancer) -> LoadBalancerOptions:
    values: dict[str, object] = {}
    for key, text in row.options.items():
        if key not in MANAGED_OPTIONS:
            continue  # another tool's option: apply keeps it
        if key == "affinity_timeout":
            if not (text.isascii() and text.isdigit()):
                raise UnsupportedRow("I015", f"options:affinity_timeout={text!r} is not a number")
            values[key] = int(text)
        elif key == "hairpin_snat_ip":
            values[key] = tuple(_address(word, "I015") for word in text.split(" "))
        elif key == "neighbor_responder":
            if text not in NEIGHBOR_RESPONDER_MODES:
                raise UnsupportedRow("I015", f"options:neighbor_responder={text!r} is not all, reachable or none")
            values[key] = text
        elif text == "true":
            values[key] = True
        else:
            raise UnsupportedRow("I015", f"options:{key}={text!r}: ovn-lbc writes this option only as true")
    if any(f not in SELECTION_FIELDS for f in row.selection_fields):
        raise UnsupportedRow("I015", f"selection_fields {' '.join(row.selection_fields)} are not all OVN's")
    ordered = tuple(f for f in SELECTION_FIELDS if f in row.selection_fields)
    options = LoadBalancerOptions(selection_fields=ordered, **values)  # type: ignore[arg-type]
    managed = {key: value for key, value in row.options.items() if key in MANAGED_OPTIONS}
    if dict(option_pairs(options)) != managed:
        raise UnsupportedRow("I015", "its options are not written the way ovn-lbc writes them")
    return options


def _external_ids(row: DbLoadBalancer | DbNat) -> tuple[str, tuple[tuple[str, str], ...], str | None, str | None]:
    """(description, user.* config, ovn-lbc:kind, ovn-lbc:network) from ovn-lbc's keys."""
    description = row.external_ids.get(DESCRIPTION_KEY, "")
    user: list[tuple[str, str]] = []
    for key, value in sorted(row.external_ids.items()):
        if not key.startswith(USER_KEY_PREFIX) or key in _MARKS or key == DESCRIPTION_KEY:
            continue  # another tool's key: apply keeps it
        name = key.removeprefix(USER_KEY_PREFIX)
        if not name.startswith("user."):
            raise UnsupportedRow("I016", f"external_ids key {key!r} is ovn-lbc's but none it writes")
        user.append((name, value))
    kind = row.external_ids.get(KIND_KEY)
    if kind not in (None, "load-balancer", "forward"):
        raise UnsupportedRow("I016", f"external_ids {KIND_KEY}={kind!r} is not load-balancer or forward")
    return description, tuple(user), kind, row.external_ids.get(OWNER_KEY)


def _read_row(row: DbLoadBalancer, state: NorthboundState) -> _Row:
    if not row.name:
        raise UnsupportedRow(
            "I001", "it has no name: ovn-lbc finds rows by name and plans do not rename a row (see docs/import.md)"
        )
    named = _NAME.match(row.name)
    if named is None:
        raise UnsupportedRow(
            "I002",
            "its name does not follow <row_prefix>-lb-<address>-<protocol>, the only names ovn-lbc gives "
            "rows (and plans do not rename a row)",
        )
    address = _address(named["address"], "I002")
    if str(address) != named["address"]:
        raise UnsupportedRow("I002", f"the address in its name is not written canonically ({address})")
    if row.protocol is None:
        raise UnsupportedRow("I009", "its protocol is empty (OVN reads tcp); ovn-lbc writes it")
    if row.protocol != named["protocol"]:
        raise UnsupportedRow("I009", f"its protocol is {row.protocol}, its name says {named['protocol']}")
    description, user, kind, owner = _external_ids(row)
    vips = _vips(row, address)
    checks = _health_checks(row, state)
    return _Row(
        row,
        named["prefix"],
        address,
        row.protocol,
        tuple(replace(vip, check=checks.get(vip_key(address, vip.port))) for vip in vips),
        _mappings(row),
        _options(row),
        description,
        user,
        kind,
        owner,
    )


# -- where the rows are: networks ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Place:
    router: str
    switch: str
    ipv4: IPNetwork | None
    ipv6: IPNetwork | None
    router_mac: EUI | None
    attach_routers: tuple[str, ...]
    attach_switches: tuple[str, ...]
    group: str | None


@dataclass
class _Topology:
    state: NorthboundState
    by_uuid: dict[str, DbDatapath] = field(default_factory=dict)
    groups_of: dict[str, list[str]] = field(default_factory=dict)  # row uuid -> group names

    def __post_init__(self) -> None:
        self.by_uuid = {d.uuid: d for d in self.state.datapaths}
        for group in self.state.groups:
            for uuid in group.load_balancer:
                self.groups_of.setdefault(uuid, []).append(group.name)

    def place(self, row: DbLoadBalancer, listen: IPAddress) -> _Place:
        direct = [d for d in self.state.datapaths if row.uuid in d.load_balancer]
        groups = sorted(self.groups_of.get(row.uuid, []))
        if len(groups) > 1:
            raise UnsupportedRow("I012", f"it is in several groups ({', '.join(groups)}); a network has one lb_group")
        group = groups[0] if groups else None
        if group is not None:
            if direct:
                raise UnsupportedRow("I012", f"it is in group {group} and attached directly too")
            uuid = next(g.uuid for g in self.state.groups if g.name == group)
            datapaths = [d for d in self.state.datapaths if uuid in d.load_balancer_group]
        else:
            datapaths = direct
        if not datapaths:
            raise UnsupportedRow(
                "I010", "it is attached to no router or switch" + (f" (nor is group {group})" if group else "")
            )
        routers = sorted({d.name for d in datapaths if d.table == "Logical_Router"})
        switches = sorted({d.name for d in datapaths if d.table == "Logical_Switch"})
        pair = self._network_pair(datapaths, listen)
        if pair is None:
            raise UnsupportedRow(
                "I011",
                "no router and switch it is attached to are joined by a router port with a subnet of its "
                f"family (a network's router and switch); attached to {', '.join(routers + switches)}",
            )
        router, switch, networks, mac = pair
        return _Place(
            router,
            switch,
            networks.get(4),
            networks.get(6),
            mac,
            tuple(name for name in routers if name != router),
            tuple(name for name in switches if name != switch),
            group,
        )

    def _network_pair(
        self, datapaths: Sequence[DbDatapath], listen: IPAddress
    ) -> tuple[str, str, dict[int, IPNetwork], EUI | None] | None:
        switches = {d.name: d for d in datapaths if d.table == "Logical_Switch"}
        candidates = []
        for router in sorted((d for d in datapaths if d.table == "Logical_Router"), key=lambda d: d.name):
            for uuid in router.ports:
                port = self.state.router_ports.get(uuid)
                if port is None:
                    continue
                for switch in sorted(switches.values(), key=lambda d: d.name):
                    if not any(
                        (lsp := self.state.switch_ports.get(p)) is not None
                        and lsp.type == "router"
                        and lsp.options.get("router-port") == port.name
                        for p in switch.ports
                    ):
                        continue
                    networks: dict[int, IPNetwork] = {}
                    for text in port.networks:
                        try:
                            network = IPNetwork(text)
                        except (AddrFormatError, ValueError):
                            continue
                        networks.setdefault(network.version, network)
                    try:
                        mac = EUI(port.mac) if port.mac else None
                    except (AddrFormatError, ValueError):
                        mac = None
                    candidates.append((router.name, switch.name, networks, mac))
        # The network the listen address is in, else any with a subnet of its family.
        for found in candidates:
            subnet = found[2].get(listen.version)
            if subnet is not None and listen in subnet:
                return found
        return next((found for found in candidates if listen.version in found[2]), None)
