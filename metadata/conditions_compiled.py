"""The one interpreter of the condition language: a condition compiled once into Python
closures, and evaluated and explained by them.

``compile_condition(condition, entity)`` returns ``test(record) -> bool``;
``compiled(condition, entity)`` returns the same closures with each leaf's own closure
beside them, in document order (``Compiled.holds`` and ``Compiled.explain``: what
``metadata.conditions``' ``evaluate_condition`` and ``explain_condition`` answer), kept
per condition object and typing so that a condition asked about many records is
compiled once.

A leaf means what ``leaf_holds`` says (the truth table of docs/metadata.md over
``metadata.comparison``).  Where a leaf's field type and comparison value make the
answer plain, its closure precomputes what ``leaf_holds`` would recompute for every
record (the comparison value parsed as a number or a moment, the pattern compiled, the
membership set) — the same parsers on the same branches; anything else (unknown types,
multi_choice, references, odd comparison values) runs ``leaf_holds``' own test.
tests/metadata/test_metadata_conditions_compiled.py holds every closure to
``leaf_holds`` and every condition's verdict to its leaves' verdicts combined.

Compiling raises ``ValueError`` at once for a structurally malformed condition (not an
object, a combinator without a list, a leaf without a field name or with an unknown
operator, nesting deeper than ``MAX_DEPTH``), whether or not a record would reach the
malformed part.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Callable, Mapping

from .comparison import MOMENTS, NUMERIC, as_moment, as_number, compare, equal
from .condition_terms import COMBINATORS, EMPTY_PASSES, MAX_DEPTH, OPS, field_typer, fits, is_empty
from .fieldtypes import STRING_TYPES, show
from .regex import compile_pattern, pattern_problem

Test = Callable[[Mapping], bool]
_ORDER = {"gt": lambda o: o > 0, "gte": lambda o: o >= 0, "lt": lambda o: o < 0, "lte": lambda o: o <= 0}
_TEXTS = frozenset(STRING_TYPES) | {"choice"}
_KEPT = 4096  # compiled conditions kept (the oldest is dropped first)


@dataclass(frozen=True, slots=True)
class Leaf:
    """One leaf of a compiled condition."""

    path: str            # JSON Pointer of the leaf inside the condition ("" for a lone leaf)
    field: str
    op: str
    source: dict         # the leaf as written (its "value", when it has one)
    test: Test           # the very closure the whole condition's test calls


@dataclass(frozen=True, slots=True)
class Compiled:
    """A condition compiled: its test over a record and its leaves in document order."""

    test: Test           # over a Mapping
    leaves: tuple

    def holds(self, record) -> bool:
        """Whether ``record`` (a JSON-form dict; anything else has every field empty) satisfies it."""
        return self.test(record if type(record) is dict or isinstance(record, Mapping) else {})

    def explain(self, record) -> list[dict]:
        """Every leaf, in document order, with what ``record`` held and the leaf's own verdict
        (see ``metadata.conditions.explain_condition``); every leaf is tested."""
        record = record if isinstance(record, Mapping) else {}
        out = []
        for leaf in self.leaves:
            entry = {"path": leaf.path, "field": leaf.field, "op": leaf.op}
            if "value" in leaf.source:
                entry["value"] = copy.deepcopy(leaf.source["value"])
            entry.update(actual=copy.deepcopy(record.get(leaf.field)), passed=leaf.test(record))
            out.append(entry)
        return out


def compile_condition(condition, entity=None) -> Test:
    """``test(record)``: whether ``record`` (a JSON-form dict) satisfies ``condition``,
    comparing by the field types of ``entity`` (an Entity, a ``{field: base type}``
    mapping, or None: types inferred from the values)."""
    test = _compiled(condition, entity).test

    def holds(record) -> bool:
        return test(record if type(record) is dict or isinstance(record, Mapping) else {})
    return holds


_kept: dict = {}
_keeping = threading.Lock()


def compiled(condition, entity=None) -> Compiled:
    """``condition`` compiled for ``entity``, kept for that very condition object and
    typing object (held while kept, so neither identity is reused).  A condition from
    published metadata is never changed in place (a changed one is a new object); a
    caller that edits a condition dict in place must compile it afresh
    (``compile_condition``)."""
    found = _kept.get((id(condition), id(entity)))
    if found is not None and found[0] is condition and found[1] is entity:
        return found[2]
    result = _compiled(condition, entity)
    with _keeping:
        if len(_kept) >= _KEPT:
            del _kept[next(iter(_kept))]
        _kept[(id(condition), id(entity))] = (condition, entity, result)
    return result


def compile_leaf(name: str, op: str, value, base: str | None) -> Test:
    """``test(record)`` of one checked leaf on a field of base type ``base`` (None:
    inferred): ``leaf_holds(op, record.get(name), value, base)``."""
    return _leaf(name, op, value, base)


def leaf_holds(op: str, actual, value, base: str | None) -> bool:
    """The verdict of one checked leaf for a record's value ``actual`` of a field of base
    type ``base`` (None: inferred): what every compiled leaf answers."""
    return bool(_test(op, actual, value, base))


def _malformed(path: str, why: str) -> ValueError:
    return ValueError(f"malformed condition at {path or '/'}: {why}")


def _compiled(condition, entity) -> Compiled:
    leaves: list[Leaf] = []
    test = _compile(condition, field_typer(entity), "", 0, leaves)
    return Compiled(test, tuple(leaves))


def _compile(cond, base_of, path: str, depth: int, leaves: list) -> Test:
    if not isinstance(cond, dict):
        raise _malformed(path, f"expected an object, got {show(cond)}")
    if depth >= MAX_DEPTH:
        raise _malformed(path, f"nested more than {MAX_DEPTH} levels deep")
    key = next((k for k in COMBINATORS if k in cond), None)
    if key == "not":
        inner = _compile(cond["not"], base_of, f"{path}/not", depth + 1, leaves)
        return lambda record: not inner(record)
    if key is not None:
        items = cond[key]
        if not isinstance(items, list):
            raise _malformed(f"{path}/{key}", f"expected a list, got {show(items)}")
        tests = tuple(_compile(c, base_of, f"{path}/{key}/{k}", depth + 1, leaves) for k, c in enumerate(items))
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
    test = _leaf(name, op, cond.get("value"), base_of(name))
    leaves.append(Leaf(path, name, op, cond, test))
    return test


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


def _test(op: str, actual, value, base: str | None) -> bool:
    """A leaf's verdict computed from scratch: the operators' meaning."""
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
