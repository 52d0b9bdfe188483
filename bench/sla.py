"""SLA sweep benchmark: `workflows.sla.sweep` over 100,000 running timers, on SQLite and
PostgreSQL.

    python bench/sla.py [--backend sqlite|postgresql|both] [--timers 100000] [--runs 3]

Cases, each on a fresh table of --timers running timers (bulk-inserted with Core):
1. nothing due: what the minute tick pays when no timer expired;
2. 1% due (target <= 2 s): those are breached and handed to a no-op `escalate`;
3. all due: every timer breached and escalated (reported, no target).
Cases 1-2 are the median of --runs sweeps (the breached timers are put back to running
between runs); case 3 runs once. The escalation lookup (the state's `escalate` actions
from the tenant's metadata) is part of the time; what the caller's actions cost is not.
Prints a markdown table on stdout (progress on stderr). PostgreSQL schemas get a unique
prefix and are dropped at the end, SQLite files live in a temporary directory that is
removed at the end, also when the run fails.
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
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from engine.actions import ActionSpec  # noqa: E402
from engine.hookspecs import hookimpl  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from engine.systables import loom_table  # noqa: E402
from tenants import Settings  # noqa: E402
from workflows import sla  # noqa: E402

PG_URL = os.environ.get("LOOM_BENCH_DATABASE_URL",
                        os.environ.get("LOOM_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
TARGET_SECONDS = 2.0
CHUNK = 10_000
DOCUMENT = {
    "entities": [{"name": "ticket", "fields": [
        {"name": "title", "type": "string"},
        {"name": "status", "type": "choice", "options": ["new", "open", "resolved"]}]}],
    "workflows": [{
        "name": "support", "entity": "ticket", "field": "status", "initial": "new",
        "states": [
            {"name": "new", "category": "open",
             "sla": {"timer": "first_response", "within": "4h", "business_hours": True,
                     "escalate": [{"action": "notify", "params": {"role": "admin"}}]}},
            {"name": "open", "category": "active"},
            {"name": "resolved", "category": "done"}],
        "transitions": [{"name": "take", "from": ["new"], "to": "open"}],
    }],
}


class BenchActions:
    LOOM_PLUGIN_NAME = "bench_actions"

    @staticmethod
    @hookimpl
    def loom_actions():
        return {"notify": ActionSpec(run=lambda context, params: {})}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fill(session, count: int, due: int, now: datetime) -> None:
    """`count` running timers on records 1..count; the first `due` are past their deadline."""
    timers = loom_table(session.storage.schema, "loom_sla_timers")
    with session.storage.begin() as conn:
        conn.execute(timers.delete())
    for first in range(0, count, CHUNK):
        rows = [{"entity": "ticket", "record_id": n + 1, "state": "new", "timer": "first_response",
                 "started_at": now - timedelta(hours=5),
                 "due_at": now - timedelta(minutes=1 + n % 60) if n < due else now + timedelta(minutes=1 + n % 5000),
                 "status": "running"} for n in range(first, min(first + CHUNK, count))]
        with session.storage.begin() as conn:
            conn.execute(timers.insert(), rows)
    with session.storage.begin() as conn:  # this table only: a whole database's ANALYZE locks every table
        conn.exec_driver_sql(f"ANALYZE {conn.dialect.identifier_preparer.format_table(timers)}")


def rearm(session) -> None:
    timers = loom_table(session.storage.schema, "loom_sla_timers")
    with session.storage.begin() as conn:
        conn.execute(timers.update().where(timers.c.status == sla.BREACHED).values(status=sla.RUNNING))


def timed_sweep(session, now: datetime) -> tuple[float, int]:
    escalated = []
    start = time.perf_counter()
    counts = sla.sweep(session, now, lambda s, timer, actions: escalated.append(timer["id"]))
    seconds = time.perf_counter() - start
    assert counts["breached"] == len(escalated) == len(set(escalated)), counts
    return seconds, counts["breached"]


def run_backend(backend: str, timers: int, runs: int, tmp: Path) -> list[tuple]:
    prefix = f"b{uuid.uuid4().hex[:8]}_"
    settings = Settings(data_dir=tmp / backend, database_url=PG_URL if backend == "postgresql" else None,
                        schema_prefix=prefix if backend == "postgresql" else "")
    install = Install(settings, Plugins(load_entry_points=False, core_plugins=[BenchActions]))
    results = []
    try:
        install.registry.create("bench", "SLA bench")
        session = install.session("bench")
        session.apply_metadata(DOCUMENT)
        now = datetime.now(timezone.utc)
        for label, due in (("nothing due", 0), ("1% due", timers // 100)):
            log(f"{backend}: {timers} running timers, {label}")
            fill(session, timers, due, now)
            samples = []
            for _ in range(runs):
                seconds, breached = timed_sweep(session, now)
                assert breached == due, (breached, due)
                samples.append(seconds)
                rearm(session)
            results.append((backend, timers, label, due, statistics.median(samples), TARGET_SECONDS))
        log(f"{backend}: {timers} running timers, all due")
        fill(session, timers, timers, now)
        seconds, breached = timed_sweep(session, now)
        assert breached == timers
        results.append((backend, timers, "all due", breached, seconds, None))
    finally:
        install.dispose()
        if backend == "postgresql":
            drop_schemas(prefix)
    return results


def drop_schemas(prefix: str) -> None:
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        names = conn.execute(text("select nspname from pg_namespace where nspname like :p"),
                             {"p": prefix + "%"}).scalars().all()
        for name in names:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


def table(results) -> str:
    lines = ["| backend | running timers | case | breached | sweep seconds | target |",
             "| --- | ---: | --- | ---: | ---: | --- |"]
    for backend, timers, label, breached, seconds, target in results:
        verdict = "-" if target is None else f"<= {target:.0f} s {'met' if seconds <= target else 'MISSED'}"
        lines.append(f"| {backend} | {timers:,} | {label} | {breached:,} | {seconds:.3f} | {verdict} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--timers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    tmp = Path(tempfile.mkdtemp(prefix="loom-bench-sla-"))
    results = []
    try:
        for backend in backends:
            results += run_backend(backend, args.timers, args.runs, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
