"""Where a publication's time goes on PostgreSQL: `loom tenant create X --pack P --demo`,
traced statement by statement, for any Loom checkout (the issue-9 base included).

    python bench/publish_trace.py [--pack retail_loyalty] [--runs 3] [--tree PATH] [--top 15]

Creates --runs tenants through click's CliRunner in one process (after one not measured)
and, for each phase (`tenant`: the registry's creation, `publish`: the publication of the
packs' metadata and its DDL, `demo`: the demo data), prints the medians of: wall time,
this process's CPU time, the statements sent through SQLAlchemy, and the CPU the
PostgreSQL backend spent on them (its /proc/<pid>/schedstat, read around each statement:
steady under load, unlike wall time). Then the publication's statements grouped by kind,
most backend CPU first. The database server must run on this machine (/proc). Statements
sent through libpq past SQLAlchemy (a new tenant's recorded tables, a write's BEGIN with its
version lock) are not seen: the `tenant` phase's statements and backend CPU leave them out.

Run it with the measured checkout's own interpreter, e.g. the base:

    cd /work/wt/base && .venv/bin/python /path/to/bench/publish_trace.py --tree .

PostgreSQL schemas get a unique prefix and are dropped at the end; the data directory is
a temporary one, removed at the end.
"""
from __future__ import annotations

import argparse
import collections
import os
import re
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
PHASES = ("tenant", "publish", "demo")
KIND = re.compile(r"(CREATE TABLE|CREATE UNIQUE INDEX|CREATE INDEX|ALTER TABLE \S+ ADD COLUMN|ALTER TABLE"
                  r"|SELECT max\(\S+|SELECT \(SELECT max|SELECT pg_advisory\w+|INSERT INTO \S+|DELETE FROM \S+"
                  r"|UPDATE \S+|SELECT .{0,50}? FROM \S+|\w+ \S*)")


def backend_cpu(pid: int) -> float:
    """Seconds of CPU the server process `pid` has used (0 when it cannot be read)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def kind_of(sql: str, prefix: str) -> str:
    sql = re.sub(rf'"?{re.escape(prefix)}\w*"?\.', "", " ".join(sql.split()))
    found = KIND.match(sql)
    return found.group(0) if found else sql[:50]


class Tracer:
    """Statements and their backend CPU, by phase; the phase is set around the three
    steps of a creation by wrapping them."""

    def __init__(self):
        self.phase = "other"
        self.statements: list[tuple[str, str, float]] = []  # (phase, sql, backend seconds)
        self.times: dict[str, list[tuple[float, float]]] = collections.defaultdict(list)

    def listen(self, engine_class) -> None:
        from sqlalchemy import event

        @event.listens_for(engine_class, "before_cursor_execute")
        def before(conn, cursor, statement, parameters, context, executemany):
            pid = conn.connection.driver_connection.info.backend_pid
            conn.info["trace"] = (pid, backend_cpu(pid))

        @event.listens_for(engine_class, "after_cursor_execute")
        def after(conn, cursor, statement, parameters, context, executemany):
            pid, began = conn.info.pop("trace", (None, 0.0))
            if pid is not None:
                self.statements.append((self.phase, statement, backend_cpu(pid) - began))

    def wrap(self, owner, name: str, phase: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            outer, self.phase = self.phase, phase
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.times[phase].append((time.perf_counter() - wall, time.process_time() - cpu))
                self.phase = outer

        setattr(owner, name, timed)

    def clear(self) -> None:
        self.statements.clear()
        self.times.clear()


def measure(args) -> tuple[list[dict], collections.Counter, collections.Counter]:
    from click.testing import CliRunner
    from sqlalchemy.engine import Engine

    from bench.common import drop_prefixed_schemas
    from engine.cli import cli
    from engine.install import Install
    from engine.packs.service import PackService
    from engine.plugins import Plugins
    from tenants import Settings
    try:  # the publisher of today; the issue-9 base published from the pack service
        from engine.publish.publisher import Publisher
        publishing = (Publisher, "publish")
    except ImportError:
        import engine.packs.service as service_module
        publishing = (service_module, "publish")

    tmp = Path(tempfile.mkdtemp(prefix="loom-publish-trace-"))
    prefix = f"pt{uuid.uuid4().hex[:8]}_"
    install = Install(Settings(data_dir=tmp, database_url=args.database_url, schema_prefix=prefix), Plugins())
    tracer = Tracer()
    tracer.listen(Engine)
    tracer.wrap(install.registry, "create", "tenant")
    tracer.wrap(*publishing, "publish")
    tracer.wrap(PackService, "load_demo", "demo")
    runs, kinds_cpu, kinds_n = [], collections.Counter(), collections.Counter()
    try:
        def create(slug):
            result = CliRunner().invoke(cli, ["tenant", "create", slug, "--pack", args.pack, "--demo"], obj=install)
            if result.exit_code != 0:
                raise RuntimeError(f"loom tenant create {slug} failed:\n{result.output}") from result.exception

        create("warm")
        for run in range(args.runs):
            tracer.clear()
            create(f"t{run}")
            found = {}
            for phase in PHASES:
                sent = [(sql, cpu) for p, sql, cpu in tracer.statements if p == phase]
                found[phase] = {"wall": sum(w for w, _ in tracer.times[phase]),
                                "cpu": sum(c for _, c in tracer.times[phase]),
                                "statements": len(sent), "backend": sum(c for _, c in sent)}
            runs.append(found)
            for phase, sql, cpu in tracer.statements:
                if phase == "publish":
                    kind = kind_of(sql, prefix)
                    kinds_cpu[kind] += cpu / args.runs
                    kinds_n[kind] += 1 / args.runs
    finally:
        install.dispose()
        drop_prefixed_schemas(args.database_url, prefix)
        shutil.rmtree(tmp, ignore_errors=True)
    return runs, kinds_cpu, kinds_n


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", default="retail_loyalty", help="the built-in pack each tenant is created with")
    parser.add_argument("--runs", type=int, default=3, help="tenants created and measured")
    parser.add_argument("--top", type=int, default=15, help="kinds of the publication's statements listed")
    parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent),
                        help="the Loom checkout to measure (default: this script's)")
    parser.add_argument("--database-url", default=DEFAULT_PG_URL)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    tree = Path(args.tree).resolve()
    if not (tree / "tenants" / "registry.py").is_file():
        parser.error(f"not a Loom checkout: {tree}")
    sys.path.insert(0, str(tree))
    runs, kinds_cpu, kinds_n = measure(args)
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"{tree.name}: loom tenant create X --pack {args.pack} --demo, median of {args.runs} (load {load})")
    for phase in PHASES:
        med = {k: statistics.median(r[phase][k] for r in runs) for k in ("wall", "cpu", "statements", "backend")}
        print(f"  {phase:8s} wall {1e3 * med['wall']:8.1f} ms  process CPU {1e3 * med['cpu']:7.1f} ms  "
              f"statements {med['statements']:5.0f}  backend CPU {1e3 * med['backend']:7.1f} ms")
    print("  the publication's statements, by kind (per creation): count, backend CPU")
    for kind, cpu in kinds_cpu.most_common(args.top):
        print(f"    {kinds_n[kind]:5.0f} {1e3 * cpu:7.1f} ms  {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
