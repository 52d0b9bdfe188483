"""The list screen in Chromium: filter, sort and the next page; a saved view; a bulk
transition with a refused row; cards at phone width; the same list in zh-CN. axe-core
checks every state."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.screens.conftest import assert_accessible, screenshot, sign_in


@pytest.fixture(scope="module")
def rewards(site):
    """60 more rewards, so the filtered list has a second page (50 a page)."""
    items = [{"name": f"Sticker {n:02d}", "points_cost": 20 + n, "stock": n} for n in range(60)]
    return site.session().records.create_many("reward", items)


def test_a_list_is_filtered_sorted_and_paged(page, site, rewards):
    sign_in(page, site)
    page.get_by_role("link", name="Rewards catalogue").click()
    expect(page.get_by_role("heading", name="Rewards catalogue")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="65 records")).to_be_visible()
    page.get_by_text("Filters").click()
    points = page.get_by_role("group", name="Points cost")
    points.get_by_label("From").fill("20")
    points.get_by_label("To").fill("1000")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="63 records")).to_be_visible()
    page.get_by_role("link", name="Name").click()
    expect(page.get_by_role("columnheader", name="Name")).to_have_attribute("aria-sort", "ascending")
    rows = page.get_by_role("row")
    expect(rows.nth(1)).to_contain_text("Canvas tote")
    assert_accessible(page)
    screenshot(page, "lists-filtered")
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_role("link", name="First page")).to_be_visible()
    expect(page.get_by_role("row")).to_have_count(14)  # the header and the last 13 of 63
    expect(page).to_have_url(re.compile(r"cursor="))
    assert_accessible(page)
    page.get_by_role("link", name="First page").click()
    expect(page.get_by_role("row")).to_have_count(51)


def test_a_saved_view_and_a_bulk_transition_with_a_refused_row(page, site):
    sign_in(page, site, path="e/opportunity")
    page.get_by_label("Search", exact=True).fill("Dongfang")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="2 records")).to_be_visible()
    page.get_by_label("Save this view as").fill("Dongfang deals")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_text("Saved the view Dongfang deals.")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Dongfang deals"))).to_be_visible()
    page.get_by_role("link", name="Opportunities").click()
    page.get_by_text("Saved views").click()
    page.get_by_role("link", name="Dongfang deals").click()
    expect(page.get_by_role("status").filter(has_text="2 records")).to_be_visible()
    page.get_by_role("checkbox", name="Select all on this page").check()
    page.get_by_label("With the selected rows").select_option(label="Take a transition")
    page.get_by_label("Transition", exact=True).select_option(label="Won")
    page.get_by_role("button", name="Apply to selected").click()
    results = page.get_by_role("list").filter(has_text="Dongfang")
    expect(results.get_by_role("listitem").filter(has_text="Q3 stock order")).to_contain_text("done")
    expect(results.get_by_role("listitem").filter(has_text="showroom units")).to_contain_text(
        "refused — This step is not possible from the current state.")
    expect(page.get_by_role("cell", name="Won")).to_have_count(1)
    assert_accessible(page)
    screenshot(page, "lists-bulk-result")


def test_the_list_in_chinese_and_as_cards_at_phone_width(page, site):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, site)
    page.get_by_role("button", name="中文").click()
    page.goto(site.screen("e/redemption"))
    expect(page.get_by_role("heading", name="积分兑换")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="条记录")).to_be_visible()
    expect(page.get_by_role("button", name="应用", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="导出 CSV")).to_be_visible()
    page.get_by_text("筛选", exact=True).click()
    reward = page.get_by_role("group", name="礼品")
    reward.get_by_label("查找").fill("Coffee")
    reward.get_by_label("选择").select_option(label="Coffee voucher 咖啡券")
    page.get_by_role("button", name="应用", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="1 条记录")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "lists-phone-zh")
    page.get_by_role("button", name="English").click()
