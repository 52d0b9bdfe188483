"""What encryption at rest costs a single create and a single get, on SQLite and PostgreSQL.

    python bench/crypto.py [--backend sqlite|postgresql|both] [--count 500] [--rounds 5]

Two tenants with the same entity — a name, an 18-digit ID number (unique), a text and a date
— one with the last three fields `"pii": "identity"`/`"sensitive"` (encrypted, with a keyed
hash beside each), one with `"pii": true` (clear text). Each round writes `--count` records
through `records.create` in each tenant and reads each back with `records.get`, the order of
the tenants alternating from round to round. Medians per operation and the ratio
encrypted / clear, on stdout as a markdown table; the temporary files and PostgreSQL
schemas are removed. A master key is made for the run."""
from __future__ import annotations

import argparse
import base64
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import fmt_ms, log, median  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from tests.conftest import drop_prefixed_schemas, make_settings  # noqa: E402


def document(encrypted: bool) -> dict:
    def pii(cls):
        return cls if encrypted else True

    return {"entities": [{"name": "customer", "fields": [
        {"name": "name", "type": "string", "pii": True},
        {"name": "id_number", "type": "string", "max_length": 18, "unique": True, "pii": pii("identity")},
        {"name": "diagnosis", "type": "text", "pii": pii("sensitive")},
        {"name": "born", "type": "date", "pii": pii("identity")}]}]}


def record(i: int) -> dict:
    return {"name": f"王伟{i}", "id_number": f"11010119900307{i:04d}", "diagnosis": f"哮喘, visit {i}",
            "born": "1990-03-07"}


def run(backend: str, count: int, rounds: int) -> list[tuple[str, str, str, str]]:
    folder = Path(tempfile.mkdtemp(prefix="loom-crypto-bench-"))
    settings = make_settings(backend, folder)
    install = Install(settings, Plugins(load_entry_points=False))
    try:
        for slug, encrypted in (("clear", False), ("sealed", True)):
            install.registry.create(slug)
            install.session(slug).apply_metadata(document(encrypted))
        times = {(slug, op): [] for slug in ("clear", "sealed") for op in ("create", "get")}
        for r in range(rounds):
            for slug in (("clear", "sealed") if r % 2 == 0 else ("sealed", "clear")):
                records = install.session(slug).records
                ids = []
                for i in range(count):
                    start = time.perf_counter()
                    ids.append(records.create("customer", record(r * count + i))["id"])
                    times[(slug, "create")].append(time.perf_counter() - start)
                for record_id in ids:
                    start = time.perf_counter()
                    records.get("customer", record_id)
                    times[(slug, "get")].append(time.perf_counter() - start)
            log(f"{backend}: round {r + 1}/{rounds}")
        rows = []
        for op in ("create", "get"):
            clear, sealed = median(times[("clear", op)]), median(times[("sealed", op)])
            rows.append((f"{backend} {op}", fmt_ms(clear), fmt_ms(sealed), f"{sealed / clear:.2f}x"))
        return rows
    finally:
        install.dispose()
        if settings.database_url:
            drop_prefixed_schemas(settings.schema_prefix)
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ["LOOM_MASTER_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    os.environ.pop("LOOM_MASTER_KEY_FILE", None)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    rows = [row for backend in backends for row in run(backend, args.count, args.rounds)]
    print("| operation | clear text (median) | encrypted (median) | encrypted / clear |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
