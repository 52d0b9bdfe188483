"""Signing in on the server side, on both backends: CSRF, cookies, sessions that end with a
password change, and reset links that work once."""
from __future__ import annotations

import re

import pytest

from engine import passwords
from engine.app import create_app
from tests.screens.conftest import PASSWORD, ScreenClient, with_passwords


@pytest.fixture
def screens_app(install):
    install.registry.create("acme", "Acme")
    with_passwords(install, "acme", {"boss@acme.example": "admin", "rep@acme.example": "member"})
    return create_app(install, {"TESTING": True})


def test_a_form_post_without_its_csrf_token_is_refused_and_signs_no_one_in(screens_app):
    client = screens_app.test_client()
    refused = client.post("/t/acme/login", data={"email": "boss@acme.example", "password": PASSWORD})
    assert refused.status_code == 400 and "This form has expired" in refused.text
    assert client.get("/t/acme/").status_code == 302


def test_the_session_cookie_is_http_only_same_site_and_secure_over_tls(screens_app):
    client = screens_app.test_client()
    page = client.get("/t/acme/login", base_url="https://loom.example")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    signed = client.post("/t/acme/login", base_url="https://loom.example",
                         data={"email": "boss@acme.example", "password": PASSWORD, "csrf_token": token})
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "default-src 'self'" in signed.headers["Content-Security-Policy"]


def test_a_password_change_ends_the_sessions_signed_in_before_it(screens_app, install):
    member = ScreenClient(screens_app, "acme", "rep@acme.example")
    assert member.get("/").status_code == 200
    passwords.set_password(install.session("acme").storage, "rep@acme.example", "a-new-password")
    assert member.get("/").status_code == 302


def test_an_unknown_tenant_and_an_unknown_user_get_no_hint(screens_app):
    client = screens_app.test_client()
    for path in ("/t/nowhere/login", "/t/nowhere/", "/t/nowhere/e/party/1"):
        unknown = client.get(path)
        assert unknown.status_code == 404 and "There is no such workspace." in unknown.text
        assert "the token is not valid" not in unknown.text
    page = client.get("/t/acme/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    unknown = client.post("/t/acme/login", data={"email": "ghost@acme.example", "password": "x" * 10,
                                                 "csrf_token": token})
    wrong = client.post("/t/acme/login", data={"email": "rep@acme.example", "password": "x" * 10,
                                               "csrf_token": token})
    assert unknown.status_code == wrong.status_code == 401
    assert "The e-mail or the password is not right." in unknown.text
    assert "The e-mail or the password is not right." in wrong.text


def test_a_reset_link_sets_a_password_once_and_a_next_url_stays_in_the_tenant(screens_app, install):
    storage = install.session("acme").storage
    secret, actor = passwords.start_reset(storage, "rep@acme.example")
    assert passwords.start_reset(storage, "ghost@acme.example") is None
    client = screens_app.test_client()
    page = client.get(f"/t/acme/password-reset/{secret}")
    assert page.status_code == 200 and "rep@acme.example" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    differ = client.post(f"/t/acme/password-reset/{secret}",
                         data={"password": "brand-new-pass", "password_again": "brand-new-pazz", "csrf_token": token})
    assert differ.status_code == 400 and "The two passwords differ." in differ.text
    done = client.post(f"/t/acme/password-reset/{secret}",
                       data={"password": "brand-new-pass", "password_again": "brand-new-pass", "csrf_token": token})
    assert done.status_code == 302
    assert client.get(f"/t/acme/password-reset/{secret}").status_code == 404  # once
    assert passwords.sign_in(storage, "rep@acme.example", "brand-new-pass").actor is not None
    # After signing in, `next` may only lead inside the tenant's screens.
    page = client.get("/t/acme/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    away = client.post("/t/acme/login", data={"email": "rep@acme.example", "password": "brand-new-pass",
                                              "csrf_token": token, "next": "https://evil.example/"})
    assert away.headers["Location"] == "/t/acme/"


def test_a_reset_request_mails_a_link_through_the_smtp_settings_that_signs_in_once(settings):
    """The reset e-mail goes through the install's LOOM_SMTP_* settings to a real SMTP
    server; an unknown address gets the same page and no mail."""
    from dataclasses import replace

    from engine.install import Install
    from engine.plugins import Plugins
    from tests.mail import running_smtp

    with running_smtp() as smtp:
        install = Install(replace(settings, extra={"LOOM_SMTP_HOST": "127.0.0.1", "LOOM_SMTP_PORT": str(smtp.port),
                                                   "LOOM_SMTP_FROM": "crm@acme.example",
                                                   "LOOM_BASE_URL": "https://crm.acme.example/"}),
                          Plugins(load_entry_points=False))
        install.registry.create("acme", "Acme")
        with_passwords(install, "acme", {"rep@acme.example": "member"})
        client = create_app(install, {"TESTING": True}).test_client()
        asker = create_app(install, {"TESTING": True}).test_client()  # the Host header is the asker's choice
        form = asker.get("/t/acme/password-reset", base_url="http://evil.example")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        for email in ("ghost@acme.example", "REP@acme.example "):
            sent = asker.post("/t/acme/password-reset", data={"email": email, "csrf_token": token},
                              base_url="http://evil.example")
            assert sent.status_code == 200 and "a link to choose a new password is on its way" in sent.text
        assert len(smtp.messages) == 1
        message = smtp.messages[0]
        assert message["To"] == "rep@acme.example" and message["Subject"] == "Reset your Loom password"
        assert "evil.example" not in message.get_content()
        link = re.search(r"https://crm\.acme\.example/t/acme/password-reset/(\S+)", message.get_content()).group(1)
        reset = f"/t/acme/password-reset/{link}"
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(reset).text).group(1)
        done = client.post(reset, data={"password": "mailed-password", "password_again": "mailed-password",
                                        "csrf_token": token})
        assert done.status_code == 302
        assert passwords.sign_in(install.session("acme").storage, "rep@acme.example", "mailed-password").actor
        assert client.get(reset).status_code == 404
        install.dispose()


def test_processes_starting_at_once_on_a_new_install_all_sign_cookies_with_the_same_key(tmp_path):
    """gunicorn's workers make the install's key at the same moment: each reads a whole key,
    and the same one (it is written under a private name, then linked into place)."""
    import subprocess
    import sys

    script = ("import sys; from pathlib import Path; from types import SimpleNamespace as S; "
              "from admin_ui.web import secret_key; "
              "print(secret_key(S(settings=S(data_dir=Path(sys.argv[1]), extra={}))))")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "data")], stdout=subprocess.PIPE,
                             text=True, env={k: v for k, v in __import__("os").environ.items()
                                             if k != "LOOM_SECRET_KEY"}) for _ in range(6)]
    keys = {run.communicate(timeout=60)[0].strip() for run in runs}
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["secret_key"]
