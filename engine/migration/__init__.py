"""Migrating a tenant's live schema: the result of a migration, the parsed document and
the current version's package, and the version history. The steps (checks, DDL, data
moves, archives, versions) are the modules of this package; `engine.publish` runs them."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import ValidationFailed
from engine.migration import versions
from engine.words import counted
from metadata import MetadataInvalid, Package, load_package


@dataclass
class MigrationResult:
    version: int
    previous_version: int
    changes: list = field(default_factory=list)
    archives: list = field(default_factory=list)
    applied: bool = False
    dry_run: bool = False
    moves: list = field(default_factory=list)
    plan: dict | None = None  # a dry run's preview (engine.publish.plan)

    def to_dict(self) -> dict:
        out = {"version": self.version, "previous_version": self.previous_version,
               "applied": self.applied, "dry_run": self.dry_run,
               "changes": self.changes, "archives": self.archives, "moved": self.moves}
        if self.plan is not None:
            out["plan"] = self.plan
        return out


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


def describe(change) -> dict:
    return {"kind": change.kind, "entity": change.entity, "field": change.field,
            "ddl": change.needs_ddl, "description": change.describe()}


def history(tenant_storage) -> list[dict]:
    with tenant_storage.connect() as conn:
        return versions.history(conn, tenant_storage.schema)
