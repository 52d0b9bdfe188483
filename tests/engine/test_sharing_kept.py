"""Sharing terms kept between requests (engine.records.sharing.KeptTerms), on SQLite and
PostgreSQL: a request takes the terms an earlier one built only when they were built from
the same metadata version, the same user, the same reports and the same attributes.  So a
changed manager, a changed attribute and a metadata publication take effect at the next
request; two tenants never share terms; and the terms kept equal the ones built afresh,
whatever the attributes (a property test)."""
from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from engine.auth import Actor, create_token, create_user, list_users, update_user
import engine.records.sharing as sharing_module
from engine.records.sharing import TERMS_HEAVIEST, TERMS_KEPT, TERMS_WEIGHT, Inputs, KeptTerms, Sharing
from tests.engine.test_sharing import API, DOC, acme, book, code, ids, people  # noqa: F401 (fixtures)


def kept(session) -> KeptTerms:
    return session.metadata().memo(("sharing_terms",), KeptTerms)


def test_a_new_manager_takes_effect_at_the_next_request(client, acme, people, book):
    b, p = book, people
    assert client.get(f"{API}/records/policy/{b['ann']}", headers=p["mid"]).status_code == 200
    assert code(client.get(f"{API}/records/policy/{b['ann']}", headers=p["dan"])) == (404, "record_not_found")
    assert len(kept(acme)) > 0  # the requests above kept their terms
    update_user(acme.storage, "ann@acme.test", manager="dan@acme.test")
    assert client.get(f"{API}/records/policy/{b['ann']}", headers=p["dan"]).status_code == 200
    assert ids(client, p["dan"], "policy") == [b["ann"]]
    for former in ("mid", "boss"):
        assert code(client.get(f"{API}/records/policy/{b['ann']}", headers=p[former])) == (404, "record_not_found")
        assert ids(client, p[former], "policy") == []
    update_user(acme.storage, "ann@acme.test", manager="mid@acme.test")  # and back
    assert ids(client, p["boss"], "policy") == [b["ann"]]
    assert ids(client, p["dan"], "policy") == []


def test_a_changed_attribute_takes_effect_at_the_next_request(client, acme, people, book):
    b, p = book, people
    assert ids(client, p["carl"], "policy") == sorted([b["north"], b["east"]])
    update_user(acme.storage, "carl@acme.test", attributes={"region": "south"})
    assert ids(client, p["carl"], "policy") == sorted([b["ann"], b["south"]])  # both south
    assert code(client.get(f"{API}/records/policy/{b['north']}", headers=p["carl"])) == (404, "record_not_found")
    # bob's office reaches the policies of the office's holders (a parent rule, one level down)
    assert ids(client, p["bob"], "policy") == [b["of_h1"]]
    update_user(acme.storage, "bob@acme.test", attributes={"office": p["o2"]})
    assert ids(client, p["bob"], "policy") == [b["of_h2"]]
    assert ids(client, p["bob"], "claim") == [b["claim2"]]
    update_user(acme.storage, "bob@acme.test", clear=["office"])
    assert ids(client, p["bob"], "policy") == [] and ids(client, p["bob"], "claim") == []


def test_a_publication_takes_effect_at_the_next_request(client, acme, people, book):
    b, p = book, people
    assert ids(client, p["carl"], "policy") == sorted([b["north"], b["east"]])
    assert ids(client, p["mid"], "policy") == [b["ann"]]
    doc = copy.deepcopy(DOC)
    policy = next(e for e in doc["entities"] if e["name"] == "policy")
    policy["sharing"] = {"default": "none", "managers": False,
                         "rules": [{"field": "region", "user": "region", "access": "edit"}]}
    assert acme.apply_metadata(doc).applied
    assert ids(client, p["mid"], "policy") == []  # managers no longer see their reports' records
    assert client.patch(f"{API}/records/policy/{b['north']}", json={"title": "x"},
                        headers=p["carl"]).status_code == 200  # region now gives edit
    policy["sharing"]["default"] = "read"
    assert acme.apply_metadata(doc).applied
    assert len(ids(client, p["dan"], "policy")) == 6


def test_tenants_never_share_terms(install, client, acme, people, book):
    install.registry.create("beta", "Beta")
    beta = install.session("beta")
    beta.apply_metadata(copy.deepcopy(DOC))
    create_user(beta.storage, "admin@beta.test", "admin")
    for email in ("boss", "mid", "ann", "bob"):  # the same user ids as in acme, other attributes
        create_user(beta.storage, f"{email}@beta.test")
    create_user(beta.storage, "carl@beta.test", attributes={"region": "west"})
    admin = {"Authorization": f"Bearer {create_token(beta.storage, 'admin@beta.test')}"}
    carl = {"Authorization": f"Bearer {create_token(beta.storage, 'carl@beta.test')}"}
    west, _north = (client.post("/api/v1/t/beta/records/policy", json={"title": region, "region": region},
                                headers=admin).get_json()["id"] for region in ("west", "north"))
    carl_id = {a.email: a.id for a in list_users(beta.storage)}["carl@beta.test"]
    assert carl_id == {a.email: a.id for a in list_users(acme.storage)}["carl@acme.test"]
    assert ids(client, people["carl"], "policy") == sorted([book["north"], book["east"]])
    response = client.get("/api/v1/t/beta/records/policy?limit=200", headers=carl)
    assert [r["id"] for r in response.get_json()["items"]] == [west]
    assert kept(beta) is not kept(acme)


def test_kept_terms_are_bounded():
    terms = KeptTerms()
    for n in range(TERMS_KEPT + 10):
        terms.put(("policy", "read", 0, n, None, ()), (n,))
        assert terms.get(("policy", "read", 0, 0, None, ())) == (0,)  # the most recently used stays
    assert len(terms) == TERMS_KEPT and terms.weight == TERMS_KEPT
    assert terms.get(("policy", "read", 0, 1, None, ())) is None


@settings(max_examples=50, deadline=None)
@given(weights=st.lists(st.integers(1, TERMS_HEAVIEST + 50), min_size=1, max_size=60))
def test_kept_terms_are_bounded_by_weight(weights):
    """Managers of large subtrees weigh what their reports hold: the weight kept never
    passes TERMS_WEIGHT, the last terms put stay when they are not too heavy, and terms
    heavier than TERMS_HEAVIEST are given back, never kept."""
    terms = KeptTerms()
    for n, weight in enumerate(weights):
        assert terms.put(("policy", "read", 0, n), (n,), weight) == (n,)
        assert terms.weight <= TERMS_WEIGHT and len(terms) <= TERMS_KEPT
        assert (terms.get(("policy", "read", 0, n)) == (n,)) == (weight <= TERMS_HEAVIEST)
    kept_weights = [w for n, w in enumerate(weights) if terms.get(("policy", "read", 0, n)) is not None]
    assert terms.weight == sum(kept_weights) and len(terms) == len(kept_weights)
    terms.put(("policy", "read", 0, 0), (0,), 1)  # putting a key again replaces its weight
    assert terms.weight <= sum(kept_weights) + 1


def test_a_large_subtree_is_not_kept_yet_shared(client, acme, people, book, monkeypatch):
    """A manager whose reports pass TERMS_HEAVIEST gets its terms built for each request:
    none are kept, and it still sees its reports' records; smaller ones are kept."""
    b, p = book, people
    monkeypatch.setattr(sharing_module, "TERMS_HEAVIEST", 0)
    assert ids(client, p["mid"], "policy") == [b["ann"]]
    assert client.get(f"{API}/records/policy/{b['ann']}", headers=p["mid"]).status_code == 200
    assert len(kept(acme)) == 0 and kept(acme).weight == 0
    monkeypatch.setattr(sharing_module, "TERMS_HEAVIEST", 10)
    assert ids(client, p["mid"], "policy") == [b["ann"]]
    assert len(kept(acme)) > 0 and kept(acme).weight >= len(kept(acme))


def test_terms_asking_for_inputs_they_lack_fail():
    """Terms are built from their Inputs alone: what was not read of the actor for
    their key is not there to read."""
    inputs = Inputs(7, None, {"region": ["north"]})
    assert inputs.attribute("region") == ["north"] and inputs.narrowed((False, ())).key == (7, None, "{}")
    with pytest.raises(LookupError, match="office"):
        inputs.attribute("office")
    with pytest.raises(LookupError, match="reports"):
        inputs.owners()
    with pytest.raises(LookupError, match="reports"):
        inputs.narrowed((True, ()))
    assert Inputs(7, frozenset({9, 8}), {}).owners() == [7, 8, 9]
    assert Inputs(7, None, {"r": [1]}).key != Inputs(7, None, {"r": [True]}).key


ATTRIBUTE = st.one_of(st.sampled_from(["north", "south", "east", "1", "", "True"]), st.integers(0, 3),
                      st.booleans(), st.sampled_from([1.0, 2.5]))
ATTRIBUTES = st.dictionaries(st.sampled_from(["region", "office", "other"]),
                             st.one_of(ATTRIBUTE, st.lists(ATTRIBUTE, max_size=3)), max_size=3)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(["mid", "bob", "carl", "dan"]), ATTRIBUTES), min_size=1, max_size=6))
def test_kept_terms_equal_terms_built_afresh(acme, people, steps):
    """Each step: a user with other attributes; its terms as kept (from every step before,
    under the one metadata version) and as built on a copy of the metadata that keeps none."""
    metadata = acme.metadata()
    users = {a.email.split("@")[0]: a for a in list_users(acme.storage)}
    dialect = postgresql.dialect() if acme.storage.dialect == "postgresql" else sqlite.dialect()

    def sql(clause):
        if clause is None:
            return None
        return str(clause.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))

    for name, attributes in steps:
        user = users[name]
        actor = Actor(user.id, user.email, user.role, manager_id=user.manager_id, attributes=attributes)
        sharing = Sharing(metadata, actor, acme.storage)
        afresh = Sharing(replace(metadata), actor, acme.storage)  # a new memo: nothing kept
        for entity_name in ("policyholder", "policy", "claim"):
            entity = metadata.entity(entity_name)
            for clause in ("read_clause", "edit_clause"):
                assert sql(getattr(sharing, clause)(entity)) == sql(getattr(afresh, clause)(entity)), \
                    (name, attributes, entity_name, clause)


def test_why_names_the_terms_built_from_the_same_inputs(client, acme, people, book):
    """The admin's "why can they see this?" labels the terms built from the same Inputs
    as a request's: the owner term (with managers), a field rule, a parent rule."""
    b, p = book, people
    users = {a.email.split("@")[0]: a.id for a in list_users(acme.storage)}

    def why(name, entity, record):
        response = client.get(f"{API}/users/{users[name]}/why?entity={entity}&record={record}", headers=p["admin"])
        assert response.status_code == 200, response.get_json()
        return response.get_json()["record"]

    mid = why("mid", "policy", b["ann"])
    assert mid["may_read"] and mid["sharing"]["read"] == [{"term": "owner", "managers": True}]
    carl = why("carl", "policy", b["north"])
    assert [t["term"] for t in carl["sharing"]["read"]] == ["rule"] and carl["sharing"]["read"][0]["index"] == 0
    assert carl["sharing"]["edit"] == [] and not carl["may_edit"]
    bob = why("bob", "policy", b["of_h1"])
    assert [(t["term"], t.get("index")) for t in bob["sharing"]["read"]] == [("rule", 1)]
    assert why("dan", "policy", b["north"])["sharing"] == {"read": [], "edit": []}
    holder = why("bob", "policyholder", b["h1"])["sharing"]
    assert holder["read"] == holder["edit"] == [{"term": "rule", "index": 0,
                                                 "rule": {"field": "office", "user": "office", "access": "edit"}}]
    doc = copy.deepcopy(DOC)
    next(e for e in doc["entities"] if e["name"] == "policy")["sharing"]["default"] = "read"
    assert acme.apply_metadata(doc).applied
    dan = why("dan", "policy", b["north"])
    assert dan["sharing"] == {"read": [{"term": "default", "default": "read"}], "edit": []} and dan["may_read"]
