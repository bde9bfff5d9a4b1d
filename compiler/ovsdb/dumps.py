"""A Northbound database from a copy: ``ovsdb-client dump --format=json``
or ``ovsdb-client backup`` output, into the same NorthboundState a live read
gives (compiler/ovsdb/state.py), so an air-gapped site can plan from a copy.
Every value is checked as a live read's is (state.check_tables).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .client import OvsdbError
from .state import (
    OPTIONAL_TABLES,
    READ_COLUMNS,
    NorthboundState,
    _brief,
    _map,
    _row_uuid,
    check_tables,
    encode_map,
    state_from_tables,
)


class DumpError(Exception):
    """A --from-dump file that is neither a JSON dump nor a backup."""


_DUMP = "`ovsdb-client dump --format=json` output"
_NOT_DUMP = "not the output of `ovsdb-client dump --format=json`"
_BACKUP = "`ovsdb-client backup` file"


def state_from_dump(text: str) -> NorthboundState:
    """Parse ``ovsdb-client dump --format=json`` or ``ovsdb-client backup`` output."""
    if text.startswith("OVSDB CLUSTER"):
        raise DumpError("this is a clustered database file; make a copy with `ovsdb-client backup` instead")
    backup = text.startswith("OVSDB JSON ")
    # A copy is a file from elsewhere: any row not in OVSDB's notation is the file's fault, said as such.
    try:
        if backup:
            schema, tables = _backup_tables(text)
            check_tables(tables)
            version = schema.get("version")
            return state_from_tables(tables, str(version) if isinstance(version, str) and version else None)
        tables = tables_from_dump(text)
        check_tables(tables)
        return state_from_tables(tables)
    except DumpError:
        raise
    except (OvsdbError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        kind = _BACKUP if backup else _DUMP
        raise DumpError(f"a row of this {kind} is not in OVSDB's JSON notation ({reason})") from None


def _json_error(exc: ValueError | RecursionError) -> str:
    # ValueError: not JSON, or an integer of more digits than int() takes.
    return "nested too deeply" if isinstance(exc, RecursionError) else str(exc)


def tables_from_dump(text: str) -> dict[str, dict[str, dict[str, Any]]]:
    """``ovsdb-client dump --format=json`` output: table -> UUID -> column -> JSON value."""
    decoder = json.JSONDecoder()
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            break
        try:
            table, position = decoder.raw_decode(text, position)
        except (ValueError, RecursionError) as exc:
            raise DumpError(f"{_NOT_DUMP}: {_json_error(exc)}") from None
        if not isinstance(table, dict) or not {"caption", "headings", "data"} <= table.keys():
            raise DumpError(f"{_NOT_DUMP}: a table lacks caption/headings/data")
        name = str(table["caption"]).removesuffix(" table")
        headings, data = table["headings"], table["data"]
        if not (isinstance(headings, list) and all(isinstance(heading, str) for heading in headings)):
            raise DumpError(f"{_NOT_DUMP}: the headings of table {name[:80]!r} are not a list of names")
        if "_uuid" not in headings:
            raise DumpError(f"the dump of table {name[:80]} has no _uuid column; dump whole tables")
        if not (isinstance(data, list) and all(isinstance(values, list) for values in data)):
            raise DumpError(f"{_NOT_DUMP}: the data of table {name[:80]!r} is not a list of rows")
        rows = tables.setdefault(name, {})
        for values in data:
            if len(values) != len(headings):
                raise ValueError(f"a row of table {name[:80]} has {len(values)} values for {len(headings)} columns")
            row = dict(zip(headings, values, strict=True))
            rows[_row_uuid(name[:80], row)] = row
    missing = [t for t in READ_COLUMNS if t not in tables and t not in OPTIONAL_TABLES]
    if missing:
        raise DumpError(f"the dump lacks table(s) {', '.join(missing)}; dump the whole database")
    return tables


def _backup_tables(text: str) -> tuple[dict[str, Any], dict[str, dict[str, dict[str, Any]]]]:
    """Replay a standalone database file: a schema record, then transactions."""
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    records = _backup_records(text)
    schema = records[0]
    if not isinstance(schema.get("tables"), dict):
        raise DumpError(f"not an {_BACKUP}: its first record is no schema (no object of tables)")
    for record in records[1:]:  # the first is the schema
        is_diff = bool(record.get("_is_diff"))
        for table, rows in record.items():
            if table.startswith("_"):
                continue
            if not isinstance(rows, dict):
                raise DumpError(f"not an {_BACKUP}: the rows of table {table[:80]} in a record are not an object")
            current = tables.setdefault(table, {})
            for uuid, row in rows.items():
                if row is None:
                    current.pop(uuid, None)
                elif not isinstance(row, dict):
                    raise DumpError(f"not an {_BACKUP}: row {uuid[:80]} of table {table[:80]} is not an object")
                elif uuid in current and is_diff:
                    kinds = {column: _column_kind(schema, table, column) for column in row}
                    current[uuid] = {**current[uuid], **_apply_diff(current[uuid], row, kinds)}
                else:
                    current[uuid] = {**current.get(uuid, {}), **row}
    return schema, tables


def _backup_records(text: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    data = text.encode("utf-8")
    position = 0
    while position < len(data):
        end = data.find(b"\n", position)
        header = data[position:end].decode("ascii", "replace").split()
        if (
            end < 0
            or len(header) != 4
            or header[:2] != ["OVSDB", "JSON"]
            or not (header[2].isascii() and header[2].isdigit() and len(header[2]) <= 15)
        ):
            raise DumpError(f"not an {_BACKUP}: bad record header at byte {position}")
        length = int(header[2])
        try:
            record = json.loads(data[end + 1 : end + 1 + length])
        except (ValueError, RecursionError) as exc:
            raise DumpError(f"not an {_BACKUP}: {_json_error(exc)}") from None
        if not isinstance(record, dict):
            raise DumpError(f"not an {_BACKUP}: the record at byte {position} is not a JSON object")
        records.append(record)
        position = end + 1 + length
        while position < len(data) and data[position : position + 1] == b"\n":
            position += 1
    if len(records) < 1:
        raise DumpError("the backup file is empty")
    return records


def _column_kind(schema: Mapping[str, Any], table: str, column: str) -> str:
    """ "map", "set" (any column that may hold other than exactly one value) or "scalar"."""
    found: Any = schema
    for key in ("tables", table, "columns", column, "type"):
        found = found.get(key) if isinstance(found, dict) else None
    kind = "string" if found is None else found
    if isinstance(kind, str) or not isinstance(kind, dict):
        return "scalar"
    if "value" in kind:
        return "map"
    return "scalar" if kind.get("min", 1) == 1 and kind.get("max", 1) == 1 else "set"


def _apply_diff(old: Mapping[str, Any], diff: Mapping[str, Any], kinds: Mapping[str, str]) -> dict[str, Any]:
    """OVSDB's diff records: a set's listed atoms toggle; a map's keys toggle or take the new value."""
    changed: dict[str, Any] = {}
    for column, value in diff.items():
        before = old.get(column)
        if kinds[column] == "map":
            merged = _map(before) if before is not None else {}
            for key, item in _map(value).items():
                if merged.get(key) == item:
                    del merged[key]
                else:
                    merged[key] = item
            changed[column] = encode_map(merged)
        elif kinds[column] == "set":
            # Atoms as written (["uuid", ID] stays so), made hashable to toggle.
            toggled = set(_set_atoms(before)) if before is not None else set()
            toggled ^= set(_set_atoms(value))
            changed[column] = [
                "set",
                [list(atom) if isinstance(atom, tuple) else atom for atom in sorted(toggled, key=repr)],
            ]
        else:
            changed[column] = value
    return changed


def _set_atoms(value: Any) -> list[Any]:
    items = value[1] if isinstance(value, list) and len(value) == 2 and value[0] == "set" else [value]
    if not isinstance(items, list):
        raise ValueError(f"expected an OVSDB set, found {_brief(value)}")
    return [tuple(item) if isinstance(item, list) else item for item in items]
