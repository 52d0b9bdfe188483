"""Security keys in the screens, on both backends, answered by a software authenticator
(real ES256 signatures): a signed-in user adds a key over the JSON routes; a user with a key
is offered it at the second step and signs in with it; a replayed answer, garbage, another
user's key and a missing CSRF token answer a clear JSON error, never a 500; refusals count
like wrong codes; the last second step of a required role stays; adding or removing a key
asks for the password; `LOOM_BASE_URL` names the relying party, and without it no key is
offered or accepted."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine import auth, mfa, security_keys
from engine.app import create_app
from engine.cli import cli
from engine.install import Install
from engine.plugins import Plugins
from engine.records.access_log import flush
from engine.systables import loom_table
from tests.screens.conftest import PASSWORD, ScreenClient, with_passwords
from tests.soft_authenticator import SoftKey

BOSS, REP = "boss@acme.example", "rep@acme.example"
ORIGIN = "http://localhost"  # the test client's address, and the screens' public address here


@pytest.fixture
def install(settings, plugins):
    """The install with `LOOM_BASE_URL` set to the test client's address."""
    install = Install(replace(settings, extra={**settings.extra, "LOOM_BASE_URL": ORIGIN + "/"}), plugins)
    yield install
    install.dispose()


@pytest.fixture
def screens_app(install):
    install.registry.create("acme", "Acme")
    with_passwords(install, "acme", {BOSS: "admin", REP: "member"})
    return create_app(install, {"TESTING": True})


def add_key(user: ScreenClient, key: SoftKey, name="Blue key"):
    options = user.hx("POST", "security-keys/options").get_json()
    return user.hx("POST", "security-keys", json={"name": name, "credential": key.create(options, ORIGIN),
                                                  "password": PASSWORD})


def csrf(page) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


class PendingSignIn:
    """A browser past the password, at the second step."""

    def __init__(self, app, email=BOSS):
        self.client = app.test_client()
        page = self.client.get("/t/acme/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        self.answer = self.client.post("/t/acme/login", data={"email": email, "password": PASSWORD,
                                                              "csrf_token": token})
        self.page = self.client.get("/t/acme/login/mfa")
        self.token = csrf(self.page) if self.page.status_code == 200 else None

    def post(self, path, **kwargs):
        headers = {"X-CSRFToken": self.token, **kwargs.pop("headers", {})}
        return self.client.post(f"/t/acme/{path}", headers=headers, **kwargs)

    def options(self):
        return self.post("login/mfa/key/options").get_json()

    def use(self, credential):
        return self.post("login/mfa/key", json={"credential": credential})


def test_a_user_adds_a_key_and_signs_in_with_it(screens_app, install):
    storage = install.session("acme").storage
    boss, key = ScreenClient(screens_app, "acme", BOSS), SoftKey()
    page = boss.get("security-keys")
    assert page.status_code == 200 and "No security keys yet." in page.text and "security_keys.js" in page.text
    added = add_key(boss, key)
    assert added.status_code == 200 and added.get_json()["redirect"] == "/t/acme/security-keys", added.text
    page = boss.get("security-keys")
    assert "Added the security key Blue key." in page.text and "Remove: Blue key" in page.text
    # The next sign-in asks for the key (no app code: the user has no app).
    pending = PendingSignIn(screens_app)
    assert pending.answer.headers["Location"].endswith("/t/acme/login/mfa")
    assert "Use a security key" in pending.page.text and 'name="code"' not in pending.page.text
    options = pending.options()
    assert options["rpId"] == "localhost" and options["allowCredentials"][0]["id"] == key.id
    answer, saved = key.get(options, ORIGIN), pending.client.get_cookie("loom_session").value
    done = pending.use(answer)
    assert done.status_code == 200 and done.get_json() == {"redirect": "/t/acme/"}
    assert pending.client.get("/t/acme/").status_code == 200
    # The same answer again, with the cookie that asked for it: its challenge is used up.
    pending.client.set_cookie("loom_session", saved)
    refused = pending.use(answer)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "challenge_expired"
    assert pending.client.get("/t/acme/").status_code == 302
    # In another pending sign-in, with a challenge of its own: not the challenge signed.
    other = PendingSignIn(screens_app)
    other.options()
    refused = other.use(answer)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "key_refused"
    flush(storage)
    log = loom_table(storage.schema, "loom_access_log")
    with storage.connect() as conn:
        outcomes = [r.detail["outcome"] for r in conn.execute(select(log.c.detail).where(log.c.action == "sign_in"))]
    assert "signed in with the security key Blue key" in outcomes
    assert "second step: security key refused (challenge_expired)" in outcomes


def test_bad_answers_are_clear_json_errors_and_count_as_wrong_codes(screens_app, install):
    storage = install.session("acme").storage
    boss, rep = ScreenClient(screens_app, "acme", BOSS), ScreenClient(screens_app, "acme", REP)
    key, reps_key = SoftKey(), SoftKey()
    add_key(boss, key)
    add_key(rep, reps_key)
    pending = PendingSignIn(screens_app)
    # Without the CSRF token: the form-expired page, nothing counted.
    assert pending.client.post("/t/acme/login/mfa/key/options").status_code == 400
    bad = [lambda o: reps_key.get(o, ORIGIN),                   # another user's key
           lambda o: key.get(o, "http://evil.example"),          # another site
           lambda o: "not a credential",
           lambda o: {"id": key.id, "response": []}]
    for make in bad:
        refused = pending.use(make(pending.options()))
        body = refused.get_json()
        assert refused.status_code == 401 and body["error"]["message"] and "redirect" not in body, refused.text
    # The fifth refusal (garbage, and no challenge asked for) ends the pending sign-in.
    ended = pending.post("login/mfa/key", data=b"\xff{", content_type="application/json")
    assert ended.status_code == 401 and ended.get_json()["error"]["code"] == "challenge_expired"
    assert ended.get_json()["redirect"] == "/t/acme/login"
    assert pending.post("login/mfa/key/options").get_json()["redirect"] == "/t/acme/login"
    assert security_keys.keys(storage, 1)[0]["sign_count"] == 0  # no answer was accepted


def test_replaying_the_pending_cookie_is_stopped_by_the_servers_count(install):
    install.registry.create("acme", "Acme")
    with_passwords(install, "acme", {BOSS: "admin"})
    app = create_app(install, {"TESTING": True, "LOOM_AUTH_FAILURE_LIMIT": "3"})
    key = SoftKey()
    add_key(ScreenClient(app, "acme", BOSS), key)
    pending = PendingSignIn(app)
    saved = pending.client.get_cookie("loom_session").value
    for _ in range(3):
        pending.client.set_cookie("loom_session", saved)
        assert pending.use(SoftKey().get(pending.options(), ORIGIN)).status_code == 401
    pending.client.set_cookie("loom_session", saved)
    asked = pending.post("login/mfa/key/options")  # no new challenge either while blocked
    assert asked.status_code == 429 and int(asked.headers["Retry-After"]) > 0
    stopped = pending.use(key.get({"rpId": "localhost", "challenge": "x"}, ORIGIN))
    assert stopped.status_code == 429 and int(stopped.headers["Retry-After"]) > 0


def test_the_last_second_step_of_a_required_role_stays(screens_app, install):
    storage = install.session("acme").storage
    rep = ScreenClient(screens_app, "acme", REP)  # not required yet: may remove their last key
    add_key(rep, SoftKey(), "Spare")
    [spare] = security_keys.keys(storage, 2)
    removed = rep.post(f"security-keys/{spare['id']}/remove", data={"password": PASSWORD})
    assert removed.status_code == 302 and security_keys.keys(storage, 2) == []
    mfa.set_required_roles(storage, ["member"])
    add_key(rep, SoftKey(), "Only")
    [only] = security_keys.keys(storage, 2)
    kept = rep.post(f"security-keys/{only['id']}/remove", data={"password": PASSWORD})
    assert kept.status_code == 400 and "this key is your last one" in kept.text
    assert len(security_keys.keys(storage, 2)) == 1
    assert rep.post("security-keys/999/remove", data={"password": PASSWORD}).status_code == 404
    # The admin sees who has which second step in the people page.
    people = ScreenClient(screens_app, "acme", BOSS).get("designer/people")
    assert "1 security key" in people.text
    # Junk in place of a new key: a clear refusal, nothing kept.
    junk = rep.hx("POST", "security-keys", json={"name": "X", "credential": {"id": 1}, "password": PASSWORD})
    assert junk.status_code == 400 and junk.get_json()["error"]["code"] == "challenge_expired"
    options = rep.hx("POST", "security-keys/options").get_json()
    junk = rep.hx("POST", "security-keys", json={"name": "X", "credential": [options], "password": PASSWORD})
    assert junk.status_code == 400 and junk.get_json()["error"]["code"] == "key_refused"
    nameless = rep.hx("POST", "security-keys", json={"credential": {}, "password": PASSWORD})
    assert nameless.status_code == 400 and nameless.get_json()["error"]["code"] == "bad_name"
    assert len(security_keys.keys(storage, 2)) == 1


def test_the_public_address_names_the_relying_party(settings):
    install = Install(replace(settings, extra={"LOOM_BASE_URL": "https://crm.acme.example/"}),
                      Plugins(load_entry_points=False))
    install.registry.create("acme", "Acme")
    with_passwords(install, "acme", {BOSS: "admin"})
    boss = ScreenClient(create_app(install, {"TESTING": True}), "acme", BOSS)
    options = boss.hx("POST", "security-keys/options").get_json()
    assert options["rp"] == {"id": "crm.acme.example", "name": "Loom Acme"}
    made = boss.hx("POST", "security-keys", json={"name": "K", "credential": SoftKey().create(options, ORIGIN),
                                                  "password": PASSWORD})
    assert made.status_code == 400 and made.get_json()["error"]["code"] == "key_refused"  # made at the wrong address
    install.dispose()


def test_an_operator_reset_forgets_the_keys_too(screens_app, install):
    storage = install.session("acme").storage
    add_key(ScreenClient(screens_app, "acme", BOSS), SoftKey())
    assert PendingSignIn(screens_app).answer.headers["Location"].endswith("/t/acme/login/mfa")
    result = CliRunner().invoke(cli, ["user", "reset-mfa", "acme", BOSS], obj=install)
    assert result.exit_code == 0 and security_keys.keys(storage, 1) == []
    assert PendingSignIn(screens_app).answer.headers["Location"].endswith("/t/acme/")


def test_a_required_role_may_enrol_a_key_instead_of_the_app_and_no_one_replaces_a_second_step(screens_app, install):
    storage = install.session("acme").storage
    mfa.set_required_roles(storage, ["admin"])
    pending, key = PendingSignIn(screens_app), SoftKey()
    assert pending.answer.headers["Location"].endswith("/t/acme/login/mfa/enrol")
    page = pending.client.get("/t/acme/login/mfa/enrol")
    assert "Set up a security key instead" in page.text
    pending.token = csrf(page)
    options = pending.post("login/mfa/enrol/key/options").get_json()
    nameless = pending.post("login/mfa/enrol/key", json={"credential": key.create(options, ORIGIN)})
    assert nameless.status_code == 400 and nameless.get_json()["error"]["code"] == "bad_name"
    options = pending.post("login/mfa/enrol/key/options").get_json()
    done = pending.post("login/mfa/enrol/key", json={"name": "Blue key", "credential": key.create(options, ORIGIN)})
    assert done.status_code == 200 and done.get_json()["redirect"] == "/t/acme/", done.text
    assert pending.client.get("/t/acme/").status_code == 200
    assert [k["name"] for k in security_keys.keys(storage, 1)] == ["Blue key"]
    # With a key, the next sign-in asks for it: the enrolment pages only send there, and
    # no new app or key can be put in place of it before the second step.
    again = PendingSignIn(screens_app)
    assert again.answer.headers["Location"].endswith("/t/acme/login/mfa")
    assert again.client.get("/t/acme/login/mfa/enrol").headers["Location"].endswith("/t/acme/login/mfa")
    replaced = again.client.post("/t/acme/login/mfa/enrol", data={"code": "123456", "csrf_token": again.token})
    assert replaced.status_code == 302 and replaced.headers["Location"].endswith("/t/acme/login/mfa")
    refused = again.post("login/mfa/enrol/key/options")
    assert refused.status_code == 401 and refused.get_json()["redirect"] == "/t/acme/login"
    assert not mfa.enrolled(storage, 1) and len(security_keys.keys(storage, 1)) == 1


def test_adding_or_removing_a_key_asks_for_the_password(screens_app, install):
    storage = install.session("acme").storage
    rep = ScreenClient(screens_app, "acme", REP)
    for password in (None, "", "wrong password", ["list"]):
        options = rep.hx("POST", "security-keys/options").get_json()
        body = {"name": "K", "credential": SoftKey().create(options, ORIGIN)}
        refused = rep.hx("POST", "security-keys", json=body if password is None else {**body, "password": password})
        assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "wrong_password"
        assert refused.get_json()["error"]["message"] == "Your password is not right."
    assert security_keys.keys(storage, 2) == []
    assert add_key(rep, SoftKey()).status_code == 200
    [key] = security_keys.keys(storage, 2)
    kept = rep.post(f"security-keys/{key['id']}/remove", data={"password": "nope"})
    assert kept.status_code == 400 and "Your password is not right." in kept.text
    assert rep.post(f"security-keys/{key['id']}/remove").status_code == 400
    assert len(security_keys.keys(storage, 2)) == 1


def test_json_nested_too_deeply_is_a_clear_400(screens_app, install):
    rep = ScreenClient(screens_app, "acme", REP)
    deep = "[" * 30_000 + "]" * 30_000
    rep.hx("POST", "security-keys/options")
    answer = rep.hx("POST", "security-keys", data=deep, content_type="application/json")
    assert answer.status_code == 400 and "nested too deeply" in answer.get_json()["error"]["details"][0]["message"]
    assert add_key(ScreenClient(screens_app, "acme", BOSS), SoftKey()).status_code == 200
    pending = PendingSignIn(screens_app)
    pending.options()
    answer = pending.post("login/mfa/key", data=deep, content_type="application/json")
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "key_refused"


def mfa_user(storage, email):
    return next(a for a in auth.list_users(storage) if a.email == email)


def test_without_a_public_address_no_key_is_offered(settings, plugins):
    install = Install(settings, plugins)  # LOOM_BASE_URL not set: the Host header never names the site
    try:
        install.registry.create("acme", "Acme")
        with_passwords(install, "acme", {BOSS: "admin"})
        app = create_app(install, {"TESTING": True})
        boss = ScreenClient(app, "acme", BOSS)
        page = boss.get("security-keys")
        assert page.status_code == 200 and "an operator must set LOOM_BASE_URL" in page.text
        assert "Add a security key" not in page.text and "security_keys.js" not in page.text
        for path in ("security-keys/options", "security-keys"):
            off = boss.hx("POST", path, json={})
            assert off.status_code == 409 and off.get_json()["error"]["code"] == "keys_unavailable"
        storage = install.session("acme").storage
        with_passwords(install, "acme", {REP: "member"})
        rp = security_keys.relying_party("https://crm.acme.example", "Loom Acme")
        ceremony = security_keys.start_enrolment(storage, rp, mfa_user(storage, REP))
        security_keys.enrol(storage, rp, 2, ceremony.challenge, SoftKey().create(ceremony.options, rp.origin), "K")
        stuck = PendingSignIn(app, REP)  # a key made for the public address, which is unset here
        assert "Use a security key" not in stuck.page.text and "Ask an administrator" in stuck.page.text
        off = stuck.post("login/mfa/key/options")
        assert off.status_code == 409 and off.get_json()["error"]["code"] == "keys_unavailable"
        mfa.set_required_roles(storage, ["admin"])
        pending = PendingSignIn(app)
        page = pending.client.get("/t/acme/login/mfa/enrol")
        assert page.status_code == 200 and "Set up a security key instead" not in page.text
        pending.token = csrf(page)
        off = pending.post("login/mfa/enrol/key/options")
        assert off.status_code == 409 and off.get_json()["error"]["code"] == "keys_unavailable"
    finally:
        install.dispose()
