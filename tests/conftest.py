"""Shared fixtures: every storage test runs on SQLite and, when reachable, on the real
PostgreSQL server (LOOM_TEST_DATABASE_URL, default the local one).

Set LOOM_TEST_REQUIRE_POSTGRES=1 (CI does) to turn "PostgreSQL unreachable" from a skip
into a failure."""
from __future__ import annotations

import copy
import json
import os
import uuid
from functools import lru_cache

import pytest
from sqlalchemy import create_engine, text

from engine.auth import create_token, create_user
from engine.install import Install
from engine.plugins import Plugins
from metadata import example_path
from tenants import Settings
from tests import migration_replay, speedups

pytest_plugins = ["tests.tree_guard"]
migration_replay.install()  # empty storage gets recorded revisions replayed (see the module)
speedups.install()  # argon2 at its lowest cost, URL builders compiled on first use


PG_URL = os.environ.get("LOOM_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("LOOM_TEST_REQUIRE_POSTGRES") == "1"


@lru_cache(maxsize=1)
def postgres_problem() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        return f"PostgreSQL not reachable at {PG_URL}: {str(exc).splitlines()[0]}"


def require_postgres() -> None:
    problem = postgres_problem()
    if problem:
        if REQUIRE_PG:
            pytest.fail(problem + " (LOOM_TEST_REQUIRE_POSTGRES=1)")
        pytest.skip(problem)


@lru_cache(maxsize=1)
def cleanup_engine():
    """One engine per worker for dropping tests' schemas (not a new connection per test)."""
    return create_engine(PG_URL, pool_size=1, pool_pre_ping=True)


def drop_prefixed_schemas(prefix: str) -> None:
    with cleanup_engine().begin() as conn:
        names = conn.execute(text(
            "select nspname from pg_namespace where nspname like :p"), {"p": prefix + "%"}).scalars().all()
        if names:
            conn.execute(text("DROP SCHEMA " + ", ".join(f'"{name}"' for name in names) + " CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request) -> str:
    if request.param == "postgresql":
        require_postgres()
    return request.param


def make_settings(backend: str, tmp_path) -> Settings:
    if backend == "postgresql":
        return Settings(data_dir=tmp_path, database_url=PG_URL,
                        schema_prefix=f"t{uuid.uuid4().hex[:8]}_")
    return Settings(data_dir=tmp_path)


@pytest.fixture
def settings(backend, tmp_path):
    settings = make_settings(backend, tmp_path)
    yield settings
    if settings.database_url:
        drop_prefixed_schemas(settings.schema_prefix)


@pytest.fixture
def plugins() -> Plugins:
    """Plugins registered by a test (`plugins.pm.register(...)`); none from entry points."""
    return Plugins(load_entry_points=False)


@pytest.fixture
def install(settings, plugins):
    install = Install(settings, plugins)
    yield install
    install.dispose()


def crm_document() -> dict:
    """The foundation issue's example document (a fresh copy to edit)."""
    with open(example_path("crm_minimal"), encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture
def crm_doc() -> dict:
    return copy.deepcopy(crm_document())


@pytest.fixture
def acme(install):
    """Tenant `acme` with the example document applied; returns its system session."""
    install.registry.create("acme", "Acme Retail")
    session = install.session("acme")
    session.apply_metadata(crm_document())
    return session


def token_for(install, slug: str, email: str, role: str = "member") -> str:
    storage = install.session(slug).storage
    create_user(storage, email, role)
    return create_token(storage, email)


@pytest.fixture
def app(install):
    from engine.app import create_app

    return create_app(install, {"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()
