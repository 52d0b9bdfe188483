"""The shell in Chromium: my work for the demo admin, the notification badge and marking
read, the navigation at phone width, and the home page in zh-CN — axe on every state."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from engine.systables import loom_table
from tests.screens.conftest import ADMIN, assert_accessible, screenshot, sign_in
from workflows.notify import inapp
from workflows.runtime import runtime_of


@pytest.fixture(scope="module")
def work(site):
    """The demo admin's work: a service request they own (its cancellation needs an admin's
    approval) whose first-response timer is overdue, and three unread notifications."""
    admin = site.session(ADMIN)
    request = admin.records.create("service_request", {"subject": "Broken card reader", "channel": "phone",
                                                       "request_type": "repair",
                                                       "requester_phone": "+86 138 0000 0002"})
    runtime_of(site.install).jobs.drain("demo")
    timers = loom_table(admin.storage.schema, "loom_sla_timers")
    with admin.storage.begin() as conn:
        conn.execute(timers.update().where(timers.c.record_id == request["id"])
                     .values(due_at=datetime.now(timezone.utc) - timedelta(hours=2)))
    inapp.mark_read(admin.storage, admin.actor.id,  # the demo's own: the test counts its three
                    [n["id"] for n in inapp.list_for(admin.storage, admin.actor.id, unread_only=True, limit=200)])
    for title in ("王伟 redeemed a coffee voucher", "Membership 1001 expires soon", "New club member"):
        inapp.create(admin.storage, admin.actor.id, title, "", "service_request", request["id"])
    return request


def test_my_work_shows_my_records_approvals_overdue_timers_and_notifications_mark_read(page, site, work):
    sign_in(page, site)
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
    mine = page.get_by_role("region", name="Assigned to me")
    expect(mine.get_by_role("link", name="Broken card reader")).to_be_visible()
    expect(mine.get_by_role("link", name="Service requests: all mine")).to_be_visible()
    approvals = page.get_by_role("region", name="Approvals waiting for me")
    expect(approvals.get_by_role("link", name="Broken card reader")).to_be_visible()
    expect(approvals).to_contain_text("0 of 1 approvals")
    overdue = page.get_by_role("region", name="Overdue")
    expect(overdue.get_by_role("link", name="Broken card reader")).to_be_visible()
    expect(overdue).to_contain_text("first response")
    assert_accessible(page)
    screenshot(page, "shell-home")

    page.get_by_role("link", name="Notifications, 3 unread").click()
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "shell-notifications")
    page.get_by_role("button", name="Mark as read: Membership 1001 expires soon").click()
    expect(page.get_by_role("link", name="Notifications, 2 unread")).to_be_visible()
    expect(page.get_by_role("button", name="Mark as read: Membership 1001 expires soon")).to_have_count(0)
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Mark all as read")).to_have_count(0)
    page.get_by_role("link", name="Unread").click()
    expect(page.get_by_text("No unread notifications.")).to_be_visible()
    assert_accessible(page)


def test_at_phone_width_the_navigation_folds_behind_a_menu_button_and_filters(page, site, work):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, site)
    nav = page.get_by_role("navigation", name="Entities")
    menu = nav.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav.get_by_role("link", name="My work")).to_be_hidden()
    assert_accessible(page)
    screenshot(page, "shell-phone")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Service requests")).to_be_visible()
    nav.get_by_label("Filter the lists").fill("member")
    expect(nav.get_by_role("link", name="Service requests")).to_be_hidden()
    expect(nav.get_by_role("link", name="Club members")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "shell-phone-menu")
    nav.get_by_label("Filter the lists").fill("zzz")
    expect(nav.get_by_text("No list matches.")).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()


def test_the_home_page_in_chinese(page, site, work):
    sign_in(page, site)
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="我的工作")).to_be_visible()
    expect(page.get_by_role("region", name="等待我审批")).to_contain_text("已审批 0 / 1")
    expect(page.get_by_role("region", name="已超时")).to_contain_text("截止 20")  # 2026年12月6日 …
    expect(page.get_by_role("navigation", name="业务对象").get_by_role("link", name="服务请求")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "shell-home-zh")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="My work")).to_be_visible()
