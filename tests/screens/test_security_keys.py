"""Security keys in Chromium (issue 12), with Chromium's own virtual authenticator (CTAP2
over USB, driven through the DevTools protocol): a user adds a key on their Security keys
page, signs out, and signs in again with the password and the key — in English and in
Chinese, axe-core at zero violations on every screen. WebAuthn needs a domain, so the
browser opens the site as `localhost`, the public address (`LOOM_BASE_URL`) it is served at."""
from __future__ import annotations

import re
import socket

import pytest
from playwright.sync_api import expect

from engine import auth, mfa, passwords, security_keys
from tests.screens.conftest import PASSWORD, assert_accessible, build_site, screenshot


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def local_site(tmp_path_factory):
    """The demo tenant served at http://localhost:PORT, its LOOM_BASE_URL."""
    port = free_port()
    url = f"http://localhost:{port}"
    found, server, _settings = build_site("sqlite", tmp_path_factory.mktemp("keys-site"), {"LOOM_BASE_URL": url}, port)
    found.url = url
    yield found
    server.stop()
    found.install.dispose()


def with_authenticator(page) -> str:
    """A virtual security key in the page's tab (it answers at once, the user present)."""
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    made = devtools.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": False, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    page.loom_devtools = devtools
    return made["authenticatorId"]


def new_user(site, email, locale):
    storage = site.install.session(site.tenant).storage
    user = auth.create_user(storage, email, "member", locale=locale)
    passwords.set_password(storage, email, PASSWORD)
    return storage, user


def password_step(page, site, email):
    page.goto(site.screen("login"))
    page.get_by_label(re.compile("^(E-mail|邮箱)$")).fill(email)
    page.get_by_label(re.compile("^(Password|密码)$")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^(Sign in|登录)$")).click()


def test_a_user_adds_a_security_key_and_signs_in_with_it(page, local_site):
    storage, user = new_user(local_site, "keys.en@demo.example", "en")
    authenticator = with_authenticator(page)
    password_step(page, local_site, user.email)
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    page.get_by_role("link", name="Security keys").click()
    expect(page.get_by_role("heading", name="Security keys", exact=True)).to_be_visible()
    expect(page.get_by_text("No security keys yet.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Name of the key").fill("Desk key")
    page.get_by_label("Your password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Add a security key").click()
    expect(page.get_by_role("status")).to_contain_text("Added the security key Desk key.")
    expect(page.get_by_role("row", name=re.compile("Desk key"))).to_be_visible()
    assert_accessible(page)
    screenshot(page, "security-keys")
    held = page.loom_devtools.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(held["credentials"]) == 1
    # Adding the same key again: the browser refuses it (it is excluded), and the page says so.
    page.get_by_label("Name of the key").fill("Desk key again")
    page.get_by_label("Your password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Add a security key").click()
    expect(page.get_by_role("alert")).to_have_text("This security key is added already.")
    assert_accessible(page)

    page.get_by_role("button", name="Sign out").click()
    password_step(page, local_site, user.email)
    expect(page.get_by_role("heading", name="Second step of signing in")).to_be_visible()
    expect(page.get_by_label("Code from your authenticator app, or a recovery code")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "security-key-sign-in")
    page.get_by_role("button", name="Use a security key").click()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    [key] = security_keys.keys(storage, user.id)
    assert key["name"] == "Desk key" and key["last_used_at"] is not None


def test_the_security_key_screens_read_in_chinese(page, local_site):
    storage, user = new_user(local_site, "keys.zh@demo.example", "zh-CN")
    with_authenticator(page)
    page.goto(local_site.screen("login"))
    page.get_by_role("button", name="中文").click()
    password_step(page, local_site, user.email)
    page.get_by_role("link", name="安全密钥").click()
    expect(page.get_by_role("heading", name="安全密钥", exact=True)).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_label("密钥名称").fill("办公室密钥")
    page.get_by_label("您的密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="添加安全密钥").click()
    expect(page.get_by_role("status")).to_contain_text("已添加安全密钥 办公室密钥。")
    assert_accessible(page)
    screenshot(page, "security-keys-zh")
    page.get_by_role("button", name="退出登录").click()
    password_step(page, local_site, user.email)
    expect(page.get_by_role("heading", name="登录第二步")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="使用安全密钥").click()
    expect(page.get_by_role("heading", name="我的工作")).to_be_visible()
    assert security_keys.keys(storage, user.id)[0]["last_used_at"] is not None


def test_a_required_role_sets_up_a_security_key_instead_of_the_app(page, local_site):
    storage = local_site.install.session(local_site.tenant).storage
    auth.create_user(storage, "keys.admin@demo.example", "admin", locale="en")
    passwords.set_password(storage, "keys.admin@demo.example", PASSWORD)
    mfa.set_required_roles(storage, ["admin"])
    try:
        with_authenticator(page)
        password_step(page, local_site, "keys.admin@demo.example")
        expect(page.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
        expect(page.get_by_role("heading", name="Or use a security key")).to_be_visible()
        assert_accessible(page)
        page.get_by_label("Name of the key").fill("Laptop passkey")
        page.get_by_role("button", name="Set up a security key instead").click()
        expect(page.get_by_role("heading", name="My work")).to_be_visible()
        page.get_by_role("link", name="Security keys").click()
        expect(page.get_by_role("row", name=re.compile("Laptop passkey"))).to_be_visible()
        # Its only second step, and the role requires one: removing it is refused.
        page.get_by_label("Your password, to remove Laptop passkey").fill(PASSWORD)
        page.get_by_role("button", name="Remove: Laptop passkey").click()
        expect(page.get_by_role("alert")).to_contain_text("this key is your last one")
        assert_accessible(page)
    finally:
        mfa.set_required_roles(storage, [])
