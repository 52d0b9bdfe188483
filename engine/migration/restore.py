"""Bringing archived fields and entities back when a rollback returns to a version that
had them, converted to the definition restored.

Field values go back to the rows they were taken from (same id and created_at, so a
row that reused an id gets nothing). A restored reference to a record deleted since is
cleared, as if its on_delete rule had run, and counted in the report's
`cleared_references`; for a required field that is refused. An entity comes back from its latest archive not restored yet; a field from
the latest stored as it is defined now (a field dropped, re-added with another type
and dropped again comes back with the values it had as that definition), else the latest.

Values of a field encrypted at rest were archived as ciphertext: they are decrypted with
the tenant's data keys (`keyring`, kept across rotations) and written encrypted and
hashed again. When they cannot be — the data key they were encrypted with is no longer in
the tenant's `loom_keys`, or a value was altered — the rollback is refused
(`archive_unreadable`) and, the publication being one transaction, nothing changes. A
missing or wrong master key is refused before (its own problem, 503)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, MetaData, Table, exists, func, select

from engine.coltypes import ID_TYPE
from engine.compiler import system_columns
from engine.crypto.master import KeyProblem
from engine.errors import MigrationRefused
from engine.fieldtypes import FieldInvalid
from engine.migration.archive import (
    archive_table, archived_entity, archived_field, entity_archive_columns, field_archive_columns,
)
from engine.migration.convert import base_of, column_values, convert, stored_value
from engine.migration.moves import CHUNK, backfill, chunks, field_columns, write_rows
from engine.words import counted
from engine.systables import loom_table

SYSTEM_NAMES = [c.name for c in system_columns()]


@dataclass
class RestoredEntity:
    """An entity whose archived rows are back, but for what waits until every restored
    table has its rows: its references and the fields its archive did not have."""

    entity: object
    table: Table
    entry: dict  # its report entry
    references: dict  # field name -> [(row id, referenced id)]
    absent: list


def _unrestored(conn, schema, kind, entity, field=None) -> list:
    """Archives not restored yet, latest first."""
    archives = loom_table(schema, "loom_archives")
    same_field = archives.c.field.is_(None) if field is None else archives.c.field == field
    stmt = select(archives).where(archives.c.kind == kind, archives.c.entity == entity, same_field,
                                  archives.c.restored_in.is_(None))
    return conn.execute(stmt.order_by(archives.c.id.desc())).mappings().all()


def _same_storage(a, b) -> bool:
    return (base_of(a), a.precision, a.scale, a.to) == (base_of(b), b.precision, b.scale, b.to)


def _mark_restored(conn, schema, found, version, report) -> dict:
    archives = loom_table(schema, "loom_archives")
    conn.execute(archives.update().where(archives.c.id == found["id"]).values(restored_in=version))
    return {**report, "table": found["table_name"], "rows": found["row_count"]}


def _with_cleared(entry, cleared) -> dict:
    """The report entry, with how many references to deleted records were cleared."""
    cleared = {name: n for name, n in cleared.items() if n}
    return {**entry, "cleared_references": cleared} if cleared else entry


def _refuse_unfit(failing, example, what) -> None:
    if failing:
        raise MigrationRefused(
            f"refused: {counted(failing, 'archived value')} of {what} would not fit its definition "
            f"(for example {example}); nothing was changed")


# -- fields --------------------------------------------------------------------------------

UNREADABLE = ("data_key_missing", "ciphertext_invalid")  # the archive's fault, not the server's keys


def _readable(rows, what):
    """`rows` (the archive's chunks), a value that cannot be decrypted refused plainly."""
    try:
        yield from rows
    except KeyProblem as exc:
        if exc.code not in UNREADABLE:
            raise
        raise MigrationRefused(
            f"refused: the archived values of {what} are encrypted and cannot be decrypted ({exc.message}); "
            f"they cannot be restored, so the rollback is refused and nothing was changed",
            code="archive_unreadable", details=[{"field": what, "message": exc.message}]) from None


def _field_archive(conn, schema, entity_name, field, keyring=None):
    """(register row, archived Field, archive Table) of the archive to restore a field
    from: the latest stored as the field is now, else the latest; None when there is none."""
    candidates = [(row, archived_field(row["definition"]))
                  for row in _unrestored(conn, schema, "field", entity_name, field.name)]
    if not candidates:
        return None
    found, archived = next((c for c in candidates if _same_storage(c[1], field)), candidates[0])
    return found, archived, archive_table(schema, found["table_name"],
                                          field_archive_columns(archived, schema, keyring))


def rows_without_value(conn, schema, entity_name, field, live_table) -> int:
    """How many live rows a restore of `field` would leave without a value."""
    found = _field_archive(conn, schema, entity_name, field)
    stmt = select(func.count()).select_from(live_table)
    if found is not None:
        _, archived, archive = found
        stmt = stmt.where(~exists().where(
            archive.c.id == live_table.c.id, archive.c.created_at == live_table.c.created_at,
            field_columns(archive, archived)[0].is_not(None)))
    return conn.execute(stmt).scalar_one()


def restore_field(conn, schema, entity_name, field, live_table, version, keyring=None) -> list[dict]:
    """Put an archived field's values back into the rows they were taken from."""
    found = _field_archive(conn, schema, entity_name, field, keyring)
    if found is None:
        return []
    found, archived, archive = found
    failing, example, cleared = 0, None, 0
    for rows in _readable(chunks(conn, archive, [archive.c.created_at, *field_columns(archive, archived)]),
                          f"{entity_name}.{field.name}"):
        updates = []
        for row in rows:
            try:
                value = convert(archived, field, stored_value(archived, row))
            except FieldInvalid as exc:
                failing, example = failing + 1, example or f"row {row['id']}: {exc}"
                continue
            updates.append({"_id": row["id"], "_created_at": row["created_at"], **column_values(field, value)})
        if base_of(field) == "reference":
            cleared += _write_references(conn, schema, entity_name, field, live_table, updates)
        else:
            write_rows(conn, live_table, updates)
    _refuse_unfit(failing, example, f"{entity_name}.{field.name}")
    entry = _mark_restored(conn, schema, found, version,
                           {"kind": "restored_field", "entity": entity_name, "field": field.name})
    return [_with_cleared(entry, {field.name: cleared})]


# -- references ----------------------------------------------------------------------------

def _write_references(conn, schema, entity_name, field, table, updates) -> int:
    """Write restored references; returns how many pointed at records deleted since."""
    missing = _missing(conn, schema, field.to, {u[field.name] for u in updates} - {None})
    dangling = [u for u in updates if u[field.name] in missing]
    if dangling and field.required:
        raise MigrationRefused(
            f"refused: {counted(len(dangling), f'restored {entity_name} row')} would refer to {field.to} "
            f"records deleted since, but {entity_name}.{field.name} is required; nothing was changed")
    write_rows(conn, table, [u for u in updates if u[field.name] not in missing])
    return len(dangling)


def _missing(conn, schema, target_name, ids) -> set:
    target = Table(target_name, MetaData(), Column("id", ID_TYPE), schema=schema)
    ids, found = sorted(ids), set()
    for start in range(0, len(ids), CHUNK):
        found |= set(conn.execute(select(target.c.id).where(target.c.id.in_(ids[start:start + CHUNK]))).scalars())
    return set(ids) - found


# -- entities ------------------------------------------------------------------------------

def restore_entity(conn, schema, entity, table, version, keyring=None) -> RestoredEntity | None:
    """Put an archived entity's rows back into its re-created table (its field columns
    nullable until the caller tightens them); finish with `finish_entity` once every
    restored table has its rows."""
    candidates = _unrestored(conn, schema, "entity", entity.name)
    if not candidates:
        return None
    found = candidates[0]
    archived = archived_entity(found["definition"])
    archive = archive_table(schema, found["table_name"], entity_archive_columns(archived, schema, keyring))
    kept = [f for f in entity.fields if archived.field(f.name) is not None]
    references = {f.name: [] for f in kept if base_of(f) == "reference"}
    failing, example = 0, None
    for rows in _readable(chunks(conn, archive, [c for c in archive.c if c.name != "id"]), entity.name):
        inserts = []
        for row in rows:
            values = {n: row[n] for n in SYSTEM_NAMES}
            try:
                for field in kept:
                    old = archived.field(field.name)
                    values.update(column_values(field, convert(old, field, stored_value(old, row))))
            except FieldInvalid as exc:
                failing, example = failing + 1, example or f"row {row['id']} {field.name}: {exc}"
                continue
            for name, pairs in references.items():
                if values[name] is not None:
                    pairs.append((row["id"], values.pop(name)))
            inserts.append({**{n: None for n in references}, **values})
        if inserts:
            conn.execute(table.insert(), inserts)
    _refuse_unfit(failing, example, entity.name)
    entry = _mark_restored(conn, schema, found, version, {"kind": "restored_entity", "entity": entity.name})
    absent = [f for f in entity.fields if archived.field(f.name) is None]
    return RestoredEntity(entity, table, entry, references, absent)


def finish_entity(conn, schema, restored: RestoredEntity, version, keyring=None) -> list[dict]:
    """Its references (every restored table has its rows now), then the fields its
    archive lacked: their default, then the values of their own archives."""
    name, table = restored.entity.name, restored.table
    cleared = {}
    for field_name, pairs in restored.references.items():
        updates = [{"_id": row_id, field_name: target} for row_id, target in pairs]
        cleared[field_name] = _write_references(conn, schema, name, restored.entity.field(field_name), table, updates)
    report = [_with_cleared(restored.entry, cleared)]
    for field in restored.absent:
        if field.has_default:
            backfill(conn, table, field)
        report += restore_field(conn, schema, name, field, table, version, keyring)
    return report

