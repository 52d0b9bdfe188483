"""Import benchmark: 100,000 parties from a CSV file through `engine.imports` (a dry run
and the real run: conversion, natural-key upsert on `email`, duplicate rules on, chunks of
1,000 with their checkpoints) against the batch create path (`records.create_many`, same
chunks) and raw SQLAlchemy Core `executemany` for the same rows, on SQLite and PostgreSQL.

    python bench/imports.py [--backend sqlite|postgresql|both] [--scale 1.0]

Each path writes into a tenant of its own that starts with the same 1,000 parties (so the
upsert and the duplicate rules find some). The file has 1% rows for existing e-mails
(updates) and 1% with an existing phone (skipped by the blocking rule). Target: the real
import <= 3x the batch create path's time for the same rows. Totals in seconds; the
machine is shared, so its load average is printed with the figures."""
from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import Row, add_backend_options, environment_lines, fmt_n, fmt_s, log, run_backends  # noqa: E402
from engine.heap import settled  # noqa: E402
from engine.imports import importer  # noqa: E402
from engine.imports.planning import Options  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from tenants import Settings  # noqa: E402

ROWS = 100_000
EXISTING = 1_000
CHUNK = 1_000
CITIES = [f"城市{i:03d}" for i in range(300)]
DOCUMENT = {"entities": [{
    "name": "party", "natural_key": "email",
    "fields": [
        {"name": "name", "type": "string", "required": True, "max_length": 200},
        {"name": "phone", "type": "phone", "indexed": True},
        {"name": "email", "type": "email", "unique": True},
        {"name": "city", "type": "string", "max_length": 80, "indexed": True},
        {"name": "birthday", "type": "date"},
    ],
    "indexes": [{"fields": ["city", "name"]}],
    "duplicate_rules": [
        {"name": "same_phone", "match": {"exact": ["phone"]}, "action": "block", "overridable": True},
        {"name": "similar_name", "match": {"fuzzy": "name", "threshold": 90, "within": ["city"]}, "action": "warn"},
    ],
}]}
HEADER = ["姓名", "电话", "邮箱", "城市", "生日"]


def existing(n: int) -> dict:
    return {"name": f"老客户{n:06d}", "phone": f"+86139{n:08d}", "email": f"old{n}@example.cn",
            "city": CITIES[n % len(CITIES)]}


def file_rows(count: int) -> list[list[str]]:
    rng = random.Random(20261206)
    rows = []
    for n in range(count):
        roll = rng.random()
        if roll < 0.01:  # an existing e-mail: an update
            old = existing(rng.randrange(EXISTING))
            rows.append([old["name"], old["phone"], old["email"], "广州", "1990/1/5"])
        elif roll < 0.02:  # an existing phone: skipped by the blocking rule
            old = existing(rng.randrange(EXISTING))
            rows.append([f"新客户{n:06d}", f"139 {old['phone'][6:10]} {old['phone'][10:]}", f"dup{n}@example.cn",
                         rng.choice(CITIES), ""])
        else:
            rows.append([f"新客户{n:06d}", f"138 {n:04d} {rng.randrange(10**4):04d}"[:13], f"new{n}@example.cn",
                         rng.choice(CITIES), f"{1950 + n % 50}年{1 + n % 12}月{1 + n % 28}日"])
    return rows


class Bench:
    def __init__(self, backend: str, args, tmp: Path, prefix: str):
        self.backend = backend
        url = args.database_url if backend == "postgresql" else None
        self.settings = Settings(data_dir=tmp / backend, database_url=url,
                                 schema_prefix=prefix if backend == "postgresql" else "")
        self.install = Install(self.settings, Plugins(load_entry_points=False))
        self.rows: list[Row] = []
        self.count = max(2_000, int(ROWS * args.scale))

    def tenant(self, slug: str):
        self.install.registry.create(slug, slug)
        session = self.install.session(slug)
        session.apply_metadata(DOCUMENT)
        session.records.create_many("party", [existing(n) for n in range(EXISTING)])
        return session

    def run(self) -> None:
        lines = file_rows(self.count)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(HEADER)
        writer.writerows(lines)
        data = buffer.getvalue().encode("utf-8")
        core, batch, dry, real = (self.tenant(s) for s in ("core", "batch", "dry", "real"))
        with settled():  # as `loom import` and the worker run
            self.measure(data, core, batch, dry, real)

    def measure(self, data, core, batch, dry, real) -> None:
        """The CSV `data` created through the batch path (tenant `batch`) and Core (`core`),
        then imported as a dry run (`dry`) and for real (`real`)."""
        log(f"{self.backend}: the same rows through the batch create path and Core")
        source = importer.Source("parties.csv", data)
        plans = importer.dry_run(batch.records, "party", source, options=Options(key="email"))
        creates = [p.data for p in plans.rows if p.action == "create"]
        began = time.perf_counter()
        for i in range(0, len(creates), CHUNK):
            batch.records.create_many("party", creates[i:i + CHUNK], allow_duplicates=True)
        batch_s = time.perf_counter() - began
        table = core.metadata().tables["party"]
        columns = set(table.c.keys())
        at = datetime.now(timezone.utc)
        began = time.perf_counter()
        for i in range(0, len(creates), CHUNK):
            with core.storage.begin() as conn:
                conn.execute(table.insert(), [{**{k: v for k, v in r.items() if k in columns},
                                               "birthday": _date(r.get("birthday")), "created_at": at,
                                               "updated_at": at, "version": 1} for r in creates[i:i + CHUNK]])
        core_s = time.perf_counter() - began

        log(f"{self.backend}: the dry run and the real import of {fmt_n(self.count)} rows")
        began = time.perf_counter()
        dry_result = importer.dry_run(dry.records, "party", source, options=Options(key="email"))
        dry_s = time.perf_counter() - began
        began = time.perf_counter()
        done = importer.commit(real.records, "party", source, options=Options(key="email", chunk_size=CHUNK))
        real_s = time.perf_counter() - began
        assert done.totals == dry_result.totals, (done.totals, dry_result.totals)
        totals = done.totals
        rows = f"{fmt_n(self.count)} rows ({fmt_n(totals['created'])} created, {fmt_n(totals['updated'])} " \
               f"updated, {fmt_n(totals['skipped'])} skipped)"
        self.rows += [
            Row(self.backend, f"create_many of the {fmt_n(len(creates))} new rows", fmt_s(batch_s), fmt_s(core_s),
                batch_s / core_s, "—", None, {"batch_s": batch_s, "core_s": core_s}),
            Row(self.backend, f"dry run of {rows}", fmt_s(dry_s), fmt_s(core_s), dry_s / core_s,
                "—", None, {"dry_s": dry_s}),
            Row(self.backend, f"import of {rows}", fmt_s(real_s), fmt_s(core_s), real_s / core_s,
                f"≤ 3× create_many ({real_s / batch_s:.2f}×)", real_s <= 3 * batch_s, {"real_s": real_s}),
        ]

    def close(self) -> None:
        self.install.dispose()


def _date(text):
    return datetime.fromisoformat(text).date() if text else None


def environment(args, backends) -> list[str]:
    lines = environment_lines(args, backends)
    lines.append(f"- scale {args.scale:g} ({fmt_n(max(2_000, int(ROWS * args.scale)))} rows), "
                 f"run {datetime.now().strftime('%Y-%m-%d %H:%M')}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_options(parser, "multiplies the number of rows (default 1.0: 100,000)")
    args = parser.parse_args(argv)
    return run_backends(args, Bench, environment, "loom-bench-imports-", "bim")


if __name__ == "__main__":
    sys.exit(main())
