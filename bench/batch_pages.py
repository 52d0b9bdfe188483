"""What a batch create leaves in the database: the kilobytes `create_many` of 1,000
contacts adds to each table and index (its records, audit and outbox rows, the search
queue), against SQLAlchemy Core's `executemany` of the same rows into the same table;
on SQLite also the WAL the batches' commits wrote and the batches' wall time. Every page
written goes to the WAL and back to the file at the next checkpoint, so these figures
drive the cost of a commit; unlike times they do not move with the machine's load.

    python bench/batch_pages.py [--backend sqlite|postgresql] [--chunks 5] [--chunk 1000]

SQLite: `dbstat`'s pages per table and index, after `PRAGMA wal_checkpoint(TRUNCATE)`.
PostgreSQL: `pg_total_relation_size` per table (its indexes and TOAST included).
`LOOM_ROOT=/path/to/other/checkout` runs another checkout's code with this script (to
compare a branch with its base)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
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


class Sizes:
    """The bytes of each table (and, on SQLite, index) of the tenant's storage."""

    def __init__(self, storage):
        self.engine, self.schema = storage.engine, storage.schema
        self.sqlite = self.engine.dialect.name == "sqlite"

    def now(self) -> dict:
        with self.engine.connect() as conn:
            if self.sqlite:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                return dict(conn.exec_driver_sql("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").all())
            return dict(conn.execute(text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind = 'r'"), {"schema": self.schema}).all())

    def wal(self) -> int:
        """SQLite: the bytes in the WAL now (what the commits since the last checkpoint wrote)."""
        path = Path(self.engine.url.database + "-wal")
        return path.stat().st_size if self.sqlite and path.exists() else 0


def grown(before: dict, after: dict, chunks: int) -> dict:
    return {name: (size - before.get(name, 0)) / chunks / 1024 for name, size in after.items()
            if size > before.get(name, 0)}


def measure(session, args) -> tuple[dict, dict, list, int]:
    """(KB per batch by create_many, by Core, each batch's wall seconds, WAL bytes written)."""
    accounts = session.records.create_many("account", [{"name": f"A{i}"} for i in range(50)])
    data = ContactData(20240601, accounts)
    sizes, table = Sizes(session.storage), session.metadata().tables["contact"]
    start, wall, wal = sizes.now(), [], 0
    for index in range(args.chunks):
        items = data.items("l-", index * args.chunk, args.chunk)
        began = time.perf_counter()
        session.records.create_many("contact", items)
        wall.append(time.perf_counter() - began)
        wal += sizes.wal()
        sizes.now()  # checkpointed: the next batch's WAL is its own
    loom = sizes.now()
    at = datetime.now(timezone.utc)
    for index in range(args.chunks):
        with sizes.engine.begin() as conn:
            conn.execute(table.insert(), [core_row(item, at) for item in data.items("c-", index * args.chunk, args.chunk)])
    core = sizes.now()
    return grown(start, loom, args.chunks), grown(loom, core, args.chunks), wall, wal


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--chunks", type=int, default=5, help="batches each side writes")
    parser.add_argument("--chunk", type=int, default=1000, help="contacts per batch")
    args = parser.parse_args()
    pg = args.backend == "postgresql"
    prefix = f"bpages{uuid.uuid4().hex[:6]}_"
    with tempfile.TemporaryDirectory() as tmp:
        install = Install(Settings(data_dir=Path(tmp), database_url=DEFAULT_PG_URL if pg else None,
                                   schema_prefix=prefix if pg else ""), Plugins(load_entry_points=False))
        try:
            install.registry.create("bench", "Benchmarks")
            session = install.session("bench")
            session.apply_metadata(crm_document())
            loom_kb, core_kb, wall, wal = measure(session, args)
        finally:
            install.dispose()
            if pg:
                drop_prefixed_schemas(DEFAULT_PG_URL, prefix)
    print(f"KB per {args.chunk:,} contacts ({args.backend}, mean of {args.chunks} batches; "
          f"create_many's median wall {sorted(wall)[len(wall) // 2] * 1000:.1f} ms"
          + (f"; WAL written {wal / args.chunks / 1024:,.1f} KB a batch)" if not pg else ")"))
    print(f"| {'table' if pg else 'table or index'} | create_many | Core executemany |\n|---|---|---|")
    for name in sorted(loom_kb, key=lambda n: -loom_kb[n]):
        print(f"| {name} | {loom_kb[name]:,.1f} | {core_kb.get(name, 0):,.1f} |")
    total_loom, total_core = sum(loom_kb.values()), sum(core_kb.values())
    print(f"| **all** | **{total_loom:,.1f}** | **{total_core:,.1f}** ({total_loom / total_core:.2f}×) |")


if __name__ == "__main__":
    main()
