"""The YAML/JSON front end: located tree -> schema check -> model.

Three passes over one file, each reporting everything it finds:
1. syntax (``tree``), 2. shape against the published JSON Schema, 3. values
(addresses, ports, config) while the model is built. An object with a shape
or value error is left out of the model, so the checks that follow never see
half-built objects and never report consequences of an error twice.

This module is the entry point, :func:`load_document`; the passes are
``tree`` (1), ``document_shape`` (2) and ``document_builder`` (3). It
re-exports the names other code imports from here (``bench/run.py`` times
the passes one by one).
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, SourceText, Span
from ..ir import Document
from .document_builder import HEALTH_CHECK_KEYS, ModelBuilder
from .document_shape import is_valid_shape, schema, validate_shape
from .plain import NotPlain, load_plain_json, load_plain_yaml, plain_nodes
from .tree import MappingNode, Node, parse_json, parse_yaml

__all__ = [
    "HEALTH_CHECK_KEYS",
    "ModelBuilder",
    "NotPlain",
    "load_document",
    "load_document_fast",
    "parse_tree",
    "schema",
    "validate_shape",
]


def parse_tree(source: SourceText, input_format: str) -> tuple[Node | None, list[Diagnostic]]:
    return parse_json(source) if input_format == "json" else parse_yaml(source)


def load_document(source: SourceText, input_format: str) -> tuple[Document, list[Diagnostic]]:
    """Parse, validate and build one YAML or JSON file."""
    root, diagnostics = parse_tree(source, input_format)
    if root is None:
        return Document(), diagnostics
    shape_errors, poisoned, rejected = validate_shape(root, source)
    diagnostics.extend(shape_errors)
    if not isinstance(root, MappingNode):
        return Document(), diagnostics
    builder = ModelBuilder(root, poisoned, rejected)
    document = builder.document()
    return document, diagnostics + builder.diagnostics


def load_document_fast(source: SourceText, input_format: str = "json") -> Document:
    """A JSON or YAML file's model without locations, for a file with nothing to report.

    The file as plain data (JSON: json.loads, in C; YAML: libyaml's events
    read by the located path's rules, without a mark), the compiled shape
    check on it, then nodes that all carry one placeholder span, and
    ModelBuilder unchanged. Raises NotPlain as soon as the file has
    anything to report (a syntax or shape error, or any diagnostic of the
    builder): the caller then reads the whole run again on the located path,
    which reports it exactly as always. A model from here has no usable
    spans: only a run that prints none may use it (compiler.compilation).
    """
    placeholder = Span(source.name, 0, 0)
    plain = load_plain_json(source.text) if input_format == "json" else load_plain_yaml(source.text)
    if not isinstance(plain, dict) or not is_valid_shape(plain):
        raise NotPlain("the shape check has errors to report")
    root = plain_nodes(plain, placeholder)
    del plain  # one tree alive while the model is built
    assert isinstance(root, MappingNode)
    builder = ModelBuilder(root, set(), set(), placeholder=placeholder)
    document = builder.document()
    if builder.diagnostics:
        raise NotPlain("the model builder has diagnostics to report")
    return document
