"""Requests in flight while an admin changes metadata, on SQLite and PostgreSQL: each is
served under one metadata version (retried once under the new one when the version moved
under it) or refused with a retryable 503 `metadata_changed` — never a 500, never a record
written under a version that is no longer current."""
import copy
import threading

import pytest

from tests.conftest import crm_document, token_for

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
