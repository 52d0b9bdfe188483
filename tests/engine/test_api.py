"""The REST API on SQLite and PostgreSQL: records, batch, metadata, bearer tokens per
tenant, and JSON errors (never a 500) for any input, fuzzed with hypothesis."""
import copy
import json
import string
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.app import create_app
from engine.problem_codes import CODES
from tests.conftest import crm_document, token_for

BASE = "/api/v1/t/acme"
ANN = {"full_name": "Ann Lee", "email": "ann@example.org", "tier": "gold"}


@pytest.fixture
def admin(install, acme):
    return {"Authorization": f"Bearer {token_for(install, 'acme', 'admin@acme.example', 'admin')}"}


@pytest.fixture
def member(install, acme):
    return {"Authorization": f"Bearer {token_for(install, 'acme', 'member@acme.example')}"}


def assert_error(response, status, code=None):
    """The one error shape: {"error": {"code", "message", "details"?: [{"field", "code", "message"}]}},
    a detail of a record problem's code adding exactly the details that code declares."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    error = response.get_json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"code", "message", "details"}
    for detail in error.get("details", []):
        declared = set(CODES[detail["code"]].details) if detail.get("code") in CODES else set()
        assert isinstance(detail["message"], str) and set(detail) <= {"field", "message", "code"} | declared
    if code:
        assert error["code"] == code
    return error


# -- records ----------------------------------------------------------------------------------------

def test_post_creates_a_record_and_answers_201_with_it(client, member):
    response = client.post(f"{BASE}/records/contact", json=ANN, headers=member)
    assert response.status_code == 201
    record = response.get_json()
    assert record["id"] == 1 and record["version"] == 1 and record["full_name"] == "Ann Lee"
    assert response.headers["Location"] == f"{BASE}/records/contact/1"
    assert response.headers["ETag"] == '"1"'
    assert client.get(f"{BASE}/records/contact/1", headers=member).get_json() == record


def test_patch_changes_the_given_fields_and_delete_removes_the_record(client, member):
    client.post(f"{BASE}/records/contact", json=ANN, headers=member)
    patched = client.patch(f"{BASE}/records/contact/1", json={"tier": "silver"}, headers=member)
    assert patched.status_code == 200 and patched.get_json()["tier"] == "silver"
    assert patched.headers["ETag"] == '"2"'
    deleted = client.delete(f"{BASE}/records/contact/1", headers=member)
    assert deleted.status_code == 200 and deleted.get_json()["deleted"] is True
    assert_error(client.get(f"{BASE}/records/contact/1", headers=member), 404, "record_not_found")


def test_list_answers_items_and_next_cursor_with_the_query_language(client, member):
    for i, tier in enumerate(["gold", "silver", "gold", "gold"]):
        client.post(f"{BASE}/records/contact", json={"full_name": f"C{i}", "tier": tier, "lifetime_value": i},
                    headers=member)
    query = "tier=gold&lifetime_value__gte=1&sort=-lifetime_value&limit=1&fields=full_name,tier"
    first = client.get(f"{BASE}/records/contact?{query}", headers=member).get_json()
    assert first["items"] == [{"id": 4, "version": 1, "full_name": "C3", "tier": "gold"}]
    second = client.get(f"{BASE}/records/contact?{query}&cursor={first['next_cursor']}", headers=member).get_json()
    assert [r["full_name"] for r in second["items"]] == ["C2"] and second["next_cursor"] is None
    assert [r["id"] for r in client.get(f"{BASE}/records/contact?q=c1", headers=member).get_json()["items"]] == [2]
    error = assert_error(client.get(f"{BASE}/records/contact?limit=201&colour=red", headers=member), 400, "bad_query")
    assert {d["field"] for d in error["details"]} == {"limit", "colour"}


def test_batch_creates_all_records_or_none(client, member):
    good = client.post(f"{BASE}/records/contact/batch", json={"records": [{"full_name": "A"}, {"full_name": "B"}]},
                       headers=member)
    assert good.status_code == 201 and good.get_json() == {"created": 2, "ids": [1, 2]}
    bad = client.post(f"{BASE}/records/contact/batch",
                      json={"records": [{"full_name": "C"}, {"full_name": "D", "tier": "x"}]}, headers=member)
    error = assert_error(bad, 400, "validation_failed")
    assert [d["field"] for d in error["details"]] == ["/1/tier"]
    assert len(client.get(f"{BASE}/records/contact", headers=member).get_json()["items"]) == 2
    for body in ({}, {"records": []}, {"records": "x"}, {"records": [{}], "extra": 1}):
        assert_error(client.post(f"{BASE}/records/contact/batch", json=body, headers=member), 400)


def test_history_lists_the_audit_trail_also_after_delete(client, member):
    client.post(f"{BASE}/records/contact", json=ANN, headers=member)
    client.patch(f"{BASE}/records/contact/1", json={"tier": "silver"}, headers=member)
    client.delete(f"{BASE}/records/contact/1", headers=member)
    items = client.get(f"{BASE}/records/contact/1/history", headers=member).get_json()["items"]
    assert [(i["action"], i["version"]) for i in items] == [("create", 1), ("update", 2), ("delete", 2)]
    assert items[1]["changes"] == {"tier": ["gold", "silver"]} and items[0]["at"].endswith("Z")
    assert_error(client.get(f"{BASE}/records/contact/2/history", headers=member), 404)
    assert_error(client.get(f"{BASE}/records/contact/x/history", headers=member), 404)


# -- optimistic locking ----------------------------------------------------------------------------

def test_update_with_stale_if_match_is_refused_with_412_and_changes_nothing(client, member):
    client.post(f"{BASE}/records/contact", json=ANN, headers=member)
    current = client.patch(f"{BASE}/records/contact/1", json={"tier": "silver"},
                           headers={**member, "If-Match": '"1"'}).get_json()
    stale = client.patch(f"{BASE}/records/contact/1", json={"tier": "diamond"}, headers={**member, "If-Match": '"1"'})
    assert_error(stale, 412, "stale_version")
    stale_body = client.patch(f"{BASE}/records/contact/1", json={"tier": "diamond", "version": 1}, headers=member)
    assert_error(stale_body, 412, "stale_version")
    assert client.get(f"{BASE}/records/contact/1", headers=member).get_json() == current


def test_delete_with_stale_if_match_is_refused_with_412_and_deletes_nothing(client, member):
    client.post(f"{BASE}/records/contact", json=ANN, headers=member)
    client.patch(f"{BASE}/records/contact/1", json={"tier": "silver"}, headers=member)
    assert_error(client.delete(f"{BASE}/records/contact/1", headers={**member, "If-Match": '"1"'}), 412)
    assert client.get(f"{BASE}/records/contact/1", headers=member).status_code == 200
    for body, status, code in (({"version": 1}, 412, "stale_version"), ({"anything": "goes"}, 400, "validation_failed"),
                               ({"version": "two"}, 400, "validation_failed")):
        assert_error(client.delete(f"{BASE}/records/contact/1", json=body, headers=member), status, code)
    disagree = client.delete(f"{BASE}/records/contact/1", json={"version": 2}, headers={**member, "If-Match": '"1"'})
    assert_error(disagree, 400, "validation_failed")
    assert client.get(f"{BASE}/records/contact/1", headers=member).status_code == 200
    assert client.delete(f"{BASE}/records/contact/1", json={"version": 2}, headers=member).status_code == 200


# -- metadata -------------------------------------------------------------------------------------

def with_field(document, field):
    document = copy.deepcopy(document)
    document["entities"][1]["fields"].append(field)
    return document


def test_metadata_can_be_read_and_applied_by_an_admin(client, admin):
    current = client.get(f"{BASE}/metadata", headers=admin).get_json()
    assert current["version"] == 1 and [e["name"] for e in current["document"]["entities"]] == ["account", "contact"]
    document = with_field(crm_document(), {"name": "vip", "type": "boolean"})
    dry = client.put(f"{BASE}/metadata?dry_run=true", json=document, headers=admin).get_json()
    assert dry["dry_run"] is True and dry["applied"] is False and dry["changes"][0]["field"] == "vip"
    assert client.get(f"{BASE}/metadata", headers=admin).get_json()["version"] == 1
    applied = client.put(f"{BASE}/metadata", json=document, headers=admin)
    assert applied.status_code == 200 and applied.get_json()["version"] == 2
    created = client.post(f"{BASE}/records/contact", json={"full_name": "V", "vip": True}, headers=admin)
    assert created.get_json()["vip"] is True
    history = client.get(f"{BASE}/metadata/history", headers=admin).get_json()["items"]
    assert [h["version"] for h in history] == [1, 2] and history[0]["applied_at"].endswith("Z")


def test_metadata_refuses_destructive_changes_unless_allow_drop(client, admin):
    client.post(f"{BASE}/records/contact", json=ANN, headers=admin)
    document = copy.deepcopy(crm_document())
    document["entities"][1]["fields"] = [f for f in document["entities"][1]["fields"] if f["name"] != "tier"]
    error = assert_error(client.put(f"{BASE}/metadata", json=document, headers=admin), 409, "destructive_change")
    assert error["details"][0]["field"] == "contact.tier"
    assert client.put(f"{BASE}/metadata?allow_drop=true", json=document, headers=admin).get_json()["version"] == 2
    assert "tier" not in client.get(f"{BASE}/records/contact/1", headers=admin).get_json()
    rolled = client.post(f"{BASE}/metadata/rollback/1", headers=admin)
    assert rolled.status_code == 200 and rolled.get_json()["version"] == 3
    assert client.get(f"{BASE}/records/contact/1", headers=admin).get_json()["tier"] == "gold"


def test_an_invalid_metadata_document_is_a_400_with_json_paths(client, admin):
    bad = {"entities": [{"name": "Bad Name", "fields": [{"name": "x", "type": "nope"}]}]}
    error = assert_error(client.put(f"{BASE}/metadata", json=bad, headers=admin), 400, "invalid_metadata")
    assert {d["field"] for d in error["details"]} >= {"/entities/0/name", "/entities/0/fields/0/type"}
    assert_error(client.put(f"{BASE}/metadata?dry_run=perhaps", json=crm_document(), headers=admin), 400)
    for version in ("99", "0", "abc", "9" * 30):
        assert_error(client.post(f"{BASE}/metadata/rollback/{version}", headers=admin), 404)


@pytest.mark.parametrize("method, path, refused", [
    ("GET", "/metadata", "only a tenant admin may read the full metadata document; "
                         "members read GET /api/v1/t/acme/metadata/app"),
    ("PUT", "/metadata", "only a tenant admin may change metadata"),
    ("PUT", "/metadata?dry_run=true", "only a tenant admin may change metadata"),
    ("GET", "/metadata/history", "only a tenant admin may read the metadata history; "
                                 "members read GET /api/v1/t/acme/metadata/app"),
    ("POST", "/metadata/rollback/1", "only a tenant admin may roll metadata back")])
def test_metadata_is_for_admins_only_and_the_refusal_says_what_was_refused(client, member, method, path, refused):
    for body in (json.dumps(crm_document()), "{not json"):
        response = client.open(f"{BASE}{path}", method=method, data=body, headers=member,
                               content_type="application/json")
        assert assert_error(response, 403, "admin_only")["message"] == refused


@pytest.mark.parametrize("field", [{"name": "nick", "type": "string", "default": "x\u0000y"},
                                   {"name": "grade", "type": "choice", "options": ["a\u0000", "b"]},
                                   {"name": "nick", "type": "string", "label": {"en": "N\ud800"}}])
def test_metadata_text_no_database_stores_is_refused_before_anything_is_applied(client, admin, field):
    client.post(f"{BASE}/records/contact", json=ANN, headers=admin)  # rows a default would fill
    before = client.get(f"{BASE}/metadata/history", headers=admin).get_json()
    for path in ("/metadata?dry_run=true", "/metadata"):
        answer = client.put(f"{BASE}{path}", json=with_field(crm_document(), field), headers=admin)
        error = assert_error(answer, 400, "invalid_metadata")
        assert [d["code"] for d in error["details"]] == ["unstorable_text"]
    assert client.get(f"{BASE}/metadata/history", headers=admin).get_json() == before


# -- tokens and tenants ----------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}, {"Authorization": "Bearer"},
                                     {"Authorization": "Bearer   "}, {"Authorization": "Basic dXNlcjpwdw=="}])
def test_a_call_without_a_bearer_token_is_a_401(client, acme, headers):
    for method, path in (("GET", "/records/contact"), ("POST", "/records/contact"), ("GET", "/metadata"),
                         ("GET", "/openapi.json"), ("GET", "/records/contact/1")):
        assert_error(client.open(f"{BASE}{path}", method=method, headers=headers, json={}), 401, "unauthorized")


def test_a_token_works_only_for_its_own_tenant_and_reveals_nothing_elsewhere(install, client, acme, member):
    install.registry.create("beta", "Beta")
    install.session("beta").apply_metadata(crm_document())
    beta = {"Authorization": f"Bearer {token_for(install, 'beta', 'b@beta.example', 'admin')}"}
    client.post(f"{BASE}/records/contact", json=ANN, headers=member)
    wrong_tenant = client.get(f"{BASE}/records/contact/1", headers=beta)
    unknown_tenant = client.get("/api/v1/t/nowhere/records/contact/1", headers=member)
    bad_token = client.get(f"{BASE}/records/contact/1", headers={"Authorization": "Bearer loom_forged"})
    odd_slug = client.get("/api/v1/t/Not_A-Slug!/records/contact/1", headers=member)
    bodies = {r.get_data() for r in (wrong_tenant, unknown_tenant, odd_slug)}
    assert len(bodies) == 1
    assert_error(wrong_tenant, 404)
    assert_error(bad_token, 401, "invalid_token")
    for method, path in (("GET", "/records/contact/1"), ("PATCH", "/records/contact/1"),
                         ("DELETE", "/records/contact/1"), ("POST", "/records/contact"), ("GET", "/metadata"),
                         ("GET", "/records/contact"), ("GET", "/openapi.json"), ("POST", "/records/contact/batch")):
        response = client.open(f"{BASE}{path}", method=method, headers=beta, json={"records": [ANN]})
        assert response.get_data() == wrong_tenant.get_data()
    assert client.get(f"{BASE}/records/contact/1", headers=member).status_code == 200


def test_two_tenants_with_different_contact_definitions_do_not_see_each_other(install, client, member):
    install.registry.create("beta", "Beta")
    install.session("beta").apply_metadata({"entities": [{"name": "contact", "fields": [
        {"name": "nickname", "type": "string", "required": True}]}]})
    beta = {"Authorization": f"Bearer {token_for(install, 'beta', 'b@beta.example')}"}
    ours = client.post(f"{BASE}/records/contact", json=ANN, headers=member).get_json()
    theirs = client.post("/api/v1/t/beta/records/contact", json={"nickname": "bee"}, headers=beta).get_json()
    assert ours["id"] == theirs["id"] == 1 and "full_name" not in theirs and "nickname" not in ours
    assert client.get("/api/v1/t/beta/records/contact", headers=beta).get_json()["items"] == [theirs]
    assert client.get(f"{BASE}/records/contact", headers=member).get_json()["items"] == [ours]
    assert_error(client.post("/api/v1/t/beta/records/contact", json=ANN, headers=beta), 400)
    beta_spec = client.get("/api/v1/t/beta/openapi.json", headers=beta).get_json()
    assert list(beta_spec["components"]["schemas"]["ContactCreate"]["properties"]) == ["nickname"]


# -- bad input: a clear 4xx, never a 500 --------------------------------------------------------------

@pytest.mark.parametrize("data, status", [
    ("{bad json", 400), ("", 400), ("[1, 2]", 400), ('"text"', 400), ("42", 400), ("null", 400),
    ('{"full_name": NaN}', 400), ('{"full_name": "x", "lifetime_value": 1e999}', 400),
    ('{"full_name": Infinity}', 400), ("[" * 5000 + "]" * 5000, 400), ('{"a":' * 40 + "1" + "}" * 40, 400),
    ('{"full_name": "\\ud800"}', 400), ('{"full_name": "a\\u0000b"}', 400), (b"\xff\xfe\x00", 400),
    ('{"full_name": ' + "9" * 5000 + "}", 400), ('{"full_name": 5, "tier": [], "email": {}}', 400),
    ('{"full_name": "x", "nope": 1}', 400), ('{"full_name": "x", "id": 3}', 400),
])
def test_a_bad_body_is_a_json_4xx(client, member, data, status):
    for method, path in (("POST", "/records/contact"), ("PATCH", "/records/contact/1"),
                         ("POST", "/records/contact/batch")):
        client.post(f"{BASE}/records/contact", json={"full_name": "seed"}, headers=member)
        response = client.open(f"{BASE}{path}", method=method, data=data, headers=member,
                               content_type="application/json")
        assert_error(response, status)


@pytest.mark.parametrize("data, key", [
    ('{"full_name": "Ann", "email": "a@x.org", "full_name": "Bo"}', "full_name"),
    ('{"full_name": "Ann", "email": "a@x.org", "email": "b@x.org"}', "email"),
    ('[{"full_name": "Ann"}, {"full_name": "Bo", "tier": "gold", "tier": "silver"}]', "tier"),
])
def test_a_body_naming_a_key_twice_is_refused_and_nothing_is_written(client, member, data, key):
    seed = client.post(f"{BASE}/records/contact", json={"full_name": "seed"}, headers=member).get_json()
    path = "/records/contact/batch" if data.startswith("[") else "/records/contact"
    for method, where in (("POST", path), ("PATCH", f"/records/contact/{seed['id']}")):
        response = client.open(f"{BASE}{where}", method=method, data=data, headers=member,
                               content_type="application/json")
        assert_error(response, 400, "bad_body")
        assert f"names the key '{key}' twice" in response.get_json()["error"]["message"]
    items = client.get(f"{BASE}/records/contact", headers=member).get_json()["items"]
    assert [(r["full_name"], r["email"], r["version"]) for r in items] == [("seed", None, 1)]


def test_a_number_with_more_digits_than_a_json_number_keeps_is_refused_never_rounded(client, member):
    long = client.post(f"{BASE}/records/contact", headers=member, content_type="application/json",
                       data='{"full_name": "Ann", "lifetime_value": 99999999.9999999999999}')
    assert_error(long, 400, "bad_body")
    assert '"99999999.9999999999999"' in long.get_json()["error"]["message"]  # what to send instead
    as_text = client.post(f"{BASE}/records/contact", json={"full_name": "Ann", "lifetime_value": "99999999.9999999999999"},
                          headers=member)
    assert_error(as_text, 400, "validation_failed")  # the field's own rule, not a rounded value
    assert client.get(f"{BASE}/records/contact", headers=member).get_json()["items"] == []
    short = client.post(f"{BASE}/records/contact", headers=member, content_type="application/json",
                        data='{"full_name": "Bo", "lifetime_value": 4300.5}')
    assert short.status_code == 201 and short.get_json()["lifetime_value"] == "4300.50"


def test_text_that_spells_no_characters_is_refused_never_kept_as_escapes(client, member):
    odd = client.get(f"{BASE}/records/contact?full_name=Li%ED%A0%80Lei", headers=member)
    assert_error(odd, 400, "not_utf8")
    assert client.get(f"{BASE}/records/contact?full_name=%E5%BC%A0%E4%BC%9F+x", headers=member).status_code == 200


def test_unicode_is_kept_as_sent(client, member):
    name = "Zoë 名前 😀 \u202e"
    record = client.post(f"{BASE}/records/contact", json={"full_name": name}, headers=member).get_json()
    assert client.get(f"{BASE}/records/contact/{record['id']}", headers=member).get_json()["full_name"] == name
    assert client.get(f"{BASE}/records/contact?full_name={quote(name)}", headers=member).get_json()["items"]


ITEMS = ["/records/nope/1", "/records/contact/abc", "/records/contact/-1", "/records/contact/1.5",
         "/records/contact/99999999999999999999999", "/records/contact/0", "/records/contact/%00",
         "/records/contact/%EF%BC%91", "/records/contact/1_0", "/records/contact/2", "/records/contact/%2F1",
         "/records//contact/1"]
COLLECTIONS = ["/records/nope", "/records/%F0%9F%98%80", "/records/contact%00", "/records/contact/"]


@pytest.mark.parametrize("method, path", [(m, p) for p in ITEMS for m in ("GET", "PATCH", "DELETE")]
                         + [(m, p) for p in COLLECTIONS for m in ("GET", "POST")]
                         + [("GET", "/records/contact/1/nothing"), ("GET", "/nothing"),
                            ("POST", "/records/nope/batch")])
def test_unknown_entities_records_and_paths_are_json_404s(client, member, method, path):
    client.post(f"{BASE}/records/contact", json=ANN, headers=member)
    body = {"records": [ANN]} if path.endswith("/batch") else ANN
    assert_error(client.open(f"{BASE}{path}", method=method, headers=member, json=body), 404)
    assert client.get(f"{BASE}/records/contact/1", headers=member).get_json()["version"] == 1


def test_an_oversized_body_is_a_json_413(install, acme, member):
    client = create_app(install, {"TESTING": True, "MAX_CONTENT_LENGTH": 1024}).test_client()
    response = client.post(f"{BASE}/records/contact", data=json.dumps({"full_name": "x" * 2000}),
                           headers=member, content_type="application/json")
    assert_error(response, 413)


def test_wrong_methods_are_json_405s(client, member):
    assert_error(client.put(f"{BASE}/records/contact", json={}, headers=member), 405)
    assert_error(client.post(f"{BASE}/records/contact/1", json={}, headers=member), 405)


# -- fuzz ---------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**80, max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12)
field_names = st.sampled_from(["full_name", "email", "phone", "birthday", "tier", "lifetime_value",
                               "consent_marketing", "account", "id", "version", "created_at"]) | st.text(max_size=10)
bodies = (st.dictionaries(field_names, json_values, max_size=6) | json_values).map(json.dumps) \
    | st.binary(max_size=40).map(lambda b: b.decode("latin-1"))
query_keys = st.sampled_from(["q", "sort", "limit", "cursor", "fields", "full_name", "tier__in", "birthday__gt",
                              "lifetime_value__lte", "account__isnull", "email__contains", "id", "created_at__gte",
                              "phone__startswith", "nope__eq", "tier__bogus"]) | st.text(max_size=8)
query_values = st.text(max_size=20) | st.sampled_from(["-id", "full_name,-tier", "2024-01-01T00:00:00Z", "1,2",
                                                        "true", "50", "0", "201", "eyJzIjoiaWQiLCJ2IjpbMV19"])
queries = st.lists(st.tuples(query_keys, query_values), max_size=5)
paths = st.sampled_from(["/records/contact", "/records/contact/1", "/records/contact/batch", "/records/account",
                         "/records/contact/1/history", "/metadata", "/records/nope"]) \
    | st.text(alphabet=string.printable, max_size=12).map(lambda s: "/records/contact/" + quote(s, safe=""))


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT"]), path=paths, body=bodies, query=queries,
       if_match=st.none() | st.text(max_size=8).filter(lambda s: "\n" not in s and "\r" not in s))
def test_fuzzed_requests_never_cause_a_500_and_errors_have_the_json_shape(client, member, method, path, body,
                                                                          query, if_match):
    headers = dict(member)
    if if_match is not None:
        headers["If-Match"] = if_match
    url = f"{BASE}{path}?{urlencode(query)}"
    response = client.open(url, method=method, data=body.encode("utf-8", "surrogatepass"), headers=headers,
                           content_type="application/json")
    assert response.status_code < 500, (method, url, body, response.get_data(as_text=True))
    assert response.is_json
    if response.status_code >= 400:
        assert_error(response, response.status_code)
