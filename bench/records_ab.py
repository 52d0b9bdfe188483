"""Single creates and first pages of two checkouts, alternated: process time per
operation and Python function calls per operation (deterministic: the machine's noise
does not move it), for comparing a branch with a base on a loud machine.

    python bench/records_ab.py --tree /work/wt/base --tree . [--backend sqlite] [--rounds 3]

Each round runs every tree in turn, each in a fresh process started in the tree with
its own `.venv` (or this interpreter when it has none), importing that tree's
`bench.records` (its tenant, its contact entity, its data). Per run: `--creates` single
`records.create` calls (after 100 to warm up), then `--rows` contacts loaded with Core,
the composite index (tier, lifetime_value) applied and `--queries` first pages (`tier=gold`,
sort `-lifetime_value`, limit 50) as in `bench/records.py` 3e; the process time is the
lowest of blocks of 100 creates / 30 pages (the one least disturbed), the calls are
counted over one more block under cProfile. Prints a markdown table."""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(backend: str, creates: int, rows: int, queries: int) -> dict:
    sys.path.insert(0, os.getcwd())  # the tree's own bench.records and engine
    import bench.records as records

    args = argparse.Namespace(scale=0.02, database_url=records.DEFAULT_PG_URL, profile=None, chunk=0,
                              block=250, queries=queries, repeat=1)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        bench = records.Bench(backend, args, Path(tmp), f"ab{os.getpid()}_")
        try:
            bench.setup()
            service = bench.service
            items = iter(bench.data.items("ab-", 0, creates + 300))
            for _ in range(100):
                service.create("contact", next(items))
            out["create_ms"] = _lowest(lambda: service.create("contact", next(items)), creates, 100)
            out["create_calls"] = _calls(lambda: service.create("contact", next(items)), 100)
            bench.args.scale = rows / records.LIST_ROWS
            bench.load_list_data()
            bench.session.apply_metadata(records.crm_document(tier_indexed=True, composite=True))
            bench.refresh()
            service = bench.service
            page = lambda: service.list("contact", records.LIST_PARAMS)  # noqa: E731
            for _ in range(20):
                page()
            out["page_ms"] = _lowest(page, queries, 30)
            out["page_calls"] = _calls(page, 30)
        finally:
            bench.close()
            if backend == "postgresql":
                _drop_schemas(records.DEFAULT_PG_URL, f"ab{os.getpid()}_")
    return out


def _lowest(operation, count: int, block: int) -> float:
    times = []
    for start in range(0, count, block):
        began = time.process_time()
        for _ in range(min(block, count - start)):
            operation()
        times.append((time.process_time() - began) / min(block, count - start) * 1000)
    return min(times)


def _calls(operation, count: int) -> float:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(count):
        operation()
    profile.disable()
    return pstats.Stats(profile).total_calls / count


def _drop_schemas(url: str, prefix: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        for (schema,) in conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                                      {"p": prefix + "%"}).all():
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", required=True, help="a checkout (give two or more)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.backend, args.creates, args.rows, args.queries)))
        return 0
    results: dict = {tree: [] for tree in args.tree}
    for round_ in range(args.rounds):
        for tree in args.tree:
            python = Path(tree, ".venv/bin/python")
            command = [str(python) if python.exists() else sys.executable, str(Path(__file__).resolve()),
                       "--child", "--tree", tree, "--backend", args.backend, "--creates", str(args.creates),
                       "--rows", str(args.rows), "--queries", str(args.queries)]
            load = os.getloadavg()[0]
            done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=True)
            results[tree].append({**json.loads(done.stdout.strip().splitlines()[-1]), "load": load})
            print(f"round {round_ + 1}, {tree}: {results[tree][-1]}", file=sys.stderr)
    print(f"| Tree ({args.backend}) | `create` CPU ms (runs) | calls/create | first page CPU ms (runs) | calls/page | load |")
    print("|---|---|---|---|---|---|")
    for tree, runs in results.items():
        creates = " / ".join(f"{r['create_ms']:.3f}" for r in runs)
        pages = " / ".join(f"{r['page_ms']:.3f}" for r in runs)
        loads = " / ".join(f"{r['load']:.1f}" for r in runs)
        print(f"| {tree} | {creates} | {runs[0]['create_calls']:.0f} | {pages} | {runs[0]['page_calls']:.0f} | {loads} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
