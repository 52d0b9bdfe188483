"""Two-step sign-in on the server side, on both backends: a role the tenant requires it of
enrols before reaching anything; an enrolled user gives a code (or a recovery code, once)
every time; wrong codes are counted and end the pending sign-in; the CLI sets the roles."""
from __future__ import annotations

import re

import pyotp
import pytest
from click.testing import CliRunner

from engine import mfa
from engine.app import create_app
from engine.cli import cli
from engine.errors import ValidationFailed
from tests.screens.conftest import PASSWORD, with_passwords

BOSS, REP = "boss@acme.example", "rep@acme.example"


@pytest.fixture
def screens_app(install):
    install.registry.create("acme", "Acme")
    with_passwords(install, "acme", {BOSS: "admin", REP: "member"})
    return create_app(install, {"TESTING": True})


def csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def password_step(client, email=BOSS):
    page = client.get("/t/acme/login")
    return client.post("/t/acme/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf(page)})


def test_a_required_role_enrols_before_reaching_anything_and_then_gives_a_code_each_time(screens_app, install):
    storage = install.session("acme").storage
    mfa.set_required_roles(storage, "admin")
    client = screens_app.test_client()
    answer = password_step(client)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/t/acme/login/mfa/enrol")
    assert client.get("/t/acme/").status_code == 302                       # nothing else yet
    page = client.get("/t/acme/login/mfa/enrol")
    secret = re.search(r'secret=([A-Z2-7]{32})', page.text).group(1)
    assert "otpauth://totp/" in page.text and "<svg" in page.text
    wrong = client.post("/t/acme/login/mfa/enrol", data={"code": "000000", "csrf_token": csrf(page)})
    assert wrong.status_code == 400 and not mfa.enrolled(storage, 1)
    done = client.post("/t/acme/login/mfa/enrol", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf(page)})
    codes = re.findall(r"<code>([0-9a-f-]{14})</code>", done.text)
    assert done.status_code == 200 and len(codes) == mfa.RECOVERY_CODES
    assert client.get("/t/acme/").status_code == 200
    # The next sign-in asks for a code; a recovery code works once.
    again = screens_app.test_client()
    assert password_step(again).headers["Location"].endswith("/t/acme/login/mfa")
    page = again.get("/t/acme/login/mfa")
    assert again.post("/t/acme/login/mfa", data={"code": codes[0], "csrf_token": csrf(page)}).status_code == 302
    third = screens_app.test_client()
    password_step(third)
    page = third.get("/t/acme/login/mfa")
    assert third.post("/t/acme/login/mfa", data={"code": codes[0], "csrf_token": csrf(page)}).status_code == 401
    assert third.post("/t/acme/login/mfa", data={"code": pyotp.TOTP(secret).now(),
                                                 "csrf_token": csrf(page)}).status_code == 302
    # A member (not required) signs in with the password alone.
    member = screens_app.test_client()
    assert password_step(member, REP).headers["Location"].endswith("/t/acme/")


def test_wrong_codes_end_the_pending_sign_in(screens_app, install):
    storage = install.session("acme").storage
    secret = mfa.new_secret()
    mfa.enrol(storage, 1, secret, pyotp.TOTP(secret).now())
    client = screens_app.test_client()
    password_step(client)
    page = client.get("/t/acme/login/mfa")
    for _ in range(4):
        assert client.post("/t/acme/login/mfa", data={"code": "12345x", "csrf_token": csrf(page)}).status_code == 401
    ended = client.post("/t/acme/login/mfa", data={"code": "111111", "csrf_token": csrf(page)})
    assert ended.status_code == 302 and ended.headers["Location"].endswith("/t/acme/login")
    late = client.post("/t/acme/login/mfa", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf(page)})
    assert late.headers["Location"].endswith("/t/acme/login") and client.get("/t/acme/").status_code == 302


def test_replaying_the_pending_cookie_does_not_reset_the_count_of_wrong_codes(install):
    """The user's wrong codes are counted on the server: a client that sends the cookie of
    its first try again and again is stopped by the limit, with the right code too."""
    install.registry.create("acme", "Acme")
    with_passwords(install, "acme", {BOSS: "admin"})
    app = create_app(install, {"TESTING": True, "LOOM_AUTH_FAILURE_LIMIT": "6"})
    storage = install.session("acme").storage
    secret = mfa.new_secret()
    mfa.enrol(storage, 1, secret, pyotp.TOTP(secret).now())
    client = app.test_client()
    password_step(client)
    page = client.get("/t/acme/login/mfa")
    saved = client.get_cookie("loom_session").value
    for _ in range(6):
        client.set_cookie("loom_session", saved)
        assert client.post("/t/acme/login/mfa", data={"code": "000000", "csrf_token": csrf(page)}).status_code == 401
    client.set_cookie("loom_session", saved)
    stopped = client.post("/t/acme/login/mfa", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf(page)})
    assert stopped.status_code == 429 and int(stopped.headers["Retry-After"]) > 0


def test_the_cli_sets_the_roles_and_resets_a_users_mfa_with_clear_errors(install, screens_app):
    def run(*args):
        return CliRunner().invoke(cli, list(args), obj=install)

    storage = install.session("acme").storage
    assert run("tenant", "set", "acme", "mfa_required_roles", "admin,member").exit_code == 0
    assert mfa.required_roles(storage) == ["admin", "member"]
    refused = run("tenant", "set", "acme", "mfa_required_roles", "boss")
    assert refused.exit_code != 0 and "unknown role 'boss'" in refused.output and "Traceback" not in refused.output
    assert mfa.required_roles(storage) == ["admin", "member"]
    assert run("tenant", "set", "acme", "mfa_required_roles", "none").exit_code == 0
    assert mfa.required_roles(storage) == []
    assert run("tenant", "set", "acme", "colour", "red").exit_code == 2
    secret = mfa.new_secret()
    mfa.enrol(storage, 1, secret, pyotp.TOTP(secret).now())
    assert run("user", "reset-mfa", "acme", BOSS).exit_code == 0 and not mfa.enrolled(storage, 1)
    with pytest.raises(ValidationFailed):
        mfa.enrol(storage, 1, secret, "not a code")


def test_a_tenant_role_may_be_required_to_use_a_second_step(install):
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    session.apply_metadata({"entities": [{"name": "note", "fields": [{"name": "body", "type": "text"}]}],
                            "roles": [{"name": "auditor", "entities": {"note": {"rights": ["read"]}}}]})
    with_passwords(install, "acme", {BOSS: "admin", REP: "member"})
    from engine import auth

    auth.update_user(session.storage, REP, roles=["auditor"])
    result = CliRunner().invoke(cli, ["tenant", "set", "acme", "mfa_required_roles", "auditor"], obj=install)
    assert result.exit_code == 0 and "auditor" in result.output, result.output
    unknown = CliRunner().invoke(cli, ["tenant", "set", "acme", "mfa_required_roles", "surveyor"], obj=install)
    assert unknown.exit_code != 0 and "unknown role 'surveyor'" in unknown.output
    client = create_app(install, {"TESTING": True}).test_client()
    assert password_step(client, REP).headers["Location"].endswith("/t/acme/login/mfa/enrol")
    assert password_step(create_app(install, {"TESTING": True}).test_client(), BOSS).headers["Location"].endswith(
        "/t/acme/")
