"""Backing up a tenant to one file and restoring it, into the same or a new tenant.

A backup is a zip: `manifest.json` (the tenant's name, language and plugins, the Loom
tenant revision it was taken at, and for every table its columns, row count and a
SHA-256 of its rows) and one JSON Lines file of rows per table, in key order. It is read
in one transaction (PostgreSQL: repeatable read; SQLite: one read transaction), so it is
consistent at one point in time while writes go on: the metadata history, the records,
audit, outbox, workflows' timers, rules' state, the search index, archives — every table
of the tenant.

Restoring first reads the whole file: a manifest of another shape, plugins this install
does not have, or any table's rows that are not the ones the manifest lists (a damaged
file) are refused before anything is made. It then creates the tenant (Loom's tables at
this Loom's revision), puts the rows of Loom's own tables back, creates the record tables
from the metadata version that was live (compiled as publishing does) and the archive
tables from their definitions in `loom_archives`, puts their rows back, moves the id
sequences past the restored ids (PostgreSQL), and then checks every table's row count and
checksum against the manifest: any difference — or rows that do not fit their columns, or
that the database refuses (a backup made by hand) — removes the new tenant and says what.
A backup taken by another Loom revision is refused with what to do."""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import JSON, Date, DateTime, LargeBinary, MetaData, Numeric, Time, TypeDecorator, and_, bindparam, \
    select, text
from sqlalchemy.exc import StatementError

from engine.compiler import compile_tables
from engine.errors import LoomError
from engine.migration.archive import archived_entity, archived_field, archive_table, entity_archive_columns, \
    field_archive_columns
from engine.records import access_log
from metadata import Package
from tenants import migrations

FORMAT = "loom-tenant-backup"
FORMAT_VERSION = 1
ARCHIVES = "loom_archives"
VERSIONS = "loom_metadata_versions"


class BackupFailed(LoomError):
    status, code = 400, "backup_failed"


@dataclass(frozen=True)
class Restored:
    slug: str
    tables: int
    rows: int


def _encoded(value):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(f"cannot back up a {type(value).__name__}")


def _line(values) -> str:
    return json.dumps(values, default=_encoded, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _ordered(table):
    keys = list(table.primary_key.columns) or list(table.columns)
    return select(table).order_by(*keys)


# -- backup ------------------------------------------------------------------------------

def backup(registry, slug: str, path) -> dict:
    """Write the tenant `slug` to the zip at `path` (written beside it and renamed into
    place, so a partial backup never looks complete); returns the manifest."""
    tenant = registry.require(slug)
    storage = registry.storage_of(tenant)
    access_log.flush(storage)  # reads logged before the backup are in it
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "tenant": tenant.slug, "name": tenant.name,
                "language": tenant.language, "plugins": list(tenant.plugins),
                "revision": migrations.current(storage.engine, storage.schema),
                "taken_at": dt.datetime.now(dt.timezone.utc).isoformat(), "tables": {}}
    archive = zipfile.ZipFile(partial, "x", zipfile.ZIP_DEFLATED)  # never another backup's file
    try:
        with storage.connect() as conn, archive:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                _write_tables(conn, storage.schema, archive, manifest)
            archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))
        partial.rename(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


def _write_tables(conn, schema, archive, manifest) -> None:
    """Every table's rows into the archive, and its columns, row count and checksum into
    the manifest."""
    reflected = MetaData()
    reflected.reflect(conn, schema=schema)
    for table in reflected.sorted_tables:
        digest, count = hashlib.sha256(), 0
        with archive.open(f"rows/{table.name}.jsonl", "w") as out:
            for row in conn.execute(_ordered(table).execution_options(yield_per=2000)):
                line = _line(list(row))
                digest.update(line.encode())
                out.write(line.encode() + b"\n")
                count += 1
        manifest["tables"][table.name] = {"columns": [c.name for c in table.columns], "rows": count,
                                          "sha256": digest.hexdigest()}


# -- restore -----------------------------------------------------------------------------

def read_manifest(path) -> dict:
    """The backup's manifest; BackupFailed when the file is not a Loom backup this Loom
    can restore."""
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
    except FileNotFoundError:
        raise BackupFailed(f"there is no file {str(path)!r}") from None
    except (zipfile.BadZipFile, KeyError, ValueError, IsADirectoryError, RuntimeError, NotImplementedError,
            RecursionError):
        raise BackupFailed(f"{str(path)!r} is not a Loom tenant backup") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupFailed(f"{str(path)!r} is not a Loom tenant backup")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupFailed(f"this backup's format version is {manifest.get('format_version')!r}; this Loom reads "
                           f"version {FORMAT_VERSION}: restore it with the Loom that made it")
    ours = migrations.heads("tenant")
    if manifest.get("revision") != ours:
        known = migrations.known("tenant")
        if manifest.get("revision") not in known:
            raise BackupFailed(f"this backup was made by a newer Loom (tenant revision {manifest.get('revision')!r}; "
                               f"this Loom knows up to {ours!r}): upgrade Loom, then restore it")
        raise BackupFailed(f"this backup was made at tenant revision {manifest.get('revision')!r}, this Loom is at "
                           f"{ours!r}: restore it with the Loom that made it, upgrade that install, and back it up "
                           "again")
    wrong = _shape_problem(manifest)
    if wrong:
        raise BackupFailed(f"{str(path)!r} is not a Loom tenant backup: {wrong}")
    return manifest


def _shape_problem(manifest: dict) -> str | None:
    """What is wrong with the manifest's shape (None when nothing is)."""
    if not isinstance(manifest.get("tenant"), str):
        return "its manifest names no tenant"
    for name in ("name", "language"):
        if manifest.get(name) is not None and not isinstance(manifest[name], str):
            return f"its manifest's {name} is not text"
    plugins = manifest.get("plugins")
    if plugins is not None and (not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins)):
        return "its manifest's plugins are not a list of names"
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not tables:
        return "its manifest lists no tables"
    for name, listed in tables.items():
        if not (isinstance(listed, dict) and isinstance(listed.get("columns"), list)
                and all(isinstance(c, str) for c in listed["columns"])
                and isinstance(listed.get("rows"), int) and not isinstance(listed["rows"], bool)
                and listed["rows"] >= 0 and isinstance(listed.get("sha256"), str)):
            return f"its manifest's entry of table {name!r} is not a table's columns, rows and checksum"
    return None


def _verify(archive, path, manifest) -> None:
    """Every table's rows in the backup as its manifest lists them (count and checksum),
    read before anything is restored: a damaged file is refused as it is."""
    members = set(archive.namelist())
    for name, listed in manifest["tables"].items():
        member = f"rows/{name}.jsonl"
        if member not in members:
            raise BackupFailed(f"{str(path)!r} is damaged: it holds no rows of table {name}")
        digest, count = hashlib.sha256(), 0
        try:
            with archive.open(member) as lines:
                for line in lines:
                    digest.update(line[:-1] if line.endswith(b"\n") else line)
                    count += 1
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
            # (RuntimeError: an encrypted member; NotImplementedError: a compression Loom never writes)
            raise BackupFailed(f"{str(path)!r} is damaged: the rows of table {name} cannot be read "
                               f"({exc})") from None
        if (count, digest.hexdigest()) != (listed["rows"], listed["sha256"]):
            raise BackupFailed(f"{str(path)!r} is damaged: the rows of table {name} are not the ones it was "
                               f"backed up with ({count} rows, its manifest lists {listed['rows']})")


def restore(install, path, as_slug: str | None = None) -> Restored:
    """Restore the backup at `path` into a new tenant (`as_slug`, or the slug it was taken
    from); BackupFailed, with nothing left behind, when it cannot."""
    manifest = read_manifest(path)
    slug = manifest["tenant"] if as_slug is None else as_slug
    registry = install.registry
    if registry.get(slug) is not None:
        raise BackupFailed(f"tenant {slug!r} exists: restore into a new tenant with --as NEW")
    missing = sorted(set(manifest.get("plugins") or ()) - set(install.plugins.names()))
    if missing:
        raise BackupFailed(f"the backup's tenant uses plugins this install does not have: {', '.join(missing)}: "
                           "install them, then restore it")
    with zipfile.ZipFile(path) as archive:
        _verify(archive, path, manifest)
    registry.create(slug, manifest.get("name"), plugins=manifest.get("plugins") or (),
                    language=manifest.get("language") or "en")
    try:
        storage = registry.storage_of(slug)
        with zipfile.ZipFile(path) as archive, storage.migration() as conn:
            rows = _put_back(conn, storage.schema, archive, manifest,
                             install.plugins.extra_types(tuple(manifest.get("plugins") or ())))
        _check(storage, manifest)
    except BaseException as exc:
        install.cache.forget(slug)
        registry.discard(slug)
        if isinstance(exc, StatementError):  # rows no Loom wrote (the checksums agree: a backup made by hand)
            reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
            raise BackupFailed(f"the database refused the backup's rows ({reason}): nothing was restored") from None
        raise
    return Restored(slug, len(manifest["tables"]), rows)


def _rows(archive, name):
    with archive.open(f"rows/{name}.jsonl") as lines:
        for number, line in enumerate(lines, 1):
            try:
                yield json.loads(line)
            except ValueError:  # checked against the manifest already: a backup made by hand
                raise BackupFailed(f"table {name}, row {number}: the backup's line is not JSON") from None


def _put_back(conn, schema, archive, manifest, extra_types) -> int:
    tables = manifest["tables"]
    loom = MetaData()
    loom.reflect(conn, schema=schema)
    own = {t.name: t for t in loom.sorted_tables}
    missing = sorted(set(own) - set(tables))
    if missing:
        raise BackupFailed(f"the backup has no rows of {', '.join(missing)}")
    for table in reversed(loom.sorted_tables):  # what the new tenant's revisions wrote
        conn.execute(table.delete())
    written = 0
    for table in loom.sorted_tables:
        written += _insert(conn, table, archive, tables[table.name])
    made = _record_tables(conn, schema, own, extra_types) + _archive_tables(conn, schema, own)
    unknown = sorted(set(tables) - set(own) - {t.name for t in made})
    if unknown:
        raise BackupFailed(f"the backup holds tables this Loom does not make: {', '.join(unknown)}")
    missing = sorted({t.name for t in made} - set(tables))
    if missing:
        raise BackupFailed(f"the backup has no rows of {', '.join(missing)}")
    # The rows go back as they were stored: through the tables as the database describes
    # them, not through the compiled ones, whose types would convert the values again.
    stored = MetaData()
    stored.reflect(conn, schema=schema, only=[table.name for table in made])
    made = stored.sorted_tables
    for table in made:
        written += _insert(conn, table, archive, tables[table.name])
    if conn.dialect.name == "postgresql":
        for table in [*own.values(), *made]:
            _move_sequence(conn, table)
    return written


def _record_tables(conn, schema, own, extra_types) -> list:
    """The record tables of the live metadata version, created as publishing makes them."""
    versions = own[VERSIONS]
    row = conn.execute(select(versions).order_by(versions.c.version.desc()).limit(1)).mappings().first()
    if row is None:
        return []
    document = row["document"] if isinstance(row["document"], dict) else json.loads(row["document"])
    tables = list(compile_tables(Package.from_document(document, extra_types=extra_types), schema).values())
    if tables:
        tables[0].metadata.create_all(conn, tables=tables)
    return tables


def _archive_tables(conn, schema, own) -> list:
    """The archive tables `loom_archives` lists, made from the definitions it keeps."""
    archives = own.get(ARCHIVES)
    made = []
    if archives is None:
        return made
    for row in conn.execute(select(archives)).mappings():
        definition = row["definition"] if isinstance(row["definition"], dict) else json.loads(row["definition"])
        if row.get("field"):
            columns = field_archive_columns(archived_field(definition), schema)
        else:
            columns = entity_archive_columns(archived_entity(definition), schema)
        table = archive_table(schema, row["table_name"], columns)
        table.create(conn)
        made.append(table)
    return made


def _decoder(column):
    type_ = column.type
    if isinstance(type_, TypeDecorator):
        type_ = type_.impl
    if isinstance(type_, JSON):
        return None
    if isinstance(type_, DateTime):
        return dt.datetime.fromisoformat
    if isinstance(type_, Date):
        return dt.date.fromisoformat
    if isinstance(type_, Time):
        return dt.time.fromisoformat
    if isinstance(type_, Numeric) and getattr(type_, "asdecimal", False):
        return decimal.Decimal
    if isinstance(type_, LargeBinary):
        return base64.b64decode
    return None


def _insert(conn, table, archive, listed, chunk: int = 2000) -> int:
    names = listed["columns"]
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise BackupFailed(f"table {table.name}: the backup has columns this Loom does not: {', '.join(unknown)}")
    keyless = [c.name for c in table.primary_key.columns if c.name not in names]
    if keyless:
        raise BackupFailed(f"table {table.name}: the backup has no column {', '.join(keyless)} of its key")
    decoders = [(i, _decoder(table.c[name])) for i, name in enumerate(names)]
    decoders = [(i, decode) for i, decode in decoders if decode is not None]
    # PostgreSQL checks references at each statement: rows of a table referring to rows
    # not yet back (another table's, or a later row of their own) go in without those
    # references first, and get them once every row is back.
    later = [name for name in names if conn.dialect.name == "postgresql"
             and any(fk.parent.name == name for fk in table.foreign_keys) and table.c[name].nullable]
    keys = [c.name for c in table.primary_key.columns]
    batch, pending, count = [], [], 0
    for values in _rows(archive, table.name):
        try:
            if not isinstance(values, list) or len(values) != len(names):
                raise ValueError("not a row of its columns")
            for i, decode in decoders:
                if values[i] is not None:
                    values[i] = decode(values[i])
        except (TypeError, ValueError, ArithmeticError) as exc:  # a backup made by hand: no Loom writes one
            raise BackupFailed(f"table {table.name}, row {count + 1}: the backup's values do not fit its columns "
                               f"({exc})") from None
        row = dict(zip(names, values))
        if later and any(row[name] is not None for name in later):
            pending.append({**{f"k_{k}": row[k] for k in keys}, **{f"v_{n}": row[n] for n in later}})
            row = {**row, **{name: None for name in later}}
        batch.append(row)
        count += 1
        if len(batch) >= chunk:
            conn.execute(table.insert(), batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
    if pending:
        update = table.update().where(and_(*[table.c[k] == bindparam(f"k_{k}") for k in keys])).values(
            {name: bindparam(f"v_{name}") for name in later})
        conn.execute(update, pending)
    if count != listed["rows"]:
        raise BackupFailed(f"table {table.name}: the backup lists {listed['rows']} rows and holds {count}")
    return count


def _move_sequence(conn, table) -> None:
    for column in table.primary_key.columns:
        if column.autoincrement is True or (column.autoincrement == "auto" and len(table.primary_key.columns) == 1
                                            and column.type._type_affinity is int):
            name = conn.dialect.identifier_preparer.format_table(table)
            sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                    {"t": name, "c": column.name}).scalar()
            if sequence:
                conn.execute(text(f"SELECT setval(:s, COALESCE((SELECT MAX({column.name}) FROM {name}), 0) + 1, false)"),
                             {"s": sequence})


def _check(storage, manifest) -> None:
    """Every table holds what the backup says, row for row (count and checksum)."""
    reflected = MetaData()
    with storage.connect() as conn:
        reflected.reflect(conn, schema=storage.schema)
        for table in reflected.sorted_tables:
            listed = manifest["tables"].get(table.name)
            if listed is None:
                continue
            digest, count = hashlib.sha256(), 0
            for row in conn.execute(_ordered(table)):
                digest.update(_line(list(row)).encode())
                count += 1
            if (count, digest.hexdigest()) != (listed["rows"], listed["sha256"]):
                raise BackupFailed(f"table {table.name} did not come back as it was backed up "
                                   f"({count} rows of {listed['rows']}): the restore was undone")
