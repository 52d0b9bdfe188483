"""Pinning each record operation to one metadata version.

The record service compiles its statements from the metadata version its session
loaded; an admin may apply another version between that load and the operation's
transaction. Each transaction of the service therefore checks the version it runs
under: a write from its start (`held`), a read after its rows (`confirm`).
When the version moved they raise `MetadataChanged`; the service then runs the
operation once more under the new version, and the caller gets this retryable 503 only
if the version moves again.

Writes. On SQLite a write transaction holds the database's write lock from its first
statement, so no migration commits before it ends. On PostgreSQL the transaction
takes the tenant's version lock in shared mode and then reads the version, in the round
trip of its BEGIN (`held` sends the three through libpq, psycopg's documented low-level
connection: the driver then finds its transaction open and sends no BEGIN of its own,
and commits or rolls back that transaction as its own); a migration takes the lock exclusively
(`exclude_writers`) before anything else, so it waits for the writes in flight, and
writes that begin during it wait for it and then read its version. The record service's
writes send their COMMIT with their last rows (`bulk_rows.insert_all(commit=True)`).

Reads take no lock. A list page and a single record read the version as a column of
their own statement (`versioned`, `versioned_row`: the same snapshot, no second
statement; a single record's read carries it even when no record matches); other reads
(and a page without rows) read it just after their rows — on SQLite in the snapshot the
rows came from, on PostgreSQL (read committed) after them — so an unchanged version means
no migration had committed when the rows were read."""
from __future__ import annotations

import functools
import zlib
from contextlib import contextmanager

from psycopg import pq
from psycopg.errors import error_from_result
from sqlalchemy import literal_column, select, text
from sqlalchemy.exc import DBAPIError

from engine.errors import LoomError
from engine.records.bulk_rows import COMMITS_EARLY

LOCK_CLASS = 0x4C4F4F4D  # "LOOM": the first key of the version lock; the second is the tenant's


class MetadataChanged(LoomError):
    """The tenant's metadata changed while the request ran; nothing was written."""

    status, code = 503, "metadata_changed"
    retry_after = 1  # seconds (the Retry-After header)

    def __init__(self, message="the tenant's metadata changed while the request ran; nothing was "
                               "written: send the request again", **kwargs):
        super().__init__(message, **kwargs)


@contextmanager
def held(storage, version: int):
    """A write transaction of `storage` (committed when the block ends without an error)
    that holds `version` from its start: `MetadataChanged` if the version is another.
    In a storage of one transaction (`engine.rolled_back`), that transaction holds it."""
    if storage.dialect != "postgresql" or storage.single_transaction:
        with storage.begin() as conn:
            _check(_read(conn, _version_sql(storage.schema)), version)
            yield conn
        return
    with storage.engine.connect() as conn:
        conn = conn.execution_options(loom_write=True, **{COMMITS_EARLY: True})
        with conn.begin():  # the driver sends COMMIT or ROLLBACK, and no BEGIN (see _begin_holding)
            _check(_begin_holding(conn, storage.schema), version)
            yield conn


def _begin_holding(conn, schema: str | None) -> int:
    """PostgreSQL: BEGIN, the version lock in shared mode, then the version read in a
    snapshot of its own — one round trip, sent as one query through libpq (the driver's
    `pgconn`), past psycopg's own handling of the connection, which would send a BEGIN
    first (a round trip of its own) or, switched to autocommit and back for this, cost a
    write more Python than the query. Returns the version."""
    sql = (f"BEGIN; SELECT pg_advisory_xact_lock_shared({LOCK_CLASS}, {_tenant_key(schema)}); "
           f"{_version_sql(schema)}")
    result = conn.connection.driver_connection.pgconn.exec_(sql.encode())
    if result.status != pq.ExecStatus.TUPLES_OK:  # as SQLAlchemy would raise it
        dbapi_error = conn.dialect.loaded_dbapi.Error
        raise DBAPIError.instance(sql, None, error_from_result(result), dbapi_error, dialect=conn.dialect)
    return int(result.get_value(0, 0))


def hold_version(conn, schema: str | None) -> None:
    """Hold the tenant's metadata version for the rest of `conn`'s transaction, as a write
    does: on PostgreSQL the version lock in shared mode; on SQLite the write transaction
    (BEGIN IMMEDIATE) already excludes migrations."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({LOCK_CLASS}, {_tenant_key(schema)})")


def confirm(conn, schema: str | None, version: int) -> None:
    """Last statement of a read: the rows were read under `version`."""
    _check(_read(conn, _version_sql(schema)), version)


VERSION_COLUMN = "loom_metadata_version"


def versioned(stmt, conn, schema: str | None):
    """`stmt` (a SELECT) also reading the tenant's metadata version, as the column
    `VERSION_COLUMN` of each row (an uncorrelated subquery: both backends evaluate it once
    per statement): `confirm_rows` then checks it without a second statement.

    On PostgreSQL the column is `coalesce(version, random())`: the version is never NULL,
    so random() is never called, but the planner sees a volatile expression and computes
    the column after the sort and the limit, for the page's rows only. A plain column
    would be added to every row the sort reads (each row built anew, where a scan hands
    its rows to the sort as they are): +20 % server CPU on a page sorted out of 12,000
    rows (docs/benchmarks.md)."""
    version = f"({_version_sql(schema)})"
    if conn.dialect.name == "postgresql":
        version = f"coalesce({version}, random()::int)"
    return stmt.add_columns(literal_column(version).label(VERSION_COLUMN))


def versioned_row(table, where, schema: str | None):
    """The row of `table` matching `where` (a condition on its primary key) with the
    tenant's metadata version as the column `VERSION_COLUMN`; when no row matches, one row
    with the version alone (the table's columns NULL): one statement either way. The table
    is joined to the version on `where`, outer, so the version's one row always comes out."""
    version = _version_subquery(schema)
    return select(table, version.c[VERSION_COLUMN]).select_from(version).outerjoin(table, where)


def confirm_rows(conn, schema: str | None, version: int, rows) -> list:
    """`confirm` for rows read by a `versioned` statement or `versioned_row`: the version
    they carry (no rows, or not versioned: the version read now). Returns the rows, without
    `versioned_row`'s row of the version alone."""
    first = rows[0] if rows else None
    if first is None or VERSION_COLUMN not in first:
        confirm(conn, schema, version)
        return rows
    _check(first[VERSION_COLUMN], version)
    return rows if first.get("id", 0) is not None else []


def current(conn, schema: str | None) -> int:
    return _read(conn, _version_sql(schema))


def _read(conn, sql: str) -> int:
    """One number through the driver's cursor, in the connection's transaction: this runs
    in every record operation, and skipping SQLAlchemy's statement handling halves its cost."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchone()[0]
    finally:
        cursor.close()


def exclude_writers(conn, schema: str | None) -> None:
    """A migration's first statement (PostgreSQL): wait for the writes in flight and hold
    new ones until commit. On SQLite the migration's write transaction does this."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(exclusion_sql(schema))


def exclusion_sql(schema: str | None) -> str:
    """PostgreSQL: the statement of `exclude_writers`, for a caller that sends it with others."""
    return f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, {_tenant_key(schema)})"


def _check(current_version: int, version: int) -> None:
    if current_version != version:
        raise MetadataChanged()


def _version_sql(schema: str | None) -> str:
    return f"SELECT coalesce(max(version), 0) FROM {_version_table(schema)}"


def _version_table(schema: str | None) -> str:
    return f'"{schema}".loom_metadata_versions' if schema else "loom_metadata_versions"


@functools.lru_cache(maxsize=1024)
def _version_subquery(schema: str | None):
    """The one-row subquery of the version (built once per schema: it never changes)."""
    return select(literal_column("coalesce(max(version), 0)").label(VERSION_COLUMN)).select_from(
        text(_version_table(schema))).subquery("loom_version")


def _tenant_key(schema: str | None) -> int:
    """A 32-bit key per tenant schema (two tenants sharing one only wait for each other)."""
    return zlib.crc32((schema or "").encode()) - 2**31


def one_version(operation):
    """A record service operation run under one metadata version: run once more under the
    new version when the version moved under the first run (which wrote nothing), and
    `MetadataChanged` if it moves again. A database error while the version stood still
    is not the metadata's doing and passes through."""

    @functools.wraps(operation)
    def run(service, *args, **kwargs):
        try:
            return operation(service, *args, **kwargs)
        except (MetadataChanged, DBAPIError) as exc:
            if isinstance(exc, DBAPIError) and not _moved(service):
                raise
        service.renew()
        try:
            return operation(service, *args, **kwargs)
        except DBAPIError:
            if _moved(service):
                raise MetadataChanged() from None
            raise

    return run


def _moved(service) -> bool:
    with service.storage.connect() as conn:
        return current(conn, service.storage.schema) != service.metadata.version
