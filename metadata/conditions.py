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
"""

from __future__ import annotations

import copy
import difflib
from typing import Mapping

from .comparison import MOMENTS, NUMERIC, as_moment, as_number, compare, equal
from .errors import Problem, pointer
from .fieldtypes import STRING_TYPES, parse_date, show, value_problem
from .model import SYSTEM_COLUMNS, Field
from .regex import compile_pattern, pattern_problem

OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "matches", "exists", "not_exists")
COMBINATORS = ("all", "any", "not")
LEAF_KEYS = ("field", "op", "value")
NO_VALUE_OPS = ("exists", "not_exists")
MAX_DEPTH = 32
SYSTEM_FIELD_TYPES = {"id": "integer", "created_at": "datetime", "updated_at": "datetime",
                      "created_by": "integer", "updated_by": "integer", "owner_id": "integer",
                      "version": "integer"}
assert tuple(SYSTEM_FIELD_TYPES) == SYSTEM_COLUMNS

_EQUALITY = ("eq", "ne", "in", "not_in", "exists", "not_exists")
_ORDERING = ("gt", "gte", "lt", "lte")
# Which operators apply to each built-in base type.
OPS_BY_TYPE: dict[str, frozenset] = {
    **{t: frozenset(_EQUALITY + ("contains", "matches")) for t in STRING_TYPES},
    **{t: frozenset(_EQUALITY + _ORDERING) for t in NUMERIC + MOMENTS},
    "boolean": frozenset(_EQUALITY), "choice": frozenset(_EQUALITY), "reference": frozenset(_EQUALITY),
    "multi_choice": frozenset(("eq", "ne", "contains", "exists", "not_exists")),
    "json": frozenset(("eq", "ne", "exists", "not_exists")),
}
_EXAMPLE = '{"field": "priority", "op": "eq", "value": "high"} or {"all": [...]}'


def system_field(name: str) -> Field | None:
    """The system column ``name`` as a Field (for typing conditions), or None."""
    base = SYSTEM_FIELD_TYPES.get(name)
    return Field(name=name, type=base, label={"en": name}, base_type=base) if base else None


def condition_field(entity, name: str) -> Field | None:
    """The field a condition may name: a system column or one of ``entity``'s fields.

    ``entity`` is an Entity, or a ``{field: base type}`` mapping (fields typed by their
    base type alone: no options, ranges or patterns)."""
    if isinstance(entity, Mapping):
        base = entity.get(name)
        typed = Field(name=name, type=base, label={"en": name}, base_type=base) if isinstance(base, str) else None
        return system_field(name) or typed
    return system_field(name) or (entity.field(name) if entity is not None else None)


def ops_for(base_type: str) -> tuple[str, ...]:
    """The operators that apply to a base type, in OPS order (all of them when unknown)."""
    allowed = OPS_BY_TYPE.get(base_type, frozenset(OPS))
    return tuple(op for op in OPS if op in allowed)


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

    Never raises for a condition ``check_condition`` accepts; raises ``ValueError``
    for a structurally malformed one (not an object, unknown operator, no field).
    """
    return _evaluate(condition, record, _typer(entity), None, "", 0)


def explain_condition(condition, record: Mapping, entity=None) -> list[dict]:
    """Every leaf, in document order, with what the record held and whether it passed.

    Each entry: ``path`` (JSON Pointer of the leaf inside the condition, "" for a
    lone leaf), ``field``, ``op``, ``value`` (absent for exists / not_exists),
    ``actual`` (None when the record lacks the field) and ``passed`` (the leaf's own
    verdict, before any enclosing ``not``).  All leaves are evaluated, none skipped.
    """
    leaves: list[dict] = []
    _evaluate(condition, record, _typer(entity), leaves, "", 0)
    return leaves


def _typer(entity):
    """The base type of a field name, from an entity or a ``{name: base type}`` mapping."""
    if isinstance(entity, Mapping):
        return lambda name: entity.get(name) or SYSTEM_FIELD_TYPES.get(name)

    def base_of(name: str) -> str | None:
        field = condition_field(entity, name)
        return (field.base_type or None) if field is not None else None
    return base_of


def _malformed(path: str, why: str) -> ValueError:
    return ValueError(f"malformed condition at {path or '/'}: {why}")


def _evaluate(cond, record, base_of, leaves, path: str, depth: int) -> bool:
    if not isinstance(cond, dict):
        raise _malformed(path, f"expected an object, got {show(cond)}")
    if depth >= MAX_DEPTH:
        raise _malformed(path, f"nested more than {MAX_DEPTH} levels deep")
    key = next((k for k in COMBINATORS if k in cond), None)
    if key == "not":
        return not _evaluate(cond["not"], record, base_of, leaves, f"{path}/not", depth + 1)
    if key is not None:
        items = cond[key]
        if not isinstance(items, list):
            raise _malformed(f"{path}/{key}", f"expected a list, got {show(items)}")
        verdicts = (_evaluate(c, record, base_of, leaves, f"{path}/{key}/{k}", depth + 1) for k, c in enumerate(items))
        if leaves is not None:
            verdicts = list(verdicts)  # explain every leaf: no short-circuit
        return all(verdicts) if key == "all" else any(verdicts)
    name, op = cond.get("field"), cond.get("op")
    if not isinstance(name, str):
        raise _malformed(f"{path}/field", f"expected a field name, got {show(name)}")
    if op not in OPS:
        raise _malformed(f"{path}/op", f"unknown operator {show(op)}")
    actual = record.get(name) if isinstance(record, Mapping) else None
    value = cond.get("value")
    passed = _test(op, actual, value, base_of(name))
    if leaves is not None:
        entry = {"path": path, "field": name, "op": op}
        if "value" in cond:
            entry["value"] = copy.deepcopy(value)
        entry.update(actual=copy.deepcopy(actual), passed=passed)
        leaves.append(entry)
    return passed


EMPTY_PASSES = frozenset(("ne", "not_in", "not_exists"))  # the operators an empty value passes


def is_empty(value) -> bool:
    """Whether a record value counts as empty: missing, null, "" or []."""
    return value is None or value == "" or value == []


def fits(value, base: str | None) -> bool:
    """Whether a non-empty record value is of its field's base type; one that is not (text
    in a number field of an unvalidated event, say) compares as empty."""
    if base in NUMERIC or base == "reference":
        return as_number(value) is not None
    if base in MOMENTS:
        return as_moment(value) is not None
    if base == "boolean":
        return isinstance(value, bool)
    if base in STRING_TYPES or base == "choice":
        return isinstance(value, str)
    return True


def leaf_holds(op: str, actual, value, base: str | None) -> bool:
    """``evaluate_condition``'s verdict on one checked leaf for a record's value ``actual``
    of a field of base type ``base`` (None: inferred), for the rules engine's leaves."""
    return bool(_test(op, actual, value, base))


def _test(op: str, actual, value, base: str | None) -> bool:
    if is_empty(actual) or not fits(actual, base):
        return op in EMPTY_PASSES
    if op in ("exists", "not_exists"):
        return op == "exists"
    if op in ("eq", "ne"):
        return equal(actual, value, base) is (op == "eq")
    if op in ("in", "not_in"):
        if not isinstance(value, list):
            return False
        return any(equal(actual, v, base) for v in value) is (op == "in")
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(value, str) and value in actual
        return isinstance(actual, list) and any(equal(item, value, None) for item in actual)
    if op == "matches":
        return (isinstance(actual, str) and isinstance(value, str) and pattern_problem(value) is None
                and compile_pattern(value).search(actual))
    order = compare(actual, value, base)
    if order is None:
        return False
    return {"gt": order > 0, "gte": order >= 0, "lt": order < 0, "lte": order <= 0}[op]
