"""Merging over REST and the CLI, on SQLite and PostgreSQL: the dry run's preview, the
merge (201, Location), reading it, its undo and a second undo (409); bad bodies are 400s
naming the field, missing records 404s, and nothing changes."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.packs.service import PackService
from engine.plugins import Plugins
from tests.conftest import token_for

BASE = "/api/v1/t/shop"


@pytest.fixture
def plugins() -> Plugins:
    return Plugins()


@pytest.fixture
def admin(install):
    install.registry.create("shop")
    PackService(install).install("shop", "crm_core")
    return {"Authorization": f"Bearer {token_for(install, 'shop', 'boss@shop.test', role='admin')}"}


def test_merge_preview_merge_read_and_undo_over_rest(client, admin):
    ids = [client.post(f"{BASE}/records/party", json=body, headers=admin).get_json()["id"]
           for body in ({"name": "张伟", "phone": "+8613800138001"}, {"name": "张 伟", "email": "zw@example.cn"})]
    deal = client.post(f"{BASE}/records/opportunity", json={"name": "Deal", "party": ids[1]}, headers=admin).get_json()
    body = {"survivor": ids[0], "losers": [ids[1]], "fields": {"name": ids[0]}}
    preview = client.post(f"{BASE}/records/party/merge?dry_run=true", json=body, headers=admin)
    assert preview.status_code == 200
    assert preview.get_json()["references"] == {"opportunity": {"party": {str(ids[1]): [deal["id"]]}}}
    assert client.get(f"{BASE}/records/party/{ids[1]}", headers=admin).status_code == 200

    merged = client.post(f"{BASE}/records/party/merge", json=body, headers=admin)
    assert merged.status_code == 201, merged.get_json()
    merge = merged.get_json()
    assert merged.headers["Location"].endswith(f"{BASE}/merges/{merge['id']}")
    assert (merge["record"]["name"], merge["record"]["email"]) == ("张伟", "zw@example.cn")
    assert client.get(f"{BASE}/records/party/{ids[1]}", headers=admin).status_code == 404
    assert client.get(f"{BASE}/records/opportunity/{deal['id']}", headers=admin).get_json()["party"] == ids[0]
    assert client.get(f"{BASE}/merges/{merge['id']}", headers=admin).get_json()["losers"] == [ids[1]]
    history = client.get(f"{BASE}/records/party/{ids[0]}/history", headers=admin).get_json()["items"]
    assert [h["action"] for h in history][-1] == "merge"

    undone = client.post(f"{BASE}/merges/{merge['id']}/undo", headers=admin)
    assert undone.status_code == 200 and undone.get_json()["undone_at"]
    assert client.get(f"{BASE}/records/party/{ids[1]}", headers=admin).get_json()["email"] == "zw@example.cn"
    assert client.get(f"{BASE}/records/opportunity/{deal['id']}", headers=admin).get_json()["party"] == ids[1]
    again = client.post(f"{BASE}/merges/{merge['id']}/undo", headers=admin)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "merge_undone"


def test_bad_merge_requests_are_4xx_and_change_nothing(client, admin):
    a, b = (client.post(f"{BASE}/records/party", json={"name": n}, headers=admin).get_json()["id"] for n in "AB")
    bad = [({"survivor": a, "losers": [b, b]}, 400, "losers/1"),
           ({"survivor": a, "losers": [a]}, 400, "losers/0"),
           ({"survivor": a}, 400, "losers"),
           ({"survivor": a, "losers": [b], "extra": 1}, 400, None),
           ({"survivor": a, "losers": [b], "fields": []}, 400, "fields")]
    for body, status, field in bad:
        response = client.post(f"{BASE}/records/party/merge", json=body, headers=admin)
        assert response.status_code == status, (body, response.get_json())
        if field:
            assert field in [d["field"] for d in response.get_json()["error"]["details"]]
    assert client.post(f"{BASE}/records/party/merge", json={"survivor": a, "losers": [99999]},
                       headers=admin).status_code == 404
    assert client.post(f"{BASE}/records/nothing/merge", json={"survivor": a, "losers": [b]},
                       headers=admin).status_code == 404
    assert client.post(f"{BASE}/records/party/merge?dry_run=maybe", json={"survivor": a, "losers": [b]},
                       headers=admin).status_code == 400
    unknown = client.get(f"{BASE}/merges/x", headers=admin)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "merge_not_found"
    assert client.post(f"{BASE}/merges/77/undo", headers=admin).status_code == 404
    names = [p["name"] for p in client.get(f"{BASE}/records/party", headers=admin).get_json()["items"]]
    assert names == ["A", "B"]


def test_the_cli_merges_and_unmerges(install, admin):
    def run(*args):
        return CliRunner().invoke(cli, list(args), obj=install)

    records = install.session("shop").records
    a, b = (records.create("party", {"name": n})["id"] for n in "AB")
    merged = run("records", "merge", "shop", "party", str(a), str(b), "--field", f"name={b}")
    assert merged.exit_code == 0, merged.output
    assert "merge 1: party 2 merged into party 1" in merged.output
    assert records.get("party", a)["name"] == "B"
    bad = run("records", "merge", "shop", "party", str(a), str(a))
    assert bad.exit_code != 0 and "is the survivor" in bad.output and "Traceback" not in bad.output
    undone = run("records", "unmerge", "shop", "1")
    assert undone.exit_code == 0, undone.output
    assert "merge 1 undone: party 2 is back" in undone.output
    assert records.get("party", b)["name"] == "B"


def test_the_survivors_timeline_shows_the_merge_and_the_losers_history(install, admin):
    from engine.app import create_app
    from tests.screens.conftest import ScreenClient, with_passwords

    with_passwords(install, "shop", {"chief@shop.test": "admin"})
    records = install.session("shop").records
    keep = records.create("party", {"name": "Keeper"})["id"]
    gone = records.create("party", {"name": "Duplicate", "city": "杭州"})["id"]
    records.update("party", gone, {"notes": "met at the fair"})
    merge = records.merge("party", keep, [gone], {"city": keep})
    chief = ScreenClient(create_app(install, {"TESTING": True}), "shop", "chief@shop.test")
    timeline = chief.get(f"e/party/{keep}/timeline?kind=change").text
    assert "Merged duplicates into this Party" in timeline
    assert "Duplicate" in timeline and "杭州" in timeline  # the loser's own history
    assert f"/t/shop/e/party/{keep}/merges/{merge['id']}/undo" in timeline  # the entry's "Undo merge"
    records.update("party", keep, {"notes": "changed since"})
    refused = chief.post(f"e/party/{keep}/merges/{merge['id']}/undo", follow_redirects=True).text
    assert "The merge was not undone" in refused and "notes changed after the merge" in refused
    records.update("party", keep, {"notes": "met at the fair"})
    undone = chief.post(f"e/party/{keep}/merges/{merge['id']}/undo", follow_redirects=True).text
    assert "Merge undone." in undone
    timeline = chief.get(f"e/party/{keep}/timeline?kind=change").text
    assert "Undid a merge into this Party" in timeline and "杭州" not in timeline


def test_merging_needs_update_on_the_survivor_and_delete_on_the_losers(install, client):
    from engine.auth import create_token, create_user

    install.registry.create("acme")
    session = install.session("acme")
    session.apply_metadata({"entities": [{"name": "claim", "fields": [{"name": "title", "type": "string"}]}],
                            "roles": [{"name": "adjuster", "label": {"en": "Adjuster"}, "entities": {
                                "claim": {"rights": ["read", "update"]}}}]})
    a, b = (session.records.create("claim", {"title": t})["id"] for t in ("Hail", "Hail storm"))
    create_user(session.storage, "adj@acme.test", roles=["adjuster"])
    adjuster = {"Authorization": f"Bearer {create_token(session.storage, 'adj@acme.test')}"}
    body = {"survivor": a, "losers": [b]}
    for path in ("/api/v1/t/acme/records/claim/merge?dry_run=true", "/api/v1/t/acme/records/claim/merge"):
        refused = client.post(path, json=body, headers=adjuster)
        assert refused.status_code == 403 and "delete" in refused.get_json()["error"]["message"]
    assert [c["title"] for c in session.records.list("claim", [])["items"]] == ["Hail", "Hail storm"]
