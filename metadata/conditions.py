"""The condition language of workflow guards and rule sets: check, evaluate, explain.

A condition is a leaf ``{"field": "priority", "op": "ne", "value": "blocked"}`` or
a combinator ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": {...}}``.

Evaluation is pure Python over a record in its JSON form (decimals as strings,
currency as ``{"amount": "12.50", "currency": "EUR"}``, dates as ISO strings).
An empty value (missing, null, ``""`` or ``[]``) fails every operator except
``ne``, ``not_in`` and ``not_exists``, which it passes (the truth table in
docs/metadata.md); so does a value that does not fit its field's type; comparison values are never empty (``check_condition`` refuses
them).  Text compares exactly: case-sensitive, code point by code point, no Unicode
normalisation.  ``matches`` searches (use ``^...$`` to anchor).  Pass the entity to compare by field type;
without it, types are inferred from the values (numbers with numeric text compare
as numbers, two ISO date/times compare as moments, decimal texts compare
numerically only when ordered, lists compare as multisets).

Every caller takes the language from this module.  Checking is here; evaluating and
explaining are one interpreter (``metadata.conditions_compiled``: a condition compiled
once into closures, kept per condition object and typing); the terms both read
(operators, system columns, emptiness) are ``metadata.condition_terms``.
"""

from __future__ import annotations

import difflib
from typing import Mapping

from .condition_terms import (COMBINATORS, EMPTY_PASSES, LEAF_KEYS, MAX_DEPTH, NO_VALUE_OPS, OPS, OPS_BY_TYPE,
                              SYSTEM_FIELD_TYPES, condition_field, is_empty, ops_for, system_field)
from .conditions_compiled import compile_condition, compile_leaf, compiled, leaf_holds
from .errors import Problem, pointer
from .fieldtypes import STRING_TYPES, parse_date, show, value_problem
from .model import SYSTEM_COLUMNS, Field
from .regex import pattern_problem

__all__ = ["COMBINATORS", "EMPTY_PASSES", "LEAF_KEYS", "MAX_DEPTH", "NO_VALUE_OPS", "OPS", "OPS_BY_TYPE",
           "SYSTEM_FIELD_TYPES", "check_condition", "compile_condition", "compile_leaf", "condition_field",
           "evaluate_condition", "explain_condition", "is_empty", "leaf_holds", "ops_for", "system_field"]

_EXAMPLE = '{"field": "priority", "op": "eq", "value": "high"} or {"all": [...]}'


# --- checking ---------------------------------------------------------------------


def check_condition(condition, entity, path: str = "") -> list[Problem]:
    """Every problem of ``condition`` (any JSON) against ``entity``; [] when it is valid.

    ``path`` is the JSON Pointer of the condition in the submitted document.  ``entity``
    is an Entity, or a ``{field: base type}`` mapping (then a choice value is checked as
    text: the options are unknown).  With ``entity=None`` only the structure and
    operators are checked.
    """
    return _check(condition, entity, path, 0)


def _check(cond, entity, path: str, depth: int) -> list[Problem]:
    if not isinstance(cond, dict):
        return [Problem(path, "invalid_condition", f"expected a condition such as {_EXAMPLE}, got {show(cond)}")]
    if depth >= MAX_DEPTH:
        return [Problem(path, "invalid_condition", f"conditions may be nested at most {MAX_DEPTH} levels deep")]
    key = next((k for k in COMBINATORS if k in cond), None)
    if key is None:
        return _check_leaf(cond, entity, path)
    problems = [Problem(path + pointer(other), "invalid_condition",
                        f"{show(other)} cannot stand beside {show(key)}; put each condition inside {show(key)}")
                for other in cond if other != key]
    inner = cond[key]
    if key == "not":
        return problems + _check(inner, entity, f"{path}/not", depth + 1)
    if not isinstance(inner, list) or not inner:
        return problems + [Problem(f"{path}/{key}", "invalid_condition",
                                   f"{show(key)} needs a non-empty list of conditions, got {show(inner)}")]
    for k, item in enumerate(inner):
        problems += _check(item, entity, f"{path}/{key}/{k}", depth + 1)
    return problems


def _check_leaf(cond: dict, entity, path: str) -> list[Problem]:
    problems = [Problem(path + pointer(key), "invalid_condition",
                        f"unknown property {show(key)}; a condition has field, op and value, "
                        f"or is one of: all, any, not")
                for key in cond if key not in LEAF_KEYS]
    for key in ("field", "op"):
        if key not in cond:
            problems.append(Problem(f"{path}/{key}", "invalid_condition", f"{show(key)} is required"))
        elif not isinstance(cond[key], str):
            problems.append(Problem(f"{path}/{key}", "invalid_condition", f"{key} must be text, got {show(cond[key])}"))
    name, op = cond.get("field"), cond.get("op")
    field = None
    if isinstance(name, str) and entity is not None:
        field = condition_field(entity, name)
        if field is None:
            problems.append(Problem(f"{path}/field", "unknown_field", _unknown_field(entity, name)))
        elif field.base_type not in OPS_BY_TYPE:
            field = None  # an unknown type is reported where the field is defined
    if not isinstance(op, str):
        return problems
    if op not in OPS:
        return problems + [Problem(f"{path}/op", "unknown_op",
                                   f"unknown operator {show(op)}; expected one of: {', '.join(OPS)}")]
    if field is not None and op not in OPS_BY_TYPE[field.base_type]:
        return problems + [Problem(f"{path}/op", "op_not_allowed",
                                   f"{show(op)} does not apply to the {field.type} field {show(field.name)}; "
                                   f"use one of: {', '.join(ops_for(field.base_type))}")]
    return problems + _check_value(cond, op, field, f"{path}/value")


def _unknown_field(entity, name: str) -> str:
    typed_only = isinstance(entity, Mapping)
    known = list(entity if typed_only else entity.field_names()) + list(SYSTEM_COLUMNS)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {show(close[0])}?" if close else ""
    owner = "the entity" if typed_only else entity.name
    return f"unknown field {show(name)}: {owner} has no such field or system column{hint}"


def _check_value(cond: dict, op: str, field: Field | None, where: str) -> list[Problem]:
    if op in NO_VALUE_OPS:
        return ([Problem(where, "unexpected_value", f"{show(op)} takes no value; remove it")]
                if "value" in cond else [])
    if "value" not in cond:
        return [Problem(where, "missing_value", f"{show(op)} needs a value")]
    value = cond["value"]
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            return [Problem(where, "invalid_value", f"{show(op)} needs a non-empty list of values, got {show(value)}")]
        return [Problem(f"{where}/{k}", "invalid_value", message)
                for k, item in enumerate(value) if (message := _value_problem(field, item))]
    if op == "matches":
        if not isinstance(value, str) or not value:
            return [Problem(where, "invalid_value",
                            f"'matches' needs a regular expression as non-empty text, got {show(value)}")]
        error = pattern_problem(value)
        return [Problem(where, "invalid_pattern", f"{show(value)} is not a pattern Loom can match: {error}")] \
            if error else []
    if op == "contains" and (field is None or field.base_type != "multi_choice"):
        message = None if isinstance(value, str) and value else f"'contains' needs non-empty text, got {show(value)}"
    elif op == "contains":  # one option of a multi_choice field
        message = _value_problem(Field(field.name, "choice", {}, base_type="choice", options=field.options), value)
    else:
        message = _value_problem(field, value)
    return [Problem(where, "invalid_value", message)] if message else []


def _value_problem(field: Field | None, value) -> str | None:
    """Why ``value`` cannot be compared with ``field`` (None when it can)."""
    if value is None or value == "" or value == []:
        return (f"{show(value)} is not a value to compare with (empty values fail every operator but ne, "
                f"not_in and not_exists); use 'exists' or 'not_exists' to test for an empty field")
    if field is None:
        return None
    base = field.base_type
    if base in STRING_TYPES:
        return None if isinstance(value, str) else f"expected text for {show(field.name)}, got {show(value)}"
    if base == "datetime" and parse_date(value) is not None:
        return None  # a date compares as its midnight (UTC)
    if base == "choice" and not field.options:  # typed by a mapping: the options are unknown
        return None if isinstance(value, str) else f"expected text for {show(field.name)}, got {show(value)}"
    if base == "multi_choice" and not field.options:
        return None if isinstance(value, list) and all(isinstance(v, str) and v for v in value) else \
            f"expected a list of options for {show(field.name)}, got {show(value)}"
    if base == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON does not tell 42.0 from 42
    # Only the type counts: a comparison value may lie outside the field's range or pattern.
    # A currency compares by its amount, so its comparison value is a plain number.
    relaxed = Field(name=field.name, type=field.type, label={}, options=field.options, to=field.to,
                    base_type="decimal" if base == "currency" else base)
    message = value_problem(relaxed, value)
    return f"{message} (comparing with {show(field.name)})" if message else None


# --- evaluating -------------------------------------------------------------------


def evaluate_condition(condition, record: Mapping, entity=None) -> bool:
    """Whether ``record`` (a JSON-form dict) satisfies ``condition``.

    ``entity`` (an Entity, or a ``{field: base type}`` mapping) types the comparisons.
    The condition is compiled once for that condition object and ``entity``
    (``metadata.conditions_compiled``), so asking about many records costs one walk.

    Never raises for a condition ``check_condition`` accepts; raises ``ValueError``
    for a structurally malformed one (not an object, unknown operator, no field),
    wherever the malformed part sits.
    """
    return compiled(condition, entity).holds(record)


def explain_condition(condition, record: Mapping, entity=None) -> list[dict]:
    """Every leaf, in document order, with what the record held and whether it passed.

    Each entry: ``path`` (JSON Pointer of the leaf inside the condition, "" for a
    lone leaf), ``field``, ``op``, ``value`` (absent for exists / not_exists),
    ``actual`` (None when the record lacks the field) and ``passed`` (the leaf's own
    verdict, before any enclosing ``not``).  All leaves are evaluated, none skipped,
    each by the closure ``evaluate_condition`` runs for it.
    """
    return compiled(condition, entity).explain(record)
