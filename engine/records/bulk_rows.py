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
On SQLite a batch is written `STATEMENT_ROWS` rows to a statement (`INSERT … VALUES (…),
(…), …`: SQLite's own loop over the rows, ~30% less time per row than the driver's
`executemany` of a one-row statement, whose per-row binding and stepping it saves), the rows
left over by one-row statements (`executemany`); the statements are prepared once and kept
by the driver's cache. On PostgreSQL every batch of a call goes in one pipeline (one round trip for a
single record's audit row, outbox row and terms together): a `packed` batch — many small
rows, the search terms — as one statement over one JSON parameter (one plan, one message,
the rows encoded by the json module in C); any other as one execution per row, so the
server parses a row's JSON value once (taking it out of a JSON array costs a second
parse, which for outbox payloads costs more than it saves).

`skip_existing` keeps a row that is already there (same key) instead of failing.

`meanwhile`, a function that does not use the connection (nor anything that reads through
it), is called once while the database writes the rows: on PostgreSQL, when the last batch is
a COPY, after all of its rows were sent and before its end is waited for, so the server
inserts them (and fills their indexes) while this process does the work (a batch create
makes its audit and outbox rows so); otherwise after the statements. An error it raises is
raised once the rows are written, so the database's own refusal of a row (a unique value
taken) comes first, as it would without it. What it returns, `insert_all` returns. Likewise a
COPY's data is formatted while the server inserts the rows of the COPY before it.

`typed` rows hold column values as the record service converts them (dates, decimals,
values of columns encrypted at rest): every column goes through SQLAlchemy's own bind
processor, column by column (what `Connection.execute(table.insert(), dicts)` does row by
row). On PostgreSQL a batch of at least `COPY_ROWS` rows that are not `packed` nor
`skip_existing` is written with `COPY … FROM STDIN` (one statement for the whole batch, the
rows streamed in text form: a batch create's records, audit and outbox rows) — COPY does
not run in a pipeline, so it costs a round trip of its own, cheaper than a statement per
row from a few dozen rows on."""
from __future__ import annotations

import io
import json
import sqlite3
from itertools import chain
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from psycopg.copy import Copy, FileWriter, LibpqWriter
from sqlalchemy import JSON, Boolean, Date, DateTime, String
from sqlalchemy.exc import DBAPIError


class Encoded(str):
    """The value of a JSON column already written out as JSON text: written as it is."""

    __slots__ = ()


@dataclass(frozen=True)
class Rows:
    """Rows for one table: tuples of the values of `columns`."""
    table: object
    columns: tuple[str, ...]
    rows: list
    skip_existing: bool = False
    packed: bool = False  # PostgreSQL: one statement over one JSON parameter
    typed: bool = False  # every column through SQLAlchemy's bind processor


COPY_ROWS = 64  # PostgreSQL: batches from this size on are written with COPY
STATEMENT_ROWS = 250  # SQLite: rows one statement inserts (fewer where the columns would pass SQLite's limit)
COMMITS_EARLY = "loom_commits_early"  # execution option: `insert_all(commit=True)` may send COMMIT


def insert_all(conn, batches: list[Rows], commit: bool = False, meanwhile=None):
    """Insert the rows of every batch, in the order given (one round trip on PostgreSQL,
    plus one per batch written with COPY). `commit`: these are the last statements of a
    write transaction that `pinning.held` opened on PostgreSQL (execution option
    `COMMITS_EARLY`): its COMMIT goes in the same round trip (the connection's own commit,
    when the block ends, then finds nothing to do). `meanwhile()` is called while the
    database writes them (see above; not with `commit`, which could commit before it ran);
    its result is returned."""
    if commit and meanwhile is not None:
        raise ValueError("insert_all: `meanwhile` cannot run beside a COMMIT sent with the rows")
    batches = [batch for batch in batches if batch.rows]
    waiting = _Meanwhile(meanwhile)
    if batches:
        _insert(conn, batches, commit, waiting)
    return waiting()


class _Meanwhile:
    """A `meanwhile` function, run once: while the rows are on their way (`run`) or after
    them (`__call__`)."""

    __slots__ = ("work", "result", "error", "done")

    def __init__(self, work):
        self.work, self.result, self.error, self.done = work, None, None, work is None

    def run(self) -> None:
        """Do the work now, if not done yet; an error it raises is kept for `__call__`."""
        if not self.done:
            self.done = True
            try:
                self.result = self.work()
            except Exception as exc:  # raised once the rows are written
                self.error = exc

    def __call__(self):
        """The work's result (done now if it was not yet), or its error raised."""
        self.run()
        if self.error is not None:
            raise self.error
        return self.result


def _insert(conn, batches: list[Rows], commit: bool, meanwhile: _Meanwhile) -> None:
    """`insert_all`'s statements, through the driver's cursor."""
    dialect = conn.dialect
    postgresql = dialect.name == "postgresql"
    driver = conn.connection.driver_connection
    cursor, sql = driver.cursor(), None
    try:
        if not postgresql:
            variables = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            for b in batches:
                rows = _rows_of(dialect, b)
                per = min(STATEMENT_ROWS, variables // len(b.columns))
                whole = len(rows) - len(rows) % per if per > 1 else 0
                if whole:
                    sql = _statement(dialect, b.table, b.columns, b.skip_existing, False, per)
                    for start in range(0, whole, per):
                        cursor.execute(sql, list(chain.from_iterable(rows[start:start + per])))
                if whole < len(rows):
                    sql = _statement(dialect, b.table, b.columns, b.skip_existing, False)
                    cursor.executemany(sql, rows[whole:])
            return
        pending: list[Rows] = []
        formatted = None  # this COPY's data, formatted while the server inserted the one before
        for index, b in enumerate(batches + [None]):
            if b is not None and not _copied(b):
                pending.append(b)
                continue
            if pending:  # the statements since the last COPY, in one pipeline
                with driver.pipeline():
                    for p in pending:
                        sql = _statement(dialect, p.table, p.columns, p.skip_existing, p.packed)
                        if p.packed:
                            cursor.execute(sql, (json.dumps(p.rows, ensure_ascii=False, default=_json_default),))
                        else:
                            cursor.executemany(sql, _rows_of(dialect, p))
                    if b is None and commit and conn.get_execution_options().get(COMMITS_EARLY):
                        sql = "COMMIT"
                        cursor.execute(sql)
                pending = []
            if b is not None:
                sql = _copy_statement(dialect, b.table, b.columns)
                with cursor.copy(sql, writer=LibpqWriter(cursor, flush_threshold=0)) as copy:  # sent as written
                    for data in [formatted] if formatted is not None else _pieces(driver, dialect, b):
                        copy.write(data)
                    # every row sent: while the server inserts them,
                    following = batches[index + 1] if index + 1 < len(batches) else None
                    formatted = _formatted(driver, _rows_of(dialect, following)) \
                        if following is not None and _copied(following) else None
                    if following is None:
                        meanwhile.run()
    except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy would raise it
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error, dialect=dialect) from None
    finally:
        cursor.close()


PIECE = 256  # rows formatted and sent at a time: the server starts on the first ones meanwhile


def _pieces(driver, dialect, batch: Rows):
    """A COPY batch's data, `PIECE` rows at a time."""
    rows = _rows_of(dialect, batch)
    for start in range(0, len(rows), PIECE):
        yield _formatted(driver, rows[start:start + PIECE])


def _rows_of(dialect, batch: Rows) -> list:
    """The batch's rows as the driver takes them."""
    return _driver_values(dialect, batch.table, batch.columns, batch.rows, batch.typed)


def _formatted(driver, rows) -> bytes:
    """Rows (as the driver takes them) in COPY's text form, as the driver sends them
    (`psycopg.copy.FileWriter`: formatted here, sent when it suits)."""
    buffer = io.BytesIO()
    with driver.cursor() as cursor, Copy(cursor, writer=FileWriter(buffer)) as copy:
        write = copy.write_row
        for row in rows:
            write(row)
    return buffer.getvalue()


def _copied(batch: Rows) -> bool:
    """PostgreSQL: is this batch written with COPY?"""
    return len(batch.rows) >= COPY_ROWS and not batch.packed and not batch.skip_existing


@lru_cache(maxsize=256)
def _copy_statement(dialect, table, columns: tuple[str, ...]) -> str:
    preparer = dialect.identifier_preparer
    return f"COPY {preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in columns)}) FROM STDIN"


@lru_cache(maxsize=256)
def _statement(dialect, table, columns: tuple[str, ...], skip_existing: bool, packed: bool,
               rows: int = 1) -> str:
    """The INSERT of a batch's rows: `rows` rows to a statement (SQLite), or `packed`."""
    preparer = dialect.identifier_preparer
    head = f"INSERT INTO {preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in columns)})"
    tail = " ON CONFLICT DO NOTHING" if skip_existing else ""
    if packed:
        values = ", ".join(_pg_value(dialect, table.c[c].type, i) for i, c in enumerate(columns))
        return f"{head} SELECT {values} FROM json_array_elements(%s::json) AS j{tail}"
    mark = "%s" if dialect.name == "postgresql" else "?"
    row = f"({', '.join(mark for _ in columns)})"
    return f"{head} VALUES {', '.join(row for _ in range(rows))}{tail}"


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


def _driver_values(dialect, table, columns, rows, typed: bool = False) -> list[tuple]:
    """The rows with their datetimes and JSON values (`typed`: every value) as SQLAlchemy
    writes them."""
    processors = _processors(dialect, table, tuple(columns), typed)
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
def _processors(dialect, table, columns: tuple[str, ...], typed: bool = False) -> list:
    """(index, processor) of the columns whose values the driver does not take as they are:
    SQLAlchemy's bind processors on SQLite; JSON as text on PostgreSQL (the driver takes
    datetimes). `typed`: every column's own bind processor, as SQLAlchemy runs it. A JSON
    column's `Encoded` values are kept as they are."""
    found = []
    for index, name in enumerate(columns):
        type_ = table.c[name].type
        if typed:
            shortcut = _sqlite_shortcut(type_, dialect) if dialect.name == "sqlite" else None
            process = None if shortcut is _AS_IT_IS else shortcut or type_._cached_bind_processor(dialect)
        elif dialect.name == "postgresql":
            process = json.dumps if isinstance(type_, JSON) else None
        elif isinstance(type_, (DateTime, JSON)):
            process = type_.dialect_impl(dialect).bind_processor(dialect)
        else:
            process = None
        if process is not None:
            found.append((index, _keeping_encoded(process) if isinstance(type_, JSON) else process))
    return found


_AS_IT_IS = object()


def _sqlite_shortcut(type_, dialect):
    """SQLite: what writes a typed value as SQLAlchemy's own processor does, in fewer
    steps (a property test holds them equal): a date's ISO text (SQLAlchemy formats its
    fields one by one), a boolean as it is (`_AS_IT_IS`: the driver binds True as 1, as
    SQLAlchemy's `int()` makes it). None: SQLAlchemy's own."""
    if type(type_) is Boolean:
        return _AS_IT_IS
    if type(type_) is Date:
        slow = type_._cached_bind_processor(dialect)
        return lambda value: value.isoformat() if value.__class__ is date else slow(value)
    return None


def _keeping_encoded(process):
    def keep(value):
        return value if value.__class__ is Encoded else process(value)
    return keep
