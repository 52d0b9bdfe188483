"""Screen benchmarks (issue 10): the generated screens of a crm_core tenant with 100,000
parties, timed server-side through the real app and in Chromium, on SQLite and PostgreSQL.

    python bench/screens.py [--backend sqlite|postgresql|both] [--scale 1.0]

What is measured (sizes at --scale 1.0; data set sizes are multiplied by --scale):

0. The data: a tenant with the crm_core pack, 100,000 parties (Chinese names, many of two
   characters like 王伟, English names, companies; phones typed every way people type them;
   e-mails) through ``records.create_many`` in chunks of 10,000 (the load time is
   reported), then related records: 1-3 activities for 30 % of the parties, 1-2
   opportunities for 10 % (a third of them owned by the member), a service request for
   10 %. Users: an admin and a member with passwords.
1. Server-side, through ``engine.app.create_app`` and a Flask test client signed in with
   the sign-in form, as the admin and as the member (sharing applies), p50/p95 over
   --requests requests each, interleaved with the same work in SQLAlchemy Core on the
   same engine: the list's first page (Core: the same ordered SELECT), the next page
   (following the page's own ``cursor`` link; Core: the keyset SELECT), a record page of
   a random party with related records (Core: the party, the first 10 rows of each of
   the 15 lists of records referencing a party, its last 10 audit rows),
   search-as-you-type (the prefixes of names and phone numbers as typed, one request per
   keystroke; Core: LIKE over name, e-mail and phones). Targets: p95
   list/record <= 150 ms, next page <= 300 ms, search <= 500 ms.
   The same through the REST API (a bearer token) for reference.
2. In Chromium (Playwright, /usr/bin/chromium): from navigation start to the first row of
   the list visible, p50/p95 over --loads page loads. Target: p95 <= 1 s.

The screens' URLs are the table SCREENS below: a screen that answers 404 is reported as
"not built" and its figures are left out, the rest still runs. The results are printed
as a markdown table on stdout (progress on stderr). PostgreSQL schemas get a unique
prefix and are dropped at the end, SQLite files live in a temporary directory that is
removed at the end, also when the run fails or is interrupted.
"""
from __future__ import annotations

import argparse
import html
import random
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from engine import auth, passwords  # noqa: E402
from engine.app import create_app  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.packs.service import PackService  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from bench.common import (Row, add_backend_options, environment_lines, fmt_ms, fmt_n, fmt_s, log,  # noqa: E402
                          median, p95, run_backends, signed_in_client)
from bench.screens_browser import CHROMIUM, LiveServer, browser_loads  # noqa: E402
from bench.screens_core import CoreQueries  # noqa: E402
from bench.screens_data import PARTIES, TYPED, party_item, related_items, typed_prefixes  # noqa: E402
from tenants import Settings  # noqa: E402

# -- the screens timed: adjust here when a route or its markup changes -----------------------
TENANT = "bench"
SCREENS = {
    "list": "/t/{tenant}/e/party",                  # the list's first page (default list view)
    "record": "/t/{tenant}/e/party/{id}",           # a record page (header, form, related lists, timeline)
    "search": "/t/{tenant}/search/suggest?q={q}",   # search-as-you-type: the box's htmx partial, per keystroke
    "search_page": "/t/{tenant}/search?q={q}",      # the results page (Enter in the search box)
}
SEARCH_HEADERS = {"HX-Request": "true"}             # typing asks for the htmx partial
NEXT_LINK = re.compile(r'<a [^>]*href="([^"]*cursor=[^"]*)"')   # the list's "Next page" link
NEXT_HEADERS = {"HX-Request": "true", "HX-Target": "list-rows"}   # clicking it asks htmx for the rows
FIRST_ROW = "main table tbody tr"                   # what "first rows visible" waits for in Chromium
REFERENCE = {                                       # what exists before the screens: the shell and REST
    "home": "/t/{tenant}/",
    "api_list": "/api/v1/t/{tenant}/records/party?sort=name&limit=50",
    "api_record": "/api/v1/t/{tenant}/records/party/{id}",
    "api_search": "/api/v1/t/{tenant}/records/party?q={q}&limit=20",
}
HOME_READY = "main"                                 # the home page's landmark, for the browser reference
TARGETS = {"list": 0.150, "next": 0.300, "record": 0.150, "search": 0.500, "browser": 1.0}

CHUNK = 10_000
ADMIN, MEMBER, PASSWORD = "admin@bench.example", "member@bench.example", "bench-horse-battery-1"

def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def shown(template: str) -> str:
    return template.replace("{tenant}", "<t>")


def spread(samples: list[float]) -> str:
    return f"p50 {fmt_ms(median(samples))}, p95 {fmt_ms(p95(samples))}"


# -- the benchmark for one backend ---------------------------------------------------------

class Bench:
    def __init__(self, backend: str, args, tmp: Path, prefix: str):
        self.backend = backend
        self.args = args
        url = args.database_url if backend == "postgresql" else None
        self.settings = Settings(data_dir=tmp / backend, database_url=url,
                                 schema_prefix=prefix if backend == "postgresql" else "")
        self.install: Install | None = None
        self.server: LiveServer | None = None
        self.rows: list[Row] = []
        self.rng = random.Random(20261206)

    def n(self, base: int) -> int:
        return max(1, int(round(base * self.args.scale)))

    def row(self, name, loom, core="—", ratio=None, target="—", met=None, raw=None) -> None:
        self.rows.append(Row(self.backend, name, loom, core, ratio, target, met, raw or {}))
        log(f"{self.backend}: {name}: {loom} (core {core})")

    # -- data ---------------------------------------------------------------------------------
    def setup(self) -> None:
        self.install = Install(self.settings, Plugins())
        self.install.registry.create(TENANT, "Screens benchmark")
        PackService(self.install).install(TENANT, "crm_core")
        storage = self.install.session(TENANT).storage
        auth.create_user(storage, ADMIN, "admin", display_name="Ada Admin", locale="en")
        auth.create_user(storage, MEMBER, "member", display_name="Mo Member", locale="en")
        for email in (ADMIN, MEMBER):
            passwords.set_password(storage, email, PASSWORD)
        self.token = auth.create_token(storage, ADMIN, "bench")
        self.member = next(a for a in auth.list_users(storage) if a.email == MEMBER)
        self.session = self.install.session(TENANT)
        self.engine = self.session.storage.engine
        metadata = self.session.metadata()
        tables = metadata.tables
        references = [tables[e.name].c[f.name] for e in metadata.package.entities for f in e.fields
                      if f.type == "reference" and getattr(f, "to", None) == "party"]
        self.core = CoreQueries(self.engine, tables, self.session.storage.schema, references)

    def load(self, entity: str, items: list[dict], session=None) -> tuple[list[int], float]:
        records, ids, took = (session or self.session).records, [], 0.0
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            started = time.perf_counter()
            ids += records.create_many(entity, chunk)
            took += time.perf_counter() - started
        return ids, took

    def load_data(self) -> None:
        count = self.n(PARTIES)
        items = [party_item(self.rng, number) for number in range(count)]
        log(f"{self.backend}: loading {fmt_n(count)} parties")
        self.party_ids, took = self.load("party", items)
        self.row(f"0. load {fmt_n(count)} parties (`create_many`, chunks of {fmt_n(CHUNK)})",
                 f"{count / took:,.0f} rows/s (total {fmt_s(took)})", raw={"seconds": took, "rows": count})
        related = related_items(self.rng, self.party_ids)
        member_session = self.install.session(TENANT, self.member)
        third = len(related["opportunity"]) // 3
        total, took = 0, 0.0
        for entity, rows in related.items():
            if not rows:
                continue
            if entity == "opportunity" and third:
                took += self.load(entity, rows[:third], member_session)[1]
                rows = rows[third:]
            took += self.load(entity, rows)[1]
            total += len(related[entity])
        self.rich = sorted({r["party"] for rows in related.values() for r in rows})
        self.row(f"0. load related records ({', '.join(f'{fmt_n(len(v))} {k}' for k, v in related.items())})",
                 f"{total / took:,.0f} rows/s (total {fmt_s(took)})", raw={"seconds": took, "rows": total})
        if self.backend == "postgresql":
            with self.engine.connect() as conn:  # what autovacuum would do shortly after a bulk load
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                for name in ("party", "activity", "opportunity", "service_request", "loom_audit"):
                    conn.execute(text(f'VACUUM ANALYZE "{self.session.storage.schema}"."{name}"'))

    # -- Core equivalents ---------------------------------------------------------------------
    # -- server-side ----------------------------------------------------------------------------
    def url(self, template: str, **values) -> str:
        return template.format(tenant=TENANT, **{k: quote(str(v)) for k, v in values.items()})

    def measure(self, label, key, requests, core=None, unit="request") -> None:
        """Time `requests` (callables returning a response), interleaved with `core`
        (callables, or None), and add a row with p50/p95 against the target of `key`."""
        first = requests[0]()
        if first.status_code == 404:
            self.row(label, "not built (404)", target=f"p95 ≤ {fmt_ms(TARGETS[key])}" if key else "—")
            return
        if first.status_code != 200:
            self.row(label, f"HTTP {first.status_code}", target="—", met=False)
            return
        loom, core_samples = [], []
        for index, request in enumerate(requests):
            loom.append(timed(request))
            if core is not None:
                core_samples.append(timed(core[index]))
        target = TARGETS.get(key)
        self.row(f"{label} ({fmt_n(len(loom))} {unit}s)", spread(loom),
                 spread(core_samples) if core_samples else "—",
                 median(loom) / median(core_samples) if core_samples else None,
                 f"p95 ≤ {fmt_ms(target)}" if target else "—",
                 None if target is None else p95(loom) <= target, raw={"loom": loom, "core": core_samples})

    def client_get(self, client, path, headers=None):
        return lambda: client.get(path, headers=headers or {})

    def bench_server(self, who: str, client) -> None:
        runs = self.args.requests
        ids = [self.rng.choice(self.rich or self.party_ids) for _ in range(runs)]
        typed = typed_prefixes()
        typed = [typed[i % len(typed)] for i in range(runs)]
        list_path = self.url(SCREENS["list"])
        self.measure(f"1. list first page `{shown(SCREENS['list'])}` as {who}", "list",
                     [self.client_get(client, list_path)] * runs, [self.core.list] * runs)
        self.measure_next(who, client)
        self.measure(f"1. record page `{shown(SCREENS['record'])}` as {who}", "record",
                     [self.client_get(client, self.url(SCREENS["record"], id=i)) for i in ids],
                     [lambda i=i: self.core.record(i) for i in ids])
        self.measure(f"1. search-as-you-type `{shown(SCREENS['search'])}` as {who}", "search",
                     [self.client_get(client, self.url(SCREENS["search"], q=t), SEARCH_HEADERS) for t in typed],
                     [lambda t=t: self.core.search(t) for t in typed], unit="keystroke")
        words = [TYPED[i % len(TYPED)] for i in range(runs)]
        self.measure(f"1. search results page `{shown(SCREENS['search_page'])}` as {who}", None,
                     [self.client_get(client, self.url(SCREENS["search_page"], q=w)) for w in words],
                     [lambda w=w: self.core.search(w) for w in words])

    def measure_next(self, who: str, client) -> None:
        """Walk the list page by page through each page's own next link (back to the
        first page at the end), timing only the pages after the first."""
        label = f"1. list next page (the page's `cursor` link) as {who}"
        first_path = self.url(SCREENS["list"])
        first = client.get(first_path)
        if first.status_code != 200:
            self.row(label, "not built (404)" if first.status_code == 404 else f"HTTP {first.status_code}",
                     target=f"p95 ≤ {fmt_ms(TARGETS['next'])}", met=None if first.status_code == 404 else False)
            return
        loom, core, page, pages = [], [], first, self.core.next_pages()
        while len(loom) < self.args.requests:
            link = NEXT_LINK.search(page.get_data(as_text=True))
            if link is None and page is first:
                self.row(label, "no next link found", target=f"p95 ≤ {fmt_ms(TARGETS['next'])}", met=False)
                return
            if link is None:
                page = first
                continue
            page_path = html.unescape(link.group(1))
            started = time.perf_counter()
            page = client.get(page_path, headers=NEXT_HEADERS)
            loom.append(time.perf_counter() - started)
            core.append(next(pages))
        self.row(f"{label} ({fmt_n(len(loom))} requests)", spread(loom), spread(core), median(loom) / median(core),
                 f"p95 ≤ {fmt_ms(TARGETS['next'])}", p95(loom) <= TARGETS["next"], raw={"loom": loom, "core": core})

    def bench_reference(self, app) -> None:
        """What exists before the screens: the shell's home page and the REST API."""
        runs = self.args.requests
        client = signed_in_client(app, TENANT, ADMIN, PASSWORD)
        self.measure("R. home page `/t/<t>/` as admin (reference)", None,
                     [self.client_get(client, self.url(REFERENCE["home"]))] * runs)
        api = app.test_client()
        bearer = {"Authorization": f"Bearer {self.token}"}
        self.measure("R. REST list first page, sort=name, limit 50 (reference)", None,
                     [self.client_get(api, self.url(REFERENCE["api_list"]), bearer)] * runs,
                     [self.core.list] * runs)
        self.measure_api_next(api, bearer)
        ids = [self.rng.choice(self.rich or self.party_ids) for _ in range(runs)]
        self.measure("R. REST get a party (reference; Core: the party and its related lists)", None,
                     [self.client_get(api, self.url(REFERENCE["api_record"], id=i), bearer) for i in ids],
                     [lambda i=i: self.core.record(i) for i in ids])
        typed = typed_prefixes()
        typed = [typed[i % len(typed)] for i in range(runs)]
        self.measure("R. REST `q=` search per keystroke, limit 20 (reference)", None,
                     [self.client_get(api, self.url(REFERENCE["api_search"], q=t), bearer) for t in typed],
                     [lambda t=t: self.core.search(t) for t in typed], unit="keystroke")

    def measure_api_next(self, api, bearer) -> None:
        loom, core, cursor, pages = [], [], None, self.core.next_pages()
        base = self.url(REFERENCE["api_list"])
        while len(loom) < self.args.requests:
            path = base if cursor is None else f"{base}&cursor={quote(cursor)}"
            started = time.perf_counter()
            body = api.get(path, headers=bearer).get_json()
            if cursor is not None:
                loom.append(time.perf_counter() - started)
                core.append(next(pages))
            cursor = body.get("next_cursor")
            if cursor is None and not loom:
                return
        self.row(f"R. REST next page through `next_cursor` (reference; {fmt_n(len(loom))} requests)",
                 spread(loom), spread(core), median(loom) / median(core), "—", None, raw={"loom": loom, "core": core})

    # -- the browser ----------------------------------------------------------------------------
    def bench_browser(self, app) -> None:
        """Time the list page in Chromium (the home page while the list is not built); a
        page whose awaited element never shows is reported, and the run goes on."""
        if not Path(CHROMIUM).exists():
            self.row("2. browser: first rows visible", f"skipped: no Chromium at {CHROMIUM}")
            return
        from playwright.sync_api import Error as PlaywrightError

        built = signed_in_client(app, TENANT, ADMIN, PASSWORD).get(self.url(SCREENS["list"])).status_code == 200
        label = "2. browser: navigation to first list row visible"
        if not built:
            self.row(label, "not built (404)", target="p95 ≤ 1 s")
            label = "R. browser: navigation to the home page's `main` visible (reference)"
        path, ready = (SCREENS["list"], FIRST_ROW) if built else (REFERENCE["home"], HOME_READY)
        try:
            samples = self.browser_loads(app, path, ready)
        except PlaywrightError as exc:
            self.row(label, f"failed: {str(exc).splitlines()[0][:120]}", target="p95 ≤ 1 s", met=False)
            return
        self.row(f"{label} ({fmt_n(len(samples))} loads)", spread(samples),
                 target="p95 ≤ 1 s" if built else "—", met=p95(samples) <= TARGETS["browser"] if built else None,
                 raw={"loads": samples})

    def browser_loads(self, app, path: str, ready: str) -> list[float]:
        """Seconds from navigation start to `ready` visible, per load, signed in as the admin."""
        self.server = self.server or LiveServer(app)
        return browser_loads(f"{self.server.url}/t/{TENANT}/login", self.server.url + self.url(path), ready,
                             ADMIN, PASSWORD, self.args.loads)

    def run(self) -> None:
        self.setup()
        self.load_data()
        app = create_app(self.install, {"TESTING": False})
        for who, email in (("admin", ADMIN), ("member", MEMBER)):
            self.bench_server(who, signed_in_client(app, TENANT, email, PASSWORD))
        self.bench_reference(app)
        if self.args.loads:
            self.bench_browser(app)

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.install is not None:
            self.install.dispose()


def environment(args, backends) -> list[str]:
    return environment_lines(args, backends) + [
        f"- scale {args.scale:g} ({fmt_n(max(1, int(round(PARTIES * args.scale))))} parties), "
        f"{args.requests} requests per server-side case, {args.loads} browser loads; Flask test "
        f"client in process (no network), Chromium {CHROMIUM}; run {datetime.now():%Y-%m-%d %H:%M}"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_options(parser, "multiplies the data set sizes (default 1.0: 100,000 parties)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per server-side case")
    parser.add_argument("--loads", type=int, default=20, help="timed page loads in Chromium (0: no browser)")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if args.requests < 1 or args.loads < 0:
        parser.error("--requests must be at least 1 and --loads at least 0")
    return run_backends(args, Bench, environment, "loom-bench-screens-", "bs")


if __name__ == "__main__":
    sys.exit(main())
