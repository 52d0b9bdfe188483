"""The rules' side of the one condition language (metadata.conditions): value kinds and
the translation of a condition into durable-rules expressions.

metadata.conditions checks, evaluates and explains conditions for guards, schedules and
rules alike; this module only *translates*.  Durable-rules matches a coarse test: record
values reach it through one normalisation (``normalize``) by *kind* — number, moment
(ISO date/datetime -> UTC seconds), bool or string (text, choice), from the entity's
field type when known, else from the rule values; an empty value (null, "", [], or a
value that does not fit the kind) is absent from the fact — and contains / matches
leaves reach it as flags decided by metadata.conditions (compiled once per leaf,
metadata.conditions_compiled).  Every rule it matches is then decided by
metadata.conditions on the record (the rule's condition as written, compiled once when
the rule set is published), with the base types guards use, so a rule fires exactly when
a guard with its condition passes; tests/workflows/test_condition_agreement.py also
holds the coarse test to that answer.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, timezone
from decimal import Decimal

from metadata.conditions import NO_VALUE_OPS, OPS, SYSTEM_FIELD_TYPES, evaluate_condition, explain_condition

ORDERING = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
COMPLEMENT = {"gt": "lte", "gte": "lt", "lt": "gte", "lte": "gt"}
MAX_CONJUNCTIONS = 32      # durable rules one rule may expand to (see to_dnf)
_SAFE_INT = 2 ** 53
_DECIMAL_TEXT = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
                            r"(Z|[+-][0-9]{2}:[0-9]{2})?")

# Entity field types -> kinds (anything else compares as a string).
TYPE_KINDS = {"integer": "number", "decimal": "number", "currency": "number", "reference": "number",
              "date": "moment", "datetime": "moment", "boolean": "bool", "multi_choice": "list"}
OPS_BY_KIND = {
    "number": frozenset(OPS) - {"contains", "matches"},
    "moment": frozenset(OPS) - {"contains", "matches"},
    "bool": frozenset(("eq", "ne", "exists", "not_exists")),
    "string": frozenset(OPS) - set(ORDERING),
    "list": frozenset(("contains", "exists", "not_exists")),
}


# --- values ---------------------------------------------------------------------------


def moment(raw) -> float | None:
    """UTC seconds of an ISO date (midnight UTC) or date-time (naive = UTC), else None."""
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, str) and (_DATETIME_TEXT.fullmatch(raw) or _DATE_TEXT.fullmatch(raw)):
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            return None
    else:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def _number(raw):
    if type(raw) is str:  # the common case first: decimal text
        if not _DECIMAL_TEXT.fullmatch(raw):
            return None
        if "." in raw:
            number = float(raw)
            return number if math.isfinite(number) else None
        number = int(raw)
        return number if -_SAFE_INT < number < _SAFE_INT else float(number)
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, dict) and set(raw) == {"amount", "currency"}:
        return _number(raw["amount"])
    if isinstance(raw, str):
        if not _DECIMAL_TEXT.fullmatch(raw):
            return None
        raw = int(raw) if "." not in raw else float(raw)
    if isinstance(raw, Decimal):
        raw = float(raw)
    if isinstance(raw, int):
        return raw if -_SAFE_INT < raw < _SAFE_INT else float(raw)
    if isinstance(raw, float):
        return raw if math.isfinite(raw) else None
    return None


def _text(raw):
    if not isinstance(raw, str) or raw == "":
        return None
    if raw.isascii():
        return raw
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates cannot reach the C engine
        return None
    return raw


def normalize(kind: str, raw):
    """``raw`` as the value durable-rules sees for a field of ``kind``; None = empty."""
    if raw is None or raw == "" or raw == []:
        return None
    if kind == "number":
        return _number(raw)
    if kind == "moment":
        return moment(raw)
    if kind == "bool":
        return raw if isinstance(raw, bool) else None
    if kind == "string":
        return _text(raw)
    return 1  # "any"/"list": only exists / not_exists / contains look at it


def _boolean(raw):
    return raw if isinstance(raw, bool) else None


def _present(raw):
    return None if raw is None or raw == "" or raw == [] else 1


_NORMALIZERS = {"number": _number, "moment": moment, "bool": _boolean, "string": _text}


def normalizer(kind: str):
    """``normalize`` for one kind, chosen once: ``normalizer(kind)(raw) == normalize(kind, raw)``
    (each kind's reader already treats "" and [] as empty)."""
    return _NORMALIZERS.get(kind, _present)


def value_kind(value) -> str | None:
    """The kind a rule value implies (None for null / unsupported)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number" if _number(value) is not None else None
    if isinstance(value, str):
        return "moment" if moment(value) is not None else "string"
    return None


# --- deciding and explaining --------------------------------------------------------

# The base type a field of each kind compares as when the rule set's entity is unknown.
KIND_BASE_TYPES = {"number": "decimal", "moment": "datetime", "bool": "boolean", "string": "text",
                   "list": "multi_choice"}


def base_types(kinds: dict, entity_fields: dict | None) -> dict:
    """{field: base type} a rule's condition is decided with: the entity's type of the
    field (as a guard compares it), else its kind's; None for "any"."""
    typed = {**SYSTEM_FIELD_TYPES, **entity_fields} if entity_fields is not None else {}
    return {name: typed.get(name) or KIND_BASE_TYPES.get(kind) for name, kind in kinds.items()}


def is_leaf(node: dict) -> bool:
    return not any(key in node for key in ("all", "any", "not"))


def source_condition(node: dict) -> dict:
    """A normalised condition (see compiler) back as written: its leaves' source values."""
    if not is_leaf(node):
        key = next(k for k in ("all", "any", "not") if k in node)
        inner = node[key]
        return {key: source_condition(inner) if key == "not" else [source_condition(c) for c in inner]}
    out = {"field": node["field"], "op": node["op"]}
    if "value" in node:
        out["value"] = node.get("source_value", node["value"])
    return out


def explain(node: dict, types: dict, record: dict) -> tuple[bool, list[dict]]:
    """(verdict, reasons) of a normalised condition, by metadata.conditions' one evaluator."""
    condition = source_condition(node)
    reasons = []
    for leaf in explain_condition(condition, record, types):
        shown = "" if leaf["op"] in NO_VALUE_OPS else " " + json.dumps(leaf.get("value"), ensure_ascii=False)
        reasons.append({"path": leaf["path"], "condition": f"{leaf['field']} {leaf['op']}{shown}",
                        "value": leaf["actual"], "passed": leaf["passed"]})
    return evaluate_condition(condition, record, types), reasons


# --- compilation to durable-rules ------------------------------------------------------


class TooComplex(ValueError):
    pass


def _literal(leaf: dict, negated: bool, names) -> list[list[dict]]:
    """DNF (list of conjunctions of atoms) of one leaf, negated or not.

    Every atom is a plain test or an ``$or`` whose branches exclude each other, so one
    fact passes at most one branch: durable-rules fires a rule once per passing branch
    and refuses a fact that passes more than ~64 branches at once (error 303).
    """
    op, v = leaf["op"], leaf.get("value")
    flip = {"ne": "eq", "not_in": "in", "not_exists": "exists"}
    if op in flip:
        op, negated = flip[op], not negated
    if op in ("contains", "matches"):  # decided by metadata.conditions, passed as a flag
        flag = names.flag(op, leaf)
        return [[{"$nex": {flag: 1}}]] if negated else [[{flag: 1}]]
    f = names.field(leaf["field"])
    absent = {"$nex": {f: 1}}
    if op == "exists":
        return [[absent]] if negated else [[{"$ex": {f: 1}}]]
    if op == "eq":
        return [[{"$or": [{"$neq": {f: v}}, absent]}]] if negated else [[{f: v}]]
    if op == "in":
        if negated:
            return [[absent], [{"$neq": {f: x}} for x in v]]
        return [[{f: v[0]}]] if len(v) == 1 else [[{"$or": [{f: x} for x in v]}]]
    if negated:
        return [[{"$or": [{ORDERING[COMPLEMENT[op]]: {f: v}}, absent]}]]
    return [[{ORDERING[op]: {f: v}}]]


def to_dnf(node: dict, names, negated: bool = False, limit: int = MAX_CONJUNCTIONS) -> list[list[dict]]:
    """The condition as a disjunction of flat conjunctions, negations pushed to the leaves
    (De Morgan).  Each conjunction becomes one durable rule: nested $and / $or deeper than
    a few levels fail in durable-rules (error 113) and overlapping $or branches fire twice."""
    if "not" in node:
        return to_dnf(node["not"], names, not negated, limit)
    if is_leaf(node):
        return _literal(node, negated, names)
    key = "all" if "all" in node else "any"
    parts = [to_dnf(child, names, negated, limit) for child in node[key]]
    conjunctive = (key == "all") != negated
    if not conjunctive:
        result = [conj for part in parts for conj in part]
    else:
        result = [[]]
        for part in parts:
            result = [left + right for left in result for right in part]
            if len(result) > limit:
                break
    if len(result) > limit:
        raise TooComplex(f"the condition expands to more than {limit} alternatives")
    return result
