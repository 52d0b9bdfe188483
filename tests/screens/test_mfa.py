"""Acceptance 4 of the security issue, in Chromium (en and zh-CN, axe on every screen): an
admin requires two-step sign-in of admins in the people screen; the next admin sign-in
enrols TOTP (the code computed here with pyotp) before reaching anything else; a token
revoked in the screen answers 401 at once."""
from __future__ import annotations

import re

import pyotp
import requests
from playwright.sync_api import expect

from engine import auth, mfa, passwords
from tests.screens.conftest import ADMIN, MEMBER, PASSWORD, assert_accessible, screenshot, sign_in


def new_admin(site, email, locale="en"):
    storage = site.install.session(site.tenant).storage
    auth.create_user(storage, email, "admin", locale=locale)
    passwords.set_password(storage, email, PASSWORD)


def password_step(page, site, email):
    page.goto(site.screen("login"))
    page.get_by_label(re.compile("^(E-mail|邮箱)$")).fill(email)
    page.get_by_label(re.compile("^(Password|密码)$")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^(Sign in|登录)$")).click()


def test_admins_required_to_enrol_do_so_at_their_next_sign_in_and_a_revoked_token_is_401(page, site, browser):
    sign_in(page, site, path="designer/people")
    page.get_by_role("group", name="Require two-step sign-in of").get_by_label("admin").check()
    page.get_by_role("button", name="Save two-step sign-in").click()
    expect(page.get_by_role("status")).to_contain_text("Two-step sign-in is required of: admin.")
    # A token made and revoked in the screen: refused (401) from the next request on.
    tokens = page.get_by_role("region", name="API tokens")
    tokens.get_by_label("Token user").select_option(ADMIN)
    tokens.get_by_label("Token name").fill("Nightly sync")
    tokens.get_by_label("Valid for").select_option("30d")
    tokens.get_by_label("Token scope").select_option("read")
    tokens.get_by_role("button", name="Create the token").click()
    secret = page.get_by_label(f"Token for {ADMIN}").input_value()
    api = f"{site.url}/api/v1/t/{site.tenant}/records/club_member"
    assert requests.get(api, headers={"Authorization": f"Bearer {secret}"}, timeout=30).status_code == 200
    expect(page.get_by_role("row", name="Nightly sync")).to_contain_text("read")
    assert_accessible(page)
    page.get_by_role("button", name="Revoke: Nightly sync").click()
    expect(page.get_by_role("status")).to_contain_text("Revoked the token Nightly sync")
    refused = requests.get(api, headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]

    # The next admin to sign in enrols before reaching anything else.
    new_admin(site, "second.admin@demo.example")
    other = browser.new_context(locale="en-US")
    try:
        enrolling = other.new_page()
        enrolling.loom_tmp = page.loom_tmp
        password_step(enrolling, site, "second.admin@demo.example")
        expect(enrolling.get_by_role("heading", name="Set up two-step sign-in")).to_be_visible()
        expect(enrolling.get_by_role("img", name="QR code of the authenticator setup")).to_be_visible()
        assert enrolling.get_by_label("Setup link (otpauth)").input_value().startswith("otpauth://totp/")
        assert_accessible(enrolling)
        screenshot(enrolling, "mfa-enrol")
        enrolling.goto(site.screen("/"))
        expect(enrolling.get_by_role("heading", name="Set up two-step sign-in")).not_to_be_visible()
        expect(enrolling).to_have_url(re.compile(r"/login"))
        password_step(enrolling, site, "second.admin@demo.example")
        key = enrolling.get_by_label("Setup key").input_value().replace(" ", "")
        enrolling.get_by_label("Code from your authenticator app").fill("000000")
        enrolling.get_by_role("button", name="Turn on two-step sign-in").click()
        expect(enrolling.get_by_role("alert")).to_contain_text("The code is not right")
        assert_accessible(enrolling)
        enrolling.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(key).now())
        enrolling.get_by_role("button", name="Turn on two-step sign-in").click()
        expect(enrolling.get_by_role("status")).to_have_text("Two-step sign-in is on.")
        expect(enrolling.get_by_role("list", name="Recovery codes").get_by_role("listitem")).to_have_count(10)
        assert_accessible(enrolling)
        enrolling.get_by_role("link", name="Continue").click()
        expect(enrolling.get_by_role("heading", name="My work")).to_be_visible()
    finally:
        other.close()

    # Signing in again asks for the code every time.
    password_step(page, site, "second.admin@demo.example")
    expect(page.get_by_role("heading", name="Second step of signing in")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()


def test_enrolment_reads_in_chinese(page, site):
    storage = site.install.session(site.tenant).storage
    mfa.set_required_roles(storage, ["admin"])
    new_admin(site, "zh.admin@demo.example", "zh-CN")
    page.goto(site.screen("login"))
    page.get_by_role("button", name="中文").click()
    password_step(page, site, "zh.admin@demo.example")
    expect(page.get_by_role("heading", name="设置两步登录")).to_be_visible()
    expect(page.get_by_role("img", name="身份验证器设置二维码")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert_accessible(page)
    screenshot(page, "mfa-enrol-zh")
    key = page.get_by_label("设置密钥").input_value().replace(" ", "")
    page.get_by_label("身份验证器应用中的验证码").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="开启两步登录").click()
    expect(page.get_by_role("status")).to_have_text("两步登录已开启。")
    assert_accessible(page)
    page.get_by_role("link", name="继续").click()
    expect(page.get_by_role("heading", name="我的工作")).to_be_visible()


def test_a_member_manages_their_own_tokens_in_the_screens(page, site):
    sign_in(page, site, email=MEMBER)
    page.get_by_role("link", name="My API tokens").click()
    expect(page.get_by_role("heading", name="My API tokens")).to_be_visible()
    page.get_by_label("Token name").fill("Phone sync")
    page.get_by_label("Token scope").select_option("read")
    page.get_by_role("button", name="Create the token").click()
    secret = page.get_by_label("Your new token").input_value()
    api = f"{site.url}/api/v1/t/{site.tenant}/records/club_member"
    assert requests.get(api, headers={"Authorization": f"Bearer {secret}"}, timeout=30).status_code == 200
    expect(page.get_by_role("row", name="Phone sync")).to_contain_text("read")
    assert_accessible(page)
    page.get_by_role("button", name="Revoke: Phone sync").click()
    expect(page.get_by_role("status")).to_contain_text("Revoked the token Phone sync.")
    assert requests.get(api, headers={"Authorization": f"Bearer {secret}"}, timeout=30).status_code == 401
    # At phone width the table scrolls in its own region (reachable by keyboard), not the page.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_role("region", name="API tokens, newest first")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="我的 API 令牌")).to_be_visible()
    assert_accessible(page)
