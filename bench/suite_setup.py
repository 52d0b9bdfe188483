"""What one test's set-up costs, with and without the test suite's speed-ups
(tests/migration_replay.py, tests/speedups.py): CPU of this process per test, and wall.

    python bench/suite_setup.py [--runs 8]

1. The chain most storage tests make: an install, its system tables, tenant `acme`, the
   example document applied, then the install disposed and (PostgreSQL) its schemas
   dropped — revisions by Alembic vs replayed. On both backends.
2. `create_app` with werkzeug's URL builders compiled eagerly vs on first use.
3. A password hashed and verified with argon2-cffi's defaults vs the tests' lowest cost.
4. The chain of 1 (replayed), its PostgreSQL connections committing with the server's WAL
   flush vs with `synchronous_commit=off`, and its SQLite files on the disk's /tmp vs the
   tmpfs /dev/shm (tests/conftest.py).
Figures are ratios (with / without) beside the times; CPU is this process only (the
PostgreSQL server's work shows in wall time)."""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from werkzeug.routing.rules import Rule  # noqa: E402

EAGER_BUILDERS = Rule._compile_builder  # before tests.conftest makes them lazy

import tests.conftest as fixtures  # noqa: E402
from engine.app import create_app  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from tests import migration_replay  # noqa: E402

LAZY_BUILDERS = Rule._compile_builder


def measure(runs, work) -> tuple[float, float]:
    """(CPU ms, wall ms) per run of `work`."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(runs):
        work()
    return (time.process_time() - cpu) / runs * 1000, (time.perf_counter() - wall) / runs * 1000


def tenant_chain(backend, folder=None, url=None):
    settings = fixtures.make_settings(backend, Path(tempfile.mkdtemp(dir=folder)))
    if url is not None and settings.database_url:
        settings = replace(settings, database_url=url)
    install = Install(settings, Plugins(load_entry_points=False))
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(fixtures.crm_document())
    install.dispose()
    if settings.database_url:
        fixtures.drop_prefixed_schemas(settings.schema_prefix)


def flushing_url() -> str:
    """The tests' PostgreSQL URL without its connection options (commits wait for the flush)."""
    return make_url(fixtures.PG_URL).difference_update_query(["options"]).render_as_string(hide_password=False)


def row(name, without, with_):
    print(f"| {name} | {without[0]:.0f} / {without[1]:.0f} ms | {with_[0]:.0f} / {with_[1]:.0f} ms "
          f"| {with_[0] / without[0]:.2f}x / {with_[1] / without[1]:.2f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    runs = parser.parse_args().runs
    print("| set-up, per test | without (CPU / wall) | with (CPU / wall) | with / without |")
    print("| --- | --- | --- | --- |")
    for backend in ("sqlite", "postgresql"):
        if backend == "postgresql" and fixtures.postgres_problem():
            print(f"| {backend}: skipped ({fixtures.postgres_problem()}) | | | |")
            continue
        tenant_chain(backend)  # the worker's first: recorded
        migration_replay.REAL = True
        alembic = measure(runs, lambda: tenant_chain(backend))
        migration_replay.REAL = False
        replayed = measure(runs, lambda: tenant_chain(backend))
        row(f"install + tenant + document, {backend}", alembic, replayed)
        if backend == "postgresql":
            flushed = measure(runs, lambda: tenant_chain(backend, url=flushing_url()))
            unflushed = measure(runs, lambda: tenant_chain(backend))
            row("the same, PostgreSQL: WAL flush at commit vs `synchronous_commit=off`", flushed, unflushed)
        else:
            on_disk = measure(runs, lambda: tenant_chain(backend, folder="/tmp"))
            on_tmpfs = measure(runs, lambda: tenant_chain(backend, folder="/dev/shm"))
            row("the same, SQLite: files in /tmp (disk) vs /dev/shm (tmpfs)", on_disk, on_tmpfs)
    install = Install(fixtures.make_settings("sqlite", Path(tempfile.mkdtemp())), Plugins())
    create_app(install, {"TESTING": True})  # imports done
    Rule._compile_builder = EAGER_BUILDERS
    eager = measure(runs, lambda: create_app(install, {"TESTING": True}))
    Rule._compile_builder = LAZY_BUILDERS
    lazy = measure(runs, lambda: create_app(install, {"TESTING": True}))
    row("`create_app` (all plugins)", eager, lazy)
    install.dispose()

    def hash_and_verify(hasher):
        return lambda: hasher.verify(hasher.hash("correct-horse-1"), "correct-horse-1")

    full = measure(runs, hash_and_verify(PasswordHasher()))
    light = measure(runs, hash_and_verify(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)))
    row("argon2id hash + verify", full, light)


if __name__ == "__main__":
    main()
