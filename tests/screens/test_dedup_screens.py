"""Duplicate rules on the record form in Chromium, in English and Chinese (acceptance 2 of
issue 13): a new "张 伟" with the phone of an existing "张伟", written another way, is
refused with the match and its reason; the member saves it anyway with the keyboard, and
the record's page says which record it may duplicate — axe-core clean throughout."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.screens.conftest import MEMBER, assert_accessible, screenshot, sign_in

WORDS = {
    "en": {"save": "Save", "name": "Name (required)", "phone": "Phone", "city": "City",
           "refused": "This looks like a record that already exists", "anyway": "Save anyway",
           "rule": "Same phone number", "reason": "same Phone", "may": "This record may duplicate 张*: Same phone number"},
    "zh-CN": {"save": "保存", "name": "名称 (必填)", "phone": "电话", "city": "城市",
              "refused": "这条记录似乎已经存在", "anyway": "仍然保存",
              "rule": "电话号码相同", "reason": "电话相同", "may": "此记录可能与 张* 重复：电话号码相同"},
}
PHONES = {"en": ("+86 138 0013 8101", "138-0013-8101"), "zh-CN": ("+86 138 0013 8102", "0086 13800138102")}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_same_phone_is_refused_with_its_reason_and_saved_anyway(page, site, language):
    words, (stored, typed) = WORDS[language], PHONES[language]
    existing = site.session().records.create("party", {"name": "张伟", "phone": stored, "city": "无锡"})
    sign_in(page, site, email=MEMBER)
    if language == "zh-CN":
        page.get_by_role("button", name="中文").click()
        expect(page.get_by_role("heading", name="我的工作")).to_be_visible()
    page.goto(site.screen("e/party/new"))
    page.get_by_label(words["name"]).fill("张 伟")
    page.get_by_label(words["phone"], exact=True).fill(typed)
    page.get_by_role("button", name=words["save"], exact=True).click()
    panel = page.get_by_role("alert").filter(has=page.get_by_role("heading", name=words["refused"]))
    expect(panel).to_be_visible()
    # the member reads names masked: the match is named as they may read it
    expect(panel.get_by_role("link", name="张*")).to_have_attribute("href", f"/t/demo/e/party/{existing['id']}")
    expect(panel).to_contain_text(words["rule"])
    expect(panel).to_contain_text(words["reason"])
    expect(page.get_by_label(words["phone"], exact=True)).to_have_value(typed)  # what was typed stays
    assert_accessible(page)
    screenshot(page, f"dedup-refused-{language}")
    anyway = panel.get_by_role("button", name=words["anyway"])
    anyway.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/e/party/[0-9]+$"))  # the new record's page
    expect(page.get_by_role("status")).to_contain_text(words["may"])
    assert_accessible(page)
    history = site.session().records.history("party", int(page.url.rstrip("/").split("/")[-1]))
    assert "allow_duplicate" in [item["action"] for item in history]
