"""The condition language (metadata.conditions) compiled to SQL: one condition, one answer.

``condition_clause(condition, entity, table)`` gives a SQLAlchemy expression that selects
exactly the records ``metadata.conditions.evaluate_condition(condition, record, entity)``
holds for, on SQLite and PostgreSQL alike (a hypothesis test holds them to it):

- every leaf is two-valued, never SQL NULL, so ``not`` flips it as in Python (no
  three-valued logic): an empty value — NULL, ``""`` in a text column, no option in a
  multi_choice — fails every operator except ne, not_in and not_exists;
- text compares exactly: ``=`` and a case-sensitive substring test (``instr`` on SQLite,
  ``strpos`` on PostgreSQL: SQLite's LIKE ignores case);
- ``matches`` searches with the dialect's own matcher on SQLite (the ``REGEXP`` function
  every tenant connection registers) and with its translation into a PostgreSQL regular
  expression (``metadata.regex.postgres_pattern``) on PostgreSQL; ``""`` fails it as in
  Python;
- json fields compare only with exists / not_exists: others raise ``NotSQL``.

The list API's filters (engine.records.query) build leaves from ``?field__op=value`` with
values already converted (``parsed=True``) and compile them here.
"""
from __future__ import annotations

from datetime import datetime, time, timezone
from decimal import Decimal

from sqlalchemy import Boolean, and_, false, literal, not_, or_, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

from engine.crypto.columns import HASH_SUFFIX
from engine.errors import BadQuery
from engine.records.options import holds
from metadata.conditions import COMBINATORS, EMPTY_PASSES, check_condition, condition_field
from metadata.fieldtypes import parse_date, parse_datetime
from metadata.regex import PatternError, postgres_pattern

NEGATIONS = {"ne": "eq", "not_in": "in", "not_exists": "exists"}
TEXT_TYPES = frozenset(("string", "text", "email", "phone", "url", "choice"))
ORDERING = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__"}
ENCRYPTED_OPS = ("eq", "ne", "in", "not_in", "exists", "not_exists")  # through the keyed hash


class NotSQL(ValueError):
    """A condition with no SQL form (a json comparison)."""


class _Substring(ColumnElement):
    """``needle`` occurs in ``column``, case-sensitively."""

    type = Boolean()
    inherit_cache = False

    def __init__(self, column, needle: str):
        self.column, self.needle = column, needle


@compiles(_Substring)
def _substring_sqlite(element, compiler, **kw):
    return f"(instr({compiler.process(element.column, **kw)}, {compiler.process(literal(element.needle), **kw)}) > 0)"


@compiles(_Substring, "postgresql")
def _substring_postgresql(element, compiler, **kw):
    return f"(strpos({compiler.process(element.column, **kw)}, {compiler.process(literal(element.needle), **kw)}) > 0)"


class _Matches(ColumnElement):
    """``pattern`` (the dialect of metadata.regex) is found in ``column``."""

    type = Boolean()
    inherit_cache = False

    def __init__(self, column, pattern: str):
        try:
            self.column, self.pattern, self.posix = column, pattern, postgres_pattern(pattern)
        except PatternError as error:
            raise NotSQL(f"{pattern!r} is not a pattern Loom can match: {error}") from None


@compiles(_Matches)
def _matches_sqlite(element, compiler, **kw):
    return f"({compiler.process(element.column, **kw)} REGEXP {compiler.process(literal(element.pattern), **kw)})"


@compiles(_Matches, "postgresql")
def _matches_postgresql(element, compiler, **kw):
    return f"({compiler.process(element.column, **kw)} ~ {compiler.process(literal(element.posix), **kw)})"


def condition_clause(condition, entity, table, parsed: bool = False, negated: bool = False):
    """The SQL form of a condition ``check_condition`` accepts (NotSQL if it has none).

    ``parsed``: leaf values are already the column's Python values (list filters).
    Under an odd number of negations a leaf must be two-valued (NOT NULL is NULL, which a
    WHERE drops); elsewhere NULL already acts as false (AND / OR are monotone), so the
    leaf needs no ``IS NOT NULL`` and stays the plain, indexable comparison."""
    key = next((k for k in COMBINATORS if k in condition), None)
    if key == "not":
        return not_(condition_clause(condition["not"], entity, table, parsed, not negated))
    if key is not None:
        parts = [condition_clause(c, entity, table, parsed, negated) for c in condition[key]]
        return and_(*parts) if key == "all" else or_(*parts)
    op = condition["op"]
    if op in NEGATIONS:
        return not_(_positive(condition, NEGATIONS[op], entity, table, parsed, not negated))
    return _positive(condition, op, entity, table, parsed, negated)


def condition_where(entity, table, condition):
    """A condition (the language of docs/metadata.md#conditions) as a WHERE clause."""
    problems = check_condition(condition, entity, "/condition")
    if problems:
        raise BadQuery("the condition is invalid", details=[(p.path, p.message) for p in problems])
    try:
        return condition_clause(condition, entity, table)
    except NotSQL as unsupported:
        raise BadQuery(str(unsupported), details=[("condition", str(unsupported))]) from None


def empty_clause(field, column):
    """The records whose ``field`` is empty (see the truth table in docs/metadata.md)."""
    base = field.base_type
    if base in TEXT_TYPES:
        return or_(column.is_(None), column == "")
    if base == "multi_choice":
        return or_(column.is_(None), not_(holds(column, field.option_values(), every=False)))
    return column.is_(None)


def _positive(leaf: dict, op: str, entity, table, parsed: bool, negated: bool):
    """A leaf whose op an empty value fails; ``negated``: true or false, never NULL."""
    assert op not in EMPTY_PASSES
    field = condition_field(entity, leaf["field"])
    base, column = field.base_type, table.c[field.name]

    def known(*tests):  # the column's NULL test only where NULL must read as false
        if negated and column.nullable:
            return and_(column.isnot(None), *tests)
        return and_(*tests) if len(tests) > 1 else tests[0]

    if field.encrypted:
        return _encrypted(field, op, leaf, table, known, parsed)
    if op == "exists":
        return not_(empty_clause(field, column))
    if base == "json":
        raise NotSQL(f"{field.name!r} (json) is compared only with exists / not_exists in SQL")
    value = leaf["value"]
    if op == "matches":  # "" is empty: it fails, whatever the pattern (^$ included)
        return known(_Matches(column, value), column != "")
    if op == "contains":
        test = holds(column, [value], every=True) if base == "multi_choice" else _Substring(column, value)
        return known(test)
    if base == "multi_choice":  # eq: the same set of options
        wanted = set(value)
        others = [o for o in field.option_values() if o not in wanted]
        test = holds(column, sorted(wanted), every=True)
        return known(test, not_(holds(column, others, every=False)) if others else true())
    if op == "in":
        values = value if parsed else [_sql_value(base, v) for v in value]
        return known(column.in_(values)) if values else false()
    value = value if parsed else _sql_value(base, value)
    if op == "eq":
        return known(column == value)
    return known(getattr(column, ORDERING[op])(value))


def _encrypted(field, op, leaf, table, known, parsed):
    """A field encrypted at rest compares through its keyed hash: equality only."""
    hashed = table.c[field.name + HASH_SUFFIX]  # its type hashes the values compared with it
    if op == "exists":
        return not_(empty_clause(field, hashed))
    if op == "eq":
        return known(hashed == (leaf["value"] if parsed else _sql_value(field.base_type, leaf["value"])))
    if op == "in":
        values = leaf["value"] if parsed else [_sql_value(field.base_type, v) for v in leaf["value"]]
        return known(hashed.in_(values)) if values else false()
    raise NotSQL(f"{field.name!r} is encrypted at rest: it is compared only with {', '.join(ENCRYPTED_OPS)}")


def _sql_value(base: str, value):
    """A condition's JSON value as the column's Python value."""
    if base in ("decimal", "currency"):
        return Decimal(str(value))
    if base in ("integer", "reference"):
        return int(value)
    if base == "date":
        return parse_date(value)
    if base == "datetime":
        moment = parse_datetime(value)
        if moment is None:
            moment = datetime.combine(parse_date(value), time(), tzinfo=timezone.utc)
        return moment
    return value
