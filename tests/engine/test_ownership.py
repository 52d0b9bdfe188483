"""`records.assign`: the one write that changes a record's owner — an admin's, audited,
announced, and what owner-only sharing reads at once."""
from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from engine import auth
from engine.errors import Forbidden, NotFound, StaleVersion, ValidationFailed
from engine.systables import loom_table
from tests.conftest import crm_document


@pytest.fixture
def people(install):
    doc = copy.deepcopy(crm_document())
    doc["entities"][1]["sharing"] = {"default": "none", "managers": False, "rules": []}  # contacts: owner only
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(doc)
    storage = install.session("acme").storage
    boss = auth.create_user(storage, "boss@acme.example", "admin")
    rep = auth.create_user(storage, "rep@acme.example", "member")
    gone = auth.create_user(storage, "gone@acme.example", "member")
    users = loom_table(storage.schema, "loom_users")
    with storage.begin() as conn:
        conn.execute(users.update().where(users.c.id == gone.id).values(active=False))
    return {"boss": install.session("acme", boss), "rep": install.session("acme", rep), "gone": gone,
            "storage": storage}


def test_an_admin_gives_a_record_to_a_member_who_then_reads_it_and_the_change_is_audited(people):
    boss, rep = people["boss"], people["rep"]
    made = boss.records.create("contact", {"full_name": "Li Lei"})
    assert rep.records.list("contact")["items"] == []
    moved = boss.records.assign("contact", made["id"], rep.actor.id, expected_version=1)
    assert moved["owner_id"] == rep.actor.id and moved["version"] == 2
    assert [r["id"] for r in rep.records.list("contact")["items"]] == [made["id"]]
    history = boss.records.history("contact", made["id"])
    assert history[-1]["action"] == "assign"
    assert history[-1]["changes"] == {"owner_id": [boss.actor.id, rep.actor.id]}
    outbox = loom_table(people["storage"].schema, "loom_outbox")
    with people["storage"].connect() as conn:
        last = conn.execute(select(outbox).order_by(outbox.c.id.desc())).mappings().first()
    assert last["record_id"] == made["id"]
    # The same owner again changes nothing.
    assert boss.records.assign("contact", made["id"], rep.actor.id)["version"] == 2


def test_assigning_is_refused_to_members_to_unknown_or_inactive_owners_and_on_a_stale_version(people):
    boss, rep, gone = people["boss"], people["rep"], people["gone"]
    made = boss.records.create("contact", {"full_name": "Han Meimei"})
    with pytest.raises(Forbidden):
        rep.records.assign("contact", made["id"], rep.actor.id)
    for owner in (gone.id, 999999, "abc", -1, True, None, "9" * 30):
        with pytest.raises(ValidationFailed) as refused:
            boss.records.assign("contact", made["id"], owner)
        assert refused.value.details[0]["field"] == "owner_id"
    with pytest.raises(StaleVersion):
        boss.records.assign("contact", made["id"], rep.actor.id, expected_version=7)
    with pytest.raises(NotFound):
        boss.records.assign("contact", 424242, rep.actor.id)
    assert boss.records.get("contact", made["id"])["owner_id"] == boss.actor.id
    assert boss.records.get("contact", made["id"])["version"] == 1
