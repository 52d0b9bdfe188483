"""The job queue and the outbox as specifications, on SQLite and PostgreSQL: events are
handled through `Jobs.drain`; a failing action is retried with backoff and lands in the
dead-letter list, which the CLI and the API list and requeue; huey on Redis; and a
worker killed with SIGKILL in the middle of a batch loses no event and handles none twice."""
from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine.cli import cli
from engine.install import Install
from engine.plugins import Plugins
from engine.systables import loom_table
from tenants import Settings
from tests.conftest import token_for
from workflows import outbox
from workflows.runtime import runtime_of

ROOT = Path(__file__).resolve().parents[2]
cli.add_plugin_commands()  # what `loom` does at start: the core plugin's worker, jobs, rules
DOC = {
    "entities": [
        {"name": "source", "fields": [{"name": "name", "type": "string"},
                                      {"name": "hits", "type": "integer"}]},
        {"name": "effect_log", "fields": [{"name": "source", "type": "reference", "to": "source"},
                                          {"name": "note", "type": "string"}]},
    ],
    "rulesets": [{"name": "effects", "kind": "automation", "entity": "source", "rules": [
        {"name": "log_each", "when": {"event": "record.created"},
         "actions": [{"action": "create_record",
                      "params": {"entity": "effect_log",
                                 "values": {"source": {"$record": "id"}, "note": {"$record": "name"}}}}]},
    ]}],
}


def hook_doc(url: str) -> dict:
    doc = copy.deepcopy(DOC)
    doc["rulesets"].append({"name": "hooks", "kind": "automation", "entity": "source", "rules": [
        {"name": "tell", "when": {"event": "record.updated", "changed": ["hits"]},
         "actions": [{"action": "webhook", "params": {"url": url, "timeout": 2}}]}]})
    return doc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tenant(install, document=DOC, slug="acme"):
    install.registry.create(slug, slug.title())
    install.session(slug).apply_metadata(copy.deepcopy(document))
    return install.session(slug)


def outbox_rows(session) -> list[dict]:
    table = loom_table(session.storage.schema, "loom_outbox")
    with session.storage.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def effect_counts(session) -> dict:
    """{source id: number of effect records}."""
    table = session.metadata().tables["effect_log"]
    with session.storage.connect() as conn:
        rows = conn.execute(select(table.c.source, func.count()).group_by(table.c.source)).all()
    return {source: n for source, n in rows}


def trace_rows(session) -> list[dict]:
    table = loom_table(session.storage.schema, "loom_rule_trace")
    with session.storage.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


# -- handling through drain ---------------------------------------------------------------------
def test_events_are_handled_through_drain_once(install):
    session = tenant(install)
    ids = [session.records.create("source", {"name": f"s{i}"})["id"] for i in range(3)]
    assert [r["status"] for r in outbox_rows(session)] == ["pending"] * 3
    assert effect_counts(session) == {}
    jobs = runtime_of(install).jobs
    assert jobs.drain("acme") == {"done": 6, "retry": 0, "failed": 0}   # 3 sources + 3 effect records
    assert effect_counts(session) == {i: 1 for i in ids}
    rows = outbox_rows(session)
    assert {r["status"] for r in rows} == {"done"} and all(r["processed_at"] for r in rows)
    assert [(t["ruleset"], t["rule"], t["outcome"], t["record_id"]) for t in trace_rows(session)] == \
        [("effects", "log_each", "done", i) for i in ids]
    assert jobs.drain("acme") == {"done": 0, "retry": 0, "failed": 0}
    # an event handled again (its done mark lost) changes nothing twice
    table = loom_table(session.storage.schema, "loom_outbox")
    with session.storage.begin() as conn:
        conn.execute(table.update().values(status="pending", processed_at=None))
    assert jobs.drain("acme")["done"] == 6
    assert effect_counts(session) == {i: 1 for i in ids} and len(trace_rows(session)) == 3


def test_drain_takes_batch_after_batch(install):
    session = tenant(install)
    session.records.create_many("source", [{"name": f"s{i}"} for i in range(25)])
    assert runtime_of(install).jobs.drain("acme", limit=10)["done"] == 50
    assert len(effect_counts(session)) == 25 and outbox.pending_count(session.storage) == 0


def test_a_short_lease_lets_another_worker_take_a_dead_workers_events(install):
    session = tenant(install)
    session.records.create("source", {"name": "s"})
    claimed = outbox.claim(session.storage, 10, timedelta(seconds=0.2))
    assert len(claimed) == 1 and outbox.claim(session.storage, 10) == []   # leased
    time.sleep(0.3)
    assert [r["id"] for r in outbox.claim(session.storage, 10)] == [claimed[0]["id"]]
    install.settings.extra["LOOM_OUTBOX_LEASE_SECONDS"] = "7"
    other = Install(install.settings, install.plugins)
    assert runtime_of(other).jobs.lease == timedelta(seconds=7)
    other.dispose()


# -- retries, dead letters, requeue -------------------------------------------------------------
class Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((self.headers["X-Loom-Effect"], json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def fail_until_dead(install, session, slug="acme") -> list[dict]:
    jobs = runtime_of(install).jobs
    for _ in range(200):
        jobs.drain(slug)
        rows = [r for r in outbox_rows(session) if r["status"] != "done"]
        if rows and all(r["status"] == "failed" for r in rows):
            return rows
        time.sleep(0.02)
    raise AssertionError(f"never dead-lettered: {rows}")


def test_a_failing_action_is_retried_with_backoff_then_dead_lettered_and_requeued(install, client):
    install.settings.extra.update(LOOM_WEBHOOK_ALLOW_PRIVATE="1", LOOM_RETRY_BASE_SECONDS="0.01")
    port = free_port()
    session = tenant(install, hook_doc(f"http://127.0.0.1:{port}/hook"))
    record = session.records.create("source", {"name": "s"})
    session.records.update("source", record["id"], {"hits": 1})
    jobs = runtime_of(install).jobs
    first = jobs.drain("acme")            # created and its effect record done; the update retried
    assert first["done"] == 2 and first["retry"] >= 1 and first["failed"] == 0
    [row] = [r for r in outbox_rows(session) if r["status"] != "done"]
    assert (row["status"], row["attempts"]) == ("pending", first["retry"]) and "could not reach" in row["last_error"]
    assert row["next_attempt_at"] is not None
    assert outbox.backoff(1, 30) == timedelta(seconds=30) and outbox.backoff(3, 30) == timedelta(seconds=120)
    assert outbox.backoff(20, 30) == timedelta(hours=1)

    [dead] = fail_until_dead(install, session)
    assert dead["attempts"] == outbox.MAX_ATTEMPTS and dead["event"] == "record.updated"
    assert "webhook: could not reach" in dead["last_error"]
    failures = [t for t in trace_rows(session) if t["ruleset"] == "hooks"]
    assert [t["outcome"] for t in failures] == ["failed"]                   # traced once, not per attempt
    assert jobs.drain("acme") == {"done": 0, "retry": 0, "failed": 0}      # dead letters stay put

    runner = CliRunner()
    listed = runner.invoke(cli, ["jobs", "failed", "acme"], obj=install)
    assert listed.exit_code == 0, listed.output
    assert f"{dead['id']}\trecord.updated\tsource {record['id']}\t{outbox.MAX_ATTEMPTS} attempts" in listed.output
    as_json = json.loads(runner.invoke(cli, ["jobs", "failed", "acme", "--json"], obj=install).output)
    assert [(r["id"], r["status"]) for r in as_json] == [(dead["id"], "failed")]

    admin = {"Authorization": f"Bearer {token_for(install, 'acme', 'ann@acme.test', 'admin')}"}
    member = {"Authorization": f"Bearer {token_for(install, 'acme', 'mia@acme.test')}"}
    api = client.get("/api/v1/t/acme/jobs/failed", headers=admin)
    assert api.status_code == 200
    assert [(i["id"], i["attempts"], i["entity"]) for i in api.get_json()["items"]] == \
        [(dead["id"], outbox.MAX_ATTEMPTS, "source")]
    assert client.get("/api/v1/t/acme/jobs/failed", headers=member).status_code == 403
    assert client.post("/api/v1/t/acme/jobs/retry", headers=member).status_code == 403
    assert client.post("/api/v1/t/acme/jobs/retry", json={"ids": "all"}, headers=admin).status_code == 400

    server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.received = []
    try:
        requeued = runner.invoke(cli, ["jobs", "retry", "acme", "--all"], obj=install)
        assert requeued.exit_code == 0 and "queued 1 event(s) again" in requeued.output
        assert jobs.drain("acme") == {"done": 1, "retry": 0, "failed": 0}
        assert len(Receiver.received) == 1 and Receiver.received[0][0].startswith(f"rule:{dead['id']}:hooks:tell")
        again = {r["id"]: r for r in outbox_rows(session)}[dead["id"]]
        assert again["status"] == "done" and again["last_error"] is None
        assert [t["outcome"] for t in trace_rows(session) if t["ruleset"] == "hooks"] == ["failed", "done"]
        assert runner.invoke(cli, ["jobs", "failed", "acme"], obj=install).output.strip() == "no failed events"

        # the same through the API: one more dead letter, requeued by id
        session.records.update("source", record["id"], {"hits": 2})
        server.shutdown()
        server.server_close()
        [dead] = fail_until_dead(install, session)
        server = ThreadingHTTPServer(("127.0.0.1", port), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        response = client.post("/api/v1/t/acme/jobs/retry", json={"ids": [dead["id"]]}, headers=admin)
        assert response.status_code == 200 and response.get_json() == {"requeued": 1}
        assert jobs.drain("acme")["done"] == 1 and len(Receiver.received) == 2
        assert client.get("/api/v1/t/acme/jobs/failed", headers=admin).get_json() == {"items": []}
    finally:
        server.shutdown()
        server.server_close()


def test_retry_usage_and_unknown_tenants(install):
    tenant(install)
    runner = CliRunner()
    usage = runner.invoke(cli, ["jobs", "retry", "acme"], obj=install)
    assert usage.exit_code == 2 and "--id N" in usage.output
    both = runner.invoke(cli, ["jobs", "retry", "acme", "--all", "--id", "3"], obj=install)
    assert both.exit_code == 2
    nobody = runner.invoke(cli, ["jobs", "failed", "nobody"], obj=install)
    assert nobody.exit_code == 1 and "no tenant 'nobody'" in nobody.output
    unknown = runner.invoke(cli, ["jobs", "retry", "acme", "--id", "999", "--id", "998"], obj=install)
    assert unknown.exit_code == 1 and "no failed event of acme has the id 998, 999: nothing was queued" in unknown.output


# -- huey on Redis ------------------------------------------------------------------------------
REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_install(tmp_path):
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    install = Install(Settings(data_dir=tmp_path, redis_url=REDIS_URL), Plugins(load_entry_points=False))
    yield install
    install.dispose()
    client.flushdb()
    client.close()


def test_huey_on_redis_queues_drains_and_a_consumer_runs_them(redis_install):
    from huey import RedisHuey

    session = tenant(redis_install)
    jobs = runtime_of(redis_install).jobs
    assert isinstance(jobs.huey, RedisHuey)
    ids = [session.records.create("source", {"name": f"s{i}"})["id"] for i in range(3)]
    assert jobs.huey.pending_count() + jobs.huey.scheduled_count() >= 1     # queued after commit
    consumer = jobs.consumer(workers=1)
    consumer._set_signal_handlers = lambda: None     # not the test runner's signals
    consumer.start()
    try:
        deadline = time.monotonic() + 20
        while outbox.pending_count(session.storage) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        consumer.stop(graceful=True)
    assert outbox.pending_count(session.storage) == 0
    assert effect_counts(session) == {i: 1 for i in ids}


# -- acceptance: a worker killed mid-batch loses nothing ------------------------------------------
def subprocess_env(settings, lease: float) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    env.update(LOOM_DATA_DIR=str(settings.data_dir), LOOM_OUTBOX_LEASE_SECONDS=str(lease),
               PYTHONPATH=str(ROOT))
    if settings.database_url:
        env.update(LOOM_DATABASE_URL=settings.database_url, LOOM_SCHEMA_PREFIX=settings.schema_prefix)
    return env


def loom(*args) -> list[str]:
    return [sys.executable, "-m", "engine.cli", *args]


SOURCES = 200
LEASE_SECONDS = 2.0


def test_a_worker_killed_mid_batch_loses_no_event_and_handles_none_twice(install, settings):
    session = tenant(install)
    ids = session.records.create_many("source", [{"name": f"s{i}"} for i in range(SOURCES)])
    runtime_of(install).jobs.drain_task("acme")              # a drain is queued for the worker
    env = subprocess_env(settings, LEASE_SECONDS)
    worker = subprocess.Popen(loom("worker", "--workers", "2"), env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and sum(effect_counts(session).values()) < 10:
            assert worker.poll() is None, worker.communicate()
            time.sleep(0.01)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    assert worker.returncode == -signal.SIGKILL
    handled = sum(effect_counts(session).values())
    assert 0 < handled < SOURCES, handled
    leased = [r for r in outbox_rows(session) if r["status"] == "pending" and r["next_attempt_at"] is not None]
    assert leased, "the killed worker held a claimed batch"

    # after the lease runs out, `loom worker --once` (run until nothing is pending) finishes the job
    time.sleep(LEASE_SECONDS + 0.2)
    for _ in range(5):
        once = subprocess.run(loom("worker", "--once"), env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=300)
        assert once.returncode == 0, once.stderr
        summary = json.loads(once.stdout)
        assert set(summary) == {"acme"} and set(summary["acme"]) == {"events", "scheduled", "sealed", "import_files",
                                                                     "jobs"}
        if not outbox.pending_count(session.storage):
            break
        time.sleep(LEASE_SECONDS)
    counts = effect_counts(session)
    assert counts == {i: 1 for i in ids}                         # every event, once in effect
    rows = outbox_rows(session)
    assert len(rows) == 2 * SOURCES and {r["status"] for r in rows} == {"done"}
    traced = [t for t in trace_rows(session) if t["outcome"] == "done"]
    assert sorted(t["record_id"] for t in traced) == sorted(ids)


def test_a_crash_after_the_effect_before_the_done_mark_changes_nothing_twice(install, monkeypatch):
    """The window SIGKILL rarely hits: the effect is committed, the event not yet marked done."""
    install.settings.extra["LOOM_OUTBOX_LEASE_SECONDS"] = "0.3"
    session = tenant(install)
    ids = session.records.create_many("source", [{"name": f"s{i}"} for i in range(5)])
    real = outbox.mark_done

    def die_before_marking(storage, event_ids, along=None):
        raise KeyboardInterrupt("worker killed")   # not an Exception: nothing catches it

    monkeypatch.setattr(outbox, "mark_done", die_before_marking)
    with pytest.raises(KeyboardInterrupt):
        runtime_of(install).jobs.drain("acme")
    monkeypatch.setattr(outbox, "mark_done", real)
    assert effect_counts(session) == {i: 1 for i in ids}          # handled, not yet marked done
    assert {r["status"] for r in outbox_rows(session)} == {"pending"}
    assert trace_rows(session) == []                              # the trace commits with the done mark
    time.sleep(0.4)
    runtime_of(install).jobs.drain("acme")
    assert effect_counts(session) == {i: 1 for i in ids}
    assert sorted(t["record_id"] for t in trace_rows(session)) == sorted(ids)
    assert {r["status"] for r in outbox_rows(session)} == {"done"}


def test_a_crash_inside_the_done_transaction_loses_no_trace_and_writes_none_twice(install, monkeypatch):
    """A batch's trace rows are written in the transaction that marks its events done: a
    crash after the rows, before the commit, leaves neither; handled again, each firing is
    traced once and each effect happened once."""
    install.settings.extra["LOOM_OUTBOX_LEASE_SECONDS"] = "0.3"
    session = tenant(install)
    ids = session.records.create_many("source", [{"name": f"s{i}"} for i in range(5)])
    real = outbox.mark_done

    def die_after_the_traces(storage, event_ids, along=None):
        def write_then_die(conn):
            assert along is not None and along(conn) == 5          # the batch's five firings
            raise KeyboardInterrupt("worker killed")
        real(storage, event_ids, write_then_die)

    monkeypatch.setattr(outbox, "mark_done", die_after_the_traces)
    with pytest.raises(KeyboardInterrupt):
        runtime_of(install).jobs.drain("acme")
    monkeypatch.setattr(outbox, "mark_done", real)
    assert trace_rows(session) == [] and {r["status"] for r in outbox_rows(session)} == {"pending"}
    assert effect_counts(session) == {i: 1 for i in ids}
    time.sleep(0.4)
    runtime_of(install).jobs.drain("acme")
    runtime_of(install).jobs.drain("acme")
    assert effect_counts(session) == {i: 1 for i in ids}
    assert sorted((t["record_id"], t["outcome"]) for t in trace_rows(session)) == [(i, "done") for i in sorted(ids)]
    assert {r["status"] for r in outbox_rows(session)} == {"done"}


def test_rules_that_keep_writing_do_not_hold_a_drain_forever(install, monkeypatch):
    from workflows import jobs as jobs_module

    endless = copy.deepcopy(DOC)
    endless["rulesets"] = [{"name": "loop", "kind": "automation", "entity": "source", "rules": [
        {"name": "touch", "when": {"event": "record.updated"},
         "actions": [{"action": "set_field", "params": {"field": "name", "value": {"$now": True}}}]}]}]
    session = tenant(install, endless)
    record = session.records.create("source", {"name": "s"})
    session.records.update("source", record["id"], {"hits": 1})
    monkeypatch.setattr(jobs_module, "MAX_ROUNDS", 5)
    jobs = runtime_of(install).jobs
    queued = lambda: jobs.huey.pending_count() + jobs.huey.scheduled_count()  # noqa: E731
    before = queued()
    totals = jobs.drain("acme", limit=10)
    assert totals["done"] <= 50 and outbox.pending_count(session.storage) >= 1
    assert queued() == before + 1                            # the rest is queued, not lost
