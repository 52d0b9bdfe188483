"""SQLite's write-ahead log is copied back into a tenant's database every
`LOOM_SQLITE_CHECKPOINT_PAGES` pages (tenants.storage), not SQLite's default 1,000: the
setting is checked like every other, reaches every connection, and the log holds that many
pages before a commit copies them, its file cut back to that size after."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from engine.install import Install
from tenants import Settings
from tenants.storage import sqlite_engine


def test_the_setting_defaults_to_4000_pages_and_refuses_what_is_not_a_count():
    assert Settings.from_env({}).sqlite_checkpoint_pages == 4000
    assert Settings.from_env({"LOOM_SQLITE_CHECKPOINT_PAGES": "2000"}).sqlite_checkpoint_pages == 2000
    # SQLite would read 3,000,000,000 as 0 (never); 16,000,000 is 16 MB, not a count of pages
    for bad in ("many", "1.5", "0", "-5", "3000000000", "16000000"):
        with pytest.raises(ValueError, match="LOOM_SQLITE_CHECKPOINT_PAGES must be a number of pages from 1 to "
                                             r"1,000,000 \(of 4,096 bytes each: not bytes\), not "):
            Settings.from_env({"LOOM_SQLITE_CHECKPOINT_PAGES": bad})


def test_every_tenant_connection_checkpoints_at_the_setting(tmp_path):
    install = Install(Settings(data_dir=tmp_path, sqlite_checkpoint_pages=1234))
    try:
        install.registry.create("acme", "Acme")
        for engine in (install.session("acme").storage.engine, install.registry.storage.system_engine):
            with engine.connect() as conn:
                page = conn.execute(text("PRAGMA page_size")).scalar()
                assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1234
                assert conn.execute(text("PRAGMA journal_size_limit")).scalar() == 1234 * page
    finally:
        install.dispose()


def _log_pages(engine) -> int:
    """The pages the write-ahead log holds now (a passive checkpoint's count of them; it then
    copies them, as nothing else has the database open)."""
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]


def _write(engine, rows: int) -> None:
    """One commit of `rows` rows of ~400 bytes (about 10 a page)."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t SELECT printf('%.*c', 400, 'x') FROM (WITH RECURSIVE n(i) AS "
                          f"(SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) SELECT i FROM n)"))


@pytest.mark.parametrize("pages", [100, 4000])
def test_the_log_holds_the_pages_written_until_the_setting_and_is_cut_back_after(tmp_path, pages):
    path = tmp_path / "t.db"
    engine = sqlite_engine(path, "NORMAL", checkpoint_pages=pages)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x TEXT)"))
            page = conn.execute(text("PRAGMA page_size")).scalar()
        if pages == 4000:
            for _ in range(60):  # 60 commits of ~20 pages each: 1,200 pages, beyond SQLite's own 1,000
                _write(engine, 200)
            assert _log_pages(engine) >= 1200  # nothing copied back yet: the log holds every page written
        else:
            _write(engine, 10_000)  # one commit of ~1,000 pages: the log's file grows to hold it
            assert os.path.getsize(f"{path}-wal") > 900 * page
            for _ in range(30):  # copied back every ~100 pages, the file then cut back to the setting's size
                _write(engine, 200)
            assert os.path.getsize(f"{path}-wal") <= (pages + 40) * (page + 24) + 32
    finally:
        engine.dispose()
