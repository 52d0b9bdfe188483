"""A condition compiled once into a Python closure: metadata.conditions' own verdict,
without walking the condition's tree for every record.

``compile_condition(condition, entity)`` returns ``test(record) -> bool`` with
``test(record) == evaluate_condition(condition, record, entity)`` for every record.
It is the interpreter's output, not a second semantics: each leaf is decided by
metadata.conditions' ``_test``, and only where a leaf's field type and comparison
value make the answer plain does it precompute what ``_test`` would recompute for
every record (the comparison value parsed as a number or a moment, the pattern
compiled, the membership set) — the same parsers (metadata.comparison) on the same
branches.  Anything else (unknown types, multi_choice, references, odd comparison
values) runs ``_test`` itself.  tests/metadata/test_metadata_conditions_compiled.py
holds the two to the same answer on generated conditions and records.

Unlike ``evaluate_condition``, which raises only when it reaches a malformed part,
compiling raises ``ValueError`` at once for any structurally malformed condition.
"""

from __future__ import annotations

from typing import Callable, Mapping

from .comparison import MOMENTS, NUMERIC, as_moment, as_number
from .conditions import COMBINATORS, EMPTY_PASSES, MAX_DEPTH, OPS, _malformed, _test, _typer
from .fieldtypes import STRING_TYPES, show
from .regex import compile_pattern, pattern_problem

Test = Callable[[Mapping], bool]
_ORDER = {"gt": lambda o: o > 0, "gte": lambda o: o >= 0, "lt": lambda o: o < 0, "lte": lambda o: o <= 0}
_TEXTS = frozenset(STRING_TYPES) | {"choice"}


def compile_condition(condition, entity=None) -> Test:
    """``test(record)``: whether ``record`` (a JSON-form dict) satisfies ``condition``,
    exactly as ``evaluate_condition(condition, record, entity)`` says."""
    test = _compile(condition, _typer(entity), "", 0)

    def holds(record) -> bool:
        return test(record if type(record) is dict or isinstance(record, Mapping) else {})
    return holds


def compile_leaf(name: str, op: str, value, base: str | None) -> Test:
    """``test(record)`` of one checked leaf on a field of base type ``base`` (None:
    inferred): ``leaf_holds(op, record.get(name), value, base)``."""
    return _leaf(name, op, value, base)


def _compile(cond, base_of, path: str, depth: int) -> Test:
    if not isinstance(cond, dict):
        raise _malformed(path, f"expected an object, got {show(cond)}")
    if depth >= MAX_DEPTH:
        raise _malformed(path, f"nested more than {MAX_DEPTH} levels deep")
    key = next((k for k in COMBINATORS if k in cond), None)
    if key == "not":
        inner = _compile(cond["not"], base_of, f"{path}/not", depth + 1)
        return lambda record: not inner(record)
    if key is not None:
        items = cond[key]
        if not isinstance(items, list):
            raise _malformed(f"{path}/{key}", f"expected a list, got {show(items)}")
        tests = tuple(_compile(c, base_of, f"{path}/{key}/{k}", depth + 1) for k, c in enumerate(items))
        if len(tests) == 1:
            return tests[0]
        if len(tests) == 2:
            first, second = tests
            if key == "all":
                return lambda record: first(record) and second(record)
            return lambda record: first(record) or second(record)
        if key == "all":
            return lambda record: all(t(record) for t in tests)
        return lambda record: any(t(record) for t in tests)
    name, op = cond.get("field"), cond.get("op")
    if not isinstance(name, str):
        raise _malformed(f"{path}/field", f"expected a field name, got {show(name)}")
    if op not in OPS:
        raise _malformed(f"{path}/op", f"unknown operator {show(op)}")
    return _leaf(name, op, cond.get("value"), base_of(name))


def _leaf(name: str, op: str, value, base: str | None) -> Test:
    """One leaf: a plain closure where ``_test``'s branch for this type and value is
    known in advance, else ``_test`` itself.  Each family's reader also says "empty":
    None, "" and [] neither parse as a number or moment nor are a boolean or non-empty text."""
    if base in NUMERIC:
        read = _numbers(value, op)
        decide = None if read is None else _decide(op, read, as_number)
    elif base in MOMENTS:
        read = _moments(value, op)
        decide = None if read is None else _decide(op, read, as_moment)
    elif base == "boolean":
        decide = _booleans(op, value)
    elif base in _TEXTS:
        decide = _texts(op, value)
    elif base is None and op == "contains" and isinstance(value, str):  # inferred: text is searched
        def decide(actual):
            return value in actual if isinstance(actual, str) and actual else bool(_test(op, actual, value, None))
    else:
        decide = None
    if decide is None:
        return lambda record: bool(_test(op, record.get(name), value, base))
    return lambda record: decide(record.get(name))


def _numbers(value, op):
    """The comparison value(s) as Decimals, as ``_coerced`` parses them for a numeric field;
    None when ``_test`` takes another branch for them (currency objects, non-numbers)."""
    items = value if op in ("in", "not_in") else [value]
    if not isinstance(items, list) or any(isinstance(v, (dict, bool)) for v in items):
        return None
    parsed = [as_number(v) for v in items]
    return None if any(p is None for p in parsed) else parsed


def _moments(value, op):
    items = value if op in ("in", "not_in") else [value]
    if not isinstance(items, list):
        return None
    parsed = [as_moment(v) for v in items]
    return None if any(p is None for p in parsed) else parsed


def _decide(op: str, parsed: list, parse) -> Callable | None:
    """For a number or moment field: ``actual`` parsed (None: does not fit, so empty) and
    compared with the precomputed values, as ``equal`` / ``compare`` do."""
    empty = op in EMPTY_PASSES
    if op in ("exists", "not_exists", "contains", "matches"):
        return None
    if op in ("in", "not_in", "eq", "ne"):
        wanted, member = frozenset(parsed), op in ("in", "eq")

        def among(actual) -> bool:
            x = parse(actual)
            return empty if x is None else (x in wanted) is member
        return among
    y, holds = parsed[0], _ORDER[op]

    def ordered(actual) -> bool:
        x = parse(actual)
        return empty if x is None else holds((x > y) - (x < y))
    return ordered


def _booleans(op: str, value) -> Callable | None:
    """For a boolean field (a non-bool record value does not fit: empty)."""
    if op in ("eq", "ne"):
        values = [value]
    elif op in ("in", "not_in") and isinstance(value, list):
        values = value
    else:
        return None
    wanted, member, empty = frozenset(v for v in values if isinstance(v, bool)), op in ("eq", "in"), op in EMPTY_PASSES
    return lambda actual: (actual in wanted) is member if isinstance(actual, bool) else empty


def _texts(op: str, value) -> Callable | None:
    """For a text or choice field: exact comparison (a record value that is not text
    does not fit: empty)."""
    empty = op in EMPTY_PASSES
    if op in ("eq", "ne", "in", "not_in"):
        values = value if op in ("in", "not_in") else [value]
        if not isinstance(values, list):
            return None
        wanted, member = frozenset(v for v in values if isinstance(v, str)), op in ("eq", "in")
        return lambda actual: (actual in wanted) is member if isinstance(actual, str) and actual else empty
    if op == "contains":
        if not isinstance(value, str):
            return lambda actual: False if isinstance(actual, str) and actual else empty
        return lambda actual: value in actual if isinstance(actual, str) and actual else empty
    if op == "matches":
        if not isinstance(value, str) or pattern_problem(value) is not None:
            return lambda actual: False if isinstance(actual, str) and actual else empty
        search = compile_pattern(value).search
        return lambda actual: search(actual) if isinstance(actual, str) and actual else empty
    if op == "exists":
        return lambda actual: isinstance(actual, str) and actual != ""
    if op == "not_exists":
        return lambda actual: not isinstance(actual, str) or actual == ""
    return None  # ordering: _test's compare decides (never true for text)
