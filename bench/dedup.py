"""Duplicate-rule benchmarks: the duplicate report (scan) of 1,000,000 parties and the
match at entry over them, on SQLite and PostgreSQL, against raw SQLAlchemy Core reading
the same rows in the same run.

    python bench/dedup.py [--backend sqlite|postgresql|both] [--scale 1.0]

The parties (1,000,000 at --scale 1.0) are loaded with Core executemany: Chinese names
(surname + one or two given characters), 300 cities, E.164 mobiles and e-mails; 1% are
near-duplicates of an earlier party (the name with a space, the same city) and 0.5%
share an earlier party's mobile. The entity has the rules crm_core ships for `party`:
same phone (block), same e-mail (warn), name >= 90 alike within the same city (warn).

1. `loom dedup scan` (engine.dedup.scan) vs Core reading the columns it needs (ids, keys,
   names and cities, ordered by city) and the GROUP BY of the exact rules. Target: <= 60 s.
2. `find_duplicates` for one new record (a party's phone, a near name in its city), 300
   times, vs Core's two indexed SELECTs (by phone, by city). Target: p95 <= 20 ms.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from bench.common import (Row, add_backend_options, environment_lines, fmt_ms, fmt_n, fmt_s, log,  # noqa: E402
                          median, p95, run_backends)
from engine.dedup import find_duplicates  # noqa: E402
from engine.dedup.rules import rules_of  # noqa: E402
from engine.dedup.scan import scan  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.normalise import name_key  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from tenants import Settings  # noqa: E402

PARTIES = 1_000_000
CHUNK = 20_000
MATCHES = 300
CITIES = [f"城市{i:03d}" for i in range(300)]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红兰建国文辉力斌波宁浩鹏飞志宇欣怡佳琪晨阳思雨子涵梓轩"
DOCUMENT = {"entities": [{
    "name": "party",
    "fields": [
        {"name": "name", "type": "string", "required": True, "max_length": 200},
        {"name": "phone", "type": "phone", "indexed": True},
        {"name": "email", "type": "email", "indexed": True},
        {"name": "city", "type": "string", "max_length": 80, "indexed": True},
    ],
    "indexes": [{"fields": ["city", "name"]}],
    "duplicate_rules": [
        {"name": "same_phone", "match": {"exact": ["phone"]}, "action": "block", "overridable": True},
        {"name": "same_email", "match": {"exact": ["email"]}, "action": "warn"},
        {"name": "similar_name", "match": {"fuzzy": "name", "threshold": 90, "within": ["city"]},
         "action": "warn"},
    ],
}]}


def parties(seed: int, count: int):
    """(name, phone, email, city) of `count` parties, with near-duplicates and shared phones."""
    rng = random.Random(seed)
    made = []
    for i in range(count):
        roll = rng.random()
        if made and roll < 0.01:
            name, _phone, _email, city = made[rng.randrange(len(made))]
            name = name[0] + " " + name[1:]
            phone, email = f"+8613{rng.randrange(10**9):09d}", None
        elif made and roll < 0.015:
            name, city = _name(rng), rng.choice(CITIES)
            phone, email = made[rng.randrange(len(made))][1], None
        else:
            name, city = _name(rng), rng.choice(CITIES)
            phone, email = f"+8613{rng.randrange(10**9):09d}", f"p{i}@example.cn"
        row = (name, phone, email, city)
        if len(made) < 50_000:
            made.append(row)
        yield row


def _name(rng) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


class Bench:
    def __init__(self, backend: str, args, tmp: Path, prefix: str):
        self.backend = backend
        self.args = args
        url = args.database_url if backend == "postgresql" else None
        self.settings = Settings(data_dir=tmp / backend, database_url=url,
                                 schema_prefix=prefix if backend == "postgresql" else "")
        self.install = Install(self.settings, Plugins(load_entry_points=False))
        self.rows: list[Row] = []
        self.count = max(1000, int(PARTIES * args.scale))

    def run(self) -> None:
        self.install.registry.create("bench", "Benchmarks")
        self.session = self.install.session("bench")
        self.session.apply_metadata(DOCUMENT)
        self.metadata = self.session.metadata()
        self.table = self.metadata.tables["party"]
        self.load()
        self.bench_scan()
        self.bench_match()

    def load(self) -> None:
        log(f"{self.backend}: loading {fmt_n(self.count)} parties with Core executemany")
        columns = set(self.table.c.keys())
        began = time.perf_counter()
        at = datetime.now(timezone.utc)
        batch = []
        storage = self.session.storage
        for name, phone, email, city in parties(20261206, self.count):
            row = {"name": name, "phone": phone, "email": email, "city": city, "created_at": at,
                   "updated_at": at, "version": 1}
            for field, key in (("phone", phone), ("email", email), ("name", name_key(name))):
                if f"{field}__key" in columns:
                    row[f"{field}__key"] = key
            batch.append(row)
            if len(batch) == CHUNK:
                with storage.begin() as conn:
                    conn.execute(self.table.insert(), batch)
                batch = []
        if batch:
            with storage.begin() as conn:
                conn.execute(self.table.insert(), batch)
        if self.backend == "postgresql":
            with storage.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text(f'VACUUM ANALYZE "{storage.schema}".party'))
        elapsed = time.perf_counter() - began
        self.rows.append(Row(self.backend, f"(setup) load {fmt_n(self.count)} parties with Core executemany",
                             "—", fmt_s(elapsed), None, "—", None, {"seconds": elapsed}))

    def bench_scan(self) -> None:
        log(f"{self.backend}: 1. scanning")
        began = time.perf_counter()
        report = scan(self.session.storage, self.metadata, "party")
        loom = time.perf_counter() - began
        began = time.perf_counter()
        rules = {r.name: r for r in rules_of(self.metadata, "party")}
        with self.session.storage.connect() as conn:
            for rule in ("same_phone", "same_email"):
                column = rules[rule].exact[0].column
                conn.execute(select(column, func.count()).where(column.is_not(None)).group_by(column)
                             .having(func.count() > 1)).all()
            fuzzy = rules["similar_name"]
            for _row in conn.execute(select(self.table.c.id, fuzzy.fuzzy.column, fuzzy.within[0].column)
                                     .order_by(fuzzy.within[0].column, self.table.c.id)
                                     .execution_options(yield_per=20_000, stream_results=True)):
                pass
        core = time.perf_counter() - began
        self.rows.append(Row(
            self.backend, f"1. scan of {fmt_n(self.count)} parties ({fmt_n(report['clusters_total'])} clusters, "
                          f"{fmt_n(report['links'])} links) vs Core reading what it reads",
            fmt_s(loom), fmt_s(core), loom / core, "≤ 60 s", loom <= 60,
            {"loom": loom, "core": core, "clusters": report["clusters_total"], "links": report["links"]}))

    def bench_match(self) -> None:
        log(f"{self.backend}: 2. matching at entry")
        rng = random.Random(7)
        storage = self.session.storage
        with storage.connect() as conn:
            top = conn.execute(select(func.max(self.table.c.id))).scalar_one()
            samples = []
            while len(samples) < MATCHES:
                row = conn.execute(select(self.table.c.name, self.table.c.phone, self.table.c.city)
                                   .where(self.table.c.id == rng.randrange(1, top + 1))).first()
                if row is not None:
                    samples.append({"name": row.name[0] + " " + row.name[1:], "phone": row.phone, "city": row.city})
            rules = rules_of(self.metadata, "party")
            phone_col, city_col = rules[0].exact[0].column, rules[2].within[0].column
            loom, core, found = [], [], 0
            for record in samples:
                began = time.perf_counter()
                [matches] = find_duplicates(conn, self.metadata, "party", [record])
                loom.append(time.perf_counter() - began)
                found += bool(matches)
                began = time.perf_counter()
                conn.execute(select(self.table.c.id).where(phone_col == rules[0].exact[0].key(record["phone"]))).all()
                conn.execute(select(self.table.c.id, self.table.c.name).where(city_col == record["city"])).all()
                core.append(time.perf_counter() - began)
        self.rows.append(Row(
            self.backend, f"2. match at entry over {fmt_n(self.count)} parties, p95 of {MATCHES} "
                          f"(median {fmt_ms(median(loom))} vs {fmt_ms(median(core))}; {found} found matches)",
            fmt_ms(p95(loom)), fmt_ms(p95(core)), p95(loom) / p95(core), "p95 ≤ 20 ms", p95(loom) <= 0.020,
            {"loom": loom, "core": core}))

    def close(self) -> None:
        self.install.dispose()


def environment(args, backends) -> list[str]:
    lines = environment_lines(args, backends)
    lines.append(f"- scale {args.scale:g} ({fmt_n(max(1000, int(PARTIES * args.scale)))} parties), "
                 f"run {datetime.now().strftime('%Y-%m-%d %H:%M')}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_backend_options(parser, "multiplies the number of parties (default 1.0: 1,000,000)")
    args = parser.parse_args(argv)
    return run_backends(args, Bench, environment, "loom-bench-dedup-", "bdd")


if __name__ == "__main__":
    sys.exit(main())
