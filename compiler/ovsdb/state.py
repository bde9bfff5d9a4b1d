"""What a Northbound database holds, as far as a plan needs it.

Read live (one ``transact`` of selects) or offline from ``ovsdb-client dump
--format=json`` or ``ovsdb-client backup`` output (compiler/ovsdb/dumps.py),
so an air-gapped site can plan from a copy of its database. Both give the
same NorthboundState, so the offline plan equals the live one.

Values arrive in OVSDB's JSON notation (RFC 7047 5.1): ``["map", pairs]``,
``["set", atoms]`` or a bare atom for a one-element set, ``["uuid", id]``.
They are decoded here once; ``encode_*`` turns them back for ``wait`` guards,
which ovsdb-server compares as values, not as text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .client import Connection, OvsdbError

DATABASE = "OVN_Northbound"

# The columns a plan reads, per table; a guard checks exactly these.
LOAD_BALANCER_COLUMNS = (
    "name",
    "protocol",
    "vips",
    "health_check",
    "ip_port_mappings",
    "external_ids",
    "options",
    "selection_fields",
)
HEALTH_CHECK_COLUMNS = ("vip", "options", "external_ids")
GROUP_COLUMNS = ("name", "load_balancer")
# A forward's default target is a NAT row (type dnat). NAT is not a root table:
# a row lives while a Logical_Router's ``nat`` refers to it.
NAT_COLUMNS = ("type", "external_ip", "logical_ip", "options", "external_ids")
# NB_Global's external_ids hold ovn-lbc's marks of the groups it created
# (Load_Balancer_Group has no external_ids column of its own).
GLOBAL_COLUMNS = ("external_ids",)
READ_COLUMNS: dict[str, tuple[str, ...]] = {
    "Load_Balancer": LOAD_BALANCER_COLUMNS,
    "Load_Balancer_Health_Check": HEALTH_CHECK_COLUMNS,
    "Load_Balancer_Group": GROUP_COLUMNS,
    "Logical_Switch": ("name", "load_balancer", "load_balancer_group", "ports"),
    "Logical_Router": ("name", "load_balancer", "load_balancer_group", "nat", "ports"),
    "Logical_Switch_Port": ("name", "addresses", "dynamic_addresses", "type", "options"),
    "NB_Global": GLOBAL_COLUMNS,
    "NAT": NAT_COLUMNS,
    # For ``import --from db``: a network's subnets and router_mac are its router port's.
    "Logical_Router_Port": ("name", "mac", "networks"),
}
# Tables a dump may lack (a copy made by hand with the tables a plan needed
# before ``import`` read them): read as empty.
OPTIONAL_TABLES = frozenset({"Logical_Router_Port"})


@dataclass(frozen=True, slots=True)
class DbLoadBalancer:
    uuid: str
    name: str
    protocol: str | None  # an optional column: None when empty (OVN reads it as tcp)
    vips: Mapping[str, str]
    health_check: tuple[str, ...]
    ip_port_mappings: Mapping[str, str]
    external_ids: Mapping[str, str]
    options: Mapping[str, str]
    selection_fields: tuple[str, ...]  # sorted


@dataclass(frozen=True, slots=True)
class DbGroup:
    """A Load_Balancer_Group: its (unique) name and member load balancers."""

    uuid: str
    name: str
    load_balancer: frozenset[str]


@dataclass(frozen=True, slots=True)
class DbHealthCheck:
    uuid: str
    vip: str
    options: Mapping[str, str]
    external_ids: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class DbNat:
    """A NAT row; which router holds it is in that router's ``nat``."""

    uuid: str
    type: str
    external_ip: str
    logical_ip: str
    options: Mapping[str, str]
    external_ids: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class DbDatapath:
    """A Logical_Switch or Logical_Router: its name and attached load balancers
    (and a router's NAT rows)."""

    table: str
    uuid: str
    name: str
    load_balancer: frozenset[str]
    ports: tuple[str, ...] = ()
    load_balancer_group: frozenset[str] = frozenset()
    nat: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class DbGlobal:
    """The NB_Global row (at most one): where ovn-lbc marks the groups it made."""

    uuid: str
    external_ids: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class DbSwitchPort:
    uuid: str
    name: str
    addresses: tuple[str, ...]  # each "MAC IP..." as in ovn-nb(5), plus dynamic_addresses
    type: str = ""  # "router" for a switch's port to a router
    options: Mapping[str, str] = field(default_factory=dict)  # router-port: the router port's name


@dataclass(frozen=True, slots=True)
class DbRouterPort:
    """A Logical_Router_Port: its MAC and its addresses with their prefixes ("10.0.0.1/24")."""

    uuid: str
    name: str
    mac: str
    networks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NorthboundState:
    load_balancers: tuple[DbLoadBalancer, ...]
    health_checks: Mapping[str, DbHealthCheck]
    datapaths: tuple[DbDatapath, ...]
    switch_ports: Mapping[str, DbSwitchPort]
    groups: tuple[DbGroup, ...] = ()
    # The NB schema's version when known (a live database, a backup); a JSON dump has none.
    schema_version: str | None = None
    # None when the database has no NB_Global row (nothing has initialised it yet).
    nb_global: DbGlobal | None = None
    nats: Mapping[str, DbNat] = field(default_factory=dict)  # by _uuid
    router_ports: Mapping[str, DbRouterPort] = field(default_factory=dict)  # by _uuid
    # What identifies exactly these rows, as read_fingerprint reads it (a live read only).
    fingerprint: str | None = None

    def datapaths_by_name(self) -> dict[tuple[str, str], list[DbDatapath]]:
        """Routers and switches by (table, name); OVN does not keep names unique, so a list each."""
        by_name: dict[tuple[str, str], list[DbDatapath]] = {}
        for datapath in self.datapaths:
            by_name.setdefault((datapath.table, datapath.name), []).append(datapath)
        return by_name


# -- OVSDB JSON notation ------------------------------------------------------


def _atom(value: Any) -> Any:
    if isinstance(value, list) and len(value) == 2 and value[0] == "uuid":
        return value[1]
    return value


def _set(value: Any) -> tuple[Any, ...]:
    if isinstance(value, list) and len(value) == 2 and value[0] == "set":
        return tuple(_atom(item) for item in value[1])
    return (_atom(value),)


def _map(value: Any) -> dict[str, str]:
    if not (isinstance(value, list) and len(value) == 2 and value[0] == "map"):
        raise OvsdbError(f"expected an OVSDB map, found {value!r}")
    return {_atom(key): _atom(item) for key, item in value[1]}


def _optional(value: Any) -> Any:
    items = _set(value)
    return items[0] if items else None


def encode_map(value: Mapping[str, str]) -> list[Any]:
    return ["map", [[key, value[key]] for key in sorted(value)]]


def encode_uuids(uuids: tuple[str, ...] | frozenset[str] | list[str]) -> list[Any]:
    return ["set", [["uuid", uuid] for uuid in sorted(uuids)]]


def encode_load_balancer(row: DbLoadBalancer) -> dict[str, Any]:
    """The row's read columns, in the notation a ``wait`` compares."""
    return {
        "name": row.name,
        "protocol": ["set", []] if row.protocol is None else row.protocol,
        "vips": encode_map(row.vips),
        "health_check": encode_uuids(row.health_check),
        "ip_port_mappings": encode_map(row.ip_port_mappings),
        "external_ids": encode_map(row.external_ids),
        "options": encode_map(row.options),
        "selection_fields": ["set", list(row.selection_fields)],
    }


def encode_group(row: DbGroup) -> dict[str, Any]:
    return {"name": row.name, "load_balancer": encode_uuids(row.load_balancer)}


def encode_health_check(row: DbHealthCheck) -> dict[str, Any]:
    return {"vip": row.vip, "options": encode_map(row.options), "external_ids": encode_map(row.external_ids)}


def encode_nat(row: DbNat) -> dict[str, Any]:
    return {
        "type": row.type,
        "external_ip": row.external_ip,
        "logical_ip": row.logical_ip,
        "options": encode_map(row.options),
        "external_ids": encode_map(row.external_ids),
    }


# -- building the state from rows -----------------------------------------------

Tables = Mapping[str, Mapping[str, Mapping[str, Any]]]  # table -> uuid -> column -> JSON value


def _column(row: Mapping[str, Any], name: str, empty: Any) -> Any:
    # A backup's rows omit columns that hold their default value.
    return row.get(name, empty)


def state_from_tables(tables: Tables, schema_version: str | None = None) -> NorthboundState:
    empty_map: list[Any] = ["map", []]
    empty_set: list[Any] = ["set", []]
    load_balancers = tuple(
        DbLoadBalancer(
            uuid=uuid,
            name=_atom(_column(row, "name", "")),
            protocol=_optional(_column(row, "protocol", empty_set)),
            vips=_map(_column(row, "vips", empty_map)),
            health_check=tuple(sorted(_set(_column(row, "health_check", empty_set)))),
            ip_port_mappings=_map(_column(row, "ip_port_mappings", empty_map)),
            external_ids=_map(_column(row, "external_ids", empty_map)),
            options=_map(_column(row, "options", empty_map)),
            selection_fields=tuple(sorted(_set(_column(row, "selection_fields", empty_set)))),
        )
        for uuid, row in sorted(tables.get("Load_Balancer", {}).items())
    )
    groups = tuple(
        DbGroup(
            uuid=uuid,
            name=_atom(_column(row, "name", "")),
            load_balancer=frozenset(_set(_column(row, "load_balancer", empty_set))),
        )
        for uuid, row in sorted(tables.get("Load_Balancer_Group", {}).items())
    )
    health_checks = {
        uuid: DbHealthCheck(
            uuid=uuid,
            vip=_atom(_column(row, "vip", "")),
            options=_map(_column(row, "options", empty_map)),
            external_ids=_map(_column(row, "external_ids", empty_map)),
        )
        for uuid, row in tables.get("Load_Balancer_Health_Check", {}).items()
    }
    datapaths = tuple(
        DbDatapath(
            table=table,
            uuid=uuid,
            name=_atom(_column(row, "name", "")),
            load_balancer=frozenset(_set(_column(row, "load_balancer", empty_set))),
            ports=tuple(sorted(_set(_column(row, "ports", empty_set)))),
            load_balancer_group=frozenset(_set(_column(row, "load_balancer_group", empty_set))),
            nat=frozenset(_set(_column(row, "nat", empty_set))),
        )
        for table in ("Logical_Router", "Logical_Switch")
        for uuid, row in sorted(tables.get(table, {}).items())
    )
    switch_ports = {
        uuid: DbSwitchPort(
            uuid=uuid,
            name=_atom(_column(row, "name", "")),
            addresses=_set(_column(row, "addresses", empty_set)) + _set(_column(row, "dynamic_addresses", empty_set)),
            type=_atom(_column(row, "type", "")),
            options=_map(_column(row, "options", empty_map)),
        )
        for uuid, row in tables.get("Logical_Switch_Port", {}).items()
    }
    router_ports = {
        uuid: DbRouterPort(
            uuid=uuid,
            name=_atom(_column(row, "name", "")),
            mac=_atom(_column(row, "mac", "")),
            networks=tuple(_set(_column(row, "networks", empty_set))),
        )
        for uuid, row in tables.get("Logical_Router_Port", {}).items()
    }
    nats = {
        uuid: DbNat(
            uuid=uuid,
            type=_atom(_column(row, "type", "")),
            external_ip=_atom(_column(row, "external_ip", "")),
            logical_ip=_atom(_column(row, "logical_ip", "")),
            options=_map(_column(row, "options", empty_map)),
            external_ids=_map(_column(row, "external_ids", empty_map)),
        )
        for uuid, row in tables.get("NAT", {}).items()
    }
    nb_global = next(
        (
            DbGlobal(uuid, _map(_column(row, "external_ids", empty_map)))
            for uuid, row in sorted(tables.get("NB_Global", {}).items())
        ),
        None,
    )
    return NorthboundState(
        load_balancers, health_checks, datapaths, switch_ports, groups, schema_version, nb_global, nats, router_ports
    )


def _fingerprint(versions: Iterable[tuple[str, str | None]], schema_version: str | None) -> str | None:
    """One digest of (table, _version) for every row read, and the schema's version;
    None when a row has no _version."""
    lines = []
    for table, version in versions:
        if version is None:
            return None
        lines.append(f"{table} {version}\n")
    lines.sort()
    return hashlib.sha256("".join([f"schema {schema_version}\n", *lines]).encode()).hexdigest()


def read_fingerprint(connection: Connection, schema_version: str | None = None) -> str | None:
    """What identifies the rows read_state would read, without reading them.

    OVSDB gives every row a ``_version``, a fresh UUID with each write to the
    row (RFC 7047 3.2), so the ``_version`` of every row of the tables a plan
    reads names exactly what it would read: a row added, deleted or changed
    anywhere in them changes the digest (and two rows never share one, so the
    ``_uuid`` adds nothing). For 10,000 load balancers this read is a seventh
    of read_state's bytes. None when the peer gives no ``_version``: that run
    is only slower, never wrong.
    """
    selects = [{"op": "select", "table": table, "where": [], "columns": ["_version"]} for table in READ_COLUMNS]
    result = connection.call("transact", [DATABASE, *selects])
    try:
        if not (isinstance(result, list) and len(result) == len(selects)):
            raise ValueError(f"expected {len(selects)} results, found {_brief(result)}")
        versions: list[tuple[str, str | None]] = []
        for table, answer in zip(READ_COLUMNS, result, strict=True):
            rows = answer.get("rows") if isinstance(answer, dict) else None
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise ValueError(f"the {table} select has no list of rows: {_brief(answer)}")
            versions.extend((table, _row_version(row)) for row in rows)
        return _fingerprint(versions, schema_version)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        raise OvsdbError(f"{connection.remote}: cannot read the Northbound tables: {exc}") from None


def read_state(connection: Connection, schema_version: str | None = None) -> NorthboundState:
    """Every row of the tables a plan reads, in one transaction (one snapshot),
    with their fingerprint (read_fingerprint)."""
    selects = [
        {"op": "select", "table": table, "where": [], "columns": ["_uuid", "_version", *columns]}
        for table, columns in READ_COLUMNS.items()
    ]
    result = connection.call("transact", [DATABASE, *selects])
    # The answer is the peer's word: its shape is checked, as a dump's is.
    try:
        if not (isinstance(result, list) and len(result) == len(selects)):
            raise ValueError(f"expected {len(selects)} results, found {_brief(result)}")
        tables: dict[str, dict[str, dict[str, Any]]] = {}
        for table, answer in zip(READ_COLUMNS, result, strict=True):
            rows = answer.get("rows") if isinstance(answer, dict) else None
            if not isinstance(rows, list):
                raise ValueError(f"the {table} select has no list of rows: {_brief(answer)}")
            tables[table] = {}
            for row in rows:
                if not isinstance(row, dict):
                    raise ValueError(f"a {table} row is {_brief(row)}, not an object")
                tables[table][_row_uuid(table, row)] = row
        check_tables(tables)
        versions = [(table, _row_version(row)) for table, rows in tables.items() for row in rows.values()]
        return replace(state_from_tables(tables, schema_version), fingerprint=_fingerprint(versions, schema_version))
    except (OvsdbError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        raise OvsdbError(f"{connection.remote}: cannot read the Northbound tables: {exc}") from None


# -- the shape of rows from elsewhere (a peer, a dump, a backup) ------------------------------------


def _brief(value: Any, limit: int = 120) -> str:
    """A value from elsewhere in a message: one line, bounded."""
    try:
        text = json.dumps(value, ensure_ascii=True, default=str)
    except (ValueError, TypeError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def _is_uuid(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and value[0] == "uuid" and isinstance(value[1], str)


def _row_uuid(table: str, row: Mapping[str, Any]) -> str:
    value: Any = row.get("_uuid")
    if not _is_uuid(value):
        raise ValueError(f"a {table} row's _uuid is {_brief(value)}, not a UUID")
    uuid: str = value[1]
    return uuid


def _row_version(row: Mapping[str, Any]) -> str | None:
    """The row's ``_version``; None when the peer left it out or it is no UUID
    (such a read has no fingerprint: it is only slower, never wrong)."""
    value: Any = row.get("_version")
    return value[1] if _is_uuid(value) else None


def _is_string_map(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and value[0] == "map"
        and isinstance(value[1], list)
        and all(
            isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str) and isinstance(pair[1], str)
            for pair in value[1]
        )
    )


def _is_set_of(value: Any, atom: Any) -> bool:
    """A set (or OVSDB's bare atom for a one-element set) whose atoms pass ``atom``."""
    if isinstance(value, list) and len(value) == 2 and value[0] == "set":
        return isinstance(value[1], list) and all(atom(item) for item in value[1])
    return bool(atom(value))


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


# The columns a plan reads, by the shape of their values (RFC 7047 5.1).
_COLUMN_SHAPES: dict[str, tuple[str, Any]] = {
    "name": ("a string", _is_string),
    "vip": ("a string", _is_string),
    "type": ("a string", _is_string),
    "external_ip": ("a string", _is_string),
    "logical_ip": ("a string", _is_string),
    "protocol": ("a string or an empty set", lambda value: _is_set_of(value, _is_string)),
    "vips": ("an OVSDB map of strings", _is_string_map),
    "ip_port_mappings": ("an OVSDB map of strings", _is_string_map),
    "external_ids": ("an OVSDB map of strings", _is_string_map),
    "options": ("an OVSDB map of strings", _is_string_map),
    "health_check": ("a set of UUIDs", lambda value: _is_set_of(value, _is_uuid)),
    "load_balancer": ("a set of UUIDs", lambda value: _is_set_of(value, _is_uuid)),
    "load_balancer_group": ("a set of UUIDs", lambda value: _is_set_of(value, _is_uuid)),
    "ports": ("a set of UUIDs", lambda value: _is_set_of(value, _is_uuid)),
    "nat": ("a set of UUIDs", lambda value: _is_set_of(value, _is_uuid)),
    "selection_fields": ("a set of strings", lambda value: _is_set_of(value, _is_string)),
    "addresses": ("a set of strings", lambda value: _is_set_of(value, _is_string)),
    "networks": ("a set of strings", lambda value: _is_set_of(value, _is_string)),
    "mac": ("a string", _is_string),
    "dynamic_addresses": ("a set of strings", lambda value: _is_set_of(value, _is_string)),
}


def check_tables(tables: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
    """ValueError naming the first value, in a column a plan reads, that is not in OVSDB's notation."""
    for table, columns in READ_COLUMNS.items():
        for uuid, row in tables.get(table, {}).items():
            for column in columns:
                if column not in row or column not in _COLUMN_SHAPES:
                    continue
                shape, test = _COLUMN_SHAPES[column]
                if not test(row[column]):
                    raise ValueError(f"{table} row {uuid}: {column} is {_brief(row[column])}, not {shape}")


# -- offline copies ---------------------------------------------------------------
