"""Archiving what a confirmed destructive change removes, and restoring it.

A dropped field's values, or a dropped entity's rows, are copied into an archive table
(`loom_archive_…`) before the DDL runs, and listed in `loom_archives`. Rolling back to a
version that had them copies them back."""
from __future__ import annotations

import hashlib

from sqlalchemy import Column, MetaData, Table, func, select, text

from engine.coltypes import ID_TYPE
from engine.compiler import MAX_IDENTIFIER
from engine.fieldtypes import columns_for
from engine.systables import loom_table


def archive_name(version: int, entity: str, field: str | None = None) -> str:
    name = f"loom_archive_v{version}_{entity}" + (f"__{field}" if field else "")
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[:MAX_IDENTIFIER - 9]}_{digest}"


def _plain(column) -> Column:
    """A copy of a column without keys or constraints: archives must not block anything."""
    return Column(column.name, column.type, nullable=True)


def _archive_table(schema, name, columns) -> Table:
    return Table(name, MetaData(), *columns, schema=schema)


def archive_field(conn, op, schema, entity_name, field, live_table, version) -> dict:
    columns = [Column("id", ID_TYPE, nullable=False)] + [_plain(c) for c in columns_for(field, schema)]
    name = archive_name(version, entity_name, field.name)
    op.create_table(name, *columns, schema=schema)
    archive = _archive_table(schema, name, [Column(c.name, c.type) for c in columns])
    sources = [live_table.c[c.name] for c in columns]
    conn.execute(archive.insert().from_select([c.name for c in columns],
                                              select(*sources).where(sources[1].is_not(None))))
    return _register(conn, schema, version, "field", entity_name, field.name, name, field.to_dict(), archive)


def archive_entity(conn, op, schema, entity, live_table, version) -> dict:
    columns = [_plain(c) for c in live_table.columns]
    name = archive_name(version, entity.name)
    op.create_table(name, *columns, schema=schema)
    archive = _archive_table(schema, name, [Column(c.name, c.type) for c in live_table.columns])
    conn.execute(archive.insert().from_select([c.name for c in live_table.columns], select(live_table)))
    return _register(conn, schema, version, "entity", entity.name, None, name, entity.to_dict(), archive)


def _register(conn, schema, version, kind, entity, field, name, definition, archive) -> dict:
    rows = conn.execute(select(func.count()).select_from(archive)).scalar_one()
    conn.execute(loom_table(schema, "loom_archives").insert().values(
        version=version, kind=kind, entity=entity, field=field, table_name=name,
        definition=definition, row_count=rows))
    return {"kind": kind, "entity": entity, "field": field, "table": name, "rows": rows}


def _latest_unrestored(conn, schema, kind, entity, field=None):
    archives = loom_table(schema, "loom_archives")
    stmt = select(archives).where(
        archives.c.kind == kind, archives.c.entity == entity, archives.c.restored_in.is_(None))
    if field is not None:
        stmt = stmt.where(archives.c.field == field)
    return conn.execute(stmt.order_by(archives.c.id.desc()).limit(1)).mappings().first()


def _same_storage(a: dict, b: dict) -> bool:
    keys = ("type", "precision", "scale", "to")
    return all(a.get(k) == b.get(k) for k in keys)


def _mark_restored(conn, schema, archive_id, version) -> None:
    archives = loom_table(schema, "loom_archives")
    conn.execute(archives.update().where(archives.c.id == archive_id).values(restored_in=version))


def restore_field(conn, schema, entity_name, field, live_table, version) -> list[dict]:
    """Put an archived field's values back, if an archive of the same storage exists."""
    found = _latest_unrestored(conn, schema, "field", entity_name, field.name)
    if not found or not _same_storage(found["definition"], field.to_dict()):
        return []
    columns = [Column("id", ID_TYPE)] + [Column(c.name, c.type) for c in columns_for(field, schema)]
    archive = _archive_table(schema, found["table_name"], columns)
    for row in conn.execute(select(archive)).mappings().all():
        conn.execute(live_table.update().where(live_table.c.id == row["id"])
                     .values({k: v for k, v in row.items() if k != "id"}))
    _mark_restored(conn, schema, found["id"], version)
    return [{"kind": "restored_field", "entity": entity_name, "field": field.name,
             "table": found["table_name"], "rows": found["row_count"]}]


def restore_entity(conn, schema, entity, new_table, version) -> list[dict]:
    """Put an archived entity's rows back into its re-created table."""
    found = _latest_unrestored(conn, schema, "entity", entity.name)
    if not found:
        return []
    reflected = Table(found["table_name"], MetaData(), schema=schema, autoload_with=conn)
    shared = [c.name for c in new_table.columns if c.name in reflected.c]
    required = [c.name for c in new_table.columns if not c.nullable and c.name not in reflected.c]
    if required:
        return []
    archive = _archive_table(schema, found["table_name"], [Column(n, new_table.c[n].type) for n in shared])
    conn.execute(new_table.insert().from_select(shared, select(*archive.c)))
    if conn.dialect.name == "postgresql":
        qualified = f'"{schema}"."{entity.name}"' if schema else f'"{entity.name}"'
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence(:t, 'id'), "
            f"GREATEST((SELECT coalesce(max(id), 0) FROM {qualified}), 1))"), {"t": qualified})
    _mark_restored(conn, schema, found["id"], version)
    return [{"kind": "restored_entity", "entity": entity.name, "table": found["table_name"],
             "rows": found["row_count"]}]
