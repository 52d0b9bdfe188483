"""Semantic checks of an entity's ``sharing`` that JSON Schema cannot make: a field rule
names a field of the entity that can equal a user attribute (and the attribute is a
safe name), a parent rule names a reference field, a referrer rule names a reference
field of another entity that points at this one.  Like ``semantic``, it inspects
only values of the right JSON type and leaves the rest to the schema layer."""

from __future__ import annotations

from typing import Mapping

from .errors import Problem, pointer
from .fields_of import fields_by_name
from .fieldtypes import show
from .identifiers import identifier_problem

# Types a field rule cannot compare with one attribute value.
UNSHAREABLE_TYPES = ("multi_choice", "json", "currency")


def sharing_problems(document, types: Mapping[str, str]) -> list[Problem]:
    """Problems of every entity's ``sharing.rules`` in a (possibly malformed) package."""
    if not isinstance(document, dict) or not isinstance(document.get("entities"), list):
        return []
    problems: list[Problem] = []
    entities = {e["name"]: fields_by_name(e) for e in document["entities"]
                if isinstance(e, dict) and isinstance(e.get("name"), str)}
    for i, entity in enumerate(document["entities"]):
        if not isinstance(entity, dict) or not isinstance(entity.get("sharing"), dict):
            continue
        rules = entity["sharing"].get("rules")
        if not isinstance(rules, list):
            continue
        for k, rule in enumerate(rules):
            if not isinstance(rule, dict):
                continue
            path = pointer("entities", i, "sharing", "rules", k)
            if "referenced_by" in rule:
                problems += _referrer(rule, path, entity.get("name"), entities, types)
            else:
                problems += _rule(rule, path, fields_by_name(entity), types)
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


def _referrer(rule: dict, path: str, name, entities: dict, types) -> list[Problem]:
    """``{"referenced_by": "E.F"}``: F is a reference field of entity E pointing at this entity."""
    if any(key in rule for key in ("parent", "field", "user")):
        return [Problem(path, "bad_rule", "a referrer rule is {referenced_by, access} alone, "
                                          "not mixed with a parent or a field rule")]
    given = rule["referenced_by"]
    if not isinstance(given, str):
        return []
    candidates = [f"{e}.{f}" for e, fields in entities.items() for f, field in fields.items()
                  if _base(field, types) == "reference" and field.get("to") == name]
    entity_name, _, field_name = given.partition(".")
    field = entities.get(entity_name, {}).get(field_name)
    if field is None or _base(field, types) != "reference" or field.get("to") != name:
        return [Problem(f"{path}/referenced_by", "bad_rule",
                        f"{show(given)} is not 'entity.field' naming a reference to {show(name)}; "
                        f"references to it: {', '.join(candidates) or 'none'}")]
    return []


def _parent(name, path: str, by_name: dict, types) -> list[Problem]:
    if not isinstance(name, str):
        return []
    field = by_name.get(name)
    if field is None or _base(field, types) != "reference":
        refs = [n for n, f in by_name.items() if _base(f, types) == "reference"]
        return [Problem(path, "bad_rule", f"{show(name)} is not a reference field of this entity; "
                                          f"reference fields: {', '.join(refs) or 'none'}")]
    return []
