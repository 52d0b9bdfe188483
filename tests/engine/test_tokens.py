"""API tokens with an expiry and scopes, on SQLite and PostgreSQL: an invalid, expired or
revoked token answers 401 with a Bearer challenge on every tenant URL, existing tenant or
not; a valid token on another tenant's URL answers 404; a request outside the token's
scopes answers 403; a user lists and revokes their own tokens, an admin everyone's."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import update

from engine import auth, people
from engine.app import create_app
from engine.cli import cli
from engine.systables import loom_table

ADMIN, MEMBER = "ann@acme.example", "mo@acme.example"
CHALLENGE = 'Bearer realm="loom", error="invalid_token"'
SEGMENT = st.text(st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="-_.~"),
                  min_size=1, max_size=12)


@pytest.fixture
def app(install):
    """The app with a failure limit no test here reaches (tests/engine/test_auth_limits.py tests it)."""
    return create_app(install, {"TESTING": True, "LOOM_AUTH_FAILURE_LIMIT": "100000"})


@pytest.fixture
def tenants(install, acme):
    """`acme` (an admin and a member) and `beta` (an admin); {name: token}."""
    install.registry.create("beta", "Beta")
    found = {}
    for slug, email, role in (("acme", ADMIN, "admin"), ("acme", MEMBER, "member"), ("beta", "b@beta.example", "admin")):
        storage = install.session(slug).storage
        auth.create_user(storage, email, role)
        found[email] = auth.create_token(storage, email, "script")
    revoked = auth.create_token(acme.storage, MEMBER, "revoked")
    people.revoke(acme.storage, people.tokens(acme.storage)[0]["id"])
    expired = auth.create_token(acme.storage, MEMBER, "expired")
    tokens = loom_table(acme.storage.schema, "loom_tokens")
    with acme.storage.begin() as conn:
        conn.execute(update(tokens).where(tokens.c.label == "expired")
                     .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    found.update(revoked=revoked, expired=expired,
                 forged=f"loom_{acme.storage.uid}.not-a-secret-anyone-was-given",
                 other=f"loom_{'0' * 32}.nothing", legacy="loom_old-style-token", garbage="x")
    return found


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_invalid(answer):
    assert answer.status_code == 401, answer.get_data(as_text=True)
    assert answer.headers["WWW-Authenticate"] == CHALLENGE
    assert answer.json["error"]["code"] == "invalid_token"


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(slug=st.sampled_from(["acme", "beta", "nowhere", "", "Not_A-Slug!"]) | SEGMENT,
       rest=st.lists(SEGMENT, max_size=4), method=st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT"]),
       which=st.sampled_from(["revoked", "expired", "forged", "other", "legacy", "garbage"]))
def test_an_invalid_expired_or_revoked_token_is_a_401_on_every_tenant_url(tenants, client, slug, rest, method, which):
    answer = client.open("/api/v1/t/" + "/".join([slug, *rest]), method=method, headers=bearer(tenants[which]))
    assert_invalid(answer)
    assert answer.get_data() == client.get("/api/v1/t/acme/x", headers=bearer("loom_x")).get_data()


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(slug=st.sampled_from(["beta", "nowhere", "zz"]) | SEGMENT.filter(lambda s: s != "acme"),
       rest=st.sampled_from(["records/contact", "metadata", "tokens", "no/such/route", "records/contact/1"]))
def test_a_valid_token_on_another_tenants_url_is_a_404_that_names_nothing(tenants, client, slug, rest):
    answer = client.get(f"/api/v1/t/{slug}/{rest}", headers=bearer(tenants[MEMBER]))
    assert (answer.status_code, answer.json["error"]["code"]) == (404, "not_found")
    assert "WWW-Authenticate" not in answer.headers


def test_no_token_is_a_401_with_a_plain_challenge(tenants, client):
    for url in ("/api/v1/t/acme/records/contact", "/api/v1/t/nowhere/x"):
        answer = client.get(url)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == 'Bearer realm="loom"'


def test_a_revoked_token_answers_401_at_once(tenants, client, acme):
    made = client.post("/api/v1/t/acme/tokens", json={"label": "mine"}, headers=bearer(tenants[MEMBER]))
    assert made.status_code == 201 and made.json["user"] == MEMBER
    assert client.get("/api/v1/t/acme/records/contact", headers=bearer(made.json["token"])).status_code == 200
    assert client.delete(f"/api/v1/t/acme/tokens/{made.json['id']}", headers=bearer(tenants[MEMBER])).status_code == 200
    assert_invalid(client.get("/api/v1/t/acme/records/contact", headers=bearer(made.json["token"])))


def test_a_token_expires_after_its_lifetime_and_says_when(tenants, client):
    made = client.post("/api/v1/t/acme/tokens", json={"label": "a month", "expires": "30d"},
                       headers=bearer(tenants[ADMIN])).json
    expires = datetime.fromisoformat(made["expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=29, hours=23) < expires - datetime.now(timezone.utc) <= timedelta(days=30)
    default = client.post("/api/v1/t/acme/tokens", json={"label": "default"}, headers=bearer(tenants[ADMIN])).json
    assert default["scopes"] == ["read-write"] and default["expires_at"] > made["expires_at"]  # 90 days


def test_scopes_limit_what_a_token_reaches(tenants, client):
    def token(*scopes):
        made = client.post("/api/v1/t/acme/tokens", json={"label": "s", "scopes": list(scopes)},
                           headers=bearer(tenants[ADMIN]))
        assert made.status_code == 201, made.text
        return bearer(made.json["token"])

    contact = {"full_name": "Ann Lee", "email": "ann.lee@example.com"}
    read, contact_read, contact_write = token("read"), token("records:contact:read"), token("records:contact:write")
    assert client.get("/api/v1/t/acme/records/contact", headers=read).status_code == 200
    assert client.get("/api/v1/t/acme/metadata", headers=read).status_code == 200
    for headers in (read, contact_read):
        refused = client.post("/api/v1/t/acme/records/contact", json=contact, headers=headers)
        assert (refused.status_code, refused.json["error"]["code"]) == (403, "token_scope")
    assert client.get("/api/v1/t/acme/records/contact", headers=contact_read).status_code == 200
    assert client.get("/api/v1/t/acme/metadata", headers=contact_read).status_code == 403
    assert client.get("/api/v1/t/acme/records/account", headers=contact_write).status_code == 403
    assert client.post("/api/v1/t/acme/records/contact", json=contact, headers=contact_write).status_code == 201


def test_bad_lifetimes_and_scopes_are_refused_with_their_field_and_make_nothing(tenants, client, acme):
    before = len(people.tokens(acme.storage))
    for body, field in (({"expires": "0d"}, "expires"), ({"expires": "367d"}, "expires"), ({"expires": "soon"}, "expires"),
                        ({"expires": 30}, "expires"), ({"scopes": []}, "scopes"), ({"scopes": ["admin"]}, "scopes[0]"),
                        ({"scopes": ["read", "records:ghost:read"]}, "scopes[1]"), ({"scopes": "read"}, None),
                        ({"scopes": [1]}, "scopes[0]")):
        answer = client.post("/api/v1/t/acme/tokens", json={"label": "x", **body}, headers=bearer(tenants[ADMIN]))
        if field is None:
            assert answer.status_code == 201
            continue
        assert answer.status_code == 400, (body, answer.text)
        assert field in {d["field"] for d in answer.json["error"]["details"]}, answer.json
    assert len(people.tokens(acme.storage)) == before + 1


def test_a_member_sees_and_revokes_only_their_own_tokens(tenants, client, acme):
    member, admin = bearer(tenants[MEMBER]), bearer(tenants[ADMIN])
    assert {t["user"] for t in client.get("/api/v1/t/acme/tokens", headers=member).json["items"]} == {MEMBER}
    assert {t["user"] for t in client.get("/api/v1/t/acme/tokens", headers=admin).json["items"]} == {ADMIN, MEMBER}
    refused = client.post("/api/v1/t/acme/tokens", json={"label": "x", "user": ADMIN}, headers=member)
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "admin_only")
    admins = next(t["id"] for t in people.tokens(acme.storage) if t["user"] == ADMIN)
    assert client.delete(f"/api/v1/t/acme/tokens/{admins}", headers=member).status_code == 404
    assert client.get("/api/v1/t/acme/records/contact", headers=admin).status_code == 200
    members = next(t["id"] for t in people.tokens(acme.storage) if t["user"] == MEMBER and not t["revoked_at"])
    assert client.delete(f"/api/v1/t/acme/tokens/{members}", headers=admin).status_code == 200


def test_the_cli_makes_tokens_with_an_expiry_and_scopes_and_explains_bad_ones(tenants, install):
    def run(*args):
        return CliRunner().invoke(cli, list(args), obj=install)

    made = run("token", "create", "acme", MEMBER, "--expires", "30d", "--scope", "records:contact:read")
    assert made.exit_code == 0, made.output
    assert "scopes records:contact:read" in made.output and made.output.strip().splitlines()[-1].startswith("loom_")
    listed = run("token", "list", "acme")
    assert "records:contact:read" in listed.output and "expires " in listed.output
    for args, words in ((("--expires", "forever"), "like 30d or 12h"), (("--scope", "admin"), "not a scope"),
                        (("--scope", "records:ghost:read"), "no entity 'ghost'")):
        refused = run("token", "create", "acme", MEMBER, *args)
        assert refused.exit_code != 0 and words in refused.output and "Traceback" not in refused.output


def test_a_token_makes_no_token_wider_or_longer_lived_than_itself(app, acme):
    storage = acme.storage
    auth.create_user(storage, ADMIN, "admin")
    _row, short = people.new_token(storage, ADMIN, "short", expires="2h")
    _row, narrow = people.new_token(storage, ADMIN, "narrow", scopes=["read"])
    client = app.test_client()

    def make(token, **body):
        return client.post("/api/v1/t/acme/tokens", headers=bearer(token), json={"label": "made", **body})

    refused = make(short, expires="30d")
    assert refused.status_code == 400 and refused.get_json()["error"]["details"][0]["code"] == "token_outlives"
    made = make(short)
    assert made.status_code == 201
    ends = datetime.fromisoformat(made.get_json()["expires_at"].replace("Z", "+00:00"))
    assert ends <= datetime.now(timezone.utc) + timedelta(hours=2)
    assert make(narrow).status_code == 403
    assert make(short, expires="1h").status_code == 201
