"""Record-service benchmarks: Loom's record paths against raw SQLAlchemy Core on the
same table, the same engine and the same database, on SQLite and on PostgreSQL.

    python bench/records.py [--backend sqlite|postgresql|both] [--scale 1.0]

What is measured (sizes at --scale 1.0; every data set size is multiplied by --scale):

1. 100,000 contacts through ``records.create_many`` in chunks of 10,000 (an import)
   vs one Core ``executemany`` per chunk of the same rows, already converted and with
   the system columns filled in. Chunks alternate Loom/Core so both see the same
   table size and the same machine noise. Target: Loom <= 2x Core.
2. 10,000 single ``records.create`` calls (validation, reference check, audit row,
   outbox row; one transaction each) vs 10,000 Core single-row INSERTs, each in its
   own transaction. Interleaved in blocks. Target: Loom <= 3x Core.
3. The first page of ``tier=gold`` sorted by ``-lifetime_value`` (limit 50) over
   1,000,000 contacts loaded with Core executemany: ``records.list`` vs the same
   SELECT in Core, first without an index on ``tier``, then after the tenant admin
   marks ``tier`` as ``"indexed": true`` through ``apply_metadata`` (the time of
   that migration is reported too), then after the admin declares the composite index
   ``"indexes": [{"fields": ["tier", "lifetime_value"]}]`` the way the query needs it.
   Target: Loom median <= 20 ms.
4. Adding a new optional string field to the 1,000,000-row entity through
   ``apply_metadata``. Target: <= 1 s.

Figures are medians (per chunk, per operation, per query, per migration); the machine
is shared, so totals are shown for reference only. The results are printed as a
markdown table on stdout (progress goes to stderr). PostgreSQL schemas get a unique
prefix and are dropped at the end, SQLite files live in a temporary directory that is
removed at the end, also when the run fails or is interrupted.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import cProfile
import json
import os
import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from engine.heap import settled  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.normalise import email_key, phone_key  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from engine.systables import loom_table  # noqa: E402
from metadata import example_path  # noqa: E402
from bench.common import (Row, environment_lines, fmt_ms, fmt_n, fmt_s, log, median, p95,  # noqa: E402
                          run_backends)
from tenants import Settings  # noqa: E402

DEFAULT_PG_URL = os.environ.get(
    "LOOM_BENCH_DATABASE_URL",
    os.environ.get("LOOM_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))

BATCH_ROWS = 100_000
BATCH_CHUNK = 10_000
SINGLE_ROWS = 10_000
LIST_ROWS = 1_000_000
LOAD_CHUNK = 10_000
ACCOUNTS = 1_000
LIST_PARAMS = [("tier", "gold"), ("sort", "-lifetime_value"), ("limit", "50")]
TIERS = ("regular", "silver", "gold", "diamond")
TIER_WEIGHTS = (60, 25, 12, 3)
FIRST = ("Anna", "Ben", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivan", "Jia",
         "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Yuki")
LAST = ("Ahmed", "Bauer", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Huang", "Ito",
        "Jensen", "Kowalski", "Li", "Müller", "Novak", "Okafor", "Petrov", "Rossi", "Smith",
        "Tanaka", "Wang")
BIRTHDAY_FROM = date(1940, 1, 1)
BIRTHDAY_DAYS = (date(2006, 12, 31) - BIRTHDAY_FROM).days

TARGET_BATCH = 2.0
TARGET_SINGLE = 3.0
TARGET_LIST_MS = 20.0
TARGET_ADD_FIELD_S = 1.0


# -- data -------------------------------------------------------------------------------

class ContactData:
    """Realistic contacts as the API receives them (JSON values) and as Core inserts
    them (converted values plus system columns). Seeded, so every run is the same."""

    def __init__(self, seed: int, account_ids: list[int]):
        self.rng = random.Random(seed)
        self.account_ids = account_ids

    def item(self, tag: str, number: int) -> dict:
        rng = self.rng
        ltv = None if rng.random() < 0.05 else f"{rng.lognormvariate(7.0, 1.4):.2f}"
        return {
            "full_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "email": f"{tag}{number}@example.com",
            "phone": f"+1 555 {rng.randrange(1000, 10000)} {rng.randrange(1000, 10000)}",
            "birthday": None if rng.random() < 0.2 else
            (BIRTHDAY_FROM + timedelta(days=rng.randrange(BIRTHDAY_DAYS))).isoformat(),
            "tier": rng.choices(TIERS, TIER_WEIGHTS)[0],
            "lifetime_value": ltv,
            "consent_marketing": rng.random() < 0.4,
            "account": rng.choice(self.account_ids) if self.account_ids and rng.random() < 0.5 else None,
        }

    def items(self, tag: str, start: int, count: int) -> list[dict]:
        return [self.item(tag, number) for number in range(start, start + count)]


def core_row(item: dict, at: datetime) -> dict:
    """The row Loom would write for `item`, minus the id (the database assigns it): its
    match keys too (`engine.normalise`, the contact's phone region the default)."""
    return {
        "email__key": email_key(item["email"]), "phone__key": phone_key(item["phone"]),
        "full_name": item["full_name"], "email": item["email"], "phone": item["phone"],
        "birthday": None if item["birthday"] is None else date.fromisoformat(item["birthday"]),
        "tier": item["tier"],
        "lifetime_value": None if item["lifetime_value"] is None else Decimal(item["lifetime_value"]),
        "consent_marketing": item["consent_marketing"], "account": item["account"],
        "created_at": at, "updated_at": at, "created_by": None, "updated_by": None,
        "owner_id": None, "version": 1,
    }


def crm_document(tier_indexed: bool = False, extra_fields=(), composite: bool = False) -> dict:
    with open(example_path("crm_minimal"), encoding="utf-8") as fh:
        document = json.load(fh)
    contact = next(e for e in document["entities"] if e["name"] == "contact")
    if tier_indexed:
        next(f for f in contact["fields"] if f["name"] == "tier")["indexed"] = True
    if composite:
        contact["indexes"] = [{"fields": ["tier", "lifetime_value"]}]
    contact["fields"].extend(copy.deepcopy(list(extra_fields)))
    return document


# -- statistics and formatting -----------------------------------------------------------

def fmt_rate(rows_per_s: float) -> str:
    return f"{rows_per_s:,.0f} rows/s"


# -- the benchmark for one backend ---------------------------------------------------------

class Bench:
    def __init__(self, backend: str, args, tmp: Path, prefix: str):
        self.backend = backend
        self.args = args
        self.scale = args.scale
        url = args.database_url if backend == "postgresql" else None
        self.settings = Settings(data_dir=tmp / backend, database_url=url,
                                 schema_prefix=prefix if backend == "postgresql" else "")
        self.install = Install(self.settings, Plugins(load_entry_points=False))
        self.rows: list[Row] = []
        self.profile_dir = Path(args.profile) if args.profile else None

    # sizes
    def n(self, base: int) -> int:
        return max(1, int(round(base * self.scale)))

    # helpers
    def setup(self) -> None:
        self.install.registry.create("bench", "Benchmarks")
        self.session = self.install.session("bench")
        self.session.apply_metadata(crm_document())
        self.refresh()
        accounts = [{"name": f"Account {i}", "industry": ("retail", "insurance", "automotive", "other")[i % 4]}
                    for i in range(self.n(ACCOUNTS))]
        self.account_ids = self.session.records.create_many("account", accounts)
        self.data = ContactData(20240601, self.account_ids)

    def refresh(self) -> None:
        """The compiled table and a record service for the current metadata version."""
        self.metadata = self.session.metadata()
        self.table = self.metadata.tables["contact"]
        self.engine = self.session.storage.engine
        self.service = self.session.records

    def qualified(self, name: str) -> str:
        schema = self.session.storage.schema
        return f'"{schema}"."{name}"' if schema else f'"{name}"'

    def clear_contacts(self) -> None:
        schema = self.session.storage.schema
        with self.engine.begin() as conn:
            if self.backend == "postgresql":
                conn.execute(text(f"TRUNCATE {self.qualified('contact')}, {self.qualified('loom_audit')}, "
                                  f"{self.qualified('loom_outbox')}"))
            else:
                conn.execute(self.table.delete())
                conn.execute(loom_table(schema, "loom_audit").delete())
                conn.execute(loom_table(schema, "loom_outbox").delete())

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(self.table)).scalar_one()

    @contextlib.contextmanager
    def profiled(self, name: str):
        if self.profile_dir is None:
            yield
            return
        profile = cProfile.Profile()
        profile.enable()
        try:
            yield
        finally:
            profile.disable()
            self.profile_dir.mkdir(parents=True, exist_ok=True)
            path = self.profile_dir / f"{self.backend}-{name}.prof"
            profile.dump_stats(path)

    # 1 ---------------------------------------------------------------------------------
    def bench_batch(self) -> None:
        total = self.n(BATCH_ROWS)
        chunk = min(total, self.args.chunk or self.n(BATCH_CHUNK))
        chunks = [(start, min(chunk, total - start)) for start in range(0, total, chunk)]
        log(f"{self.backend}: 1. {fmt_n(total)} contacts in {len(chunks)} chunks of {fmt_n(chunk)}, "
            "create_many vs Core executemany (interleaved)")
        loom_times, core_times = [], []
        for index, (start, size) in enumerate(chunks):
            loom_items = self.data.items("batch-loom-", start, size)
            core_items = self.data.items("batch-core-", start, size)
            at = datetime.now(timezone.utc)
            core_rows = [core_row(item, at) for item in core_items]
            order = ("loom", "core") if index % 2 == 0 else ("core", "loom")
            for who in order:
                if who == "loom":
                    with self.profiled(f"1-create_many-{index}") if index == 0 else contextlib.nullcontext():
                        began = time.perf_counter()
                        ids = self.service.create_many("contact", loom_items)
                        loom_times.append(time.perf_counter() - began)
                    assert len(ids) == size
                else:
                    began = time.perf_counter()
                    with self.engine.begin() as conn:
                        conn.execute(self.table.insert(), core_rows)
                    core_times.append(time.perf_counter() - began)
            log(f"   chunk {index + 1}/{len(chunks)}: loom {fmt_s(loom_times[-1])}, core {fmt_s(core_times[-1])}")
        self.check_same_rows(loom_items)
        loom_med, core_med = median(loom_times), median(core_times)
        ratio = loom_med / core_med
        self.rows.append(Row(
            self.backend,
            f"1. `create_many` {fmt_n(total)} contacts, {len(chunks)} chunks of {fmt_n(chunk)} "
            "(vs Core executemany per chunk)",
            f"{fmt_rate(chunk / loom_med)} ({fmt_s(loom_med)}/chunk; total {fmt_s(sum(loom_times))})",
            f"{fmt_rate(chunk / core_med)} ({fmt_s(core_med)}/chunk; total {fmt_s(sum(core_times))})",
            ratio, f"≤ {TARGET_BATCH:g}× Core", ratio <= TARGET_BATCH,
            {"rows": total, "chunk": chunk, "loom_chunk_s": loom_times, "core_chunk_s": core_times}))

    def check_same_rows(self, items: list[dict]) -> None:
        """Core inserts the rows Loom writes: the same columns but the id, every one but the
        time stamps equal for the same items."""
        with self.engine.connect() as conn:
            for item in items[:50]:
                loom = dict(conn.execute(select(self.table).where(self.table.c.email == item["email"])).mappings().one())
                core = core_row(item, datetime.now(timezone.utc))
                assert set(loom) - {"id"} == set(core), set(loom) ^ set(core)
                differ = {k for k in core if k not in ("created_at", "updated_at") and loom[k] != core[k]}
                assert not differ, differ

    # 2 ---------------------------------------------------------------------------------
    def bench_single(self) -> None:
        total = self.n(SINGLE_ROWS)
        block = max(1, min(self.args.block, total))
        log(f"{self.backend}: 2. {fmt_n(total)} single creates, records.create vs Core insert "
            f"(own transaction each, interleaved in blocks of {block})")
        loom_items = self.data.items("single-loom-", 0, total)
        at = datetime.now(timezone.utc)
        core_rows = [core_row(item, at) for item in self.data.items("single-core-", 0, total)]
        service, engine, table = self.service, self.engine, self.table
        insert = table.insert()
        loom_lat, core_lat = [], []
        clock = time.perf_counter
        for index, start in enumerate(range(0, total, block)):
            stop = min(total, start + block)
            order = ("loom", "core") if index % 2 == 0 else ("core", "loom")
            for who in order:
                if who == "loom":
                    with self.profiled("2-create") if index == 0 else contextlib.nullcontext():
                        for item in loom_items[start:stop]:
                            began = clock()
                            service.create("contact", item)
                            loom_lat.append(clock() - began)
                else:
                    for row in core_rows[start:stop]:
                        began = clock()
                        with engine.begin() as conn:
                            conn.execute(insert, row)
                        core_lat.append(clock() - began)
        loom_med, core_med = median(loom_lat), median(core_lat)
        ratio = loom_med / core_med
        self.rows.append(Row(
            self.backend,
            f"2. `create` × {fmt_n(total)}, one transaction each (vs Core single-row INSERT + commit)",
            f"{fmt_rate(1 / loom_med)} (p50 {fmt_ms(loom_med)}, p95 {fmt_ms(p95(loom_lat))}; total {fmt_s(sum(loom_lat))})",
            f"{fmt_rate(1 / core_med)} (p50 {fmt_ms(core_med)}, p95 {fmt_ms(p95(core_lat))}; total {fmt_s(sum(core_lat))})",
            ratio, f"≤ {TARGET_SINGLE:g}× Core", ratio <= TARGET_SINGLE,
            {"rows": total, "loom_p50_s": loom_med, "core_p50_s": core_med,
             "loom_total_s": sum(loom_lat), "core_total_s": sum(core_lat)}))

    # 3 ---------------------------------------------------------------------------------
    def load_list_data(self) -> int:
        total = self.n(LIST_ROWS)
        log(f"{self.backend}: 3. loading {fmt_n(total)} contacts with Core executemany")
        self.clear_contacts()
        data = ContactData(7, self.account_ids)
        chunk = min(total, LOAD_CHUNK)
        began = time.perf_counter()
        for start in range(0, total, chunk):
            at = datetime.now(timezone.utc)
            rows = [core_row(item, at) for item in data.items("list-", start, min(chunk, total - start))]
            with self.engine.begin() as conn:
                conn.execute(self.table.insert(), rows)
        if self.backend == "postgresql":  # what autovacuum would do shortly after a bulk load
            with self.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text(f"VACUUM ANALYZE {self.qualified('contact')}"))
        elapsed = time.perf_counter() - began
        count = self.count()
        assert count == total, (count, total)
        self.rows.append(Row(
            self.backend, f"3. (setup) load {fmt_n(total)} contacts with Core executemany, chunks of {fmt_n(chunk)}",
            "—", f"{fmt_rate(total / elapsed)} (total {fmt_s(elapsed)})", None, "—", None,
            {"rows": total, "seconds": elapsed}))
        return total

    def core_list_stmt(self):
        table = self.table
        return (select(table).where(table.c.tier == "gold")
                .order_by(table.c.lifetime_value.desc().nulls_last(), table.c.id.desc()).limit(51))

    def plan(self) -> str:
        stmt = self.core_list_stmt()
        with self.engine.connect() as conn:
            compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            if self.backend == "postgresql":
                lines = conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars().all()
            else:
                lines = [" | ".join(str(c) for c in r[1:])
                         for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()]
        return "\n".join(lines)

    def measure_list(self, label: str, target: bool, profile_name: str) -> None:
        queries = self.args.queries
        service, engine = self.service, self.engine
        stmt = self.core_list_stmt()
        clock = time.perf_counter
        loom_page = service.list("contact", LIST_PARAMS)
        with engine.connect() as conn:
            core_page = conn.execute(stmt).all()
        loom_ids = [r["id"] for r in loom_page["items"]]
        core_ids = [r.id for r in core_page[:50]]
        assert loom_ids == core_ids, "Loom and Core disagree about the first page"
        for _ in range(2):  # warm both paths (pool, caches, pages)
            service.list("contact", LIST_PARAMS)
            with engine.connect() as conn:
                conn.execute(stmt).all()
        loom_lat, core_lat = [], []
        for index in range(queries):
            order = ("loom", "core") if index % 2 == 0 else ("core", "loom")
            for who in order:
                if who == "loom":
                    with self.profiled(profile_name) if index == 0 else contextlib.nullcontext():
                        began = clock()
                        service.list("contact", LIST_PARAMS)
                        loom_lat.append(clock() - began)
                else:
                    began = clock()
                    with engine.connect() as conn:
                        conn.execute(stmt).all()
                    core_lat.append(clock() - began)
        loom_med, core_med = median(loom_lat), median(core_lat)
        plan = self.plan()
        log(f"   {label}: loom p50 {fmt_ms(loom_med)}, core p50 {fmt_ms(core_med)}; plan:\n      "
            + plan.replace("\n", "\n      "))
        self.rows.append(Row(
            self.backend, label,
            f"p50 {fmt_ms(loom_med)} (p95 {fmt_ms(p95(loom_lat))})",
            f"p50 {fmt_ms(core_med)} (p95 {fmt_ms(p95(core_lat))})",
            loom_med / core_med,
            f"≤ {TARGET_LIST_MS:g} ms" if target else f"(reference; ≤ {TARGET_LIST_MS:g} ms is for the indexed case)",
            loom_med * 1000 <= TARGET_LIST_MS if target else None,
            {"queries": queries, "loom_s": loom_lat, "core_s": core_lat, "plan": plan}))

    def bench_list(self) -> None:
        total = self.load_list_data()
        rows = fmt_n(total)
        self.measure_list(f"3a. `list` tier=gold, sort -lifetime_value, limit 50 over {rows} rows; "
                          "no index on tier", target=False, profile_name="3a-list-noindex")

        log(f"{self.backend}: 3b. apply_metadata: tier indexed")
        began = time.perf_counter()
        result = self.session.apply_metadata(crm_document(tier_indexed=True))
        elapsed = time.perf_counter() - began
        assert result.applied, result.to_dict()
        self.refresh()
        self.rows.append(Row(
            self.backend, f"3b. `apply_metadata`: mark tier `\"indexed\": true` ({rows} rows)",
            fmt_s(elapsed), "—", None, "—", None, {"seconds": elapsed}))
        self.measure_list("3c. `list` as 3a, tier indexed", target=False, profile_name="3c-list-indexed")
        self.rows[-1].target = "(per-field index only)"

        log(f"{self.backend}: 3d. apply_metadata: composite index (tier, lifetime_value)")
        began = time.perf_counter()
        result = self.session.apply_metadata(crm_document(tier_indexed=True, composite=True))
        elapsed = time.perf_counter() - began
        assert result.applied, result.to_dict()
        self.refresh()
        self.rows.append(Row(
            self.backend, f"3d. `apply_metadata`: add the composite index (tier, lifetime_value) ({rows} rows)",
            fmt_s(elapsed), "—", None, "—", None, {"seconds": elapsed}))
        self.measure_list("3e. `list` as 3a, with the composite index", target=True,
                          profile_name="3e-list-composite")

    # 4 ---------------------------------------------------------------------------------
    def bench_add_field(self) -> None:
        rows = fmt_n(self.count())
        times, extra = [], []
        for rep in range(self.args.repeat):
            extra.append({"name": f"nickname_{rep + 1}", "type": "string", "max_length": 80})
            document = crm_document(tier_indexed=True, extra_fields=extra, composite=True)
            log(f"{self.backend}: 4. apply_metadata: add optional string field {extra[-1]['name']}")
            with self.profiled(f"4-add-field-{rep + 1}") if rep == 0 else contextlib.nullcontext():
                began = time.perf_counter()
                result = self.session.apply_metadata(document)
                times.append(time.perf_counter() - began)
            assert result.applied and [c["kind"] for c in result.changes] == ["add_field"], result.to_dict()
            log(f"   {fmt_s(times[-1])}")
        self.refresh()
        med = median(times)
        self.rows.append(Row(
            self.backend,
            f"4. `apply_metadata`: add an optional string field to {rows} rows (median of {len(times)})",
            f"{fmt_s(med)} (runs: {', '.join(fmt_s(t) for t in times)})", "—", None,
            f"≤ {TARGET_ADD_FIELD_S:g} s", med <= TARGET_ADD_FIELD_S, {"seconds": times}))

    def run(self) -> None:
        log(f"{self.backend}: setting up tenant")
        self.setup()
        with settled():  # as a server (`engine.warm`), the worker and `loom import` run
            self.bench_batch()
            self.clear_contacts()
            self.bench_single()
            self.bench_list()
            self.bench_add_field()

    def close(self) -> None:
        self.install.dispose()


# -- cleanup -------------------------------------------------------------------------------

def environment(args, backends) -> list[str]:
    lines = environment_lines(args, backends)
    lines.append(f"- scale {args.scale:g}, {args.queries} list queries per case, "
                 f"{args.repeat} field additions, run {datetime.now().strftime('%Y-%m-%d %H:%M')}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies every data set size (default 1.0: 100k / 10k / 1M rows)")
    parser.add_argument("--database-url", default=DEFAULT_PG_URL,
                        help="PostgreSQL URL (default: $LOOM_BENCH_DATABASE_URL, $LOOM_TEST_DATABASE_URL "
                             "or the local test database)")
    parser.add_argument("--chunk", type=int, default=0,
                        help="create_many chunk size (default 10,000 × scale)")
    parser.add_argument("--block", type=int, default=250,
                        help="single creates are interleaved Loom/Core in blocks of this many")
    parser.add_argument("--queries", type=int, default=30, help="timed list queries per case")
    parser.add_argument("--repeat", type=int, default=3, help="field additions timed in 4.")
    parser.add_argument("--json", help="also write every raw figure to this file")
    parser.add_argument("--profile", metavar="DIR",
                        help="write cProfile stats of the first Loom chunk/block/query/migration of "
                             "each benchmark to DIR (slows those down; figures are then not comparable)")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    return run_backends(args, Bench, environment, "loom-bench-", "bench")


if __name__ == "__main__":
    sys.exit(main())
