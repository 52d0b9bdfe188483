"""Merging a duplicate party on its page and undoing it from the timeline, in Chromium, in
English and Chinese, with the keyboard only where a choice is made: find the duplicate,
preview it, choose the value a field keeps, confirm; the survivor keeps the duplicate's
related records; "Undo merge" brings the duplicate back. axe-core clean throughout."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine import auth, passwords
from tests.screens.conftest import PASSWORD, assert_accessible, settled, sign_in

CHINESE = "wang.fang@demo.example"
WORDS = {
    "en": {"merge": "Merge…", "find": "Find", "search": "Name, e-mail or phone", "preview": "Preview the merge",
           "city_take": "City: take", "update": "Update the preview",
           "merged": "Merged. The merge can be undone from the timeline.",
           "entry": "Merged duplicates into this Party", "undo": "Undo merge", "undone": "Merge undone.",
           "timeline": "Timeline", "confirm": "Merge {} into this record", "keeps": "The value each field keeps"},
    "zh-CN": {"merge": "合并…", "find": "查找", "search": "名称、电子邮件或电话", "preview": "预览合并",
              "city_take": "城市：采用", "update": "更新预览", "merged": "已合并。可在时间线上撤销此次合并。",
              "entry": "已将重复记录合并到此客户", "undo": "撤销合并", "undone": "已撤销合并。",
              "timeline": "时间线", "confirm": "将 {} 合并到此记录", "keeps": "每个字段保留的值"}}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_duplicate_merges_into_a_party_and_the_merge_is_undone(page, site, language):
    words = WORDS[language]
    system = site.session()
    if language == "zh-CN" and CHINESE not in [u.email for u in auth.list_users(system.storage)]:
        auth.create_user(system.storage, CHINESE, "admin", display_name="王芳", locale="zh-CN")
        passwords.set_password(system.storage, CHINESE, PASSWORD)
    keep = system.records.create("party", {"name": f"张伟 {language}", "city": "北京"})
    dup_name = f"张 伟 {language}"
    dup = system.records.create("party", {"name": dup_name, "city": "上海", "email": f"zw.{language}@example.cn"})
    deal = system.records.create("opportunity", {"name": f"Deal {language}", "party": dup["id"]})
    member = system.records.create("membership", {"party": dup["id"]})
    sign_in(page, site, email=CHINESE if language == "zh-CN" else "admin@demo.example", path=f"e/party/{keep['id']}")

    page.get_by_role("link", name=words["merge"]).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(keep["name"])
    page.get_by_role("searchbox", name=words["search"]).fill(dup_name)
    page.get_by_role("button", name=words["find"], exact=True).click()
    choice = page.get_by_role("radio", name=f"{dup_name} (#{dup['id']})")
    choice.focus()
    page.keyboard.press("Space")
    expect(choice).to_be_checked()
    page.get_by_role("button", name=words["preview"]).click()
    table = page.get_by_role("table", name=words["keeps"])
    expect(table.get_by_role("row", name=re.compile("上海"))).to_be_visible()
    assert_accessible(page)
    take = page.get_by_role("radio", name=re.compile(words["city_take"]))
    take.focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name=words["update"]).click()
    expect(page).to_have_url(re.compile(r"field\.city="))  # the preview drawn again with the choice
    expect(page.get_by_role("radio", name=re.compile(words["city_take"]))).to_be_checked()
    assert_accessible(page)
    page.get_by_role("button", name=words["confirm"].format(dup_name)).click()

    expect(page.get_by_role("status")).to_have_text(words["merged"])
    timeline = page.get_by_role("region", name=words["timeline"])
    expect(timeline.get_by_text(words["entry"])).to_be_visible()
    settled(page)
    assert_accessible(page)
    survivor = system.records.get("party", keep["id"])
    assert (survivor["city"], survivor["email"]) == ("上海", f"zw.{language}@example.cn")
    assert system.records.get("opportunity", deal["id"])["party"] == keep["id"]
    assert system.records.get("membership", member["id"])["party"] == keep["id"]

    timeline.get_by_role("button", name=words["undo"]).click()
    expect(page.get_by_role("status")).to_have_text(words["undone"])
    assert_accessible(page)
    assert system.records.get("party", dup["id"])["city"] == "上海"
    assert system.records.get("opportunity", deal["id"])["party"] == dup["id"]
    assert system.records.get("party", keep["id"])["city"] == "北京"
