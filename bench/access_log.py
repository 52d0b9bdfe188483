"""The access log's cost (issue 12): a list page of records holding personal data, read
by a member (masked, and its 50 reads written to the access log) against the same page
with the access log switched off for the bench; and sealing the logs' hash chains.

    python bench/access_log.py [--backend sqlite|postgresql|both] [--scale 1.0]

1. `records.list` of 50 contacts (an e-mail field holding personal data) out of 5,000, as
   a member: with the access log (one INSERT of 50 rows in a transaction of its own
   beside the read) vs without (`_accessed` replaced by a no-op here). Interleaved.
   Target: with <= 1.2x without.
2. Sealing: `chain.seal` of the audit rows of 5,000 created records (per row), for
   reference; the write path itself does no chain work (rows are sealed afterwards).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (Row, add_backend_options, environment_lines, fmt_ms, log, median,  # noqa: E402
                          run_backends)
from engine import auth  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from engine.records import chain  # noqa: E402
from engine.records.service import RecordService  # noqa: E402
from tenants import Settings  # noqa: E402
from tests.conftest import crm_document  # noqa: E402


class AccessLogBench:
    def __init__(self, backend, args, tmp, prefix):
        self.backend, self.args, self.rows = backend, args, []
        settings = (Settings(data_dir=tmp / backend, database_url=args.database_url, schema_prefix=prefix)
                    if backend == "postgresql" else Settings(data_dir=tmp / backend))
        self.install = Install(settings, Plugins(load_entry_points=False))

    def close(self):
        self.install.dispose()

    def run(self):
        install, count = self.install, max(100, int(5000 * self.args.scale))
        install.registry.create("bench", "Bench")
        system = install.session("bench")
        system.apply_metadata(crm_document())
        system.records.create_many("contact", [{"full_name": f"Person {n}", "email": f"p{n}@example.com"}
                                               for n in range(count)])
        auth.create_user(system.storage, "member@example.com", "member")
        member = next(a for a in auth.list_users(system.storage) if a.email == "member@example.com")
        session = install.session("bench", member)
        params = [("limit", "50"), ("sort", "-id")]
        logged, unlogged = [], []
        accessed = RecordService._accessed
        for _ in range(int(self.args.pages)):
            for sink, off in ((logged, False), (unlogged, True)):
                if off:
                    RecordService._accessed = lambda *a, **k: None
                started = time.perf_counter()
                page = session.records.list("contact", params)
                sink.append(time.perf_counter() - started)
                RecordService._accessed = accessed
                assert "***@" in page["items"][0]["email"]
        ratio = median(logged) / median(unlogged)
        print(f"{self.backend}: list page with the access log / without = {ratio:.2f}", file=sys.stderr)
        self.rows.append(Row(self.backend, "list page of 50 as a member: with / without the access log",
                             fmt_ms(median(logged)), fmt_ms(median(unlogged)), ratio, "<= 1.2x", ratio <= 1.2))
        started = time.perf_counter()
        sealed = chain.seal(system.storage, "audit") + chain.seal(system.storage, "access")
        took = time.perf_counter() - started
        log(f"sealed {sealed} rows in {took:.2f} s")
        self.rows.append(Row(self.backend, f"sealing {sealed:,} log rows (per row)", fmt_ms(took / sealed), "—",
                             None, "—", None))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_backend_options(parser, "multiplies the 5,000 contacts")
    parser.add_argument("--pages", default=200, type=int, help="list pages read each way")
    args = parser.parse_args()
    return run_backends(args, AccessLogBench, environment_lines, "loom-bench-access-", "ba")


if __name__ == "__main__":
    sys.exit(main())
