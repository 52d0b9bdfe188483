"""Background jobs (`engine.background`) as specifications, on SQLite and PostgreSQL:
parameters checked before a job exists, the job run through the queue with its progress
and result, failures kept as messages, readers limited to the creator and admins, and a
job whose worker died resumed from its checkpoint by the minute tick — no item twice,
none lost."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from engine import background
from engine.systables import loom_table
from tenants import Settings
from tests.conftest import make_settings, token_for
from tests.workflows.jobkinds import WorkerDied
from workflows.runtime import runtime_of

BASE = "/api/v1/t/acme"
DOC = {"entities": [{"name": "note", "fields": [{"name": "text", "type": "string"}]}]}


@pytest.fixture
def settings(backend, tmp_path):
    base = make_settings(backend, tmp_path)
    settings = Settings(data_dir=base.data_dir, database_url=base.database_url,
                        schema_prefix=base.schema_prefix, extra={"LOOM_JOBS_IMMEDIATE": "1"})
    yield settings
    if settings.database_url:
        from tests.conftest import drop_prefixed_schemas

        drop_prefixed_schemas(settings.schema_prefix)


@pytest.fixture(autouse=True)
def counting_kind(monkeypatch):
    monkeypatch.setitem(background.KINDS, "count", "tests.workflows.jobkinds")


@pytest.fixture
def acme(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(DOC)
    return install.session("acme")


@pytest.fixture
def headers(install, acme):
    return {name: {"Authorization": f"Bearer {token_for(install, 'acme', f'{name}@acme.test', role)}"}
            for name, role in (("ann", "admin"), ("max", "member"), ("mia", "member"))}


def job_count(session) -> int:
    table = loom_table(session.storage.schema, "loom_jobs")
    with session.storage.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_job_runs_through_the_queue_and_reports_its_progress_and_result(client, acme, headers):
    response = client.post(f"{BASE}/jobs", json={"kind": "count", "params": {"items": ["a", "b", "c"]}},
                           headers=headers["max"])
    assert response.status_code == 202, response.json
    job_id = response.json["id"]
    job = client.get(f"{BASE}/jobs/{job_id}", headers=headers["max"]).json
    assert job["status"] == "done" and job["kind"] == "count"
    assert (job["done"], job["total"]) == (3, 3)
    assert job["result"] == {"seen": ["a", "b", "c"], "resumed": False}
    assert job["started_at"] and job["finished_at"] and job["error"] is None
    listed = client.get(f"{BASE}/jobs?kind=count", headers=headers["max"]).json["items"]
    assert [j["id"] for j in listed] == [job_id] and "result" not in listed[0]  # one job for that


@pytest.mark.parametrize("body, field", [
    ({"kind": "nope", "params": {}}, "kind"),
    ({"kind": "count", "params": {"items": "abc"}}, "params.items"),
    ({"kind": "count", "params": []}, "params"),
])
def test_bad_parameters_are_refused_before_any_job_exists(client, acme, headers, body, field):
    response = client.post(f"{BASE}/jobs", json=body, headers=headers["ann"])
    assert response.status_code == 400
    assert field in [d["field"] for d in response.json["error"]["details"]]
    assert job_count(acme) == 0


def test_a_failing_job_keeps_its_message_and_an_internal_error_says_where_to_look(client, acme, headers):
    refused = client.post(f"{BASE}/jobs", json={"kind": "count", "params": {"items": [], "fail": "refused"}},
                          headers=headers["ann"]).json
    crashed = client.post(f"{BASE}/jobs", json={"kind": "count", "params": {"items": [], "fail": "crash"}},
                          headers=headers["ann"]).json
    assert (refused["status"], refused["error"]) == ("failed", "item 'x' is not allowed")
    assert crashed["status"] == "failed" and "internal error (RuntimeError)" in crashed["error"]
    assert "boom" not in crashed["error"]


def test_only_its_creator_and_admins_read_a_job(client, acme, headers):
    job_id = client.post(f"{BASE}/jobs", json={"kind": "count", "params": {"items": ["a"]}},
                         headers=headers["max"]).json["id"]
    assert client.get(f"{BASE}/jobs/{job_id}", headers=headers["ann"]).status_code == 200
    assert client.get(f"{BASE}/jobs/{job_id}", headers=headers["mia"]).status_code == 404
    assert client.get(f"{BASE}/jobs", headers=headers["mia"]).json["items"] == []
    assert [j["id"] for j in client.get(f"{BASE}/jobs", headers=headers["ann"]).json["items"]] == [job_id]
    assert client.get(f"{BASE}/jobs/999", headers=headers["ann"]).status_code == 404
    assert client.get(f"{BASE}/jobs?limit=0", headers=headers["ann"]).status_code == 400


def test_a_job_whose_worker_died_is_resumed_by_the_tick_from_its_checkpoint(install, acme):
    job = background.submit(acme, "count", {"items": list("abcdef"), "die_after": 4})
    with pytest.raises(WorkerDied):
        background.execute(acme, job["id"])
    stopped = background.get(acme.storage, job["id"])
    assert (stopped["status"], stopped["done"]) == ("running", 4)
    # A live worker's job is not taken again ...
    assert background.execute(acme, job["id"]) is None
    assert job["id"] not in background.due(acme.storage)
    # ... one whose heartbeat is stale is: the tick queues it, and it resumes.
    table = loom_table(acme.storage.schema, "loom_jobs")
    with acme.storage.begin() as conn:
        conn.execute(update(table).values(heartbeat_at=background.utcnow() - background.STALE - timedelta(seconds=1)))
    summary = runtime_of(install).jobs.tick()
    assert summary["acme"]["jobs"] == 1
    done = background.get(acme.storage, job["id"])
    assert done["status"] == "done" and done["done"] == 6
    assert done["result"] == {"seen": list("abcdef"), "resumed": True}


def _stale(session) -> None:
    table = loom_table(session.storage.schema, "loom_jobs")
    with session.storage.begin() as conn:
        conn.execute(update(table).values(heartbeat_at=background.utcnow() - background.STALE - timedelta(seconds=1)))


@pytest.mark.parametrize("stall_after", [2, 6])  # mid-way (its checkpoint is refused), at the end (its result)
def test_a_worker_superseded_after_stalling_writes_nothing_more(install, acme, monkeypatch, stall_after):
    """Worker 1 stalls past the stale limit; the tick queues the job again and worker 2 takes
    it and finishes it; worker 1 then wakes: its checkpoint or its result is refused (the
    row holds worker 2's claim), it stops, and the job stays as worker 2 left it."""
    import threading

    from tests.workflows import jobkinds

    job = background.submit(acme, "count", {"items": list("abcdef"), "stall_after": stall_after})
    stalled, wake, outcome = threading.Event(), threading.Event(), {}

    def stall(progress):
        stalled.set()
        assert wake.wait(60)

    monkeypatch.setattr(jobkinds, "stall", stall)

    def worker_1():
        outcome["returned"] = background.execute(install.session("acme"), job["id"])

    first = threading.Thread(target=worker_1)
    first.start()
    assert stalled.wait(60)
    table = loom_table(acme.storage.schema, "loom_jobs")
    with acme.storage.connect() as conn:
        claim_1 = conn.execute(select(table.c.claim).where(table.c.id == job["id"])).scalar_one()
    _stale(acme)
    assert job["id"] in background.due(acme.storage)
    second = background.execute(acme, job["id"])  # worker 2
    assert second["status"] == "done" and second["result"] == {"seen": list("abcdef"), "resumed": True}
    with acme.storage.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == job["id"])).mappings().one()
    assert row["claim"] not in (None, claim_1)
    wake.set()
    first.join(60)
    assert outcome["returned"] is None  # worker 1 learnt it was superseded
    with acme.storage.connect() as conn:
        after = conn.execute(select(table).where(table.c.id == job["id"])).mappings().one()
    assert dict(after) == dict(row)  # nothing of worker 1's reached the row


def test_a_finished_job_is_not_claimed_again_and_a_live_claim_is_kept(install, acme):
    job = background.submit(acme, "count", {"items": list("ab")})
    assert background.execute(acme, job["id"])["status"] == "done"
    _stale(acme)
    assert background.execute(acme, job["id"]) is None
    assert job["id"] not in background.due(acme.storage)
