"""Carrying out a checked list of changes with alembic's operations, in the caller's
transaction. Batch mode makes the same code work on SQLite (which rebuilds the table
only when ALTER cannot do the job) and on PostgreSQL (where it runs ALTER directly)."""
from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from dataclasses import replace

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, inspect

from engine.compiler import (
    ENTITY_TABLE_OPTIONS, composite_index_name, composite_indexes, field_index_options, field_indexes, index_name,
    system_columns,
)
from engine.errors import MigrationRefused
from engine.fieldstorage import columns_for, indexed_column
from engine.matchkeys import key_columns, match_kind
from engine.migration import archive, moves, restore, sequences
from engine.migration.convert import base_of
from engine.migration.match_keys import key_indexes
from engine.words import counted

TEMP = "__tmp"
# A field encrypted at rest or no longer (alter_encryption) is rewritten like a new type: the
# new columns' types encrypt (or not) the values read through the old ones, which decrypt.
REWRITES = ("alter_type", "alter_precision", "alter_reference", "alter_encryption")
INDEX_KINDS = ("add_index", "drop_index")


class Migrator:
    def __init__(self, conn, schema, old_pkg, new_pkg, old_tables, new_tables, version, restoring, keyring=None):
        self.conn = conn
        self.keyring = keyring  # the tenant's data keys, when a field is encrypted at rest
        self.schema = schema
        self.op = Operations(MigrationContext.configure(conn))
        self.old_pkg, self.new_pkg = old_pkg, new_pkg
        self.old_tables, self.new_tables = old_tables, new_tables
        self.version = version
        self.restoring = restoring
        self.archives: list[dict] = []
        self.created: list[str] = []  # the entity tables created, with their match key columns
        self.rebuilt: list[str] = []  # the tables SQLite's batch mode copied into a new table

    def run(self, changes) -> None:
        added = [c.entity for c in changes if c.kind == "add_entity"]
        dropped = [c.entity for c in changes if c.kind == "drop_entity"]
        self.rebuilt += self.add_autoincrement([n for n in self.old_tables if n not in dropped])
        self.create_entities(added)
        per_entity = defaultdict(list)
        for change in changes:
            if (change.field or change.kind in INDEX_KINDS) and change.needs_ddl and change.entity not in added + dropped:
                per_entity[change.entity].append(change)
        for name, entity_changes in per_entity.items():
            self.alter_entity(name, entity_changes)
        self.drop_entities(dropped)
        self._check_references(changes)
        sequences.keep_ids_ahead(self.conn, self.schema, [e.name for e in self.new_pkg.entities
                                                          if e.name in added or e.name in self.rebuilt],
                                 empty=() if self.restoring else added)

    @contextmanager
    def _batch(self, name):
        """alembic's batch mode on table `name`, noting it in `rebuilt` when it is copied
        into a new table (SQLite, for anything but adding a plain column): the copy's id
        counter starts again from the highest id left in it. Adding a column or an index
        leaves the table and its counter in place, so its ids are not read."""
        with self.op.batch_alter_table(name, schema=self.schema, table_kwargs=ENTITY_TABLE_OPTIONS) as batch:
            yield batch
            if self.op.impl.requires_recreate_in_batch(batch.impl) and name not in self.rebuilt:
                self.rebuilt.append(name)

    def add_autoincrement(self, names) -> list[str]:
        """SQLite: rebuild the entity tables created without AUTOINCREMENT with it; their names."""
        lacking = sequences.lacking_autoincrement(self.conn, names)
        for name in lacking:
            with self.op.batch_alter_table(name, schema=self.schema, recreate="always",
                                           table_kwargs=ENTITY_TABLE_OPTIONS):
                pass
        return lacking

    # -- whole entities ----------------------------------------------------------
    def create_entities(self, names: list[str]) -> None:
        """Create new tables in reference order. A reference to a table created later (a
        cycle) becomes a column once every table exists. When rolling back, archived rows
        go in before NOT NULL, indexes and the references between restored tables. A
        table is created with its match key columns (engine.matchkeys) and their indexes:
        `sync_keys` then only fills them, when a rollback put rows back."""
        order, deferred = self._creation_order(names)
        for name in order:
            entity = self.new_pkg.entity(name)
            fields = [self._loose(f) for f in entity.fields if f.name not in deferred[name]]
            columns = system_columns() + [c for f in fields for c in columns_for(f, self.schema)]
            self.op.create_table(name, *columns, *key_columns(entity), schema=self.schema, **ENTITY_TABLE_OPTIONS)
        self.created = list(order)
        for name in order:
            self._add_columns(name, [self.new_pkg.entity(name).field(f) for f in deferred[name]])
        if self.restoring:
            self._restore_entities(order)
        for name in order:
            entity = self.new_pkg.entity(name)
            loose = entity.fields if self.restoring else [entity.field(f) for f in deferred[name]]
            self._tighten(name, [f for f in loose if f.required])
            for field in entity.fields:
                self._create_indexes(name, field)
            key_indexes(self.op, self.schema, name, [f.name for f in entity.fields if match_kind(f)])
            self._create_composites(name, entity.indexes)

    def _creation_order(self, names):
        """(names in creation order, {name: reference fields to add once every table exists})."""
        order, pending = [], list(names)
        while pending:
            ready = [n for n in pending if all(t in self.old_tables or t in order or t == n
                                               for t in self._targets(n))]
            order += ready or pending[:1]  # a cycle: the first goes ahead, its references wait
            pending = [n for n in pending if n not in order]
        deferred = {n: [f.name for f in self.new_pkg.entity(n).fields
                        if base_of(f) == "reference" and f.to in order and order.index(f.to) > order.index(n)]
                    for n in order}
        return order, deferred

    def _targets(self, name):
        return [f.to for f in self.new_pkg.entity(name).fields if base_of(f) == "reference"]

    def _loose(self, field):
        return _optional(field) if self.restoring else field

    def _restore_entities(self, order) -> None:
        restored = [restore.restore_entity(self.conn, self.schema, self.new_pkg.entity(name),
                                           self.new_tables[name], self.version, self.keyring) for name in order]
        for entity in filter(None, restored):
            self.archives += restore.finish_entity(self.conn, self.schema, entity, self.version, self.keyring)

    def drop_entities(self, names: list[str]) -> None:
        for name in names:
            self.archives.append(archive.archive_entity(
                self.conn, self.op, self.schema, self.old_pkg.entity(name), self.old_tables[name], self.version))
        if self.conn.dialect.name == "postgresql":  # references between dropped tables go first
            inspector = inspect(self.conn)
            for name in names:
                for fk in inspector.get_foreign_keys(name, schema=self.schema):
                    if fk["referred_table"] in names and fk["referred_table"] != name:
                        self.op.drop_constraint(fk["name"], name, type_="foreignkey", schema=self.schema)
        for name in names:
            self.op.drop_table(name, schema=self.schema)

    # -- fields of an existing entity -----------------------------------------------
    def alter_entity(self, name, changes) -> None:
        old_entity, new_entity = self.old_pkg.entity(name), self.new_pkg.entity(name)
        by_kind = defaultdict(list)
        for change in changes:
            by_kind[change.kind].append(change.field)
        added = [new_entity.field(f) for f in by_kind["add_field"]]
        dropped = [old_entity.field(f) for f in by_kind["drop_field"]]
        rewritten = list(dict.fromkeys(f for kind in REWRITES for f in by_kind[kind]))
        reindexed = set(rewritten) | set(by_kind["alter_unique"]) | set(by_kind["alter_indexed"])

        stale, fresh = self._composite_changes(name, changes, set(rewritten) | set(by_kind["drop_field"]),
                                               by_kind["alter_required"])
        self._drop_composites(name, stale)
        for field_name in sorted(reindexed):
            self._drop_indexes(name, old_entity.field(field_name))
        for field in dropped:
            self._drop_indexes(name, field)
            self.archives.append(archive.archive_field(
                self.conn, self.op, self.schema, name, field, self.old_tables[name], self.version))

        temps = {f: _temporary(new_entity.field(f)) for f in rewritten}
        new_columns = self._add_columns(name, added + list(temps.values()))
        table = moves.live_table(self.old_tables[name], new_columns)
        for field_name, temp in temps.items():
            new_field = new_entity.field(field_name)
            moves.copy_converted(self.conn, table, old_entity.field(field_name), new_field, temp)
            if new_field.required and new_field.has_default:
                moves.backfill(self.conn, table, new_field, temp)
        for field in added:
            if field.has_default:
                moves.backfill(self.conn, table, field)
            if self.restoring:
                self.archives += restore.restore_field(self.conn, self.schema, name, field, table, self.version,
                                                       self.keyring)
        flips = [new_entity.field(f) for f in by_kind["alter_required"]]
        for field in flips:
            if field.required and field.has_default:
                moves.backfill(self.conn, table, field)

        self._restructure(name, dropped, [new_entity.field(f) for f in rewritten], by_kind["alter_length"])
        self._tighten(name, [f for f in added + flips if f.required], nullable=[f for f in flips if not f.required])
        for field in added + [new_entity.field(f) for f in sorted(reindexed)]:
            self._create_indexes(name, field)
        self._create_composites(name, fresh)

    def _add_columns(self, name, fields) -> list:
        """Add fields as nullable columns (tightened once their values are in place)."""
        columns = [c for f in fields for c in columns_for(_optional(f), self.schema, self.keyring)]
        if columns:
            with self._batch(name) as batch:
                for column in columns:
                    if column.foreign_keys and self.conn.dialect.name == "sqlite":
                        self._add_reference(batch, name, column)
                    else:
                        batch.add_column(column)
        return columns

    def _add_reference(self, batch, name, column) -> None:
        """SQLite: a reference column with its foreign key as a table constraint, the only
        form whose ON DELETE survives the table copies of later batch operations."""
        [fk] = column.foreign_keys
        batch.add_column(Column(column.name, column.type))
        batch.create_foreign_key(index_name("fk", name, column.name.removesuffix(TEMP)),
                                 fk.target_fullname.split(".")[0], [column.name], ["id"], ondelete=fk.ondelete)

    def _restructure(self, name, dropped, rewritten, resized) -> None:
        """Drop old columns and move the rewritten ones into place."""
        old_entity, new_entity = self.old_pkg.entity(name), self.new_pkg.entity(name)
        dropping = [c.name for f in dropped for c in columns_for(f, self.schema)]
        dropping += [c.name for f in rewritten for c in columns_for(old_entity.field(f.name), self.schema)]
        renames = [(temp.name, column) for f in rewritten
                   for temp, column in zip(columns_for(_temporary(f), self.schema), columns_for(f, self.schema))]
        retyped = []
        if self.conn.dialect.name != "sqlite":  # SQLite does not enforce VARCHAR lengths; the record service does
            retyped = [c for f in resized for c in columns_for(new_entity.field(f), self.schema)]
        if not (dropping or renames or retyped):
            return
        with self._batch(name) as batch:
            for column_name in dropping:
                batch.drop_column(column_name)
            for temp_name, column in renames:
                batch.alter_column(temp_name, new_column_name=column.name, nullable=column.nullable)
            for column in retyped:
                batch.alter_column(column.name, type_=column.type, existing_nullable=column.nullable)

    def _tighten(self, name, required, nullable=()) -> None:
        """Set NOT NULL on the columns of `required` fields (and drop it for `nullable`)."""
        changes = [(c, False) for f in required for c in columns_for(f, self.schema)]
        changes += [(c, True) for f in nullable for c in columns_for(f, self.schema)]
        if not changes:
            return
        with self._batch(name) as batch:
            for column, allow_null in changes:
                batch.alter_column(column.name, nullable=allow_null)

    def _check_references(self, changes) -> None:
        """SQLite checks foreign keys only at the end (they are off while tables are
        rebuilt), and only for the tables whose rows or references could have moved:
        adding a plain column or an index cannot break a reference, and checking a
        million-row table for nothing would cost most of the migration."""
        if self.conn.dialect.name != "sqlite":
            return
        tables = sorted({c.entity for c in changes if c.kind != "drop_entity" and not _harmless(c, self.new_pkg)})
        broken = [row for table in tables
                  for row in self.conn.exec_driver_sql(f'PRAGMA foreign_key_check("{table}")').fetchall()]
        if broken:
            raise MigrationRefused(
                f"refused: the migration would leave {counted(len(broken), 'row')} referring to records "
                "that do not exist; nothing was changed")

    # -- indexes ----------------------------------------------------------------------
    def _create_indexes(self, entity_name, field) -> None:
        for index, unique in field_indexes(entity_name, field):
            self.op.create_index(index, entity_name, [indexed_column(field)], unique=unique, schema=self.schema,
                                 **field_index_options(field))

    def _drop_indexes(self, entity_name, field) -> None:
        for index, _unique in field_indexes(entity_name, field):
            self.op.drop_index(index, table_name=entity_name, schema=self.schema)

    def _composite_changes(self, name, changes, moved, required) -> tuple[list, list]:
        """(composite indexes to drop first, ones to create last) for an altered entity:
        the dropped and added ones, plus those over columns that are dropped or rebuilt
        (and, where the NULLS ordering depends on it, whose nullability flips)."""
        old_entity, new_entity = self.old_pkg.entity(name), self.new_pkg.entity(name)
        old_table, new_table = self.old_tables[name], self.new_tables[name]
        dropped = [c.old for c in changes if c.kind == "drop_index"]
        added = [c.new for c in changes if c.kind == "add_index"]
        flipped = set(required)
        kept = [i for i in old_entity.indexes if i in new_entity.indexes]
        rebuilt = [i for i in kept if set(i.fields) & set(moved) or (
            set(i.fields) & flipped and [o for *_, o in composite_indexes(_only(old_entity, i), old_table)]
            != [o for *_, o in composite_indexes(_only(new_entity, i), new_table)])]
        return dropped + rebuilt, rebuilt + added

    def _create_composites(self, entity_name, indexes) -> None:
        table = self.new_tables[entity_name]
        for index in indexes:
            [(name, columns, unique, options)] = composite_indexes(_only(self.new_pkg.entity(entity_name), index), table)
            self.op.create_index(name, entity_name, columns, unique=unique, schema=self.schema, **options)

    def _drop_composites(self, entity_name, indexes) -> None:
        for index in indexes:
            self.op.drop_index(composite_index_name(entity_name, index), table_name=entity_name, schema=self.schema)


def _only(entity, index):
    """The entity with just one composite index (to name and shape that one)."""
    return replace(entity, indexes=(index,))


def _optional(field):
    """Columns are added nullable and tightened after their values are in place."""
    return replace(field, required=False)


def _temporary(field):
    """The field a rewritten column is built in before it takes the old one's place."""
    return replace(field, name=field.name + TEMP, required=False)


SAFE_FOR_REFERENCES = {"alter_indexed", "alter_unique", "alter_label", "alter_other", "alter_default",
                       "alter_options", "alter_length", "add_index", "drop_index"}


def _harmless(change, new_pkg) -> bool:
    """Whether a change leaves every stored reference as it was."""
    if change.kind in SAFE_FOR_REFERENCES or not change.needs_ddl:
        return True
    if change.kind == "add_field":
        field = new_pkg.entity(change.entity).field(change.field)
        return (field.base_type or field.type) != "reference"
    return False
