"""The message templates editor in Chromium on the demo tenant: an admin adds a template
for the store manager, writes it in English and Chinese side by side, sees a Jinja
mistake beside the box that holds it, previews it on a real card in both languages and
finds it in the rule's action picker; then the same pages in zh-CN — axe on every state."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.screens.conftest import ADMIN, assert_accessible, screenshot, sign_in
from tests.screens.test_designer import sign_in_in_english


def test_an_admin_writes_a_template_in_both_languages_and_previews_it_on_a_card(page, site):
    card = site.session(ADMIN).records.list("membership", [("limit", "1")])["items"][0]
    sign_in_in_english(page, site)
    page.get_by_role("link", name="Designer").click()
    page.get_by_role("navigation", name="Designer").get_by_role("link", name="Messages").click()
    expect(page.get_by_role("cell", name="tier_upgrade")).to_be_visible()
    assert_accessible(page)
    adding = page.get_by_role("region", name="Add a message template")
    adding.get_by_label("Template name").fill("manager_alert")
    adding.get_by_role("button", name="Add the template").click()
    expect(page.get_by_role("heading", name="Message template manager_alert", level=1)).to_be_visible()

    texts = page.get_by_role("region", name="Subject and body")
    texts.get_by_label("Subject (English)").fill("A {{ record.tier }} card holds {{ record.points_balance }} points")
    texts.get_by_label("Subject (中文)").fill("{{ record.tier }} 卡有 {{ record.points_balance }} 积分")
    texts.get_by_label("Body (English)").fill("Please welcome the member {{ record.party ")
    texts.get_by_label("Body (中文)").fill("请接待这位会员。")
    texts.get_by_role("button", name="Save the template").click()
    body = page.get_by_role("region", name="Subject and body").get_by_label("Body (English)")
    expect(body).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("body (en), line 1")).to_be_visible()
    assert_accessible(page)
    body.fill("Please welcome the member {{ record.party }}.")
    page.get_by_role("button", name="Save the template").click()
    expect(page.get_by_role("region", name="Subject and body").get_by_label("Body (English)")).not_to_have_attribute(
        "aria-invalid", "true")

    preview = page.get_by_role("region", name="Preview on a record")
    preview.get_by_label("Entity").select_option("membership")
    preview.get_by_label("Record id").fill(str(card["id"]))
    preview.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="Preview on a record")
    expect(preview.get_by_role("article", name="Preview in English")).to_contain_text(
        f"A {card['tier']} card holds {card['points_balance']} points")
    expect(preview.get_by_role("article", name="Preview in 中文")).to_contain_text(f"{card['tier']} 卡有 {card['points_balance']} 积分")
    assert_accessible(page)
    screenshot(page, "designer-template")

    page.goto(site.screen("designer/rules/loyalty_tiers/upgrade_to_diamond"))
    picker = page.get_by_role("region", name="Then").get_by_label("Message template").first
    expect(picker.locator("option[value=manager_alert]")).to_have_count(1)


def test_the_template_pages_in_chinese(page, site):
    sign_in(page, site)
    page.get_by_role("button", name="中文").click()
    page.goto(site.screen("designer/templates"))
    expect(page.get_by_role("heading", name="消息模板", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="tier_upgrade").click()
    expect(page.get_by_role("region", name="主题和正文").get_by_label("主题（中文）")).to_have_value(
        "恭喜！您的会员卡已升级为{{ {'silver': '银卡', 'gold': '金卡', 'diamond': '钻石卡'}.get(record.tier, record.tier) }}")
    assert_accessible(page)
    screenshot(page, "designer-template-zh")
