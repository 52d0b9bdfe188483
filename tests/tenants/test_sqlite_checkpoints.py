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
    for bad in ("many", "0", "-5", "1.5"):
        with pytest.raises(ValueError, match="LOOM_SQLITE_CHECKPOINT_PAGES must be a whole number of at least 1"):
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
    """The pages the write-ahead log holds now (a passive checkpoint's report, which copies
    nothing while a reader holds them: here it runs with nothing else open)."""
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]


@pytest.mark.parametrize("pages", [100, 4000])
def test_the_log_holds_the_pages_written_until_the_setting_and_is_cut_back_after(tmp_path, pages):
    path = tmp_path / "t.db"
    engine = sqlite_engine(path, "NORMAL", checkpoint_pages=pages)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x TEXT)"))
        page = 4096
        for _ in range(60):  # 60 commits of ~20 pages each: 1,200 pages in all, beyond SQLite's own 1,000
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t SELECT printf('%.*c', 400, 'x') FROM "
                                  "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) "
                                  "SELECT i FROM n)"))
        with engine.connect() as conn:
            page = conn.execute(text("PRAGMA page_size")).scalar()
        wal = os.path.getsize(f"{path}-wal")
        if pages == 4000:  # nothing copied back yet: the log holds every page written
            assert _log_pages(engine) >= 1200
        else:  # copied back every ~100 pages; the file no larger than the setting's pages (and one commit's)
            assert wal <= (pages + 40) * (page + 24) + 32
    finally:
        engine.dispose()
