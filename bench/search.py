"""The global search's index on 100,000 parties, on SQLite and PostgreSQL; and what the
index costs a batch of writes.

    python bench/search.py [--backend sqlite|postgresql|both] [--count 100000]
    python bench/search.py --writes [--backend …] [--size 1000] [--rounds 15]

A tenant with the example CRM's `contact` (name, e-mail, phone) gets `--count` contacts
with Chinese two- and three-character names, e-mail addresses and +86 mobile numbers,
written through `records.create_many` in chunks of 10,000 (the index is written in the
same transaction). Then: the time of `loom search reindex`, the number of index rows,
and the median and p95 of 30 runs of each query of the search (the index lookup plus
the record service's read of the candidates, as the results page does) next to a plain
`LIKE '%…%'` over the names, the approach the index replaces. Progress on stderr, a
markdown table on stdout; the temporary files and PostgreSQL schemas are removed.

`--writes` measures the write cost instead: `--rounds` rounds, each writing `--size`
contacts three ways in turn (the order rotates from round to round, so each sees the
same table sizes and machine noise): raw SQLAlchemy Core inserting the same rows (system
columns filled in, no index), `records.create_many` with the index, and `create_many`
with the index write switched off. Medians of wall time and of this process's CPU time
per batch, as ratios against Core in the same run, and the index's own share."""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from datetime import datetime, timezone  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from bench.common import fmt_ms, log, median, p95  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from engine.records import service as record_service  # noqa: E402
from engine.records.bulk_rows import Rows  # noqa: E402
from engine.records.search_index import find, reindex  # noqa: E402
from engine.systables import loom_table  # noqa: E402
from tests.conftest import crm_document, drop_prefixed_schemas, make_settings  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"
CHUNK = 10_000
RUNS = 30
QUERIES = {"two-character name 王伟": "王伟", "one character 伟 (inside names)": "伟",
           "phone typed with spaces": "138 0013 8000", "phone with +86 and dashes": "+86-138-0013-8000",
           "e-mail prefix": "wang.wei@", "no match": "不存在的名字",
           "one digit 1 (every mobile number)": "1", "country code and a digit +86 1": "+86 1"}


def people(count, rng):
    for i in range(count):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        yield {"full_name": name, "email": f"user{i}@example.cn",
               "phone": f"+86 1{rng.randint(30, 89)} {rng.randint(0, 9999):04d} {rng.randint(0, 9999):04d}"}


def timed(fn, runs=RUNS) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def run(backend: str, count: int) -> list[tuple[str, str, str]]:
    folder = Path(tempfile.mkdtemp(prefix="loom-search-bench-"))
    settings = make_settings(backend, folder)
    install = Install(settings, Plugins(load_entry_points=False))
    try:
        install.registry.create("bench")
        session = install.session("bench")
        session.apply_metadata(crm_document())
        rng = random.Random(10)
        rows = list(people(count, rng))
        rows[count // 2].update(full_name="王伟", phone="+86 138 0013 8000", email="wang.wei@example.cn")
        log(f"{backend}: writing {count} contacts")
        chunks = []
        for start in range(0, count, CHUNK):
            began = time.perf_counter()
            session.records.create_many("contact", rows[start:start + CHUNK])
            chunks.append(time.perf_counter() - began)
        began = time.perf_counter()
        terms = reindex(session.storage, session.metadata())
        rebuilt = time.perf_counter() - began
        out = [("create_many, per 10,000 contacts (index included)", fmt_ms(median(chunks)), ""),
               ("reindex of every contact", fmt_ms(rebuilt), f"{terms:,} terms")]
        table = session.metadata().tables["contact"]

        def search(query):
            found = find(session.storage, session.metadata(), query, ["contact"], 32)
            ids = ",".join(str(i) for _, i, _ in found)
            return session.records.list("contact", [("id__in", ids), ("limit", "32")]) if ids else None

        for label, query in QUERIES.items():
            times = timed(lambda: search(query))
            hits = len(find(session.storage, session.metadata(), query, ["contact"], 32))
            out.append((f"search: {label}", f"{fmt_ms(median(times))} / {fmt_ms(p95(times))}", f"{hits} (top 32)"))
        with session.storage.connect() as conn:
            like = timed(lambda: conn.execute(select(func.count()).where(table.c.full_name.like("%王伟%"))).scalar(), 10)
            rows_in = conn.execute(select(func.count()).select_from(loom_table(session.storage.schema,
                                                                              "loom_search"))).scalar()
        out.append(("for comparison: LIKE '%王伟%' over the names", f"{fmt_ms(median(like))} / {fmt_ms(p95(like))}",
                    f"index rows: {rows_in:,}"))
        return out
    finally:
        install.dispose()
        if settings.database_url:
            drop_prefixed_schemas(settings.schema_prefix)
        shutil.rmtree(folder, ignore_errors=True)


def write_cost(backend: str, size: int, rounds: int) -> list[tuple[str, str, str]]:
    folder = Path(tempfile.mkdtemp(prefix="loom-search-bench-"))
    settings = make_settings(backend, folder)
    install = Install(settings, Plugins(load_entry_points=False))
    indexing = record_service.index_events
    try:
        install.registry.create("bench")
        session = install.session("bench")
        session.apply_metadata(crm_document())
        records = session.records
        table = session.metadata().tables["contact"]
        rng, batch = random.Random(10), iter(range(10 ** 9))
        terms = loom_table(session.storage.schema, "loom_search")

        def rows():
            tag = next(batch)
            return [{**row, "email": f"b{tag}.{row['email']}"} for row in people(size, rng)]

        def core():
            at = datetime.now(timezone.utc)
            prepared = [{**row, "tier": "regular", "consent_marketing": False, "created_at": at, "updated_at": at,
                         "version": 1} for row in rows()]
            return lambda: _in(session.storage, table, prepared)

        spent = []  # (wall, CPU) of index_events in each batch written with the index

        def timed_indexing(*args):
            began, began_cpu = time.perf_counter(), time.process_time()
            rows = indexing(*args)
            spent.append((time.perf_counter() - began, time.process_time() - began_cpu))
            return rows

        def loom(index: bool):
            prepared = rows()

            def write():
                record_service.index_events = timed_indexing if index else (lambda *args: Rows(terms, (), []))
                try:
                    records.create_many("contact", prepared)
                finally:
                    record_service.index_events = indexing
            return write

        ways = {"Core insert (no index)": core, "create_many with the index": lambda: loom(True),
                "create_many, index write off": lambda: loom(False)}
        wall = {name: [] for name in ways}
        cpu = {name: [] for name in ways}
        log(f"{backend}: {rounds} rounds of {size} contacts, three ways")
        for number in range(rounds + 1):
            names = list(ways)
            names = names[number % 3:] + names[:number % 3]
            for name in names:
                write = ways[name]()
                began, began_cpu = time.perf_counter(), time.process_time()
                write()
                if number:  # the first round warms up
                    wall[name].append(time.perf_counter() - began)
                    cpu[name].append(time.process_time() - began_cpu)
        with session.storage.connect() as conn:
            indexed = conn.execute(select(func.count()).select_from(terms)).scalar()
        core_wall, core_cpu = median(wall["Core insert (no index)"]), median(cpu["Core insert (no index)"])
        out = [(f"{name}, per {size:,} contacts", f"{median(wall[name]) / core_wall:.2f}× Core wall "
                f"({fmt_ms(median(wall[name]))})", f"{median(cpu[name]) / core_cpu:.2f}× Core CPU "
                f"({fmt_ms(median(cpu[name]))})") for name in ways]
        share = median(wall["create_many with the index"]) - median(wall["create_many, index write off"])
        share_cpu = median(cpu["create_many with the index"]) - median(cpu["create_many, index write off"])
        out.append(("the index's share (with − off)", f"{share / core_wall:.2f}× Core wall ({fmt_ms(share)})",
                    f"{share_cpu / core_cpu:.2f}× Core CPU ({fmt_ms(share_cpu)})"))
        inside = spent[len(spent) - rounds:]  # the timed rounds
        in_wall, in_cpu = median([w for w, _ in inside]), median([c for _, c in inside])
        out.append(("inside `index_events` alone (timed around it: the terms, not their insert)",
                    f"{in_wall / core_wall:.2f}× Core wall ({fmt_ms(in_wall)})",
                    f"{in_cpu / core_cpu:.2f}× Core CPU ({fmt_ms(in_cpu)}); "
                    f"{indexed / (size * (rounds + 1)):.2f} index rows per indexed contact"))
        return out
    finally:
        record_service.index_events = indexing
        install.dispose()
        if settings.database_url:
            drop_prefixed_schemas(settings.schema_prefix)
        shutil.rmtree(folder, ignore_errors=True)


def _in(storage, table, rows) -> None:
    with storage.begin() as conn:
        conn.execute(table.insert(), rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--writes", action="store_true", help="measure the index's cost on writes instead")
    parser.add_argument("--size", type=int, default=1000, help="contacts per batch (--writes)")
    parser.add_argument("--rounds", type=int, default=15, help="batches per way (--writes)")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    if args.writes:
        print("| backend | batch | wall, median | CPU of this process, median |\n|---|---|---|---|")
        for backend in backends:
            for measure, wall, cpu in write_cost(backend, args.size, args.rounds):
                print(f"| {backend} | {measure} | {wall} | {cpu} |", flush=True)
        return 0
    print("| backend | measure | median / p95 | notes |\n|---|---|---|---|")
    for backend in backends:
        for measure, figure, note in run(backend, args.count):
            print(f"| {backend} | {measure} | {figure} | {note} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
