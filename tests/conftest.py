"""Shared fixtures: every storage test runs on SQLite and, when reachable, on the real
PostgreSQL server (LOOM_TEST_DATABASE_URL, default the local one).

Set LOOM_TEST_REQUIRE_POSTGRES=1 (CI does) to turn "PostgreSQL unreachable" from a skip
into a failure.

Durability the tests do not need is turned off, for the tests only: the tests' PostgreSQL
connections commit without waiting for the server's WAL flush (`synchronous_commit=off`
in the URL's connection options: a commit is still atomic and visible to every other
connection at once, it would only be lost if the server crashed), and the tests' temporary
folders (their SQLite files) are on the tmpfs /dev/shm when it has room (LOOM_TEST_TMPDIR
names another folder; an empty value keeps the system's).

Property tests run without Hypothesis's per-example deadline: a deadline is a timing
assertion, and on two shared cores a slow example says nothing about the code."""
from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import uuid
from functools import lru_cache

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine.auth import create_token, create_user
from engine.install import Install
from engine.plugins import Plugins
from metadata import example_path
from tenants import Settings
from tests import migration_replay, speedups

pytest_plugins = ["tests.tree_guard"]
migration_replay.install()  # empty storage gets recorded revisions replayed (see the module)
speedups.install()  # argon2 at its lowest cost, URL builders compiled on first use
hypothesis_settings.register_profile("loom", deadline=None)
hypothesis_settings.load_profile("loom")


def without_commit_flush(url: str) -> str:
    """`url` whose connections set `synchronous_commit=off` (unless it sets options itself)."""
    parsed = make_url(url)
    if "options" in parsed.query:
        return url
    return parsed.update_query_dict({"options": "-c synchronous_commit=off"}).render_as_string(hide_password=False)


def temporary_root() -> str | None:
    """Where the tests' temporary folders go: LOOM_TEST_TMPDIR, else /dev/shm with 4 GiB free."""
    chosen = os.environ.get("LOOM_TEST_TMPDIR")
    if chosen is not None:
        return chosen or None
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 4 << 30:
        return shm
    return None


PG_URL = without_commit_flush(
    os.environ.get("LOOM_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
tempfile.tempdir = temporary_root() or tempfile.tempdir  # read by pytest for its base folder
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
