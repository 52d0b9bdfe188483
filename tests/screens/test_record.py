"""Record pages in Chromium: creating a record through a validation error, a stale edit,
taking a workflow transition, a party's timeline with a service request's transitions and
a survey answer, and the Chinese validation message."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.screens.conftest import ADMIN, assert_accessible, screenshot, sign_in


def test_a_new_record_shows_its_validation_error_beside_the_field_then_saves(page, site):
    sign_in(page, site, path="e/party/new")
    expect(page.get_by_role("heading", name="New Party")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("City").fill("苏州")
    page.get_by_role("button", name="Save").click()
    name = page.get_by_label("Name (required)")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description("Required.")
    expect(page.get_by_label("City")).to_have_value("苏州")  # what was typed stays
    assert_accessible(page)
    screenshot(page, "record-error")
    name.fill("周杰")
    page.get_by_role("searchbox", name="Search Parent organisation").fill("华信")  # type-ahead
    parent = page.get_by_role("combobox", name="Parent organisation", exact=True)
    expect(parent.get_by_role("option", name="华信科技有限公司")).to_be_attached()
    parent.select_option(label="华信科技有限公司")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="周杰", level=1)).to_be_visible()
    expect(page.get_by_text("Parent organisation: 华信科技有限公司")).to_be_visible()  # in the timeline
    expect(page.get_by_role("status")).to_have_text("Created.")
    assert_accessible(page)


def test_a_stale_edit_shows_the_other_change_and_reapplies_mine(page, site):
    sign_in(page, site, path="e/party/2/edit")
    expect(page.get_by_role("heading", name=re.compile("^Edit "))).to_be_visible()
    assert_accessible(page)
    page.get_by_role("textbox", name="Notes").fill("Prefers calls after 6 pm")
    site.session(ADMIN).records.update("party", 2, {"city": "杭州"})  # someone saves first
    page.get_by_role("button", name="Save").click()
    stale = page.get_by_role("alert").filter(has_text="Someone else saved this record")
    expect(stale).to_be_visible()
    expect(stale.get_by_role("row", name=re.compile("City"))).to_contain_text("杭州")
    expect(page.get_by_role("textbox", name="Notes")).to_have_value("Prefers calls after 6 pm")
    expect(page.get_by_label("City")).to_have_value("杭州")  # theirs kept, not overwritten
    assert_accessible(page)
    screenshot(page, "record-stale")
    page.get_by_role("button", name="Apply my values").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    record = site.session(ADMIN).records.get("party", 2)
    assert (record["city"], record["notes"]) == ("杭州", "Prefers calls after 6 pm")


def test_taking_transitions_and_the_party_timeline(page, site):
    admin = site.session(ADMIN)
    request = admin.records.create("service_request", {
        "subject": "洗衣机漏水", "party": 9, "channel": "phone", "request_type": "repair",
        "requester_phone": "+86 139 0000 1234"})
    admin.records.create("survey_response", {"survey": 1, "party": 9, "topic": "service", "csat": 2,
                                            "comment": "上门太慢"})
    sign_in(page, site, path=f"e/service_request/{request['id']}")
    stages = page.get_by_role("navigation", name="Stages")
    expect(stages.locator("[aria-current=step]")).to_have_text(re.compile("New"))
    assert_accessible(page)
    page.get_by_text("Cancel", exact=True).click()  # needs a comment: refused without one
    page.get_by_role("button", name="Confirm: Cancel").click()
    expect(page.get_by_role("alert")).to_contain_text("A comment is required for this step.")
    page.get_by_text("Start work", exact=True).click()
    page.get_by_label("Assignee").fill("2")
    page.get_by_role("button", name="Confirm: Start work").click()
    expect(page.get_by_role("status")).to_have_text("Done: Start work.")
    expect(stages.locator("[aria-current=step]")).to_have_text(re.compile("In progress"))
    assert_accessible(page)
    screenshot(page, "record-view")
    page.goto(site.screen("e/party/9"))
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline.get_by_text("Start work: New → In progress")).to_be_visible()
    expect(timeline.get_by_role("link", name=re.compile("洗衣机漏水")).first).to_be_visible()
    expect(timeline.get_by_text("Comment: 上门太慢")).to_be_visible()
    timeline.get_by_label("Show").select_option(label="Surveys")
    timeline.get_by_role("button", name="Filter").click()
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline.get_by_text("Start work: New → In progress")).to_have_count(0)
    expect(timeline.get_by_text("Comment: 上门太慢")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "record-timeline")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site.screen("e/party/9"))
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "record-phone")


def test_the_validation_message_is_chinese_in_zh_cn(page, site):
    sign_in(page, site)
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="我的工作")).to_be_visible()
    page.goto(site.screen("e/party/new"))
    page.get_by_role("button", name="保存").click()
    name = page.get_by_label("名称 (必填)")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description("必填。")
    assert_accessible(page)
    screenshot(page, "record-error-zh")
