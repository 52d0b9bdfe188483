"""Applying a metadata document to a tenant's live schema, the version history, and
rolling back to an earlier version.

Everything happens in one transaction: the checks, the DDL, the data moves, the
archive copies and the version row. A failure anywhere leaves schema, metadata and data
exactly as they were."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError

from engine.compiler import compile_tables
from engine.errors import MigrationRefused, NotFound, ValidationFailed
from engine.migration import versions
from engine.migration.checks import blocking_problems, drop_refusal, refusal
from engine.migration.ddl import Migrator
from engine.migration.states import move_records
from engine.words import counted
from metadata import MetadataInvalid, Package, diff_packages, load_package


@dataclass
class MigrationResult:
    version: int
    previous_version: int
    changes: list = field(default_factory=list)
    archives: list = field(default_factory=list)
    applied: bool = False
    dry_run: bool = False
    moves: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"version": self.version, "previous_version": self.previous_version,
                "applied": self.applied, "dry_run": self.dry_run,
                "changes": self.changes, "archives": self.archives, "moved": self.moves}


def parse_document(document, extra_types=None) -> Package:
    try:
        return load_package(document, extra_types=extra_types)
    except MetadataInvalid as exc:
        raise ValidationFailed(
            f"the metadata document has {counted(len(exc.problems), 'problem')}", details=exc.problems,
            code="invalid_metadata") from None


def current_package(conn, schema, extra_types=None) -> tuple[int, Package | None]:
    version = versions.current_version(conn, schema)
    if not version:
        return 0, None
    row = versions.load_version(conn, schema, version)
    return version, Package.from_document(row["document"], extra_types=extra_types)


def apply_document(tenant_storage, document, *, allow_drop=False, dry_run=False, actor=None,
                   extra_types=None, action="apply", restoring=False, state_map=None,
                   layers=None, on_commit=None, after_ddl=None, package=None) -> MigrationResult:
    """Diff `document` against the live schema and migrate to it, or refuse and change nothing.

    `layers` (JSON) is kept with the version (the packs and overlay behind `document`);
    `after_ddl(conn, tables, archives)` moves data once the new columns exist, and
    `on_commit(conn)` writes what must change with the version — both in the migration's
    transaction."""
    if package is None:  # `package`: the caller has already checked `document` in full
        package = parse_document(document, extra_types)
    schema = tenant_storage.schema
    try:
        with tenant_storage.migration() as conn:
            versions.lock_history(conn, schema)
            previous, old_pkg = current_package(conn, schema, extra_types)
            changes = diff_packages(old_pkg, package)
            result = MigrationResult(version=previous, previous_version=previous,
                                     changes=[_describe(c) for c in changes], dry_run=dry_run)
            if not changes and action == "apply":
                return result
            drops = [c for c in changes if c.destructive]
            if drops and not (allow_drop or dry_run):  # a dry run previews the drops
                raise MigrationRefused(drop_refusal(drops), code="destructive_change",
                                       details=[{"field": c.target, "message": c.describe()} for c in drops])
            old_tables = compile_tables(old_pkg, schema) if old_pkg else {}
            stranded, moves = move_records(conn, schema, changes, package, old_tables,
                                           state_map or {}, dry_run, tenant=tenant_storage.slug,
                                           old_pkg=old_pkg)
            if stranded:
                raise MigrationRefused(refusal(stranded), details=stranded, code="stranded_records")
            result.moves = moves
            problems = blocking_problems(conn, changes, old_pkg, package, old_tables, restoring)
            if dry_run:  # the dry run did not move the mapped records; they do not block
                moved = {f"{m['entity']}.{m['field']}" for m in moves}
                problems = [p for p in problems if p.get("field") not in moved]
            if problems:
                raise MigrationRefused(refusal(problems), details=problems)
            if dry_run:
                return result
            version = previous + 1
            migrator = Migrator(conn, schema, old_pkg, package, old_tables, compile_tables(package, schema),
                                version, restoring)
            migrator.run(changes)
            if after_ddl is not None:
                after_ddl(conn, migrator.new_tables, migrator.archives)
            if on_commit is not None:
                on_commit(conn)
            versions.record_version(conn, schema, version, package.to_dict(), result.changes,
                                    migrator.archives, action, actor, layers)
            result.version, result.applied, result.archives = version, True, migrator.archives
            return result
    except DBAPIError as exc:
        raise MigrationRefused(
            "the database refused the migration; nothing was changed",
            details=[{"message": str(exc.orig).strip().splitlines()[0]}]) from None


def _describe(change) -> dict:
    return {"kind": change.kind, "entity": change.entity, "field": change.field,
            "ddl": change.needs_ddl, "description": change.describe()}


def history(tenant_storage) -> list[dict]:
    with tenant_storage.connect() as conn:
        return versions.history(conn, tenant_storage.schema)


def rollback(tenant_storage, version: int, *, actor=None, extra_types=None, state_map=None) -> MigrationResult:
    """Return schema and metadata to `version` as a new version. Fields and entities
    added since are archived, and ones dropped since are restored from their archives."""
    with tenant_storage.connect() as conn:
        row = versions.load_version(conn, tenant_storage.schema, version)
    if row is None:
        raise NotFound(f"no metadata version {version}", code="version_not_found")
    return apply_document(tenant_storage, row["document"], allow_drop=True, actor=actor,
                          extra_types=extra_types, action=f"rollback to {version}", restoring=True,
                          state_map=state_map)
