"""Every user's own API tokens screen, on both backends: a member creates a token with a
lifetime and a scope (shown once), sees only their own, and revokes it (401 at once); a
token of someone else cannot be revoked from here."""
from __future__ import annotations

import re

import pytest

from engine import auth, people
from engine.app import create_app
from tests.screens.conftest import ScreenClient, with_passwords

REP, BOSS = "rep@acme.example", "boss@acme.example"


@pytest.fixture
def screens_app(install):
    install.registry.create("acme", "Acme")
    with_passwords(install, "acme", {BOSS: "admin", REP: "member"})
    return create_app(install, {"TESTING": True})


def test_a_member_creates_sees_and_revokes_their_own_tokens(screens_app, install):
    storage = install.session("acme").storage
    auth.create_token(storage, BOSS, "boss's script")
    rep = ScreenClient(screens_app, "acme", REP)
    made = rep.post("/tokens", data={"label": "Sync", "expires": "30d", "scope": "read"})
    assert made.status_code == 200
    secret = re.search(r'value="(loom_[^"]+)"', made.text).group(1)
    api = screens_app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/t/acme/tokens", headers=bearer).status_code == 200
    assert api.post("/api/v1/t/acme/tokens", json={"label": "x"}, headers=bearer).status_code == 403  # read only
    page = rep.get("/tokens").text
    assert "Sync" in page and "boss&#39;s script" not in page and "boss's script" not in page
    mine = next(t for t in people.tokens(storage) if t["label"] == "Sync")
    theirs = next(t for t in people.tokens(storage) if t["user"] == BOSS)
    assert rep.post(f"/tokens/{theirs['id']}/revoke").status_code == 404
    assert rep.post(f"/tokens/{mine['id']}/revoke").status_code == 302
    answer = api.get("/api/v1/t/acme/tokens", headers=bearer)
    assert answer.status_code == 401 and 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    assert people.tokens(storage, None)[-1]["revoked_at"] is None  # the boss's token stays


def test_a_nameless_or_badly_scoped_token_is_refused_and_nothing_is_made(screens_app, install):
    rep = ScreenClient(screens_app, "acme", REP)
    before = len(people.tokens(install.session("acme").storage))
    for data in ({"label": " "}, {"label": "x", "expires": "forever"}, {"label": "x", "scope": "root"}):
        refused = rep.post("/tokens", data=data)
        assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert len(people.tokens(install.session("acme").storage)) == before
