"""A tenant's storage inside one transaction that is always rolled back: what a trial of
a write runs on (a workflow transition tried on a real record).

Every transaction the code under trial opens (`begin`, `connect`) is a savepoint of the
one transaction, so its reads see its own writes and a refused step undoes only itself;
when the block ends the whole transaction is rolled back and the database is as it was.
It holds the metadata version as a write does (`pinning`): on PostgreSQL it takes the
tenant's version lock in shared mode first, so no migration commits under the trial."""
from __future__ import annotations

from contextlib import contextmanager

from engine.errors import Conflict
from engine.records.pinning import confirm, hold_version
from tenants.storage import TenantStorage


class RolledBackStorage(TenantStorage):
    """`storage` whose every transaction is a savepoint of the connection `conn`'s one
    transaction (never committed)."""

    single_transaction = True

    def __init__(self, storage: TenantStorage, conn):
        super().__init__(storage.slug, storage.engine, storage.schema, storage.dialect, storage.uid)
        self._conn = conn

    @contextmanager
    def begin(self):
        with self._conn.begin_nested():
            yield self._conn

    @contextmanager
    def connect(self):
        with self._conn.begin_nested():  # a failed read leaves the transaction usable
            yield self._conn

    @contextmanager
    def migration(self):
        raise Conflict("a trial does not change the database's tables", code="trial_migration")
        yield  # pragma: no cover - a generator for contextmanager


@contextmanager
def rolled_back(storage: TenantStorage, version: int):
    """`storage` as a `RolledBackStorage` inside the block, holding metadata `version`
    (`MetadataChanged` when the tenant's is another); everything written in the block is
    rolled back when it ends, by an error or not."""
    with storage.engine.connect() as conn:
        conn = conn.execution_options(loom_write=True)
        transaction = conn.begin()
        try:
            hold_version(conn, storage.schema)
            confirm(conn, storage.schema, version)
            yield RolledBackStorage(storage, conn)
        finally:
            transaction.rollback()
