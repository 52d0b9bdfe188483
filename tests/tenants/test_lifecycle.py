"""A tenant's lifecycle while real servers run: `loom serve` and gunicorn with two
workers keep serving one install while the CLI deletes a tenant and creates another
under the same slug. The old tenant's tokens, records and metadata die in every
process at once; the new tenant works at once, with no restart."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from engine.cli import cli
from tests.conftest import PG_URL, drop_prefixed_schemas

NOTE = {"name": "note", "fields": [{"name": "title", "type": "string", "required": True}]}
NOTE_V2 = {"name": "note", "fields": [{"name": "title", "type": "string", "required": True},
                                      {"name": "wechat_id", "type": "string"}]}
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            requests.get(url + "/health", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture
def environment(backend, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    env["LOOM_DATA_DIR"] = str(tmp_path / "data")
    if backend == "postgresql":
        env.update(LOOM_DATABASE_URL=PG_URL, LOOM_SCHEMA_PREFIX=f"l{uuid.uuid4().hex[:8]}_")
    yield env
    if backend == "postgresql":
        drop_prefixed_schemas(env["LOOM_SCHEMA_PREFIX"])


@pytest.fixture
def servers(environment, tmp_path):
    """Base URLs of `loom serve` and of gunicorn with two workers on the same install."""
    loom_port, gunicorn_port = _free_port(), _free_port()
    commands = [
        [str(BIN / "loom"), "serve", "--port", str(loom_port)],
        [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{gunicorn_port}", "engine.wsgi:app"],
    ]
    processes = [subprocess.Popen(c, env=environment, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for c in commands]
    urls = [f"http://127.0.0.1:{loom_port}", f"http://127.0.0.1:{gunicorn_port}"]
    try:
        for url, process in zip(urls, processes):
            _wait_until_up(url, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)


def _loom(environment, *args) -> str:
    result = CliRunner().invoke(cli, list(args), env=environment, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _tenant_with_token(environment, tmp_path, entity) -> str:
    document = tmp_path / "document.json"
    document.write_text(json.dumps({"entities": [entity]}))
    _loom(environment, "tenant", "create", "acme")
    _loom(environment, "metadata", "apply", "acme", str(document))
    _loom(environment, "user", "create", "acme", "admin@acme.example", "--role", "admin")
    return _loom(environment, "token", "create", "acme", "admin@acme.example").strip().splitlines()[-1]


def _bearer(token) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_deleted_tenant_dies_in_every_server_process_and_its_slug_serves_the_new_tenant(
        environment, servers, tmp_path):
    old_token = _tenant_with_token(environment, tmp_path, NOTE)
    first = requests.post(servers[0] + "/api/v1/t/acme/records/note", json={"title": "old secret"},
                          headers=_bearer(old_token), timeout=30)
    assert first.status_code == 201, first.text
    paths = ["/records/note", f"/records/note/{first.json()['id']}", "/metadata"]
    for _ in range(6):  # every worker of every server caches the tenant
        for url in servers:
            for path in paths:
                assert requests.get(url + "/api/v1/t/acme" + path, headers=_bearer(old_token),
                                    timeout=30).status_code == 200

    _loom(environment, "tenant", "delete", "acme", "--yes", "--export-dir", str(tmp_path / "exports"))
    new_token = _tenant_with_token(environment, tmp_path, NOTE_V2)

    for _ in range(6):
        for url in servers:
            for path in paths:
                answer = requests.get(url + "/api/v1/t/acme" + path, headers=_bearer(old_token), timeout=30)
                assert answer.status_code == 401, (url, path, answer.text)  # its tenant is gone
            created = requests.post(url + "/api/v1/t/acme/records/note",
                                    json={"title": "new", "wechat_id": "acme-wx"},
                                    headers=_bearer(new_token), timeout=30)
            assert created.status_code == 201, (url, created.text)
            assert created.json()["wechat_id"] == "acme-wx"
            listed = requests.get(url + "/api/v1/t/acme/records/note", headers=_bearer(new_token), timeout=30)
            assert listed.status_code == 200, (url, listed.text)
            assert "old secret" not in listed.text


RULED = {
    "entities": [{"name": "source", "fields": [{"name": "name", "type": "string"}]},
                 {"name": "effect_log", "fields": [{"name": "note", "type": "string"}]}],
    "rulesets": [{"name": "effects", "kind": "automation", "entity": "source", "rules": [
        {"name": "log_each", "when": {"event": "record.created"},
         "actions": [{"action": "create_record",
                      "params": {"entity": "effect_log", "values": {"note": "deleted tenant's rule"}}}]}]}],
}


def test_a_tenant_created_again_under_a_slug_runs_its_own_rules_in_a_running_worker(install):
    from workflows.runtime import runtime_of

    jobs = runtime_of(install).jobs
    install.registry.create("acme")
    install.session("acme").apply_metadata(RULED)
    install.session("acme").records.create("source", {"name": "first"})
    jobs.drain("acme")  # the worker has compiled and published the first tenant's rules
    old_uid = install.registry.require("acme").uid

    install.registry.delete("acme", install.settings.data_dir / "exports")
    install.registry.create("acme")
    assert install.registry.require("acme").uid != old_uid
    again = json.loads(json.dumps(RULED))
    again["rulesets"][0]["rules"][0]["actions"][0]["params"]["values"]["note"] = "new tenant's rule"
    install.session("acme").apply_metadata(again)  # version 1 again, like the deleted tenant's
    install.session("acme").records.create("source", {"name": "second"})
    assert jobs.drain("acme")["done"] == 2
    notes = install.session("acme").records.list("effect_log")
    assert [item["note"] for item in notes["items"]] == ["new tenant's rule"]


def test_tenants_of_an_install_from_before_identities_get_one_each(install):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from tenants import migrations

    storage = install.storage
    table = f"{storage.system_schema}.loom_tenants" if storage.system_schema else "loom_tenants"
    with storage.system_engine.connect() as conn:
        conn = conn.execution_options(loom_write=True)
        with conn.begin():
            storage.ensure_system_schema(conn)
            config = Config()
            config.set_main_option("script_location", str(migrations.HERE / "system"))
            config.attributes.update(connection=conn, schema=storage.system_schema)
            command.upgrade(config, "0001")
            for slug in ("old-one", "old-two"):
                conn.execute(text(f"INSERT INTO {table} (slug, name, status, plugins, created_at) "
                                  "VALUES (:slug, :slug, 'active', '[]', CURRENT_TIMESTAMP)"), {"slug": slug})
    uids = {t.slug: t.uid for t in install.registry.list()}
    assert sorted(uids) == ["old-one", "old-two"]
    assert all(len(uid) == 32 for uid in uids.values()) and len(set(uids.values())) == 2
