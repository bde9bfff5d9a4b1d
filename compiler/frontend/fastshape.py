"""A yes/no JSON-Schema check compiled to closures, for the bulk path.

jsonschema validates a 10,000-load-balancer document in seconds because it
builds a validator object for every value it descends into. Valid documents
are the common case, and a valid document needs no error messages, so the
schema is compiled once into nested closures that only answer "valid?".
When the answer is no, jsonschema runs as before and reports every error
with its location; it remains the one source of diagnostics.

Only the keywords ovn-lbc's schema uses are supported. Compiling a schema
with any other keyword raises, so a schema change cannot silently make this
check looser than jsonschema (a property test compares the two).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords that never affect validity.
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description", "default", "examples", "$comment"})


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "string": lambda value: isinstance(value, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "array": lambda value: isinstance(value, list),
    "object": lambda value: isinstance(value, dict),
}


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, as in jsonschema's const and enum."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.compiled: dict[str, Check] = {}
        self.cells: dict[str, list[Check]] = {}

    def ref(self, pointer: str) -> Check:
        if pointer not in self.compiled:
            if not pointer.startswith("#/"):
                raise ValueError(f"unsupported $ref {pointer!r}")
            target: Any = self.root
            for step in pointer[2:].split("/"):
                target = target[step]
            # Bound late, so a recursive $ref works: a cell filled once compiled.
            cell: list[Check] = [lambda value: False]
            self.cells[pointer] = cell
            self.compiled[pointer] = lambda value: cell[0](value)
            cell[0] = self.schema(target)
        return self.compiled[pointer]

    def schema(self, schema: dict[str, Any] | bool) -> Check:
        if schema is True:
            return lambda value: True
        if schema is False:
            return lambda value: False
        assert isinstance(schema, dict)
        unknown = set(schema) - _ANNOTATIONS - set(_KEYWORDS)
        if unknown:
            raise ValueError(f"fastshape does not support the keyword(s) {', '.join(sorted(unknown))}")
        found = (_KEYWORDS[keyword](self, schema[keyword], schema) for keyword in schema if keyword in _KEYWORDS)
        checks = [check for check in found if check is not None]
        if not checks:
            return lambda value: True
        if len(checks) == 1:
            return checks[0]
        if len(checks) == 2:  # the common case (type and properties, say): no loop at all
            first, second = checks
            return lambda value: first(value) and second(value)
        return _all_of(checks)


def _all_of(checks: list[Check]) -> Check:
    def check(value: Any) -> bool:
        for one in checks:
            if not one(value):
                return False
        return True

    return check


def _type(compiler: _Compiler, names: str | list[str], schema: dict[str, Any]) -> Check:
    tests = [_TYPES[name] for name in ([names] if isinstance(names, str) else names)]
    if len(tests) == 1:
        return tests[0]
    return lambda value: any(test(value) for test in tests)


def _properties(compiler: _Compiler, properties: dict[str, Any], schema: dict[str, Any]) -> Check:
    checks = {name: compiler.schema(sub) for name, sub in properties.items()}
    patterns = [(re.compile(p), compiler.schema(sub)) for p, sub in schema.get("patternProperties", {}).items()]
    extra = schema.get("additionalProperties", True)
    check_extra = compiler.schema(extra)
    if not patterns and extra is True:
        # Most objects of the schema: named properties, anything else allowed.
        def named_only(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key, item in value.items():
                known = checks.get(key)
                if known is not None and not known(item):
                    return False
            return True

        return named_only

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for key, item in value.items():
            known = checks.get(key)
            matched = False
            if known is not None:
                if not known(item):
                    return False
                matched = True
            for pattern, pattern_check in patterns:
                if pattern.search(key):
                    matched = True
                    if not pattern_check(item):
                        return False
            if not matched and not check_extra(item):
                return False
        return True

    return check


def _covered_by_properties(compiler: _Compiler, value: Any, schema: dict[str, Any]) -> None:
    """patternProperties and additionalProperties are checked by ``properties``."""
    if "properties" not in schema:
        raise ValueError("fastshape needs properties beside patternProperties/additionalProperties")
    return None


def _required(compiler: _Compiler, names: list[str], schema: dict[str, Any]) -> Check:
    return lambda value: not isinstance(value, dict) or all(name in value for name in names)


def _items(compiler: _Compiler, items: dict[str, Any], schema: dict[str, Any]) -> Check:
    check_item = compiler.schema(items)

    def check(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        for item in value:
            if not check_item(item):
                return False
        return True

    return check


def _min_items(compiler: _Compiler, minimum: int, schema: dict[str, Any]) -> Check:
    return lambda value: not isinstance(value, list) or len(value) >= minimum


def _enum(compiler: _Compiler, choices: list[Any], schema: dict[str, Any]) -> Check:
    return lambda value: any(_same(value, choice) for choice in choices)


def _const(compiler: _Compiler, constant: Any, schema: dict[str, Any]) -> Check:
    return lambda value: _same(value, constant)


def _ref(compiler: _Compiler, pointer: str, schema: dict[str, Any]) -> Check:
    return compiler.ref(pointer)


_KEYWORDS: dict[str, Callable[[_Compiler, Any, dict[str, Any]], Check | None]] = {
    "type": _type,
    "properties": _properties,
    "patternProperties": _covered_by_properties,
    "additionalProperties": _covered_by_properties,
    "required": _required,
    "items": _items,
    "minItems": _min_items,
    "enum": _enum,
    "const": _const,
    "$ref": _ref,
}


def compile_schema(schema: dict[str, Any]) -> Check:
    """A predicate that is true exactly when ``schema`` accepts the value."""
    return _Compiler(schema).schema(schema)
