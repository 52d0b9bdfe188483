"""How rows of the search index `loom_search` are written in bulk: as tuples
`(term, entity, record_id, field, at_start)`, in one statement per batch (a batch of 1,000
contacts is some 6,000 rows).

Rows are inserted by `bulk_rows`, packed (on PostgreSQL one statement over one JSON
parameter, on SQLite one prepared statement run for each row). An insert keeps a row that is
already there instead of failing: the index may hold a term of a value written outside
the record service, and following a write must not fail for it. (Rows are removed by
record, `search_index._reindex_records`.)"""
from __future__ import annotations

from engine.records.bulk_rows import Rows, insert_all

COLUMNS = ("term", "entity", "record_id", "field", "at_start")


def term_rows(table, rows: list[tuple]) -> Rows:
    """`rows` to insert, in key order (neighbours land in the same B-tree pages, a fifth
    less work on SQLite than in the order the records came), for `bulk_rows.insert_all`."""
    return Rows(table, COLUMNS, sorted(rows), skip_existing=True, packed=True)


def insert_rows(conn, table, rows: list[tuple]) -> None:
    insert_all(conn, [term_rows(table, rows)])
