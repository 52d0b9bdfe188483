"""Requests in flight while an admin changes metadata, on SQLite and PostgreSQL: each is
served under one metadata version (retried once under the new one when the version moved
under it) or refused with a retryable 503 `metadata_changed` — never a 500, never a record
written under a version that is no longer current."""
import copy
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.install import Install
from engine.records.pinning import MetadataChanged, exclude_writers, held
from engine.systables import loom_table
from engine.records.service import RecordService
from tests.conftest import crm_document, token_for

ROOT = Path(__file__).resolve().parents[2]

BASE = "/api/v1/t/acme"
HOT = {"name": "hot", "type": "boolean", "default": True}


def with_hot() -> dict:
    document = copy.deepcopy(crm_document())
    next(e for e in document["entities"] if e["name"] == "contact")["fields"].append(HOT)
    return document


@pytest.fixture
def tenant(install):
    install.registry.create("acme", "Acme Retail")
    session = install.session("acme")
    session.apply_metadata(with_hot())  # version 1: contact has `hot`
    admin = {"Authorization": f"Bearer {token_for(install, 'acme', 'admin@acme.example', 'admin')}"}
    member = {"Authorization": f"Bearer {token_for(install, 'acme', 'member@acme.example')}"}
    return session, admin, member


# -- one stale request, step by step -------------------------------------------------------------

def test_a_write_prepared_under_an_old_version_is_retried_under_the_new_one(install, tenant):
    session, _, _ = tenant
    stale = install.session("acme")
    service = stale.records  # compiled while contact still has `hot`
    assert service.metadata.version == 1
    install.session("acme").apply_metadata(crm_document(), allow_drop=True)  # version 2 drops it

    created = service.create("contact", {"full_name": "Ann Lee"})
    assert "hot" not in created
    assert service.metadata.version == 2 and stale.metadata().version == 2
    assert install.session("acme").records.get("contact", created["id"])["full_name"] == "Ann Lee"


def test_a_write_prepared_before_a_field_was_added_gets_the_field_default(install, tenant):
    """Otherwise the record would miss the default every record had when it was written."""
    session, _, _ = tenant
    install.session("acme").apply_metadata(crm_document(), allow_drop=True)  # version 2: no `hot`
    stale = install.session("acme")
    service = stale.records
    install.session("acme").rollback_metadata(1)  # version 3: `hot` again, default true

    created = service.create("contact", {"full_name": "Ben Ito"})
    assert created["hot"] is True
    updated = service.update("contact", created["id"], {"phone": "+4930123456"})
    assert updated["hot"] is True and updated["version"] == 2


def test_reads_prepared_under_an_old_version_are_answered_under_the_new_one(install, tenant):
    session, _, _ = tenant
    record = session.records.create("contact", {"full_name": "Cleo Park"})
    stale = install.session("acme")
    service = stale.records
    install.session("acme").apply_metadata(crm_document(), allow_drop=True)

    assert "hot" not in service.get("contact", record["id"])
    assert [r["full_name"] for r in service.list("contact")["items"]] == ["Cleo Park"]


def test_an_operation_whose_version_moves_again_is_refused_with_503_and_writes_nothing(install, tenant):
    session, _, _ = tenant
    stale = session.metadata()  # version 1
    install.session("acme").apply_metadata(crm_document(), allow_drop=True)
    again_stale = RecordService(session.storage, stale, session.records.hooks, renew=lambda: stale)

    for operation in (lambda: again_stale.create("contact", {"full_name": "Dan Wu"}),
                      lambda: again_stale.create_many("contact", [{"full_name": "Eve Ng"}]),
                      lambda: again_stale.list("contact")):
        with pytest.raises(MetadataChanged) as refused:
            operation()
        assert (refused.value.status, refused.value.code, refused.value.retry_after) == (503, "metadata_changed", 1)
    assert install.session("acme").records.list("contact")["items"] == []


def test_a_state_change_prepared_under_an_old_version_is_refused_not_retried(install, tenant):
    """The caller chose the transition under the old workflow, which may no longer have it."""
    document = with_hot()
    document["entities"].append({"name": "ticket", "fields": [
        {"name": "title", "type": "string"}, {"name": "status", "type": "choice", "options": ["new", "done"]}]})
    document["workflows"] = [{"name": "flow", "entity": "ticket", "field": "status", "initial": "new",
                              "states": [{"name": "new", "category": "open"}, {"name": "done", "category": "done"}],
                              "transitions": [{"name": "finish", "from": ["new"], "to": "done"}]}]
    install.session("acme").apply_metadata(document)
    ticket = install.session("acme").records.create("ticket", {"title": "Broken tap"})
    stale = install.session("acme").records
    without_hot = {"entities": crm_document()["entities"] + document["entities"][-1:],
                   "workflows": document["workflows"]}
    install.session("acme").apply_metadata(without_hot, allow_drop=True)

    with pytest.raises(MetadataChanged):
        stale.write_state("ticket", ticket["id"], "done")
    assert install.session("acme").records.get("ticket", ticket["id"])["status"] == "new"


def test_the_api_answers_metadata_changed_with_503_and_retry_after(app):
    @app.get("/moved-twice")
    def moved_twice():
        raise MetadataChanged()

    response = app.test_client().get("/moved-twice")
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert response.get_json()["error"]["code"] == "metadata_changed"


# -- many requests while metadata changes ---------------------------------------------------------

def test_requests_while_metadata_is_applied_and_rolled_back_never_answer_500(install, app, tenant):
    """Writers (POST, PATCH) and readers (list, one) run while the admin drops `hot` and
    rolls back to the version with it, three times: every answer is 2xx or the retryable
    503, and every record written is complete (it has `hot` once `hot` is back)."""
    session, admin, member = tenant
    seed = [session.records.create("contact", {"full_name": f"Seed {i}"})["id"] for i in range(3)]
    done = threading.Event()
    answers, created, failures = [], [], []

    def run(work):
        client = app.test_client()
        try:
            for n in range(60):
                if done.is_set() and n >= 10:
                    return
                response = work(client, n)
                answers.append((response.status_code, response.get_json(), response.headers.get("Retry-After")))
        except Exception as exc:  # an exception here must fail the test, not vanish with the thread
            failures.append(exc)
            raise

    def post(client, n):
        name = f"Writer {threading.get_ident()} {n}"
        response = client.post(f"{BASE}/records/contact", json={"full_name": name}, headers=member)
        if response.status_code == 201:
            created.append((response.get_json()["id"], name))
        return response

    def patch(client, n):
        return client.patch(f"{BASE}/records/contact/{seed[n % 3]}", json={"phone": f"+49301234{n:03d}"},
                            headers=admin)

    def list_(client, n):
        return client.get(f"{BASE}/records/contact?limit=20&sort=-id", headers=member)

    def get_one(client, n):
        return client.get(f"{BASE}/records/contact/{seed[n % 3]}", headers=member)

    threads = [threading.Thread(target=run, args=(work,)) for work in (post, post, patch, list_, get_one)]
    for thread in threads:
        thread.start()
    client = app.test_client()
    try:
        for _ in range(3):
            dropped = client.put(f"{BASE}/metadata?allow_drop=true", json=crm_document(), headers=admin)
            assert dropped.status_code == 200, dropped.get_json()
            restored = client.post(f"{BASE}/metadata/rollback/1", headers=admin)
            assert restored.status_code == 200, restored.get_json()
    finally:
        done.set()
        for thread in threads:
            thread.join()

    assert not failures
    wrong = [(status, body) for status, body, retry_after in answers
             if not (200 <= status < 300 or (status == 503 and body["error"]["code"] == "metadata_changed"
                                             and retry_after == "1"))]
    assert wrong == []
    assert created
    final = install.session("acme").records
    assert final.metadata.version == 7
    for record_id, name in created:
        record = final.get("contact", record_id)
        assert record["full_name"] == name and record["hot"] is not None, record


# -- a real server ------------------------------------------------------------------------------------

def call(port, method, path, headers, body=None):
    """(status, JSON body, Retry-After) of one HTTP request to the server on `port`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        data = json.dumps(body) if body is not None else None
        connection.request(method, BASE + path, body=data, headers={**headers, "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null"), response.getheader("Retry-After")
    finally:
        connection.close()


@pytest.fixture
def server(settings, tmp_path):
    """`loom serve` on a free port over `settings`, with tenant acme (contact has `hot`):
    (port, admin headers, member headers, the server's log file)."""
    install = Install(settings)
    install.registry.create("acme", "Acme Retail")
    install.session("acme").apply_metadata(with_hot())
    admin = {"Authorization": f"Bearer {token_for(install, 'acme', 'admin@acme.example', 'admin')}"}
    member = {"Authorization": f"Bearer {token_for(install, 'acme', 'member@acme.example')}"}
    install.dispose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    env["LOOM_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        env.update(LOOM_DATABASE_URL=settings.database_url, LOOM_SCHEMA_PREFIX=settings.schema_prefix)
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--port", str(port)],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/health")
                break
            except OSError:
                process.poll()
                assert process.returncode is None, log.read_text()
                threading.Event().wait(0.1)
        yield port, admin, member, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_loom_serve_answers_no_500_while_metadata_changes(settings, server):
    port, admin, member, log = server
    done = threading.Event()
    answers, created = [], []

    def write(n):
        name = f"Served {threading.get_ident()} {n}"
        answer = call(port, "POST", "/records/contact", member, {"full_name": name})
        if answer[0] == 201:
            created.append((answer[1]["id"], name))
        return answer

    def read(n):
        return call(port, "GET", "/records/contact?limit=10&sort=-id", member)

    def run(work):
        for n in range(40):
            if done.is_set() and n >= 5:
                return
            answers.append(work(n))

    threads = [threading.Thread(target=run, args=(work,)) for work in (write, write, read)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(2):
            assert call(port, "PUT", "/metadata?allow_drop=true", admin, crm_document())[0] == 200
            assert call(port, "POST", "/metadata/rollback/1", admin)[0] == 200
    finally:
        done.set()
        for thread in threads:
            thread.join()

    wrong = [(status, body) for status, body, retry_after in answers
             if not (200 <= status < 300 or (status == 503 and body["error"]["code"] == "metadata_changed"
                                             and retry_after == "1"))]
    assert wrong == [] and created
    assert "unhandled error" not in log.read_text()
    for record_id, name in created:
        status, record, _ = call(port, "GET", f"/records/contact/{record_id}", member)
        assert status == 200 and record["full_name"] == name and record["hot"] is not None, record


# -- the write's transaction ---------------------------------------------------------------------

def _no_write_holds_the_version(storage) -> bool:
    """A migration could take the version lock now (on PostgreSQL: within 5 s, else an error)."""
    with storage.migration() as conn:
        if storage.dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
        exclude_writers(conn, storage.schema)
    return True


def test_a_write_transaction_holds_the_version_and_commits_or_rolls_back_whole(install, tenant):
    """A write's first round trip begins it, takes the version lock in shared mode and reads the
    version; what it wrote commits with it or rolls back with it (an error, a moved version), the
    lock goes with it, and the connection serves the next write."""
    session, _, _ = tenant
    storage, version = session.storage, session.metadata().version
    timers = loom_table(storage.schema, "loom_sla_timers")
    now = datetime.now(timezone.utc)
    row = {"entity": "contact", "record_id": 1, "state": "new", "started_at": now,
           "due_at": now, "status": "running"}

    with pytest.raises(RuntimeError):
        with held(storage, version) as conn:
            if storage.dialect == "postgresql":
                assert conn.exec_driver_sql("SELECT mode FROM pg_locks WHERE locktype = 'advisory' "
                                            "AND pid = pg_backend_pid()").scalars().all() == ["ShareLock"]
            conn.execute(timers.insert().values({**row, "timer": "refused"}))
            raise RuntimeError("a hook refused the write")
    with pytest.raises(MetadataChanged):
        with held(storage, version + 1) as conn:
            conn.execute(timers.insert().values({**row, "timer": "stale"}))
    assert _no_write_holds_the_version(storage)
    with held(storage, version) as conn:
        conn.execute(timers.insert().values({**row, "timer": "kept"}))
    assert _no_write_holds_the_version(storage)
    with storage.connect() as conn:
        assert conn.execute(select(timers.c.timer)).scalars().all() == ["kept"]
