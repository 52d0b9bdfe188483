"""Archiving what a confirmed destructive change removes.

A dropped field's values (with each row's id and created_at, empty values included),
or a dropped entity's rows, are copied into an archive table (`loom_archive_…`) before
the DDL runs, and listed in `loom_archives` with the definition they had, so that a
rollback can bring them back (`engine.migration.restore`)."""
from __future__ import annotations

import hashlib

from sqlalchemy import Column, MetaData, Table, func, select

from engine.coltypes import ID_TYPE, UTCDateTime
from engine.compiler import MAX_IDENTIFIER, system_columns
from engine.fieldstorage import columns_for
from engine.migration.convert import base_of
from engine.systables import loom_table
from metadata import Entity, Field

def archive_name(version: int, entity: str, field: str | None = None) -> str:
    name = f"loom_archive_v{version}_{entity}" + (f"__{field}" if field else "")
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[:MAX_IDENTIFIER - 9]}_{digest}"


# -- definitions as archived (with the base types of plugin-supplied field types) -------

def _field_definition(field) -> dict:
    return {**field.to_dict(), "base_types": {field.type: base_of(field)}}


def _entity_definition(entity) -> dict:
    return {**entity.to_dict(), "base_types": {f.type: base_of(f) for f in entity.fields}}


def archived_field(definition) -> Field:
    return Field.from_document(definition, extra_types=definition["base_types"])


def archived_entity(definition) -> Entity:
    return Entity.from_document(definition, extra_types=definition["base_types"])


# -- archive tables --------------------------------------------------------------------

def _plain(column) -> Column:
    """A copy of a column without keys or constraints: archives must not block anything."""
    return Column(column.name, column.type, nullable=True)


def field_archive_columns(field, schema, keyring=None) -> list[Column]:
    """An archive's columns; with `keyring`, those of an encrypted field read its values in
    clear (a restore); without, they are copied as they are (ciphertext and keyed hash)."""
    return [Column("id", ID_TYPE, nullable=False), Column("created_at", UTCDateTime())] + \
        [_plain(c) for c in columns_for(field, schema, keyring)]


def entity_archive_columns(entity, schema, keyring=None) -> list[Column]:
    return [_plain(c) for c in system_columns()] + \
        [_plain(c) for f in entity.fields for c in columns_for(f, schema, keyring)]


def archive_table(schema, name, columns) -> Table:
    return Table(name, MetaData(), *[_plain(c) for c in columns], schema=schema)


def _archive(conn, op, schema, name, columns, live_table) -> Table:
    op.create_table(name, *columns, schema=schema)
    archive = archive_table(schema, name, columns)
    names = [c.name for c in columns]
    conn.execute(archive.insert().from_select(names, select(*[live_table.c[n] for n in names])))
    return archive


def archive_field(conn, op, schema, entity_name, field, live_table, version) -> dict:
    """Archive every row's value (empty ones too, so a restore puts them back as they
    were); `rows` counts the rows that held a value."""
    name = archive_name(version, entity_name, field.name)
    columns = field_archive_columns(field, schema)
    archive = _archive(conn, op, schema, name, columns, live_table)
    held = select(func.count()).select_from(archive).where(archive.c[columns[2].name].is_not(None))
    return _register(conn, schema, version, "field", entity_name, field.name, name, _field_definition(field),
                     conn.execute(held).scalar_one())


def archive_entity(conn, op, schema, entity, live_table, version) -> dict:
    name = archive_name(version, entity.name)
    archive = _archive(conn, op, schema, name, entity_archive_columns(entity, schema), live_table)
    return _register(conn, schema, version, "entity", entity.name, None, name, _entity_definition(entity),
                     conn.execute(select(func.count()).select_from(archive)).scalar_one())


def _register(conn, schema, version, kind, entity, field, name, definition, rows) -> dict:
    conn.execute(loom_table(schema, "loom_archives").insert().values(
        version=version, kind=kind, entity=entity, field=field, table_name=name,
        definition=definition, row_count=rows))
    return {"kind": kind, "entity": entity, "field": field, "table": name, "rows": rows}
