"""The designer's message templates editor on the server, on SQLite and PostgreSQL
(ScreenClient), over the retail pack and its demo data: templates listed with the rules
that send them; a new template added, written in English and Chinese, its bad Jinja
shown beside the control that holds it; previewed on a real card in both languages by
the renderer notifications use; published, a rule sends it; removed; bad input refused
without a change; a member gets the 403 page."""
from __future__ import annotations

import re
from html import unescape

import pytest

from engine import auth
from engine.app import create_app
from engine.drafts import Drafts
from engine.install import Install
from engine.packs.service import PackService
from engine.plugins import Plugins
from tests.screens.conftest import ScreenClient, with_passwords
from workflows.notify.service import templates_for
from workflows.notify.templates import message_context, render

ADMIN, MEMBER = "ann@demo.example", "mo@demo.example"


@pytest.fixture
def install(settings):
    install = Install(settings, Plugins())
    yield install
    install.dispose()


@pytest.fixture
def demo(install):
    install.registry.create("demo", "Demo company")
    PackService(install).install("demo", "retail_loyalty", demo=True)
    with_passwords(install, "demo", {ADMIN: "admin", MEMBER: "member"})
    return create_app(install, {"TESTING": True})


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def draft(install):
    storage = install.session("demo").storage
    admin = next(a for a in auth.list_users(storage) if a.email == ADMIN)
    return Drafts(install.session("demo", admin)).open()


def template(install, name):
    return next((t for t in draft(install).document.get("templates", []) if t["name"] == name), None)


TEXTS = {"subject_en": "A {{ record.tier }} card holds {{ record.points_balance }} points",
         "subject_zh-CN": "{{ record.tier }} 卡有 {{ record.points_balance }} 积分",
         "body_en": "Hello {{ recipient.name }}, please welcome the member.",
         "body_zh-CN": "{{ recipient.name }}，请接待这位会员。", "description": "For the store manager"}


def test_the_pack_templates_are_listed_with_the_rules_that_send_them(demo):
    ann = ScreenClient(demo, "demo", ADMIN)
    page = text(ann.get("/designer/templates").text)
    assert "tier_upgrade" in page and "loyalty_tiers › upgrade_to_diamond" in page


def test_a_template_is_added_written_previewed_and_sent_once_published(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    added = ann.post("/designer/templates", data={"name": "manager_alert"})
    assert added.status_code == 302 and added.headers["Location"].endswith("/designer/templates/manager_alert")
    assert set(template(install, "manager_alert")) == {"name", "subject", "body"}
    assert ann.post("/designer/templates/manager_alert", data=TEXTS).status_code == 302
    saved = template(install, "manager_alert")
    assert saved["subject"] == {"en": TEXTS["subject_en"], "zh-CN": TEXTS["subject_zh-CN"]}
    assert saved["description"] == "For the store manager" and draft(install).problems == []

    card = install.session("demo").records.list("membership", [("limit", "1")])["items"][0]
    page = ann.get(f"/designer/templates/manager_alert?entity=membership&id={card['id']}").text
    shown = text(page)
    assert f"A {card['tier']} card holds {card['points_balance']} points" in shown
    assert f"{card['tier']} 卡有 {card['points_balance']} 积分" in shown
    assert "{{ record.points_balance }}" in shown  # the values a template can name

    # published, the engine's notifications read the template the designer wrote
    session = install.session("demo")
    session.apply_metadata(draft(install).document)
    published = templates_for(install.session("demo"))["manager_alert"]
    assert render(published, "zh-CN", message_context(session.tenant, "membership", card, {"name": "周兰"}))[0] == (
        f"{card['tier']} 卡有 {card['points_balance']} 积分")


def test_bad_jinja_is_kept_in_the_draft_and_shown_beside_its_control(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    ann.post("/designer/templates", data={"name": "broken"})
    ann.post("/designer/templates/broken", data={**TEXTS, "body_zh-CN": "您好 {{ record.number "})
    assert template(install, "broken")["body"]["zh-CN"] == "您好 {{ record.number "
    problems = draft(install).problems
    assert [p["code"] for p in problems if p["field"].endswith("/body/zh-CN")] == ["syntax"]
    page = ann.get("/designer/templates/broken").text
    assert re.search(r'<textarea name="body_zh-CN"[^>]*aria-describedby="problems-body-2" aria-invalid="true"', page)
    card = install.session("demo").records.list("membership", [("limit", "1")])["items"][0]
    shown = text(ann.get(f"/designer/templates/broken?entity=membership&id={card['id']}").text)
    assert "body (zh-CN), line 1" in shown and f"A {card['tier']} card holds" in shown  # English still renders


def test_a_template_is_removed_and_a_rule_still_naming_it_is_a_problem(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    assert ann.post("/designer/templates/tier_upgrade/remove").status_code == 302
    assert template(install, "tier_upgrade") is None
    assert any("tier_upgrade" in p["message"] for p in draft(install).problems)


@pytest.mark.parametrize("method,url,data,status", [
    ("post", "/designer/templates", {"name": "Bad Name"}, 400),
    ("post", "/designer/templates", {"name": ""}, 400),
    ("post", "/designer/templates", {"name": "tier_upgrade"}, 409),
    ("get", "/designer/templates/nothing", None, 404),
    ("post", "/designer/templates/nothing", {"subject_en": "x"}, 404),
    ("post", "/designer/templates/nothing/remove", {}, 404),
])
def test_bad_input_is_refused_and_changes_nothing(demo, install, method, url, data, status):
    ann = ScreenClient(demo, "demo", ADMIN)
    before = draft(install).document
    response = ann.post(url, data=data) if method == "post" else ann.get(url)
    assert response.status_code == status
    assert draft(install).document == before


@pytest.mark.parametrize("asked,said", [("abc", "Type a record's id"), ("999999", "There is no"), ("-3", "Type a record's id")])
def test_a_preview_on_a_record_that_is_not_there_says_so(demo, asked, said):
    ann = ScreenClient(demo, "demo", ADMIN)
    page = ann.get(f"/designer/templates/tier_upgrade?entity=membership&id={asked}")
    assert page.status_code == 200 and said in text(page.text)


def test_a_member_gets_the_403_page(demo):
    mo = ScreenClient(demo, "demo", MEMBER)
    assert mo.get("/designer/templates").status_code == 403
    assert mo.get("/designer/templates/tier_upgrade").status_code == 403
    assert mo.post("/designer/templates", data={"name": "sneaky"}).status_code == 403
