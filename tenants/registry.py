"""The tenant registry: which tenants exist, and provisioning and removing them."""
from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, text

from metadata.language import DEFAULT_LANGUAGE, is_language_tag
from tenants import migrations
from tenants.export import ExportFailed, export_tenant
from tenants.migrations import recorded
from tenants.storage import SLUG_PATTERN, Storage, TenantStorage, lock_key
from tenants.tables import system_tables


class TenantError(Exception):
    """A refused tenant operation: `code` for programs, the message for people."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Tenant:
    id: int
    slug: str
    name: str
    status: str
    plugins: tuple
    created_at: datetime
    uid: str  # the identity, never reused: a slug deleted and created again names another tenant
    language: str = DEFAULT_LANGUAGE  # the tag its API describes entities and fields in


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Registry:
    """Tenants of one install. The system database is migrated on first use."""

    def __init__(self, storage: Storage):
        self.storage = storage
        self._ready = False
        self._lock = threading.Lock()
        self._current: set = set()  # uids whose Loom tables this process saw at head
        # Called with (tenant, storage) the first time this process opens a tenant, once its
        # Loom tables are at head: the layers above finish what a revision left them (the
        # engine rebuilds a search index a revision marked stale). Until one returns, the
        # tenant is not counted as open: a failure is tried again on the next use.
        self.on_open: list = []

    @property
    def table(self):
        return system_tables(self.storage.system_schema).tables[
            _qualified(self.storage.system_schema, "loom_tenants")
        ]

    def ensure_ready(self) -> None:
        """Create and migrate the system tables once per process (safe when several
        processes start at once: see `Storage.ensure_system_schema`)."""
        with self._lock:
            if self._ready:
                return
            with self.storage.system_engine.connect() as conn:
                conn = conn.execution_options(loom_write=True)
                with conn.begin():
                    self.storage.ensure_system_schema(conn)
                    migrations.upgrade(conn, "system", self.storage.system_schema)
            self._ready = True

    # -- reading ---------------------------------------------------------------
    def get(self, slug: str) -> Tenant | None:
        if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
            return None
        self.ensure_ready()
        with self.storage.system_engine.connect() as conn:
            row = conn.execute(select(self.table).where(self.table.c.slug == slug)).first()
        return _tenant(row) if row else None

    def by_uid(self, uid: str) -> Tenant | None:
        """The tenant whose never-reused identity is `uid`, or None."""
        if not isinstance(uid, str) or len(uid) != 32:
            return None
        self.ensure_ready()
        with self.storage.system_engine.connect() as conn:
            row = conn.execute(select(self.table).where(self.table.c.uid == uid)).first()
        return _tenant(row) if row else None

    def require(self, slug: str) -> Tenant:
        tenant = self.get(slug)
        if tenant is None:
            raise TenantError("tenant_not_found", f"no tenant {slug!r}")
        return tenant

    def list(self) -> list[Tenant]:
        self.ensure_ready()
        with self.storage.system_engine.connect() as conn:
            rows = conn.execute(select(self.table).order_by(self.table.c.slug)).all()
        return [_tenant(r) for r in rows]

    def storage_of(self, tenant: Tenant | str) -> TenantStorage:
        """The storage of a tenant (a slug is looked up: TenantError when it names none)."""
        tenant = self.require(tenant) if isinstance(tenant, str) else tenant
        found = self.storage.tenant(tenant.slug, tenant.uid)
        if tenant.uid not in self._current:
            self._open(tenant, found)
        return found

    def _open(self, tenant: Tenant, tenant_storage: TenantStorage) -> None:
        self._bring_to_head(tenant_storage)
        for opened in self.on_open:
            opened(tenant, tenant_storage)
        self._current.add(tenant.uid)

    def _bring_to_head(self, tenant_storage: TenantStorage) -> None:
        """Migrate Loom's own tables in a tenant made by an older Loom (once per tenant
        per process: one read of the tenant's revision when it is current). On PostgreSQL
        processes meeting the same old tenant at once migrate it one at a time."""
        head = migrations.heads("tenant")
        if migrations.current(tenant_storage.engine, tenant_storage.schema) == head:
            return
        with tenant_storage.migration() as conn:
            if tenant_storage.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": lock_key(f"{tenant_storage.schema}:tables")})
            migrations.upgrade(conn, "tenant", tenant_storage.schema)

    # -- changing --------------------------------------------------------------
    def create(self, slug: str, name: str | None = None, plugins=(), language: str = DEFAULT_LANGUAGE) -> Tenant:
        """Provision storage, migrate Loom's tables into it and register the tenant.

        A failure at any step removes what the earlier steps made."""
        if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
            raise TenantError(
                "invalid_slug",
                f"invalid tenant slug {slug!r}: use 2-40 lowercase letters, digits and "
                "hyphens, starting with a letter and not ending with a hyphen",
            )
        _check_language(language)
        _check_name(name)
        if self.get(slug) is not None:
            raise TenantError("tenant_exists", f"tenant {slug!r} already exists")
        uid = uuid.uuid4().hex
        try:
            tenant_storage = self.storage.create_tenant_storage(slug, uid)
        except FileExistsError as exc:
            raise TenantError("tenant_exists", f"storage for {slug!r} already exists: {exc}")
        except Exception as exc:  # e.g. the PostgreSQL schema exists from an earlier install
            raise TenantError("storage_failed", f"could not create storage for {slug!r}: {exc}")
        try:
            with tenant_storage.migration() as conn:  # new storage: the recorded head (Alembic if stale)
                recorded.create(conn, "tenant", tenant_storage.schema)
            with self.storage.system_engine.connect() as conn:
                conn = conn.execution_options(loom_write=True)
                with conn.begin():
                    conn.execute(self.table.insert().values(
                        slug=slug, name=name or slug, status="active",
                        plugins=list(plugins), created_at=utcnow(), uid=uid, language=language,
                    ))
        except BaseException:
            self.storage.drop_tenant_storage(slug)
            raise
        return self.require(slug)

    def set_plugins(self, slug: str, plugins) -> Tenant:
        self.require(slug)
        with self.storage.system_engine.connect() as conn:
            conn = conn.execution_options(loom_write=True)
            with conn.begin():
                conn.execute(self.table.update().where(self.table.c.slug == slug)
                             .values(plugins=sorted(set(plugins))))
        return self.require(slug)

    def set_language(self, slug: str, language: str) -> Tenant:
        """Change the tenant's default language (a language tag such as `zh-CN`)."""
        _check_language(language)
        self.require(slug)
        with self.storage.system_engine.connect() as conn:
            conn = conn.execution_options(loom_write=True)
            with conn.begin():
                conn.execute(self.table.update().where(self.table.c.slug == slug).values(language=language))
        return self.require(slug)

    def discard(self, slug: str) -> None:
        """Drop a tenant that was never put to use (its set-up failed): no export."""
        self.require(slug)
        self.storage.drop_tenant_storage(slug)
        with self.storage.system_engine.connect() as conn:
            conn = conn.execution_options(loom_write=True)
            with conn.begin():
                conn.execute(self.table.delete().where(self.table.c.slug == slug))

    def delete(self, slug: str, export_dir) -> str:
        """Export every table of the tenant, then drop its storage and registry row.

        Returns the export's path. Nothing is dropped if the export fails."""
        tenant = self.require(slug)
        try:
            path = export_tenant(self.storage_of(tenant), export_dir, tenant.name)
        except ExportFailed as exc:
            raise TenantError("export_failed", f"{exc}; nothing was deleted") from None
        self.storage.drop_tenant_storage(slug)
        with self.storage.system_engine.connect() as conn:
            conn = conn.execution_options(loom_write=True)
            with conn.begin():
                conn.execute(self.table.delete().where(self.table.c.slug == slug))
        return str(path)


def _qualified(schema, name):
    return f"{schema}.{name}" if schema else name


MAX_NAME = 200
CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def _check_name(name) -> None:
    """A tenant's display name: text of at most `MAX_NAME` characters without control
    characters (a line break would split `loom tenant list`'s line), or none (the slug)."""
    if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME or CONTROL.search(name)):
        raise TenantError("invalid_name", f"a tenant's name is text of at most {MAX_NAME} characters "
                                          "without control characters")


def _check_language(language) -> None:
    if not is_language_tag(language):
        raise TenantError("invalid_language", f"invalid language {str(language)[:40]!r}: use a language tag "
                                              "such as en or zh-CN (2-3 lowercase letters, then -subtags)")


def _tenant(row) -> Tenant:
    return Tenant(
        id=row.id, slug=row.slug, name=row.name, status=row.status,
        plugins=tuple(row.plugins or ()), created_at=row.created_at, uid=row.uid, language=row.language,
    )
