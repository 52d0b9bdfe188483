"""Carrying out a checked list of changes with alembic's operations, in the caller's
transaction. Batch mode makes the same code work on SQLite (which rebuilds the table
only when ALTER cannot do the job) and on PostgreSQL (where it runs ALTER directly)."""
from __future__ import annotations

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, select

from engine.compiler import field_indexes, system_columns
from engine.fieldtypes import columns_for
from engine.migration import archive
from engine.migration.convert import base_of, convert, stored_value

TEMP = "__tmp"
REWRITES = {"alter_type", "alter_precision", "alter_reference"}
WRITE_CHUNK = 2000


class Migrator:
    def __init__(self, conn, schema, old_pkg, new_pkg, old_tables, new_tables, version, restore):
        self.conn = conn
        self.schema = schema
        self.op = Operations(MigrationContext.configure(conn))
        self.old_pkg, self.new_pkg = old_pkg, new_pkg
        self.old_tables, self.new_tables = old_tables, new_tables
        self.version = version
        self.restore = restore
        self.archives: list[dict] = []

    # -- whole entities ----------------------------------------------------------
    def create_entities(self, names: list[str]) -> list[tuple[str, str]]:
        """Create new tables in reference order; returns (entity, field) pairs of
        references inside a cycle, to be added once every table exists."""
        deferred, created = [], set()
        pending = list(names)
        while pending:
            ready = [n for n in pending if self._refs_ready(n, created | set(self.old_tables), pending)]
            if not ready:  # a cycle: create the first anyway, its cyclic refs later
                ready = [pending[0]]
            for name in ready:
                deferred += self._create_entity(name, created | set(self.old_tables))
                created.add(name)
                pending.remove(name)
        return deferred

    def _refs_ready(self, name, existing, pending) -> bool:
        entity = self.new_pkg.entity(name)
        return all(f.to == name or f.to in existing
                   for f in entity.fields if base_of(f) == "reference")

    def _create_entity(self, name, existing) -> list[tuple[str, str]]:
        entity = self.new_pkg.entity(name)
        columns, deferred = system_columns(), []
        for field in entity.fields:
            if base_of(field) == "reference" and field.to != name and field.to not in existing:
                deferred.append((name, field.name))
                continue
            columns += columns_for(field, self.schema)
        self.op.create_table(name, *columns, schema=self.schema)
        for field in entity.fields:
            if (name, field.name) not in deferred:
                self._create_indexes(name, field)
        if self.restore:
            self.archives += archive.restore_entity(self.conn, self.schema, entity, self.new_tables[name], self.version)
        return deferred

    def drop_entities(self, names: list[str]) -> None:
        for name in self._drop_order(names):
            self.archives.append(archive.archive_entity(
                self.conn, self.op, self.schema, self.old_pkg.entity(name), self.old_tables[name], self.version))
            for field in self.old_pkg.entity(name).fields:
                self._drop_indexes(name, field)
            self.op.drop_table(name, schema=self.schema)

    def _drop_order(self, names):
        """Tables that refer to others go first."""
        names = list(names)
        ordered = []
        while names:
            for name in names:
                referenced_by_pending = any(
                    f.to == name for other in names if other != name
                    for f in self.old_pkg.entity(other).fields if base_of(f) == "reference")
                if not referenced_by_pending:
                    ordered.append(name)
                    names.remove(name)
                    break
            else:
                ordered += names
                break
        return ordered

    # -- fields of an existing entity -----------------------------------------------
    def alter_entity(self, name, changes, extra_adds=()) -> None:
        old_entity, new_entity = self.old_pkg.entity(name), self.new_pkg.entity(name)
        by_kind = {}
        for change in changes:
            by_kind.setdefault(change.kind, []).append(change.field)
        added = list(by_kind.get("add_field", [])) + [f for e, f in extra_adds if e == name]
        dropped = by_kind.get("drop_field", [])
        rewritten = [f for kind in REWRITES for f in by_kind.get(kind, [])]
        reindexed = set(rewritten) | set(by_kind.get("alter_unique", [])) | set(by_kind.get("alter_indexed", []))
        required_flips = by_kind.get("alter_required", [])
        resized = by_kind.get("alter_length", [])

        for field_name in set(dropped) | reindexed:
            self._drop_indexes(name, old_entity.field(field_name))
        for field_name in dropped:
            self.archives.append(archive.archive_field(
                self.conn, self.op, self.schema, name, old_entity.field(field_name),
                self.old_tables[name], self.version))

        new_columns = [c for f in added for c in columns_for(_optional(new_entity.field(f)), self.schema)]
        temp_columns = [_renamed(c, c.name + TEMP) for f in rewritten
                        for c in columns_for(_optional(new_entity.field(f)), self.schema)]
        if new_columns or temp_columns:
            with self.op.batch_alter_table(name, schema=self.schema) as batch:
                for column in new_columns + temp_columns:
                    batch.add_column(column)

        table = self._live_table(name, new_columns + temp_columns)
        for field_name in rewritten:
            self._copy_converted(table, old_entity.field(field_name), new_entity.field(field_name))
        for field_name in added:
            field = new_entity.field(field_name)
            if field.has_default:
                self._backfill(table, field)
            if self.restore:
                self.archives += archive.restore_field(self.conn, self.schema, name, field, table, self.version)
        for field_name in required_flips:
            field = new_entity.field(field_name)
            if field.required and field.has_default:
                self._backfill(table, field)

        self._restructure(name, new_entity, dropped, rewritten, added, required_flips, resized)
        for field_name in set(added) | reindexed:
            self._create_indexes(name, new_entity.field(field_name))

    def _restructure(self, name, new_entity, dropped, rewritten, added, required_flips, resized):
        old_entity = self.old_pkg.entity(name)
        dropping = [c.name for f in dropped for c in columns_for(old_entity.field(f), self.schema)]
        dropping += [c.name for f in rewritten for c in columns_for(old_entity.field(f), self.schema)]
        renames = [(c.name + TEMP, c) for f in rewritten for c in columns_for(new_entity.field(f), self.schema)]
        not_null = [c for f in set(added) | set(required_flips) | set(rewritten)
                    for c in columns_for(new_entity.field(f), self.schema)
                    if new_entity.field(f).required]
        nullable = [c for f in required_flips for c in columns_for(new_entity.field(f), self.schema)
                    if not new_entity.field(f).required]
        retyped = [c for f in resized for c in columns_for(new_entity.field(f), self.schema)]
        if self.conn.dialect.name == "sqlite":
            retyped = []  # SQLite does not enforce VARCHAR lengths; the record service does
        if not (dropping or renames or not_null or nullable or retyped):
            return
        with self.op.batch_alter_table(name, schema=self.schema) as batch:
            for column_name in dropping:
                batch.drop_column(column_name)
            for temp_name, column in renames:
                batch.alter_column(temp_name, new_column_name=column.name)
            for column in retyped:
                batch.alter_column(column.name, type_=column.type)
            for column in not_null:
                batch.alter_column(column.name, nullable=False, existing_type=column.type)
            for column in nullable:
                batch.alter_column(column.name, nullable=True, existing_type=column.type)

    # -- data moves -------------------------------------------------------------------
    def _live_table(self, name, added_columns):
        """The old table plus the columns just added, for the data moves in between."""
        from sqlalchemy import MetaData, Table

        old = self.old_tables[name]
        md = MetaData()
        columns = [Column(c.name, c.type) for c in old.columns]
        columns += [Column(c.name, c.type) for c in added_columns]
        return Table(name, md, *columns, schema=self.schema)

    def _copy_converted(self, table, old_field, new_field) -> None:
        sources = [c for c in table.c if c.name in (old_field.name, old_field.name + "__currency")]
        rows = self.conn.execute(select(table.c.id, *sources).where(sources[0].is_not(None))).mappings().all()
        updates = []
        for row in rows:
            value = convert(old_field, new_field, stored_value(old_field, row))
            if base_of(new_field) == "currency":
                updates.append({"_id": row["id"], new_field.name + TEMP: value["amount"],
                                new_field.name + "__currency" + TEMP: value["currency"]})
            else:
                updates.append({"_id": row["id"], new_field.name + TEMP: value})
        self._write_by_id(table, updates)

    def _backfill(self, table, field) -> None:
        from engine.fieldtypes import CONVERTERS

        value = CONVERTERS[base_of(field)](field, field.default)
        if base_of(field) == "currency":
            values = {field.name: value["amount"], field.name + "__currency": value["currency"]}
        else:
            values = {field.name: value}
        self.conn.execute(table.update().where(table.c[field.name].is_(None)).values(**values))

    def _write_by_id(self, table, updates) -> None:
        if not updates:
            return
        from sqlalchemy import bindparam

        names = [k for k in updates[0] if k != "_id"]
        stmt = table.update().where(table.c.id == bindparam("_id")).values(
            {n: bindparam(n) for n in names})
        for start in range(0, len(updates), WRITE_CHUNK):
            self.conn.execute(stmt, updates[start:start + WRITE_CHUNK])

    # -- indexes ----------------------------------------------------------------------
    def _create_indexes(self, entity_name, field) -> None:
        for index, unique in field_indexes(entity_name, field):
            self.op.create_index(index, entity_name, [field.name], unique=unique, schema=self.schema)

    def _drop_indexes(self, entity_name, field) -> None:
        for index, _unique in field_indexes(entity_name, field):
            self.op.drop_index(index, table_name=entity_name, schema=self.schema)


def _optional(field):
    """Columns are added nullable and tightened after their values are in place."""
    from dataclasses import replace

    return replace(field, required=False)


def _renamed(column: Column, name: str) -> Column:
    return Column(name, column.type, *[fk.copy() for fk in column.foreign_keys], nullable=True)
