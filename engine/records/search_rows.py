"""How rows of the search index `loom_search` are written and removed in bulk: as tuples
`(term, entity, record_id, field, at_start)`, in one statement per batch, past
SQLAlchemy's per-row parameter processing (a batch of 1,000 contacts is some 6,000 rows).

On PostgreSQL a batch is one `INSERT … SELECT FROM unnest(arrays)` (one round trip, one
plan); on SQLite one prepared statement run for each row (`executemany`, in-process). An
insert keeps a row that is already there instead of failing the write: the index may
hold a term of a value written outside the record service, and the record's write must
not fail for it."""
from __future__ import annotations

COLUMNS = "term, entity, record_id, field, at_start"
_PG_TYPES = ("text", "text", "bigint", "text", "boolean")


def insert_rows(conn, table, rows: list[tuple]) -> None:
    """Insert `rows` in key order (neighbours land in the same B-tree pages, a fifth less
    work on SQLite than in the order the records came)."""
    if not rows:
        return
    rows = sorted(rows)
    name = conn.dialect.identifier_preparer.format_table(table)
    if conn.dialect.name == "postgresql":
        arrays = ", ".join(f"%s::{kind}[]" for kind in _PG_TYPES)
        conn.exec_driver_sql(f"INSERT INTO {name} ({COLUMNS}) SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING",
                             tuple(list(column) for column in zip(*rows)))
    else:
        conn.exec_driver_sql(f"INSERT INTO {name} ({COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows)


def delete_rows(conn, table, rows: list[tuple]) -> None:
    """Remove the rows with the keys of `rows` (their `at_start` is not compared)."""
    if not rows:
        return
    name = conn.dialect.identifier_preparer.format_table(table)
    if conn.dialect.name == "postgresql":
        arrays = ", ".join(f"%s::{kind}[]" for kind in _PG_TYPES[:4])
        conn.exec_driver_sql(f"DELETE FROM {name} WHERE (term, entity, record_id, field) IN "
                             f"(SELECT * FROM unnest({arrays}))",
                             tuple(list(column) for column in list(zip(*rows))[:4]))
    else:
        conn.exec_driver_sql(f"DELETE FROM {name} WHERE term = ? AND entity = ? AND record_id = ? AND field = ?",
                             [row[:4] for row in rows])
