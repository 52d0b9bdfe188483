"""The schema check of a package goes item by item (entities, workflows, layouts), each
item's problems kept by its JSON; it finds exactly what one validation of the whole
document finds, with the same paths and words — shown on documents mutated at random."""
from __future__ import annotations

import copy
import json

from hypothesis import given, settings, strategies as st

from metadata import example_path
from metadata.validation import _translate, package_validator, schema_problems
from engine.packs.catalog import catalog
from engine.plugins import Plugins

SEEDS = []
with open(example_path("crm_minimal"), encoding="utf-8") as handle:
    SEEDS.append(json.load(handle))
SEEDS.append({k: v for k, v in catalog(Plugins())["retail_loyalty"].document().items() if k in
              ("entities", "workflows", "layouts", "rulesets", "templates")})
REPLACEMENTS = [None, 0, -3, 1.5, "", "x", "Bad Name", [], [1], {}, True, {"bogus": 1}, {"name": 7}]


def whole(document) -> list:
    return sorted((p.path, p.code, p.message) for e in package_validator().iter_errors(document) for p in _translate(e))


def by_items(document) -> list:
    return sorted((p.path, p.code, p.message) for p in schema_problems(document))


def paths(node, at=()):
    yield at
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, at + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, at + (index,))


@st.composite
def mutated(draw):
    document = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    every = [p for p in paths(document) if p]
    for _ in range(draw(st.integers(1, 4))):
        at, remove, value = (draw(st.sampled_from(every)), draw(st.booleans()),
                             draw(st.sampled_from(REPLACEMENTS)))
        parent = document
        for step in at[:-1]:
            found = isinstance(parent, dict) and step in parent or isinstance(parent, list) \
                and isinstance(step, int) and step < len(parent)
            parent = parent[step] if found else None
            if parent is None:
                break
        last = at[-1]
        if isinstance(parent, dict) and last in parent and remove:
            del parent[last]
        elif isinstance(parent, dict) or (isinstance(parent, list) and isinstance(last, int) and last < len(parent)):
            parent[last] = value
    return document


@settings(max_examples=150, deadline=None)
@given(document=mutated())
def test_item_by_item_finds_what_the_whole_document_check_finds(document):
    assert by_items(document) == whole(document)


def test_a_second_check_of_an_unchanged_item_uses_what_the_first_found():
    document = copy.deepcopy(SEEDS[1])
    document["entities"][0]["fields"][0]["type"] = 7
    first = by_items(document)
    assert first and first == by_items(copy.deepcopy(document)) == whole(document)


def test_documents_that_are_not_objects_are_checked_whole():
    for document in (None, [], "entities", 3):
        assert by_items(document) == whole(document)
