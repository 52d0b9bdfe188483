"""The rules' condition language: value kinds, evaluation in Python (for explain) and
compilation to durable-rules expressions (for evaluate).

Both paths read record values through one normalisation (``normalize``), so explain()
and durable-rules agree by construction; a hypothesis test holds them to it.

Semantics (close to metadata.conditions, which guards workflows):
- every field is compared as one *kind*: number, moment (ISO date/datetime -> UTC
  seconds), bool or string (text, choice).  The kind comes from the entity's field type
  when known, else from the rule values.  A value that does not fit the kind (null,
  "", [], "abc" for a number) counts as empty.
- an empty value fails every operator except ne, not_in and not_exists.
- contains: substring of a text or item of a list (multi_choice), case-sensitive.
- matches: a regular expression searched in the text (^ and $ anchor it), in the
  linear-time dialect of metadata.regex.  contains and matches are decided in Python and
  reach durable-rules as flags: its own $mt gives wrong verdicts.
- gt/gte/lt/lte apply to numbers and moments only.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime, timezone
from decimal import Decimal

from metadata.regex import compile_pattern, pattern_problem as dialect_problem

OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "matches", "exists", "not_exists")
NO_VALUE_OPS = ("exists", "not_exists")
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


def contains(raw, needle) -> bool:
    if isinstance(raw, str):
        return needle in raw
    return isinstance(raw, list) and any(item == needle for item in raw)


def value_kind(value) -> str | None:
    """The kind a rule value implies (None for null / unsupported)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number" if _number(value) is not None else None
    if isinstance(value, str):
        return "moment" if moment(value) is not None else "string"
    return None


# --- patterns (matches) -----------------------------------------------------------------


def pattern_problem(pattern) -> str | None:
    """Why ``pattern`` is not an accepted regular expression (see metadata.regex), or None."""
    if not isinstance(pattern, str) or not pattern:
        return "'matches' needs a regular expression as non-empty text"
    return dialect_problem(pattern)


def matches(raw, pattern: str) -> bool:
    text = _text(raw)
    return text is not None and compile_pattern(pattern).search(text)


# --- evaluation in Python (explain) ----------------------------------------------------


def is_leaf(node: dict) -> bool:
    return not any(key in node for key in ("all", "any", "not"))


def test_leaf(leaf: dict, kind: str, raw) -> bool:
    """One leaf's verdict for the record value ``raw`` (rule values already normalised)."""
    op, value = leaf["op"], leaf.get("value")
    if op == "contains":
        return contains(raw, value)
    if op == "matches":
        return matches(raw, value)
    actual = normalize(kind, raw)
    if op in ("ne", "not_in", "not_exists"):
        return not test_leaf({**leaf, "op": {"ne": "eq", "not_in": "in", "not_exists": "exists"}[op]}, kind, raw)
    if actual is None:
        return False
    if op == "exists":
        return True
    if op == "eq":
        return actual == value
    if op == "in":
        return actual in value
    return {"gt": actual > value, "gte": actual >= value, "lt": actual < value, "lte": actual <= value}[op]


def evaluate(node: dict, kinds: dict, record: dict, reasons: list | None = None, path: str = "") -> bool:
    """The condition's verdict; with ``reasons``, every leaf is evaluated and reported."""
    if "not" in node:
        return not evaluate(node["not"], kinds, record, reasons, path + "/not")
    for key in ("all", "any"):
        if key in node:
            verdicts = [evaluate(c, kinds, record, reasons, f"{path}/{key}/{k}") for k, c in enumerate(node[key])]
            return all(verdicts) if key == "all" else any(verdicts)
    raw = record.get(node["field"])
    passed = test_leaf(node, kinds.get(node["field"], "any"), raw)
    if reasons is not None:
        shown = "" if node["op"] in NO_VALUE_OPS else " " + json.dumps(node.get("source_value"), ensure_ascii=False)
        reasons.append({"path": path, "condition": f"{node['field']} {node['op']}{shown}",
                        "value": raw, "passed": passed})
    return passed


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
    if op in ("contains", "matches"):  # decided in Python, passed as a flag (see metadata.regex)
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
