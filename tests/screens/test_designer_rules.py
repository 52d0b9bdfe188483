"""The rules editor in Chromium, acceptance 1 of the designer on the demo tenant: a
newcomer adds a "WeChat ID" field to membership cards and puts it on the form, adds the
rule "when the card tier becomes diamond, notify the store manager" with the condition
builder, a message written for the manager and the action picker (to everyone with the
pack's store manager role), tests it on a real card, replays it, publishes, and sees it
work — a member sets a card to diamond and the store manager finds the notification —
without writing JSON; then the rules pages in zh-CN — axe on every state."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from engine import auth, passwords
from engine.systables import loom_table
from tests.screens.conftest import ADMIN, MEMBER, PASSWORD, assert_accessible, screenshot, settled, sign_in
from tests.screens.test_designer import PUBLISHING, published, sign_in_in_english
from workflows.notify import inapp
from workflows.runtime import runtime_of

MANAGER = "store.manager@shop.example"
RULE = "designer/rules/store_alerts/diamond_alert"


def diamond_event(site) -> tuple[int, int]:
    """(card id, event id) of a card's recorded move up to diamond: a gold card set to
    diamond before the story starts (the pack's tier rules move it back when the worker
    runs, as they would in a shop)."""
    admin = site.session(ADMIN)
    gold = admin.records.list("membership", [("tier", "gold"), ("limit", "1")])["items"][0]
    admin.records.update("membership", gold["id"], {"tier": "diamond"})
    runtime_of(site.install).jobs.drain(site.tenant)
    storage = site.install.session(site.tenant).storage
    outbox = loom_table(storage.schema, "loom_outbox")
    with storage.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.entity == "membership", outbox.c.event == "record.updated")
                            .order_by(outbox.c.id)).mappings().all()
    row = next(r for r in rows if (r["payload"].get("changes") or {}).get("tier", [None, None])[1] == "diamond")
    return row["record_id"], row["id"]


def test_a_newcomer_adds_a_field_and_a_rule_tests_it_publishes_and_the_store_manager_is_notified(page, browser, site):
    card, event = diamond_event(site)
    sign_in_in_english(page, site)
    page.get_by_role("link", name="Designer").click()
    page.get_by_role("region", name="Entities").get_by_role("link", name="Membership card").click()
    form = page.get_by_role("region", name="Add a field")
    form.get_by_label("Field name").fill("wechat_id")
    form.get_by_label("Label (English)").fill("WeChat ID")
    form.get_by_label("Label (Chinese)").fill("微信号")
    expect(form.get_by_label("Place on the form in section")).not_to_have_value("")
    form.get_by_role("button", name="Add the field").click()
    expect(page.get_by_label("English label of wechat_id")).to_have_value("WeChat ID")

    page.get_by_role("link", name="Rules").click()
    adding = page.get_by_role("region", name="Add a rule set")
    expect(adding).to_be_visible()
    assert_accessible(page)
    adding.get_by_label("Rule set name").fill("store_alerts")
    adding.get_by_label("Records of").select_option(label="Membership card")
    adding.get_by_label("First rule name").fill("diamond_alert")
    adding.get_by_role("button", name="Add the rule set").click()
    expect(page.get_by_role("heading", name="Rule diamond_alert", level=1)).to_be_visible()
    rule_url = page.url

    # the message for the manager, written on the Messages page (English and Chinese)
    page.get_by_role("navigation", name="Designer").get_by_role("link", name="Messages").click()
    adding = page.get_by_role("region", name="Add a message template")
    adding.get_by_label("Template name").fill("diamond_alert")
    adding.get_by_role("button", name="Add the template").click()
    texts = page.get_by_role("region", name="Subject and body")
    texts.get_by_label("Subject (English)").fill("A card became diamond: {{ record.points_balance }} points")
    texts.get_by_label("Subject (中文)").fill("有会员卡升级为钻石卡：{{ record.points_balance }} 积分")
    texts.get_by_label("Body (English)").fill("Please welcome the member at the counter.")
    texts.get_by_label("Body (中文)").fill("请在柜台接待这位会员。")
    texts.get_by_role("button", name="Save the template").click()
    expect(page.get_by_role("region", name="Subject and body").get_by_label("Subject (English)")).to_have_value(
        "A card became diamond: {{ record.points_balance }} points")
    page.goto(rule_url)

    when = page.get_by_role("region", name="When")
    when.get_by_label("Trigger").select_option(label="When a record is changed")
    when.get_by_role("group", name="Only when one of these fields changes (for changes)").get_by_label(
        "Card tier", exact=True).check()
    when.get_by_role("button", name="Add a condition").click()
    settled(page)
    when.get_by_label("Field of condition 1").select_option(label="Card tier")
    settled(page)
    value = when.get_by_role("combobox", name="Value of condition 1")  # redrawn for the choice field
    expect(when.get_by_label("Operator of condition 1")).to_have_value("eq")
    value.select_option("diamond")  # the builder lists this field's choices by value
    when.get_by_role("button", name="Save the trigger").click()
    expect(page.get_by_text("Condition in words: Card tier is Diamond card")).to_be_visible()

    then = page.get_by_role("region", name="Then")
    then.get_by_label("Action").select_option(label="Send a notification")
    then.get_by_role("button", name="Add the action").click()
    then = page.get_by_role("region", name="Then")
    expect(then.get_by_text("template is required")).to_be_visible()
    then.get_by_label("Message template").select_option("diamond_alert")
    then.get_by_role("group", name="Send to").get_by_label("Everyone with the role Store manager").check()
    then.get_by_label("Channel").select_option(label="In the app")
    then.get_by_role("button", name="Save the parameters of action 1").click()
    expect(page.get_by_text("template is required")).to_have_count(0)
    assert_accessible(page)
    screenshot(page, "designer-rule")

    test = page.get_by_role("region", name="Test on a record")
    test.get_by_label("Record").select_option(str(card))
    test.get_by_role("button", name="Test").click()
    test = page.get_by_role("region", name="Test on a record")
    test.get_by_label("Recorded change").select_option(str(event))
    test.get_by_role("button", name="Test").click()
    test = page.get_by_role("region", name="Test on a record")
    expect(test.get_by_role("status")).to_contain_text("The rule would fire on")
    expect(test.get_by_role("cell", name="Card tier is Diamond card")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "designer-rule-test")

    replay = page.get_by_role("region", name="Replay history")
    replay.get_by_label("Days").fill("30")
    replay.get_by_role("button", name="Replay").click()
    replay = page.get_by_role("region", name="Replay history")
    expect(replay.get_by_role("status")).to_contain_text("Times the rule would have fired:")
    expect(replay.get_by_role("cell", name="Send a notification").first).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Review and publish").click()
    expect(page.get_by_text("membership.wechat_id")).to_be_visible()
    page.get_by_role("button", name="Publish").click(timeout=PUBLISHING)
    expect(page.get_by_role("status")).to_contain_text("Published version", timeout=PUBLISHING)  # read the version once published
    expect(page.get_by_role("status")).to_contain_text(f"Published version {published(site)}.")
    runtime_of(site.install).jobs.drain(site.tenant)  # the worker: the demo's own events first

    member = browser.new_context(locale="en-US").new_page()
    member.loom_tmp = page.loom_tmp
    gold = site.session(ADMIN).records.list("membership", [("tier", "gold"), ("limit", "1")])["items"][0]
    sign_in(member, site, email=MEMBER, path=f"e/membership/{gold['id']}/edit")
    member.get_by_label("WeChat ID").fill("zhou_member_88")
    member.get_by_label("Card tier").select_option(label="Diamond card")
    member.get_by_role("button", name="Save").click()
    expect(member.get_by_text("zhou_member_88").first).to_be_visible()
    member.context.close()
    runtime_of(site.install).jobs.drain(site.tenant)  # the worker runs the published rule

    storage = site.install.session(site.tenant).storage
    manager_id = next(a.id for a in auth.list_users(storage) if a.email == MANAGER)
    assert [(n["entity"], n["record_id"]) for n in inapp.list_for(storage, manager_id)] == [("membership", gold["id"])]
    passwords.set_password(storage, MANAGER, PASSWORD)
    manager = browser.new_context(locale="en-US").new_page()
    manager.loom_tmp = page.loom_tmp
    sign_in(manager, site, email=MANAGER, path="notifications")
    expect(manager.get_by_role("main").get_by_text("A card became diamond:").first).to_be_visible()
    assert_accessible(manager)
    screenshot(manager, "designer-rule-notified")
    manager.context.close()


def test_the_rules_pages_in_chinese(page, site):
    sign_in(page, site)
    page.get_by_role("button", name="中文").click()
    page.goto(site.screen("designer/rules"))
    expect(page.get_by_role("heading", name="规则", level=1)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="upgrade_to_diamond").click()
    expect(page.get_by_role("region", name="在记录上测试")).to_be_visible()
    page.get_by_role("region", name="回放历史").get_by_role("button", name="回放").click()
    expect(page.get_by_role("region", name="回放历史").get_by_role("status")).to_contain_text("规则会触发的次数")
    assert_accessible(page)
    screenshot(page, "designer-rule-zh")
