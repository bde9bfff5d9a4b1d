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
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
import yaml.constructor
import yaml.nodes
import yaml.resolver

from ..diagnostics import Diagnostic, SourceText, Span, error

Scalar = str | int | float | bool | None

# The most digits int() converts (CPython's guard against quadratic-time
# conversions); a longer integer is kept as a LongInteger.
_MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300
_MAX_INT_BITS = int(_MAX_INT_DIGITS * 3.32)  # below 10**_MAX_INT_DIGITS
_NOT_DIGITS = re.compile(r"[^0-9]+")


class LongInteger(int):
    """An integer written with more digits than int() converts, kept as written.

    Its value stands in for the real one: of the same sign and beyond every
    bound a field has, so each field refuses it with its own code and
    message (a port E203, a health-check value E205, an option E209), and it
    prints as it was written instead of raising ValueError.
    """

    text: str

    def __new__(cls, text: str) -> LongInteger:
        sign = -1 if text.lstrip().startswith("-") else 1
        number = super().__new__(cls, sign * 10 ** (_MAX_INT_DIGITS + 1))
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


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
INT_TAG = "tag:yaml.org,2002:int"
BOOL_TAG = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"
_MERGE_TAG = "tag:yaml.org,2002:merge"
YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_resolver = yaml.resolver.Resolver()


class _SecondDocument(Exception):
    def __init__(self, span: Span) -> None:
        self.span = span


# Aliases may add this many nodes to a document, or ALIAS_NODES_PER_BYTE per
# byte of its file when that is more. A "billion laughs" of 503 bytes would
# otherwise be gigabytes once expanded: its aliases are counted at the size
# of what they repeat as the tree is built (a string one node per character
# too), and the document is refused (E106) before anything expands them. A
# document without aliases is never refused, whatever its size.
MIN_ALIAS_NODES = 1_000_000
ALIAS_NODES_PER_BYTE = 10


class BadScalar(Exception):
    def __init__(self, span: Span, message: str) -> None:
        self.span = span
        self.message = message


class _TooLarge(Exception):
    def __init__(self, span: Span, limit: int) -> None:
        self.span = span
        self.limit = limit


# Line ends libyaml counts that SourceText does not (NEL, LINE and PARAGRAPH
# SEPARATOR): where a file has one, spans are taken from character offsets.
_YAML_ONLY_BREAKS = re.compile("[\x85\u2028\u2029]")


def resolved_tag(event: yaml.ScalarEvent, known: dict[tuple[str, Any], str]) -> str:
    """The scalar's tag, resolved as PyYAML resolves it; ``known``: those of
    texts already seen (the resolver tries a regular expression per scalar,
    and a big file repeats its values)."""
    if event.tag is not None and event.tag != "!":
        return str(event.tag)
    key = (event.value, event.implicit)
    resolved = known.get(key)
    if resolved is None:
        found = _resolver.resolve(yaml.nodes.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        resolved = known[key] = str(found)
    return resolved


def construct_scalar(tag: str, text: str, span: Span) -> Scalar:
    """A boolean or an integer; one that does not convert (``!!int abc``) is a syntax error."""
    if tag == INT_TAG and len(text) > _MAX_INT_DIGITS and len(_NOT_DIGITS.sub("", text)) > _MAX_INT_DIGITS:
        # Not converted at all: int() refuses it, and 1:00:00:... (base 60)
        # of that length would take quadratic time.
        return LongInteger(text)
    node = yaml.nodes.ScalarNode(tag, text)
    try:
        if tag == BOOL_TAG:
            return bool(_constructor.construct_yaml_bool(node))
        number = int(_constructor.construct_yaml_int(node))
    except (ValueError, KeyError, IndexError):
        # Only an explicit tag (!!int abc) gets here; PyYAML cannot load it either.
        kind = "boolean" if tag == BOOL_TAG else "integer"
        raise BadScalar(span, f'YAML syntax error: "{text}" is not a YAML {kind}') from None
    # 0x... of thousands of digits converts, but would not print in decimal.
    return LongInteger(text) if number.bit_length() > _MAX_INT_BITS else number


class _YamlBuilder:
    """Builds located nodes straight from libyaml's event stream.

    Composing PyYAML's own node graph first and converting it afterwards
    holds two trees at once; from events there is only ours (a 7.5 MB file:
    5.7 s and 430 MB before, about a third of that now).
    """

    def __init__(self, source: SourceText, events: Iterator[yaml.Event]) -> None:
        self.source = source
        self.events = events
        # Each plain scalar's resolved tag, by its text: PyYAML's resolver tries
        # a regular expression per scalar, and a big file repeats its values.
        self.tags: dict[tuple[str, Any], str] = {}
        self.diagnostics: list[Diagnostic] = []
        # Each anchor's node and its size; None while the anchored node is being built.
        self.anchors: dict[str, tuple[Node, int] | None] = {}
        self.strings: dict[str, str] = {}  # one object per distinct string, as in the JSON parser
        # The document's size so far (nodes, and the characters of strings),
        # aliases at the size of what they repeat; and what aliases added.
        self.size = 0
        self.added_by_aliases = 0
        self.alias_limit = max(MIN_ALIAS_NODES, ALIAS_NODES_PER_BYTE * len(source.text))
        self.by_offset = _YAML_ONLY_BREAKS.search(source.text) is not None
        self.bom = 1 if source.text.startswith("\ufeff") else 0  # libyaml's offsets start after it

    def at(self, event: yaml.Event) -> Span:
        """Where ``event`` starts."""
        return self.span(event.start_mark)

    def span(self, mark: Any) -> Span:
        if self.by_offset:
            return self.source.span_at(mark.index + self.bom)
        return Span(self.source.name, mark.line + 1, mark.column + 1)

    def document(self) -> Node | None:
        root: Node | None = None
        for event in self.events:
            if isinstance(event, yaml.DocumentStartEvent):
                if root is not None:
                    raise _SecondDocument(self.at(event))
                root = self.node(next(self.events))
        return root

    def node(self, event: yaml.Event) -> Node:
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event)
        anchor = getattr(event, "anchor", None)
        size_before = self.size
        if anchor is not None:
            self.anchors[anchor] = None
        built: Node
        if isinstance(event, yaml.ScalarEvent):
            built = self.scalar(event)
        elif isinstance(event, yaml.SequenceStartEvent):
            self.size += 1
            built = SequenceNode([], self.at(event))
            for item in self.until(yaml.SequenceEndEvent):
                built.items.append(self.node(item))
        else:
            assert isinstance(event, yaml.MappingStartEvent)
            self.size += 1
            built = self.mapping(event)
        if anchor is not None:
            self.anchors[anchor] = (built, self.size - size_before)
        return built

    def until(self, end: type[yaml.Event]) -> Iterator[yaml.Event]:
        for event in self.events:
            if isinstance(event, end):
                return
            yield event

    def alias(self, event: yaml.AliasEvent) -> Node:
        span = self.at(event)
        if event.anchor not in self.anchors:
            self.diagnostics.append(error(span, "E100", f'the YAML alias "*{event.anchor}" has no anchor before it'))
            return ScalarNode(None, span)
        target = self.anchors[event.anchor]
        if target is None:
            # An alias inside its own anchor: the document would be infinite.
            self.diagnostics.append(error(span, "E100", "a YAML alias refers to itself"))
            return ScalarNode(None, span)
        node, size = target
        self.size += size
        self.added_by_aliases += size
        if self.added_by_aliases > self.alias_limit:
            raise _TooLarge(span, self.alias_limit)
        return node

    def tag(self, event: yaml.ScalarEvent) -> str:
        return resolved_tag(event, self.tags)

    def scalar(self, event: yaml.ScalarEvent) -> ScalarNode:
        span = self.at(event)
        text = event.value
        self.size += 1 + len(text)
        tag = self.tag(event)
        value: Scalar
        if tag == NULL_TAG:
            value = None
        elif tag in (BOOL_TAG, INT_TAG):
            value = construct_scalar(tag, text, span)
        else:
            # Strings, and floats or timestamps kept as written: every field
            # of this format is a string or an integer.
            value = self.strings.setdefault(text, text)
        quote = 1 if event.style in ("'", '"') else 0
        verbatim = event.style in (None, "'", '"') and self.verbatim(text, span, quote)
        raw = text if isinstance(value, int) and not isinstance(value, bool) else None
        return ScalarNode(value, span.shifted(quote) if verbatim else span, verbatim, raw)

    def verbatim(self, text: str, span: Span, quote: int) -> bool:
        """True when ``text`` stands as written in its line from ``span`` (after a quote).

        Compared in place: copying the line for each value made a long line
        (a one-line flow document) quadratic.
        """
        if not text:
            return True
        bounds = self.source.line_bounds(span.line)
        if bounds is None:
            return False
        start = bounds[0] + span.column - 1 + quote
        return start + len(text) <= bounds[1] and self.source.text.startswith(text, start)

    def mapping(self, event: yaml.MappingStartEvent) -> MappingNode:
        result = MappingNode({}, self.at(event))
        merged: list[MappingNode] = []
        for key_event in self.until(yaml.MappingEndEvent):
            key_span = self.at(key_event)
            if not isinstance(key_event, yaml.ScalarEvent):
                self.node(key_event)  # consume the complex key's events (and record its anchors)
                self.node(next(self.events))
                self.diagnostics.append(error(key_span, "E104", "a mapping key must be a string"))
                continue
            if key_event.anchor is not None:
                self.node(key_event)  # record the anchor (and count the key)
            else:
                self.size += 1 + len(key_event.value)
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
    builder = _YamlBuilder(source, iter(yaml.parse(source.text, Loader=YamlLoader)))
    try:
        root = builder.document()
    except _TooLarge as exc:
        return None, [
            error(
                exc.span,
                "E106",
                f"the document expands to more than {exc.limit:,} nodes through YAML aliases",
                "an alias counts as the nodes (and characters of strings) it repeats; aliases may add "
                f"{MIN_ALIAS_NODES:,}, or {ALIAS_NODES_PER_BYTE} per byte of the file if that is more",
            )
        ]
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
        span = builder.span(mark) if mark else Span(source.name, 1, 1)
        if context is not None and mark is not context:
            where = builder.span(context)
            notes.append(f"{exc.context} at line {where.line}, column {where.column}")
        return None, [error(span, "E100", f"YAML syntax error: {message}", *notes)]
    except yaml.YAMLError as exc:
        return None, [error(Span(source.name, 1, 1), "E100", f"YAML syntax error: {exc}")]
    except BadScalar as exc:
        return None, [error(exc.span, "E100", exc.message)]
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
            written = match.group()
            number: Scalar = written
            if not (match.group(1) or match.group(2)):
                number = int(written) if len(written) <= _MAX_INT_DIGITS else LongInteger(written)
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


# ---------------------------------------------------------------- the fast path
