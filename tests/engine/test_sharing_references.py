"""Sharing and references, on SQLite and PostgreSQL: a member's write that names a record
they cannot read is refused exactly as one naming a missing record (same status, same
body, nothing written, no hook sees it) — in create, batch and update; the system is
not restricted.  A referrer rule (`referenced_by`) shares a record with whoever may
read a record referencing it.  A property test checks, for random books, that a member
may reference exactly the records they may read, and pages through exactly those."""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from engine.auth import create_token, create_user, list_users
from engine.errors import LoomError
from engine.hookspecs import hookimpl

API = "/api/v1/t/shop"
REGIONS = ["north", "south"]
DOC = {"entities": [
    {"name": "holder", "fields": [{"name": "name", "type": "string", "required": True}],
     "sharing": {"managers": True, "rules": [{"referenced_by": "policy.holder", "access": "read"},
                                             {"referenced_by": "policy.insured", "access": "edit"}]}},
    {"name": "policy", "fields": [
        {"name": "title", "type": "string", "required": True},
        {"name": "region", "type": "choice", "options": REGIONS},
        {"name": "holder", "type": "reference", "to": "holder"},
        {"name": "insured", "type": "reference", "to": "holder"}],
     "sharing": {"managers": True, "rules": [{"field": "region", "user": "region", "access": "edit"}]}},
    {"name": "letter", "fields": [   # no sharing of its own: anyone writes letters
        {"name": "text", "type": "string"},
        {"name": "policy", "type": "reference", "to": "policy"},
        {"name": "holder", "type": "reference", "to": "holder"}]},
]}


class Witness:
    """A plugin recording every record a write's hook is shown."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def loom_record_before_write(self, event, session):
        self.seen.append((event.entity, dict(event.record)))


@pytest.fixture
def witness(plugins):
    hook = Witness()
    plugins.pm.register(hook)
    return hook


@pytest.fixture
def shop(install, witness):
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(copy.deepcopy(DOC))
    storage = session.storage
    create_user(storage, "boss@shop.test")
    create_user(storage, "ann@shop.test", manager="boss@shop.test")
    create_user(storage, "bob@shop.test", attributes={"region": "north"})
    users = {a.email.split("@")[0]: a for a in list_users(storage)}
    tokens = {n: {"Authorization": f"Bearer {create_token(storage, f'{n}@shop.test')}"} for n in users}
    as_user = {n: install.session("shop", a).records for n, a in users.items()}
    return session, as_user, tokens


def counts(session):
    return {e: len(session.records.list(e, [("limit", "200")])["items"]) for e in ("holder", "policy", "letter")}


def body_of(response):
    return response.status_code, json.dumps(response.get_json(), sort_keys=True)


def test_a_hidden_reference_answers_as_a_missing_one_and_writes_nothing(client, shop, witness):
    session, as_user, tokens = shop
    hidden_holder = session.records.create("holder", {"name": "Hidden"})["id"]
    south = session.records.create("policy", {"title": "South", "region": "south", "holder": hidden_holder})["id"]
    north = session.records.create("policy", {"title": "North", "region": "north"})["id"]
    missing = 999_999
    bob = tokens["bob"]
    assert client.get(f"{API}/records/policy/{south}", headers=bob).status_code == 404
    before, witness.seen[:] = counts(session), []
    for body in ({"text": "x", "policy": south}, {"text": "x", "holder": hidden_holder},
                 {"text": 7, "policy": south}):                           # with another problem too
        name = "policy" if "policy" in body else "holder"
        hidden = client.post(f"{API}/records/letter", json=body, headers=bob)
        absent = client.post(f"{API}/records/letter", json={**body, name: missing}, headers=bob)
        assert hidden.status_code == 400
        assert body_of(hidden) == (absent.status_code,
                                   body_of(absent)[1].replace(str(missing), str(body[name])))
        assert f"no {name} record with id {body[name]}" in body_of(hidden)[1]
    batch = client.post(f"{API}/records/letter/batch", headers=bob,
                        json={"records": [{"text": "a", "policy": north}, {"text": "b", "policy": south}]})
    assert batch.status_code == 400
    assert batch.get_json()["error"]["details"] == [
        {"field": "/1/policy", "code": "unknown_reference", "message": f"no policy record with id {south}",
         "entity": "policy", "id": south}]
    mine = client.post(f"{API}/records/letter", json={"text": "mine", "policy": north}, headers=bob)
    assert mine.status_code == 201, mine.get_json()
    letter = mine.get_json()["id"]
    moved = client.patch(f"{API}/records/letter/{letter}", json={"policy": south}, headers=bob)
    assert moved.status_code == 400 and moved.get_json()["error"]["details"] == [
        {"field": "policy", "code": "unknown_reference", "message": f"no policy record with id {south}",
         "entity": "policy", "id": south}]
    # a policy of bob's region may not be pointed at a holder he cannot read
    assert as_user["bob"].get("policy", north)
    with pytest.raises(LoomError) as refused:
        as_user["bob"].update("policy", north, {"holder": hidden_holder})
    assert refused.value.status == 400 and refused.value.details == [
        {"field": "holder", "code": "unknown_reference", "message": f"no holder record with id {hidden_holder}",
         "entity": "holder", "id": hidden_holder}]
    assert counts(session) == {**before, "letter": before["letter"] + 1}
    assert session.records.get("letter", letter)["policy"] == north
    assert not [r for _, r in witness.seen if r.get("policy") == south or r.get("holder") == hidden_holder]
    # the system and admins reference anything
    assert session.records.create("letter", {"policy": south, "holder": hidden_holder})["policy"] == south


def test_a_referrer_rule_shares_the_records_a_readable_record_references(client, shop):
    session, as_user, tokens = shop
    h = [session.records.create("holder", {"name": f"h{i}"})["id"] for i in range(4)]
    session.records.create("policy", {"title": "n", "region": "north", "holder": h[0], "insured": h[1]})
    session.records.create("policy", {"title": "s", "region": "south", "holder": h[2]})
    own = as_user["ann"].create("holder", {"name": "ann's"})["id"]
    policy = session.records.create("policy", {"title": "ann", "holder": h[3]})["id"]
    table = session.metadata().tables["policy"]
    with session.storage.begin() as conn:   # a policy of ann's naming a holder she was given
        conn.execute(table.update().where(table.c.id == policy).values(owner_id=as_user["ann"].actor_id))

    def listed(who):
        return {r["id"] for r in as_user[who].list("holder", [("limit", "200")])["items"]}

    assert listed("bob") == {h[0], h[1]}
    assert listed("ann") == {own, h[3]} == listed("boss")              # the manager sees the report's
    assert {r["id"] for r in as_user["bob"].export("holder")} == {h[0], h[1]}
    assert client.get(f"{API}/records/holder/{h[2]}", headers=tokens["bob"]).status_code == 404
    # the rule's access: `insured` gives edit, `holder` only read
    assert client.patch(f"{API}/records/holder/{h[1]}", json={"name": "x"}, headers=tokens["bob"]).status_code == 200
    assert client.patch(f"{API}/records/holder/{h[0]}", json={"name": "x"},
                        headers=tokens["bob"]).get_json()["error"]["code"] == "read_only"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policies=st.lists(st.tuples(st.sampled_from([None, *REGIONS]), st.integers(0, 4)), max_size=6),
       owners=st.lists(st.sampled_from([None, "ann", "bob"]), min_size=5, max_size=5))
def test_a_member_references_exactly_what_they_read(install, shop, policies, owners):
    session, as_user, _ = shop
    storage, tables = session.storage, session.metadata().tables
    with storage.begin() as conn:
        for name in ("letter", "policy", "holder"):
            conn.execute(tables[name].delete())
    makers = {None: session.records, **as_user}
    holders = [makers[owner].create("holder", {"name": "h"})["id"] for owner in owners]
    for region, index in policies:
        session.records.create("policy", {"title": "p", "region": region, "holder": holders[index]})
    for who, regions in (("ann", set()), ("bob", {"north"}), ("boss", set())):
        mine = {"ann", "boss"} if who == "boss" else {who}
        expected = {h for h, owner in zip(holders, owners) if owner in mine} | {
            holders[index] for region, index in policies if region in regions}
        listed, cursor = [], None
        while True:   # paged: a UNION of one query per sharing term on both backends
            params = [("limit", "2"), ("sort", "-id")] + ([("cursor", cursor)] if cursor else [])
            page = as_user[who].list("holder", params)
            listed += [r["id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert listed == sorted(expected, reverse=True), who
        for holder in holders:
            try:
                as_user[who].create("letter", {"holder": holder})
                accepted = True
            except LoomError as exc:
                assert (exc.status, exc.details) == (400, [{"field": "holder", "code": "unknown_reference",
                                                            "message": f"no holder record with id {holder}",
                                                            "entity": "holder", "id": holder}])
                accepted = False
            assert accepted == (holder in expected), (who, holder)
