"""What a batch create leaves in the SQLite file: the kilobytes of pages `create_many` of
1,000 contacts adds to each table and index (its records, audit and outbox rows, the
search queue), against SQLAlchemy Core's `executemany` of the same rows into the same
table. Every page written is also written to the WAL and copied back at the next
checkpoint, so these figures drive the cost of the commit; unlike times they do not
move with the machine's load.

    python bench/batch_pages.py [--chunks 5]

`LOOM_ROOT=/path/to/other/checkout` runs another checkout's code with this script (to
compare a branch with its base)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(os.environ.get("LOOM_ROOT") or Path(__file__).resolve().parent.parent)  # another checkout's code
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.records import ContactData, core_row, crm_document  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from tenants import Settings  # noqa: E402

CHUNK = 1000


def pages(engine) -> dict:
    """{table or index: bytes of its pages}, every page checkpointed into the file first."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return dict(conn.exec_driver_sql("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").all())


def grown(before: dict, after: dict, chunks: int) -> dict:
    return {name: (size - before.get(name, 0)) / chunks / 1024 for name, size in after.items()
            if size > before.get(name, 0)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=5, help="batches of 1,000 contacts each side writes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        install = Install(Settings(data_dir=Path(tmp)), Plugins(load_entry_points=False))
        try:
            install.registry.create("bench", "Benchmarks")
            session = install.session("bench")
            session.apply_metadata(crm_document())
            accounts = session.records.create_many("account", [{"name": f"A{i}"} for i in range(50)])
            data = ContactData(20240601, accounts)
            engine, table = session.storage.engine, session.metadata().tables["contact"]
            start = pages(engine)
            for index in range(args.chunks):
                session.records.create_many("contact", data.items("l-", index * CHUNK, CHUNK))
            loom = pages(engine)
            at = datetime.now(timezone.utc)
            for index in range(args.chunks):
                with engine.begin() as conn:
                    conn.execute(table.insert(), [core_row(item, at) for item in data.items("c-", index * CHUNK, CHUNK)])
            core = pages(engine)
        finally:
            install.dispose()
    loom_kb, core_kb = grown(start, loom, args.chunks), grown(loom, core, args.chunks)
    print(f"KB of pages per {CHUNK:,} contacts (SQLite, mean of {args.chunks} batches)")
    print(f"| table or index | create_many | Core executemany |\n|---|---|---|")
    for name in sorted(loom_kb, key=lambda n: -loom_kb[n]):
        print(f"| {name} | {loom_kb[name]:,.1f} | {core_kb.get(name, 0):,.1f} |")
    total_loom, total_core = sum(loom_kb.values()), sum(core_kb.values())
    print(f"| **all** | **{total_loom:,.1f}** | **{total_core:,.1f}** ({total_loom / total_core:.2f}×) |")


if __name__ == "__main__":
    main()
