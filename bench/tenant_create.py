"""`loom tenant create X` (without a pack, or with one): process time and wall time per tenant.

    python bench/tenant_create.py [--backend sqlite|postgresql|both] [--runs 15] [--tree PATH]
                                  [--pack NAME [--demo]]

Creates --runs tenants through click's CliRunner in one process (after two not measured)
and prints the medians of this process's CPU time (time.process_time: what Loom spends
in Python, steady under load) and of wall time (includes the database server's work and
the disk; noisy under load). `--tree` measures another checkout of Loom with the same
script (run it with that checkout's own interpreter), e.g. the issue-9 baseline:

    cd /work/wt/base && .venv/bin/python /path/to/bench/tenant_create.py --tree .

PostgreSQL schemas get a unique prefix and are dropped at the end; SQLite files live in a
temporary directory that is removed at the end.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

DEFAULT_PG_URL = os.environ.get(
    "LOOM_BENCH_DATABASE_URL",
    os.environ.get("LOOM_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))


def measure(backend: str, runs: int, database_url: str, extra: list) -> dict:
    from click.testing import CliRunner
    from sqlalchemy import create_engine, text

    from engine.cli import cli
    from engine.install import Install
    from engine.plugins import Plugins
    from tenants import Settings

    tmp = Path(tempfile.mkdtemp(prefix="loom-bench-create-"))
    prefix = f"bc{uuid.uuid4().hex[:8]}_"
    postgres = backend == "postgresql"
    settings = Settings(data_dir=tmp, database_url=database_url if postgres else None,
                        schema_prefix=prefix if postgres else "")
    install = Install(settings, Plugins())
    cpu, wall = [], []
    try:
        def create(slug):
            result = CliRunner().invoke(cli, ["tenant", "create", slug] + extra, obj=install)
            if result.exit_code != 0:
                raise RuntimeError(f"loom tenant create {slug} failed:\n{result.output}") from result.exception

        create("warm-a")
        create("warm-b")
        for run in range(runs):
            began_cpu, began = time.process_time(), time.perf_counter()
            create(f"t{run}-bench")
            cpu.append(time.process_time() - began_cpu)
            wall.append(time.perf_counter() - began)
    finally:
        install.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
        if postgres:
            engine = create_engine(database_url)
            with engine.begin() as conn:
                names = conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                                     {"p": prefix + "%"}).scalars().all()
                for name in names:
                    conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
            engine.dispose()
    return {"cpu_ms": 1000 * statistics.median(cpu), "wall_ms": 1000 * statistics.median(wall)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=15, help="tenants created and measured per backend")
    parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent),
                        help="the Loom checkout to measure (default: this script's)")
    parser.add_argument("--database-url", default=DEFAULT_PG_URL)
    parser.add_argument("--pack", help="create every tenant with this built-in pack")
    parser.add_argument("--demo", action="store_true", help="and its demo data (with --pack)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.demo and not args.pack:
        parser.error("--demo needs --pack")
    extra = (["--pack", args.pack] if args.pack else []) + (["--demo"] if args.demo else [])
    tree = Path(args.tree).resolve()
    if not (tree / "tenants" / "registry.py").is_file():
        parser.error(f"not a Loom checkout: {tree}")
    sys.path.insert(0, str(tree))
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    for backend in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,)):
        found = measure(backend, args.runs, args.database_url, extra)
        print(f"{tree.name}\t{backend}\t{' '.join(extra) or 'no pack'}\tcpu {found['cpu_ms']:.1f} ms"
              f"\twall {found['wall_ms']:.1f} ms\t(median of {args.runs}; load {load})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
