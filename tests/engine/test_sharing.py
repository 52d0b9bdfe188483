"""Record sharing as specifications, on SQLite and PostgreSQL: a member sees (get, list,
`q` search, paging, export, history) only the records an entity's `sharing` gives them
and changes (update, delete, transitions) only those it gives them to edit; 404 never
hints that a hidden record exists, 403 `read_only` refuses a write to a readable one;
admins and entities without sharing are unrestricted; create fills and guards the
fields of field rules.  A property test checks list == get == the rule computed in Python."""
from __future__ import annotations

import copy
import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from engine.auth import authenticate, create_token, create_user, list_users, update_user
from engine.errors import Forbidden, NotFound
from tests.conftest import token_for

REGIONS = ["north", "south", "east", "west"]
DOC = {"entities": [
    {"name": "office", "fields": [{"name": "name", "type": "string", "required": True}]},
    {"name": "policyholder", "fields": [
        {"name": "name", "type": "string", "required": True},
        {"name": "office", "type": "reference", "to": "office"}],
     "sharing": {"managers": True, "rules": [{"field": "office", "user": "office", "access": "edit"}]}},
    {"name": "policy", "fields": [
        {"name": "title", "type": "string", "required": True},
        {"name": "status", "type": "choice", "options": ["draft", "active"]},
        {"name": "region", "type": "choice", "options": REGIONS},
        {"name": "holder", "type": "reference", "to": "policyholder", "on_delete": "cascade"}],
     "sharing": {"default": "none", "managers": True,
                 "rules": [{"field": "region", "user": "region", "access": "read"},
                           {"parent": "holder", "access": "read"}]}},
    {"name": "claim", "fields": [
        {"name": "note", "type": "string"},
        {"name": "policy", "type": "reference", "to": "policy", "on_delete": "cascade"}],
     "sharing": {"rules": [{"parent": "policy", "access": "edit"}]}},
    {"name": "memo", "fields": [{"name": "text", "type": "string"}]},
],
    "workflows": [{"name": "policy_flow", "entity": "policy", "field": "status", "initial": "draft",
                   "states": [{"name": "draft", "category": "open"}, {"name": "active", "category": "done"}],
                   "transitions": [{"name": "activate", "from": ["draft"], "to": "active"}]}]}
API = "/api/v1/t/acme"


@pytest.fixture
def acme(install):
    install.registry.create("acme", "Acme Insurance")
    session = install.session("acme")
    session.apply_metadata(copy.deepcopy(DOC))
    return session


@pytest.fixture
def people(install, acme):
    """boss <- mid <- ann (managers); bob works for office 1; carl reads north and east."""
    storage = acme.storage
    o1 = acme.records.create("office", {"name": "Office One"})["id"]
    o2 = acme.records.create("office", {"name": "Office Two"})["id"]
    create_user(storage, "admin@acme.test", "admin")
    create_user(storage, "boss@acme.test")
    create_user(storage, "mid@acme.test", manager="boss@acme.test")
    create_user(storage, "ann@acme.test", manager="mid@acme.test")
    create_user(storage, "bob@acme.test", attributes={"office": o1})
    create_user(storage, "carl@acme.test", attributes={"region": ["north", "east"]})
    create_user(storage, "dan@acme.test")
    tokens = {name: create_token(storage, f"{name}@acme.test")
              for name in ("admin", "boss", "mid", "ann", "bob", "carl", "dan")}
    return {"o1": o1, "o2": o2, **{n: {"Authorization": f"Bearer {t}"} for n, t in tokens.items()}}


def post(client, who, entity, body, status=201):
    response = client.post(f"{API}/records/{entity}", json=body, headers=who)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def ids(client, who, entity, query=""):
    response = client.get(f"{API}/records/{entity}?limit=200{query}", headers=who)
    assert response.status_code == 200, response.get_json()
    return sorted(r["id"] for r in response.get_json()["items"])


def code(response):
    return response.status_code, (response.get_json() or {}).get("error", {}).get("code")


@pytest.fixture
def book(client, people):
    """Records as their owners create them."""
    p = people
    ann_policy = post(client, p["ann"], "policy", {"title": "Ann motor", "region": "south"})["id"]
    h1 = post(client, p["admin"], "policyholder", {"name": "Holder One", "office": p["o1"]})["id"]
    h2 = post(client, p["admin"], "policyholder", {"name": "Holder Two", "office": p["o2"]})["id"]
    north = post(client, p["admin"], "policy", {"title": "North home", "region": "north"})["id"]
    east = post(client, p["admin"], "policy", {"title": "East home", "region": "east"})["id"]
    south = post(client, p["admin"], "policy", {"title": "South home", "region": "south"})["id"]
    of_h1 = post(client, p["admin"], "policy", {"title": "Life of one", "holder": h1})["id"]
    of_h2 = post(client, p["admin"], "policy", {"title": "Life of two", "holder": h2})["id"]
    claim1 = post(client, p["admin"], "claim", {"note": "dent", "policy": of_h1})["id"]
    claim2 = post(client, p["admin"], "claim", {"note": "flood", "policy": of_h2})["id"]
    return {"ann": ann_policy, "h1": h1, "h2": h2, "north": north, "east": east, "south": south,
            "of_h1": of_h1, "of_h2": of_h2, "claim1": claim1, "claim2": claim2}


def test_owner_managers_and_admin(client, people, book):
    b = book
    assert ids(client, people["ann"], "policy") == [b["ann"]]
    assert ids(client, people["dan"], "policy") == []
    for manager in ("mid", "boss"):  # transitively, with the owner's edit access
        assert ids(client, people[manager], "policy") == [b["ann"]]
        response = client.patch(f"{API}/records/policy/{b['ann']}", json={"title": f"seen by {manager}"},
                                headers=people[manager])
        assert response.status_code == 200, response.get_json()
    assert ids(client, people["ann"], "policyholder") == []
    every = ids(client, people["admin"], "policy")
    assert len(every) == 6
    assert code(client.get(f"{API}/records/policy/{b['ann']}", headers=people["dan"])) == (404, "record_not_found")
    assert client.get(f"{API}/records/policy/{b['ann']}", headers=people["ann"]).status_code == 200


def test_field_rules_with_a_reference_and_a_list(client, people, book):
    b, p = book, people
    assert ids(client, p["bob"], "policyholder") == [b["h1"]]
    assert client.patch(f"{API}/records/policyholder/{b['h1']}", json={"name": "One"},
                        headers=p["bob"]).status_code == 200
    assert code(client.get(f"{API}/records/policyholder/{b['h2']}", headers=p["bob"])) == (404, "record_not_found")
    assert ids(client, p["carl"], "policy") == sorted([b["north"], b["east"]])
    assert ids(client, p["carl"], "policy", "&q=home") == sorted([b["north"], b["east"]])
    assert ids(client, p["carl"], "policy", "&region=south") == []
    # read, not edit: 403 read_only, and nothing changes
    assert code(client.patch(f"{API}/records/policy/{b['north']}", json={"title": "x"},
                             headers=p["carl"])) == (403, "read_only")
    assert code(client.delete(f"{API}/records/policy/{b['north']}", headers=p["carl"])) == (403, "read_only")
    assert code(client.delete(f"{API}/records/policy/{b['south']}", headers=p["carl"])) == (404, "record_not_found")
    assert code(client.patch(f"{API}/records/policy/{b['south']}", json={"title": "x"},
                             headers=p["carl"])) == (404, "record_not_found")
    assert client.get(f"{API}/records/policy/{b['north']}", headers=p["admin"]).get_json()["title"] == "North home"


def test_parent_rules_follow_visible_parents(client, people, book):
    b, p = book, people
    assert ids(client, p["bob"], "policy") == [b["of_h1"]]          # through policyholder H1
    assert ids(client, p["bob"], "claim") == [b["claim1"]]          # through the policy, two levels
    assert code(client.patch(f"{API}/records/policy/{b['of_h1']}", json={"title": "x"},
                             headers=p["bob"])) == (403, "read_only")
    assert client.patch(f"{API}/records/claim/{b['claim1']}", json={"note": "big dent"},
                        headers=p["bob"]).status_code == 200        # the claim rule grants edit
    assert code(client.get(f"{API}/records/claim/{b['claim2']}", headers=p["bob"])) == (404, "record_not_found")
    assert ids(client, p["dan"], "claim") == []
    assert ids(client, p["carl"], "claim") == []


def test_history_and_transitions(client, people, book):
    b, p = book, people
    url = f"{API}/records/policy"
    assert code(client.get(f"{url}/{b['south']}/history", headers=p["carl"])) == (404, "record_not_found")
    assert client.get(f"{url}/{b['north']}/history", headers=p["carl"]).status_code == 200
    assert code(client.post(f"{url}/{b['south']}/transitions/activate", headers=p["carl"])) == (404, "record_not_found")
    assert code(client.post(f"{url}/{b['north']}/transitions/activate", headers=p["carl"])) == (403, "read_only")
    assert code(client.get(f"{url}/{b['south']}/transitions", headers=p["carl"])) == (404, "record_not_found")
    response = client.post(f"{url}/{b['ann']}/transitions/activate", headers=p["mid"])
    assert response.status_code == 200, response.get_json()
    assert client.get(f"{url}/{b['north']}", headers=p["admin"]).get_json()["status"] == "draft"


def test_export_streams_only_readable_records(client, people, book):
    b, p = book, people
    response = client.get(f"{API}/records/policy/export", headers=p["carl"])
    assert response.status_code == 200 and response.mimetype == "application/x-ndjson"
    rows = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert sorted(r["id"] for r in rows) == sorted([b["north"], b["east"]])
    response = client.get(f"{API}/records/policy/export?format=csv&region=east&fields=title",
                          headers=p["carl"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert table == [["id", "version", "title"], [str(b["east"]), "1", "East home"]]
    everything = client.get(f"{API}/records/policy/export", headers=p["admin"]).get_data(as_text=True)
    assert len(everything.splitlines()) == 6
    assert code(client.get(f"{API}/records/policy/export?format=xml", headers=p["admin"]))[0] == 400
    assert code(client.get(f"{API}/records/policy/export?limit=5", headers=p["admin"])) == (400, "bad_query")


def test_export_pages_past_a_batch(acme, install):
    from engine.records import export

    rows = [{"title": f"t{i}", "region": "north"} for i in range(export.BATCH + 7)]
    acme.records.create_many("policy", rows)
    got = [r["id"] for r in acme.records.export("policy", [("sort", "-title")])]
    assert len(got) == len(set(got)) == export.BATCH + 7


def test_entity_without_sharing_is_unchanged(client, people):
    memo = post(client, people["ann"], "memo", {"text": "hello"})["id"]
    assert ids(client, people["dan"], "memo") == [memo]
    assert client.patch(f"{API}/records/memo/{memo}", json={"text": "hi"}, headers=people["dan"]).status_code == 200
    assert client.delete(f"{API}/records/memo/{memo}", headers=people["dan"]).status_code == 200


def test_create_fills_and_refuses(client, people, book):
    p = people
    filled = post(client, p["bob"], "policyholder", {"name": "New"})
    assert filled["office"] == p["o1"]
    refused = client.post(f"{API}/records/policyholder", json={"name": "Else", "office": p["o2"]}, headers=p["bob"])
    assert code(refused) == (403, "not_shared")
    assert refused.get_json()["error"]["details"][0]["field"] == "office"
    assert post(client, p["carl"], "policy", {"title": "Up north", "region": "north"})["region"] == "north"
    assert post(client, p["carl"], "policy", {"title": "Nowhere"})["region"] is None  # two values: not filled
    assert code(client.post(f"{API}/records/policy", json={"title": "S", "region": "south"},
                            headers=p["carl"])) == (403, "not_shared")
    before = ids(client, p["admin"], "policyholder")
    batch = client.post(f"{API}/records/policyholder/batch", headers=p["bob"],
                        json={"records": [{"name": "a"}, {"name": "b", "office": p["o2"]}]})
    assert code(batch) == (403, "not_shared")
    assert batch.get_json()["error"]["details"][0]["field"] == "/1/office"
    assert ids(client, p["admin"], "policyholder") == before
    assert post(client, p["ann"], "policyholder", {"name": "Mine"})["office"] is None  # no attribute: no check
    # moving a record outside one's attribute is refused too
    assert code(client.patch(f"{API}/records/policyholder/{filled['id']}", json={"office": p["o2"]},
                             headers=p["bob"])) == (403, "not_shared")
    # admins are not restricted
    assert post(client, p["admin"], "policy", {"title": "Anywhere", "region": "west"})["region"] == "west"


def test_service_level_enforcement(install, acme, people, book):
    carl = next(a for a in list_users(acme.storage)
                if a.email == "carl@acme.test")
    records = install.session("acme", carl).records
    with pytest.raises(NotFound):
        records.get("policy", book["south"])
    with pytest.raises(Forbidden) as refused:
        records.update("policy", book["north"], {"title": "x"})
    assert refused.value.code == "read_only"
    with pytest.raises(Forbidden):
        records.write_state("policy", book["north"], "active")
    assert acme.records.get("policy", book["south"])["id"] == book["south"]   # the system sees all


def test_editable_among_answers_may_edit_for_many_records_at_once(install, acme, people, book):
    users = {a.email.split("@")[0]: a for a in list_users(acme.storage)}
    every = [book[k] for k in ("ann", "north", "east", "south", "of_h1", "of_h2")]
    for name in ("ann", "bob", "carl", "boss", "admin"):
        records = install.session("acme", users[name]).records
        one_by_one = set()
        for record_id in every:
            try:
                if records.may_edit("policy", record_id):
                    one_by_one.add(record_id)
            except NotFound:
                pass
        assert records.editable_among("policy", every + [999999]) == one_by_one, name  # no record: left out
    carl = install.session("acme", users["carl"]).records
    assert carl.editable_among("policy", [book["north"]]) == set()  # he reads the north, not to change it
    assert carl.editable_among("policy", []) == set()


# -- property: list (paged) == get == the rule in Python --------------------------------

USERS = ["u0", "u1", "u2", "u3", "u4"]


@pytest.fixture
def world(install, acme):
    storage = acme.storage
    create_user(storage, "u0@acme.test")
    create_user(storage, "u1@acme.test", manager="u0@acme.test")
    create_user(storage, "u2@acme.test", manager="u1@acme.test")
    create_user(storage, "u3@acme.test")
    create_user(storage, "u4@acme.test", manager="u3@acme.test")
    offices = [acme.records.create("office", {"name": f"o{i}"})["id"] for i in range(3)]
    users = {a.email.split("@")[0]: a for a in list_users(storage)}
    return {"session": acme, "offices": offices, "users": users}


def _reports(managers: dict, user: str) -> set:
    return {u for u in managers if u != user and _chain_reaches(managers, u, user)}


def _chain_reaches(managers, user, boss) -> bool:
    current = managers.get(user)
    while current is not None:
        if current == boss:
            return True
        current = managers.get(current)
    return False


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_list_equals_get_equals_the_rule(install, world, data):
    session, offices = world["session"], world["offices"]
    storage = session.storage
    managers = {"u1": "u0", "u2": "u1", "u4": "u3"}
    attrs = {}
    for user in USERS:
        office = data.draw(st.sampled_from([None, 0, 1, 2, [0, 1]]), label=f"{user}.office")
        region = data.draw(st.sampled_from([None, "north", ["north", "east"], ["west"]]), label=f"{user}.region")
        given_attrs = {}
        if office is not None:
            given_attrs["office"] = [offices[o] for o in office] if isinstance(office, list) else offices[office]
        if region is not None:
            given_attrs["region"] = region
        clear = [k for k in ("office", "region") if k in (world["users"][user].attributes or {})
                 and k not in given_attrs]
        world["users"][user] = update_user(storage, f"{user}@acme.test", attributes=given_attrs, clear=clear)
        attrs[user] = given_attrs
    ids_of = {u: a.id for u, a in world["users"].items()}
    holder_rows = data.draw(st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from([None, 0, 1, 2])),
                                     max_size=6), label="holders")
    policy_rows = data.draw(st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from([None, *REGIONS]),
                                               st.integers(0, 6)), max_size=14), label="policies")
    tables = session.metadata().tables
    with storage.begin() as conn:
        conn.execute(tables["claim"].delete())
        conn.execute(tables["policy"].delete())
        conn.execute(tables["policyholder"].delete())
    holders = []
    for owner, office in holder_rows:
        system = install.session("acme").records
        record = system.create("policyholder", {"name": "h", "office": None if office is None else offices[office]})
        with storage.begin() as conn:
            conn.execute(tables["policyholder"].update().where(tables["policyholder"].c.id == record["id"])
                         .values(owner_id=ids_of[owner]))
        holders.append((record["id"], owner, office))
    policies = []
    for owner, region, holder_index in policy_rows:
        holder = holders[holder_index][0] if holder_index < len(holders) else None
        record = install.session("acme").records.create("policy", {"title": "p", "region": region, "holder": holder})
        with storage.begin() as conn:
            conn.execute(tables["policy"].update().where(tables["policy"].c.id == record["id"])
                         .values(owner_id=ids_of[owner]))
        policies.append((record["id"], owner, region, holder))

    for user in USERS:
        mine = {user} | _reports(managers, user)
        my_offices = attrs[user].get("office")
        my_offices = set(my_offices if isinstance(my_offices, list) else [my_offices] if my_offices else [])
        my_regions = attrs[user].get("region")
        my_regions = set(my_regions if isinstance(my_regions, list) else [my_regions] if my_regions else [])
        seen_holders = {h for h, owner, office in holders
                        if owner in mine or (office is not None and offices[office] in my_offices)}
        expected = {pid for pid, owner, region, holder in policies
                    if owner in mine or region in my_regions or holder in seen_holders}
        records = install.session("acme", world["users"][user]).records
        listed, cursor = set(), None
        while True:
            params = [("limit", "3"), ("sort", "-region")] + ([("cursor", cursor)] if cursor else [])
            page = records.list("policy", params)
            listed |= {r["id"] for r in page["items"]}
            cursor = page["next_cursor"]
            if not cursor:
                break
        gettable = set()
        for pid, *_ in policies:
            try:
                records.get("policy", pid)
                gettable.add(pid)
            except NotFound:
                pass
        exported = {r["id"] for r in records.export("policy")}
        assert listed == gettable == exported == expected, user


def test_user_attributes_and_managers_are_checked(acme):
    from engine.errors import ValidationFailed

    storage = acme.storage
    create_user(storage, "a@acme.test")
    create_user(storage, "b@acme.test", manager="a@acme.test", attributes={"agent": 3, "zones": ["n", "s"]})
    with pytest.raises(NotFound):
        create_user(storage, "c@acme.test", manager="nobody@acme.test")
    with pytest.raises(ValidationFailed):
        create_user(storage, "c@acme.test", attributes={"Bad Name": 1})
    with pytest.raises(ValidationFailed):
        create_user(storage, "c@acme.test", attributes={"agent": {"nested": 1}})
    with pytest.raises(ValidationFailed) as loop:
        update_user(storage, "a@acme.test", manager="b@acme.test")
    assert loop.value.code == "manager_cycle"
    with pytest.raises(ValidationFailed):
        update_user(storage, "a@acme.test", manager="a@acme.test")
    changed = update_user(storage, "b@acme.test", manager=None, attributes={"agent": 4}, clear=["zones"])
    assert (changed.manager_id, changed.attributes) == (None, {"agent": 4})


def test_authenticate_returns_manager_and_attributes(install, acme):
    storage = acme.storage
    boss = create_user(storage, "boss@acme.test")
    create_user(storage, "x@acme.test", manager="boss@acme.test", attributes={"agent": 7})
    actor = authenticate(storage, create_token(storage, "x@acme.test"))
    assert (actor.manager_id, actor.attributes) == (boss.id, {"agent": 7})
    token_for(install, "acme", "sub@acme.test")
    sub = update_user(storage, "sub@acme.test", manager="x@acme.test")
    boss_actor = authenticate(storage, create_token(storage, "boss@acme.test"))
    assert boss_actor.reports(storage) == {actor.id, sub.id}
    assert actor.reports(storage) == {sub.id}


def test_applying_only_a_sharing_change_is_a_new_version(install, client, people, book):
    before = install.session("acme").metadata().version
    document = copy.deepcopy(DOC)
    document["entities"][2]["sharing"]["default"] = "read"
    result = install.session("acme").apply_metadata(document).to_dict()
    assert any(c["kind"] == "change_sharing" and not c["ddl"] for c in result["changes"]), result
    assert install.session("acme").metadata().version == before + 1
    assert len(ids(client, people["dan"], "policy")) == 6          # everyone reads now
    assert code(client.patch(f"{API}/records/policy/{book['north']}", json={"title": "x"},
                             headers=people["dan"])) == (403, "read_only")


# -- the command line -------------------------------------------------------------------

def loom(install, *args):
    from click.testing import CliRunner

    from engine.cli import cli

    return CliRunner().invoke(cli, list(args), obj=install)


def test_cli_user_create_update_and_list(install, acme):
    assert loom(install, "user", "create", "acme", "boss@acme.test").exit_code == 0
    result = loom(install, "user", "create", "acme", "ag@acme.test", "--manager", "boss@acme.test",
                  "--attr", "agent=12", "--attr", "region=north", "--attr", "region=east")
    assert result.exit_code == 0, result.output
    [ag] = [a for a in list_users(acme.storage) if a.email == "ag@acme.test"]
    assert ag.attributes == {"agent": 12, "region": ["north", "east"]} and ag.manager_id is not None
    listed = loom(install, "user", "list", "acme").output
    assert "ag@acme.test\tmember\tmanager: boss@acme.test\tattributes: " in listed
    assert '"agent": 12' in listed
    result = loom(install, "user", "update", "acme", "ag@acme.test", "--no-manager", "--role", "admin",
                  "--clear-attr", "region", "--attr", "agency=ACME")
    assert result.exit_code == 0, result.output
    [ag] = [a for a in list_users(acme.storage) if a.email == "ag@acme.test"]
    assert (ag.role, ag.manager_id, ag.attributes) == ("admin", None, {"agent": 12, "agency": "ACME"})
    loop = loom(install, "user", "update", "acme", "boss@acme.test", "--manager", "boss@acme.test")
    assert loop.exit_code == 1 and "loop" in loop.output
    bad = loom(install, "user", "create", "acme", "x@acme.test", "--attr", "novalue")
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output
    missing = loom(install, "user", "create", "acme", "y@acme.test", "--manager", "ghost@acme.test")
    assert missing.exit_code == 1 and "ghost@acme.test" in missing.output


def test_csv_cells_that_a_spreadsheet_would_run_are_defused():
    from engine.records.export import as_csv

    text = "".join(as_csv([{"a": "=HYPERLINK(\"http://x\")", "b": "-12.50", "c": "@SUM(A1)", "d": "plain"}],
                          ["a", "b", "c", "d"]))
    row = text.splitlines()[1]
    assert row.startswith("\"'=HYPERLINK(") and ",-12.50," in row and ",'@SUM(A1)," in row


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(REGIONS + [None]), st.booleans()), min_size=1, max_size=30),
       sort=st.sampled_from(["region", "-region", "region,-id", "-id"]), limit=st.integers(1, 7))
def test_a_member_pages_through_exactly_the_visible_records_in_order(install, acme, rows, sort, limit):
    """With several sharing terms SQLite lists through a UNION of one query per term; on
    both backends the pages, NULLs and cursors included, are the visible rows in order."""
    storage = acme.storage
    for record in acme.records.export("policy"):  # a clean slate: examples share the tenant
        acme.records.delete("policy", record["id"])
    me = create_user(storage, f"pager{len(list_users(storage))}@acme.test", attributes={"region": ["north", "east"]})
    mine = install.session("acme", me).records
    for region, own in rows:
        if own and region in ("north", "east", None):   # a member creates only inside what it sees
            mine.create("policy", {"title": "t", "region": region})
        else:
            acme.records.create("policy", {"title": "t", "region": region})
    everything = list(acme.records.export("policy"))
    expected = [r for r in everything if r["owner_id"] == me.id or r["region"] in ("north", "east")]
    keys = [(k.lstrip("-"), k.startswith("-")) for k in sort.split(",")]
    keys += [] if keys[-1][0] == "id" else [("id", keys[-1][1])]   # the API's tie-breaker
    for name, descending in reversed(keys):
        # stable sorts, last key first; NULL is the smallest value, as in the list API
        expected.sort(key=lambda r: (r[name] is not None, r[name] or 0 if name == "id" else r[name] or ""),
                      reverse=descending)
    seen, cursor = [], None
    while True:
        params = [("sort", sort), ("limit", str(limit))] + ([("cursor", cursor)] if cursor else [])
        page = mine.list("policy", params)
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [r["id"] for r in expected]
