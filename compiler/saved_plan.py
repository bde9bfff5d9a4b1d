"""What ``apply --plan-file`` accepts: exactly what ``plan --format json`` writes.

A saved plan is a file that is reviewed and applied later: untrusted input,
and applying exactly what was reviewed is its point. A plan edited to delete
a foreign load balancer, a switch and a router was once applied as written.
So before anything connects, every operation is held to the forms
``emit.ovsdb.build_plan_transaction`` writes, and the first one ovn-lbc's
planner would not have written is refused, by its number and why:

- a ``comment``, then ``wait`` guards (``timeout`` 0, ``until`` ``==``), then the writes;
- Load_Balancer: ``insert`` (guarded by "no row of this name", carrying
  ovn-lbc's ownership mark), ``mutate``/``update``/``delete`` of one row by
  ``_uuid``, guarded by a wait that shows the row with the mark (a mutate
  that writes the mark is an ``--adopt``); only ``ovn-lbc:`` keys of its
  ``external_ids`` and only the options ovn-lbc manages change. ``name`` is
  written (an ``update``) only to rename a row this plan adopts whose guard
  shows it nameless and without the mark, to a name a guard shows no row
  has; no two rows of the plan get one name;
- Load_Balancer_Health_Check: ``insert``, and ``mutate`` of a guarded check
  that a guarded, owned load balancer of the plan refers to;
- Load_Balancer_Group: ``insert`` (guarded by "no group of this name", with
  ovn-lbc's UUID and its mark), ``mutate`` of a guarded group's members, and
  ``delete`` of a guarded group whose mark the NB_Global guard proves and
  whose members the plan deletes. A member put in or taken out is a row this
  plan inserts, or an existing row a guard proves ovn-lbc's: its full-row
  guard showing the mark, or (a row the plan otherwise leaves alone) an
  ownership guard, a wait that selects it by ``_uuid`` and
  ``external_ids`` ``includes`` ``ovn-lbc:network``;
- NAT (a forward's default target): ``insert`` of a dnat row carrying the
  mark, guarded by a wait on the rows of its type and address (nobody made
  one since the plan read them); ``mutate`` (the managed option, ``ovn-lbc:``
  keys of ``external_ids``) and ``update`` (``logical_ip``) of one row by
  ``_uuid``, guarded by a wait that shows the row with the mark (a mutate
  writing the mark is an ``--adopt``). A NAT row is never deleted: it is
  taken out of its router's ``nat``, which OVSDB makes a delete;
- Logical_Switch, Logical_Router: only a ``mutate`` of ``load_balancer`` and
  ``load_balancer_group`` of a guarded row, attaching rows and groups the
  plan makes or guards, detaching only owned rows and deleted groups; of a
  router's ``nat`` too, inserting only NAT rows the plan inserts and taking
  out only NAT rows a guard shows ovn-lbc's;
- NB_Global: only the ``ovn-lbc:group:`` marks in ``external_ids``, of the
  groups the plan creates or deletes, under an NB_Global guard.

Anything else (another table, another column, an operation on a row the
plan does not guard, a ``where`` that selects by anything but ``_uuid``) is
refused. The guards themselves make the server refuse the plan, changing
nothing, when the database moved since the plan was made.

Why this module is long: it is one checker, a method per operation and table
the planner writes, beside the forms it accepts; split, one form would be
read in two places.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .emit.ovsdb import DATABASE
from .lower import GROUP_MARK_PREFIX, OWNER_KEY, USER_KEY_PREFIX
from .ovsdb.state import GROUP_COLUMNS, HEALTH_CHECK_COLUMNS, LOAD_BALANCER_COLUMNS, NAT_COLUMNS
from .plan import DATAPATH_TABLES, MANAGED_NAT_OPTIONS, MANAGED_OPTIONS

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_UUID_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*\Z")
_TABLES = (
    "Load_Balancer",
    "Load_Balancer_Health_Check",
    "Load_Balancer_Group",
    "NAT",
    "NB_Global",
    *DATAPATH_TABLES,
)
_KEYS = {
    "comment": {"op", "comment"},
    "wait": {"op", "table", "where", "columns", "until", "rows", "timeout"},
    "insert": {"op", "table", "row", "uuid-name", "uuid"},
    "delete": {"op", "table", "where"},
    "mutate": {"op", "table", "where", "mutations"},
    "update": {"op", "table", "where", "row"},
}
# An inserted Load_Balancer row has exactly the columns a plan reads and guards.
_LOAD_BALANCER_INSERT = set(LOAD_BALANCER_COLUMNS)


class Refused(Exception):
    """An operation ovn-lbc's planner would not have written."""


def saved_plan_problem(params: Any) -> str | None:
    """Why ``params`` is not a transaction ``plan --format json`` could have written, or None."""
    if not (isinstance(params, list) and params and params[0] == DATABASE):
        return f'expected a JSON array ["{DATABASE}", operation, ...]'
    try:
        _Checker().check(params[1:])
    except Refused as exc:
        return str(exc)
    return None


def _brief(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _is_uuid(value: Any) -> bool:
    return isinstance(value, str) and _UUID.match(value) is not None


def _strings(value: Any) -> list[str] | None:
    """An OVSDB set of strings (or a bare string), as a list; None otherwise."""
    items = value[1] if isinstance(value, list) and len(value) == 2 and value[0] == "set" else [value]
    if isinstance(items, list) and all(isinstance(item, str) for item in items):
        return items
    return None


def _pairs(value: Any) -> dict[str, str] | None:
    """An OVSDB map of strings, as a dict; None otherwise."""
    if not (isinstance(value, list) and len(value) == 2 and value[0] == "map" and isinstance(value[1], list)):
        return None
    pairs = value[1]
    if all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], str) for p in pairs):
        return {key: item for key, item in pairs}
    return None


def _references(value: Any) -> list[tuple[str, str]] | None:
    """An OVSDB set of ``["uuid", ID]`` / ``["named-uuid", NAME]``, as (kind, id) pairs; None otherwise."""
    items = value[1] if isinstance(value, list) and len(value) == 2 and value[0] == "set" else [value]
    if not isinstance(items, list):
        return None
    found = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 2 and item[0] in ("uuid", "named-uuid")):
            return None
        if not (_is_uuid(item[1]) if item[0] == "uuid" else isinstance(item[1], str)):
            return None
        found.append((item[0], item[1]))
    return found


def _where_uuid(where: Any) -> str | None:
    """The row ``[["_uuid", "==", ["uuid", ID]]]`` selects, or None for any other ``where``."""
    if isinstance(where, list) and len(where) == 1:
        clause = where[0]
        if isinstance(clause, list) and len(clause) == 3 and clause[:2] == ["_uuid", "=="]:
            value = clause[2]
            if isinstance(value, list) and len(value) == 2 and value[0] == "uuid" and _is_uuid(value[1]):
                uuid: str = value[1]
                return uuid
    return None


def _where_owned(where: Any) -> str | None:
    """The row ``[["_uuid", "==", ["uuid", ID]], ["external_ids", "includes", ["map", [[OWNER_KEY, NETWORK]]]]]``
    selects (an ownership guard's ``where``), or None for any other ``where``."""
    if not (isinstance(where, list) and len(where) == 2 and (uuid := _where_uuid(where[:1])) is not None):
        return None
    clause = where[1]
    if not (isinstance(clause, list) and len(clause) == 3 and clause[:2] == ["external_ids", "includes"]):
        return None
    pairs = _pairs(clause[2])
    if pairs is None or list(pairs) != [OWNER_KEY] or not pairs[OWNER_KEY] or len(clause[2][1]) != 1:
        return None
    return uuid


def _is_uuid_row(row: Any) -> bool:
    """``{"_uuid": ["uuid", ID]}``: a row as a wait on the column _uuid shows it."""
    return isinstance(row, dict) and list(row) == ["_uuid"] and _where_uuid([["_uuid", "==", row["_uuid"]]]) is not None


def _where_nat_address(where: Any) -> tuple[str, str] | None:
    """(type, external_ip) that ``[["type", "==", T], ["external_ip", "==", IP]]`` selects, or None."""
    if not (isinstance(where, list) and len(where) == 2 and all(isinstance(c, list) and len(c) == 3 for c in where)):
        return None
    (column, verb, kind), (column2, verb2, address) = where
    if [column, verb, column2, verb2] != ["type", "==", "external_ip", "=="]:
        return None
    return (kind, address) if isinstance(kind, str) and isinstance(address, str) else None


def _where_name(where: Any) -> str | None:
    if isinstance(where, list) and len(where) == 1:
        clause = where[0]
        if isinstance(clause, list) and len(clause) == 3 and clause[:2] == ["name", "=="]:
            if isinstance(clause[2], str):
                name: str = clause[2]
                return name
    return None


class _Checker:
    """One pass over the operations, in order: guards are recorded, then every
    write must find its own. A write is checked by the method named after it and
    its table (``_delete_Load_Balancer``); none exists for what is never written."""

    def __init__(self) -> None:
        self.index = 0
        self.op: Mapping[str, Any] = {}
        self.writing = False
        self.absent: set[tuple[str, str]] = set()  # (table, name): a guard that no row has that name
        self.guarded: dict[tuple[str, str], Mapping[str, Any]] = {}  # (table, _uuid) -> the row as guarded
        self.marked: set[str] = set()  # Load_Balancer _uuids an ownership guard proves ovn-lbc's
        self.nb_global_absent = False
        self.nb_global: str | None = None  # the guarded NB_Global row
        self.proven_marks: dict[str, str] = {}  # mark key -> group _uuid, as the NB_Global guard checks them
        self.named: dict[str, tuple[str, Mapping[str, Any]]] = {}  # uuid-name -> (table, insert op)
        self.adopted: set[str] = set()  # Load_Balancer _uuids a mutate gives ovn-lbc's mark
        self.names: set[str] = set()  # Load_Balancer names the plan gives (an insert, a rename)
        self.deleted: dict[str, set[str]] = {"Load_Balancer": set(), "Load_Balancer_Group": set(), "NAT": set()}
        self.nat_addresses: set[tuple[str, str]] = set()  # (type, external_ip) a guard shows the rows of
        self.inserted_groups: dict[str, str] = {}  # name -> the _uuid it is inserted with
        self.written_marks: dict[str, str] = {}
        self.dropped_marks: set[str] = set()

    def refuse(self, why: str) -> Refused:
        # The op and table as the plan names them, printable and short (they may be anything).
        what = " ".join(str(self.op.get(key, ""))[:40] for key in ("op", "table")).strip()
        what = what.encode("unicode_escape").decode("ascii")
        return Refused(f"operation {self.index} ({what or '?'}): {why}")

    def check(self, ops: list[Any]) -> None:
        if not ops:
            return
        for self.index, self.op in enumerate(ops, start=1):
            if not isinstance(self.op, dict):
                self.op = {}
                raise self.refuse(f"{_brief(ops[self.index - 1])} is not an operation (a JSON object)")
            kind = self.op.get("op")
            if not isinstance(kind, str) or kind not in _KEYS:
                raise self.refuse(f"the operation {_brief(kind)} is not one ovn-lbc uses")
            if unknown := sorted(set(self.op) - _KEYS[kind]):
                raise self.refuse(f"unexpected member(s) {', '.join(_brief(key) for key in unknown)}")
            if kind == "comment":
                if self.index != 1 or not isinstance(self.op.get("comment"), str):
                    raise self.refuse("a plan has one comment (a string), first")
                continue
            if self.index == 1:
                raise self.refuse("a plan starts with its comment")
            table = self.op.get("table")
            if not isinstance(table, str):
                raise self.refuse(f"its table is {_brief(table)}, not a table's name")
            if kind == "wait":
                if self.writing:
                    raise self.refuse("a guard after a write guards nothing")
                self._guard(table)
                continue
            self.writing = True
            if table not in _TABLES:
                raise self.refuse(f"ovn-lbc's plans never write table {_brief(table)}")
            handler: Callable[[], None] | None
            if table in DATAPATH_TABLES:
                handler = self._mutate_datapath if kind == "mutate" else None
            else:
                handler = getattr(self, f"_{kind}_{table}", None)
            if handler is None:
                raise self.refuse(f"ovn-lbc never {kind}s {table} rows")
            handler()
        self._finish()

    # -- guards ------------------------------------------------------------------------

    def _guard(self, table: Any) -> None:
        op = self.op
        if op.get("timeout") != 0 or op.get("until") != "==":
            raise self.refuse('a guard waits with "until": "==" and "timeout": 0')
        where, columns, rows = op.get("where"), op.get("columns"), op.get("rows")
        if table == "NB_Global":
            self._guard_nb_global(where, columns, rows)
            return
        if table == "Load_Balancer" and columns == ["_uuid"] and (uuid := _where_owned(where)) is not None:
            if rows != [{"_uuid": ["uuid", uuid]}]:
                raise self.refuse("an ownership guard shows the row it selects, by its _uuid")
            self.marked.add(uuid)
            return
        if table == "NAT" and (address := _where_nat_address(where)) is not None:
            if columns != ["_uuid"] or not (isinstance(rows, list) and all(_is_uuid_row(row) for row in rows)):
                raise self.refuse("a guard on a NAT address shows the _uuid of each row it has")
            self.nat_addresses.add(address)
            return
        if table in ("Load_Balancer", "Load_Balancer_Group") and (name := _where_name(where)) is not None:
            if columns != ["_uuid"] or rows != []:
                raise self.refuse("a guard by name checks that no row has the name")
            self.absent.add((table, name))
            return
        expected = {
            "Load_Balancer": list(LOAD_BALANCER_COLUMNS),
            "Load_Balancer_Health_Check": list(HEALTH_CHECK_COLUMNS),
            "Load_Balancer_Group": list(GROUP_COLUMNS),
            "NAT": list(NAT_COLUMNS),
            **{datapath: ["name"] for datapath in DATAPATH_TABLES},
        }.get(table)
        if expected is None:
            raise self.refuse(f"ovn-lbc's plans never read table {_brief(table)}")
        uuid = _where_uuid(where)
        if uuid is None:
            raise self.refuse(f"a guard selects one row by _uuid, not by {_brief(where)}")
        if columns != expected:
            raise self.refuse(f"a guard on {table} checks the columns {expected}, not {_brief(columns)}")
        if not (
            isinstance(rows, list) and len(rows) == 1 and isinstance(rows[0], dict) and set(rows[0]) == set(expected)
        ):
            raise self.refuse("a guard on a row shows that row, with the columns it checks")
        self.guarded[(table, uuid)] = rows[0]

    def _guard_nb_global(self, where: Any, columns: Any, rows: Any) -> None:
        if where == [] and columns == ["_uuid"] and rows == []:
            self.nb_global_absent = True
            return
        uuid = _where_uuid(where[:1]) if isinstance(where, list) else None
        if uuid is None or columns != ["_uuid"] or rows != [{"_uuid": ["uuid", uuid]}]:
            raise self.refuse("an NB_Global guard selects the row by _uuid (and the marks it includes)")
        for clause in where[1:]:
            pairs = _pairs(clause[2]) if isinstance(clause, list) and len(clause) == 3 else None
            if not (clause[:2] == ["external_ids", "includes"] and pairs and len(pairs) == 1):
                raise self.refuse(f"an NB_Global guard checks only marks in external_ids, not {_brief(clause)}")
            key, value = next(iter(pairs.items()))
            if not (key.startswith(GROUP_MARK_PREFIX) and _is_uuid(value)):
                raise self.refuse(f"{_brief(key)} = {_brief(value)} is not a mark of a group ovn-lbc created")
            self.proven_marks[key] = value
        self.nb_global = uuid

    # -- Load_Balancer ----------------------------------------------------------------

    def _uuid_name(self, table: str) -> str:
        name = self.op.get("uuid-name")
        if not (isinstance(name, str) and _UUID_NAME.match(name)) or name in self.named:
            raise self.refuse(f"the uuid-name {_brief(name)} is not a new identifier")
        self.named[name] = (table, self.op)
        return name

    def _row(self, allowed: set[str]) -> Mapping[str, Any]:
        row = self.op.get("row")
        if not isinstance(row, dict):
            raise self.refuse("its row is not a JSON object")
        if unknown := sorted(set(row) - allowed):
            raise self.refuse(f"it writes column(s) {', '.join(_brief(c) for c in unknown)}, which ovn-lbc does not")
        return row

    def _insert_Load_Balancer(self) -> None:
        if "uuid" in self.op:
            raise self.refuse("ovn-lbc lets the server choose a load balancer's _uuid")
        row = self._row(_LOAD_BALANCER_INSERT)
        name = row.get("name")
        self._new_name(name)
        ids = _pairs(row.get("external_ids", ["map", []]))
        if ids is None or OWNER_KEY not in ids:
            raise self.refuse(f"the row lacks ovn-lbc's ownership mark ({OWNER_KEY})")
        checks = _references(row.get("health_check", ["set", []]))
        if checks is None or any(
            kind != "named-uuid" or self._table_of(ref) != "Load_Balancer_Health_Check" for kind, ref in checks
        ):
            raise self.refuse("its health_check refers to other than health checks this plan inserts")
        self._uuid_name("Load_Balancer")

    def _new_name(self, name: Any) -> None:
        """A name an insert or a rename gives: one a guard shows no row has, given once."""
        if not isinstance(name, str) or not name or ("Load_Balancer", name) not in self.absent:
            raise self.refuse(f"no guard before it checks that no load balancer is named {_brief(name)}")
        if name in self.names:
            raise self.refuse(f"two load balancers of the plan would be named {_brief(name)}")
        self.names.add(name)

    def _table_of(self, name: str) -> str | None:
        return self.named[name][0] if name in self.named else None

    def _owned_load_balancer(self, uuid: str, *, adopting: bool = False) -> Mapping[str, Any]:
        """The guarded row, when it carries ovn-lbc's mark (or this plan adopts it)."""
        row = self.guarded.get(("Load_Balancer", uuid))
        if row is None:
            raise self.refuse(f"no guard before it on Load_Balancer row {uuid}")
        ids = _pairs(row.get("external_ids"))
        if ids is None:
            raise self.refuse(f"the guard on Load_Balancer row {uuid} shows no external_ids map")
        if OWNER_KEY not in ids and not adopting and uuid not in self.adopted:
            raise self.refuse(f"Load_Balancer row {uuid} is not ovn-lbc's: its guard shows no {OWNER_KEY} mark")
        return row

    def _target(self) -> str:
        uuid = _where_uuid(self.op.get("where"))
        if uuid is None:
            raise self.refuse(f"it selects by {_brief(self.op.get('where'))}; ovn-lbc writes one row, by _uuid")
        return uuid

    def _mutations(self) -> list[tuple[str, str, Any]]:
        mutations = self.op.get("mutations")
        if not (isinstance(mutations, list) and mutations):
            raise self.refuse("its mutations are not a list of [column, mutator, value]")
        found = []
        for mutation in mutations:
            if not (isinstance(mutation, list) and len(mutation) == 3 and isinstance(mutation[0], str)):
                raise self.refuse(f"{_brief(mutation)} is not a mutation [column, mutator, value]")
            if mutation[1] not in ("insert", "delete"):
                raise self.refuse(f"the mutator {_brief(mutation[1])} is not one ovn-lbc uses")
            found.append((mutation[0], mutation[1], mutation[2]))
        return found

    def _map_mutation(self, column: str, verb: str, value: Any, allowed: Callable[[str], bool]) -> None:
        """A map column: delete a set of keys, or insert pairs; every key one ovn-lbc manages."""
        if verb == "delete":
            keys = _strings(value)
        else:
            pairs = _pairs(value)
            keys = None if pairs is None else list(pairs)
        if keys is None:
            shape = "a set of keys" if verb == "delete" else "a map of strings"
            raise self.refuse(f"{verb} on {column} takes {shape}, not {_brief(value)}")
        for key in keys:
            if not allowed(key):
                raise self.refuse(f"it changes key {_brief(key)} of {column}, which ovn-lbc does not manage")

    def _mutate_Load_Balancer(self) -> None:
        uuid = self._target()
        mutations = self._mutations()
        adopting = any(
            column == "external_ids" and verb == "insert" and OWNER_KEY in (_pairs(value) or {})
            for column, verb, value in mutations
        )
        row = self._owned_load_balancer(uuid, adopting=adopting)
        if adopting:
            self.adopted.add(uuid)
        checks = {ref for kind, ref in _references(row.get("health_check")) or [] if kind == "uuid"}
        for column, verb, value in mutations:
            if column in ("vips", "ip_port_mappings"):
                self._map_mutation(column, verb, value, lambda key: True)
            elif column == "external_ids":
                self._map_mutation(column, verb, value, lambda key: key.startswith(USER_KEY_PREFIX))
            elif column == "options":
                self._map_mutation(column, verb, value, lambda key: key in MANAGED_OPTIONS)
            elif column == "health_check":
                refs = _references(value)
                if refs is None or any(
                    (kind == "uuid" and (verb != "delete" or ref not in checks))
                    or (
                        kind == "named-uuid"
                        and (verb != "insert" or self._table_of(ref) != "Load_Balancer_Health_Check")
                    )
                    for kind, ref in refs
                ):
                    raise self.refuse(
                        "it drops health checks the row's guard does not show, or adds others than this plan inserts"
                    )
            else:
                raise self.refuse(f"it mutates column {_brief(column)}, which ovn-lbc does not")

    def _update_Load_Balancer(self) -> None:
        uuid = self._target()
        guarded = self._owned_load_balancer(uuid)
        row = self._row({"name", "protocol", "selection_fields"})
        if not row:
            raise self.refuse("it updates nothing")
        if "name" in row:
            self._rename(uuid, guarded, row["name"])

    def _rename(self, uuid: str, guarded: Mapping[str, Any], name: Any) -> None:
        """Only a nameless row this plan adopts is renamed: a row of a name is
        found by that name (by other tools too), and ovn-lbc's own rows have theirs."""
        if guarded.get("name") != "":
            raise self.refuse(
                f"it renames Load_Balancer row {uuid}, which its guard shows named {_brief(guarded.get('name'))}; "
                "ovn-lbc renames only nameless rows"
            )
        owner = (_pairs(guarded.get("external_ids")) or {}).get(OWNER_KEY)
        if owner is not None:
            raise self.refuse(
                f"it renames Load_Balancer row {uuid}, which its guard shows ovn-lbc's ({OWNER_KEY}={_brief(owner)}); "
                "ovn-lbc renames only a nameless row it takes over"
            )
        # Unmarked, _owned_load_balancer let it through only as adopted by this plan (its mutate, before).
        self._new_name(name)

    def _delete_Load_Balancer(self) -> None:
        uuid = self._target()
        self._owned_load_balancer(uuid)
        if uuid in self.adopted:
            raise self.refuse(f"ovn-lbc deletes only rows it owned already, and adopts {uuid} in this plan")
        self.deleted["Load_Balancer"].add(uuid)

    # -- Load_Balancer_Health_Check ---------------------------------------------------------

    def _insert_Load_Balancer_Health_Check(self) -> None:
        if "uuid" in self.op:
            raise self.refuse("ovn-lbc lets the server choose a health check's _uuid")
        self._row({"vip", "options", "external_ids"})
        self._uuid_name("Load_Balancer_Health_Check")

    def _mutate_Load_Balancer_Health_Check(self) -> None:
        uuid = self._target()
        if ("Load_Balancer_Health_Check", uuid) not in self.guarded:
            raise self.refuse(f"no guard before it on Load_Balancer_Health_Check row {uuid}")
        users = [
            lb
            for (table, lb), row in self.guarded.items()
            if table == "Load_Balancer" and ("uuid", uuid) in (_references(row.get("health_check")) or [])
        ]
        if not users:
            raise self.refuse(f"no guarded load balancer of the plan refers to health check {uuid}")
        for lb in users:
            self._owned_load_balancer(lb, adopting=lb in self.adopted)
        for column, verb, value in self._mutations():
            if column == "options":
                self._map_mutation(column, verb, value, lambda key: True)
            elif column == "external_ids":
                self._map_mutation(column, verb, value, lambda key: key.startswith(USER_KEY_PREFIX))
            else:
                raise self.refuse(f"it mutates column {_brief(column)}, which ovn-lbc does not")

    # -- NAT --------------------------------------------------------------------------------

    def _insert_NAT(self) -> None:
        if "uuid" in self.op:
            raise self.refuse("ovn-lbc lets the server choose a NAT row's _uuid")
        row = self._row(set(NAT_COLUMNS))
        kind, address = row.get("type"), row.get("external_ip")
        if kind != "dnat":
            raise self.refuse(f"ovn-lbc makes only dnat NAT rows, not {_brief(kind)}")
        if not isinstance(address, str) or (kind, address) not in self.nat_addresses:
            raise self.refuse(f"no guard before it shows the dnat NAT rows of {_brief(address)}")
        ids = _pairs(row.get("external_ids", ["map", []]))
        if ids is None or OWNER_KEY not in ids:
            raise self.refuse(f"the row lacks ovn-lbc's ownership mark ({OWNER_KEY})")
        self._uuid_name("NAT")

    def _owned_nat(self, uuid: str, *, adopting: bool = False) -> None:
        row = self.guarded.get(("NAT", uuid))
        if row is None:
            raise self.refuse(f"no guard before it on NAT row {uuid}")
        ids = _pairs(row.get("external_ids"))
        if ids is None or (OWNER_KEY not in ids and not adopting and uuid not in self.adopted):
            raise self.refuse(f"NAT row {uuid} is not ovn-lbc's: its guard shows no {OWNER_KEY} mark")

    def _mutate_NAT(self) -> None:
        uuid = self._target()
        mutations = self._mutations()
        adopting = any(
            column == "external_ids" and verb == "insert" and OWNER_KEY in (_pairs(value) or {})
            for column, verb, value in mutations
        )
        self._owned_nat(uuid, adopting=adopting)
        if adopting:
            self.adopted.add(uuid)
        for column, verb, value in mutations:
            if column == "external_ids":
                self._map_mutation(column, verb, value, lambda key: key.startswith(USER_KEY_PREFIX))
            elif column == "options":
                self._map_mutation(column, verb, value, lambda key: key in MANAGED_NAT_OPTIONS)
            else:
                raise self.refuse(f"it mutates column {_brief(column)}, which ovn-lbc does not")

    def _update_NAT(self) -> None:
        self._owned_nat(self._target())
        row = self._row({"logical_ip"})
        if not isinstance(row.get("logical_ip"), str):
            raise self.refuse("it updates nothing but a NAT row's logical_ip, a string")

    def _take_out_nat(self, kind: str, ref: str, verb: str) -> None:
        """A reference in a router's ``nat``: in, a row this plan inserts; out, an owned guarded row."""
        if kind == "named-uuid":
            if verb != "insert" or self._table_of(ref) != "NAT":
                raise self.refuse(f"{ref!r} is not a NAT row this plan inserts")
            return
        if verb != "delete":
            raise self.refuse(f"it puts NAT row {ref} in a router; ovn-lbc puts in only the rows it inserts")
        self._owned_nat(ref)
        if ref in self.adopted:
            raise self.refuse(f"ovn-lbc deletes only rows it owned already, and adopts {ref} in this plan")
        self.deleted["NAT"].add(ref)

    # -- Load_Balancer_Group ----------------------------------------------------------------

    def _insert_Load_Balancer_Group(self) -> None:
        row = self._row({"name", "load_balancer"})
        name, uuid = row.get("name"), self.op.get("uuid")
        if not isinstance(name, str) or ("Load_Balancer_Group", name) not in self.absent:
            raise self.refuse(f"no guard before it checks that no group is named {_brief(name)}")
        if not _is_uuid(uuid):
            raise self.refuse("ovn-lbc creates a group with the _uuid its mark records")
        members = _references(row.get("load_balancer", ["set", []]))
        if members is None:
            raise self.refuse("its load_balancer is not a set of load balancers")
        for kind, ref in members:
            self._check_member(kind, ref, "insert")
        self.inserted_groups[name] = str(uuid)
        self._uuid_name("Load_Balancer_Group")

    def _guarded_group(self, uuid: str) -> Mapping[str, Any]:
        row = self.guarded.get(("Load_Balancer_Group", uuid))
        if row is None:
            raise self.refuse(f"no guard before it on Load_Balancer_Group row {uuid}")
        return row

    def _mutate_Load_Balancer_Group(self) -> None:
        self._guarded_group(self._target())
        for column, verb, value in self._mutations():
            members = _references(value) if column == "load_balancer" else None
            if members is None:
                raise self.refuse(f"it mutates {_brief(column)} {_brief(value)}; ovn-lbc changes only its members")
            for kind, ref in members:
                self._check_member(kind, ref, verb)

    def _delete_Load_Balancer_Group(self) -> None:
        uuid = self._target()
        row = self._guarded_group(uuid)
        name = row.get("name")
        if not isinstance(name, str) or self.proven_marks.get(GROUP_MARK_PREFIX + name) != uuid:
            raise self.refuse(
                f"group {_brief(name)} ({uuid}) is not shown to be ovn-lbc's: no NB_Global guard includes its mark"
            )
        members = {ref for kind, ref in _references(row.get("load_balancer")) or [] if kind == "uuid"}
        if not members <= self.deleted["Load_Balancer"]:
            raise self.refuse(
                f"group {name!r} keeps members this plan does not delete; ovn-lbc deletes only empty groups"
            )
        self.deleted["Load_Balancer_Group"].add(uuid)
        self.dropped_marks.add(GROUP_MARK_PREFIX + name)

    # -- datapaths ----------------------------------------------------------------------

    def _mutate_datapath(self) -> None:
        table = str(self.op.get("table"))
        uuid = self._target()
        if (table, uuid) not in self.guarded:
            raise self.refuse(f"no guard before it on {table} row {uuid}")
        for column, verb, value in self._mutations():
            refs = _references(value)
            columns = ("load_balancer", "load_balancer_group", *(("nat",) if table == "Logical_Router" else ()))
            if column not in columns or refs is None:
                names = ", ".join(columns[:-1]) + " and " + columns[-1]
                raise self.refuse(f"it mutates {_brief(column)}; ovn-lbc changes only {names}")
            for kind, ref in refs:
                if column == "nat":
                    self._take_out_nat(kind, ref, verb)
                elif column == "load_balancer":
                    self._check_load_balancer_reference(kind, ref, verb)
                elif kind == "named-uuid":
                    if verb != "insert" or self._table_of(ref) != "Load_Balancer_Group":
                        raise self.refuse(f"{ref!r} is not a group this plan inserts")
                elif verb == "insert" and ("Load_Balancer_Group", ref) not in self.guarded:
                    raise self.refuse(f"it attaches group {ref}, which the plan does not guard")
                elif verb == "delete" and ref not in self.deleted["Load_Balancer_Group"]:
                    raise self.refuse(f"it detaches group {ref}, which the plan does not delete")

    def _check_load_balancer_reference(self, kind: str, ref: str, verb: str) -> None:
        if kind == "named-uuid":
            if verb != "insert" or self._table_of(ref) != "Load_Balancer":
                raise self.refuse(f"{ref!r} is not a load balancer this plan inserts")
        else:
            self._owned_load_balancer(ref)

    def _check_member(self, kind: str, ref: str, verb: str) -> None:
        """A group's member, put in or taken out: a row this plan inserts, or an
        existing row a guard proves ovn-lbc's (its full-row guard, or, for a row
        the plan otherwise leaves alone, its ownership guard)."""
        if kind == "uuid" and ref in self.marked:
            return
        if kind == "uuid" and ("Load_Balancer", ref) not in self.guarded:
            raise self.refuse(f"no guard before it shows that Load_Balancer row {ref} is ovn-lbc's")
        self._check_load_balancer_reference(kind, ref, verb)

    # -- NB_Global: the marks of ovn-lbc's groups --------------------------------------------------

    def _mark_pairs(self, value: Any) -> dict[str, str]:
        pairs = _pairs(value)
        if pairs is None or not all(
            key.startswith(GROUP_MARK_PREFIX) and _is_uuid(item) for key, item in pairs.items()
        ):
            raise self.refuse(f"NB_Global's external_ids get only marks {GROUP_MARK_PREFIX}NAME = UUID")
        return pairs

    def _insert_NB_Global(self) -> None:
        if not self.nb_global_absent or "uuid" in self.op or "uuid-name" in self.op:
            raise self.refuse("ovn-lbc inserts NB_Global only guarded by a wait that there is none")
        row = self._row({"external_ids"})
        self.written_marks.update(self._mark_pairs(row.get("external_ids")))

    def _mutate_NB_Global(self) -> None:
        uuid = self._target()
        if uuid != self.nb_global:
            raise self.refuse(f"no NB_Global guard before it on row {uuid}")
        for column, verb, value in self._mutations():
            if column != "external_ids":
                raise self.refuse(f"it mutates NB_Global {_brief(column)}; ovn-lbc writes only its marks")
            if verb == "insert":
                self.written_marks.update(self._mark_pairs(value))
            else:
                keys = _strings(value)
                if keys is None or not all(key.startswith(GROUP_MARK_PREFIX) for key in keys):
                    raise self.refuse(f"it deletes NB_Global keys other than marks ({GROUP_MARK_PREFIX}NAME)")
                for key in keys:
                    name = key.removeprefix(GROUP_MARK_PREFIX)
                    if name not in self.inserted_groups and key not in self.dropped_marks:
                        raise self.refuse(
                            f"it deletes the mark of group {name!r}, which the plan neither creates nor deletes"
                        )

    # -- once every operation is known -------------------------------------------------------

    def _finish(self) -> None:
        """The marks: each group the plan creates gets its own, and no other is written."""
        for name, uuid in self.inserted_groups.items():
            if self.written_marks.get(GROUP_MARK_PREFIX + name) != uuid:
                self.index, self.op = 0, {"op": "insert", "table": "Load_Balancer_Group"}
                raise self.refuse(f"group {name!r} is created without its mark in NB_Global")
        for key, uuid in self.written_marks.items():
            if self.inserted_groups.get(key.removeprefix(GROUP_MARK_PREFIX)) != uuid:
                self.index, self.op = 0, {"op": "mutate", "table": "NB_Global"}
                raise self.refuse(f"it marks {key!r} = {uuid}, a group this plan does not create")
