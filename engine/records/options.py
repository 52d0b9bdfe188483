"""Which records of a multi_choice field hold some or all of a set of options, in SQL.

A multi_choice value is a JSON array of distinct option values: JSONB on PostgreSQL,
JSON text on SQLite. `holds(column, values, every)` is true when the array holds every
one of `values` (`every`) or at least one of them; it is false for SQL NULL, a JSON
null and an empty array.

PostgreSQL: `column @> '["a","b"]'` (every) and `column ?| array['a','b']` (any) — the
JSONB operators a GIN index on the column serves. SQLite: an EXISTS / a count over
`json_each(column)` (SQLite has no index on the elements of a JSON array; each row's
array is read).
"""
from __future__ import annotations

from sqlalchemy import Boolean, Text, distinct, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement


class Holds(ColumnElement):
    """The condition, compiled for each backend below."""

    type = Boolean()
    inherit_cache = False  # holds bound values of its own: not worth a cache key

    def __init__(self, column, values, every: bool):
        self.column = column
        self.values = sorted(set(values))
        self.every = every


def holds(column, values, every: bool) -> Holds:
    return Holds(column, values, every)


@compiles(Holds, "postgresql")
def _postgresql(element, compiler, **kw):
    if element.every:
        clause = element.column.op("@>", return_type=Boolean)(literal(element.values, JSONB))
    else:
        clause = element.column.op("?|", return_type=Boolean)(literal(element.values, ARRAY(Text)))
    return compiler.process(clause, **kw)


@compiles(Holds)
def _json_each(element, compiler, **kw):
    items = func.json_each(element.column).table_valued("value")
    matching = items.c.value.in_(element.values)
    if element.every:
        clause = select(func.count(distinct(items.c.value))).where(matching).scalar_subquery() \
            == len(element.values)
    else:
        clause = select(literal(1)).select_from(items).where(matching).exists()
    return compiler.process(clause, **kw)
