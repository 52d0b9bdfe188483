"""Encryption at rest of identity and sensitive fields, on SQLite and PostgreSQL: values
round-trip, the columns hold no clear text, equality filters and uniqueness work through
the keyed hash, other comparisons are refused, publishing a change of class encrypts or
decrypts the stored values, and a missing or wrong master key is a clear error."""
import base64
import secrets

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from sqlalchemy import MetaData, Table, select

from engine.errors import BadQuery, Conflict
from tests.conftest import token_for

ID_NUMBER = "110101199003078515"
DOC = {"entities": [{"name": "customer", "fields": [
    {"name": "name", "type": "string", "pii": "contact"},
    {"name": "id_number", "type": "string", "max_length": 18, "pii": "identity", "unique": True},
    {"name": "diagnosis", "type": "text", "pii": "sensitive"},
    {"name": "born", "type": "date", "pii": "identity"},
    {"name": "score", "type": "decimal", "pii": "sensitive"},
]}]}


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def master(monkeypatch):
    key = new_key()
    monkeypatch.setenv("LOOM_MASTER_KEY", key)
    monkeypatch.delenv("LOOM_MASTER_KEY_FILE", raising=False)
    return key


@pytest.fixture
def shop(install, master):
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(DOC)
    return session


def raw_rows(session, name="customer") -> list[dict]:
    """The table's rows as the database holds them (reflected: no decrypting types)."""
    with session.storage.connect() as conn:
        table = Table(name, MetaData(), autoload_with=conn, schema=session.storage.schema)
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def test_values_round_trip_and_the_columns_hold_no_clear_text(shop):
    record = shop.records.create("customer", {"name": "王伟", "id_number": ID_NUMBER, "diagnosis": "哮喘 asthma",
                                             "born": "1990-03-07", "score": "12.50"})
    got = shop.records.get("customer", record["id"])
    assert {k: got[k] for k in ("name", "id_number", "diagnosis", "born", "score")} == {
        "name": "王伟", "id_number": ID_NUMBER, "diagnosis": "哮喘 asthma", "born": "1990-03-07", "score": "12.50"}
    [row] = raw_rows(shop)
    assert row["name"] == "王伟"  # contact: not encrypted
    stored = " ".join(str(row[c]) for c in ("id_number", "diagnosis", "born", "score"))
    for clear in (ID_NUMBER, "哮喘", "asthma", "1990", "12.50"):
        assert clear not in stored
    assert row["id_number"].startswith("v1:k1:") and len(row["id_number__hash"]) == 64
    assert row["diagnosis"] != shop.records.update("customer", record["id"], {"diagnosis": "哮喘 asthma!"})["diagnosis"]


def test_equality_filters_find_encrypted_values_and_ranges_are_refused(shop):
    first = shop.records.create("customer", {"id_number": ID_NUMBER, "born": "1990-03-07"})
    shop.records.create("customer", {"id_number": "110101199003071234", "born": "1985-01-01"})
    found = shop.records.list("customer", [("id_number", ID_NUMBER)])["items"]
    assert [r["id"] for r in found] == [first["id"]]
    assert [r["id"] for r in shop.records.list("customer", [("born", "1990-03-07")])["items"]] == [first["id"]]
    assert len(shop.records.list("customer", [("id_number__ne", ID_NUMBER)])["items"]) == 1
    assert len(shop.records.list("customer", [("id_number__in", f"{ID_NUMBER},x")])["items"]) == 1
    assert shop.records.list("customer", [("diagnosis__isnull", "true")])["items"]
    for key in ("id_number__startswith", "id_number__contains", "born__gt"):
        with pytest.raises(BadQuery) as refused:
            shop.records.list("customer", [(key, "1990-01-01")])
        assert "encrypted at rest" in str(refused.value)
    with pytest.raises(BadQuery, match="encrypted at rest"):
        shop.records.list("customer", [("sort", "id_number")])
    with pytest.raises(BadQuery, match="encrypted at rest"):
        shop.records.list("customer", condition={"field": "born", "op": "gt", "value": "1980-01-01"})
    assert len(shop.records.list("customer", condition={"field": "id_number", "op": "eq", "value": ID_NUMBER})
               ["items"]) == 1


def test_a_unique_encrypted_field_refuses_a_second_equal_value(shop):
    first = shop.records.create("customer", {"id_number": ID_NUMBER})
    with pytest.raises(Conflict) as refused:
        shop.records.create("customer", {"id_number": ID_NUMBER})
    assert refused.value.details[0]["holder"] == first["id"]
    with pytest.raises(Conflict):
        shop.records.create_many("customer", [{"id_number": "1"}, {"id_number": ID_NUMBER}])
    assert len(raw_rows(shop)) == 1


def test_search_leaves_encrypted_values_out(shop):
    shop.records.create("customer", {"name": "Ann", "id_number": ID_NUMBER})
    assert shop.records.list("customer", [("q", ID_NUMBER)])["items"] == []
    with shop.storage.connect() as conn:
        terms = [r[0] for r in conn.exec_driver_sql(
            f"select term from {shop.storage.schema + '.' if shop.storage.schema else ''}loom_search")]
    assert not any(ID_NUMBER[:6] in t for t in terms)


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
       | st.sampled_from(["王伟", "身份证 110101", "𠀀 emoji 🙂", ""]))
def test_any_text_round_trips_and_is_found_by_equality(shop, text):
    record = shop.records.create("customer", {"diagnosis": text})
    assert shop.records.get("customer", record["id"])["diagnosis"] == text
    if text:
        found = shop.records.list("customer", [("diagnosis", text), ("limit", "200")])["items"]
        assert record["id"] in [r["id"] for r in found]
    shop.records.delete("customer", record["id"])


def test_the_api_filters_by_equality_and_refuses_other_comparisons_with_a_problem(install, shop, client):
    headers = {"Authorization": f"Bearer {token_for(install, 'shop', 'admin@shop.example', 'admin')}"}
    made = client.post("/api/v1/t/shop/records/customer", json={"id_number": ID_NUMBER}, headers=headers)
    assert made.status_code == 201 and made.get_json()["id_number"] == ID_NUMBER
    found = client.get(f"/api/v1/t/shop/records/customer?id_number={ID_NUMBER}", headers=headers)
    assert [r["id"] for r in found.get_json()["items"]] == [made.get_json()["id"]]
    refused = client.get("/api/v1/t/shop/records/customer?id_number__startswith=1101", headers=headers)
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "bad_query"
    assert "encrypted at rest" in str(refused.get_json()["error"]["details"])
    twice = client.post("/api/v1/t/shop/records/customer", json={"id_number": ID_NUMBER}, headers=headers)
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "unique_violation"
    spec = client.get("/api/v1/t/shop/openapi.json", headers=headers).get_json()
    assert "encrypted at rest" in str(spec)


def test_the_api_answers_503_without_the_master_key(install, shop, client, monkeypatch):
    headers = {"Authorization": f"Bearer {token_for(install, 'shop', 'admin@shop.example', 'admin')}"}
    install.cache.forget("shop")
    monkeypatch.delenv("LOOM_MASTER_KEY")
    answer = client.post("/api/v1/t/shop/records/customer", json={"id_number": ID_NUMBER}, headers=headers)
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "master_key_missing"
    assert raw_rows(shop) == []


def test_an_encrypted_number_cannot_be_incremented_in_sql(shop):
    from engine.errors import ValidationFailed

    record = shop.records.create("customer", {"score": "1.00"})
    records = shop.records
    with records.storage.begin() as conn, pytest.raises(ValidationFailed, match="encrypted at rest"):
        records.increment_within(conn, "customer", record["id"], "score", 1)
    assert shop.records.get("customer", record["id"])["score"] == "1.00"
