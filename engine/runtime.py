"""A tenant's compiled metadata, cached per tenant identity and metadata version.

Every request pays one cheap query (the current version number); compiling tables and
schemas happens only when the version moved, so every worker stays current without a
restart. An entry serves only the tenant identity it was compiled for (a slug deleted
and created again names a new tenant, whose version numbers start over), and only the
most recently used tenants keep theirs."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property

from engine.compiler import compile_tables, encrypts
from engine.crypto.keyring import tenant_keyring
from engine.matchkeys import phone_region, with_regions
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
    slug: str = ""
    keyring: object = None  # the tenant's data keys, when a field is encrypted at rest
    extra_types: dict = field(default_factory=dict)  # the plugin field types the package was read with

    @cached_property
    def tables(self) -> dict:
        return compile_tables(self.package, self.schema, self.keyring)

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
        return self._cached(("shape", name), lambda e: RecordShape(e, self.keyring))

    def _cached(self, key, build):
        """`build(entity)`, once; the entity's phone keys read in the package's region."""
        return self.memo(key, lambda: build(with_regions(self.package.entity(key[1]), phone_region(self.package))))

    def memo(self, key: tuple, build):
        """`build()`, made once for this metadata version and `key`."""
        found = self._schemas.get(key)
        if found is None:
            found = self._schemas[key] = build()
        return found

    def referrers(self, target: str) -> list:
        """(entity, field) pairs whose reference points at `target`."""
        return [(e, f) for e in self.package.entities for f in e.fields
                if (f.base_type or f.type) == "reference" and f.to == target]


EMPTY = Package(entities=())


class MetadataCache:
    def __init__(self, max_tenants: int = 128):
        self.max_tenants = max_tenants
        self._compiled: OrderedDict[str, CompiledMetadata] = OrderedDict()  # by tenant uid
        self._lock = threading.Lock()

    def get(self, tenant_storage, conn, extra_types=None, validators=None) -> CompiledMetadata:
        version = versions.current_version(conn, tenant_storage.schema)
        key = tenant_storage.uid
        with self._lock:
            cached = self._compiled.get(key)
            if cached is not None and cached.version == version and cached.schema == tenant_storage.schema:
                self._compiled.move_to_end(key)
                return cached
        if version:
            row = versions.load_version(conn, tenant_storage.schema, version)
            package = Package.from_document(row["document"], extra_types=extra_types)
        else:
            package = EMPTY
        compiled = CompiledMetadata(version, package, tenant_storage.schema, dict(validators or {}),
                                    slug=tenant_storage.slug, extra_types=dict(extra_types or {}),
                                    keyring=tenant_keyring(tenant_storage) if encrypts(package) else None)
        with self._lock:
            for uid in [uid for uid, entry in self._compiled.items() if entry.slug == compiled.slug]:
                del self._compiled[uid]  # this version, or the slug's deleted tenant
            self._compiled[key] = compiled
            while len(self._compiled) > self.max_tenants:
                self._compiled.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        """How many tenants' compiled metadata are kept."""
        return len(self._compiled)

    def kept(self, tenant_storage, version: int, extra_types=None) -> CompiledMetadata | None:
        """The compiled metadata of `version` if it is kept and was read with plugin field
        types that `extra_types` all has alike (a pack being installed adds types; the
        version's own fields read the same), so a publisher's dry run starts from it instead
        of reading and compiling the version again; None otherwise. Reads nothing."""
        with self._lock:
            found = self._compiled.get(tenant_storage.uid)
        if found is None or found.version != version or found.schema != tenant_storage.schema:
            return None
        types = dict(extra_types or {})
        return found if all(types.get(name) == base for name, base in found.extra_types.items()) else None

    def forget(self, slug: str) -> None:
        with self._lock:
            for uid in [uid for uid, entry in self._compiled.items() if entry.slug == slug]:
                del self._compiled[uid]
