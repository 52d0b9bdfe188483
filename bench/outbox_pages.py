"""What a batch create writes to SQLite's file, per table: after a checkpoint, the database's
pages before and after `--batches` batches of `--chunk` contacts (`create_many`), and the
bytes each table and index holds then (`dbstat`), beside the bytes SQLAlchemy Core's
`executemany` of the same rows adds to the contact table; and the wall time of each batch
(median), the WAL's bytes (what the commits wrote before the checkpoint) included. On
PostgreSQL (`--backend postgresql`): each table's bytes with its indexes and TOAST
(`pg_total_relation_size`) and the batches' wall time.

    python bench/outbox_pages.py [--backend sqlite|postgresql] [--chunk 1000] [--batches 5]

`LOOM_ROOT=/path/to/other/checkout` runs another checkout's code with this script."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(os.environ.get("LOOM_ROOT") or Path(__file__).resolve().parent.parent)  # another checkout's code
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.common import drop_prefixed_schemas  # noqa: E402
from bench.records import DEFAULT_PG_URL, ContactData, core_row, crm_document  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from tenants import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend == "postgresql":
            return _postgresql(args, Path(tmp))
        install = Install(Settings(data_dir=Path(tmp)), Plugins(load_entry_points=False))
        install.registry.create("bench", "Benchmarks")
        session = install.session("bench")
        try:
            session.apply_metadata(crm_document())
            accounts = session.records.create_many("account", [{"name": f"A{i}"} for i in range(50)])
            data = ContactData(20240601, accounts)
            engine = session.storage.engine
            before, sizes_before = _pages(engine)
            wall, wal = [], 0
            for index in range(args.batches):
                items = data.items("l-", index * args.chunk, args.chunk)
                began = time.perf_counter()
                session.records.create_many("contact", items)
                wall.append(time.perf_counter() - began)
                wal += _wal_bytes(engine)
                _checkpoint(engine)
            after, sizes = _pages(engine)
            page = _page_size(engine)
            table = session.metadata().tables["contact"]
            core_before = sizes.get("contact", 0)
            with engine.begin() as conn:
                at = datetime.now(timezone.utc)
                for index in range(args.batches):
                    conn.execute(table.insert(), [core_row(item, at) for item in
                                                  data.items("c-", index * args.chunk, args.chunk)])
            _checkpoint(engine)
            core = _pages(engine)[1].get("contact", 0) - core_before
            grown = {name: sizes.get(name, 0) - sizes_before.get(name, 0) for name in sizes}
            total = args.batches * args.chunk
            print(f"sqlite, {args.batches} batches of {args.chunk}: {(after - before) * page / 1024:,.0f} KB of pages "
                  f"({(after - before) * page / total:,.0f} B per record); WAL written {wal / 1024:,.0f} KB; "
                  f"batch wall {sorted(wall)[len(wall) // 2] * 1000:.1f} ms (median)")
            for name, grew in sorted(grown.items(), key=lambda kv: -kv[1])[:6]:
                print(f"  {name}: {grew / 1024:,.0f} KB ({grew / total:,.0f} B per record)")
            print(f"  Core's executemany of the same rows: contact {core / 1024:,.0f} KB")
        finally:
            install.dispose()


def _postgresql(args, tmp: Path) -> None:
    prefix = f"opages{os.getpid()}_"
    install = Install(Settings(data_dir=tmp, database_url=DEFAULT_PG_URL, schema_prefix=prefix),
                      Plugins(load_entry_points=False))
    install.registry.create("bench", "Benchmarks")
    session = install.session("bench")
    try:
        session.apply_metadata(crm_document())
        accounts = session.records.create_many("account", [{"name": f"A{i}"} for i in range(50)])
        data = ContactData(20240601, accounts)
        schema, engine = session.storage.schema, session.storage.engine
        wall = []
        for index in range(args.batches):
            items = data.items("l-", index * args.chunk, args.chunk)
            began = time.perf_counter()
            session.records.create_many("contact", items)
            wall.append(time.perf_counter() - began)
        total = args.batches * args.chunk
        with engine.connect() as conn:
            sizes = conn.execute(text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind = 'r' ORDER BY 2 DESC LIMIT 4"),
                {"schema": schema}).all()
        print(f"postgresql, {args.batches} batches of {args.chunk}: batch wall "
              f"{sorted(wall)[len(wall) // 2] * 1000:.1f} ms (median)")
        for name, size in sizes:
            print(f"  {name}: {size / 1024:,.0f} KB ({size / total:,.0f} B per record)")
    finally:
        install.dispose()
        drop_prefixed_schemas(DEFAULT_PG_URL, prefix)


def _checkpoint(engine) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _wal_bytes(engine) -> int:
    path = Path(engine.url.database + "-wal")
    return path.stat().st_size if path.exists() else 0


def _page_size(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA page_size").scalar()


def _pages(engine) -> tuple[int, dict]:
    """(the database's pages, {table or index: bytes}), after a checkpoint."""
    _checkpoint(engine)
    with engine.connect() as conn:
        count = conn.exec_driver_sql("PRAGMA page_count").scalar()
        sizes = dict(conn.execute(text("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")).all())
    return count, sizes


if __name__ == "__main__":
    main()
