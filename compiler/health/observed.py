"""What the databases hold for status and doctor, decoded once from OVSDB's JSON.

The Northbound part is the plan's own NorthboundState (so the file is
compiled against the database exactly as ``plan`` compiles it) plus the few
columns only a diagnosis needs: NB_Global's options (``svc_monitor_mac``),
each switch port's type, ``enabled`` and ``router-port``, and the router
ports' addresses. The Southbound part is the monitors northd made and
ovn-controller fills in, the port bindings, and the load-balancing logical
flows, parsed down to which backends each VIP's ``ct_lb_mark`` holds.

Every value comes from a peer: its shape is checked here, and a value of
the wrong shape is a ValueError naming the table, row and column (read.py
turns it into one line and exit status 3).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netaddr import AddrFormatError, IPAddress

from ..ovn_versions import OvnVersion, release_of_schema
from ..ovsdb.state import NorthboundState

# The stages whose flows hold a VIP's ct_lb_mark(backends=...): the switch's
# and the router's. Selected by their stage-name, so the read stays small.
LB_STAGES = ("ls_in_lb", "lr_in_dnat")
# OVN's protocol numbers, as newer northd writes them in matches (reg1[16..23]).
_PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "132": "sctp"}


@dataclass(frozen=True, slots=True)
class Monitor:
    """A Southbound Service_Monitor row: one per (logical_port, ip, port, protocol)."""

    logical_port: str
    ip: str  # unbracketed, as northd writes it
    port: int
    protocol: str  # tcp when the column is empty, as ovn-controller reads it
    src_ip: str
    src_mac: str
    status: str  # "" before ovn-controller's first result


@dataclass(frozen=True, slots=True)
class Binding:
    """A Southbound Port_Binding: whether a chassis claimed the port, and its addresses."""

    logical_port: str
    chassis: str | None  # the Chassis name (its _uuid if that row is missing); None: on no chassis
    up: bool
    macs: tuple[str, ...]  # "MAC IP..." entries, as the switch port's addresses


@dataclass(frozen=True, slots=True)
class Flow:
    """A load-balancing logical flow: a VIP and the backends its ct_lb_mark holds now."""

    stage: str
    vip: IPAddress
    port: int | None
    protocol: str | None  # None when the match does not say
    backends: frozenset[tuple[IPAddress, int | None]]


@dataclass(frozen=True, slots=True)
class SwitchPortFacts:
    """A Logical_Switch_Port's columns a diagnosis needs beyond the plan's."""

    name: str
    type: str
    enabled: bool  # an empty ``enabled`` is enabled
    router_port: str  # options:router-port of a router-type port, else ""


@dataclass(frozen=True, slots=True)
class RouterPort:
    name: str
    mac: str
    networks: tuple[str, ...]  # "10.0.0.1/24", as ovn-nb(5)


@dataclass(frozen=True, slots=True)
class Observed:
    """Both databases, as one read of each saw them."""

    nb: NorthboundState
    nb_options: Mapping[str, str]
    switch_ports: Mapping[str, SwitchPortFacts]  # by name (unique in OVN)
    router_ports: Mapping[str, RouterPort]  # by name
    sb_options: Mapping[str, str]
    monitors: tuple[Monitor, ...]
    bindings: Mapping[str, Binding]  # by logical_port
    flows: tuple[Flow, ...]
    nb_remote: str = ""
    sb_remote: str = ""

    @property
    def release(self) -> OvnVersion | None:
        """The OVN release of the Northbound schema, when it says one."""
        return release_of_schema(self.nb.schema_version) if self.nb.schema_version else None


# -- OVSDB's JSON notation, checked ------------------------------------------------------

Rows = Mapping[str, Mapping[str, Any]]  # _uuid -> column -> JSON value


def brief(value: Any, limit: int = 120) -> str:
    """A value from a peer in a message: one line, bounded."""
    try:
        text = json.dumps(value, ensure_ascii=True, default=str)
    except (ValueError, TypeError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[:limit] + "..."


class _Column:
    """Reads one row's columns, naming the table, row and column in every complaint."""

    def __init__(self, table: str, uuid: str, row: Mapping[str, Any]) -> None:
        self.table, self.uuid, self.row = table, uuid, row

    def _bad(self, column: str, shape: str) -> ValueError:
        return ValueError(f"{self.table} row {self.uuid}: {column} is {brief(self.row.get(column))}, not {shape}")

    def _atoms(self, column: str, shape: str) -> list[Any]:
        value = self.row.get(column, ["set", []])
        if isinstance(value, list) and len(value) == 2 and value[0] == "set" and isinstance(value[1], list):
            return value[1]
        if isinstance(value, list):
            raise self._bad(column, shape)
        return [value]

    def string(self, column: str, default: str = "") -> str:
        value = self.row.get(column, default)
        if not isinstance(value, str):
            raise self._bad(column, "a string")
        return value

    def strings(self, column: str) -> tuple[str, ...]:
        atoms = self._atoms(column, "a set of strings")
        if not all(isinstance(atom, str) for atom in atoms):
            raise self._bad(column, "a set of strings")
        return tuple(atoms)

    def optional_string(self, column: str) -> str | None:
        atoms = self.strings(column)
        if len(atoms) > 1:
            raise self._bad(column, "at most one string")
        return atoms[0] if atoms else None

    def optional_bool(self, column: str) -> bool | None:
        atoms = self._atoms(column, "an optional boolean")
        if len(atoms) > 1 or not all(isinstance(atom, bool) for atom in atoms):
            raise self._bad(column, "an optional boolean")
        return atoms[0] if atoms else None

    def optional_uuid(self, column: str) -> str | None:
        value = self.row.get(column, ["set", []])
        if value == ["set", []]:
            return None
        if isinstance(value, list) and len(value) == 2 and value[0] == "set" and isinstance(value[1], list):
            value = value[1][0] if len(value[1]) == 1 else None
        if isinstance(value, list) and len(value) == 2 and value[0] == "uuid" and isinstance(value[1], str):
            return value[1]
        raise self._bad(column, "an optional UUID")

    def integer(self, column: str) -> int:
        value = self.row.get(column)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._bad(column, "an integer")
        return value

    def string_map(self, column: str) -> dict[str, str]:
        value = self.row.get(column, ["map", []])
        if not (isinstance(value, list) and len(value) == 2 and value[0] == "map" and isinstance(value[1], list)):
            raise self._bad(column, "an OVSDB map of strings")
        pairs: dict[str, str] = {}
        for pair in value[1]:
            if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(item, str) for item in pair)):
                raise self._bad(column, "an OVSDB map of strings")
            pairs[pair[0]] = pair[1]
        return pairs


def _columns(table: str, rows: Rows) -> list[_Column]:
    return [_Column(table, uuid, row) for uuid, row in sorted(rows.items())]


def global_options(table: str, rows: Rows) -> dict[str, str]:
    """NB_Global's or SB_Global's options (at most one row); empty without the row."""
    readers = _columns(table, rows)
    return readers[0].string_map("options") if readers else {}


# -- Northbound extras ---------------------------------------------------------------------


def switch_port_facts(rows: Rows) -> dict[str, SwitchPortFacts]:
    facts: dict[str, SwitchPortFacts] = {}
    for row in _columns("Logical_Switch_Port", rows):
        name = row.string("name")
        options = row.string_map("options")
        facts[name] = SwitchPortFacts(
            name=name,
            type=row.string("type"),
            enabled=row.optional_bool("enabled") is not False,
            router_port=options.get("router-port", ""),
        )
    return facts


def router_ports(rows: Rows) -> dict[str, RouterPort]:
    found: dict[str, RouterPort] = {}
    for row in _columns("Logical_Router_Port", rows):
        name = row.string("name")
        found[name] = RouterPort(name, row.string("mac"), row.strings("networks"))
    return found


# -- Southbound ------------------------------------------------------------------------------


def monitors(rows: Rows) -> tuple[Monitor, ...]:
    found = []
    for row in _columns("Service_Monitor", rows):
        found.append(
            Monitor(
                logical_port=row.string("logical_port"),
                ip=row.string("ip"),
                port=row.integer("port"),
                protocol=row.optional_string("protocol") or "tcp",
                src_ip=row.string("src_ip"),
                src_mac=row.string("src_mac"),
                status=row.optional_string("status") or "",
            )
        )
    return tuple(found)


def bindings(rows: Rows, chassis: Rows) -> dict[str, Binding]:
    names = {row.uuid: row.string("name") for row in _columns("Chassis", chassis)}
    found: dict[str, Binding] = {}
    for row in _columns("Port_Binding", rows):
        port = row.string("logical_port")
        claimed = row.optional_uuid("chassis")
        found[port] = Binding(
            logical_port=port,
            chassis=None if claimed is None else names.get(claimed, claimed),
            up=row.optional_bool("up") is True,
            macs=row.strings("mac"),
        )
    return found


_DESTINATION = re.compile(r"\bip[46]\.dst == (\S+)")
_PORT = re.compile(r"\b(tcp|udp|sctp)\.dst == ([0-9]{1,5})\b")
_REGISTER_PROTOCOL = re.compile(r"reg1\[16\.\.23\] == ([0-9]{1,3})\b")
_REGISTER_PORT = re.compile(r"reg1\[0\.\.15\] == ([0-9]{1,5})\b")
_BACKENDS = re.compile(r"ct_lb(?:_mark)?\(backends=([^;)]*)")


def parse_address(text: str) -> IPAddress | None:
    """An address, brackets allowed; None if it is none."""
    try:
        return IPAddress(text.strip("[]"))
    except (AddrFormatError, ValueError):
        return None


def split_endpoint(text: str) -> tuple[IPAddress, int | None] | None:
    """``10.0.0.1:80``, ``[fd00::1]:80`` or an address alone, as vips keys and
    targets and northd's backends write them; None if it is neither."""
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            return None
        port = rest[1:]
    elif text.count(":") == 1:
        address, _, port = text.partition(":")
    else:
        address, port = text, ""
    parsed = parse_address(address)
    if parsed is None or (port and not (port.isascii() and port.isdigit() and len(port) <= 5)):
        return None
    return parsed, int(port) if port else None


def parse_flow(stage: str, match: str, actions: str) -> Flow | None:
    """The VIP a load-balancing flow matches and the backends its ct_lb_mark holds;
    None for a flow of the stage that is not one (an affinity or an est flow).
    Both match forms are read: 23.03's ``tcp.dst == 80`` and the register
    form of newer releases (``reg1[16..23] == 6 && reg1[0..15] == 80``)."""
    destination = _DESTINATION.search(match)
    backends = _BACKENDS.search(actions)
    if destination is None or backends is None or "reg4 ==" in match or "xxreg4 ==" in match:
        return None  # the affinity flows name one backend each; the VIP's own flow names them all
    vip = parse_address(destination.group(1))
    if vip is None:
        return None
    protocol: str | None = None
    port: int | None = None
    if (found := _PORT.search(match)) is not None:
        protocol, port = found.group(1), int(found.group(2))
    elif (register := _REGISTER_PORT.search(match)) is not None:
        port = int(register.group(1))
        number = _REGISTER_PROTOCOL.search(match)
        protocol = _PROTOCOL_NUMBERS.get(number.group(1)) if number else None
    targets = frozenset(
        parsed for item in backends.group(1).split(",") if item and (parsed := split_endpoint(item.strip())) is not None
    )
    return Flow(stage, vip, port, protocol, targets)


def flows(rows_by_stage: Mapping[str, Rows]) -> tuple[Flow, ...]:
    found = []
    for stage, rows in rows_by_stage.items():
        for row in _columns("Logical_Flow", rows):
            flow = parse_flow(stage, row.string("match"), row.string("actions"))
            if flow is not None:
                found.append(flow)
    return tuple(found)
