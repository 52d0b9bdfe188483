"""Acceptance 1 of issue 12 in the browser, in English and Chinese: in an
`insurance_agents --demo` tenant an agent (a member) sees a policyholder's phone number
masked on the record page, unmasks it with the keyboard by giving a reason, and the admin
finds that unmask with its reason on the access log page — axe-core clean throughout."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine import passwords
from engine.app import create_app
from engine.install import Install
from engine.packs.service import PackService
from engine.plugins import Plugins
from tests.screens.conftest import (PASSWORD, LiveServer, Site, assert_accessible, make_settings, settled,
                                    sign_in)

ADMIN = "zhang.hua@insurer.example"  # zh-CN
AGENTS = {"en": ("zhao.min@east-agency.example", "Zhang Wei", "+86 138 0000 2002", "138****2002"),
          "zh-CN": ("li.wei@east-agency.example", "Huang Xiaoming", "+86 138 0000 2000", "138****2000")}
WORDS = {"en": {"unmask": "Unmask Phone", "reason": "Reason", "show": "Show the value", "log": "Access log",
                "unmasked": "unmasked, logged"},
         "zh-CN": {"unmask": "查看明文 电话", "reason": "理由", "show": "显示明文", "log": "访问日志",
                   "unmasked": "已显示明文，已记录"}}


@pytest.fixture(scope="module")
def ins(tmp_path_factory):
    install = Install(make_settings("sqlite", tmp_path_factory.mktemp("pii_site")), Plugins())
    install.registry.create("ins", "Insurer")
    PackService(install).install("ins", "insurance_agents", demo=True)
    storage = install.session("ins").storage
    for email in (ADMIN, *(a[0] for a in AGENTS.values())):
        passwords.set_password(storage, email, PASSWORD)
    server = LiveServer(create_app(install, {"TESTING": False}))
    yield Site(install, server.url, tenant="ins")
    server.stop()
    install.dispose()


def party_id(site, name):
    [party] = site.session().records.list("party", [("name", name)])["items"]
    return party["id"]


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_an_agent_unmasks_a_phone_number_with_a_reason_and_the_admin_finds_it(ins, page, language):
    email, name, phone, masked = AGENTS[language]
    words = WORDS[language]
    sign_in(page, ins, email=email, path=f"e/party/{party_id(ins, name)}")
    main = page.locator("main")
    expect(main.get_by_text(masked).first).to_be_visible()
    expect(main.get_by_text(phone)).to_have_count(0)
    assert_accessible(page)
    button = page.get_by_role("button", name=words["unmask"]).first
    button.focus()
    page.keyboard.press("Enter")  # the keyboard opens the dialog …
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    settled(page)
    assert_accessible(page)
    reason = dialog.get_by_label(words["reason"])
    expect(reason).to_be_focused()
    page.keyboard.type(f"Customer called about the renewal ({language})")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name=words["show"])).to_be_focused()
    page.keyboard.press("Enter")  # … and sends the reason
    expect(main.get_by_text(phone).first).to_be_visible()
    expect(main.get_by_text(words["unmasked"]).first).to_be_visible()
    settled(page)
    assert_accessible(page)

    page.context.clear_cookies()
    sign_in(page, ins, email=ADMIN, path="designer/access-log")
    expect(page.get_by_role("heading", name=WORDS["zh-CN"]["log"], level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text=f"Customer called about the renewal ({language})")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(re.compile(r"phone"))
    assert_accessible(page)
