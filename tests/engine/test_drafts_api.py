"""The drafts over REST, on SQLite and PostgreSQL: an admin's token saves, reads,
reviews, rebases and publishes its draft; bad input is a 4xx naming it; a member gets
403; every drafts route is in the OpenAPI document."""
from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from tests.conftest import token_for

BASE = "/api/v1/t/acme"


@pytest.fixture
def ann(install, acme):
    return {"Authorization": f"Bearer {token_for(install, 'acme', 'ann@acme.example', 'admin')}"}


@pytest.fixture
def ben(install, acme):
    return {"Authorization": f"Bearer {token_for(install, 'acme', 'ben@acme.example', 'admin')}"}


def with_wechat(document):
    document["entities"][1]["fields"].append({"name": "wechat_id", "type": "string"})
    return document


def test_an_admin_saves_reviews_and_publishes_a_draft(client, ann):
    assert client.get(f"{BASE}/drafts/mine", headers=ann).status_code == 404
    document = client.get(f"{BASE}/metadata", headers=ann).get_json()["document"]
    saved = client.put(f"{BASE}/drafts/mine", json=with_wechat(document), headers=ann)
    assert saved.status_code == 200
    body = saved.get_json()
    assert body["based_on"] == 1 and body["problems"] == [] and body["status"]["changed"] is True
    plan = client.get(f"{BASE}/drafts/mine/plan", headers=ann).get_json()
    assert plan["dry_run"] is True and [c["field"] for c in plan["plan"]["changes"]] == ["wechat_id"]
    published = client.post(f"{BASE}/drafts/mine/publish", headers=ann)
    assert published.status_code == 200 and published.get_json()["version"] == 2
    history = client.get(f"{BASE}/metadata/history", headers=ann).get_json()["items"]
    assert history[-1]["applied_by"] == "ann@acme.example"


def test_an_invalid_draft_is_kept_with_its_problems_and_not_published(client, ann):
    document = client.get(f"{BASE}/metadata", headers=ann).get_json()["document"]
    document["entities"][0]["fields"][0]["type"] = "nope"
    body = client.put(f"{BASE}/drafts/mine", json=document, headers=ann).get_json()
    assert [p["field"] for p in body["problems"]] == ["/entities/0/fields/0/type"]
    refused = client.post(f"{BASE}/drafts/mine/publish", headers=ann)
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "invalid_metadata"


def test_the_second_admin_to_publish_is_offered_a_rebase(client, ann, ben):
    for headers in (ann, ben):
        document = client.get(f"{BASE}/metadata", headers=headers).get_json()["document"]
        if headers is ann:
            with_wechat(document)
        else:
            document["entities"][0]["fields"].append({"name": "website", "type": "url"})
        client.put(f"{BASE}/drafts/mine", json=document, headers=headers)
    owners = [d["owner"] for d in client.get(f"{BASE}/drafts", headers=ann).get_json()["items"]]
    assert owners == ["ann@acme.example", "ben@acme.example"]
    client.post(f"{BASE}/drafts/mine/publish", headers=ann)
    refused = client.post(f"{BASE}/drafts/mine/publish", headers=ben)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "draft_outdated"
    rebased = client.post(f"{BASE}/drafts/mine/rebase", headers=ben)
    assert rebased.status_code == 200 and rebased.get_json()["based_on"] == 2


@pytest.mark.parametrize("method, path, body, status", [
    ("PUT", "/drafts/mine", [1, 2], 400),
    ("PUT", "/drafts/mine", None, 400),
    ("POST", "/drafts/mine/rebase", {"keep_mine": "x"}, 400),
    ("POST", "/drafts/mine/rebase", {"other": []}, 400),
    ("POST", "/drafts/mine/publish?allow_drop=maybe", None, 400),
    ("GET", "/drafts/mine/plan?dry=1", None, 400),
    ("DELETE", "/drafts/mine", None, 404),
])
def test_bad_input_is_a_4xx_naming_it(client, ann, method, path, body, status):
    if path != "/drafts/mine" or method != "DELETE":
        client.put(f"{BASE}/drafts/mine", json={"entities": []}, headers=ann)
    response = client.open(f"{BASE}{path}", method=method, json=body, headers=ann)
    assert response.status_code == status and response.get_json()["error"]["message"]


def test_a_member_may_not_keep_a_draft(install, client, acme):
    member = {"Authorization": f"Bearer {token_for(install, 'acme', 'mo@acme.example')}"}
    for method, path in (("GET", "/drafts"), ("GET", "/drafts/mine"), ("PUT", "/drafts/mine")):
        response = client.open(f"{BASE}{path}", method=method, json={"entities": []}, headers=member)
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "admin_only"


def test_every_drafts_route_is_in_the_openapi_document(app, client, ann):
    spec = client.get(f"{BASE}/openapi.json", headers=ann).get_json()
    validate(spec)
    routes = {(re.sub(r"<(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1/t/<tenant>")), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/t/<tenant>/drafts")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert len(routes) == 7
    assert {(path, method) for path, method in routes if method in spec["paths"].get(path, {})} == routes
