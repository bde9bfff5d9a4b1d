"""Reading both databases for status and doctor: one transaction of selects each.

The Northbound read is the plan's (ovsdb.state.READ_COLUMNS) with a few
columns more, in the same transaction, so the file is compiled against
exactly what was diagnosed. The Southbound read takes only what a
diagnosis needs: every Service_Monitor and Port_Binding (a few short
columns each), the Chassis names, SB_Global's options, and of Logical_Flow
only the two load-balancing stages, selected by stage name on the server,
with their match and actions. At 10,000 load balancers that is about 20,000
flows of some 200 bytes: a few MB, far inside --max-reply.

Both reads share the command's bounds (client.Limits): every connect and
request is bounded, and --timeout bounds the two together. Nothing is
written: the only requests are get_schema and selects.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..apply import schema_version
from ..ovsdb.client import Connection, Limits, OvsdbError, SslFiles, connect, left_of
from ..ovsdb.state import DATABASE, READ_COLUMNS, check_tables, state_from_tables
from . import observed
from .observed import LB_STAGES, Observed

SB_DATABASE = "OVN_Southbound"

# What a diagnosis reads beyond the plan's columns.
_NB_EXTRA: dict[str, tuple[str, ...]] = {
    "Logical_Switch_Port": ("type", "options", "enabled"),
    "Logical_Router_Port": ("name", "mac", "networks"),
    "NB_Global": ("options",),
}
SB_COLUMNS: dict[str, tuple[str, ...]] = {
    "Service_Monitor": ("logical_port", "ip", "port", "protocol", "src_ip", "src_mac", "status"),
    "Port_Binding": ("logical_port", "chassis", "up", "mac"),
    "Chassis": ("name",),
    "SB_Global": ("options",),
    "Logical_Flow": ("match", "actions", "external_ids"),
}

Tables = dict[str, dict[str, dict[str, Any]]]


def nb_columns() -> dict[str, tuple[str, ...]]:
    """Every table and column the Northbound read selects."""
    tables = {table: tuple(columns) for table, columns in READ_COLUMNS.items()}
    for table, extra in _NB_EXTRA.items():
        tables[table] = tuple(dict.fromkeys((*tables.get(table, ()), *extra)))
    return tables


def _rows(table: str, answer: Any) -> dict[str, dict[str, Any]]:
    rows = answer.get("rows") if isinstance(answer, dict) else None
    if not isinstance(rows, list):
        raise ValueError(f"the {table} select has no list of rows: {observed.brief(answer)}")
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        uuid = row.get("_uuid") if isinstance(row, dict) else None
        if not (isinstance(uuid, list) and len(uuid) == 2 and uuid[0] == "uuid" and isinstance(uuid[1], str)):
            raise ValueError(f"a {table} row is {observed.brief(row)}, not a row with a _uuid")
        found[uuid[1]] = row
    return found


def _select(connection: Connection, database: str, selects: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """One transaction of the given selects; the answers, checked to be one list of the right length."""
    result = connection.call("transact", [database, *(select for _, select in selects)])
    if not (isinstance(result, list) and len(result) == len(selects)):
        raise ValueError(f"expected {len(selects)} results, found {observed.brief(result)}")
    return result


def _schema_lacks(schema: Any, database: str, tables: Mapping[str, tuple[str, ...]]) -> str | None:
    found = schema.get("tables") if isinstance(schema, dict) else None
    if not isinstance(found, dict):
        return f"the server's answer to get_schema is not an {database} schema"
    for table, columns in tables.items():
        entry = found.get(table)
        known = entry.get("columns") if isinstance(entry, dict) else None
        if not isinstance(known, dict):
            return f"the server's {database} schema has no table {table}"
        missing = [column for column in columns if column not in known]
        if missing:
            return f"the server's {database} schema lacks {table} column(s) {', '.join(missing)}"
    return None


def read_northbound(connection: Connection) -> tuple[Tables, str]:
    """Every plan table with the diagnosis's columns, and the schema's version."""
    version = schema_version(connection)
    columns = nb_columns()
    selects = [
        (table, {"op": "select", "table": table, "where": [], "columns": ["_uuid", *wanted]})
        for table, wanted in columns.items()
    ]
    try:
        answers = _select(connection, DATABASE, selects)
        tables = {table: _rows(table, answer) for (table, _), answer in zip(selects, answers, strict=True)}
        check_tables(tables)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise OvsdbError(f"{connection.remote}: cannot read the Northbound tables: {exc}") from None
    return tables, version


def read_southbound(connection: Connection) -> Tables:
    """The monitors, bindings, chassis, SB_Global and the load-balancing flows, by stage."""
    schema = connection.call("get_schema", [SB_DATABASE])
    if (problem := _schema_lacks(schema, SB_DATABASE, SB_COLUMNS)) is not None:
        raise OvsdbError(f"{connection.remote}: {problem}")
    selects: list[tuple[str, dict[str, Any]]] = [
        (table, {"op": "select", "table": table, "where": [], "columns": ["_uuid", *columns]})
        for table, columns in SB_COLUMNS.items()
        if table != "Logical_Flow"
    ]
    for stage in LB_STAGES:
        where = [["external_ids", "includes", ["map", [["stage-name", stage]]]]]
        select = {"op": "select", "table": "Logical_Flow", "where": where, "columns": ["_uuid", "match", "actions"]}
        selects.append((f"Logical_Flow:{stage}", select))
    try:
        answers = _select(connection, SB_DATABASE, selects)
        return {
            table: _rows(table.partition(":")[0], answer) for (table, _), answer in zip(selects, answers, strict=True)
        }
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise OvsdbError(f"{connection.remote}: cannot read the Southbound tables: {exc}") from None


def observed_from_tables(nb: Tables, nb_version: str | None, sb: Tables) -> Observed:
    """Both reads decoded (ValueError when a value has the wrong shape)."""
    return Observed(
        nb=state_from_tables(nb, nb_version),
        nb_options=observed.global_options("NB_Global", nb.get("NB_Global", {})),
        switch_ports=observed.switch_port_facts(nb.get("Logical_Switch_Port", {})),
        router_ports=observed.router_ports(nb.get("Logical_Router_Port", {})),
        sb_options=observed.global_options("SB_Global", sb.get("SB_Global", {})),
        monitors=observed.monitors(sb.get("Service_Monitor", {})),
        bindings=observed.bindings(sb.get("Port_Binding", {}), sb.get("Chassis", {})),
        flows=observed.flows({stage: sb.get(f"Logical_Flow:{stage}", {}) for stage in LB_STAGES}),
    )


def read_observed(
    nb_remote: str, sb_remote: str, *, ssl_files: SslFiles | None = None, limits: Limits | None = None
) -> Observed:
    """Read the Northbound database, then the Southbound one; OvsdbError when either fails."""
    chosen = limits or Limits()
    started = time.monotonic()
    with connect(nb_remote, DATABASE, ssl_files, chosen) as connection:
        nb_tables, version = read_northbound(connection)
        nb_used = connection.remote
    with connect(sb_remote, SB_DATABASE, ssl_files, left_of(chosen, started)) as connection:
        sb_tables = read_southbound(connection)
        sb_used = connection.remote
    try:
        found = observed_from_tables(nb_tables, version, sb_tables)
    except (OvsdbError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise OvsdbError(f"cannot read the rows of {nb_used} and {sb_used}: {exc}") from None
    return replace(found, nb_remote=nb_used, sb_remote=sb_used)
