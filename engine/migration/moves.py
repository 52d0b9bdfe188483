"""Reading and writing rows while a migration runs, in its transaction: scanning a
table a chunk at a time, copying converted values into new columns, filling defaults."""
from __future__ import annotations

from sqlalchemy import Column, MetaData, Table, bindparam, select

from engine.fieldstorage import columns_for
from engine.fieldtypes import CONVERTERS
from engine.migration.convert import base_of, column_values, convert, stored_value

CHUNK = 2000


def live_table(old_table, added_columns) -> Table:
    """A table as it is in the middle of a migration: its old columns plus those just added."""
    columns = [Column(c.name, c.type) for c in old_table.columns]
    columns += [Column(c.name, c.type) for c in added_columns]
    return Table(old_table.name, MetaData(), *columns, schema=old_table.schema)


def field_columns(table, field) -> list:
    return [table.c[c.name] for c in columns_for(field, table.schema)]


def chunks(conn, table, columns, where=None):
    """Lists of rows (id first, then `columns`) in id order, CHUNK rows at a time."""
    last = 0  # ids start at 1
    while True:
        stmt = select(table.c.id, *columns).where(table.c.id > last)
        if where is not None:
            stmt = stmt.where(where)
        rows = conn.execute(stmt.order_by(table.c.id).limit(CHUNK)).mappings().all()
        if rows:
            yield rows
        if len(rows) < CHUNK:
            return
        last = rows[-1]["id"]


def write_rows(conn, table, updates) -> None:
    """UPDATE many rows: keys starting with "_" pick the row (`_id` -> id), the others
    are the new values. Every dict must have the same keys."""
    if not updates:
        return
    keys = list(updates[0])
    stmt = table.update().where(*[table.c[k[1:]] == bindparam(k) for k in keys if k.startswith("_")])
    stmt = stmt.values({k: bindparam(k) for k in keys if not k.startswith("_")})
    for start in range(0, len(updates), CHUNK):
        conn.execute(stmt, updates[start:start + CHUNK])


def copy_converted(conn, table, old_field, new_field, target) -> None:
    """Convert every stored value of `old_field` for `new_field` into `target`'s columns.
    The checks have already made sure every value converts."""
    sources = field_columns(table, old_field)
    for rows in chunks(conn, table, sources, where=sources[0].is_not(None)):
        write_rows(conn, table, [
            {"_id": row["id"], **column_values(target, convert(old_field, new_field, stored_value(old_field, row)))}
            for row in rows])


def backfill(conn, table, field, target=None) -> None:
    """Give every row without a value the field's default (in `target`'s columns)."""
    target = target or field
    values = column_values(target, CONVERTERS[base_of(field)](field, field.default))
    conn.execute(table.update().where(table.c[target.name].is_(None)).values(values))
