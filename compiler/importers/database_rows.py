"""``import --from db``, its first half: one Load_Balancer row read back
into what the model needs (its VIPs, health check, mappings, options and
marks), where the rows are (the networks their datapaths make), and the
name a nameless row gets. compiler/importers/database.py turns these into
the model and checks it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from netaddr import EUI, AddrFormatError, IPAddress, IPNetwork

from ..addresses import endpoint, host
from ..ir import (
    NEIGHBOR_RESPONDER_MODES,
    SELECTION_FIELDS,
    HealthCheck,
    LoadBalancerOptions,
    Network,
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
    name: str  # in the file: the row's own, or for a nameless row the one the import gives it
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
    said = "its name says" if row.name else "its first VIP has"
    for key, value in sorted(row.vips.items()):
        if key.startswith("^") or "^" in value:
            raise UnsupportedRow("I005", f"VIP {key!r} is a template VIP")
        address, port = _endpoint(key, "I007")
        if address != listen:
            raise UnsupportedRow(
                "I004", f"VIP {key!r} is not of the listen address {listen} {said} (one address a row)"
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


def _nameless_listen(row: DbLoadBalancer) -> tuple[IPAddress, str]:
    """A nameless row's listen address (its first VIP's; _vips holds the
    others to it) and protocol: what the name the import gives it says."""
    owner = row.external_ids.get(OWNER_KEY)
    if owner is not None:
        raise UnsupportedRow(
            "I001",
            f"it has no name but ovn-lbc's mark {OWNER_KEY}={owner} (ovn-lbc names every row it makes, and "
            "--adopt renames only unmarked rows): take the mark off, or name it",
        )
    if not row.vips:
        raise UnsupportedRow("I008", "it has no VIPs (ovn-lbc writes no row without one)")
    first = min(row.vips)
    if first.startswith("^"):
        raise UnsupportedRow("I005", f"VIP {first!r} is a template VIP")
    if row.protocol is None:
        raise UnsupportedRow("I009", "its protocol is empty (OVN reads tcp); ovn-lbc writes it")
    return _endpoint(first, "I007")[0], row.protocol


def _read_row(row: DbLoadBalancer, state: NorthboundState, given: str | None = None) -> _Row:
    """``given``: the name the import gives a nameless row (``apply --adopt`` renames it)."""
    name = row.name or given or ""
    if not name:
        raise UnsupportedRow("I001", "it has no name, and the import gave it none")
    named = _NAME.match(name)
    if named is None:
        raise UnsupportedRow(
            "I002",
            "its name does not follow <row_prefix>-lb-<address>-<protocol>, the only names ovn-lbc gives "
            "rows; other tools find their rows by name, so a plan renames only nameless rows",
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
        name,
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
        if not switches:
            # Every row of a network is attached to its switch too (Network.datapaths).
            raise UnsupportedRow(
                "I011",
                f"it is attached to router{'s' if len(routers) > 1 else ''} {', '.join(routers)} and no switch "
                "(as on a gateway router): ovn-lbc attaches a network's rows to its router and its switch",
            )
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


# -- the name of a nameless row ------------------------------------------------------


def _prefix_of_router(router: str) -> str:
    """The row_prefix of a network known only by its router: the router's
    name, without the ``-lr`` Incus ends it with (incus-net49-lr: incus-net49)."""
    return router.removesuffix("-lr") or router


def name_nameless(
    state: NorthboundState,
    topology: _Topology,
    homes: Mapping[_Place, Sequence[tuple[str, str]]],
    taken: Mapping[str, Sequence[DbLoadBalancer]],
    wanted: Callable[[str], bool],
) -> tuple[list[tuple[_Row, _Place]], list[tuple[DbLoadBalancer, UnsupportedRow]]]:
    """Each nameless row read under the name ovn-lbc would give it
    (Network.row_name): the row_prefix of the network the named rows on its
    router and switch make (``homes``: (network, prefix) by place), else the
    router's; and where it is. ``wanted``: whether ``--match`` takes a name
    (a row that cannot be named has only ""). Refused, with the reason: a
    row the name would not be its own (``taken`` by another row, or given to
    another nameless row too, which ovn-lbc would write as one row)."""
    found: list[tuple[_Row, _Place]] = []
    refused: list[tuple[DbLoadBalancer, UnsupportedRow]] = []
    for db in state.load_balancers:
        if db.name:
            continue
        try:
            address, protocol = _nameless_listen(db)
            place = topology.place(db, address)
            here = homes.get(place, ())
            if len(here) > 1:
                raise UnsupportedRow(
                    "I001",
                    f"the rows of several networks ({', '.join(sorted(n for n, _ in here))}) are on its router "
                    "and switch, so which would name it is not clear: name it by hand",
                )
            prefix = here[0][1] if here else _prefix_of_router(place.router)
            name = Network("", prefix, place.router, place.switch).row_name(address, protocol)
            if not wanted(name):
                continue
            if name in taken:
                uuids = ", ".join(row.uuid for row in taken[name])
                raise UnsupportedRow(
                    "I001", f"the name ovn-lbc would give it, {name!r}, is another row's (_uuid {uuids})"
                )
            found.append((_read_row(db, state, name), place))
        except UnsupportedRow as exc:
            if wanted(""):
                refused.append((db, exc))
    given: dict[str, list[str]] = {}
    for row, _ in found:
        given.setdefault(row.name, []).append(row.db.uuid)
    kept: list[tuple[_Row, _Place]] = []
    for row, place in found:
        others = [uuid for uuid in given[row.name] if uuid != row.db.uuid]
        if not others:
            kept.append((row, place))
            continue
        refused.append(
            (
                row.db,
                UnsupportedRow(
                    "I001",
                    f"nameless row{'s' if len(others) > 1 else ''} {', '.join(others)} would be named {row.name!r} "
                    "too (one address and protocol in one network, which ovn-lbc writes as one row): "
                    "name them by hand",
                ),
            )
        )
    return kept, refused
