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

`skip_existing` keeps a row that is already there (same key) instead of failing.
`insert_all` writes the rows of several tables: on PostgreSQL in one statement (each
table's INSERT a clause of it), so a single record's write pays one round trip for its
audit row, its outbox row and its search terms together."""
from __future__ import annotations

import json
from datetime import date, datetime
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import JSON, DateTime, String


@dataclass(frozen=True)
class Rows:
    """Rows for one table: tuples of the values of `columns`."""
    table: object
    columns: tuple[str, ...]
    rows: list
    skip_existing: bool = False


def insert_rows(conn, table, columns: tuple[str, ...], rows: list[tuple], skip_existing: bool = False) -> None:
    """Insert `rows` (tuples of the values of `columns`) into `table`."""
    insert_all(conn, [Rows(table, tuple(columns), rows, skip_existing)])


def insert_all(conn, batches: list[Rows]) -> None:
    """Insert the rows of every batch, in the order given (one statement on PostgreSQL)."""
    batches = [batch for batch in batches if batch.rows]
    if not batches:
        return
    if conn.dialect.name == "postgresql":
        sql = _pg_statement(conn.dialect, tuple((b.table, b.columns, b.skip_existing) for b in batches))
        conn.exec_driver_sql(sql, tuple(json.dumps(b.rows, ensure_ascii=False, default=_json_default)
                                        for b in batches))
        return
    for batch in batches:
        conn.exec_driver_sql(_sqlite_statement(conn.dialect, batch.table, batch.columns, batch.skip_existing),
                             _sqlite_values(conn.dialect, batch.table, batch.columns, batch.rows))


@lru_cache(maxsize=256)
def _pg_statement(dialect, specs: tuple) -> str:
    """One INSERT per (table, columns, skip_existing), the first ones as clauses of the last."""
    inserts = []
    for table, columns, skip_existing in specs:
        values = ", ".join(_pg_value(dialect, table.c[c].type, i) for i, c in enumerate(columns))
        inserts.append(f"INSERT INTO {_head(dialect, table, columns)} SELECT {values} "
                       f"FROM json_array_elements(%s::json) AS j{' ON CONFLICT DO NOTHING' if skip_existing else ''}")
    clauses = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(inserts[:-1]))
    return f"WITH {clauses} {inserts[-1]}" if clauses else inserts[-1]


@lru_cache(maxsize=256)
def _sqlite_statement(dialect, table, columns: tuple[str, ...], skip_existing: bool) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {_head(dialect, table, columns)} VALUES ({marks}){' ON CONFLICT DO NOTHING' if skip_existing else ''}"


def _head(dialect, table, columns) -> str:
    preparer = dialect.identifier_preparer
    return f"{preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in columns)})"


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
