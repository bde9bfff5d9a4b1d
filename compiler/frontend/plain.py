"""The fast path's readers: a file as plain data, and plain data as nodes.

For a file with no diagnostic to print (compiler.compilation), the located
parsers of compiler.frontend.tree cost more than the model they feed: every
value's line and column, and a node per value. Here JSON is read by the json
module (C) and YAML from libyaml's events without a mark, into dicts, lists
and scalars that the compiled shape check takes as they are; then nodes that
all carry one placeholder span, for ModelBuilder unchanged. Whatever these
readers cannot read exactly as the located ones do raises NotPlain, and the
located path reads the file again (and reports what there is to report).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import yaml

from ..diagnostics import Span
from .tree import (
    BOOL_TAG,
    INT_TAG,
    NULL_TAG,
    BadScalar,
    LongInteger,
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    YamlLoader,
    construct_scalar,
    resolved_tag,
)


class NotPlain(Exception):
    """The fast path declines a file; the located path reads it (and reports why)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise NotPlain("a duplicate key (E101)")
    return mapping


def _no_constant(word: str) -> Any:
    raise NotPlain(f"{word} is not JSON")


def load_plain_json(text: str) -> Any:
    """The document as plain data, parsed by the json module's C scanner.

    It reads what ``parse_json`` reads, and reads it alike: a number with a
    fraction or an exponent stays the text written, an integer is an int.
    What only the located parser reports (a duplicate key, NaN, a syntax
    error, an integer of too many digits, nesting too deep) raises NotPlain
    or the json module's own error, and the caller takes the located path.
    """
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_float=str, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, int() of too many digits
        raise NotPlain(str(exc)) from None


def plain_nodes(data: Any, span: Span) -> Node:
    """Plain data (from ``load_plain_json`` or ``load_plain_yaml``) as nodes that all carry ``span``.

    For a file with no diagnostic to print: ModelBuilder reads these nodes as
    it reads located ones, so the model is the same; only the spans, which
    take no part in the model's equality, are the placeholder. Any other type
    than JSON's raises NotPlain.
    """
    strings: dict[str, str] = {}
    shared = strings.setdefault
    # One node per distinct string: all carry the same span, and nothing
    # changes a node once built (at 10,000 load balancers, 286,000 string
    # values are 60,000 distinct texts).
    scalars: dict[str, ScalarNode] = {}

    def node(value: Any) -> Node:
        if isinstance(value, str):
            scalar = scalars.get(value)
            if scalar is None:
                scalar = scalars[value] = ScalarNode(value, span)
            return scalar
        if isinstance(value, dict):
            return MappingNode({shared(key, key): node(item) for key, item in value.items()}, span)
        if isinstance(value, list):
            return SequenceNode([node(item) for item in value], span)
        if value is None or isinstance(value, int):  # bool is an int
            return ScalarNode(value, span)
        raise NotPlain(f"a value of type {type(value).__name__}")

    return node(data)


def load_plain_yaml(text: str) -> Any:
    """The YAML document as plain data, for a file with no diagnostic to
    print (the fast path): libyaml's events, one C call each, read by
    parse_yaml's rules into dicts, lists and scalars, without a mark, a node
    or a span. Plain data holds less than nodes, so what needs more (an
    alias, a merge or tagged key, an integer not written as Python prints it,
    whose text a string field keeps) raises NotPlain, as does all that
    parse_yaml reports: the located path then reads the file."""
    loader = YamlLoader(text)
    events: Iterator[yaml.Event] = iter(loader.get_event, None)  # None after the stream's end
    tags: dict[tuple[str, Any], str] = {}
    strings: dict[str, str] = {}  # one object per distinct string, as parse_yaml keeps them
    shared = strings.setdefault
    nowhere = Span("", 0, 0)

    def value(event: Any) -> Any:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            tag = resolved_tag(event, tags)
            if tag == NULL_TAG:
                return None
            if tag not in (BOOL_TAG, INT_TAG):
                return shared(event.value, event.value)
            number = construct_scalar(tag, event.value, nowhere)
            if type(number) is int and str(number) != event.value:
                raise NotPlain("an integer whose text a string field would keep")
            if isinstance(number, LongInteger):
                raise NotPlain("an integer of too many digits")
            return number
        if kind is yaml.MappingStartEvent:
            mapping: dict[str, Any] = {}
            for key in events:
                if type(key) is yaml.MappingEndEvent:
                    return mapping
                if type(key) is not yaml.ScalarEvent or key.tag is not None or key.value == "<<":
                    raise NotPlain("a key that is not a plain string")
                if key.value in mapping:
                    raise NotPlain("a duplicate key (E101)")
                mapping[shared(key.value, key.value)] = value(next(events))
        if kind is yaml.SequenceStartEvent:
            items: list[Any] = []
            for item in events:
                if type(item) is yaml.SequenceEndEvent:
                    return items
                items.append(value(item))
        raise NotPlain(f"a YAML {kind.__name__}")

    try:
        found = [value(event) for event in events if type(event) not in _STREAM_EVENTS]
    except (yaml.YAMLError, BadScalar, RecursionError) as exc:
        raise NotPlain(f"the YAML reader has an error to report ({type(exc).__name__})") from None
    finally:
        loader.dispose()
    if len(found) != 1:
        raise NotPlain("not exactly one document")
    return found[0]


_STREAM_EVENTS = (yaml.StreamStartEvent, yaml.DocumentStartEvent, yaml.DocumentEndEvent, yaml.StreamEndEvent)
