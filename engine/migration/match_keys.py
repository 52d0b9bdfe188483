"""Keeping the match key columns (engine.matchkeys) of existing tables in step with the
metadata, as a step of every publication and once for a tenant made before they existed:
a key column a field gains is added, indexed and filled from the stored values; one it
loses is dropped; the keys of a field whose type, match options or region changed, or
whose values a pack upgrade's data steps wrote, are computed again. A table a publication
creates gets its key columns in CREATE TABLE (engine.migration.ddl) and its key indexes
from `key_indexes` here. Plain alembic operations in the caller's transaction, on SQLite
and PostgreSQL alike."""
from __future__ import annotations

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import bindparam, inspect, select, text

from engine.compiler import ENTITY_TABLE_OPTIONS, compile_tables, encrypts, key_index_name
from engine.crypto.keyring import migration_keyring
from engine.crypto.master import KeyProblem
from engine.matchkeys import KEY_SUFFIX, key_column, key_specs, phone_region, with_regions
from engine.migration import current_package, sequences
from engine.systables import loom_table
from tenants.storage import lock_key

MARK = "match_keys"  # the loom_settings key saying the tenant's key columns are kept
CHUNK = 1000
# Changes after which a field's stored value (or the way its key is read) may differ.
REKEYING = ("add_field", "alter_type", "alter_precision", "alter_reference", "alter_encryption",
            "alter_required", "alter_default", "alter_other")


def specs_of(package) -> dict:
    """{entity: {field: KeySpec}} of a package (regions filled in from its settings)."""
    if package is None:
        return {}
    return {e.name: {s.field: s for s in key_specs(with_regions(e, phone_region(package)))}
            for e in package.entities}


def sync_keys(conn, schema, old_pkg, package, tables, changes=None, clear_only=False,
              created=(), restored=False) -> list[str]:
    """Bring every entity's key columns in line with `package` (`tables`: its compiled
    tables, with the tenant's keys when a field is encrypted); `changes` (the publication's
    diff, None: recompute every key) say which existing keys may be stale; `clear_only`:
    the tenant's data keys cannot be opened, so encrypted fields' keys are left unfilled
    (and the tenant unmarked). `created`: the entities whose tables the publication made
    with their key columns and indexes (`Migrator.created`): empty, so nothing to fill,
    unless `restored` (a rollback put archived rows back). Returns the "entity.field" of
    the keys filled."""
    old_specs, new_specs = specs_of(old_pkg), specs_of(package)
    touched = None if changes is None else {
        (c.entity, c.field) for c in changes if c.kind in REKEYING or c.kind == "add_entity"}
    added_entities = set() if changes is None else {c.entity for c in changes if c.kind == "add_entity"}
    marked = _marked(conn, schema)
    filled = []
    for entity in package.entities:
        wanted = new_specs[entity.name]
        if not wanted and not old_specs.get(entity.name):
            continue  # neither keeps keys: nothing to look at
        if entity.name in created:
            present = {s.column for s in wanted.values()}
        elif entity.name in added_entities:
            present = set()
        elif marked and changes is not None and old_specs.get(entity.name) == wanted:
            present = {s.column for s in wanted.values()}  # kept in step with old_pkg: the same keys
        else:
            present = {c["name"] for c in inspect(conn).get_columns(entity.name, schema=schema)
                       if c["name"].endswith(KEY_SUFFIX)}
        adding = [n for n in wanted if wanted[n].column not in present]
        dropping = sorted(present - {s.column for s in wanted.values()})
        if adding or dropping:  # alembic's context only when a key column comes or goes
            _alter(Operations(MigrationContext.configure(conn)), schema, entity, adding, dropping)
        # new, or its values or the way its key is read (kind, region: the specs) changed
        stale = [n for n in wanted if n in adding or touched is None or entity.name in added_entities
                 or (entity.name, n) in touched or old_specs.get(entity.name, {}).get(n) != wanted[n]]
        if entity.name in created and not restored:
            stale = []  # a table made just now holds no rows
        for name in stale:
            if not (clear_only and wanted[name].encrypted):
                _fill(conn, tables[entity.name], wanted[name])
                filled.append(f"{entity.name}.{name}")
    if not clear_only and not marked:
        _mark(conn, schema)
    return filled


def _alter(op, schema, entity, adding, dropping) -> None:
    if dropping:
        existing = {i["name"] for i in inspect(op.get_bind()).get_indexes(entity.name, schema=schema)}
        for column in dropping:
            name = key_index_name(entity.name, column.removesuffix(KEY_SUFFIX))
            if name in existing:
                op.drop_index(name, table_name=entity.name, schema=schema)
    if adding or dropping:
        with op.batch_alter_table(entity.name, schema=schema, table_kwargs=ENTITY_TABLE_OPTIONS) as batch:
            for column in dropping:
                batch.drop_column(column)
            for name in adding:
                batch.add_column(key_column(entity.field(name)))  # its type in DDL; the tables hash
            rebuilt = op.impl.requires_recreate_in_batch(batch.impl)
        if rebuilt:  # SQLite copied the table (a key column dropped): its id counter too
            sequences.keep_ids_ahead(op.get_bind(), schema, [entity.name])
    key_indexes(op, schema, entity.name, adding)


def key_indexes(op, schema, entity_name, names) -> None:
    """Index the key columns of the keyed fields `names` of `entity_name`."""
    for name in names:
        op.create_index(key_index_name(entity_name, name), entity_name, [name + KEY_SUFFIX], schema=schema)


def refill_keys(conn, package, tables, fields=None) -> list[str]:
    """Compute again, from the stored values, the keys of `fields` ({entity: field names};
    None: every keyed field of every entity) that `package` keys: after rows were written
    around the record service (a pack upgrade's data steps). `tables`: the package's
    compiled tables (with the tenant's data keys when a field is encrypted). Returns the
    "entity.field" of the keys filled."""
    specs = specs_of(package)
    wanted = {e: list(s) for e, s in specs.items()} if fields is None else fields
    filled = []
    for entity, names in wanted.items():
        for name in sorted(names):
            spec = specs.get(entity, {}).get(name)
            if spec is not None:
                _fill(conn, tables[entity], spec)
                filled.append(f"{entity}.{name}")
    return filled


def _fill(conn, table, spec) -> None:
    """Compute one field's keys from its stored values (the table's column types decrypt
    an encrypted value and hash its key)."""
    update = table.update().where(table.c.id == bindparam("_id")).values({spec.column: bindparam("_key")})
    last = 0
    while True:
        rows = conn.execute(select(table.c.id, table.c[spec.field]).where(table.c.id > last)
                            .order_by(table.c.id).limit(CHUNK)).all()
        if not rows:
            return
        conn.execute(update, [{"_id": row[0], "_key": spec.key(row[1])} for row in rows])
        last = rows[-1][0]


def _marked(conn, schema) -> bool:
    settings = loom_table(schema, "loom_settings")
    return conn.execute(select(settings.c.key).where(settings.c.key == MARK)).first() is not None


def _mark(conn, schema) -> None:
    if not _marked(conn, schema):
        conn.execute(loom_table(schema, "loom_settings").insert().values(key=MARK, value="1"))


def catch_up_keys(storage, extra_types=None) -> list[str] | None:
    """For a tenant made before match keys: add and fill every key column its metadata asks
    for, once (the mark in loom_settings); None when there was nothing to do."""
    settings = loom_table(storage.schema, "loom_settings")
    marked = select(settings.c.key).where(settings.c.key == MARK)
    with storage.connect() as conn:
        if conn.execute(marked).first() is not None:
            return None
    with storage.migration() as conn:
        if conn.dialect.name == "postgresql":  # processes meeting the same tenant: one at a time
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(f"{storage.schema}:tables")})
        if conn.execute(marked).first() is not None:
            return None
        _version, package = current_package(conn, storage.schema, extra_types)
        if package is None:
            _mark(conn, storage.schema)
            return []
        keyring, clear_only = None, False
        if encrypts(package):
            try:
                keyring = migration_keyring(conn, storage.schema, f"tenant {storage.slug}", create=False)
            except KeyProblem:  # no master key here: the columns, and the keys that need none
                clear_only = True
        return sync_keys(conn, storage.schema, None, package, compile_tables(package, storage.schema, keyring),
                         clear_only=clear_only)
