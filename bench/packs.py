"""Pack benchmarks: record sharing on reads, and pack operations (install with demo
data, upgrade) — Loom against raw SQLAlchemy Core on the same table, the same engine and
the same database, on SQLite and on PostgreSQL.

    python bench/packs.py [--backend sqlite|postgresql|both] [--scale 1.0]

What is measured (sizes at --scale 1.0; data set sizes are multiplied by --scale):

1. Record sharing on reads. An entity ``policy`` (number, agent and agency integers,
   indexed, premium decimal, expiry date) with ``sharing`` {"default": "none",
   "managers": true, rules: agent -> user attribute ``agent`` (edit), agency -> user
   attribute ``agency`` (read)}; 1,000,000 policies over 2,000 agents in 100 agencies
   (20 agents each), loaded with Core executemany, 30 % of them owned (owner_id) by
   their agent's user. Users: one per agent (attribute agent=N, managed by their
   agency's manager), one manager per agency (attribute agency=M, 20 reports), an admin.
   As the agent, the agency manager and the admin: ``records.list`` first page
   (sort -id, limit 50), and a filtered page (premium__gte), against Core SELECTs with
   the same WHERE written by hand; ``records.get`` of a visible record and of an
   invisible one (404) against Core; ``records.export`` of the agent's book (and, for
   reference, of the manager's agency) against a Core SELECT of the same rows. The
   first pages are measured once before ``owner_id`` is indexed (the reference), then
   the admin declares ``"indexes": [{"fields": ["owner_id"]}]``.
   Target: a member's list page median <= 20 ms and <= 2x Core.
2. Pack operations with the built-in packs (``engine.plugins.Plugins()``):
   ``loom tenant create X --pack P --demo`` through click's CliRunner for crm_core,
   retail_loyalty, insurance_agents and automotive_dealers (median of --pack-runs);
   then ``loom pack upgrade`` of retail_loyalty to fixture next versions (each adds a
   membership field and relabels another, as tests/plugins/test_pack_upgrade.py does)
   on a tenant with 100,000 memberships loaded with Core, against Core ``ALTER TABLE
   ... ADD COLUMN`` on a copy of the membership table of the same size (median of
   --upgrades, interleaved). Target: upgrade <= 1 s.

Figures are medians, Loom and Core samples interleaved. The results are printed as a
markdown table on stdout (progress and query plans go to stderr). PostgreSQL schemas get
a unique prefix and are dropped at the end, SQLite files live in a temporary directory
that is removed at the end, also when the run fails or is interrupted.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import sys
import time
import types
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402
from sqlalchemy import (Column, MetaData, Table, event, func, or_, select, text,  # noqa: E402
                        union)

import engine.publish.publisher as publisher_module  # noqa: E402
import plugins.crm_core.plugin as crm_core_plugin  # noqa: E402
import plugins.retail_loyalty.plugin as retail_plugin  # noqa: E402
from engine.auth import Actor, create_user  # noqa: E402
from engine.cli import cli  # noqa: E402
from engine.errors import NotFound  # noqa: E402
from engine.hookspecs import hookimpl  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.migration.ddl import Migrator  # noqa: E402
from engine.packs import Pack  # noqa: E402
from engine.packs.service import PackService  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from engine.publish import Publisher  # noqa: E402
from engine.systables import loom_table  # noqa: E402
from bench.common import (Row, environment_lines, fmt_ms, fmt_n, fmt_s, log, median, p95,  # noqa: E402
                          run_backends)
from tenants import Settings  # noqa: E402

DEFAULT_PG_URL = os.environ.get(
    "LOOM_BENCH_DATABASE_URL",
    os.environ.get("LOOM_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))

POLICIES = 1_000_000
AGENCIES = 100
AGENCY_SIZE = 20            # agents per agency: the manager's reports
OWNED = 0.30                # share of policies whose owner_id is their agent's user
PREMIUM_GTE = "3000"        # the filtered page: ~26 % of policies
LOAD_CHUNK = 10_000
MEMBERSHIPS = 100_000
PACKS = ("crm_core", "retail_loyalty", "insurance_agents", "automotive_dealers")
EXPIRY_FROM = date(2025, 1, 1)
RETAIL = Path(retail_plugin.__file__).parent

TARGET_LIST_MS = 20.0
TARGET_LIST_RATIO = 2.0
TARGET_UPGRADE_S = 1.0


# -- the tenant document of part 1 -------------------------------------------------------

def policy_document(owner_index: bool) -> dict:
    # Loom appends id to a non-unique composite index: (agent, id), (agency, id), (owner_id, id).
    indexes = [{"fields": ["agent"], "name": "ix_policy_agent_id"},
               {"fields": ["agency"], "name": "ix_policy_agency_id"}]
    if owner_index:
        indexes.append({"fields": ["owner_id"], "name": "ix_policy_owner_id"})
    return {"entities": [{
        "name": "policy",
        "fields": [
            {"name": "number", "type": "string", "required": True, "max_length": 20},
            {"name": "agent", "type": "integer", "indexed": True},
            {"name": "agency", "type": "integer", "indexed": True},
            {"name": "premium", "type": "decimal", "precision": 12, "scale": 2},
            {"name": "expiry", "type": "date"},
        ],
        "indexes": indexes,
        "sharing": {"default": "none", "managers": True,
                    "rules": [{"field": "agent", "user": "agent", "access": "edit"},
                              {"field": "agency", "user": "agency", "access": "read"}]},
    }]}


# -- statistics and formatting (as bench/records.py) -----------------------------------------

class Capture:
    """The last SELECT Loom sent on a table, to EXPLAIN exactly what Loom ran."""

    def __init__(self, engine, table_name: str):
        self.engine, self.needle, self.last = engine, table_name, None
        self.active = False

    def __enter__(self):
        self.active = True
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)
        self.active = False

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and self.needle in statement:
            self.last = (statement, parameters)


def run_cli(install, argv):
    """`loom ARGV` in process through click's CliRunner; raises if the command failed."""
    result = CliRunner().invoke(cli, argv, obj=install)
    if isinstance(result.exception, SystemExit) and result.exit_code == 143:
        raise SystemExit(143)  # our SIGTERM handler fired inside the command; CliRunner caught it
    if result.exit_code != 0:
        raise RuntimeError(f"loom {' '.join(argv)} failed ({result.exit_code}):\n{result.output}") \
            from result.exception
    return result


# -- the benchmark for one backend ---------------------------------------------------------

class Bench:
    def __init__(self, backend: str, args, tmp: Path, prefix: str):
        self.backend = backend
        self.args = args
        self.scale = args.scale
        url = args.database_url if backend == "postgresql" else None
        self.settings = Settings(data_dir=tmp / backend, database_url=url,
                                 schema_prefix=prefix if backend == "postgresql" else "")
        self.tmp = tmp
        self.installs: list[Install] = []
        self.rows: list[Row] = []

    def n(self, base: int) -> int:
        return max(1, int(round(base * self.scale)))

    def new_install(self, plugins) -> Install:
        install = Install(self.settings, plugins)
        self.installs.append(install)
        return install

    def qualified(self, storage, name: str) -> str:
        return f'"{storage.schema}"."{name}"' if storage.schema else f'"{name}"'

    def vacuum(self, storage, *names) -> None:
        if self.backend != "postgresql":
            return
        with storage.engine.connect() as conn:  # what autovacuum would do shortly after a bulk load
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            for name in names:
                conn.execute(text(f"VACUUM ANALYZE {self.qualified(storage, name)}"))

    def explain(self, engine, statement, parameters) -> str:
        """EXPLAIN (ANALYZE, BUFFERS) / EXPLAIN QUERY PLAN of a statement as it was sent."""
        with engine.connect() as conn:
            if self.backend == "postgresql":
                result = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or {})
                return "\n".join(r[0] for r in result)
            result = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters or ())
            return "\n".join(" | ".join(str(c) for c in r[1:]) for r in result)

    # == 1. sharing ===========================================================================
    def sharing_setup(self) -> None:
        self.install = self.new_install(Plugins(load_entry_points=False))
        self.install.registry.create("share", "Sharing benchmark")
        self.session = self.install.session("share")
        self.session.apply_metadata(policy_document(owner_index=False))
        self.refresh()
        self.agencies = max(2, self.n(AGENCIES))
        self.agents = self.agencies * AGENCY_SIZE
        self.make_users()

    def refresh(self) -> None:
        self.metadata = self.session.metadata()
        self.table = self.metadata.tables["policy"]
        self.engine = self.session.storage.engine

    def agency_of(self, agent: int) -> int:
        return (agent - 1) // AGENCY_SIZE + 1

    def make_users(self) -> None:
        """An admin (create_user), one manager per agency and one user per agent (Core)."""
        storage = self.session.storage
        users = loom_table(storage.schema, "loom_users")
        at = datetime.now(timezone.utc)
        admin = create_user(storage, "admin@agency.example", "admin")

        def user(email, manager_id, attributes):
            return {"email": email, "display_name": None, "role": "member", "locale": "en",
                    "active": True, "created_at": at, "manager_id": manager_id, "attributes": attributes}

        with self.engine.begin() as conn:
            conn.execute(users.insert(), [user(f"manager{m}@agency.example", None, {"agency": m})
                                          for m in range(1, self.agencies + 1)])
            managers = dict(conn.execute(select(users.c.email, users.c.id)).all())
            conn.execute(users.insert(), [
                user(f"agent{a}@agency.example", managers[f"manager{self.agency_of(a)}@agency.example"],
                     {"agent": a}) for a in range(1, self.agents + 1)])
            rows = conn.execute(select(users)).mappings().all()
        by_email = {r["email"]: r for r in rows}
        self.agent_user = {a: by_email[f"agent{a}@agency.example"]["id"] for a in range(1, self.agents + 1)}
        # The measured people: an agency in the middle, its manager and one of its agents.
        self.agency = self.agencies // 2 + 1
        self.agent = (self.agency - 1) * AGENCY_SIZE + 4
        self.reports = sorted(self.agent_user[a] for a in range(1, self.agents + 1)
                              if self.agency_of(a) == self.agency)
        self.people = {"admin": admin}
        for key, email in (("agent", f"agent{self.agent}@agency.example"),
                           ("manager", f"manager{self.agency}@agency.example")):
            r = by_email[email]
            self.people[key] = Actor(r["id"], r["email"], r["role"], r["locale"], r["manager_id"],
                                     dict(r["attributes"] or {}))
        log(f"{self.backend}: users: 1 admin, {self.agencies} managers, {self.agents} agents; measuring "
            f"agent {self.agent} (user {self.people['agent'].id}) and the manager of agency {self.agency} "
            f"(user {self.people['manager'].id}, {len(self.reports)} reports)")

    def load_policies(self) -> None:
        total = self.n(POLICIES)
        log(f"{self.backend}: 1. loading {fmt_n(total)} policies with Core executemany")
        rng = random.Random(20240911)
        chunk = min(total, LOAD_CHUNK)
        began = time.perf_counter()
        for start in range(0, total, chunk):
            at = datetime.now(timezone.utc)
            rows = []
            for number in range(start + 1, min(total, start + chunk) + 1):
                agent = rng.randrange(1, self.agents + 1)
                owner = self.agent_user[agent] if rng.random() < OWNED else None
                rows.append({"number": f"P{number:09d}", "agent": agent, "agency": self.agency_of(agent),
                             "premium": Decimal(f"{rng.lognormvariate(7.5, 0.8):.2f}"),
                             "expiry": EXPIRY_FROM + timedelta(days=rng.randrange(730)),
                             "created_at": at, "updated_at": at, "created_by": owner, "updated_by": owner,
                             "owner_id": owner, "version": 1})
            with self.engine.begin() as conn:
                conn.execute(self.table.insert(), rows)
        self.vacuum(self.session.storage, "policy")
        elapsed = time.perf_counter() - began
        with self.engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(self.table)).scalar_one()
            book = conn.execute(select(func.count()).select_from(self.table)
                                .where(self.core_where("agent"))).scalar_one()
            agency = conn.execute(select(func.count()).select_from(self.table)
                                  .where(self.core_where("manager"))).scalar_one()
        assert count == total, (count, total)
        self.book_size, self.agency_size = book, agency
        log(f"   {fmt_s(elapsed)}; the agent sees {fmt_n(book)} policies, the manager {fmt_n(agency)}")
        self.rows.append(Row(
            self.backend, f"1. (setup) load {fmt_n(total)} policies ({self.agents:,} agents, "
                          f"{self.agencies:,} agencies) with Core executemany, chunks of {fmt_n(chunk)}",
            "—", f"{total / elapsed:,.0f} rows/s (total {fmt_s(elapsed)})", None, "—", None,
            {"rows": total, "seconds": elapsed, "agent_book": book, "agency_book": agency}))

    # -- the hand-written Core equivalents of the sharing rules ---------------------------
    def core_where(self, who):
        t = self.table
        if who == "admin":
            return None
        if who == "agent":  # owner (no reports) OR agent = attribute
            return or_(t.c.owner_id == self.people["agent"].id, t.c.agent == self.agent)
        # manager: owner is the manager or one of the reports OR agency = attribute (read)
        return or_(t.c.owner_id.in_([self.people["manager"].id] + self.reports), t.c.agency == self.agency)

    def core_select(self, who, premium=False, limit=51, descending=True):
        t = self.table
        stmt = select(t)
        where = self.core_where(who)
        if where is not None:
            stmt = stmt.where(where)
        if premium:
            stmt = stmt.where(t.c.premium >= Decimal(PREMIUM_GTE))
        stmt = stmt.order_by(t.c.id.desc() if descending else t.c.id.asc())
        return stmt.limit(limit) if limit else stmt

    def records_as(self, who):
        """A record service for one call, as a request builds it: a fresh Actor (no cached
        manager chain), the session's compiled metadata."""
        actor = self.people[who]
        if actor is not None and who != "admin":
            actor = Actor(actor.id, actor.email, actor.role, actor.locale, actor.manager_id,
                          dict(actor.attributes))
        self.session.actor = actor
        return self.session.records

    def interleave(self, runs, loom, core):
        loom_lat, core_lat = [], []
        clock = time.perf_counter
        for index in range(runs):
            for who in (("loom", "core") if index % 2 == 0 else ("core", "loom")):
                began = clock()
                (loom if who == "loom" else core)()
                (loom_lat if who == "loom" else core_lat).append(clock() - began)
        return loom_lat, core_lat

    def measure_list(self, label, who, premium, target, reference=None) -> None:
        params = [("sort", "-id"), ("limit", "50")] + ([("premium__gte", PREMIUM_GTE)] if premium else [])
        stmt = self.core_select(who, premium)
        engine = self.engine

        def loom():
            return self.records_as(who).list("policy", params)

        def core():
            with engine.connect() as conn:
                return conn.execute(stmt).all()

        with Capture(engine, "policy") as captured:
            loom_ids = [r["id"] for r in loom()["items"]]
        with Capture(engine, "policy") as core_captured:
            core_ids = [r.id for r in core()[:50]]
        assert loom_ids == core_ids, f"Loom and Core disagree about the first page ({label})"
        assert loom_ids, f"{label}: the page is empty"
        for _ in range(2):  # warm both paths (pool, caches, pages)
            loom()
            core()
        loom_lat, core_lat = self.interleave(self.args.queries, loom, core)
        loom_med, core_med = median(loom_lat), median(core_lat)
        ratio = loom_med / core_med
        loom_plan = self.explain(engine, *captured.last)
        core_plan = self.explain(engine, *core_captured.last)
        log(f"   {label}: loom p50 {fmt_ms(loom_med)}, core p50 {fmt_ms(core_med)} ({ratio:.2f}x)\n"
            f"      Loom's SQL: {' '.join(captured.last[0].split())[:400]}\n"
            f"      plan of Loom's SELECT:\n         " + loom_plan.replace("\n", "\n         ") +
            "\n      plan of Core's SELECT:\n         " + core_plan.replace("\n", "\n         "))
        met = None
        if target:
            met = loom_med * 1000 <= TARGET_LIST_MS and ratio <= TARGET_LIST_RATIO
            target_text = f"≤ {TARGET_LIST_MS:g} ms and ≤ {TARGET_LIST_RATIO:g}× Core"
        else:
            target_text = reference or "(reference)"
        self.rows.append(Row(
            self.backend, label, f"p50 {fmt_ms(loom_med)} (p95 {fmt_ms(p95(loom_lat))})",
            f"p50 {fmt_ms(core_med)} (p95 {fmt_ms(p95(core_lat))})", ratio, target_text, met,
            {"queries": len(loom_lat), "loom_s": loom_lat, "core_s": core_lat, "loom_sql": captured.last[0],
             "loom_plan": loom_plan, "core_plan": core_plan}))

    def measure_union(self, label, who, premium) -> None:
        """What-if, Core only: the member's page as a UNION of one SELECT per sharing term,
        each ordered by id and limited, so each can read its (term, id) index in order
        and stop, instead of one SELECT with the terms OR-ed."""
        t = self.table
        terms = ([t.c.owner_id == self.people["agent"].id, t.c.agent == self.agent] if who == "agent" else
                 [t.c.owner_id.in_([self.people["manager"].id] + self.reports), t.c.agency == self.agency])
        extra = [t.c.premium >= Decimal(PREMIUM_GTE)] if premium else []
        parts = [select(t).where(term, *extra).order_by(t.c.id.desc()).limit(51).subquery() for term in terms]
        combined = union(*[select(part) for part in parts]).subquery()
        union_stmt = select(combined).order_by(combined.c.id.desc()).limit(51)
        or_stmt = self.core_select(who, premium)
        engine = self.engine

        def run(stmt):
            with engine.connect() as conn:
                return conn.execute(stmt).all()

        with Capture(engine, "policy") as captured:
            union_ids = [r.id for r in run(union_stmt)]
        assert union_ids == [r.id for r in run(or_stmt)], label
        union_lat, or_lat = self.interleave(self.args.queries, lambda: run(union_stmt), lambda: run(or_stmt))
        union_med, or_med = median(union_lat), median(or_lat)
        plan = self.explain(engine, *captured.last)
        log(f"   {label}: UNION p50 {fmt_ms(union_med)}, OR p50 {fmt_ms(or_med)}; plan of the UNION:\n      "
            + plan.replace("\n", "\n      "))
        self.rows.append(Row(
            self.backend, label, "—",
            f"UNION p50 {fmt_ms(union_med)} (p95 {fmt_ms(p95(union_lat))}); OR p50 {fmt_ms(or_med)}",
            union_med / or_med, "(what-if: UNION/OR)", None,
            {"union_s": union_lat, "or_s": or_lat, "plan": plan}))

    def measure_get(self) -> None:
        t, engine = self.table, self.engine
        where = self.core_where("agent")
        with engine.connect() as conn:
            visible = conn.execute(select(t.c.id).where(where).order_by(t.c.id).limit(10)).scalars().all()
            hidden = conn.execute(select(t.c.id).where(t.c.agency != self.agency, t.c.owner_id.is_(None))
                                  .order_by(t.c.id.desc()).limit(10)).scalars().all()
        for label, ids, found in (("a visible", visible, True), ("an invisible (404)", hidden, False)):
            cycle = iter(ids * (self.args.queries * 2 + 10))

            def loom(ids=ids):
                record_id = next(cycle)
                try:
                    self.records_as("agent").get("policy", record_id)
                    return True
                except NotFound:
                    return False

            def core():
                record_id = next(cycle)
                with engine.connect() as conn:
                    return conn.execute(select(t).where(t.c.id == record_id, where)).first() is not None

            assert all(loom() is found for _ in ids), label
            assert all(core() is found for _ in ids), label
            loom_lat, core_lat = self.interleave(self.args.queries * 2, loom, core)
            loom_med, core_med = median(loom_lat), median(core_lat)
            self.rows.append(Row(
                self.backend, f"1f. `get` as the agent, {label} policy (vs Core SELECT by id + the sharing WHERE)",
                f"p50 {fmt_ms(loom_med)} (p95 {fmt_ms(p95(loom_lat))})",
                f"p50 {fmt_ms(core_med)} (p95 {fmt_ms(p95(core_lat))})", loom_med / core_med, "—", None,
                {"loom_s": loom_lat, "core_s": core_lat}))
            log(f"   get {label}: loom p50 {fmt_ms(loom_med)}, core p50 {fmt_ms(core_med)}")

    def measure_reports(self) -> None:
        """The manager chain Loom looks up once per request for an entity with `managers`."""
        storage = self.session.storage
        users = loom_table(storage.schema, "loom_users")
        manager = self.people["manager"]
        tree = select(users.c.id).where(users.c.manager_id == manager.id).cte("tree", recursive=True)
        tree = tree.union(select(users.c.id).join(tree, users.c.manager_id == tree.c.id))
        stmt = select(tree.c.id)

        def loom():
            return Actor(manager.id, manager.email, manager.role, manager.locale, manager.manager_id,
                         dict(manager.attributes)).reports(storage)

        def core():
            with self.engine.connect() as conn:
                return set(conn.execute(stmt).scalars())

        assert set(loom()) == core() == set(self.reports)
        with self.engine.connect() as conn:
            links = conn.execute(select(func.count()).select_from(users)
                                 .where(users.c.manager_id.is_not(None))).scalar_one()
        loom_lat, core_lat = self.interleave(self.args.queries, loom, core)
        loom_med, core_med = median(loom_lat), median(core_lat)
        log(f"   manager chain: loom p50 {fmt_ms(loom_med)}, core p50 {fmt_ms(core_med)}")
        self.rows.append(Row(
            self.backend,
            f"1e. the manager chain each request looks up (`Actor.reports`, a recursive query over the "
            f"manager's subtree; {fmt_n(links)} manager links in the tenant) vs a Core recursive CTE of the "
            f"manager's {len(self.reports)} reports",
            f"p50 {fmt_ms(loom_med)} (p95 {fmt_ms(p95(loom_lat))})",
            f"p50 {fmt_ms(core_med)} (p95 {fmt_ms(p95(core_lat))})", loom_med / core_med, "—", None,
            {"links": links, "loom_s": loom_lat, "core_s": core_lat}))

    def measure_export(self, who, label, runs) -> None:
        stmt = self.core_select(who, limit=None, descending=False)
        engine = self.engine

        def loom():
            return [r["id"] for r in self.records_as(who).export("policy")]

        def core():
            with engine.connect() as conn:
                return conn.execute(stmt).all()

        with Capture(engine, "policy") as captured:
            loom_ids = loom()
        core_ids = [r.id for r in core()]
        assert loom_ids == core_ids, f"Loom and Core export different rows ({label})"
        loom_lat, core_lat = self.interleave(runs, loom, core)
        loom_med, core_med = median(loom_lat), median(core_lat)
        plan = self.explain(engine, *captured.last)
        log(f"   {label}: {len(loom_ids)} rows, loom p50 {fmt_ms(loom_med)}, core p50 {fmt_ms(core_med)}; "
            "plan of Loom's last batch:\n      " + plan.replace("\n", "\n      "))
        self.rows.append(Row(
            self.backend, f"{label}: {fmt_n(len(loom_ids))} rows (vs Core SELECT of the same rows)",
            f"p50 {fmt_ms(loom_med)} ({len(loom_ids) / loom_med:,.0f} rows/s)",
            f"p50 {fmt_ms(core_med)} ({len(loom_ids) / core_med:,.0f} rows/s)", loom_med / core_med, "—", None,
            {"rows": len(loom_ids), "loom_s": loom_lat, "core_s": core_lat, "loom_last_batch_plan": plan}))

    def bench_sharing(self) -> None:
        log(f"{self.backend}: 1. sharing: setting up tenant")
        self.sharing_setup()
        self.load_policies()
        total = fmt_n(self.n(POLICIES))
        self.measure_list(f"1a. `list` first page (sort -id, limit 50) over {total} policies as the agent; "
                          "owner_id not indexed", "agent", False, False, "(reference: no owner_id index)")
        self.measure_list("1a. the same as the agency manager; owner_id not indexed", "manager", False, False,
                          "(reference: no owner_id index)")

        log(f"{self.backend}: 1b. apply_metadata: index owner_id")
        self.session.actor = None
        began = time.perf_counter()
        result = self.session.apply_metadata(policy_document(owner_index=True))
        elapsed = time.perf_counter() - began
        assert result.applied, result.to_dict()
        self.refresh()
        self.vacuum(self.session.storage, "policy")
        self.rows.append(Row(self.backend, f"1b. `apply_metadata`: add the index (owner_id, id) ({total} rows)",
                             fmt_s(elapsed), "—", None, "—", None, {"seconds": elapsed}))

        book, agency = fmt_n(self.book_size), fmt_n(self.agency_size)
        self.measure_list(f"1c. `list` first page as the agent ({book} visible)", "agent", False, True)
        self.measure_list(f"1c. `list` first page as the agency manager ({agency} visible)", "manager", False, True)
        self.measure_list("1c. `list` first page as the admin (no sharing clause)", "admin", False, False,
                          "(reference: not restricted)")
        self.measure_list(f"1d. `list` premium__gte={PREMIUM_GTE}, first page, as the agent", "agent", True, True)
        self.measure_list(f"1d. `list` premium__gte={PREMIUM_GTE}, first page, as the agency manager",
                          "manager", True, True)
        self.measure_list(f"1d. `list` premium__gte={PREMIUM_GTE}, first page, as the admin", "admin", True, False,
                          "(reference: not restricted)")
        self.measure_union("1c/1d what-if (Core): the manager's first page as a UNION of one ordered, limited "
                           "SELECT per sharing term, vs Core's OR", "manager", False)
        self.measure_union(f"1c/1d what-if (Core): the same with premium__gte={PREMIUM_GTE}", "manager", True)
        self.measure_reports()
        self.measure_get()
        self.measure_export("agent", "1g. `export` of the agent's book", self.args.queries)
        self.measure_export("manager", "1h. `export` of the agency manager's book (reference)",
                            max(3, self.args.queries // 5))
        self.session.actor = None

    # == 2. packs ==============================================================================
    @staticmethod
    @contextlib.contextmanager
    def timed_steps(steps: dict, targets):
        """Adds the time spent in each of `targets` ((object, attribute, key), ...) to
        steps[key] while the block runs; puts the originals back afterwards."""
        saved = []
        for owner, name, key in targets:
            original = getattr(owner, name)
            saved.append((owner, name, name in vars(owner), vars(owner).get(name)))

            def timed(*a, _fn=original, _key=key, **kw):
                began = time.perf_counter()
                try:
                    return _fn(*a, **kw)
                finally:
                    steps[_key] = steps.get(_key, 0.0) + time.perf_counter() - began

            setattr(owner, name, timed)
        try:
            yield
        finally:
            for owner, name, had, original in reversed(saved):
                if had:
                    setattr(owner, name, original)
                else:
                    delattr(owner, name)

    def bench_pack_create(self) -> None:
        install = self.new_install(Plugins())
        offered = sorted(PackService(install).catalog())
        missing = [p for p in PACKS if p not in offered]
        assert not missing, f"packs not installed in this environment: {missing} (have {offered})"
        runs = self.args.pack_runs
        log(f"{self.backend}: 2a. loom tenant create --pack P --demo, {runs} run(s) per pack")
        times = {p: [] for p in PACKS + ("(none)",)}
        steps = {p: [] for p in PACKS}
        outputs = {}
        for run in range(runs):
            order = list(PACKS[run % len(PACKS):] + PACKS[:run % len(PACKS)]) + ["(none)"]
            for pack in order:
                slug = f"pk{run + 1}-{pack.replace('_', '-')}" if pack != "(none)" else f"pk{run + 1}-plain"
                argv = ["tenant", "create", slug] + (["--pack", pack, "--demo"] if pack != "(none)" else [])
                measured: dict = {}
                with self.timed_steps(measured, [(Publisher, "publish", "publish"),
                                                 (PackService, "load_demo", "demo"),
                                                 (install.registry, "create", "tenant")]):
                    began = time.perf_counter()
                    result = run_cli(install, argv)
                    elapsed = time.perf_counter() - began
                times[pack].append(elapsed)
                if pack != "(none)":
                    steps[pack].append(measured)
                    outputs[pack] = result.output
                log(f"   {slug}: {fmt_s(elapsed)} " + ", ".join(f"{k} {fmt_s(v)}" for k, v in measured.items()))
        plain = median(times["(none)"])
        self.rows.append(Row(
            self.backend, "2a. `loom tenant create X` without a pack (reference)",
            f"{fmt_s(plain)} (runs: {', '.join(fmt_s(t) for t in times['(none)'])})", "—", None, "—", None,
            {"seconds": times["(none)"]}))
        for pack in PACKS:
            demo_line = [line for line in outputs[pack].splitlines() if line.startswith("demo data of")]
            records = sum(int(part.split()[0]) for line in demo_line
                          for part in line.split(";", 1)[1].split(",") if part.strip()[:1].isdigit()) \
                if demo_line else 0
            split = {k: median([s.get(k, 0.0) for s in steps[pack]]) for k in ("tenant", "publish", "demo")}
            installed = [line.split()[1] for line in outputs[pack].splitlines() if line.startswith("installed ")]
            self.rows.append(Row(
                self.backend,
                f"2a. `loom tenant create X --pack {pack} --demo` ({' + '.join(installed)}; "
                f"{records} demo records; median of {len(times[pack])})",
                f"{fmt_s(median(times[pack]))} (tenant {fmt_s(split['tenant'])}, metadata+DDL "
                f"{fmt_s(split['publish'])}, demo {fmt_s(split['demo'])})",
                "—", None, "—", None, {"seconds": times[pack], "steps": steps[pack], "output": outputs[pack]}))

    # -- upgrade ------------------------------------------------------------------------
    def next_version(self, number: int) -> Pack:
        """retail_loyalty 1.<number>.0: versions 1..number of the fixture edits, cumulated."""
        version = f"1.{number}.0"
        directory = self.tmp / f"retail_loyalty-{self.backend}-{version}"
        shutil.copytree(RETAIL, directory, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        manifest = json.loads((directory / "pack.json").read_text(encoding="utf-8"))
        manifest["version"] = version
        (directory / "pack.json").write_text(json.dumps(manifest), encoding="utf-8")
        source = directory / "entities" / "membership.json"
        membership = json.loads(source.read_text(encoding="utf-8"))
        fields = {f["name"]: f for f in membership["fields"]}
        for k in range(1, number + 1):
            added, relabelled = UPGRADE_EDITS[(k - 1) % len(UPGRADE_EDITS)]
            name = added if k <= len(UPGRADE_EDITS) else f"{added}_{k}"
            membership["fields"].append({"name": name, "type": "string", "max_length": 20,
                                         "label": {"en": name.replace("_", " ").capitalize(), "zh-CN": "新字段"}})
            fields[relabelled]["label"] = {"en": f"{relabelled.capitalize()} (v{k})",
                                           "zh-CN": f"{fields[relabelled]['label']['zh-CN']}（{k}）"}
        source.write_text(json.dumps(membership, ensure_ascii=False), encoding="utf-8")
        return Pack.from_directory(directory)

    @staticmethod
    def plugins_with(pack) -> Plugins:
        """The built-in crm_core, with retail_loyalty's plugin shipping `pack` instead."""
        replacement = types.ModuleType("retail_loyalty_next")
        replacement.__dict__.update({k: v for k, v in vars(retail_plugin).items() if not k.startswith("__")})

        @hookimpl
        def loom_packs():
            return [pack]

        replacement.loom_packs = loom_packs
        return Plugins(extra_plugins=[crm_core_plugin, replacement], load_entry_points=False)

    def load_memberships(self, session) -> int:
        total = self.n(MEMBERSHIPS)
        log(f"{self.backend}: 2b. loading {fmt_n(total)} parties and memberships with Core executemany")
        tables = session.metadata().tables
        party, membership = tables["party"], tables["membership"]
        engine = session.storage.engine
        rng = random.Random(7)
        chunk = min(total, LOAD_CHUNK)
        began = time.perf_counter()
        for start in range(0, total, chunk):
            at = datetime.now(timezone.utc)
            count = min(chunk, total - start)
            system = {"created_at": at, "updated_at": at, "created_by": None, "updated_by": None,
                      "owner_id": None, "version": 1}
            with engine.begin() as conn:
                first = conn.execute(select(func.coalesce(func.max(party.c.id), 0))).scalar_one()
                conn.execute(party.insert(), [{"kind": "person", "name": f"Member {start + i + 1}", **system}
                                              for i in range(count)])
                ids = conn.execute(select(party.c.id).where(party.c.id > first).order_by(party.c.id)
                                   ).scalars().all()
                conn.execute(membership.insert(), [{
                    "number": f"M{start + i + 1:09d}", "party": ids[i],
                    "tier": rng.choices(("member", "silver", "gold", "diamond"), (70, 20, 8, 2))[0],
                    "status": "active", "joined": date(2015, 1, 1) + timedelta(days=rng.randrange(3650)),
                    "points_balance": rng.randrange(0, 20000), "points_12m": rng.randrange(0, 20000),
                    "spend_12m": Decimal(f"{rng.uniform(0, 50000):.2f}"), "club": None,
                    "email": f"member{start + i + 1}@example.cn", "locale": "zh-CN", **system}
                    for i in range(count)])
        self.vacuum(session.storage, "party", "membership")
        elapsed = time.perf_counter() - began
        with engine.connect() as conn:
            count = conn.execute(select(func.count()).select_from(membership)).scalar_one()
        self.rows.append(Row(
            self.backend, f"2b. (setup) load {fmt_n(total)} parties + {fmt_n(total)} memberships with Core",
            "—", f"{2 * total / elapsed:,.0f} rows/s (total {fmt_s(elapsed)})", None, "—", None,
            {"rows": count, "seconds": elapsed}))
        return count

    def copy_table(self, session, name) -> Table:
        """`<name>_core`: the same columns (no indexes, no constraints) and the same rows."""
        source = session.metadata().tables[name]
        copy = Table(f"{name}_core", MetaData(), *[Column(c.name, c.type, nullable=c.nullable,
                                                          primary_key=c.primary_key, autoincrement=False)
                                                   for c in source.columns], schema=source.schema)
        engine = session.storage.engine
        copy.create(engine)
        with engine.begin() as conn:
            conn.execute(copy.insert().from_select([c.name for c in source.columns], select(source)))
        self.vacuum(session.storage, copy.name)
        return copy

    def bench_upgrade(self) -> None:
        install = self.new_install(Plugins())
        run_cli(install, ["tenant", "create", "shop", "--pack", "retail_loyalty"])
        session = install.session("shop")
        # The tenant's own changes, as the admin UI sends them (tests/plugins/test_pack_upgrade.py).
        document = session.metadata().package.to_dict()
        membership = next(e for e in document["entities"] if e["name"] == "membership")
        membership["fields"].append({"name": "favourite_store", "type": "string", "max_length": 80,
                                     "label": {"en": "Favourite store", "zh-CN": "常去门店"}})
        next(f for f in membership["fields"] if f["name"] == "joined")["label"] = \
            {"en": "Member since", "zh-CN": "入会日期"}
        assert session.apply_metadata(document).applied
        rows = self.load_memberships(session)
        copy = self.copy_table(session, "membership")
        install.cache.forget("shop")
        loom_times, core_times, reports, steps = [], [], [], []
        for k in range(1, self.args.upgrades + 1):
            pack = self.next_version(k)
            upgraded = self.new_install(self.plugins_with(pack))
            added = f"core_column_{k}"
            for who in (("loom", "core") if k % 2 == 1 else ("core", "loom")):
                if who == "loom":
                    service = PackService(upgraded)
                    measured: dict = {}
                    with self.timed_steps(measured, [(Publisher, "check", "check"),
                                                     (publisher_module, "parse_document", "parse"),
                                                     (Publisher, "_migrate", "migration"),
                                                     (Migrator, "run", "ddl")]):
                        began = time.perf_counter()
                        report = service.upgrade("shop", "retail_loyalty")
                        loom_times.append(time.perf_counter() - began)
                    measured["total"] = loom_times[-1]
                    steps.append(measured)
                    kinds = [f"{c['kind']} {c.get('entity', '')}.{c.get('field', '')}" for c in report["changes"]]
                    reports.append({"to": report["to"], "changes": kinds, "conflicts": report["conflicts"]})
                    assert report["to"] == pack.version and not report["conflicts"], report
                else:
                    began = time.perf_counter()
                    with session.storage.engine.begin() as conn:
                        conn.execute(text(f"ALTER TABLE {self.qualified(session.storage, copy.name)} "
                                          f"ADD COLUMN {added} VARCHAR(20)"))
                    core_times.append(time.perf_counter() - began)
            log(f"   upgrade to {pack.version}: loom {fmt_s(loom_times[-1])} ({'; '.join(reports[-1]['changes'])}; "
                + ", ".join(f"{k} {fmt_s(v)}" for k, v in steps[-1].items()) +
                f"), core ALTER TABLE {fmt_s(core_times[-1])}")
            upgraded.cache.forget("shop")
        final = upgraded.session("shop")
        entity = final.metadata().package.entity("membership")
        assert entity.field("favourite_store") is not None and entity.field("referral_code") is not None
        assert entity.field("joined").label["en"] == "Member since"
        with final.storage.engine.connect() as conn:
            after = conn.execute(select(func.count()).select_from(final.metadata().tables["membership"])).scalar_one()
        assert after == rows, (after, rows)
        loom_med, core_med = median(loom_times), median(core_times)
        split = {k: median([m.get(k, 0.0) for m in steps]) for k in ("check", "parse", "migration", "ddl")}
        self.rows.append(Row(
            self.backend,
            f"2c. `loom pack upgrade` retail_loyalty 1.0.0 → 1.{self.args.upgrades}.0, one version at a time "
            f"(each adds a membership field + relabels one; tenant changes kept) on {fmt_n(rows)} memberships "
            f"(vs Core ALTER TABLE ADD COLUMN on a {fmt_n(rows)}-row copy; median of {len(loom_times)})",
            f"{fmt_s(loom_med)} (runs: {', '.join(fmt_s(t) for t in loom_times)}; of which: checking the "
            f"document {fmt_s(split['check'])}, parsing it again {fmt_s(split['parse'])}, the migration "
            f"transaction {fmt_s(split['migration'] - split['parse'])} with DDL {fmt_s(split['ddl'])}, layers "
            f"and the rest {fmt_s(loom_med - split['check'] - split['migration'])})",
            f"{fmt_ms(core_med)} (runs: {', '.join(fmt_ms(t) for t in core_times)})",
            loom_med / core_med, f"≤ {TARGET_UPGRADE_S:g} s", loom_med <= TARGET_UPGRADE_S,
            {"loom_s": loom_times, "core_s": core_times, "reports": reports, "steps": steps}))

    def run(self) -> None:
        parts = self.args.only or ["sharing", "packs"]
        if "sharing" in parts:
            self.bench_sharing()
        if "packs" in parts:
            self.bench_pack_create()
            self.bench_upgrade()

    def close(self) -> None:
        for install in self.installs:
            install.dispose()


UPGRADE_EDITS = (("referral_code", "club"), ("referral_source", "email"), ("card_design", "locale"))


# -- cleanup -------------------------------------------------------------------------------

def environment(args, backends) -> list[str]:
    lines = environment_lines(args, backends)
    lines.append(f"- scale {args.scale:g}, {args.queries} queries per list case, {args.pack_runs} run(s) per pack, "
                 f"{args.upgrades} upgrade(s), run {datetime.now().strftime('%Y-%m-%d %H:%M')}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies the data set sizes (default 1.0: 1,000,000 policies over 100 agencies "
                             "of 20 agents; 100,000 memberships)")
    parser.add_argument("--database-url", default=DEFAULT_PG_URL,
                        help="PostgreSQL URL (default: $LOOM_BENCH_DATABASE_URL, $LOOM_TEST_DATABASE_URL "
                             "or the local test database)")
    parser.add_argument("--queries", type=int, default=30, help="timed queries per list case (get: twice as many)")
    parser.add_argument("--pack-runs", type=int, default=3, help="tenants created per pack in 2a")
    parser.add_argument("--upgrades", type=int, default=5, help="successive upgrades timed in 2c")
    parser.add_argument("--only", action="append", choices=("sharing", "packs"),
                        help="run only this part (repeatable; default both)")
    parser.add_argument("--json", help="also write every raw figure (and the query plans) to this file")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if min(args.queries, args.pack_runs, args.upgrades) < 1:
        parser.error("--queries, --pack-runs and --upgrades must be at least 1")
    return run_backends(args, Bench, environment, "loom-bench-packs-", "bp")


if __name__ == "__main__":
    sys.exit(main())
