"""Many SQLite tenants under a low open-file limit: only the most recently used tenants
keep their database open, so every tenant still answers, through the API and through
`loom worker --once`, in a process that may not open more files than a few tenants need."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

from engine.install import Install
from tenants import Settings
from tests.conftest import token_for

OPEN_FILES = 100  # soft = hard: raising cannot help
TENANTS = 40      # 3 files each when open: far more than the limit allows at once
NOTE = {"entities": [{"name": "note", "fields": [{"name": "title", "type": "string"}]}]}
LOOM = str(Path(sys.executable).parent / "loom")
EVERY_TENANT_ANSWERS = """
import json, sys
from engine.app import create_app
from engine.install import Install

install = Install()
client = create_app(install, {"TESTING": True}).test_client()
answers = {}
for _ in range(2):  # a second round reopens the tenants closed during the first
    for slug, token in json.loads(sys.argv[1]).items():
        got = client.get(f"/api/v1/t/{slug}/records/note", headers={"Authorization": f"Bearer {token}"})
        answers[slug] = [got.status_code, [item["title"] for item in got.get_json().get("items", [])]]
print(json.dumps({"answers": answers, "open": install.storage.open_tenants()}))
"""


def _low_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


def _run(command, env):
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, preexec_fn=_low_limit)


def test_every_tenant_answers_under_a_low_open_file_limit(tmp_path):
    install = Install(Settings(data_dir=tmp_path, sqlite_synchronous="OFF"))  # set-up only: quick
    tokens = {}
    for n in range(TENANTS):
        slug = f"shop-{n:03d}"
        install.registry.create(slug)
        session = install.session(slug)
        session.apply_metadata(NOTE)
        session.records.create("note", {"title": slug})  # an event for the worker, too
        tokens[slug] = token_for(install, slug, "owner@shop.example", "admin")
    install.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    env["LOOM_DATA_DIR"] = str(tmp_path)

    api = _run([sys.executable, "-c", EVERY_TENANT_ANSWERS, json.dumps(tokens)], env)
    assert api.returncode == 0, api.stderr[-3000:]
    report = json.loads(api.stdout)
    assert report["answers"] == {slug: [200, [slug]] for slug in tokens}
    assert report["open"] < TENANTS

    worker = _run([LOOM, "worker", "--once"], env)
    assert worker.returncode == 0, worker.stderr[-3000:]
    summary = json.loads(worker.stdout)
    assert {slug: result["events"]["done"] for slug, result in summary.items()} == {slug: 1 for slug in tokens}


def test_the_least_recently_used_idle_tenant_closes_and_one_in_use_stays_open(tmp_path):
    from sqlalchemy import text

    install = Install(Settings(data_dir=tmp_path, max_open_tenants=2))
    for slug in ("busy", "shop-a", "shop-b", "shop-c"):
        install.registry.create(slug)
    install.dispose()
    install = Install(Settings(data_dir=tmp_path, max_open_tenants=2))
    try:
        busy = install.registry.storage_of("busy")
        with busy.connect() as conn:  # a request still working in the least recently used tenant
            for slug in ("shop-a", "shop-b", "shop-c"):
                with install.registry.storage_of(slug).connect() as other:
                    other.execute(text("select 1"))
            assert conn.execute(text("select count(*) from loom_users")).scalar() == 0
            assert install.storage.open_tenants() == 2  # busy and shop-c: shop-a and shop-b closed
        for slug in ("shop-a", "busy", "shop-b"):  # closed tenants open again on use
            with install.registry.storage_of(slug).connect() as conn:
                assert conn.execute(text("select count(*) from loom_users")).scalar() == 0
            assert install.session(slug).metadata().version == 0
        assert install.storage.open_tenants() == 2
        assert len(install.cache) == 2  # compiled metadata is kept for as many tenants
    finally:
        install.dispose()
