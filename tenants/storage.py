"""Resolving an install and its tenants to real databases.

SQLite (the embedded default): a system database file and one file per tenant under
the data directory. PostgreSQL: one database, a `loom_system` schema and one schema per
tenant. Every tenant-level table carries the tenant's schema explicitly, so no query
can run without naming its tenant.
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
SYSTEM_SCHEMA = "loom_system"


def tenant_schema_name(slug: str, prefix: str = "") -> str:
    """Slugs never hold '_', so mapping '-' to '_' cannot make two tenants collide.
    The install's prefix lets several installs share one PostgreSQL database."""
    return f"{prefix}tenant_" + slug.replace("-", "_")


def _sqlite_engine(path: Path, synchronous: str) -> Engine:
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins, so DDL is
        # transactional too (a failed migration leaves nothing behind).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front: a deferred transaction that reads and
        # then writes can fail with SQLITE_BUSY instead of waiting its turn.
        mode = "IMMEDIATE" if conn.get_execution_options().get("loom_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _postgres_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class TenantStorage:
    """One tenant's isolated storage: an engine and, on PostgreSQL, its schema."""

    def __init__(self, slug: str, engine: Engine, schema: str | None, dialect: str):
        self.slug = slug
        self.engine = engine
        self.schema = schema
        self.dialect = dialect

    @contextmanager
    def begin(self):
        """A write transaction, committed when the block ends without an error."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(loom_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def connect(self):
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def migration(self):
        """A transaction for DDL. On SQLite, foreign keys are switched off around it
        (the table copies of batch mode would otherwise fire ON DELETE actions); the
        caller checks the references it could have broken before the block ends."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(loom_write=True)
            raw = conn.connection.driver_connection if self.dialect == "sqlite" else None
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with conn.begin():
                    yield conn
            finally:
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys=ON")


class Storage:
    """The databases of one install. Opening is lazy: constructing this touches nothing."""

    def __init__(self, settings):
        self.settings = settings
        self.dialect = settings.backend
        self._lock = threading.Lock()
        self._system_engine: Engine | None = None
        self._tenant_engines: dict[str, Engine] = {}
        self._shared_engine: Engine | None = None
        self._pg_lock = threading.Lock()

    # -- the system database -------------------------------------------------
    @property
    def system_schema(self) -> str | None:
        return self.settings.schema_prefix + SYSTEM_SCHEMA if self.dialect == "postgresql" else None

    @property
    def system_engine(self) -> Engine:
        with self._lock:
            if self._system_engine is None:
                if self.dialect == "postgresql":
                    self._system_engine = self._postgres()
                else:
                    self.settings.data_dir.mkdir(parents=True, exist_ok=True)
                    self._system_engine = _sqlite_engine(
                        self.settings.data_dir / "system.db", self.settings.sqlite_synchronous
                    )
            return self._system_engine

    def ensure_system_schema(self, conn: Connection) -> None:
        if self.dialect == "postgresql":
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.system_schema}"'))

    # -- tenants ---------------------------------------------------------------
    def tenant(self, slug: str) -> TenantStorage:
        if not SLUG_PATTERN.match(slug):
            raise ValueError(f"not a tenant slug: {slug!r}")
        if self.dialect == "postgresql":
            return TenantStorage(slug, self._postgres(), tenant_schema_name(slug, self.settings.schema_prefix), "postgresql")
        with self._lock:
            engine = self._tenant_engines.get(slug)
            if engine is None:
                engine = _sqlite_engine(self.tenant_path(slug), self.settings.sqlite_synchronous)
                self._tenant_engines[slug] = engine
        return TenantStorage(slug, engine, None, "sqlite")

    def tenant_path(self, slug: str) -> Path:
        return self.settings.data_dir / "tenants" / f"{slug}.db"

    def create_tenant_storage(self, slug: str) -> TenantStorage:
        if self.dialect == "postgresql":
            with self._postgres().begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{tenant_schema_name(slug, self.settings.schema_prefix)}"'))
        else:
            path = self.tenant_path(slug)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                raise FileExistsError(f"tenant database already exists: {path}")
        return self.tenant(slug)

    def drop_tenant_storage(self, slug: str) -> None:
        if self.dialect == "postgresql":
            with self._postgres().begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{tenant_schema_name(slug, self.settings.schema_prefix)}" CASCADE'))
            return
        with self._lock:
            engine = self._tenant_engines.pop(slug, None)
        if engine is not None:
            engine.dispose()
        base = self.tenant_path(slug)
        for suffix in ("", "-wal", "-shm", "-journal"):
            candidate = base.with_name(base.name + suffix)
            if candidate.exists():
                candidate.unlink()

    def _postgres(self) -> Engine:
        with self._pg_lock:
            if self._shared_engine is None:
                self._shared_engine = create_engine(
                    _postgres_url(self.settings.database_url), pool_size=10, max_overflow=10,
                    pool_pre_ping=True,
                )
            return self._shared_engine

    def dispose(self) -> None:
        with self._lock:
            engines = list(self._tenant_engines.values())
            self._tenant_engines.clear()
            for engine in engines + [self._system_engine, self._shared_engine]:
                if engine is not None:
                    engine.dispose()
            self._system_engine = None
            self._shared_engine = None
