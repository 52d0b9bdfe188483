"""Rules, jobs and SLA benchmark: events/s through the rules engine alone and through the
outbox and job queue, and the SLA sweep over 100,000 running timers, on SQLite and
PostgreSQL.

    python bench/rules.py [--backend sqlite|postgresql|both] [--scale 1.0]

What is measured (sizes at --scale 1.0; every size is multiplied by --scale):

1. Evaluation only: ``RulesEngine.evaluate`` over 20,000 events with 100 rules per tenant
   across 10 tenants -- the workload of bench/rules_engine.py (its builders, its seed and
   generator order), against durable-rules' own ``post`` loop on the same compiled rules
   and the same prebuilt facts (the engine's ceiling) and ``assert_fact`` +
   ``retract_fact`` (what evaluate must do to fire every matching rule).  Median of
   --runs runs.  Target: >= 5,000 events/s.
2. With the outbox and the job queue: 10 tenants, each with a metadata package of 3
   entities (40 fields) and 4 automation rule sets holding 100 rules (the rule builder of
   bench/rules_engine.py, spread over created / updated / transitioned / timer events so
   that about one rule fires per created record).  Each round writes 600 / --rounds
   records per tenant with ``records.create_many`` (one outbox row each), then times
   handling every outbox event of every tenant: claim, publish check, workflow effects,
   evaluate, run the actions, write the rule trace, mark done.  Two paths:
   - ``Jobs.drain(slug)`` called for each tenant in turn, in this process;
   - through huey: the drain tasks the writes queued in the SqliteHuey of the data dir,
     run by a huey consumer with --workers threads (like ``loom worker``), timed from the
     consumer's start to the end of the last drain that handled an event.
   Each with the rules firing a no-op action, then with the same rules setting a field
   (``set_field``, one more record write and one more outbox event per firing).  Figure:
   record events/s (records written / time to handle everything they caused), median
   over the rounds; outbox events/s counts the follow-up events too.  On PostgreSQL the
   tables are VACUUM ANALYZEd after each round's writes, untimed, as autovacuum would.
3. SLA sweep (``workflows.sla.sweep``) over 100,000 running timers: nothing due, 1 % due
   (target <= 2 s), all due -- bench/sla.py's measurement (``run_backend``), called from
   here; a built-in copy is used only when bench/sla.py is missing.

Prints one markdown table on stdout (progress on stderr).  Everything the run creates (a
temporary directory with the SQLite files and huey's queue, PostgreSQL schemas with a
unique prefix) is removed at the end, also after an error, Ctrl-C or ``kill``.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench import rules_engine as workload  # noqa: E402
from bench.common import drop_prefixed_schemas, environment_lines  # noqa: E402
from engine.actions import ActionSpec  # noqa: E402
from engine.hookspecs import hookimpl  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from engine.systables import loom_table  # noqa: E402
from tenants import Settings  # noqa: E402
from workflows import outbox  # noqa: E402
from workflows.jobs import COALESCE_SECONDS  # noqa: E402
from workflows import plugin as workflows_plugin  # noqa: E402
from workflows.rules import RulesEngine  # noqa: E402
from workflows.runtime import runtime_of  # noqa: E402

DEFAULT_PG_URL = os.environ.get(
    "LOOM_BENCH_DATABASE_URL",
    os.environ.get("LOOM_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))

TARGET_EVENTS = 5000          # events/s, evaluation only
TARGET_SWEEP = 2.0            # seconds, 1 % of 100,000 timers due
EVENTS = 20_000               # evaluation-only events per run
WRITES = 600                  # records per tenant per case (all rounds together)
TIMERS = 100_000
TENANTS = [f"t{i}" for i in range(10)]
RULES = 100
# Event mix of the rules in 2.: with rules_engine's rule builder, 15 % of the rules on
# record.created makes about one rule fire per created record.
MIX = (("record.created", 15), ("record.updated", 50), ("record.transitioned", 20), ("timer", 15))
STRANDED_SECONDS = 5.0        # pending events, no drain running or queued: a lost push


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- workloads ------------------------------------------------------------------------------

FIELDS = ([{"name": "email", "type": "string"}, {"name": "notes", "type": "text"}]
          + [{"name": f"n{i}", "type": "decimal", "precision": 12, "scale": 2} for i in range(8)]
          + [{"name": f"s{i}", "type": "choice", "options": workload.CHOICES} for i in range(6)]
          + [{"name": f"b{i}", "type": "boolean"} for i in range(2)]
          + [{"name": f"d{i}", "type": "date"} for i in range(3)]
          + [{"name": f"extra{i}", "type": "string"} for i in range(20)]
          + [{"name": "tag", "type": "string"}])     # what set_field writes; no rule reads it
NOOP = "bench_noop"


class BenchActions:
    """A named action that does nothing, so rules can match and fire without side effects."""
    LOOM_PLUGIN_NAME = "bench_actions"

    @staticmethod
    @hookimpl
    def loom_actions():
        return {NOOP: ActionSpec(run=lambda context, params: {}, description="does nothing (benchmark)")}


def automation_rules(rnd: random.Random) -> list[dict]:
    """4 automation rule sets over contact / deal / ticket with 100 rules between them."""
    names = [("contact_auto", "contact"), ("deal_auto", "deal"), ("ticket_auto", "ticket"), ("contact_more", "contact")]
    docs = [{"name": name, "kind": "automation", "entity": entity, "rules": []} for name, entity in names]
    for n in range(RULES):
        event = rnd.choices([e for e, _ in MIX], [w for _, w in MIX])[0]
        docs[n % len(docs)]["rules"].append(workload._rule(rnd, n, event))
    return docs


def document(rulesets: list[dict], action: str) -> dict:
    """The tenant's package with every rule's action set to `action`."""
    sets = []
    for doc in rulesets:
        rules = []
        for rule in doc["rules"]:
            act = ({"action": "set_field", "params": {"field": "tag", "value": rule["name"]}}
                   if action == "set_field" else {"action": NOOP})
            rules.append(dict(rule, actions=[act]))
        sets.append(dict(doc, rules=rules))
    return {"entities": [{"name": e, "fields": FIELDS} for e in workload.ENTITIES], "rulesets": sets}


def new_records(rnd: random.Random, count: int) -> list[dict]:
    out = []
    for _ in range(count):
        rec = workload.record(rnd, 0)
        del rec["id"]
        out.append(rec)
    return out


# --- 1. evaluation only -------------------------------------------------------------------------

def evaluation_only(args) -> dict:
    count = max(100, round(EVENTS * args.scale))
    rnd = random.Random(args.seed)
    workload.events(rnd, ["solo"], count)   # rules_engine.py draws its 1-rule events first
    engine = RulesEngine()
    for tenant in TENANTS:
        engine.publish(tenant, 1, workload.tenant_rulesets(rnd))
    stream = workload.events(rnd, TENANTS, count)
    log(f"1. evaluation only: {count:,} events, {args.runs} runs")
    result = workload.measure(engine, stream, args.runs)
    result["events"] = count
    return result


# --- 2. outbox and job queue -------------------------------------------------------------------

class QueueBench:
    """One backend: 10 tenants, their writes, and the handling of their outbox events."""

    def __init__(self, backend: str, args, tmp: Path, prefix: str):
        self.backend, self.args = backend, args
        pg = backend == "postgresql"
        settings = Settings(data_dir=tmp / backend, database_url=args.database_url if pg else None,
                            schema_prefix=prefix if pg else "")
        self.install = Install(settings, Plugins(load_entry_points=False,
                                                 core_plugins=[workflows_plugin, BenchActions]))
        self.runtime = runtime_of(self.install)
        self.jobs = self.runtime.jobs
        self.rnd = random.Random(args.seed)
        self.rules = {}

    def close(self) -> None:
        try:
            self.jobs.huey.flush()
        except Exception:
            pass
        self.install.dispose()

    def setup(self) -> None:
        log(f"2. {self.backend}: {len(TENANTS)} tenants, {RULES} rules each")
        for tenant in TENANTS:
            self.install.registry.create(tenant, f"bench {tenant}")
            self.rules[tenant] = automation_rules(self.rnd)

    def apply(self, action: str) -> None:
        for tenant in TENANTS:
            self.install.session(tenant).apply_metadata(document(self.rules[tenant], action))

    def count(self, table: str, where=None) -> dict:
        out = {}
        for tenant in TENANTS:
            storage = self.install.registry.storage_of(tenant)
            t = loom_table(storage.schema, table)
            stmt = select(func.count()).select_from(t)
            if where is not None:
                stmt = stmt.where(where(t))
            with storage.connect() as conn:
                out[tenant] = conn.execute(stmt).scalar_one()
        return out

    def vacuum(self) -> None:
        """PostgreSQL: VACUUM ANALYZE the tables the drains read and write, as autovacuum
        would in a real install (the test server runs with autovacuum off; without this,
        the set_field rounds that follow the other cases ran ~40 % slower)."""
        if self.backend != "postgresql":
            return
        tables = ("loom_outbox", "loom_effects", "loom_rule_trace", "loom_audit", *workload.ENTITIES)
        for tenant in TENANTS:
            storage = self.install.registry.storage_of(tenant)
            with storage.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                for table in tables:
                    conn.exec_driver_sql(f'VACUUM ANALYZE "{storage.schema}"."{table}"')

    def pending(self) -> int:
        return sum(outbox.pending_count(self.install.registry.storage_of(t)) for t in TENANTS)

    def write(self, per_tenant: int) -> tuple[int, float]:
        per_entity = max(1, per_tenant // len(workload.ENTITIES))
        batches = [(t, e, new_records(self.rnd, per_entity)) for t in TENANTS for e in workload.ENTITIES]
        start = time.perf_counter()
        for tenant, entity, items in batches:
            self.install.session(tenant).records.create_many(entity, items)
        return per_entity * len(batches), time.perf_counter() - start

    # The two ways of handling the events; each returns (seconds, outbox totals).
    def drain_direct(self, profile_to: str | None = None) -> tuple[float, dict]:
        totals = {"done": 0, "retry": 0, "failed": 0}
        profiler = cProfile.Profile() if profile_to else None
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        for tenant in TENANTS:
            for key, value in self.jobs.drain(tenant).items():
                totals[key] += value
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - start
        if profiler:
            profiler.dump_stats(profile_to)
        return seconds, totals

    def drain_huey(self) -> tuple[float, dict]:
        jobs, lock = self.jobs, threading.Lock()
        original = jobs.drain
        state = {"active": 0, "last_end": None, "done": 0, "retry": 0, "failed": 0, "drains": 0}

        def timed_drain(slug, limit=200):   # what the huey task calls (self.drain)
            with lock:
                state["active"] += 1
            totals = {}
            try:
                totals = original(slug, limit)
                return totals
            finally:
                end = time.perf_counter()
                with lock:
                    state["active"] -= 1
                    state["drains"] += 1
                    for key in ("done", "retry", "failed"):
                        state[key] += totals.get(key, 0)
                    if totals.get("done"):
                        state["last_end"] = end

        queued = jobs.huey.pending_count()
        if not queued:
            raise RuntimeError("the writes queued no drain task in huey")
        consumer = jobs.huey.create_consumer(workers=self.args.workers, worker_type="thread",
                                             periodic=False, check_worker_health=False)
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        jobs.drain = timed_drain
        start, stranded_since = time.perf_counter(), None
        try:
            consumer.start()
            for sig, handler in handlers.items():   # keep Ctrl-C / kill for our own cleanup
                signal.signal(sig, handler)
            while True:
                time.sleep(0.05)
                with lock:
                    idle, troubled = state["active"] == 0, state["retry"] + state["failed"]
                if troubled:
                    raise RuntimeError(f"{troubled} events failed while draining through huey")
                if not idle:
                    stranded_since = None
                    continue
                left = self.pending()
                if left == 0 and state["drains"]:
                    break
                if jobs.huey.pending_count() or jobs.huey.scheduled_count():
                    stranded_since = None
                elif stranded_since is None:
                    stranded_since = time.perf_counter()
                elif time.perf_counter() - stranded_since > STRANDED_SECONDS:
                    raise RuntimeError(f"{left} events pending but no drain task queued or running")
        finally:
            consumer.stop(graceful=True)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            del jobs.drain   # back to the method
            jobs.huey.flush()
        log(f"   huey: {queued} drain tasks queued by the writes, {state['drains']} drains ran")
        return state["last_end"] - start, {k: state[k] for k in ("done", "retry", "failed")}

    def case(self, action: str, path: str) -> dict:
        rounds = []
        per_tenant = max(len(workload.ENTITIES), round(WRITES * self.args.scale / self.args.rounds))
        for n in range(self.args.rounds):
            traces_before = sum(self.count("loom_rule_trace").values())
            self.jobs.huey.flush()
            # The writes' first after_commit must queue a drain at once (not be coalesced
            # into the previous round's push, whose delayed drain was flushed).
            time.sleep(COALESCE_SECONDS + 0.1)
            written, write_seconds = self.write(per_tenant)
            self.vacuum()
            if path == "direct":
                self.jobs.huey.flush()    # the drain tasks the writes queued are not used here
                profile = (os.path.join(self.args.profile, f"{self.backend}-{action}-direct.prof")
                           if self.args.profile and n == 0 else None)
                seconds, totals = self.drain_direct(profile)
            else:
                seconds, totals = self.drain_huey()
            if totals["retry"] or totals["failed"] or self.pending():
                raise RuntimeError(f"{self.backend} {action} {path}: events left or failed: {totals}")
            firings = sum(self.count("loom_rule_trace").values()) - traces_before
            rounds.append({"records": written, "events": totals["done"], "firings": firings,
                           "seconds": seconds, "write_seconds": write_seconds})
            log(f"   {self.backend} {action} {path} round {n + 1}: {written:,} records written in "
                f"{write_seconds:.2f} s; {totals['done']:,} outbox events, {firings:,} firings "
                f"handled in {seconds:.2f} s = {written / seconds:,.0f} record events/s")
        return {"backend": self.backend, "action": action, "path": path, "rounds": rounds}

    def run(self) -> list[dict]:
        self.setup()
        results = []
        for action in ("noop", "set_field"):
            self.apply(action)
            for path in ("direct", "huey"):
                results.append(self.case(action, path))
        return results


# --- 3. SLA sweep -------------------------------------------------------------------------------

def sla_sweeps(backend: str, args, tmp: Path) -> list[tuple]:
    """(backend, timers, case, breached, seconds, target) per case, from bench/sla.py."""
    timers = max(100, round(TIMERS * args.scale))
    try:
        from bench import sla as sla_bench
        run_backend = sla_bench.run_backend
    except (ImportError, AttributeError) as exc:
        log(f"3. bench/sla.py unavailable ({exc}); using the built-in sweep measurement")
        return own_sla_sweeps(backend, timers, args, tmp)
    sla_bench.PG_URL = args.database_url
    log(f"3. {backend}: SLA sweep over {timers:,} timers (bench/sla.py)")
    return run_backend(backend, timers, args.runs, tmp)


def own_sla_sweeps(backend: str, timers: int, args, tmp: Path) -> list[tuple]:
    """The same cases as bench/sla.py, for when it is not there: a tenant with one SLA
    state; `timers` running timers bulk-inserted, the first `due` of them past due."""
    from datetime import timedelta, timezone

    from workflows import sla

    pg = backend == "postgresql"
    prefix = f"bs{uuid.uuid4().hex[:8]}_"
    settings = Settings(data_dir=tmp / f"sla-{backend}", database_url=args.database_url if pg else None,
                        schema_prefix=prefix if pg else "")
    install = Install(settings, Plugins(load_entry_points=False, core_plugins=[workflows_plugin, BenchActions]))
    doc = {"entities": [{"name": "ticket", "fields": [
        {"name": "status", "type": "choice", "options": ["new", "done"]}]}],
        "workflows": [{"name": "support", "entity": "ticket", "field": "status", "initial": "new",
                       "states": [{"name": "new", "category": "open",
                                   "sla": {"timer": "first_response", "within": "4h",
                                           "escalate": [{"action": NOOP}]}},
                                  {"name": "done", "category": "done"}],
                       "transitions": [{"name": "close", "from": ["new"], "to": "done"}]}]}
    results = []
    try:
        install.registry.create("slabench", "SLA bench")
        session = install.session("slabench")
        session.apply_metadata(doc)
        table = loom_table(session.storage.schema, "loom_sla_timers")
        now = datetime.now(timezone.utc)

        def fill(due):
            with session.storage.begin() as conn:
                conn.execute(table.delete())
            for first in range(0, timers, 10_000):
                rows = [{"entity": "ticket", "record_id": n + 1, "state": "new", "timer": "first_response",
                         "started_at": now - timedelta(hours=5), "status": sla.RUNNING,
                         "due_at": now - timedelta(minutes=1) if n < due else now + timedelta(hours=1)}
                        for n in range(first, min(first + 10_000, timers))]
                with session.storage.begin() as conn:
                    conn.execute(table.insert(), rows)

        def sweep():
            start = time.perf_counter()
            counts = sla.sweep(session, now, lambda s, timer, actions: None)
            return time.perf_counter() - start, counts["breached"]

        for label, due in (("nothing due", 0), ("1% due", timers // 100)):
            fill(due)
            samples = []
            for _ in range(args.runs):
                seconds, breached = sweep()
                samples.append(seconds)
                with session.storage.begin() as conn:
                    conn.execute(table.update().where(table.c.status == sla.BREACHED).values(status=sla.RUNNING))
            results.append((backend, timers, label, due, statistics.median(samples), TARGET_SWEEP))
        fill(timers)
        seconds, breached = sweep()
        results.append((backend, timers, "all due", breached, seconds, None))
    finally:
        install.dispose()
        if pg:
            drop_prefixed_schemas(args.database_url, prefix)
    return results


# --- reporting ---------------------------------------------------------------------------------

def environment(args, backends) -> list[str]:
    from importlib.metadata import version as dist_version

    lines = environment_lines(args, backends) + [f"- durable-rules {dist_version('durable_rules')}"]
    lines.append(f"- scale {args.scale:g}, {args.runs} runs (1., 3.), {args.rounds} rounds (2.), "
                 f"{args.workers} huey worker threads, seed {args.seed}, run {datetime.now():%Y-%m-%d %H:%M}")
    return lines


def rows_of(evaluation, queue_results, sla_results, args_runs: int) -> list[tuple]:
    rows = []
    ceiling = None
    if evaluation:
        e = evaluation
        ceiling = e["evaluate"]
        rows.append(("1", "—", f"evaluation only: `RulesEngine.evaluate`, 100 rules × 10 tenants, "
                              f"{e['events']:,} events ({e['firings/event']:.2f} firings, "
                              f"{e['durable calls/event']:.2f} durable calls per event)",
                     f"**{e['evaluate']:,.0f} events/s**",
                     f"durable `post` {e['durable post']:,.0f} events/s; `assert`+`retract` "
                     f"{e['durable assert+retract']:,.0f}",
                     f"{e['evaluate'] / e['durable post']:.2f}× post",
                     f"≥ {TARGET_EVENTS:,} events/s", "met" if e["evaluate"] >= TARGET_EVENTS else "**missed**"))
    label = {("noop", "direct"): ("2a", "no-op action, `Jobs.drain` in process"),
             ("noop", "huey"): ("2b", "no-op action, drain tasks through huey (consumer)"),
             ("set_field", "direct"): ("2c", "`set_field` action, `Jobs.drain` in process"),
             ("set_field", "huey"): ("2d", "`set_field` action, drain tasks through huey (consumer)")}
    for r in queue_results:
        number, what = label[(r["action"], r["path"])]
        rounds = r["rounds"]
        records = sum(x["records"] for x in rounds)
        rate = statistics.median(x["records"] / x["seconds"] for x in rounds)
        events = statistics.median(x["events"] / x["seconds"] for x in rounds)
        firings = sum(x["firings"] for x in rounds) / records
        seconds = statistics.median(x["seconds"] for x in rounds)
        per_round = rounds[0]["records"]
        rows.append((number, r["backend"],
                     f"outbox + job queue, {what}: {per_round:,} records per round "
                     f"({per_round // len(TENANTS):,} per tenant, `create_many`), {firings:.2f} firings/record",
                     f"**{rate:,.0f} record events/s**",
                     f"{events:,.0f} outbox events/s; {seconds:.2f} s per round "
                     f"(median of {len(rounds)})",
                     f"{100 * rate / ceiling:.1f} % of 1." if ceiling else "—", "—", "—"))
    for backend, timers, case, breached, seconds, target in sla_results:
        rows.append(("3", backend, f"SLA sweep, {timers:,} running timers, {case} ({breached:,} breached)",
                     f"**{duration(seconds)}**",
                     f"median of {args_runs} sweeps" if target is not None else "one sweep", "—",
                     f"≤ {target:.0f} s" if target is not None else "—",
                     "—" if target is None else ("met" if seconds <= target else "**missed**")))
    return rows


def duration(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.3g} ms"


def print_table(rows, env_lines) -> None:
    print()
    for line in env_lines:
        print(line)
    print()
    print("| # | backend | measurement | result | details | ratio | target | verdict |")
    print("|---|---|---|---:|---|---:|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    sys.stdout.flush()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies every size (1.0: 20,000 events, 600 records per tenant per case, "
                             "100,000 timers)")
    parser.add_argument("--database-url", default=DEFAULT_PG_URL,
                        help="PostgreSQL URL (default $LOOM_BENCH_DATABASE_URL, $LOOM_TEST_DATABASE_URL "
                             "or the local test database)")
    parser.add_argument("--runs", type=int, default=5, help="runs per median in 1. and 3. (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="write+drain rounds per case in 2. (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="huey consumer threads in 2. (default 2)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=("evaluate", "queue", "sla"), action="append",
                        help="run only these parts (repeatable; default all)")
    parser.add_argument("--profile", metavar="DIR",
                        help="cProfile dumps of the first in-process drain round of each case in 2.")
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.runs < 1 or args.rounds < 1 or args.workers < 1:
        parser.error("--scale, --runs, --rounds and --workers must be positive")
    parts = set(args.only or ("evaluate", "queue", "sla"))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # a plain kill still cleans up

    tmp = Path(tempfile.mkdtemp(prefix="loom-bench-rules-"))
    prefix = f"br{uuid.uuid4().hex[:8]}_"
    evaluation, queue_results, sla_results, failed = None, [], [], False
    try:
        env_lines = environment(args, backends)
        if "evaluate" in parts:
            evaluation = evaluation_only(args)
        if "queue" in parts:
            for backend in backends:
                bench = QueueBench(backend, args, tmp, prefix)
                try:
                    queue_results += bench.run()
                finally:
                    bench.close()
        if "sla" in parts:
            for backend in backends:
                sla_results += sla_sweeps(backend, args, tmp / "sla")
    except BaseException:
        failed = True
        raise
    finally:
        if "postgresql" in backends:
            try:
                dropped = drop_prefixed_schemas(args.database_url, prefix)
                log(f"dropped PostgreSQL schemas: {', '.join(dropped) or 'none'}")
            except Exception as exc:   # never hide the real error behind a cleanup failure
                log(f"could not drop schemas {prefix}*: {exc}")
        shutil.rmtree(tmp, ignore_errors=True)
        log(f"removed {tmp}")
        if evaluation or queue_results or sla_results:
            print_table(rows_of(evaluation, queue_results, sla_results, args.runs),
                        env_lines if "env_lines" in locals() else [])
            if failed:
                print("\n(incomplete: the run failed, see stderr)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
