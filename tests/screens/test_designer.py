"""The designer in Chromium, on the demo tenant: an admin adds a field with Chinese and
English labels (in zh-CN), reviews and publishes it, and a member fills it in; a drop
shows its blast radius, needs the typed confirmation and is reverted from the history
with the values back; two admins' drafts, the second asked to rebase; a member gets the
403 page — axe on every state."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.screens.conftest import ADMIN, MEMBER, PASSWORD, assert_accessible, screenshot, sign_in, with_passwords

PUBLISHING = 30_000  # ms: a publish migrates the tenant (a drop archives its values), slow on a busy machine


def published(site) -> int:
    return site.install.session(site.tenant).metadata_history()[-1]["version"]


def sign_in_in_english(page, site):
    """Sign the demo admin in, in English (the language is remembered per user)."""
    sign_in(page, site)
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def add_field(page, site, name, en, zh, section=True):
    """On the club's designer page (English), add a text field."""
    page.goto(site.screen("designer/e/club"))
    form = page.get_by_role("region", name="Add a field")
    form.get_by_label("Field name").fill(name)
    form.get_by_label("Label (English)").fill(en)
    form.get_by_label("Label (Chinese)").fill(zh)
    if not section:
        form.get_by_label("Place on the form in section").select_option(label="(not on the form)")
    form.get_by_role("button", name="Add the field").click()


def test_an_admin_adds_a_field_in_chinese_publishes_it_and_a_member_fills_it_in(page, browser, site):
    sign_in(page, site)
    page.get_by_role("button", name="中文").click()
    page.get_by_role("link", name="设计器").click()
    expect(page.get_by_role("heading", name="设计器", level=1)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "designer-overview")
    page.get_by_role("region", name="业务对象").get_by_role("link", name="会员俱乐部").click()
    form = page.get_by_role("region", name="添加字段")
    form.get_by_label("字段名称").fill("wechat_group")
    form.get_by_label("标签（英文）").fill("WeChat group")
    form.get_by_label("标签（中文）").fill("微信群")
    form.get_by_label("帮助文字（中文）").fill("群名称")
    form.get_by_role("button", name="添加字段").click()
    expect(page.get_by_label("wechat_group 的中文标签")).to_have_value("微信群")
    expect(page.get_by_label("wechat_group 的英文标签")).to_have_value("WeChat group")
    assert_accessible(page)
    screenshot(page, "designer-entity")
    page.get_by_role("link", name="审阅并发布").click()
    expect(page.get_by_role("listitem").filter(has_text="添加字段 club.wechat_group")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="发布").click(timeout=PUBLISHING)
    expect(page.get_by_role("status")).to_contain_text("已发布版本", timeout=PUBLISHING)  # read the version once published
    expect(page.get_by_role("status")).to_contain_text(f"已发布版本 {published(site)}。")
    assert published(site) and site.install.session("demo").metadata_history()[-1]["applied_by"] == ADMIN

    member = browser.new_context(locale="en-US").new_page()
    member.loom_tmp = page.loom_tmp
    sign_in(member, site, email=MEMBER, path="e/club/new")
    member.get_by_label("Name (required)").fill("Hangzhou runners")
    member.get_by_label("WeChat group").fill("杭州跑团")
    member.get_by_role("button", name="Save").click()
    expect(member.get_by_role("heading", name="Hangzhou runners", level=1)).to_be_visible()
    expect(member.get_by_text("杭州跑团").first).to_be_visible()
    assert_accessible(member)
    member.context.close()


def test_a_drop_shows_its_blast_radius_needs_the_word_and_is_reverted_with_the_values(page, site):
    sign_in_in_english(page, site)
    add_field(page, site, "motto", "Motto", "口号")
    page.goto(site.screen("designer/review"))
    page.get_by_role("button", name="Publish").click(timeout=PUBLISHING)
    expect(page.get_by_role("status")).to_contain_text("Published version", timeout=PUBLISHING)
    with_motto = published(site)
    admin = site.session(ADMIN)
    club = admin.records.create("club", {"name": "Suzhou readers", "motto": "Read daily"})

    page.goto(site.screen("designer/e/club"))
    page.get_by_role("button", name="Retire: motto").click()
    page.get_by_role("link", name="Review and publish").click()
    clubs = admin.records.list("club", [("limit", "200")])["items"]
    drop = page.get_by_role("listitem").filter(has_text="Drop the field club.motto")
    expect(drop).to_contain_text(f"1 value in {len(clubs)} records")
    assert_accessible(page)
    screenshot(page, "designer-review-drop")
    page.get_by_label("Type demo to confirm").fill("yes")
    page.get_by_role("button", name="Publish").click(timeout=PUBLISHING)
    expect(page.get_by_text("Type demo to confirm the changes that drop data.")).to_be_visible()
    assert published(site) == with_motto
    assert_accessible(page)
    page.get_by_label("Type demo to confirm").fill("demo")
    page.get_by_role("button", name="Publish").click(timeout=PUBLISHING)
    expect(page.get_by_role("status")).to_contain_text(
        f"Published version {with_motto + 1}.", timeout=PUBLISHING)
    assert "motto" not in admin.renew_metadata().package.entity("club").field_names()

    page.get_by_role("link", name="Version history").click()
    expect(page.get_by_role("button", name=f"Revert to version {with_motto}", exact=True)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "designer-history")
    page.get_by_role("button", name=f"Revert to version {with_motto}", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Reverted to version {with_motto} as version {with_motto + 2}.")
    assert site.session(ADMIN).records.get("club", club["id"])["motto"] == "Read daily"


def test_the_second_admin_to_publish_is_asked_to_rebase(page, browser, site):
    with_passwords(site.install, "demo", {"second@demo.example": "admin"})
    sign_in_in_english(page, site)
    add_field(page, site, "founded", "Founded", "成立")
    other = browser.new_context(locale="en-US").new_page()
    other.loom_tmp = page.loom_tmp
    sign_in(other, site, email="second@demo.example", password=PASSWORD, path="designer/e/club")
    other.get_by_label("English label of city").fill("Town")
    other.get_by_role("button", name="Save labels: city").click()
    expect(other).to_have_url(re.compile("#field-city$"))  # the page the save goes back to
    expect(other.get_by_label("English label of city")).to_have_value("Town")
    other.get_by_role("link", name="Overview").click()
    expect(other.get_by_text(f"{ADMIN} has a draft based on version")).to_be_visible()

    page.goto(site.screen("designer/review"))
    expect(page.get_by_text("second@demo.example has a draft based on version")).to_be_visible()
    page.get_by_role("button", name="Publish").click(timeout=PUBLISHING)
    expect(page.get_by_role("status")).to_contain_text("Published version", timeout=PUBLISHING)
    first = published(site)

    other.get_by_role("link", name="Review and publish").click()
    expect(other.get_by_role("heading", name="Your draft is out of date")).to_be_visible()
    assert_accessible(other)
    screenshot(other, "designer-rebase")
    other.get_by_role("button", name=f"Rebase on version {first}").click()
    expect(other.get_by_role("status")).to_contain_text(f"Your draft is now based on version {first}.")
    other.get_by_role("link", name="Review and publish").click()
    expect(other.get_by_text("Relabel club.city")).to_be_visible()
    other.get_by_role("button", name="Publish").click(timeout=PUBLISHING)
    expect(other.get_by_role("status")).to_contain_text(
        f"Published version {first + 1}.", timeout=PUBLISHING)
    club = site.session(ADMIN).renew_metadata().package.entity("club")
    assert "founded" in club.field_names() and club.field("city").label["en"] == "Town"
    other.context.close()


def test_a_member_opening_the_designer_gets_the_403_page(page, site):
    sign_in(page, site, email=MEMBER)
    expect(page.get_by_role("link", name="Designer")).to_have_count(0)
    response = page.goto(site.screen("designer/"))
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("Only a tenant admin may open this page.")).to_be_visible()
    assert_accessible(page)
