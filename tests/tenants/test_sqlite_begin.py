"""SQLite transactions begin through the driver (tenants.storage): a write takes the write
lock at BEGIN, a read does not, and a BEGIN that fails is SQLAlchemy's error like any other."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from tenants.storage import sqlite_engine


@pytest.fixture()
def engine(tmp_path):
    engine = sqlite_engine(tmp_path / "t.db", "NORMAL")
    with engine.connect() as conn, conn.begin():
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine
    engine.dispose()


def test_a_write_holds_the_write_lock_from_its_begin_and_a_read_does_not(engine, tmp_path):
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None, timeout=0)
    try:
        with engine.connect() as conn:
            with conn.begin():
                conn.execute(text("SELECT count(*) FROM t")).scalar()
                other.execute("BEGIN IMMEDIATE")  # a read began DEFERRED: the lock is free
                other.execute("ROLLBACK")
            write = conn.execution_options(loom_write=True)
            with write.begin():
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")  # taken at BEGIN, before any statement
        with engine.connect() as conn:  # not committed: rolled back
            conn.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        other.close()


def test_a_begin_that_fails_raises_sqlalchemys_operational_error(engine, tmp_path):
    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with engine.connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA busy_timeout=50")
            with pytest.raises(OperationalError, match="locked"):
                with conn.execution_options(loom_write=True).begin():
                    pass
    finally:
        other.execute("ROLLBACK")
        other.close()
