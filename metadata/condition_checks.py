"""Semantic checks of the conditions on fields (``visible_if``, ``required_if``).

Each is a condition of the one condition language (``metadata.conditions``) over the
same record's fields, checked by ``check_condition`` with its JSON path. Beyond that:
a field that is always ``required`` cannot also be hidden by ``visible_if`` (a value
nobody can see could never be given), and ``visible_if`` may not depend on the field
itself (it would vanish as soon as it is emptied). Like the other semantic checks it
inspects only values of the right JSON type, so it never raises on any JSON.
"""

from __future__ import annotations

from typing import Mapping

from .conditions import COMBINATORS, MAX_DEPTH, check_condition
from .errors import Problem, pointer
from .fieldtypes import show
from .workflow_checks import typed_entities

FIELD_CONDITIONS = ("visible_if", "required_if")


def field_condition_problems(document, types: Mapping[str, str]) -> list[Problem]:
    """Every problem of the fields' conditions in a (possibly malformed) package document."""
    if not isinstance(document, dict) or not isinstance(document.get("entities"), list):
        return []
    entities = typed_entities(document["entities"], types)
    problems: list[Problem] = []
    for i, doc in enumerate(document["entities"]):
        if not isinstance(doc, dict) or not isinstance(doc.get("fields"), list):
            continue
        entity = entities.get(doc.get("name")) if isinstance(doc.get("name"), str) else None
        for j, field in enumerate(doc["fields"]):
            if isinstance(field, dict):
                problems += _field(field, pointer("entities", i, "fields", j), entity)
    return problems


def _field(field: dict, path: str, entity) -> list[Problem]:
    problems: list[Problem] = []
    for key in FIELD_CONDITIONS:
        if isinstance(field.get(key), dict):  # other JSON is the schema's to report
            problems += check_condition(field[key], entity, f"{path}/{key}")
    visible_if = field.get("visible_if")
    if not isinstance(visible_if, dict):
        return problems
    if field.get("required") is True:
        problems.append(Problem(f"{path}/visible_if", "contradictory",
                                "a field with required: true is needed on every record, so visible_if cannot "
                                "hide it; use required_if for a field needed only when a condition holds"))
    name = field.get("name")
    problems += [Problem(f"{where}/field", "self_reference",
                         f"visible_if of {show(name)} depends on {show(name)} itself; a field's visibility "
                         f"must depend on other fields")
                 for where, leaf_field in leaves(visible_if, f"{path}/visible_if") if leaf_field == name]
    return problems


def leaves(condition, path: str = "", depth: int = 0) -> list[tuple[str, object]]:
    """``(path, field)`` of every leaf of a condition of any shape (malformed parts skipped)."""
    if not isinstance(condition, dict) or depth >= MAX_DEPTH:
        return []
    key = next((k for k in COMBINATORS if k in condition), None)
    if key is None:
        return [(path, condition.get("field"))]
    inner = condition[key]
    if key == "not":
        return leaves(inner, f"{path}/not", depth + 1)
    if not isinstance(inner, list):
        return []
    return [leaf for k, item in enumerate(inner) for leaf in leaves(item, f"{path}/{key}/{k}", depth + 1)]
