"""Python calls and process time of a member's `records.get` (bench/packs.py's policy
tenant, rows "1f"): a visible record and an invisible one (404), as the agent.

    python bench/get_cpu.py [--backend sqlite|postgresql] [--scale 0.01] [--gets 1000]
                            [--rounds 5] [--profile PREFIX]

Each get builds a fresh Actor and record service, as a request does (bench/packs.py
``records_as``).  Prints, per case, the cProfile call count of one get and the median
process time of a get over --rounds rounds.  `LOOM_ROOT=/path/to/other/checkout` runs
another checkout's code (its engine and bench/packs.py): alternate base and head that way."""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
import types
import uuid
from pathlib import Path

ROOT = Path(os.environ.get("LOOM_ROOT") or Path(__file__).resolve().parent.parent)  # another checkout's code
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.common import drop_prefixed_schemas  # noqa: E402
from bench.packs import DEFAULT_PG_URL, Bench, policy_document  # noqa: E402
from engine.errors import NotFound  # noqa: E402


def get(bench, record_id) -> bool:
    try:
        bench.records_as("agent").get("policy", record_id)
        return True
    except NotFound:
        return False


def calls_per_get(bench, ids, profile_path=None) -> float:
    profile = cProfile.Profile()
    profile.enable()
    for record_id in ids:
        get(bench, record_id)
    profile.disable()
    if profile_path:
        profile.dump_stats(profile_path)
    return pstats.Stats(profile).total_calls / len(ids)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--gets", type=int, default=1000, help="gets per round and case")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", help="a file prefix for each case's cProfile stats")
    args = parser.parse_args()
    pg = args.backend == "postgresql"
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"gcpu{uuid.uuid4().hex[:6]}_"
        options = types.SimpleNamespace(scale=args.scale, database_url=DEFAULT_PG_URL, queries=10)
        bench = Bench(args.backend, options, Path(tmp), prefix)
        try:
            bench.sharing_setup()
            bench.load_policies()
            bench.session.actor = None
            bench.session.apply_metadata(policy_document(owner_index=True))
            bench.refresh()
            t, where = bench.table, bench.core_where("agent")
            with bench.engine.connect() as conn:
                visible = conn.execute(select(t.c.id).where(where).order_by(t.c.id).limit(10)).scalars().all()
                hidden = conn.execute(select(t.c.id).where(t.c.agency != bench.agency, t.c.owner_id.is_(None))
                                      .order_by(t.c.id.desc()).limit(10)).scalars().all()
            cases = {"visible": (visible, True), "invisible": (hidden, False)}
            for name, (ids, found) in cases.items():
                assert all(get(bench, i) is found for i in ids), name
            cpu = {name: [] for name in cases}
            for _ in range(args.rounds):
                for name, (ids, _) in cases.items():
                    batch = (ids * (args.gets // len(ids) + 1))[:args.gets]
                    began = time.process_time()
                    for record_id in batch:
                        get(bench, record_id)
                    cpu[name].append((time.process_time() - began) / len(batch))
            for name, (ids, _) in cases.items():
                path = f"{args.profile}.{name}.prof" if args.profile else None
                calls = calls_per_get(bench, ids * 10, path)
                print(f"{args.backend} {name}: {calls:,.0f} calls/get, "
                      f"cpu median {statistics.median(cpu[name]) * 1000:.3f} ms/get "
                      f"(rounds {', '.join(f'{c * 1000:.3f}' for c in cpu[name])})")
        finally:
            bench.session.actor = None
            bench.close()
            if pg:
                drop_prefixed_schemas(DEFAULT_PG_URL, prefix)


if __name__ == "__main__":
    main()
