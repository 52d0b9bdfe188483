"""What an import's dry run costs once it decides its rows in the file's order and checks
its updates by the duplicate rules (issue 13): process time and SQL statements of dry
runs of two files against one tenant, the median of `--runs` runs in this process.

- `mixed`: bench/imports.py's file (1% rows update an existing party by its e-mail, the
  natural key; 1% have an existing phone), `--rows` rows in chunks of 1,000;
- `updates`: as many rows, every one updating an existing party by its e-mail and giving
  it another city (the fuzzy rule reads it) and, one row in two, another phone (the
  blocking rule reads it): the worst case of the update check; then its real run, once.

    python bench/import_order.py [--backend sqlite|postgresql] [--rows 5000] [--runs 5]

`LOOM_ROOT=/path/to/other/checkout` runs another checkout's engine (and its
bench/imports.py) with this script: alternate base and head that way."""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(os.environ.get("LOOM_ROOT") or Path(__file__).resolve().parent.parent)  # another checkout's code
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bench.common import drop_prefixed_schemas  # noqa: E402
from bench.imports import CITIES, DOCUMENT, HEADER, existing, file_rows  # noqa: E402
from bench.records import DEFAULT_PG_URL  # noqa: E402
from engine.imports import importer  # noqa: E402
from engine.imports.planning import Options  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from tenants import Settings  # noqa: E402

EXISTING = 5_000


def update_rows(count: int) -> list[list[str]]:
    rows = []
    for n in range(count):
        old = existing(n % EXISTING)
        phone = old["phone"] if n % 2 else f"+86137{n:08d}"
        rows.append([old["name"], phone, old["email"], CITIES[(n + 7) % len(CITIES)], ""])
    return rows


def csv_bytes(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    files = {"mixed": csv_bytes(file_rows(args.rows)), "updates": csv_bytes(update_rows(args.rows))}
    pg = args.backend == "postgresql"
    prefix = f"bio{uuid.uuid4().hex[:6]}_"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=DEFAULT_PG_URL if pg else None,
                            schema_prefix=prefix if pg else "")
        install = Install(settings, Plugins(load_entry_points=False))
        try:
            install.registry.create("bench", "Benchmarks")
            session = install.session("bench")
            session.apply_metadata(DOCUMENT)
            session.records.create_many("party", [existing(n) for n in range(EXISTING)])
            statements = [0]
            event.listen(session.storage.engine, "before_cursor_execute",
                         lambda *a, **k: statements.__setitem__(0, statements[0] + 1))
            out = {"root": str(ROOT), "backend": args.backend, "rows": args.rows}
            for name, data in files.items():
                cpu, counts, totals = [], [], None
                for _ in range(args.runs + 1):  # the first run warms up
                    statements[0] = 0
                    began = time.process_time()
                    result = importer.dry_run(session.records, "party", importer.Source("f.csv", data),
                                              options=Options(key="email", chunk_size=1000))
                    cpu.append(time.process_time() - began)
                    counts.append(statements[0])
                    totals = result.totals
                out[name] = {"cpu_s": round(statistics.median(cpu[1:]), 3), "statements": counts[-1],
                             "totals": {k: totals[k] for k in ("created", "updated", "skipped", "refused")}}
            statements[0] = 0
            began = time.process_time()  # then the real run of the updates, once (it changes the records)
            done = importer.commit(session.records, "party", importer.Source("f.csv", files["updates"]),
                                   options=Options(key="email", chunk_size=1000))
            out["updates_commit"] = {"cpu_s": round(time.process_time() - began, 3), "statements": statements[0],
                                     "updated": done.totals["updated"]}
            print(json.dumps(out))
        finally:
            install.dispose()
            if pg:
                drop_prefixed_schemas(DEFAULT_PG_URL, prefix)


if __name__ == "__main__":
    main()
