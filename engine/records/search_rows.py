"""How rows of the search index `loom_search` are written and removed in bulk: as tuples
`(term, entity, record_id, field, at_start)`, in one statement per batch (a batch of 1,000
contacts is some 6,000 rows).

Rows are inserted by `bulk_rows`, packed (on PostgreSQL one statement over one JSON
parameter, on SQLite one prepared statement run for each row). An insert keeps a row that is
already there instead of failing the write: the index may hold a term of a value written
outside the record service, and the record's write must not fail for it. Rows are
removed by their keys the same way."""
from __future__ import annotations

import json

from engine.records.bulk_rows import Rows, insert_all

COLUMNS = ("term", "entity", "record_id", "field", "at_start")
_PG_KEYS = "SELECT j->>0, j->>1, (j->>2)::bigint, j->>3 FROM json_array_elements(%s::json) AS j"


def term_rows(table, rows: list[tuple]) -> Rows:
    """`rows` to insert, in key order (neighbours land in the same B-tree pages, a fifth
    less work on SQLite than in the order the records came), for `bulk_rows.insert_all`."""
    return Rows(table, COLUMNS, sorted(rows), skip_existing=True, packed=True)


def insert_rows(conn, table, rows: list[tuple]) -> None:
    insert_all(conn, [term_rows(table, rows)])


def delete_rows(conn, table, rows: list[tuple]) -> None:
    """Remove the rows with the keys of `rows` (their `at_start` is not compared)."""
    if not rows:
        return
    keys = [row[:4] for row in rows]
    name = conn.dialect.identifier_preparer.format_table(table)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"DELETE FROM {name} WHERE (term, entity, record_id, field) IN ({_PG_KEYS})",
                             (json.dumps(keys, ensure_ascii=False),))
    else:
        conn.exec_driver_sql(f"DELETE FROM {name} WHERE term = ? AND entity = ? AND record_id = ? AND field = ?", keys)
