"""The bulk path's compiled schema check agrees with jsonschema on every document."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.frontend.document import schema
from compiler.frontend.fastshape import compile_schema

from .conftest import sample_paths

FAST = compile_schema(schema())
REFERENCE = jsonschema.validators.validator_for(schema())(schema())
SAMPLES = [json.loads(p.read_text()) if p.suffix == ".json" else yaml.safe_load(p.read_text()) for p in sample_paths()]
REPLACEMENTS = [None, True, False, 0, 1, -3, 2.5, "", "x", "tcp", "sctp", "user.x", [], ["a"], {}, {"name": "n"}]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    document = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(document)))
        if not path:
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        kind = draw(st.sampled_from(["replace", "delete", "add-key"]))
        if kind == "replace":
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(REPLACEMENTS)))
        elif kind == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            key = draw(st.sampled_from(["user.extra", "healthcheck", "extra", "target_address", "name"]))
            parent[key] = copy.deepcopy(draw(st.sampled_from(REPLACEMENTS)))
    return document


@pytest.mark.parametrize("document", SAMPLES)
def test_every_sample_is_valid_to_both(document: Any) -> None:
    assert FAST(document) and REFERENCE.is_valid(document)


@settings(max_examples=1500, deadline=None)
@given(mutated_documents())
def test_compiled_check_agrees_with_jsonschema(document: Any) -> None:
    assert FAST(document) == REFERENCE.is_valid(document)


def test_a_keyword_it_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="maxLength"):
        compile_schema({"type": "string", "maxLength": 3})


def test_json_equality_keeps_true_apart_from_one() -> None:
    check = compile_schema({"properties": {"version": {"const": 1}}})
    assert check({"version": 1}) and not check({"version": True}) and not check({"version": 1.5})
