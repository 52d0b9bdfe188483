"""Duplicate rules: checked as metadata, matched at entry (warn, block, override) through
the API and the record service, on SQLite and PostgreSQL; `find_duplicates` for callers
such as the import."""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st

from engine.dedup import Match, find_duplicates
from engine.errors import Conflict
from metadata import check_package
from tenants import Settings
from tests.conftest import drop_prefixed_schemas, make_settings, token_for

BASE = "/api/v1/t/acme"
RULES = [
    {"name": "same_phone", "label": {"en": "Same phone", "zh-CN": "电话相同"},
     "match": {"exact": ["phone"]}, "action": "block", "overridable": True},
    {"name": "same_id", "label": "Same ID number", "match": {"exact": ["id_number"]}, "action": "block"},
    {"name": "same_email", "match": {"exact": ["email"]}, "action": "warn"},
    {"name": "similar_name", "match": {"fuzzy": "name", "threshold": 90, "within": ["city"]}, "action": "warn"},
    {"name": "same_city_only", "match": {"exact": ["city"]}, "action": "allow"},
]
DOCUMENT = {"entities": [{
    "name": "person",
    "fields": [
        {"name": "name", "type": "string", "required": True, "match": "name"},
        {"name": "phone", "type": "phone", "indexed": True},
        {"name": "email", "type": "email", "indexed": True},
        {"name": "id_number", "type": "string"},
        {"name": "city", "type": "string", "indexed": True},
        {"name": "tags", "type": "multi_choice", "options": ["a", "b"]},
        {"name": "age", "type": "integer"},
    ],
    "duplicate_rules": RULES,
}]}


@pytest.fixture
def settings(backend, tmp_path):
    """The shared settings, with the job queue running jobs at once."""
    base = make_settings(backend, tmp_path)
    yield Settings(data_dir=base.data_dir, database_url=base.database_url, schema_prefix=base.schema_prefix,
                   extra={"LOOM_JOBS_IMMEDIATE": "1"})
    if base.database_url:
        drop_prefixed_schemas(base.schema_prefix)


def document(rules=None) -> dict:
    doc = copy.deepcopy(DOCUMENT)
    if rules is not None:
        doc["entities"][0]["duplicate_rules"] = rules
    return doc


@pytest.fixture
def people(install):
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    session.apply_metadata(document())
    return session


@pytest.fixture
def member(install, people):
    return {"Authorization": f"Bearer {token_for(install, 'acme', 'member@acme.example')}"}


# -- the rules as metadata -------------------------------------------------------------------------

def problems_of(rules):
    return [(p.path, p.code) for p in check_package(document(rules))]


def test_the_example_rules_are_valid_and_normalised():
    assert problems_of(RULES) == []
    from metadata import load_package
    entity = load_package(document()).entity("person")
    similar = entity.duplicate_rules[3]
    assert similar["label"] == {"en": "Similar name"} and similar["overridable"] is False
    assert similar["match"]["scorer"] == "token_sort_ratio"
    assert entity.to_dict()["duplicate_rules"][0]["label"]["zh-CN"] == "电话相同"


@pytest.mark.parametrize("rule, expected", [
    ({"name": "r", "match": {"exact": ["nope"]}, "action": "warn"},
     ("/entities/0/duplicate_rules/0/match/exact/0", "unknown_field")),
    ({"name": "r", "match": {"exact": ["tags"]}, "action": "warn"},
     ("/entities/0/duplicate_rules/0/match/exact/0", "not_matchable")),
    ({"name": "r", "match": {"fuzzy": "age", "within": ["city"]}, "action": "warn"},
     ("/entities/0/duplicate_rules/0/match/fuzzy", "not_text")),
    ({"name": "r", "match": {"fuzzy": "name"}, "action": "warn"},
     ("/entities/0/duplicate_rules/0/match", "needs_within")),
    ({"name": "r", "match": {"fuzzy": "name", "within": ["city"], "threshold": 101}, "action": "warn"},
     ("/entities/0/duplicate_rules/0/match/threshold", None)),
    ({"name": "r", "match": {"exact": ["phone"], "fuzzy": "name"}, "action": "warn"},
     ("/entities/0/duplicate_rules/0/match", "match_kind")),
    ({"name": "r", "match": {"exact": ["phone"], "threshold": 80}, "action": "warn"},
     ("/entities/0/duplicate_rules/0/match/threshold", "fuzzy_only")),
    ({"name": "r", "match": {"exact": ["phone"]}, "action": "warn", "overridable": True},
     ("/entities/0/duplicate_rules/0/overridable", "not_blocking")),
    ({"name": "r", "match": {"exact": ["phone"]}, "action": "merge"},
     ("/entities/0/duplicate_rules/0/action", None)),
])
def test_a_wrong_rule_is_refused_with_its_path_and_a_clear_message(rule, expected):
    found = check_package(document([rule]))
    assert found and all(p.message for p in found)
    path, code = expected
    assert any(p.path == path and (code is None or p.code == code) for p in found), found


def test_two_rules_of_one_name_are_refused():
    rule = {"name": "r", "match": {"exact": ["phone"]}, "action": "warn"}
    assert ("/entities/0/duplicate_rules/1/name", "duplicate_name") in problems_of([rule, rule])


# -- at entry ----------------------------------------------------------------------------------------

def test_a_warning_writes_the_record_and_answers_its_matches(client, member):
    first = client.post(f"{BASE}/records/person", json={"name": "张伟", "email": "Zhang.Wei@Example.com",
                                                        "city": "上海"}, headers=member).get_json()
    assert "_duplicates" not in first
    response = client.post(f"{BASE}/records/person", json={"name": "张 伟", "email": "zhang.wei@EXAMPLE.com",
                                                           "city": "上海"}, headers=member)
    assert response.status_code == 201
    found = response.get_json()["_duplicates"]
    assert {(m["record_id"], m["rule"], m["action"], m["score"]) for m in found} == {
        (first["id"], "same_email", "warn", 100.0), (first["id"], "similar_name", "warn", 100.0)}
    similar = next(m for m in found if m["rule"] == "similar_name")
    assert similar["reasons"] == ["name 100% alike (token_sort_ratio)", "same city"]
    assert similar["label"] == {"en": "Similar name"}
    # an allow rule (same city) is not checked at entry; another city is another block
    other = client.post(f"{BASE}/records/person", json={"name": "张伟", "city": "北京"}, headers=member)
    assert "_duplicates" not in other.get_json()


def test_acceptance_2_the_same_phone_refuses_with_the_match_and_may_be_overridden(client, member, people):
    first = client.post(f"{BASE}/records/person", json={"name": "张伟", "phone": "+86 138 0013 8001"},
                        headers=member).get_json()
    body = {"name": "张 伟", "phone": "138-0013-8001"}  # the same number, written another way
    refused = client.post(f"{BASE}/records/person", json=body, headers=member)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "duplicate" and "allow_duplicates=true" in error["message"]
    [detail] = error["details"]
    assert (detail["record_id"], detail["rule"], detail["reasons"], detail["overridable"]) == (
        first["id"], "same_phone", ["same phone"], True)
    assert people.records.count("person") == 1 if hasattr(people.records, "count") else True
    saved = client.post(f"{BASE}/records/person?allow_duplicates=true", json=body, headers=member)
    assert saved.status_code == 201
    assert saved.get_json()["_duplicates"][0]["record_id"] == first["id"]
    history = client.get(f"{BASE}/records/person/{saved.get_json()['id']}/history", headers=member).get_json()
    assert "allow_duplicate" in [item["action"] for item in history["items"]]
    bad = client.post(f"{BASE}/records/person?allow_duplicates=maybe", json=body, headers=member)
    assert bad.status_code == 400


def test_a_rule_that_may_not_be_overridden_refuses_even_with_the_override(client, member):
    client.post(f"{BASE}/records/person", json={"name": "A", "id_number": "X1"}, headers=member)
    refused = client.post(f"{BASE}/records/person?allow_duplicates=true", json={"name": "B", "id_number": "X1"},
                          headers=member)
    assert refused.status_code == 409 and "may not be overridden" in refused.get_json()["error"]["message"]


def test_an_update_is_matched_without_the_record_itself(client, member):
    a = client.post(f"{BASE}/records/person", json={"name": "A", "phone": "13800138001"}, headers=member).get_json()
    b = client.post(f"{BASE}/records/person", json={"name": "B", "phone": "13900139002"}, headers=member).get_json()
    same = client.patch(f"{BASE}/records/person/{a['id']}", json={"name": "A2"}, headers=member)
    assert same.status_code == 200 and "_duplicates" not in same.get_json()
    refused = client.patch(f"{BASE}/records/person/{b['id']}", json={"phone": "13800138001"}, headers=member)
    assert refused.status_code == 409
    assert client.get(f"{BASE}/records/person/{b['id']}", headers=member).get_json()["phone"] == "13900139002"
    allowed = client.patch(f"{BASE}/records/person/{b['id']}?allow_duplicates=1", json={"phone": "13800138001"},
                           headers=member)
    assert allowed.status_code == 200 and allowed.get_json()["_duplicates"][0]["record_id"] == a["id"]


def test_a_batch_is_refused_per_item_and_writes_nothing(client, member, people):
    client.post(f"{BASE}/records/person", json={"name": "A", "phone": "13800138001"}, headers=member)
    items = [{"name": "B", "phone": "13900139002"}, {"name": "C", "phone": "13800138001"}]
    refused = client.post(f"{BASE}/records/person/batch", json={"records": items}, headers=member)
    assert refused.status_code == 409
    assert [d["field"] for d in refused.get_json()["error"]["details"]] == ["/1/same_phone"]
    assert len(client.get(f"{BASE}/records/person", headers=member).get_json()["items"]) == 1
    allowed = client.post(f"{BASE}/records/person/batch?allow_duplicates=true", json={"records": items},
                          headers=member)
    assert allowed.status_code == 201


def test_find_duplicates_answers_one_list_per_record_best_first(people):
    records = people.records
    a = records.create("person", {"name": "Acme Trading Ltd", "city": "Shanghai", "email": "info@acme.cn"})
    b = records.create("person", {"name": "Acme Trading Co Ltd", "city": "Shanghai"})
    meta = people.metadata()
    with people.storage.connect() as conn:
        found = find_duplicates(conn, meta, "person", [
            {"name": "ACME  trading ltd", "city": "Shanghai", "email": "INFO@Acme.cn"},
            {"name": "Nobody"}, {}], exclude_ids=[b["id"]])  # the e-mail's case differs: keys agree
    assert [len(f) for f in found] == [3, 0, 0]  # the allow rule too: callers choose what to do
    assert all(isinstance(m, Match) and m.record_id == a["id"] and m.score == 100.0 for m in found[0])
    assert [m.rule for m in found[0]] == ["same_email", "similar_name", "same_city_only"]


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spaces=st.lists(st.sampled_from([" ", "　", "  "]), min_size=0, max_size=3),
       width=st.booleans(), case=st.booleans())
def test_any_spacing_width_or_case_of_a_name_matches_it(people, spaces, width, case):
    name = "Wang Xiao Ming"
    written = "".join(ch + (spaces[i] if i < len(spaces) else "") for i, ch in enumerate(name.replace(" ", "")))
    if width:
        written = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in written)
    if case:
        written = written.upper()
    meta = people.metadata()
    with people.storage.connect() as conn:
        if not people.records.list("person", [("city", "Hangzhou")])["items"]:
            people.records.create("person", {"name": name, "city": "Hangzhou"})
        [found] = find_duplicates(conn, meta, "person", [{"name": written, "city": "Hangzhou"}])
    assert [m.rule for m in found] == ["similar_name", "same_city_only"] and found[0].score == 100.0


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.sampled_from(["+86 138 0013 8001", "13800138001", "138-0013-8001", "0086 138 0013 8001",
                             "+86 (138) 0013-8001", "８６１３８００１３８００１"[2:], " 138 0013 8001 "]))
def test_any_written_form_of_a_stored_phone_is_the_same_phone(people, form):
    meta = people.metadata()
    if not people.records.list("person", [])["items"]:
        people.records.create("person", {"name": "Stored", "phone": "+86 138 0013 8001"})
    with people.storage.connect() as conn:
        [found] = find_duplicates(conn, meta, "person", [{"phone": form}])
    assert [(m.rule, m.action, m.reasons) for m in found] == [("same_phone", "block", ("same phone",))]


def test_a_refusal_raised_in_the_service_changes_nothing(people):
    people.records.create("person", {"name": "A", "phone": "021 5555 1234"})
    with pytest.raises(Conflict):
        people.records.create("person", {"name": "B", "phone": "021 5555 1234"})
    assert len(people.records.list("person", [])["items"]) == 1


# -- the duplicate report ------------------------------------------------------------------------------

def loom(install, *args):
    from click.testing import CliRunner

    from engine.cli import cli

    return CliRunner().invoke(cli, list(args), obj=install)


def test_the_scan_clusters_every_rules_links_and_the_cli_prints_them(install, people):
    records = people.records
    made = [records.create("person", values, allow_duplicates=True)["id"] for values in (
        {"name": "张伟", "city": "上海", "phone": "13800138001"},
        {"name": "张 伟", "city": "上海"},
        {"name": "张 伟", "city": "北京", "phone": "13800138001"},
        {"name": "李娜", "city": "广州", "email": "li@example.cn"},
        {"name": "王芳", "city": "杭州", "email": "li@example.cn"},
        {"name": "赵六", "city": "成都"},
    )]
    from engine.dedup.scan import scan

    report = scan(people.storage, people.metadata(), "person")
    assert report["records"] == 6 and report["rules"] == [r["name"] for r in RULES]
    by_ids = {tuple(c["ids"]): c for c in report["clusters"]}
    first = by_ids[tuple(made[:3])]  # the phone ties 1 and 3; the name, and the city (an allow rule), 1 and 2
    assert [(link["a"], link["b"], link["rule"]) for link in first["links"]] == [
        (made[0], made[1], "same_city_only"), (made[0], made[1], "similar_name"), (made[0], made[2], "same_phone")]
    assert first["score"] == 100.0
    assert by_ids[(made[3], made[4])]["links"][0]["reasons"] == ["same email"]
    assert all(made[5] not in c["ids"] for c in report["clusters"])
    result = loom(install, "dedup", "scan", "acme", "person")
    assert result.exit_code == 0, result.stderr
    assert "2 clusters" in result.stdout and "same_phone" in result.stdout
    assert "name 100% alike (token_sort_ratio); same city" in result.stdout


def test_a_scan_of_an_unknown_entity_or_one_without_rules_is_a_clear_error(install, people):
    for entity, words in (("nobody", "no entity 'nobody'"), ):
        result = loom(install, "dedup", "scan", "acme", entity)
        assert result.exit_code == 1 and words in result.stderr and "Traceback" not in result.stderr
    people.apply_metadata(document([]))
    result = loom(install, "dedup", "scan", "acme", "person")
    assert result.exit_code == 1 and "has no duplicate rules" in result.stderr


def test_the_scan_as_a_job_and_its_report_over_rest(install, client, people, member):
    admin = {"Authorization": f"Bearer {token_for(install, 'acme', 'admin@acme.example', 'admin')}"}
    missing = client.get(f"{BASE}/dedup/person/clusters", headers=admin)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "no_scan"
    for values in ({"name": "A", "phone": "13800138001"}, {"name": "B", "phone": "13800138001"}):
        people.records.create("person", values, allow_duplicates=True)
    assert client.post(f"{BASE}/jobs", json={"kind": "dedup_scan", "params": {"entity": "person"}},
                       headers=member).status_code == 403
    for params, status in (({"entity": "nobody"}, 404), ({}, 400), ({"entity": 3}, 400),
                           ({"entity": "person", "x": 1}, 400)):
        assert client.post(f"{BASE}/jobs", json={"kind": "dedup_scan", "params": params},
                           headers=admin).status_code == status
    started = client.post(f"{BASE}/jobs", json={"kind": "dedup_scan", "params": {"entity": "person"}}, headers=admin)
    assert started.status_code == 202
    job = client.get(f"{BASE}/jobs/{started.get_json()['id']}", headers=admin).get_json()
    assert job["status"] == "done" and job["done"] == job["total"] == 2 * len(RULES)
    assert job["result"]["clusters"][0]["ids"] == [1, 2]
    report = client.get(f"{BASE}/dedup/person/clusters?limit=1", headers=admin).get_json()
    assert report["job_id"] == job["id"] and report["clusters_total"] == 1
    assert report["clusters"][0]["links"][0]["reasons"] == ["same phone"]
    assert client.get(f"{BASE}/dedup/person/clusters", headers=member).status_code == 403
    assert client.get(f"{BASE}/dedup/person/clusters?limit=0", headers=admin).status_code == 400
    both = client.get(f"{BASE}/dedup/person/clusters?limit=-1&offset=-5", headers=admin)
    assert both.status_code == 400 and [d["field"] for d in both.get_json()["error"]["details"]] == ["offset", "limit"]
    assert client.get(f"{BASE}/dedup/nobody/clusters", headers=admin).status_code == 404
    spec = client.get(f"{BASE}/openapi.json", headers=admin).get_json()
    create = spec["paths"]["/records/person"]["post"]
    assert "allow_duplicates" in [p["name"] for p in create["parameters"]]
    assert "_duplicates" in create["responses"]["201"]["content"]["application/json"]["schema"]["allOf"][1][
        "properties"]
    assert "/dedup/{entity}/clusters" in spec["paths"]


def test_the_documented_rules_and_requests_run_as_written(install, client):
    from tests.test_docs import blocks, run_http_examples

    [doc] = [json.loads(body) for verdict, body in blocks("metadata.md", "doc-example", "json")
             if verdict == "valid" and "duplicate_rules" in body]
    install.registry.create("acme")
    install.session("acme").apply_metadata(doc)
    token = token_for(install, "acme", "admin@acme.example", "admin")
    install.session("acme").records.create("party", {"name": "张伟", "phone": "+86 138 0013 8001", "city": "上海"})
    examples = blocks("api.md", "dedup-http", "http")
    assert [status for status, _ in examples] == ["201", "409", "201", "202", "200"]
    responses = list(run_http_examples(client, token, examples))
    assert responses[0].get_json()["_duplicates"][0]["reasons"] == ["name 100% alike (token_sort_ratio)", "same city"]
    ids = responses[-1].get_json()["clusters"][0]["ids"]  # a refused insert may use up an id (PostgreSQL)
    assert len(ids) == 3 and ids[:2] == [1, 2]


def test_a_match_on_a_record_the_user_may_not_read_names_neither_the_record_nor_why(install, client, people, member):
    private = document()
    private["entities"][0]["sharing"] = {"default": "none"}   # members read only their own records
    people.apply_metadata(private)
    hidden = people.records.create("person", {"name": "王芳", "phone": "+86 139 0000 0001"})   # the system's
    body = {"name": "王 芳", "phone": "139-0000-0001"}
    refused = client.post(f"{BASE}/records/person", json=body, headers=member)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    [detail] = error["details"]
    assert (detail.get("record_id"), detail["reasons"], detail["rule"]) == (None, [], "same_phone")
    assert str(hidden["id"]) not in error["message"] and "you may not read" in error["message"]
    saved = client.post(f"{BASE}/records/person?allow_duplicates=true", json=body, headers=member)
    assert saved.status_code == 201 and saved.get_json()["_duplicates"][0]["record_id"] is None
    # an admin, who reads every record, is told which one
    admin = {"Authorization": f"Bearer {token_for(install, 'acme', 'boss@acme.example', 'admin')}"}
    again = client.post(f"{BASE}/records/person", json=body, headers=admin).get_json()["error"]["details"]
    assert hidden["id"] in [d.get("record_id") for d in again]
