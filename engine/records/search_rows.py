"""How rows of the search index `loom_search` are written and removed in bulk: as tuples
`(term, entity, record_id, field, at_start)`, in one statement per batch, past
SQLAlchemy's per-row parameter processing (a batch of 1,000 contacts is some 6,000 rows).

On PostgreSQL a batch is one statement over one JSON parameter (`json_array_elements`:
one round trip, one plan, and the rows are encoded by the json module in C rather than
adapted value by value); on SQLite one prepared statement run for each row
(`executemany`, in-process). An insert keeps a row that is already there instead of
failing the write: the index may hold a term of a value written outside the record
service, and the record's write must not fail for it."""
from __future__ import annotations

import json

COLUMNS = "term, entity, record_id, field, at_start"
_PG_ROWS = "SELECT j->>0, j->>1, (j->>2)::bigint, j->>3{} FROM json_array_elements(%s::json) AS j"


def insert_rows(conn, table, rows: list[tuple]) -> None:
    """Insert `rows` in key order (neighbours land in the same B-tree pages, a fifth less
    work on SQLite than in the order the records came)."""
    if not rows:
        return
    rows = sorted(rows)
    name = conn.dialect.identifier_preparer.format_table(table)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"INSERT INTO {name} ({COLUMNS}) {_PG_ROWS.format(', (j->>4)::boolean')} "
                             "ON CONFLICT DO NOTHING", (json.dumps(rows, ensure_ascii=False),))
    else:
        conn.exec_driver_sql(f"INSERT INTO {name} ({COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows)


def delete_rows(conn, table, rows: list[tuple]) -> None:
    """Remove the rows with the keys of `rows` (their `at_start` is not compared)."""
    if not rows:
        return
    keys = [row[:4] for row in rows]
    name = conn.dialect.identifier_preparer.format_table(table)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"DELETE FROM {name} WHERE (term, entity, record_id, field) IN ({_PG_ROWS.format('')})",
                             (json.dumps(keys, ensure_ascii=False),))
    else:
        conn.exec_driver_sql(f"DELETE FROM {name} WHERE term = ? AND entity = ? AND record_id = ? AND field = ?", keys)
