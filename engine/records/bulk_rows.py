"""Rows a write leaves beside its records (audit, outbox, search terms) inserted in one
statement per batch, past SQLAlchemy's per-row parameter processing: a batch of 1,000
records leaves 1,000 audit rows, 1,000 outbox rows and some 6,000 search terms, and
processing them value by value cost more than writing them.

Rows are tuples of the values of `columns`, in that order: text, numbers, booleans and
None as they are, aware datetimes for `DateTime` columns, JSON-ready dicts and lists for
`JSON` columns. Columns left out get their server default (or NULL).

On PostgreSQL a batch is one statement over one JSON parameter (`json_array_elements`:
one round trip, one plan; the json module encodes the whole batch in C, nested JSON
values included, and each column is cast to its type). On SQLite one prepared statement
is run for each row (`executemany`, in process); datetimes and JSON values are written
as SQLAlchemy writes them (its bind processors for those columns: the same text, read
back by the same types), a value shared by every row (the write's time) processed once.

`skip_existing` keeps a row that is already there (same key) instead of failing."""
from __future__ import annotations

import json
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import JSON, DateTime, String


def insert_rows(conn, table, columns: tuple[str, ...], rows: list[tuple], skip_existing: bool = False) -> None:
    """Insert `rows` (tuples of the values of `columns`) into `table`."""
    if not rows:
        return
    sql = _statement(conn.dialect, table, tuple(columns), skip_existing)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(sql, (json.dumps(rows, ensure_ascii=False, default=_json_default),))
    else:
        conn.exec_driver_sql(sql, _sqlite_values(conn.dialect, table, columns, rows))


@lru_cache(maxsize=256)
def _statement(dialect, table, columns: tuple[str, ...], skip_existing: bool) -> str:
    name = dialect.identifier_preparer.format_table(table)
    quoted = ", ".join(dialect.identifier_preparer.quote(c) for c in columns)
    tail = " ON CONFLICT DO NOTHING" if skip_existing else ""
    if dialect.name == "postgresql":
        values = ", ".join(_pg_value(dialect, table.c[c].type, i) for i, c in enumerate(columns))
        return f"INSERT INTO {name} ({quoted}) SELECT {values} FROM json_array_elements(%s::json) AS j{tail}"
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {name} ({quoted}) VALUES ({marks}){tail}"


def _pg_value(dialect, type_, index: int) -> str:
    """The value of column `index` of a row of the JSON array, as the column's type."""
    if isinstance(type_, JSON):
        return f"j->{index}"
    if isinstance(type_, String):  # text, assigned to the column as it is
        return f"j->>{index}"
    return f"(j->>{index})::{type_.compile(dialect=dialect)}"


def _json_default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a value of a row")


def _sqlite_values(dialect, table, columns, rows) -> list[tuple]:
    """The rows with their datetimes and JSON values as SQLAlchemy writes them."""
    processors = _processors(dialect, table, tuple(columns))
    if not processors:
        return rows
    values = list(zip(*rows))
    for index, process in processors:
        column = values[index]
        first = column[0]
        if all(value is first for value in column):  # one time for the whole batch
            values[index] = (process(first),) * len(column)
        else:
            values[index] = list(map(process, column))
    return list(zip(*values))


@lru_cache(maxsize=256)
def _processors(dialect, table, columns: tuple[str, ...]) -> list:
    found = []
    for index, name in enumerate(columns):
        type_ = table.c[name].type
        if isinstance(type_, (DateTime, JSON)):
            process = type_.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                found.append((index, process))
    return found
