"""Rows a write leaves beside its records (audit, outbox, the search index's queue)
inserted past SQLAlchemy's per-row parameter processing: a batch of 1,000 records leaves
1,000 audit rows, 1,000 outbox rows and up to 1,000 queue rows (and following the queue
writes some 6,000 search terms), and processing them value by value cost more than
writing them.

Rows are tuples of the values of `columns`, in that order: text, numbers, booleans and
None as they are, aware datetimes for `DateTime` columns, JSON-ready dicts and lists for
`JSON` columns. Columns left out get their server default (or NULL). Datetimes and JSON
values are written as SQLAlchemy writes them (on SQLite its bind processors for those
columns: the same text, read back by the same types), a value shared by every row (the
write's time) processed once.

The statements go to the driver's own cursor, in the connection's transaction (for a
single record's write SQLAlchemy's handling of three statements cost more than the rows).
On SQLite a batch is one prepared statement run for each row (`executemany`, in
process). On PostgreSQL every batch of a call goes in one pipeline (one round trip for a
single record's audit row, outbox row and terms together): a `packed` batch — many small
rows, the search terms — as one statement over one JSON parameter (one plan, one message,
the rows encoded by the json module in C); any other as one execution per row, so the
server parses a row's JSON value once (taking it out of a JSON array costs a second
parse, which for outbox payloads costs more than it saves).

`skip_existing` keeps a row that is already there (same key) instead of failing."""
from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.exc import DBAPIError


@dataclass(frozen=True)
class Rows:
    """Rows for one table: tuples of the values of `columns`."""
    table: object
    columns: tuple[str, ...]
    rows: list
    skip_existing: bool = False
    packed: bool = False  # PostgreSQL: one statement over one JSON parameter


def insert_all(conn, batches: list[Rows]) -> None:
    """Insert the rows of every batch, in the order given (one round trip on PostgreSQL)."""
    batches = [batch for batch in batches if batch.rows]
    if not batches:
        return
    dialect = conn.dialect
    postgresql = dialect.name == "postgresql"
    driver = conn.connection.driver_connection
    cursor, sql = driver.cursor(), None
    try:
        with driver.pipeline() if postgresql else nullcontext():
            for b in batches:
                sql = _statement(dialect, b.table, b.columns, b.skip_existing, b.packed and postgresql)
                if b.packed and postgresql:
                    cursor.execute(sql, (json.dumps(b.rows, ensure_ascii=False, default=_json_default),))
                else:
                    cursor.executemany(sql, _driver_values(dialect, b.table, b.columns, b.rows))
    except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy would raise it
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from None
    finally:
        cursor.close()


@lru_cache(maxsize=256)
def _statement(dialect, table, columns: tuple[str, ...], skip_existing: bool, packed: bool) -> str:
    preparer = dialect.identifier_preparer
    head = f"INSERT INTO {preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in columns)})"
    tail = " ON CONFLICT DO NOTHING" if skip_existing else ""
    if packed:
        values = ", ".join(_pg_value(dialect, table.c[c].type, i) for i, c in enumerate(columns))
        return f"{head} SELECT {values} FROM json_array_elements(%s::json) AS j{tail}"
    mark = "%s" if dialect.name == "postgresql" else "?"
    return f"{head} VALUES ({', '.join(mark for _ in columns)}){tail}"


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


def _driver_values(dialect, table, columns, rows) -> list[tuple]:
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
    """(index, processor) of the columns whose values the driver does not take as they are:
    SQLAlchemy's bind processors on SQLite; JSON as text on PostgreSQL (the driver takes
    datetimes)."""
    found = []
    for index, name in enumerate(columns):
        type_ = table.c[name].type
        if dialect.name == "postgresql":
            if isinstance(type_, JSON):
                found.append((index, json.dumps))
        elif isinstance(type_, (DateTime, JSON)):
            process = type_.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                found.append((index, process))
    return found
