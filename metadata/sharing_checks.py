"""Semantic checks of an entity's ``sharing`` that JSON Schema cannot make: a field rule
names a field of the entity that can equal a user attribute (and the attribute is a
safe name), a parent rule names a reference field.  Like ``semantic``, it inspects
only values of the right JSON type and leaves the rest to the schema layer."""

from __future__ import annotations

from typing import Mapping

from .errors import Problem, pointer
from .fieldtypes import show
from .identifiers import identifier_problem

# Types a field rule cannot compare with one attribute value.
UNSHAREABLE_TYPES = ("multi_choice", "json", "currency")


def sharing_problems(document, types: Mapping[str, str]) -> list[Problem]:
    """Problems of every entity's ``sharing.rules`` in a (possibly malformed) package."""
    if not isinstance(document, dict) or not isinstance(document.get("entities"), list):
        return []
    problems: list[Problem] = []
    for i, entity in enumerate(document["entities"]):
        if not isinstance(entity, dict) or not isinstance(entity.get("sharing"), dict):
            continue
        rules = entity["sharing"].get("rules")
        if not isinstance(rules, list):
            continue
        fields = entity.get("fields") if isinstance(entity.get("fields"), list) else []
        by_name = {f["name"]: f for f in fields if isinstance(f, dict) and isinstance(f.get("name"), str)}
        for k, rule in enumerate(rules):
            if isinstance(rule, dict):
                problems += _rule(rule, pointer("entities", i, "sharing", "rules", k), by_name, types)
    return problems


def _base(field: dict, types) -> str | None:
    kind = field.get("type")
    return types.get(kind) if isinstance(kind, str) else None


def _rule(rule: dict, path: str, by_name: dict, types) -> list[Problem]:
    if "parent" in rule:
        if "field" in rule or "user" in rule:
            return [Problem(path, "bad_rule", "a rule is either a parent rule {parent, access} "
                                              "or a field rule {field, user, access}, not both")]
        return _parent(rule["parent"], f"{path}/parent", by_name, types)
    missing = [key for key in ("field", "user") if key not in rule]
    if missing:
        return [Problem(f"{path}/{key}", "schema", f"{show(key)} is required in a field rule "
                                                   f"(or give 'parent' for a parent rule)") for key in missing]
    problems = []
    name = rule["field"]
    if isinstance(name, str):
        field = by_name.get(name)
        if field is None:
            problems.append(Problem(f"{path}/field", "unknown_field",
                                    f"{show(name)} is not a field of this entity; fields: "
                                    f"{', '.join(by_name) or 'none'}"))
        elif _base(field, types) in UNSHAREABLE_TYPES:
            problems.append(Problem(f"{path}/field", "bad_rule",
                                    f"a sharing rule cannot compare a {_base(field, types)} field "
                                    f"({show(name)}) with a user attribute"))
    if isinstance(rule["user"], str):
        message = identifier_problem(rule["user"], "attribute")
        if message:
            problems.append(Problem(f"{path}/user", "unsafe_identifier", message))
    return problems


def _parent(name, path: str, by_name: dict, types) -> list[Problem]:
    if not isinstance(name, str):
        return []
    field = by_name.get(name)
    if field is None or _base(field, types) != "reference":
        refs = [n for n, f in by_name.items() if _base(f, types) == "reference"]
        return [Problem(path, "bad_rule", f"{show(name)} is not a reference field of this entity; "
                                          f"reference fields: {', '.join(refs) or 'none'}")]
    return []
