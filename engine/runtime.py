"""A tenant's compiled metadata, cached per tenant and metadata version.

Every request pays one cheap query (the current version number); compiling tables and
schemas happens only when the version moved, so every worker stays current without a
restart."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property

from engine.compiler import compile_tables
from engine.migration import versions
from engine.records.dump import RecordShape
from engine.records.loader import BatchLoader
from engine.schemas import entity_schema
from metadata import Package


@dataclass
class CompiledMetadata:
    version: int
    package: Package
    schema: str | None
    validators: dict = field(default_factory=dict)

    @cached_property
    def tables(self) -> dict:
        return compile_tables(self.package, self.schema)

    @cached_property
    def _schemas(self) -> dict:
        return {}

    def entity(self, name):
        return self.package.entity(name) if isinstance(name, str) else None

    def create_schema(self, name):
        return self._cached(("create", name), lambda e: entity_schema(e, self.validators))

    def update_schema(self, name, readonly=False):
        """The schema of a change; with `readonly`, one that may set read-only fields."""
        return self._cached(("update", name, readonly),
                            lambda e: entity_schema(e, self.validators, for_update=True, readonly=readonly))

    def batch_loader(self, name):
        return self._cached(("batch", name), lambda e: BatchLoader(e, self.validators))

    def shape(self, name):
        return self._cached(("shape", name), RecordShape)

    def _cached(self, key, build):
        found = self._schemas.get(key)
        if found is None:
            found = self._schemas[key] = build(self.package.entity(key[1]))
        return found

    def referrers(self, target: str) -> list:
        """(entity, field) pairs whose reference points at `target`."""
        return [(e, f) for e in self.package.entities for f in e.fields
                if (f.base_type or f.type) == "reference" and f.to == target]


EMPTY = Package(entities=())


class MetadataCache:
    def __init__(self):
        self._compiled: dict[str, CompiledMetadata] = {}
        self._lock = threading.Lock()

    def get(self, tenant_storage, conn, extra_types=None, validators=None) -> CompiledMetadata:
        version = versions.current_version(conn, tenant_storage.schema)
        key = tenant_storage.slug
        cached = self._compiled.get(key)
        if cached is not None and cached.version == version and cached.schema == tenant_storage.schema:
            return cached
        if version:
            row = versions.load_version(conn, tenant_storage.schema, version)
            package = Package.from_document(row["document"], extra_types=extra_types)
        else:
            package = EMPTY
        compiled = CompiledMetadata(version, package, tenant_storage.schema, dict(validators or {}))
        with self._lock:
            self._compiled[key] = compiled
        return compiled

    def forget(self, slug: str) -> None:
        with self._lock:
            self._compiled.pop(slug, None)
