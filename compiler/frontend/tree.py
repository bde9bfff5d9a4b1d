"""A located document tree: YAML and JSON both parse to these nodes.

Every node keeps the span of its first character, mapping keys keep their own
span, so that a diagnostic about any value can point at the exact line and
column. YAML goes through PyYAML's composer (libyaml when available); JSON has
its own small parser because the json module reports no positions.
"""

from __future__ import annotations

import json
import json.decoder
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
import yaml.constructor
import yaml.nodes
import yaml.resolver

from ..diagnostics import Diagnostic, SourceText, Span, error

Scalar = str | int | float | bool | None


@dataclass(slots=True)
class ScalarNode:
    """A string, number, boolean or null, as the document typed it."""

    value: Scalar
    span: Span
    # True when the value's characters stand verbatim in the source line from
    # span onwards, so a position inside the value can be pointed at.
    verbatim: bool = False
    # The text as written, for a YAML integer (`017` stays "017" where a
    # string is expected, as Incus keeps it).
    raw: str | None = None

    def span_of_offset(self, offset: int) -> Span:
        """The span of character ``offset`` of the value, or the value's span."""
        return self.span.shifted(offset) if self.verbatim else self.span


@dataclass(slots=True)
class MappingNode:
    """A mapping with string keys, in document order."""

    items: dict[str, Node]
    span: Span
    key_spans: dict[str, Span] = field(default_factory=dict)

    def key_span(self, key: str) -> Span:
        return self.key_spans.get(key, self.span)

    def add(self, key: str, key_span: Span, value: Node) -> Diagnostic | None:
        """Add an item; a key already present is kept and reported (E101)."""
        if key in self.items:
            first = self.key_spans[key]
            return error(key_span, "E101", f'duplicate key "{key}" (first defined on line {first.line})')
        self.items[key] = value
        self.key_spans[key] = key_span
        return None


@dataclass(slots=True)
class SequenceNode:
    items: list[Node]
    span: Span


Node = ScalarNode | MappingNode | SequenceNode
Path = tuple[str | int, ...]


def to_plain(node: Node) -> Any:
    """The document as plain Python data, for JSON-Schema validation."""
    if isinstance(node, ScalarNode):
        return node.value
    if isinstance(node, MappingNode):
        return {key: to_plain(value) for key, value in node.items.items()}
    return [to_plain(item) for item in node.items]


# ---------------------------------------------------------------- YAML

_constructor = yaml.constructor.SafeConstructor()
_INT_TAG = "tag:yaml.org,2002:int"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_resolver = yaml.resolver.Resolver()


class _SecondDocument(Exception):
    def __init__(self, span: Span) -> None:
        self.span = span


class _YamlBuilder:
    """Builds located nodes straight from libyaml's event stream.

    Composing PyYAML's own node graph first and converting it afterwards
    holds two trees at once; from events there is only ours (a 7.5 MB file:
    5.7 s and 430 MB before, about a third of that now).
    """

    def __init__(self, source: SourceText, events: Iterator[yaml.Event]) -> None:
        self.source = source
        self.events = events
        self.diagnostics: list[Diagnostic] = []
        self.anchors: dict[str, Node | None] = {}  # None while the anchored node is being built
        self.strings: dict[str, str] = {}  # one object per distinct string, as in the JSON parser

    def span(self, mark: Any) -> Span:
        return Span(self.source.name, mark.line + 1, mark.column + 1)

    def document(self) -> Node | None:
        root: Node | None = None
        for event in self.events:
            if isinstance(event, yaml.DocumentStartEvent):
                if root is not None:
                    raise _SecondDocument(self.span(event.start_mark))
                root = self.node(next(self.events))
        return root

    def node(self, event: yaml.Event) -> Node:
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.anchors[anchor] = None
        built: Node
        if isinstance(event, yaml.ScalarEvent):
            built = self.scalar(event)
        elif isinstance(event, yaml.SequenceStartEvent):
            built = SequenceNode([], self.span(event.start_mark))
            for item in self.until(yaml.SequenceEndEvent):
                built.items.append(self.node(item))
        else:
            assert isinstance(event, yaml.MappingStartEvent)
            built = self.mapping(event)
        if anchor is not None:
            self.anchors[anchor] = built
        return built

    def until(self, end: type[yaml.Event]) -> Iterator[yaml.Event]:
        for event in self.events:
            if isinstance(event, end):
                return
            yield event

    def alias(self, event: yaml.AliasEvent) -> Node:
        span = self.span(event.start_mark)
        if event.anchor not in self.anchors:
            self.diagnostics.append(error(span, "E100", f'the YAML alias "*{event.anchor}" has no anchor before it'))
            return ScalarNode(None, span)
        target = self.anchors[event.anchor]
        if target is None:
            # An alias inside its own anchor: the document would be infinite.
            self.diagnostics.append(error(span, "E100", "a YAML alias refers to itself"))
            return ScalarNode(None, span)
        return target

    def tag(self, event: yaml.ScalarEvent) -> str:
        if event.tag is not None and event.tag != "!":
            return str(event.tag)
        resolved = _resolver.resolve(yaml.nodes.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        return str(resolved)

    def scalar(self, event: yaml.ScalarEvent) -> ScalarNode:
        span = self.span(event.start_mark)
        tag = self.tag(event)
        value: Scalar
        if tag == _NULL_TAG:
            value = None
        elif tag in (_BOOL_TAG, _INT_TAG):
            node = yaml.nodes.ScalarNode(tag, event.value)
            value = (
                _constructor.construct_yaml_bool(node) if tag == _BOOL_TAG else _constructor.construct_yaml_int(node)
            )
        else:
            # Strings, and floats or timestamps kept as written: every field
            # of this format is a string or an integer.
            value = self.strings.setdefault(event.value, event.value)
        text = event.value
        quote = 1 if event.style in ("'", '"') else 0
        line = self.source.line(span.line) or ""
        start = span.column - 1 + quote
        verbatim = event.style in (None, "'", '"') and line[start : start + len(text)] == text
        raw = text if isinstance(value, int) and not isinstance(value, bool) else None
        return ScalarNode(value, span.shifted(quote) if verbatim else span, verbatim, raw)

    def mapping(self, event: yaml.MappingStartEvent) -> MappingNode:
        result = MappingNode({}, self.span(event.start_mark))
        merged: list[MappingNode] = []
        for key_event in self.until(yaml.MappingEndEvent):
            key_span = self.span(key_event.start_mark)
            if not isinstance(key_event, yaml.ScalarEvent):
                self.node(key_event)  # consume the complex key's events (and record its anchors)
                self.node(next(self.events))
                self.diagnostics.append(error(key_span, "E104", "a mapping key must be a string"))
                continue
            if key_event.anchor is not None:
                self.node(key_event)  # record the anchor
            value_node = self.node(next(self.events))
            # Only a plain "<<" or an explicitly tagged key can be a merge key;
            # resolving every key's tag would cost a regex match per key.
            if (key_event.value == "<<" or key_event.tag is not None) and self.tag(key_event) == _MERGE_TAG:
                merged.extend(self.merge_sources(value_node, key_span))
                continue
            # Keys are compared as written: `yes:` is the key "yes", not true.
            key = self.strings.setdefault(key_event.value, key_event.value)
            problem = result.add(key, key_span, value_node)
            if problem is not None:
                self.diagnostics.append(problem)
        # `<<: *defaults`: keys written in the mapping win over merged ones,
        # earlier merge sources over later ones (YAML's merge-key rules).
        for source in merged:
            for key, value in source.items.items():
                if key not in result.items:
                    result.items[key] = value
                    result.key_spans[key] = source.key_span(key)
        return result

    def merge_sources(self, value: Node, span: Span) -> list[MappingNode]:
        candidates = value.items if isinstance(value, SequenceNode) else [value]
        sources = []
        for candidate in candidates:
            if isinstance(candidate, MappingNode):
                sources.append(candidate)
            else:
                self.diagnostics.append(error(span, "E104", "a merge key (<<) needs a mapping or a list of mappings"))
        return sources


def parse_yaml(source: SourceText) -> tuple[Node | None, list[Diagnostic]]:
    builder = _YamlBuilder(source, iter(yaml.parse(source.text, Loader=_Loader)))
    try:
        root = builder.document()
    except yaml.MarkedYAMLError as exc:
        problem, context = exc.problem_mark, exc.context_mark
        message = exc.problem or exc.context or "unreadable YAML"
        notes = []
        if context is not None and problem is not None and "end of stream" in (exc.problem or ""):
            # An unclosed quote or bracket: its opening is what needs fixing.
            problem, context = context, None
            message = f"{exc.context}, {exc.problem}"
            notes.append("it is never closed before the end of the file")
        mark = problem or context
        span = Span(source.name, mark.line + 1, mark.column + 1) if mark else Span(source.name, 1, 1)
        if context is not None and mark is not context:
            notes.append(f"{exc.context} at line {context.line + 1}, column {context.column + 1}")
        return None, [error(span, "E100", f"YAML syntax error: {message}", *notes)]
    except yaml.YAMLError as exc:
        return None, [error(Span(source.name, 1, 1), "E100", f"YAML syntax error: {exc}")]
    except _SecondDocument as exc:
        return None, [error(exc.span, "E100", "YAML syntax error: expected a single document, but found another")]
    except RecursionError:
        return None, [error(Span(source.name, 1, 1), "E100", "YAML syntax error: nesting too deep")]
    if root is None:
        return None, [error(Span(source.name, 1, 1), "E100", "the document is empty")]
    return root, builder.diagnostics


# ---------------------------------------------------------------- JSON

# The json module's string scanner (C-accelerated), which typeshed omits.
_scanstring: Callable[[str, int, bool], tuple[str, int]] = vars(json.decoder)["scanstring"]
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS: dict[str, Scalar] = {"true": True, "false": False, "null": None}


class _JsonSyntaxError(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


class _JsonParser:
    def __init__(self, source: SourceText) -> None:
        self.source = source
        self.text = source.text
        self.diagnostics: list[Diagnostic] = []
        # One object per distinct string: a big document repeats its keys,
        # ports and addresses thousands of times.
        self.strings: dict[str, str] = {}

    def skip(self, offset: int) -> int:
        match = _WHITESPACE.match(self.text, offset)
        return match.end() if match else offset

    def value(self, offset: int) -> tuple[Node, int]:
        text = self.text
        char = text[offset : offset + 1]
        span = self.source.span_at(offset)
        if char == "{":
            return self.mapping(offset, span)
        if char == "[":
            return self.sequence(offset, span)
        if char == '"':
            string, end = self.string(offset)
            string = self.strings.setdefault(string, string)
            verbatim = text[offset + 1 : end - 1] == string
            return ScalarNode(string, span.shifted(1) if verbatim else span, verbatim), end
        for word, literal in _LITERALS.items():
            if text.startswith(word, offset):
                return ScalarNode(literal, span), offset + len(word)
        match = _NUMBER.match(text, offset)
        if match and match.end() > offset:
            number: Scalar = int(match.group()) if not (match.group(1) or match.group(2)) else match.group()
            return ScalarNode(number, span), match.end()
        found = "the end of the file" if not char else f"'{char}'"
        raise _JsonSyntaxError(offset, f"expected a JSON value, found {found}")

    def string(self, offset: int) -> tuple[str, int]:
        try:
            return _scanstring(self.text, offset + 1, True)
        except json.JSONDecodeError as exc:
            raise _JsonSyntaxError(exc.pos, exc.msg.lower()) from None

    def expect(self, offset: int, chars: str, what: str) -> int:
        offset = self.skip(offset)
        char = self.text[offset : offset + 1]
        if not char or char not in chars:
            found = "the end of the file" if not char else f"'{char}'"
            raise _JsonSyntaxError(offset, f"expected {what}, found {found}")
        return offset

    def mapping(self, offset: int, span: Span) -> tuple[Node, int]:
        node = MappingNode({}, span)
        offset = self.skip(offset + 1)
        if self.text.startswith("}", offset):
            return node, offset + 1
        while True:
            offset = self.expect(offset, '"', "a quoted key")
            key_span = self.source.span_at(offset)
            key, offset = self.string(offset)
            key = self.strings.setdefault(key, key)
            offset = self.expect(offset, ":", "':' after the key")
            value, offset = self.value(self.skip(offset + 1))
            problem = node.add(key, key_span, value)
            if problem is not None:
                self.diagnostics.append(problem)
            offset = self.expect(offset, ",}", "',' or '}'")
            if self.text[offset] == "}":
                return node, offset + 1
            offset = self.skip(offset + 1)

    def sequence(self, offset: int, span: Span) -> tuple[Node, int]:
        node = SequenceNode([], span)
        offset = self.skip(offset + 1)
        if self.text.startswith("]", offset):
            return node, offset + 1
        while True:
            item, offset = self.value(self.skip(offset))
            node.items.append(item)
            offset = self.expect(offset, ",]", "',' or ']'")
            if self.text[offset] == "]":
                return node, offset + 1
            offset += 1


def parse_json(source: SourceText) -> tuple[Node | None, list[Diagnostic]]:
    parser = _JsonParser(source)
    try:
        root, end = parser.value(parser.skip(0))
        end = parser.skip(end)
        if end != len(source.text):
            raise _JsonSyntaxError(end, "unexpected text after the JSON document")
    except _JsonSyntaxError as exc:
        span = source.span_at(exc.offset)
        return None, [error(span, "E100", f"JSON syntax error: {exc.message}")]
    except RecursionError:
        return None, [error(Span(source.name, 1, 1), "E100", "JSON syntax error: nesting too deep")]
    return root, parser.diagnostics
