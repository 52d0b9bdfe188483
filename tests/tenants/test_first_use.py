"""The first use of a fresh PostgreSQL install by several processes and threads at once:
everyone finds the install set up, no one fails."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from engine.install import Install
from tenants import Settings
from tests.conftest import PG_URL, drop_prefixed_schemas, require_postgres

LOOM = str(Path(sys.executable).parent / "loom")


@pytest.fixture
def fresh_prefix():
    require_postgres()
    prefix = f"f{uuid.uuid4().hex[:8]}_"
    yield prefix
    drop_prefixed_schemas(prefix)


@pytest.mark.postgres
def test_six_first_commands_at_once_on_a_fresh_install_all_succeed(fresh_prefix, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    env.update(LOOM_DATABASE_URL=PG_URL, LOOM_SCHEMA_PREFIX=fresh_prefix, LOOM_DATA_DIR=str(tmp_path))
    processes = [subprocess.Popen([LOOM, "tenant", "list"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(6)]
    results = [(p.wait(timeout=120), p.stdout.read().decode(), p.stderr.read().decode()) for p in processes]
    assert [code for code, _, _ in results] == [0] * 6, [err for _, _, err in results]
    assert all(out.strip() == "no tenants" for _, out, _ in results)


@pytest.mark.postgres
def test_threads_of_separate_installs_set_up_one_fresh_install_together(fresh_prefix, tmp_path):
    installs = [Install(Settings(data_dir=tmp_path, database_url=PG_URL, schema_prefix=fresh_prefix))
                for _ in range(6)]
    start, failures = threading.Barrier(len(installs)), []

    def first_use(install):
        start.wait()
        try:
            install.registry.list()
        except Exception as exc:  # collected: the assertion below names them
            failures.append(exc)

    threads = [threading.Thread(target=first_use, args=(i,)) for i in installs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for install in installs:
        install.dispose()
    assert failures == []
