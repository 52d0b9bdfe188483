"""Signing in, the lock-out, the language switch and signing out, in Chromium."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from engine import passwords
from tests.screens.conftest import ADMIN, PASSWORD, assert_accessible, screenshot, sign_in


def test_a_signed_out_visitor_is_sent_to_sign_in_and_comes_back_after(page, site):
    page.goto(site.screen("/"))
    expect(page).to_have_url(re.compile(r"/t/demo/login\?next="))
    expect(page.get_by_role("heading", name="Sign in to Demo company")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "sign-in")
    page.get_by_label("E-mail").fill(ADMIN)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    expect(page).to_have_url(site.screen("/"))
    expect(page.get_by_text("Ada Admin")).to_be_visible()
    assert_accessible(page)


def test_a_wrong_password_is_refused_and_repeated_failures_lock_the_account(page, site):
    email = "locked@demo.example"
    storage = site.install.session("demo").storage
    from engine import auth

    auth.create_user(storage, email, "member")
    passwords.set_password(storage, email, PASSWORD)
    page.goto(site.screen("login"))
    for attempt in range(passwords.MAX_FAILURES):
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password", exact=True).fill(f"wrong-{attempt}")
        page.get_by_role("button", name="Sign in").click()
        # The refusal comes back with the password box empty: the alert below is the new
        # page's, not the one the last attempt left standing.
        expect(page.get_by_label("Password", exact=True)).to_have_value("")
        if attempt < passwords.MAX_FAILURES - 1:
            expect(page.get_by_role("alert")).to_have_text("The e-mail or the password is not right.")
    expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")
    assert_accessible(page)
    # Locked: even the right password is refused, the same way.
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")
    # A new password (the operator's `loom user set-password`) lifts the lock-out.
    passwords.set_password(storage, email, "another-password-2")
    sign_in(page, site, email, "another-password-2")
    expect(page.get_by_role("heading", name="My work")).to_be_visible()


def test_the_language_switch_is_remembered_for_the_user(page, site, browser):
    sign_in(page, site)
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="我的工作")).to_be_visible()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert_accessible(page)
    # Another browser, the same user: still Chinese.
    other = browser.new_context(locale="en-US")
    try:
        second = other.new_page()
        second.loom_tmp = page.loom_tmp
        sign_in(second, site)
        expect(second.get_by_role("heading", name="我的工作")).to_be_visible()
        second.get_by_role("button", name="English").click()
        expect(second.get_by_role("heading", name="My work")).to_be_visible()
    finally:
        other.close()


def test_signing_out_ends_the_session(page, site):
    sign_in(page, site)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    page.goto(site.screen("/"))
    expect(page).to_have_url(re.compile(r"/login"))
