"""The issue's acceptance 2 in Chromium, in English and Chinese: a claims adjuster opens
a policy and sees no premium (not as a column, a field or a value), opens a claim and
changes its decision — the one field the form offers — and axe finds nothing."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine.app import create_app
from engine.install import Install
from engine.plugins import Plugins
from tests.conftest import make_settings
from tests.screens.conftest import LiveServer, Site, assert_accessible, settled, sign_in
from tests.screens.test_roles_screens_server import roles_tenant

WORDS = {"adj@acme.test": {"premium": "Premium", "decision": "Decision", "amount": "Amount", "save": "Save",
                           "paid": "Paid"},
         "zh@acme.test": {"premium": "保费", "decision": "理赔结论", "amount": "金额", "save": "保存",
                          "paid": "Paid"}}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    install = Install(make_settings("sqlite", tmp_path_factory.mktemp("roles")), Plugins())
    found = roles_tenant(install)
    server = LiveServer(create_app(install, {"TESTING": False}))
    yield Site(install, server.url, tenant="acme"), found
    server.stop()
    install.dispose()


@pytest.mark.parametrize("email", sorted(WORDS))
def test_a_claims_adjuster_sees_no_premium_and_changes_only_the_decision(page, site, email):
    site, world = site
    words = WORDS[email]
    sign_in(page, site, email=email, path=f"e/policy/{world['policy']}")
    expect(page.get_by_text("P-1").first).to_be_visible()
    assert words["premium"] not in page.content() and "1234.5" not in page.content()
    assert_accessible(page)
    page.goto(site.screen("e/policy"))
    expect(page.get_by_role("link", name="P-1").first).to_be_visible()
    assert words["premium"] not in page.content()
    assert_accessible(page)

    page.goto(site.screen(f"e/claim/{world['claim']}/edit"))
    decision = page.get_by_label(words["decision"])
    expect(decision).to_be_editable()
    expect(page.get_by_role("textbox", name=words["amount"])).to_have_count(0)
    assert_accessible(page)
    decision.select_option("paid")
    page.get_by_role("button", name=words["save"]).click()
    page.wait_for_url(lambda url: url.endswith(f"/e/claim/{world['claim']}"))
    settled(page)
    assert_accessible(page)
    assert site.install.session("acme").records.get("claim", world["claim"])["decision"] == "paid"
    site.install.session("acme").records.update("claim", world["claim"], {"decision": "open"})


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_an_admin_reads_why_and_hands_records_over_in_the_people_section(page, site, language):
    site, _world = site
    sign_in(page, site, email="admin@acme.test", path="designer/people")
    if language == "zh-CN":
        page.get_by_role("button", name="中文").click()
        page.goto(site.screen("designer/people"))
    words = {"en": ("Roles and access: adj@acme.test", "Explain", "Hand over the records", "Field premium: none",
                    "Entity", "Field (optional)", "records of adj@acme.test over."),
             "zh-CN": ("角色与权限：adj@acme.test", "说明原因", "移交记录", "字段 premium：none", "实体",
                       "字段（可选）", "已移交 adj@acme.test 的")}[language]
    page.get_by_role("link", name=words[0]).click()
    expect(page.get_by_role("button", name=words[1])).to_be_visible()  # the user's access page
    assert_accessible(page)
    page.get_by_role("combobox", name=re.compile("^" + words[4])).select_option("policy")
    page.get_by_label(words[5]).fill("premium")
    page.get_by_role("button", name=words[1]).click()
    expect(page.get_by_role("status").filter(has_text=words[3])).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name=words[2]).click()
    expect(page.get_by_role("status").filter(has_text=words[6])).to_be_visible()  # the page after the handover
    expect(page.get_by_role("heading", level=1)).to_contain_text("adj@acme.test")
    assert_accessible(page)
