"""The list views editor and the field editor in Chromium, on the demo tenant: an admin
moves a column with its button and by drag, sets the record header's key fields, gives a
choice a colour and its Chinese label (the field's usage beside it), in English and in
zh-CN; after publishing, the list shows the colour as a badge — axe on every state."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.screens.conftest import assert_accessible, screenshot, sign_in

PUBLISHING = 30_000  # ms: a publish migrates the tenant, slow on a busy machine


def test_an_admin_edits_a_list_view_and_a_choice_colour_and_the_list_shows_the_badge(page, site):
    sign_in(page, site)
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(site.screen("designer/e/membership"))
    page.get_by_role("link", name="List views").click()
    view = page.get_by_role("region", name=re.compile("Membership cards"))
    columns = view.get_by_role("list", name="Columns")
    expect(columns.get_by_role("listitem").nth(2)).to_contain_text("Card tier")
    assert_accessible(page)
    view.get_by_role("button", name="Move left: Card tier").click()
    expect(columns.get_by_role("listitem").nth(1)).to_contain_text("Card tier")
    last = columns.get_by_role("listitem").last
    expect(last).to_contain_text("Joined")
    last.locator(".drag-handle").drag_to(columns.get_by_role("listitem").first, target_position={"x": 5, "y": 2})
    expect(columns.get_by_role("listitem").first).to_contain_text("Joined")
    view.get_by_label("Header field 1").select_option("tier")
    view.get_by_label("Header field 2").select_option("points_balance")
    view.get_by_role("button", name=re.compile("Save the settings of")).click()
    expect(view.get_by_label("Header field 2")).to_have_value("points_balance")
    screenshot(page, "designer-lists")

    page.goto(site.screen("designer/e/membership"))
    page.get_by_role("link", name="Edit the field tier").click()
    expect(page.get_by_role("heading", name="Field tier of membership", level=1)).to_be_visible()
    usage = page.get_by_role("region", name="Where tier is used")
    expect(usage.get_by_role("row").filter(has_text="membership_list").first).to_be_visible()
    page.get_by_label("Colour of gold").select_option("yellow")
    page.get_by_label("Colour of diamond").select_option("purple")
    page.get_by_role("button", name="Save the field").click()
    expect(page.get_by_label("Colour of gold")).to_have_value("yellow")
    assert_accessible(page)
    screenshot(page, "designer-field")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="membership 的字段 tier", level=1)).to_be_visible()
    expect(page.get_by_label("gold 的颜色")).to_have_value("yellow")
    assert_accessible(page)
    page.goto(site.screen("designer/e/membership/lists"))
    expect(page.get_by_role("heading", name=re.compile("的列表视图"), level=1)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "designer-lists-zh")

    page.goto(site.screen("designer/review"))
    page.get_by_role("button", name="发布").click(timeout=PUBLISHING)
    expect(page.get_by_role("status")).to_contain_text("已发布版本", timeout=PUBLISHING)
    page.goto(site.screen("e/membership"))
    expect(page.get_by_role("columnheader").nth(1)).to_contain_text("入会日期")  # dragged first
    expect(page.locator(".badge-yellow").first).to_contain_text("金卡")
    assert_accessible(page)
    screenshot(page, "lists-badges-zh")
    page.get_by_role("button", name="English").click()
    expect(page.locator(".badge-yellow").first).to_contain_text("Gold card")
    assert_accessible(page)
