"""Resolving an install and its tenants to real databases.

SQLite (the embedded default): a system database file and one file per tenant under
the data directory. PostgreSQL: one database, a `loom_system` schema and one schema per
tenant. Every tenant-level table carries the tenant's schema explicitly, so no query
can run without naming its tenant.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import resource
import sqlite3
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError

from metadata.regex import sqlite_regexp
from tenants.settings import Settings

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
SYSTEM_SCHEMA = "loom_system"
FILES_PER_TENANT = 4   # what one open SQLite tenant may hold: database, WAL, shared memory, spare
FILES_KEPT_FREE = 64   # for the system and queue databases, sockets and the interpreter itself


def tenant_schema_name(slug: str, prefix: str = "") -> str:
    """Slugs never hold '_', so mapping '-' to '_' cannot make two tenants collide.
    The install's prefix lets several installs share one PostgreSQL database."""
    return f"{prefix}tenant_" + slug.replace("-", "_")


def sqlite_engine(path: Path, synchronous: str, create: bool = True,
                  checkpoint_pages: int = Settings.sqlite_checkpoint_pages) -> Engine:
    """An engine on the SQLite file `path`; with `create=False` a missing file is an
    error, never an empty database made in its place (a tenant deleted meanwhile).

    `checkpoint_pages` (`LOOM_SQLITE_CHECKPOINT_PAGES`): a commit that leaves at least this
    many pages in the write-ahead log copies them back into the database (SQLite's default
    is 1,000). More pages between checkpoints copy the pages every write touches (an index's
    inner pages, a table's last leaf) fewer times: a batch create of 1,000 records spends
    ~10% less (docs/benchmarks.md, "Batch create: fewer checkpoints, a settled heap"). The
    log's file is trimmed back to about that size when the log starts over after a
    checkpoint, so a database that once wrote a large transaction does not keep a larger one."""
    if create:
        engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})
    else:
        uri = f"{Path(path).absolute().as_uri()}?mode=rw"
        engine = create_engine(f"sqlite:///{path}", creator=lambda: sqlite3.connect(
            uri, uri=True, timeout=30, check_same_thread=False))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins, so DDL is
        # transactional too (a failed migration leaves nothing behind).
        dbapi_connection.isolation_level = None
        # `x REGEXP p`: the conditions' `matches`, by the same linear-time matcher as in Python.
        dbapi_connection.create_function("regexp", 2, sqlite_regexp, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={int(checkpoint_pages)}")
        page = cursor.execute("PRAGMA page_size").fetchone()[0]
        cursor.execute(f"PRAGMA journal_size_limit={int(checkpoint_pages) * page}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Writers take the write lock up front: a deferred transaction that reads and
        # then writes can fail with SQLITE_BUSY instead of waiting its turn.
        # Sent straight to the driver (every read and write begins so; SQLAlchemy's
        # statement handling would cost more than the BEGIN), its error wrapped as
        # SQLAlchemy wraps every other ("database is locked" is an OperationalError).
        sql = "BEGIN IMMEDIATE" if conn.get_execution_options().get("loom_write") else "BEGIN DEFERRED"
        try:
            conn.connection.driver_connection.execute(sql).close()
        except sqlite3.Error as error:
            raise DBAPIError.instance(sql, None, error, sqlite3.Error, dialect=conn.dialect) from error

    return engine


def postgres_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


UNLIMITED_FILES = 1 << 20


def open_file_limit() -> int:
    """How many files this process may have open (its soft limit)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return UNLIMITED_FILES if soft == resource.RLIM_INFINITY else soft


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files as far as its hard limit allows
    (an install with many tenants opens many files); the entry points call it at start.
    Returns the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = UNLIMITED_FILES if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):  # e.g. macOS caps the soft limit below "unlimited"
            pass
    return open_file_limit()


def lock_key(name: str) -> int:
    """A PostgreSQL advisory-lock key (signed 64-bit) for an install-wide lock name."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class TenantStorage:
    """One tenant's isolated storage: an engine and, on PostgreSQL, its schema.

    `uid` is the tenant's identity, never reused: what caches of the tenant are keyed by."""

    single_transaction = False  # True: every transaction is a savepoint of one (a trial's)

    def __init__(self, slug: str, engine: Engine, schema: str | None, dialect: str, uid: str):
        self.slug = slug
        self.uid = uid
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
    """The databases of one install. Opening is lazy: constructing this touches nothing.

    On SQLite only the most recently used tenants keep their database open (at most
    `settings.max_open_tenants`, fewer when the open-file limit is low); the least
    recently used idle one is closed when another opens. An open tenant is keyed by
    its identity: a slug that now names another tenant closes the old one's files."""

    def __init__(self, settings):
        self.settings = settings
        self.dialect = settings.backend
        self._lock = threading.Lock()
        self._system_engine: Engine | None = None
        self._tenant_engines: OrderedDict[str, tuple[str, Engine]] = OrderedDict()  # slug: (uid, engine)
        self._shared_engine: Engine | None = None
        self._pg_lock = threading.Lock()
        self._max_open: int | None = None

    # -- the system database -------------------------------------------------
    @property
    def system_path(self) -> Path:
        """SQLite: the file of the install's system database."""
        return self.settings.data_dir / "system.db"

    def has_install(self) -> bool:
        """SQLite: whether the data folder holds an install (its system database), looked at
        without making one; PostgreSQL: True (the database URL names the install)."""
        return self.dialect == "postgresql" or self.system_path.is_file()

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
                    self._system_engine = sqlite_engine(
                        self.system_path, self.settings.sqlite_synchronous,
                        checkpoint_pages=self.settings.sqlite_checkpoint_pages,
                    )
            return self._system_engine

    def ensure_system_schema(self, conn: Connection) -> None:
        """Create the system schema. On PostgreSQL the transaction first takes the
        install's set-up lock, so processes starting at once set up one at a time (the
        later ones find everything made and wait only for the first)."""
        if self.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                         {"key": lock_key(f"{self.system_schema}:setup")})
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.system_schema}"'))

    @contextmanager
    def exclusive(self, name: str):
        """Yields True while this caller alone holds the install-wide lock `name` (any
        process, any thread), False at once when another holder has it. PostgreSQL: a
        session advisory lock; SQLite: flock on `<data dir>/<name>.lock`. A holder that
        dies releases it."""
        if self.dialect == "postgresql":
            key = lock_key(f"{self.system_schema}:{name}")
            with self._postgres().connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                held = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
                try:
                    yield bool(held)
                finally:
                    if held:
                        conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            return
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.settings.data_dir / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    # -- tenants ---------------------------------------------------------------
    def tenant(self, slug: str, uid: str) -> TenantStorage:
        """The storage of the tenant `uid`, now registered as `slug`."""
        if not SLUG_PATTERN.match(slug):
            raise ValueError(f"not a tenant slug: {slug!r}")
        if self.dialect == "postgresql":
            return TenantStorage(slug, self._postgres(), tenant_schema_name(slug, self.settings.schema_prefix),
                                 "postgresql", uid)
        stale = []
        with self._lock:
            found = self._tenant_engines.get(slug)
            if found is not None and found[0] == uid:
                engine = found[1]
                self._tenant_engines.move_to_end(slug)
            else:
                if found is not None:  # the slug was deleted and names another tenant now
                    stale.append(found[1])
                engine = sqlite_engine(self.tenant_path(slug), self.settings.sqlite_synchronous, create=False,
                                       checkpoint_pages=self.settings.sqlite_checkpoint_pages)
                self._tenant_engines[slug] = (uid, engine)
                stale += self._least_recently_used()
        for old in stale:
            old.dispose()
        return TenantStorage(slug, engine, None, "sqlite", uid)

    @property
    def max_open_tenants(self) -> int:
        """LOOM_MAX_OPEN_TENANTS, or fewer when the open-file limit cannot hold as many."""
        if self._max_open is None:
            room = (open_file_limit() - FILES_KEPT_FREE) // FILES_PER_TENANT
            self._max_open = max(2, min(self.settings.max_open_tenants, room))
        return self._max_open

    def _least_recently_used(self) -> list[Engine]:
        """Take idle engines off the open list, oldest first, until it fits. An engine
        with a connection checked out stays open (closing it would break its user)."""
        closing = []
        for slug in list(self._tenant_engines)[:-1]:
            if len(self._tenant_engines) <= self.max_open_tenants:
                break
            engine = self._tenant_engines[slug][1]
            if engine.pool.checkedout() == 0:
                del self._tenant_engines[slug]
                closing.append(engine)
        return closing

    def open_tenants(self) -> int:
        """How many SQLite tenant databases this process keeps open."""
        with self._lock:
            return len(self._tenant_engines)

    def tenant_path(self, slug: str) -> Path:
        return self.settings.data_dir / "tenants" / f"{slug}.db"

    def create_tenant_storage(self, slug: str, uid: str) -> TenantStorage:
        """New, empty storage for tenant `uid`; FileExistsError (SQLite) or the database's
        error (PostgreSQL) when the slug's storage exists, so two creators never share it."""
        if self.dialect == "postgresql":
            with self._postgres().begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{tenant_schema_name(slug, self.settings.schema_prefix)}"'))
        else:
            path = self.tenant_path(slug)
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                path.touch(exist_ok=False)
            except FileExistsError:
                raise FileExistsError(f"tenant database already exists: {path}") from None
        return self.tenant(slug, uid)

    def drop_tenant_storage(self, slug: str) -> None:
        if self.dialect == "postgresql":
            with self._postgres().begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{tenant_schema_name(slug, self.settings.schema_prefix)}" CASCADE'))
            return
        with self._lock:
            found = self._tenant_engines.pop(slug, None)
        if found is not None:
            found[1].dispose()
        base = self.tenant_path(slug)
        for suffix in ("", "-wal", "-shm", "-journal"):
            candidate = base.with_name(base.name + suffix)
            if candidate.exists():
                candidate.unlink()

    def _postgres(self) -> Engine:
        with self._pg_lock:
            if self._shared_engine is None:
                self._shared_engine = create_engine(
                    postgres_url(self.settings.database_url), pool_size=10, max_overflow=10,
                    pool_pre_ping=True,
                )
            return self._shared_engine

    def dispose(self) -> None:
        with self._lock:
            engines = [engine for _uid, engine in self._tenant_engines.values()]
            self._tenant_engines.clear()
            for engine in engines + [self._system_engine, self._shared_engine]:
                if engine is not None:
                    engine.dispose()
            self._system_engine = None
            self._shared_engine = None
