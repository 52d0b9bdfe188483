"""A/B of the in-process drain of bench/rules.py (its part 2, `Jobs.drain` path only) in
process time as well as wall time, for comparing two checkouts on a loaded machine.

    <checkout>/.venv/bin/python bench/drain_ab.py --root <checkout> [--backend sqlite]
        [--action noop|set_field] [--rounds 3] [--scale 1.0]

`--root` is the checkout whose code (engine, workflows and its bench/rules.py workload)
is measured; run it with that checkout's own Python. Prints one JSON line per round
(records, outbox events, wall and process seconds of the drain) and a median line.
The drain's share of PostgreSQL's own work is not in this process's time: on
PostgreSQL compare the wall figures too."""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--action", choices=("noop", "set_field"), default="noop")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(args.root).resolve()))
    from bench import rules  # the checkout's own workload and code

    options = argparse.Namespace(scale=args.scale, rounds=args.rounds, seed=7, workers=2, profile=None,
                                 database_url=rules.DEFAULT_PG_URL)
    tmp, prefix = Path(tempfile.mkdtemp(prefix="loom-drain-ab-")), f"ab{uuid.uuid4().hex[:8]}_"
    bench = rules.QueueBench(args.backend, options, tmp, prefix)
    out = []
    try:
        bench.setup()
        bench.apply(args.action)
        per_tenant = max(len(rules.workload.ENTITIES), round(rules.WRITES * args.scale / args.rounds))
        for _ in range(args.rounds):
            written, _ = bench.write(per_tenant)
            bench.vacuum()
            bench.jobs.huey.flush()
            cpu = time.process_time()
            wall, totals = bench.drain_direct()
            cpu = time.process_time() - cpu
            row = {"records": written, "events": totals["done"], "wall": round(wall, 3), "cpu": round(cpu, 3),
                   "records/s wall": round(written / wall), "records/s cpu": round(written / cpu)}
            out.append(row)
            print(json.dumps(row), flush=True)
    finally:
        bench.close()
        if args.backend == "postgresql":
            rules.drop_prefixed_schemas(options.database_url, prefix)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"root": args.root, "backend": args.backend, "action": args.action,
                      "median records/s wall": statistics.median(r["records/s wall"] for r in out),
                      "median records/s cpu": statistics.median(r["records/s cpu"] for r in out)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
