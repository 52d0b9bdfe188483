"""The designer's preview in Chromium, on the demo tenant: an admin adds a field to the
memberships in their draft, picks a real membership and sees its page, list row and
kanban card with the draft applied — in English and in Chinese, axe on both — while the
live record page and the published version stay as they were."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.screens.conftest import assert_accessible, screenshot, sign_in


def test_an_admin_previews_the_draft_on_a_real_record(page, site):
    sign_in(page, site)
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    version = site.install.session(site.tenant).metadata_history()[-1]["version"]
    page.goto(site.screen("designer/e/membership"))
    form = page.get_by_role("region", name="Add a field")
    form.get_by_label("Field name").fill("wechat_id")
    form.get_by_label("Label (English)").fill("WeChat ID")
    form.get_by_label("Label (Chinese)").fill("微信号")
    form.get_by_role("button", name="Add the field").click()
    expect(page.get_by_label("English label of wechat_id")).to_have_value("WeChat ID")

    page.get_by_role("navigation", name="Designer").get_by_role("link", name="Preview on a record").click()
    picker = page.get_by_role("region", name="Choose a record")
    picker.get_by_label("Entity").select_option("membership")
    picker.get_by_role("button", name="Find records").click()
    found = page.get_by_role("region", name="Records found").get_by_role("link").first
    expect(found).to_be_visible()
    assert_accessible(page)
    screenshot(page, "designer-preview-pick")
    found.click()
    expect(page.get_by_role("heading", name="Preview of your draft", level=1)).to_be_visible()
    record_page = page.get_by_role("region", name="Record page")
    expect(record_page.get_by_text("WeChat ID", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile("Shown empty, as your draft adds them: WeChat ID"))).to_be_visible()
    expect(page.get_by_role("region", name="Its row in the list").get_by_role("table")).to_be_visible()
    expect(page.get_by_role("region", name="Its card on the board").locator(".kanban-card")).to_have_count(1)
    assert_accessible(page)
    screenshot(page, "designer-preview")
    preview_url = page.url

    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="草稿预览", level=1)).to_be_visible()
    expect(page.get_by_role("region", name="记录详情页").get_by_text("微信号", exact=True)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "designer-preview-zh")

    record_id = preview_url.rstrip("/").rsplit("/", 1)[1]
    page.goto(site.screen(f"e/membership/{record_id}"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text("微信号")).to_have_count(0)
    assert site.install.session(site.tenant).metadata_history()[-1]["version"] == version
