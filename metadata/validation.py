"""Validate a metadata package document: JSON Schema first, then semantic checks.

All problems are collected in one pass so a tenant admin can fix everything at
once.  jsonschema is imported on first use to keep ``import metadata`` cheap.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from typing import Mapping

from .condition_checks import field_condition_problems
from .errors import MetadataInvalid, Problem, pointer, tidy
from .fieldtypes import known_types, show
from .layout_checks import layout_problems
from .model import Package
from .resources import cached_schema
from .role_checks import role_problems
from .semantic import semantic_problems
from .text_checks import unstorable_problems
from .sharing_checks import sharing_problems
from .duplicate_checks import duplicate_rule_problems
from .natural_key_checks import natural_key_problems
from .privacy_checks import privacy_problems
from .workflow_checks import workflow_problems

_TYPE_WORDS = {
    "object": "an object", "array": "a list", "string": "text", "integer": "a whole number",
    "number": "a number", "boolean": "true or false", "null": "null",
}


# The lists whose items are checked one by one against their own schema, each item's
# problems kept by its JSON: a designer's edit changes one item of a large document, and
# the others are not checked again.
ITEM_SCHEMAS = {"entities": "entity", "workflows": "workflow", "layouts": "layout", "roles": "role",
                "permission_sets": "role"}


@lru_cache(maxsize=1)
def _registry():
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    schemas = [cached_schema(name) for name in ("entity", "workflow", "layout", "role", "package")]
    return Registry().with_resources((s["$id"], DRAFT202012.create_resource(s)) for s in schemas)


@lru_cache(maxsize=1)
def package_validator():
    """A Draft 2020-12 validator for packages; ``$ref``s resolve locally, never over the network."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(cached_schema("package"), registry=_registry())


@lru_cache(maxsize=1)
def _outline_validator():
    """The package schema without descending into the items of ITEM_SCHEMAS' lists."""
    from jsonschema import Draft202012Validator

    schema = copy.deepcopy(cached_schema("package"))
    for key in ITEM_SCHEMAS:
        schema["properties"][key]["items"] = {}
    return Draft202012Validator(schema, registry=_registry())


@lru_cache(maxsize=8)
def _item_validator(name: str):
    from jsonschema import Draft202012Validator

    return Draft202012Validator(cached_schema(name), registry=_registry())


@lru_cache(maxsize=4096)
def _item_problems(name: str, text: str) -> tuple[Problem, ...]:
    return tuple(p for e in _item_validator(name).iter_errors(json.loads(text)) for p in _translate(e))


def schema_problems(document) -> list[Problem]:
    """The JSON Schema problems of a package document (what `package_validator` finds)."""
    if not isinstance(document, dict):
        return [p for e in package_validator().iter_errors(document) for p in _translate(e)]
    problems = [p for e in _outline_validator().iter_errors(document) for p in _translate(e)]
    for key, name in ITEM_SCHEMAS.items():
        items = document.get(key)
        for index, item in enumerate(items if isinstance(items, list) else ()):
            try:
                found = _item_problems(name, json.dumps(item, sort_keys=True, ensure_ascii=False))
            except (TypeError, ValueError):  # not JSON (a caller's Python object): checked as it is
                found = tuple(p for e in _item_validator(name).iter_errors(item) for p in _translate(e))
            problems += [Problem(f"/{key}/{index}{p.path}", p.code, p.message, p.details) for p in found]
    return problems


def check_package(document, extra_types: Mapping[str, str] | None = None,
                  known_actions=None, known_roles=None) -> list[Problem]:
    """Every problem in ``document`` (any JSON value), sorted by path; [] when valid.

    ``extra_types`` maps plugin field types to the built-in type they are stored
    as, e.g. ``{"vin": "string"}``.  ``known_actions`` names the registered
    workflow actions (None: action names are not checked); ``known_roles`` the
    roles transitions and approvals may name (None: ``("admin", "member")``).
    A malformed argument raises ``ValueError``: it is a programming error.
    """
    types = known_types(extra_types)
    problems = schema_problems(document)
    problems += semantic_problems(document, types)
    problems += field_condition_problems(document, types)
    problems += sharing_problems(document, types)
    problems += privacy_problems(document, types)
    problems += duplicate_rule_problems(document, types)
    problems += natural_key_problems(document, types)
    problems += workflow_problems(document, types, known_actions, known_roles)
    problems += layout_problems(document, types)
    problems += role_problems(document)
    problems += unstorable_problems(document)
    return tidy(problems)


def load_package(document, extra_types: Mapping[str, str] | None = None,
                 known_actions=None, known_roles=None) -> Package:
    """The normalised Package, or ``MetadataInvalid`` carrying every problem."""
    problems = check_package(document, extra_types, known_actions, known_roles)
    if problems:
        raise MetadataInvalid(problems)
    return Package.from_document(document, extra_types)


# --- turning jsonschema errors into Problems in plain words -----------------------


def _expected(schema, fallback: str) -> str:
    description = schema.get("description") if isinstance(schema, dict) else None
    return description if isinstance(description, str) and len(description) <= 120 else fallback


def _branch_fits(errors) -> bool:
    """A failed anyOf branch 'fits' when the instance has the branch's JSON type."""
    for e in errors:
        if e.relative_path:
            continue
        if e.validator == "type":
            return False
        if e.validator in ("anyOf", "oneOf") and _fitting_branch(e) is None:
            return False
    return True


def _fitting_branch(error):
    branches: dict[int, list] = {}
    for e in error.context or ():
        branches.setdefault(e.relative_schema_path[0], []).append(e)
    for index in sorted(branches):
        if _branch_fits(branches[index]):
            return branches[index]
    return None


def _translate(error) -> list[Problem]:
    path = pointer(*error.absolute_path)
    keyword, value, instance = error.validator, error.validator_value, error.instance
    if keyword in ("anyOf", "oneOf"):
        branch = _fitting_branch(error)
        if branch is not None:
            return [p for e in branch for p in _translate(e)]
        return [Problem(path, "schema", f"expected {_expected(error.schema, 'something else')}, "
                                        f"got {show(instance)}")]
    if keyword == "required":
        return [Problem(f"{path}/{name}", "schema", f"{show(name)} is required")
                for name in value if isinstance(instance, dict) and name not in instance]
    if keyword == "additionalProperties" and value is False:
        known = sorted(error.schema.get("properties", {}))
        return [Problem(pointer(*error.absolute_path, key), "schema",
                        f"unknown property {show(key)}; allowed: {', '.join(known)}")
                for key in instance if key not in known]
    return [Problem(path, "schema", _message(error, keyword, value, instance))]


def _message(error, keyword, value, instance) -> str:
    if keyword == "type":
        types = [value] if isinstance(value, str) else list(value)
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        return f"expected {_expected(error.schema, words)}, got {show(instance)}"
    if keyword == "enum":
        return f"{show(instance)} is not one of: {', '.join(map(str, value))}"
    if keyword == "minimum":
        return f"must be at least {value}, got {show(instance)}"
    if keyword == "maximum":
        return f"must be at most {value}, got {show(instance)}"
    if keyword == "minLength":
        return "must not be empty" if value == 1 else f"must be at least {value} characters long"
    if keyword == "minItems":
        return f"must list at least {value} item{'s' if value != 1 else ''}"
    if keyword == "uniqueItems":
        return f"lists the same value more than once: {show(instance)}"
    if keyword == "minProperties":
        return "must not be empty"
    if keyword == "pattern" and "propertyNames" in error.absolute_schema_path:
        return f"{show(instance)} is not a language tag; use tags such as 'en' or 'zh-CN'"
    if keyword == "pattern":
        return f"{show(instance)} does not match the pattern {show(value)}"
    return error.message
