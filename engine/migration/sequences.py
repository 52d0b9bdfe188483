"""Record ids are never issued twice: each entity table's id sequence stays ahead of
every id it ever gave out, whatever a migration did to the table.

An id names one record for good (its audit trail, its outbox events and references
in other records use it), so a migration must not let the next record take the id of
one deleted earlier. Three things could make it do so: SQLite rebuilding a table in
batch mode (the copy's AUTOINCREMENT counter starts from the highest id still there),
a table restored by a rollback (its rows go back with explicit ids into a fresh
table), and, on SQLite, an entity table created without AUTOINCREMENT (SQLite then
reuses the highest id after a delete). After every migration the counter of each entity
table it created (new, or restored) or, on SQLite, rebuilt (batch mode copies a table for
anything but adding a plain column) is raised to the highest id its table holds or its
audit trail names; on SQLite a table without AUTOINCREMENT is rebuilt with it first. A
table only altered in place (PostgreSQL's ALTER TABLE, SQLite's ADD COLUMN, an index
added or dropped) keeps its counter, and is not read. The tables' highest ids are read in one
statement (a publication creating a pack's 30 tables: one round trip, not 60)."""
from __future__ import annotations

from sqlalchemy import Column, MetaData, Table, func, select, text

from engine.coltypes import ID_TYPE
from engine.systables import loom_table


def lacking_autoincrement(conn, names) -> list[str]:
    """SQLite: the entity tables among ``names`` created without AUTOINCREMENT."""
    if conn.dialect.name != "sqlite" or not names:
        return []
    # LIKE ignores ASCII case in SQLite: the tables without it, usually none of the entities
    rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table' "
                                "AND coalesce(sql, '') NOT LIKE '%AUTOINCREMENT%'").all()
    plain = {name for (name,) in rows}
    return [name for name in names if name in plain]


CHUNK = 100  # tables read per statement (two scalar subqueries each)


def highest_issued(conn, schema, names, empty=()) -> dict[str, int]:
    """{name: the highest id the entity's table holds or its audit trail names (0 for
    none)}, for every named entity table (of those in `empty`, created just now and holding
    no rows, the audit trail only): one statement per `CHUNK` tables, each maximum its own
    scalar subquery (an index's last entry on both backends)."""
    audit = loom_table(schema, "loom_audit")
    found = {}
    for start in range(0, len(names), CHUNK):
        chunk = list(names[start:start + CHUNK])
        columns = []
        for name in chunk:
            columns.append(select(func.max(audit.c.record_id)).where(audit.c.entity == name).scalar_subquery())
            if name not in empty:
                table = Table(name, MetaData(), Column("id", ID_TYPE), schema=schema)
                columns.append(select(func.max(table.c.id)).scalar_subquery())
        row = iter(conn.execute(select(*columns)).one())
        for name in chunk:
            audited = next(row) or 0
            found[name] = audited if name in empty else max(audited, next(row) or 0)
    return found


def keep_ids_ahead(conn, schema, names, empty=()) -> None:
    """Raise each named entity table's id counter to at least its highest issued id
    (`empty`: those of them created just now, holding no rows)."""
    for name, highest in highest_issued(conn, schema, list(names), set(empty)).items():
        if highest:
            _raise_counter(conn, schema, name, highest)


def _raise_counter(conn, schema, name, highest) -> None:
    if conn.dialect.name == "postgresql":
        qualified = f'"{schema}"."{name}"' if schema else f'"{name}"'
        sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": qualified}).scalar_one()
        last, called = conn.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()
        if (last if called else last - 1) < highest:
            conn.execute(text("SELECT setval(:s, :v, true)"), {"s": sequence, "v": highest})
        return
    used = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": name}).first()
    if used is None:
        conn.execute(text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :v)"), {"t": name, "v": highest})
    elif used[0] < highest:
        conn.execute(text("UPDATE sqlite_sequence SET seq = :v WHERE name = :t"), {"t": name, "v": highest})
