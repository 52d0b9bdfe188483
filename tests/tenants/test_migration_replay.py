"""The test suite's replayed revisions (tests/migration_replay.py) make exactly what
Alembic makes: same tables, columns, keys, indexes, constraints and rows, on both backends.
(A new tenant's tables come from Loom's own recording: tests/tenants/test_recorded_head.py.)"""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import MetaData, inspect, select

from engine.install import Install
from tests import migration_replay
from tests.conftest import drop_prefixed_schemas


def structure(engine, schema):
    """Everything the inspector says about the schema's tables, and their rows, with the
    schema's own name taken out (PostgreSQL sequence defaults carry it)."""
    with engine.connect() as conn:
        inspector = inspect(conn)
        found = {}
        for name in sorted(inspector.get_table_names(schema=schema)):
            found[name] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"), c.get("autoincrement"))
                            for c in inspector.get_columns(name, schema=schema)],
                "pk": inspector.get_pk_constraint(name, schema=schema),
                "fks": sorted(map(repr, inspector.get_foreign_keys(name, schema=schema))),
                "indexes": sorted(map(repr, inspector.get_indexes(name, schema=schema))),
                "unique": sorted(map(repr, inspector.get_unique_constraints(name, schema=schema))),
                "checks": sorted(map(repr, inspector.get_check_constraints(name, schema=schema))),
            }
        meta = MetaData()
        meta.reflect(conn, schema=schema)
        rows = {t.name: [tuple(r) for r in conn.execute(select(t))] for t in meta.sorted_tables}
    text = repr((found, rows))
    return text.replace(schema, "<schema>") if schema else text


@pytest.fixture(autouse=True)
def replaying():
    if migration_replay.REAL:
        pytest.skip("LOOM_TEST_REAL_MIGRATIONS=1: nothing is replayed")


def test_replayed_system_tables_match_alembic(settings, plugins, monkeypatch):
    def system_tables(suffix):
        """A new install's system tables (a fresh prefix on PostgreSQL, folder on SQLite)."""
        other = replace(settings, data_dir=settings.data_dir / suffix,
                        schema_prefix=settings.schema_prefix and settings.schema_prefix[:-1] + suffix + "_")
        made = Install(other, plugins)
        try:
            made.registry.ensure_ready()
            return structure(made.registry.storage.system_engine, made.registry.storage.system_schema)
        finally:
            made.dispose()
            if other.database_url:
                drop_prefixed_schemas(other.schema_prefix)

    system_tables("w")  # the worker's first empty system storage may be the one recorded
    before = dict(migration_replay.stats)
    replayed = system_tables("r")
    assert migration_replay.stats["replayed"] == before["replayed"] + 1
    monkeypatch.setattr(migration_replay, "REAL", True)
    assert replayed == system_tables("a")
    assert "loom_tenants" in replayed
