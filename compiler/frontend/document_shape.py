"""YAML/JSON pass 2: the located tree against the published JSON Schema.

The schema (``schema.json``, what ``ovn-lbc schema`` prints) is the one
statement of the input's shape; this module checks a tree against it and
turns each jsonschema error into a diagnostic at the node it is about, in
words. It also says which objects an error disqualifies from the model and
which nodes it rejects, so the model builder (``document_builder``) never
reports a consequence of a shape error again. A valid tree, the common case,
is answered by ``fastshape``'s compiled yes/no check without jsonschema.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

from ..diagnostics import Diagnostic, SourceText, did_you_mean, error
from .fastshape import Check, compile_schema
from .lb_options import UNSUPPORTED_OPTIONS
from .tree import MappingNode, Node, Path, ScalarNode, SequenceNode, to_plain
from .values import WHOLE_IP_LOAD_BALANCING

if TYPE_CHECKING:
    import jsonschema


@functools.cache
def schema() -> dict[str, Any]:
    """The JSON Schema of format version 1 (what ``ovn-lbc schema`` prints)."""
    text = resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    # Imported here: a valid file never needs it, and importing it is a third
    # of ovn-lbc's start-up (0.13 s of `ovn-lbc check`).
    import jsonschema

    cls = jsonschema.validators.validator_for(schema())
    return cls(schema())


@functools.cache
def _fast_check() -> Check:
    return compile_schema(schema())


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "boolean": "a boolean",
    "array": "a list",
    "object": "a mapping",
    "null": "nothing",
    "number": "a number",
}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "a number"


def _owner(path: Path) -> Path:
    """The object an error at ``path`` disqualifies from the model.

    Load balancers and forwards stand alone; anything else in a network
    (including its switch ports, which health checks depend on) disqualifies
    the whole network; anything above it, the whole file.
    """
    if len(path) >= 4 and path[2] in ("load_balancers", "forwards"):
        return path[:4]
    if len(path) >= 2 and path[0] == "networks":
        return path[:2]
    return ()


def is_valid_shape(plain: Any) -> bool:
    """Whether plain data (not nodes) has the schema's shape: the yes/no check alone."""
    return _fast_check()(plain)


def validate_shape(root: Node, source: SourceText) -> tuple[list[Diagnostic], set[Path], set[int]]:
    """Check the tree against the schema; report located errors.

    Returns the diagnostics, the paths of the objects they disqualify, and the
    ids of the nodes they reject (whose values the builder must not report on
    again). Unknown keys are reported but disqualify nothing.
    """
    diagnostics: list[Diagnostic] = []
    poisoned: set[Path] = set()
    rejected: set[int] = set()
    plain = to_plain(root)
    if _fast_check()(plain):
        return diagnostics, poisoned, rejected
    for err in _validator().iter_errors(plain):
        path: Path = tuple(err.absolute_path)
        node = _walk(root, path)
        if err.validator == "additionalProperties":
            subschema = err.schema if isinstance(err.schema, dict) else {}
            diagnostics.extend(_unknown_keys(node, path, subschema))
            continue
        poisoned.add(_owner(path))
        if err.validator != "required":  # a missing key rejects no node that exists
            rejected.add(id(node))
        diagnostics.append(_shape_diagnostic(err, node, path, source))
    return diagnostics, poisoned, rejected


def _walk(root: Node, path: Path) -> Node:
    node = root
    for step in path:
        if isinstance(node, MappingNode) and isinstance(step, str):
            node = node.items[step]
        elif isinstance(node, SequenceNode) and isinstance(step, int):
            node = node.items[step]
    return node


def _field_name(path: Path) -> str:
    names = [step for step in path if isinstance(step, str)]
    return names[-1] if names else "the document"


def _unknown_keys(node: Node, path: Path, subschema: dict[str, Any]) -> Iterable[Diagnostic]:
    if not isinstance(node, MappingNode):
        return
    known = subschema.get("properties", {})
    patterns = [re.compile(p) for p in subschema.get("patternProperties", {})]
    in_config = bool(path) and path[-1] == "config"
    for key in node.items:
        if key in known or any(p.search(key) for p in patterns):
            continue
        hint = did_you_mean(key, known)
        if in_config and key == "target_address" and len(path) >= 3 and path[-3] == "load_balancers":
            yield error(
                node.key_span(key),
                "E302",
                *WHOLE_IP_LOAD_BALANCING,
            )
        elif in_config and key in UNSUPPORTED_OPTIONS and not (len(path) >= 3 and path[-3] == "load_balancer_pools"):
            yield error(node.key_span(key), "E322", f'config key "{key}" is not supported: {UNSUPPORTED_OPTIONS[key]}')
        elif in_config:
            yield error(
                node.key_span(key),
                "E105",
                f'unknown config key "{key}"{hint}',
                "allowed: " + ", ".join(known) + (", user.*" if patterns else ""),
            )
        else:
            where = _singular(_field_name(path)) if path else "the document"
            yield error(
                node.key_span(key),
                "E102",
                f'unknown key "{key}" in {where}{hint}',
                "allowed: " + ", ".join(known),
            )


def _shape_diagnostic(err: Any, node: Node, path: Path, source: SourceText) -> Diagnostic:
    name = _field_name(path)
    instance = err.instance
    if err.validator == "required":
        missing = [key for key in err.validator_value if key not in (instance or {})]
        key = missing[0] if missing else "?"
        return error(node.span, "E103", f'{_singular(name)} needs the key "{key}"')
    if err.validator == "type":
        expected = err.validator_value
        words = (
            " or ".join(_TYPE_WORDS[t] for t in expected)
            if isinstance(expected, list)
            else _TYPE_WORDS.get(expected, expected)
        )
        hint: tuple[str, ...] = ()
        if expected == "string" and isinstance(instance, (int, bool)) and isinstance(node, ScalarNode):
            hint = ("YAML reads an unquoted number or yes/no as such: put the value in quotes",)
        return error(node.span, "E104", f'"{name}" must be {words}, not {_describe(instance)}', *hint)
    if err.validator == "enum" and name == "protocol":
        return error(
            node.span,
            "E204",
            f'unknown protocol "{instance}": expected tcp, udp or sctp',
        )
    if err.validator == "const" and name == "version":
        return error(
            node.span,
            "E104",
            f"unsupported format version {instance!r}: this ovn-lbc reads version 1",
        )
    if err.validator == "minItems":
        return error(node.span, "E104", f'"{name}" needs at least {err.validator_value} item')
    return error(node.span, "E104", f'"{name}": {err.message}')


def _singular(name: str) -> str:
    words = {
        "networks": "a network",
        "load_balancers": "a load balancer",
        "forwards": "a forward",
        "backends": "a backend",
        "ports": "a port entry",
        "switch_ports": "a switch port",
        "load_balancer_pools": "a pool",
        "instances": "a pool instance",
        "config": "config",
        "the document": "the document",
    }
    return words.get(name, f'"{name}"')
