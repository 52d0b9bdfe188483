"""Process time of `create_many` against SQLAlchemy Core's `executemany` of the same rows,
alternated in one process (process time, so a loaded machine does not count; the ratio
still includes the database's own work done in this process, SQLite's).

    python bench/batch_cpu.py [--backend sqlite|postgresql] [--chunk 1000] [--chunks 8]
                              [--profile FILE]

`LOOM_ROOT=/path/to/other/checkout` runs another checkout's code (its `bench/records.py`
and engine) with this script: alternate base and head that way."""
from __future__ import annotations

import argparse
import cProfile
import gc
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

from bench.common import drop_prefixed_schemas  # noqa: E402
from bench.records import ContactData, core_row, crm_document, DEFAULT_PG_URL  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from tenants import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--chunk", type=int, default=1000)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--profile")
    parser.add_argument("--ab-hooks", action="store_true",
                        help="alternate the batch hooks with the per-record ones (this checkout only)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"bcpu{uuid.uuid4().hex[:6]}_"
        pg = args.backend == "postgresql"
        settings = Settings(data_dir=Path(tmp), database_url=DEFAULT_PG_URL if pg else None,
                            schema_prefix=prefix if pg else "")
        install = Install(settings, Plugins(load_entry_points=False))
        install.registry.create("bench", "Benchmarks")
        session = install.session("bench")
        try:
            session.apply_metadata(crm_document())
            accounts = session.records.create_many("account", [{"name": f"A{i}"} for i in range(50)])
            data = ContactData(20240601, accounts)
            table = session.metadata().tables["contact"]
            engine = session.storage.engine
            spent = {"loom": [], "core": [], "per_record": []}
            profile = cProfile.Profile() if args.profile else None
            gc.collect()  # then frozen, as `engine.heap.settled` does in the worker and `loom import`
            gc.freeze()  # (here directly: LOOM_ROOT may name a checkout from before it)
            for index in range(args.chunks + 1):  # the first round warms up
                at = datetime.now(timezone.utc)
                arms = {
                    "loom": lambda: session.records.create_many("contact", items),
                    "core": lambda: _core(engine, table, rows),
                    "per_record": lambda: _per_record(session, per_record_items),
                }
                items = data.items("l-", index * args.chunk, args.chunk)
                rows = [core_row(item, at) for item in data.items("c-", index * args.chunk, args.chunk)]
                per_record_items = data.items("r-", index * args.chunk, args.chunk)
                order = ["loom", "core"] + (["per_record"] if args.ab_hooks else [])
                for who in order if index % 2 else order[::-1]:  # alternated
                    began = time.process_time()
                    if profile and index and who == "loom":
                        profile.enable()
                    arms[who]()
                    if profile and index and who == "loom":
                        profile.disable()
                    if index:
                        spent[who].append(time.process_time() - began)
            loom, core, per_record = spent["loom"], spent["core"], spent["per_record"]
            if profile:
                profile.dump_stats(args.profile)
            lm, cm = sorted(loom)[len(loom) // 2], sorted(core)[len(core) // 2]
            print(f"{args.backend} chunk {args.chunk}: create_many {lm * 1000:.1f} ms CPU, "
                  f"Core {cm * 1000:.1f} ms CPU, ratio {lm / cm:.2f}x (medians of {len(loom)})")
            if per_record:
                pm = sorted(per_record)[len(per_record) // 2]
                print(f"  with the core hooks asked record by record: {pm * 1000:.1f} ms CPU, "
                      f"ratio {pm / cm:.2f}x")
        finally:
            install.dispose()
            if pg:
                drop_prefixed_schemas(DEFAULT_PG_URL, prefix)


def _core(engine, table, rows) -> None:
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)


def _per_record(session, items) -> None:
    """`create_many` with Loom's own plugins asked record by record (the batch hooks
    switched off for this call)."""
    import engine.hooks

    batched = engine.hooks._batched
    engine.hooks._batched = lambda *args: None
    try:
        session.records.create_many("contact", items)
    finally:
        engine.hooks._batched = batched


if __name__ == "__main__":
    main()
