"""Personal data in an `insurance_agents --demo` tenant (issue 12, acceptance 1), on SQLite
and PostgreSQL: an agent (a member) reads policyholders' phone numbers masked in the API
(get, list, search, export, history), reads them in clear only by unmasking with a reason,
and the admin finds that unmask, with its reason, in the access log."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from engine.app import create_app
from engine.cli import cli
from engine.install import Install
from engine.plugins import Plugins
from tests.conftest import drop_prefixed_schemas, make_settings, require_postgres

API = "/api/v1/t/ins"
AGENT, ADMIN = "li.wei@east-agency.example", "zhang.hua@insurer.example"
HUANG_PHONE = "+86 138 0000 2000"


def loom(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ins(request, tmp_path_factory):
    if request.param == "postgresql":
        require_postgres()
    settings = make_settings(request.param, tmp_path_factory.mktemp(f"pii_{request.param}"))
    install = Install(settings, Plugins())
    try:
        result = loom(install, "tenant", "create", "ins", "--pack", "insurance_agents", "--demo")
        assert result.exit_code == 0, result.output
        tokens = {}
        for who in (AGENT, ADMIN):
            made = loom(install, "token", "create", "ins", who)
            assert made.exit_code == 0, made.output
            tokens[who] = {"Authorization": f"Bearer {made.output.strip().splitlines()[-1]}"}
        session = install.session("ins")
        [huang] = session.records.list("party", [("name", "Huang Xiaoming")])["items"]
        yield SimpleNamespace(install=install, tokens=tokens, huang=huang,
                              client=create_app(install, {"TESTING": True}).test_client())
    finally:
        install.dispose()
        if settings.database_url:
            drop_prefixed_schemas(settings.schema_prefix)


def get(ins, who, path, **kwargs):
    return ins.client.get(API + path, headers=ins.tokens[who], **kwargs)


def post(ins, who, path, body):
    return ins.client.post(API + path, headers=ins.tokens[who], json=body)


def access_log(ins, **filters):
    answer = get(ins, ADMIN, "/access-log", query_string=filters)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["items"]


def test_an_agent_reads_policyholders_phone_numbers_masked_everywhere(ins):
    huang = ins.huang["id"]
    record = get(ins, AGENT, f"/records/party/{huang}").get_json()
    assert record["phone"] == "138****2000"
    assert record["email"] == "h***@customer.example"
    assert record["name"] == "H***"
    listed = get(ins, AGENT, "/records/party", query_string={"limit": "200"}).get_json()["items"]
    assert listed and all("0000" not in (p["phone"] or "") for p in listed)
    searched = get(ins, AGENT, "/records/party", query_string={"q": "Huang"}).get_json()["items"]
    assert [p["phone"] for p in searched] == ["138****2000"]
    history = get(ins, AGENT, f"/records/party/{huang}/history").get_json()["items"]
    assert HUANG_PHONE not in json.dumps(history, ensure_ascii=False)


def test_an_agent_cannot_export_phone_numbers(ins):
    for kind in ("csv", "jsonl"):
        answer = get(ins, AGENT, "/records/party/export", query_string={"format": kind})
        assert answer.status_code == 200
        body = answer.get_data(as_text=True)
        assert "138****2000" in body and HUANG_PHONE not in body and "huang@customer.example" not in body


def test_the_admin_reads_and_exports_in_clear(ins):
    assert get(ins, ADMIN, f"/records/party/{ins.huang['id']}").get_json()["phone"] == HUANG_PHONE
    body = get(ins, ADMIN, "/records/party/export", query_string={"format": "csv"}).get_data(as_text=True)
    assert HUANG_PHONE in body


def test_unmasking_with_a_reason_gives_the_value_and_the_admin_finds_it_in_the_access_log(ins):
    huang = ins.huang["id"]
    assert get(ins, AGENT, f"/records/party/{huang}").status_code == 200  # a read of its own: tests run apart
    answer = post(ins, AGENT, f"/records/party/{huang}/unmask",
                  {"fields": ["phone"], "reason": "Customer asked for a call back about renewal"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"id": huang, "fields": {"phone": HUANG_PHONE}}
    [entry] = [e for e in access_log(ins, record=str(huang)) if e["action"] == "unmask"]
    assert entry["entity"] == "party" and entry["detail"] == {
        "fields": ["phone"], "reason": "Customer asked for a call back about renewal"}
    people = {p["email"]: p["id"] for p in get(ins, ADMIN, "/users").get_json()["items"]}
    assert entry["actor_id"] == people[AGENT]
    reads = access_log(ins, user=str(people[AGENT]), record=str(huang))
    assert {"read", "unmask"} <= {e["action"] for e in reads}


@pytest.mark.parametrize("body, field", [
    ({"fields": ["phone"], "reason": ""}, "reason"),
    ({"fields": ["phone"], "reason": "   "}, "reason"),
    ({"fields": ["phone"]}, "reason"),
    ({"fields": [], "reason": "call"}, "fields"),
    ({"fields": ["city"], "reason": "call"}, "fields"),
    ({"fields": "phone", "reason": "call"}, "fields"),
    ({"fields": ["phone"], "reason": "a\ud800b"}, "reason"),  # no database stores it, nor UTF-8
    ({"fields": ["phone"], "reason": "call\x00"}, "reason"),
])
def test_unmasking_without_a_reason_or_of_other_fields_is_refused_and_logs_nothing(ins, body, field):
    huang = ins.huang["id"]
    before = len(access_log(ins, record=str(huang), limit="200"))
    answer = post(ins, AGENT, f"/records/party/{huang}/unmask", body)
    assert answer.status_code == 400
    error = answer.get_json()["error"]
    assert error["code"] == "bad_unmask" and field in {d["field"] for d in error["details"]}
    assert len(access_log(ins, record=str(huang), limit="200")) == before


def test_a_member_may_not_read_the_access_log(ins):
    answer = get(ins, AGENT, "/access-log")
    assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "admin_only"


def test_identity_and_sensitive_values_are_unmasked_only_with_the_roles_right():
    from engine.auth import Actor
    from engine.errors import Forbidden
    from engine.records.unmask import _require_right
    from metadata.model import Entity

    entity = Entity.from_document({"name": "policyholder", "fields": [
        {"name": "phone", "type": "phone", "pii": "contact"}, {"name": "id_number", "type": "string", "pii": "identity"},
        {"name": "health", "type": "text", "pii": "sensitive"}]})
    member, admin = Actor(2, "mo@acme.test", "member"), Actor(1, "ann@acme.test", "admin")
    _require_right(member, entity, ["phone"])  # contact: a reason is enough
    _require_right(admin, entity, ["phone", "id_number", "health"])
    with pytest.raises(Forbidden) as refused:
        _require_right(member, entity, ["phone", "id_number", "health"])
    assert refused.value.code == "unmask_not_allowed" and "id_number, health" in refused.value.message


def test_a_masked_field_is_filtered_only_by_an_exact_value_and_not_searched(ins):
    refused = get(ins, AGENT, "/records/party", query_string={"phone__startswith": "+86 138"})
    assert refused.status_code == 400 and "read masked" in json.dumps(refused.get_json())
    assert get(ins, AGENT, "/records/party", query_string={"phone__isnull": "false"}).status_code == 200
    exact = get(ins, AGENT, "/records/party", query_string={"phone": HUANG_PHONE}).get_json()["items"]
    assert [p["id"] for p in exact] == [ins.huang["id"]]
    assert get(ins, AGENT, "/records/party", query_string={"q": "0000 2000"}).get_json()["items"] == []
    assert [p["id"] for p in get(ins, ADMIN, "/records/party", query_string={"q": "0000 2000"}).get_json()["items"]] == [
        ins.huang["id"]]
