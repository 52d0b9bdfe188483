"""Allocating ids for a batch up front, so the rows go in with one executemany (no
RETURNING round trips) and the audit and outbox rows can name them."""
from __future__ import annotations

from sqlalchemy import func, select, text


def allocate_ids(conn, table, count: int) -> list[int]:
    if conn.dialect.name == "postgresql":
        qualified = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": qualified}).scalar_one()
        rows = conn.execute(
            select(func.nextval(sequence)).select_from(func.generate_series(1, count))).scalars().all()
        return list(rows)
    # SQLite: the caller holds the write lock (BEGIN IMMEDIATE), so nobody else can
    # insert between reading the highest id and using the ones after it.
    highest = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    used = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table.name}).scalar()
    highest = max(highest, used or 0)
    return list(range(highest + 1, highest + 1 + count))
