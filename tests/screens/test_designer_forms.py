"""The form layout editor in Chromium, on the demo tenant: an admin adds a field with English
and Chinese labels, places it on the club's form by keyboard (and drags another), makes it show only for active
clubs with the condition builder, watches the live preview follow (in English and Chinese),
publishes; a member then sees the field, fills it in, saves, and filters the club list by
it — axe on every state."""
from __future__ import annotations

from playwright.sync_api import expect

from engine.drafts import Drafts
from tests.screens.conftest import ADMIN, MEMBER, assert_accessible, screenshot, settled, sign_in

PUBLISHING = 30_000  # ms: a publish migrates the tenant, slow on a busy machine


def drag(page, source: str, target: str) -> None:
    """A mouse drag in small steps (SortableJS follows the pointer), both ends in view."""
    page.locator(target).scroll_into_view_if_needed()
    start, end = page.locator(source).bounding_box(), page.locator(target).bounding_box()
    page.mouse.move(start["x"] + 4, start["y"] + 4)
    page.mouse.down()
    page.mouse.move(end["x"] + 10, end["y"] + 4, steps=20)
    page.mouse.up()


def test_an_admin_places_a_field_by_keyboard_previews_publishes_and_a_member_filters_by_it(page, browser, site):
    sign_in(page, site)
    page.get_by_role("button", name="English").click()
    page.goto(site.screen("designer/e/club"))
    form = page.get_by_role("region", name="Add a field")
    form.get_by_label("Field name").fill("wechat_follower")
    form.get_by_label("Type").select_option("boolean")
    form.get_by_label("Label (English)").fill("WeChat follower")
    form.get_by_label("Label (Chinese)").fill("微信关注者")
    form.get_by_label("Place on the form in section").select_option(label="(not on the form)")
    form.get_by_role("button", name="Add the field").click()
    page.get_by_role("link", name="Arrange the form of club").click()
    expect(page.get_by_role("heading", name="Form of Member club", level=1)).to_be_visible()
    preview = page.get_by_role("region", name="Preview of your draft")
    expect(preview.get_by_label("Name (required)")).to_be_visible()
    expect(preview.get_by_label("WeChat follower")).to_have_count(0)

    # placed by keyboard: the button, then up one place; the focus stays on the field
    page.get_by_role("button", name="Place on the form: WeChat follower").focus()
    page.keyboard.press("Enter")
    field = page.locator("#fld-wechat_follower")
    expect(field).to_be_focused()
    club = page.get_by_role("list", name="Fields of section Club")
    expect(club.get_by_role("listitem")).to_have_count(5)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Move up: WeChat follower")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#fld-wechat_follower")).to_be_focused()
    expect(club.locator("li code")).to_have_text(["name", "city", "active", "wechat_follower", "description"])
    expect(preview.get_by_label("WeChat follower")).to_be_visible()
    drag(page, "#fld-description .handle", "#fld-wechat_follower")  # a drag sends the same post
    expect(page.locator("#fld-description")).to_be_focused()  # the editor drawn again by the server
    expect(club.locator("li code")).to_have_text(["name", "city", "active", "description", "wechat_follower"])
    form = next(item for item in Drafts(site.session(ADMIN)).mine().document["layouts"] if item["name"] == "club_form")
    assert form["sections"][0]["fields"] == ["name", "city", "active", "description", "wechat_follower"]
    assert_accessible(page)
    screenshot(page, "designer-form")

    # shown only for an active club, written with the condition builder
    page.get_by_role("link", name="Conditions of WeChat follower").click()
    shown_when = page.get_by_role("region", name="Shown when")
    expect(shown_when).to_be_visible()
    settled(page)  # its buttons post through htmx: they answer once the page has loaded
    shown_when.get_by_role("button", name="Add a condition").click()
    settled(page)  # the new row answers once htmx has wired it
    shown_when.get_by_label("Field of condition 1").select_option(label="Active")
    settled(page)
    shown_when.get_by_role("combobox", name="Value of condition 1").select_option(label="yes")  # yes/no, once redrawn
    assert_accessible(page)
    screenshot(page, "designer-form-condition")
    page.get_by_role("button", name="Save when WeChat follower shows").click()
    expect(page.get_by_text("Shown when Active is yes")).to_be_visible()
    preview = page.get_by_role("region", name="Preview of your draft")
    expect(preview.get_by_label("WeChat follower")).to_be_visible()
    preview.get_by_label("Active").uncheck()  # the server draws the preview again
    expect(preview.get_by_label("WeChat follower")).to_have_count(0)
    preview.get_by_label("Active").check()
    expect(preview.get_by_label("WeChat follower")).to_be_visible()

    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="会员俱乐部 的表单", level=1)).to_be_visible()
    expect(page.get_by_text("显示条件：活跃 是 是")).to_be_visible()
    expect(page.get_by_role("region", name="草稿预览").get_by_label("微信关注者")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "designer-form-zh")
    page.get_by_role("link", name="审阅并发布").click()
    page.get_by_role("button", name="发布").click(timeout=PUBLISHING)
    expect(page.get_by_role("status")).to_contain_text("已发布版本", timeout=PUBLISHING)
    assert site.install.session("demo").metadata_history()[-1]["applied_by"] == ADMIN

    member = browser.new_context(locale="en-US").new_page()
    member.loom_tmp = page.loom_tmp
    sign_in(member, site, email=MEMBER, path="e/club/new")
    member.get_by_label("Name (required)").fill("Ningbo swimmers")
    member.get_by_label("WeChat follower").check()
    member.get_by_role("button", name="Save").click()
    expect(member.get_by_role("heading", name="Ningbo swimmers", level=1)).to_be_visible()
    member.goto(site.screen("e/club"))
    member.get_by_text("Columns", exact=True).click()
    member.get_by_label("WeChat follower").check()
    member.get_by_role("button", name="Apply", exact=True).click()
    member.get_by_text("Filters", exact=True).click()
    member.locator("#f-wechat_follower").select_option(label="Yes")  # the filter (the column chooser has the label too)
    member.get_by_role("button", name="Apply", exact=True).click()
    rows = member.locator("#list-rows tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Ningbo swimmers")
    assert_accessible(member)
    member.context.close()


def test_a_pack_form_gets_tabs_and_its_sections_move_between_them_in_english_and_chinese(page, site):
    sign_in(page, site)
    page.get_by_role("button", name="English").click()
    page.goto(site.screen("designer/e/membership/form"))
    for name, label in (("card_tab", "Card"), ("points_tab", "Points")):
        add = page.get_by_role("region", name="Add a tab")
        add.get_by_label("Tab name").fill(name)
        add.get_by_label("Tab label (English)").fill(label)
        add.get_by_role("button", name="Add the tab").click()
        expect(page.locator(f"#tab-ed-{name}")).to_be_focused()
    page.get_by_role("button", name="Move to tab: Points").click()
    expect(page.locator("#sec-points")).to_be_focused()
    expect(page.get_by_role("region", name="Tab: Points").get_by_role("region", name="Section: Points")).to_be_visible()
    preview = page.get_by_role("region", name="Preview of your draft")
    preview.get_by_role("tab", name="Points").click()
    expect(preview.get_by_role("tabpanel", name="Points").get_by_text("Points balance")).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    assert_accessible(page)
    screenshot(page, "designer-form-tabs")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="会员卡 的表单", level=1)).to_be_visible()
    assert_accessible(page)
