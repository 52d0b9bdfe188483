"""A draft tried on a record with fields encrypted at rest (issue 12), on SQLite and
PostgreSQL: the draft is compiled with the tenant's data keys, so a trial reads the
record's encrypted values in clear, and what its transition writes — the record in the
table, the record announced in the outbox event — keeps them encrypted and sealed, never
in clear, not even inside the rolled-back transaction; the database is as it was
afterwards. (Before, the draft was compiled without the keys: the trial failed on the
first encrypted value, and its copies would have been written unsealed.)"""
from __future__ import annotations

import copy

import pytest
from sqlalchemy import MetaData, Table, select

from engine.auth import create_user
from engine.rolled_back import rolled_back
from metadata import Package
from tests.engine.test_encryption import master  # noqa: F401 - the fixture
from workflows import transitions
from workflows.trial import _TrialSession, drafted, trial_transition

ID_NUMBER, DIAGNOSIS = "110101199003078515", "asthma-since-childhood"
DOC = {
    "entities": [{"name": "claim", "fields": [
        {"name": "title", "type": "string", "required": True},
        {"name": "id_number", "type": "string", "max_length": 18, "pii": "identity"},
        {"name": "diagnosis", "type": "text", "pii": "sensitive"},
        {"name": "status", "type": "choice", "options": ["new", "open", "closed"]}]}],
    "workflows": [{"name": "claim_flow", "entity": "claim", "field": "status", "initial": "new",
                   "states": [{"name": "new", "category": "open"}, {"name": "open", "category": "active"},
                              {"name": "closed", "category": "done"}],
                   "transitions": [
                       {"name": "open", "from": ["new"], "to": "open"},
                       {"name": "close", "from": ["open"], "to": "closed", "requires": ["id_number"],
                        "actions": [{"action": "set_field",
                                     "params": {"field": "diagnosis", "value": "reviewed"}}]}]}]}


@pytest.fixture
def desk(install, master):  # noqa: F811
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(copy.deepcopy(DOC))
    ann = create_user(install.session("acme").storage, "ann@acme.test", "admin")
    session = install.session("acme", ann)
    record = session.records.create("claim", {"title": "Broken arm", "id_number": ID_NUMBER})
    transitions.perform(session, "claim", record["id"], "open")
    return install, ann, record["id"]


def draft() -> Package:
    document = copy.deepcopy(DOC)
    document["workflows"][0]["transitions"][1]["roles"] = ["admin"]  # the draft's change: who may close
    return Package.from_document(document)


def raw_texts(conn, storage) -> str:
    """Every value of the claim table, the audit trail and the outbox as the transaction holds them."""
    texts = []
    for name in ("claim", "loom_audit", "loom_outbox"):
        table = Table(name, MetaData(), autoload_with=conn, schema=storage.schema)
        texts += [str(v) for row in conn.execute(select(table)).mappings() for v in row.values()]
    return " ".join(texts)


def test_a_draft_is_compiled_with_the_tenants_keys(desk):
    install, ann, _ = desk
    live = install.session("acme", ann).metadata()
    assert live.keyring is not None and drafted(live, draft()).keyring is live.keyring


def test_a_drafts_trial_of_a_record_with_encrypted_fields_reads_and_writes_them_sealed(desk):
    install, ann, record_id = desk
    session = install.session("acme", ann)
    before = session.records.get("claim", record_id)
    result = trial_transition(session, "claim", record_id, "close", package=draft())
    assert result["outcome"] == "done", result["refusal"]
    assert result["record"]["id_number"] == ID_NUMBER
    assert result["changes"]["status"] == ["open", "closed"]
    assert [e["event"] for e in result["events"]] == ["record.transitioned"]
    assert result["actions"][0]["params"] == {"field": "diagnosis", "value": "reviewed"}  # after commit: not run
    assert install.session("acme", ann).records.get("claim", record_id) == before


def test_inside_the_trials_transaction_nothing_is_written_in_clear(desk):
    install, ann, record_id = desk
    session = install.session("acme", ann)
    live = session.metadata()
    with rolled_back(session.storage, live.version) as storage:
        trial = _TrialSession(session, storage, drafted(live, draft()), ann)
        try:
            transitions.perform(trial, "claim", record_id, "close")
            trial.records.update("claim", record_id, {"diagnosis": DIAGNOSIS})  # as a rule's write would
            assert trial.records.get_clear("claim", record_id)["diagnosis"] == DIAGNOSIS
            with storage.connect() as conn:
                texts = raw_texts(conn, storage)
        finally:
            trial.rules_engine.withdraw(session.tenant.slug)
    assert ID_NUMBER not in texts and DIAGNOSIS not in texts
    assert "v1:k1:" in texts
