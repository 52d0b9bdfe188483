"""A new tenant's Loom tables come from the recorded SQL of the revisions
(tenants/migrations/recorded.py): the recording is the one the revisions make now, it
makes exactly what Alembic makes, and anything else — a stale recording, a storage that
holds tables — runs Alembic. On SQLite and PostgreSQL."""
from __future__ import annotations

import shutil

import pytest
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from tenants import migrations
from tenants.migrations import recorded, recording
from tests import migration_replay
from tests.conftest import PG_URL
from tests.tenants.test_migration_replay import structure

STALE = "the recorded head is stale: run scripts/record-migrations and commit tenants/migrations/tenant/head.*.json"


@pytest.fixture
def replays(monkeypatch):
    """How many times the production recording was replayed (the real replay runs)."""
    calls = []
    real = recorded.replay

    def counting(connection, recording, schema):
        calls.append(schema)
        return real(connection, recording, schema)

    monkeypatch.setattr(recorded, "replay", counting)
    return calls


@pytest.fixture
def alembic_only(monkeypatch):
    """Every migration below runs Alembic: no recording, the tests' own replay off."""
    monkeypatch.setattr(recorded, "load", lambda tree, dialect: None)
    monkeypatch.setattr(migration_replay, "REAL", True)


def test_the_committed_recording_is_what_the_revisions_send_now(backend):
    """Adding or editing a revision without recording again fails here."""
    committed = recorded.load("tenant", backend)
    assert committed is not None, STALE
    fresh = recording.record_sqlite("tenant") if backend == "sqlite" else recording.record_postgresql("tenant", PG_URL)
    assert fresh.digest == committed.digest, STALE
    assert fresh.statements == committed.statements, STALE
    assert fresh.to_json() == recorded.path("tenant", backend).read_text(encoding="utf-8"), STALE


def test_a_new_tenant_gets_the_recording_and_it_makes_what_alembic_makes(install, replays, monkeypatch):
    registry = install.registry
    registry.create("replayed")
    assert len(replays) == 1
    replayed = registry.storage_of("replayed")
    assert migrations.current(replayed.engine, replayed.schema) == migrations.heads("tenant")

    monkeypatch.setattr(recorded, "load", lambda tree, dialect: None)
    monkeypatch.setattr(migration_replay, "REAL", True)
    registry.create("alembic")
    assert len(replays) == 1
    alembic = registry.storage_of("alembic")
    made = structure(replayed.engine, replayed.schema)
    assert made == structure(alembic.engine, alembic.schema)
    assert "loom_import_runs" in made


def test_a_stale_recording_is_not_used(install, replays, tmp_path, monkeypatch):
    """A revision edited (or added) after the recording: the digest no longer matches, so
    the new tenant runs Alembic and is at head all the same."""
    tree = tmp_path / "migrations"
    shutil.copytree(migrations.HERE, tree, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrations, "HERE", tree)
    monkeypatch.setattr(migration_replay, "REAL", True)
    assert recorded.load("tenant", install.settings.backend) is not None  # the copy is current
    last = sorted((tree / "tenant" / "versions").glob("0*.py"))[-1]
    last.write_text(last.read_text(encoding="utf-8") + "\n# edited after the recording\n", encoding="utf-8")
    assert recorded.load("tenant", install.settings.backend) is None
    install.registry.create("edited")
    assert replays == []
    storage = install.registry.storage_of("edited")
    assert migrations.current(storage.engine, storage.schema) == migrations.heads("tenant")


def test_a_storage_holding_tables_runs_alembic(install, replays, alembic_only, monkeypatch):
    """Only an EMPTY storage gets the recording: one at an older revision is migrated by
    Alembic from where it is (its rows kept)."""
    registry = install.registry
    registry.create("older")
    storage = registry.storage_of("older")
    with storage.migration() as conn:
        config = Config()
        config.set_main_option("script_location", str(migrations.HERE / "tenant"))
        config.attributes["connection"] = conn
        config.attributes["schema"] = storage.schema
        command.downgrade(config, "0003")
    assert migrations.current(storage.engine, storage.schema) == "0003"
    monkeypatch.undo()  # the committed recording is available again
    assert recorded.load("tenant", install.settings.backend) is not None
    with storage.migration() as conn:
        assert recorded.create(conn, "tenant", storage.schema) is False
    assert replays == []
    assert migrations.current(storage.engine, storage.schema) == migrations.heads("tenant")


@hsettings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(slug=st.from_regex(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", fullmatch=True))
def test_any_slug_gets_the_tables_at_head(install, replays, slug):
    """The schema name put in the recording is the tenant's, whatever its slug."""
    if install.registry.get(slug) is not None:
        return
    install.registry.create(slug)
    storage = install.registry.storage_of(slug)
    assert replays[-1] == storage.schema
    assert migrations.current(storage.engine, storage.schema) == migrations.heads("tenant")
    made = structure(storage.engine, storage.schema)
    assert "loom_users" in made and "loom_alembic_version" in made
