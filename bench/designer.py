"""Designer benchmarks (issue 11): the designer's pages timed server-side on a crm_core +
retail_loyalty tenant with its demo data and a draft, on SQLite and PostgreSQL.

    python bench/designer.py [--backend sqlite|postgresql|both] [--scale 1.0] [--requests 100]

What is measured (sizes at --scale 1.0):

0. The data: a tenant with the retail_loyalty pack (and crm_core beneath it) and its demo
   data, then 10,000 parties with a membership each (``records.create_many``), an admin
   with a password. The admin's draft adds a field to membership (placed on its form) and
   relabels its tier, saved through ``engine.drafts`` as the designer saves it.
1. Through ``engine.app.create_app`` and a Flask test client signed in with the sign-in
   form, p50/p95 over --requests requests: the overview, the entity editor of membership,
   review and publish (the plan kept for the draft's revision), the version history, the
   preview's record picker (a search), the JSON export of the draft. Target: p95 ≤ 150 ms.
2. The preview of the draft on a random membership (its page, list row and kanban card
   with the draft applied), beside the live record page of the same memberships (the
   "Core" column: the live screen it draws like; the ratio is preview / live). Target:
   p95 ≤ 500 ms.
3. Informational: saving an edit (a relabel, POST, checked like `loom metadata apply`),
   and the review page right after each edit (its plan computed again: the publisher's
   dry run).
4. The packs page's previews (each the publisher's dry run over the whole tenant): removing
   retail_loyalty and installing automotive_dealers, --requests / 5 times each.
5. The first request after a server start, for every page of 1, the preview of 2 and the
   pack previews of 4: each in a new process (``bench/designer_first.py``) that opens the
   install, makes the app and warms it as ``loom serve`` does (``engine.warm``), signs in
   and asks the page once. Target: ≤ 150 ms (the preview ≤ 500 ms). With --cold, each
   also without warming (`--no-warm`), for comparison.

The server of 1–4 is warmed the same way before it is timed.

Each Loom figure also gives the CPU time of the benchmark's process per request (p50):
all of Loom's work on SQLite, Loom's side without the database server's on PostgreSQL —
the figure that stays put when other work loads the machine and stretches wall times.

The results are printed as a markdown table on stdout (progress on stderr). PostgreSQL
schemas get a unique prefix and are dropped at the end, SQLite files live in a temporary
directory that is removed at the end, also when the run fails or is interrupted.
"""
from __future__ import annotations

import argparse
import copy
import random
import json
import re
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from engine import auth, passwords  # noqa: E402
from engine.app import create_app  # noqa: E402
from engine.drafts import Drafts  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.packs.service import PackService  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from engine.warm import warm  # noqa: E402
from bench.common import (Row, add_backend_options, environment_lines, fmt_ms, fmt_n, fmt_s, log,  # noqa: E402
                          median, p95, run_backends, signed_in_client)
from bench.screens_data import TIER_WEIGHTS, party_item  # noqa: E402
from tenants import Settings  # noqa: E402

TENANT = "bench"
ENTITY = "membership"
MEMBERSHIPS = 10_000
CARD_TIERS = ("member", "silver", "gold", "diamond")
CHUNK = 5_000
ADMIN, PASSWORD = "admin@bench.example", "bench-horse-battery-1"
PAGES = {                                            # the designer's GET pages: target p95 ≤ 150 ms
    "overview": "/t/{tenant}/designer/",
    "entity editor": "/t/{tenant}/designer/e/membership",
    "review and publish": "/t/{tenant}/designer/review",
    "version history": "/t/{tenant}/designer/history",
    "preview: pick a record (its first records)": "/t/{tenant}/designer/preview?entity=membership",
    "export the draft (JSON)": "/t/{tenant}/designer/export",
}
PREVIEW = "/t/{tenant}/designer/preview/membership/{id}"
LIVE_RECORD = "/t/{tenant}/e/membership/{id}"
RELABEL = "/t/{tenant}/designer/e/membership/fields/tier/label"
PACK_PREVIEWS = {                                    # the packs page's dry-run previews
    "remove retail_loyalty": "/t/{tenant}/designer/packs/retail_loyalty/remove",
    "install automotive_dealers": "/t/{tenant}/designer/packs/automotive_dealers/install",
}
TARGETS = {"page": 0.150, "preview": 0.500}
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
WECHAT = {"name": "wechat_id", "type": "string", "label": {"en": "WeChat ID", "zh-CN": "微信号"}}


def timed(fn, cpu: list | None = None) -> float:
    """`fn`'s wall time; its CPU time (this process's) appended to `cpu`."""
    started, cpu_started = time.perf_counter(), time.process_time()
    fn()
    if cpu is not None:
        cpu.append(time.process_time() - cpu_started)
    return time.perf_counter() - started


def spread(samples: list[float], cpu: list | None = None) -> str:
    out = f"p50 {fmt_ms(median(samples))}, p95 {fmt_ms(p95(samples))}"
    return out + (f" (CPU p50 {fmt_ms(median(cpu))})" if cpu else "")


class Bench:
    def __init__(self, backend: str, args, tmp: Path, prefix: str):
        self.backend, self.args = backend, args
        url = args.database_url if backend == "postgresql" else None
        self.settings = Settings(data_dir=tmp / backend, database_url=url,
                                 schema_prefix=prefix if backend == "postgresql" else "")
        self.install: Install | None = None
        self.rows: list[Row] = []
        self.rng = random.Random(20261206)

    def row(self, name, loom, core="—", ratio=None, target="—", met=None, raw=None) -> None:
        self.rows.append(Row(self.backend, name, loom, core, ratio, target, met, raw or {}))
        log(f"{self.backend}: {name}: {loom} (compared with {core})")

    # -- data ---------------------------------------------------------------------------------
    def setup(self) -> None:
        self.install = Install(self.settings, Plugins())
        self.install.registry.create(TENANT, "Designer benchmark")
        PackService(self.install).install(TENANT, "retail_loyalty", demo=True)
        storage = self.install.session(TENANT).storage
        auth.create_user(storage, ADMIN, "admin", display_name="Ada Admin", locale="en")
        passwords.set_password(storage, ADMIN, PASSWORD)
        self.admin = next(a for a in auth.list_users(storage) if a.email == ADMIN)

    def load_data(self) -> None:
        count = max(1, int(round(MEMBERSHIPS * self.args.scale)))
        records = self.install.session(TENANT, self.admin).records
        started, ids = time.perf_counter(), []
        for start in range(0, count, CHUNK):
            size = min(CHUNK, count - start)
            parties = records.create_many("party", [party_item(self.rng, n) for n in range(start, start + size)])
            ids += records.create_many(ENTITY, [
                {"party": p, "tier": self.rng.choices(CARD_TIERS, TIER_WEIGHTS)[0]}
                for p in parties])
        took = time.perf_counter() - started
        self.ids = ids
        self.row(f"0. load {fmt_n(count)} parties with a membership each (`create_many`)",
                 f"{2 * count / took:,.0f} rows/s (total {fmt_s(took)})", raw={"seconds": took, "rows": 2 * count})
        if self.backend == "postgresql":
            storage = self.install.session(TENANT).storage
            with storage.engine.connect() as conn:  # what autovacuum would do shortly after a bulk load
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                for name in ("party", ENTITY):
                    conn.execute(text(f'VACUUM ANALYZE "{storage.schema}"."{name}"'))

    def draft(self) -> None:
        """The admin's draft: a new field on membership's form, and its tier relabelled."""
        drafts = Drafts(self.install.session(TENANT, self.admin))
        document = copy.deepcopy(drafts.open().document)
        entity = next(e for e in document["entities"] if e["name"] == ENTITY)
        entity["fields"].append(WECHAT)
        next(f for f in entity["fields"] if f["name"] == "tier")["label"] = {"en": "Level", "zh-CN": "等级"}
        for layout in document.get("layouts", []):
            if layout.get("entity") == ENTITY and layout.get("kind") == "form" and layout.get("sections"):
                layout["sections"][0]["fields"].append(WECHAT["name"])
                break
        saved = drafts.save(document)
        if saved.problems:
            raise RuntimeError(f"the benchmark's draft has problems: {saved.problems[:3]}")

    # -- server-side ----------------------------------------------------------------------------
    def url(self, template: str, **values) -> str:
        return template.format(tenant=TENANT, **values)

    def measure(self, label, key, requests, compared=None) -> None:
        first = requests[0]()
        if first.status_code != 200:
            self.row(label, f"HTTP {first.status_code}", target="—", met=False)
            return
        samples, others, cpu = [], [], []
        for index, request in enumerate(requests):
            samples.append(timed(request, cpu))
            if compared is not None:
                others.append(timed(compared[index]))
        target = TARGETS.get(key)
        self.row(f"{label} ({fmt_n(len(samples))} requests)", spread(samples, cpu), spread(others) if others else "—",
                 median(samples) / median(others) if others else None,
                 f"p95 ≤ {fmt_ms(target)}" if target else "—", None if target is None else p95(samples) <= target,
                 raw={"loom": samples, "compared": others, "cpu": cpu})

    def bench_pages(self, client) -> None:
        runs = self.args.requests
        for name, template in PAGES.items():
            path = self.url(template)
            self.measure(f"1. {name} `{template.replace('{tenant}', '<t>')}`", "page",
                         [lambda path=path: client.get(path)] * runs)
        ids = [self.rng.choice(self.ids) for _ in range(runs)]
        self.measure("2. preview of the draft on a random membership (compared with its live record page)",
                     "preview", [lambda i=i: client.get(self.url(PREVIEW, id=i)) for i in ids],
                     [lambda i=i: client.get(self.url(LIVE_RECORD, id=i)) for i in ids])

    def bench_edits(self, client) -> None:
        """A relabel saved (alternating two labels), then the review with its plan made again."""
        runs = max(1, self.args.requests // 5)
        token = CSRF.search(client.get(self.url(PAGES["overview"])).get_data(as_text=True)).group(1)
        saves, reviews, save_cpu, review_cpu = [], [], [], []
        for n in range(runs):
            form = {"label_en": "Level" if n % 2 else "Grade", "label_zh": "等级", "csrf_token": token}
            answers = []
            saves.append(timed(lambda: answers.append(client.post(self.url(RELABEL), data=form)), save_cpu))
            if answers[0].status_code != 302:
                self.row("3. save an edit", f"HTTP {answers[0].status_code}", met=False)
                return
            reviews.append(timed(lambda: client.get(self.url(PAGES["review and publish"])), review_cpu))
        self.row(f"3. save an edit: relabel a field (POST; {fmt_n(runs)} requests)", spread(saves, save_cpu),
                 raw={"loom": saves, "cpu": save_cpu})
        self.row(f"3. review right after each edit: the plan made again ({fmt_n(runs)} requests)",
                 spread(reviews, review_cpu), raw={"loom": reviews, "cpu": review_cpu})

    def bench_pack_previews(self, client) -> None:
        runs = max(1, self.args.requests // 5)
        for name, template in PACK_PREVIEWS.items():
            path = self.url(template)
            self.measure(f"4. a pack's preview: {name} `{template.replace('{tenant}', '<t>')}`", "page",
                         [lambda path=path: client.get(path)] * runs)

    def bench_first_requests(self) -> None:
        """Each page's first request in a new, warmed server process."""
        given = json.dumps({"data_dir": str(self.settings.data_dir), "database_url": self.settings.database_url,
                            "schema_prefix": self.settings.schema_prefix, "tenant": TENANT, "email": ADMIN,
                            "password": PASSWORD})
        pages = {**PAGES, "preview of the draft on a membership": PREVIEW.replace("{id}", str(self.ids[0])),
                 **PACK_PREVIEWS}
        runs = [("", [])] + ([(", not warmed", ["--no-warm"])] if self.args.cold else [])
        for name, template in pages.items():
            key = "preview" if name.startswith("preview of the draft") else "page"
            for how, options in runs:
                label = f"5. first request after a start{how}: {name}"
                done = subprocess.run([sys.executable, str(ROOT / "bench" / "designer_first.py"), given,
                                       self.url(template), *options],
                                      capture_output=True, text=True, check=False, timeout=600)
                if done.returncode != 0:
                    self.row(label, "failed", met=False)
                    log(done.stderr[-2000:])
                    continue
                found = json.loads(done.stdout.strip().splitlines()[-1])
                if found["status"] != 200:
                    self.row(label, f"HTTP {found['status']}", met=False)
                    continue
                target = TARGETS[key]
                self.row(label, f"{fmt_ms(found['ms'] / 1000)} (CPU {fmt_ms(found['cpu_ms'] / 1000)})",
                         target=f"≤ {fmt_ms(target)}", met=found["ms"] / 1000 <= target, raw=found)

    def run(self) -> None:
        self.setup()
        self.load_data()
        self.draft()
        app = create_app(self.install, {"TESTING": False})
        warm(app)  # as `loom serve` and the WSGI entry point do
        client = signed_in_client(app, TENANT, ADMIN, PASSWORD)
        self.bench_pages(client)
        self.bench_edits(client)
        self.bench_pack_previews(client)
        self.bench_first_requests()

    def close(self) -> None:
        if self.install is not None:
            self.install.dispose()


def environment(args, backends) -> list[str]:
    count = max(1, int(round(MEMBERSHIPS * args.scale)))
    return environment_lines(args, backends) + [
        f"- scale {args.scale:g} (the retail demo data and {fmt_n(count)} parties with a membership each), "
        f"{args.requests} requests per page; Flask test client in process (no network); the \"Core\" "
        f"column is the live screen compared with; run {datetime.now():%Y-%m-%d %H:%M}"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_options(parser, "multiplies the number of memberships (default 1.0: 10,000)")
    parser.add_argument("--requests", type=int, default=100, help="timed requests per page")
    parser.add_argument("--cold", action="store_true",
                        help="also time each page's first request after a start without warming the server")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    return run_backends(args, Bench, environment, "loom-bench-designer-", "bd")


if __name__ == "__main__":
    sys.exit(main())
