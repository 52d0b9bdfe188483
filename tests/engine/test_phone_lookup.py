"""Acceptance 3 of issue 13, on SQLite and PostgreSQL: a number stored in any written form
is found from any other — by `GET …/records/party?phone=`, by the list's `?q=` and by the
search index behind the header's search box — and a value that is no phone number is a
400 naming the parameter, not a 500 nor an empty page. `?email=` finds an address in
any case."""
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from engine.records.search_index import find
from tests.conftest import token_for

BASE = "/api/v1/t/calls"
DOC = {"entities": [{"name": "party", "fields": [
    {"name": "name", "type": "string"},
    {"name": "phone", "type": "phone"},
    {"name": "mobile", "type": "phone"},
    {"name": "email", "type": "email"},
]}, {"name": "call", "fields": [{"name": "caller", "type": "phone"}]}]}
FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")


def written(national: str, form: int) -> str:
    """One of the ways people write a Chinese mobile number: the first STORED a phone
    field accepts; the others (full-width digits, a bracketed code) only a query."""
    a, b, c = national[:3], national[3:7], national[7:]
    return [f"+86 {a} {b} {c}", f"0086-{a}-{b}-{c}", f"{a}-{b}-{c}", national, f"+86{national}",
            f"0086 {national}", f"{a}.{b}.{c}", f"(+86) {a} {b} {c}", f"+86 {a} {b} {c}".translate(FULL_WIDTH),
            f"{a} {b} {c}".translate(FULL_WIDTH)][form]


STORED, FORMS = 7, 10
numbers = st.tuples(st.sampled_from("3456789"), st.text("0123456789", min_size=9, max_size=9)).map(
    lambda t: "1" + "".join(t))


@pytest.fixture
def calls(install, client):
    install.registry.create("calls", "Calls")
    install.session("calls").apply_metadata(DOC)
    headers = {"Authorization": f"Bearer {token_for(install, 'calls', 'agent@calls.example', 'admin')}"}
    return install, client, headers


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(national=numbers, stored=st.integers(0, STORED - 1), asked=st.integers(0, FORMS - 1),
       in_mobile=st.booleans())
def test_any_written_form_of_a_stored_number_finds_it(calls, national, stored, asked, in_mobile):
    install, client, headers = calls
    field = "mobile" if in_mobile else "phone"
    made = client.post(f"{BASE}/records/party", headers=headers, json={"name": "x", field: written(national, stored)})
    assert made.status_code == 201, made.get_json()
    record_id, query = made.get_json()["id"], written(national, asked)
    by_phone = client.get(f"{BASE}/records/party?phone={quote(query)}", headers=headers).get_json()
    assert record_id in [r["id"] for r in by_phone["items"]]
    by_q = client.get(f"{BASE}/records/party?q={quote(national)}&limit=200", headers=headers).get_json()
    assert record_id in [r["id"] for r in by_q["items"]]
    session = install.session("calls")
    found = find(session.storage, session.metadata(), query, ["party"], 50)
    assert ("party", record_id) in [(entity, rid) for entity, rid, _rank in found]


def test_lookups_by_key_and_what_they_refuse(calls):
    install, client, headers = calls
    zhang = client.post(f"{BASE}/records/party", headers=headers,
                        json={"name": "张伟", "phone": "+86 10 6500 1000", "mobile": "138 0013 8001",
                              "email": "Zhang.Wei@Example.CN"}).get_json()
    other = client.post(f"{BASE}/records/party", headers=headers, json={"name": "李娜", "phone": "13800138002"}).get_json()
    assert zhang["phone"] == "+86 10 6500 1000"  # what was typed is what the API returns

    def ids(query):
        answer = client.get(f"{BASE}/records/party?{query}", headers=headers)
        assert answer.status_code == 200, answer.get_json()
        return [r["id"] for r in answer.get_json()["items"]]

    assert ids("phone=010-6500-1000") == [zhang["id"]]  # the landline, with its trunk 0
    assert ids(f"phone={quote('+8613800138001')}") == [zhang["id"]]  # the mobile field: any phone field
    assert ids("phone=13800138002") == [other["id"]]
    assert ids("phone=13900000000") == []
    assert ids(f"phone__eq={quote('+86 10 6500 1000')}") == [zhang["id"]]  # an operator: what was typed
    assert ids("phone__eq=010-6500-1000") == []
    assert ids("email=zhang.wei@example.cn") == ids(f"email={quote(' ZHANG.WEI@EXAMPLE.CN ')}") == [zhang["id"]]
    for bad in ("abc", "12", quote("+86")):
        answer = client.get(f"{BASE}/records/party?phone={bad}", headers=headers)
        assert answer.status_code == 400, (bad, answer.get_json())
        [detail] = answer.get_json()["error"]["details"]
        assert detail["field"] == "phone" and "is not a phone number" in detail["message"]
    # An entity without a field named phone is looked up by its phone fields all the same.
    call = client.post(f"{BASE}/records/call", headers=headers, json={"caller": "+86 138 0013 8001"}).get_json()
    assert [r["id"] for r in client.get(f"{BASE}/records/call?phone=13800138001", headers=headers)
            .get_json()["items"]] == [call["id"]]
    spec = client.get(f"{BASE}/openapi.json", headers=headers).get_json()
    described = {p["name"]: p.get("description") for p in spec["paths"]["/records/call"]["get"]["parameters"]}
    assert described["phone"].startswith("look up a phone number in any written form: records whose caller")
    described = {p["name"]: p.get("description") for p in spec["paths"]["/records/party"]["get"]["parameters"]}
    assert "records whose phone, mobile hold it" in described["phone"] and "email" in described
