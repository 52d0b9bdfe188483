"""The designer's rules editor on the server, on SQLite and PostgreSQL (ScreenClient), over
the retail pack and its demo data: a rule built on the screens is the rule-set JSON the CLI
accepts; each action's parameters are checked by the action's own check, the problem
beside the parameter; "test on a record" says whether the draft rule fires and why not;
"replay history" lists what it would have done and changes nothing; published, the rule
notifies the store manager when a card becomes diamond; a member gets the 403 page."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from admin_ui.designer import action_forms
from engine import auth
from engine.app import create_app
from engine.drafts import Drafts
from engine.install import Install
from engine.packs.service import PackService
from engine.plugins import Plugins
from engine.systables import loom_table
from tests.screens.conftest import ScreenClient, with_passwords
from workflows.actions import builtin_actions
from workflows.notify import inapp
from workflows.runtime import runtime_of
from workflows.simulate import simulate

ROOT = Path(__file__).resolve().parents[2]
ADMIN, MEMBER, MANAGER = "ann@demo.example", "mo@demo.example", "store.manager@shop.example"
RULE = "/designer/rules/store_alerts/diamond_alert"
DIAMOND = {"field": "tier", "op": "eq", "value": "diamond"}


@pytest.fixture
def install(settings):
    """An install with the packs of the entry points (the retail pack among them)."""
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
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def condition_form(condition) -> dict:
    """The condition builder's inputs for a condition of one leaf."""
    return {"condition-mode": "rows", "condition-match": "all", "condition-0-field": condition["field"],
            "condition-0-op": condition["op"], "condition-0-value": condition["value"]}


def mine(install) -> dict:
    storage = install.session("demo").storage
    admin = next(a for a in auth.list_users(storage) if a.email == ADMIN)
    return Drafts(install.session("demo", admin)).open()


def ruleset_in(draft, name="store_alerts") -> dict:
    return next(r for r in draft.document["rulesets"] if r["name"] == name)


def build_the_rule(ann) -> None:
    """On the screens: a rule set on membership cards, "when tier becomes diamond, notify
    the store manager in the app"."""
    made = ann.post("/designer/rules", data={"name": "store_alerts", "entity": "membership",
                                             "kind": "automation", "rule": "diamond_alert"})
    assert made.status_code == 302 and made.headers["Location"].endswith(f"/t/demo{RULE}")
    saved = ann.post(f"{RULE}/when", data={"event": "record.updated", "changed": ["tier"],
                                           **condition_form(DIAMOND)})
    assert saved.status_code == 302
    assert ann.post(f"{RULE}/actions", data={"action": "notify"}).status_code == 302
    assert ann.post(f"{RULE}/actions/0", data={"a0-template": "tier_upgrade", "a0-to": f"user:{MANAGER}",
                                               "a0-channel": "in_app"}).status_code == 302


def members(install) -> list[dict]:
    return install.session("demo").records.list("membership", [("limit", "50")])["items"]


def test_a_rule_built_on_the_screens_is_the_rule_set_json(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    listed = text(ann.get("/designer/rules").text)
    assert "loyalty_tiers" in listed and "upgrade_to_diamond" in listed
    build_the_rule(ann)
    draft = mine(install)
    assert ruleset_in(draft) == {
        "name": "store_alerts", "kind": "automation", "entity": "membership",
        "rules": [{"name": "diamond_alert",
                   "when": {"event": "record.updated", "changed": ["tier"], "condition": DIAMOND},
                   "actions": [{"action": "notify", "params": {"template": "tier_upgrade", "to": f"user:{MANAGER}",
                                                               "channel": "in_app"}}]}]}
    assert draft.problems == []
    documented = (ROOT / "docs" / "designer.md").read_text(encoding="utf-8")
    assert ruleset_in(draft) == json.loads(re.search(r"<!-- rules-editor-example -->\s*```json\n(.*?)```",
                                                     documented, re.S).group(1))
    page = ann.get(RULE)
    assert page.status_code == 200
    assert "When a record is changed (when Card tier changes)" in text(ann.get("/designer/rules").text)


def test_an_action_needs_its_parameters_and_each_problem_is_beside_its_parameter(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    ann.post("/designer/rules", data={"name": "store_alerts", "entity": "membership", "kind": "automation",
                                      "rule": "diamond_alert"})
    page = ann.get(RULE).text
    beside = page[page.index('id="actions-problems"'):]
    assert "automation rules need at least one action" in beside[:beside.index("</ul>")]
    assert 'id="trigger-problems"' not in page
    ann.post(f"{RULE}/actions", data={"action": "notify"})
    page = ann.get(RULE).text
    template = page[page.index('name="a0-template"'):page.index('name="a0-channel"')]
    assert 'id="problems-a0-template"' in template and "template is required" in template
    assert "to is required" in page[page.index('id="problems-a0-to"'):page.index('name="a0-channel"')]
    bad = ann.post(f"{RULE}/actions/0", data={"a0-template": "tier_upgrade", "a0-to": "user:not-an-address",
                                              "a0-channel": "in_app"})
    assert bad.status_code == 302
    page = ann.get(RULE).text
    beside = page[page.index('id="problems-a0-to"'):]
    assert "is not an e-mail address" in beside[:beside.index("</ul>")]
    assert 'id="problems-a0-template"' not in page


def test_a_parameter_that_does_not_read_is_refused_beside_it_and_changes_nothing(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    ann.post("/designer/rules", data={"name": "numbers", "entity": "membership", "kind": "automation",
                                      "rule": "card_number"})
    ann.post("/designer/rules/numbers/card_number/actions", data={"action": "number"})
    before = mine(install).document
    refused = ann.post("/designer/rules/numbers/card_number/actions/0",
                       data={"a0-field": "number", "a0-prefix": "M-", "a0-width": "six"})
    assert refused.status_code == 400
    beside = refused.text[refused.text.index('id="problems-a0-width"'):]
    assert "'six' is not a number" in text(beside[:beside.index("</ul>")]).replace("&#39;", "'")
    assert mine(install).document == before
    set_field = ann.post("/designer/rules/numbers/card_number/actions", data={"action": "set_field"})
    assert set_field.status_code == 302
    ann.post("/designer/rules/numbers/card_number/actions/1", data={"a1-field": "points_balance", "a1-value": "lots"})
    page = ann.get("/designer/rules/numbers/card_number").text
    beside = page[page.index('id="problems-a1-value"'):]
    assert "the value does not fit membership.points_balance" in beside[:beside.index("</ul>")]
    assert ann.post("/designer/rules/numbers/card_number/actions", data={"action": "nope"}).status_code == 400
    assert ann.post("/designer/rules/numbers/card_number/actions/7", data={}).status_code == 404
    assert ann.get("/designer/rules/numbers/nothing").status_code == 404


def test_a_condition_problem_is_shown_beside_its_row_and_bad_json_changes_nothing(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    build_the_rule(ann)
    kept = ann.post(f"{RULE}/when", data={"event": "record.updated", "changed": ["tier"],
                                          **condition_form({"field": "tier", "op": "eq", "value": "platinum"})})
    assert kept.status_code == 302
    assert ruleset_in(mine(install))["rules"][0]["when"]["condition"] == {"field": "tier", "op": "eq", "value": "platinum"}
    page = ann.get(RULE).text
    beside = page[page.index('id="condition-0-problems"'):]
    assert "platinum" in beside[:beside.index("</ul>")]
    before = mine(install).document
    refused = ann.post(f"{RULE}/when", data={"event": "record.created", "condition-mode": "json",
                                             "condition-json": '{"field": "tier",'})
    assert refused.status_code == 400 and "This is not JSON" in refused.text
    assert mine(install).document == before


def test_schedules_correlations_and_validation_messages_are_written_in_the_rule_set_format(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    build_the_rule(ann)
    assert ann.post(f"{RULE}/when", data={"event": "record.created", "correlate": "on", "by": "party", "count": "3",
                                          "within": "30", "unit": "d"}).status_code == 302
    rule = ruleset_in(mine(install))["rules"][0]
    assert rule["when"] == {"event": "record.created"} and rule["correlate"] == {"by": "party", "count": 3, "within": "30d"}
    ann.post(f"{RULE}/when", data={"event": "timer", "schedule_kind": "field", "schedule_field": "joined",
                                   "offset": "-30", "yearly": "on", "at": "10:30"})
    rule = ruleset_in(mine(install))["rules"][0]
    assert rule["when"] == {"event": "timer", "schedule": {"field": "joined", "offset": "-30d", "yearly": True,
                                                            "at": "10:30"}} and "correlate" not in rule
    assert mine(install).problems == []
    ann.post(f"{RULE}/when", data={"event": "timer", "schedule_kind": "every", "every": "week", "on": "someday"})
    page = ann.get(RULE).text
    beside = page[page.index('id="trigger-problems"'):]
    assert "/when/schedule" in beside[:beside.index("</ul>")]

    ann.post("/designer/rules", data={"name": "card_checks", "entity": "membership", "kind": "validation",
                                      "rule": "no_diamond_by_hand"})
    assert "Correlation" not in text(ann.get("/designer/rules/card_checks/no_diamond_by_hand").text)
    ann.post("/designer/rules/card_checks/no_diamond_by_hand/when", data={
        "event": "record.updated", "changed": ["tier"], **condition_form(DIAMOND), "message_en": "Tiers follow points.",
        "message_zh": "等级随积分变化。", "correlate": "on", "by": "party", "count": "2", "within": "1"})
    assert ruleset_in(mine(install), "card_checks")["rules"][0] == {
        "name": "no_diamond_by_hand", "when": {"event": "record.updated", "changed": ["tier"], "condition": DIAMOND},
        "message": {"en": "Tiers follow points.", "zh-CN": "等级随积分变化。"}}


def tier_changed_to_diamond(install) -> int:
    """A real card moved up to diamond (an updated event whose changes hold the tier)."""
    card = next(m for m in members(install) if m["tier"] == "gold")
    install.session("demo").records.update("membership", card["id"], {"tier": "diamond"})
    return card["id"]


def test_the_draft_rule_is_tested_on_a_record_fires_or_says_why_not(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    build_the_rule(ann)
    card = tier_changed_to_diamond(install)
    fired = ann.get(f"{RULE}/test", query_string={"record": card})
    assert fired.status_code == 200
    words = text(fired.text)
    assert "The rule would fire on" in words and "Card tier is Diamond card Diamond card yes" in words
    other = next(m for m in members(install) if m["tier"] == "member")
    outbox = loom_table(install.session("demo").storage.schema, "loom_outbox")
    with install.session("demo").storage.connect() as conn:
        created = conn.execute(select(outbox.c.id).where(outbox.c.entity == "membership", outbox.c.record_id == other["id"],
                                                         outbox.c.event == "record.created")).scalar_one()
    quiet = text(ann.get(f"{RULE}/test", query_string={"record": other["id"], "event": created}).text)
    assert "The rule would not fire on" in quiet and "The trigger is another kind of change." in quiet
    assert "Card tier is Diamond card Member card no" in quiet
    assert ann.get(f"{RULE}/test", query_string={"record": "999999"}).status_code == 404
    assert ann.get(f"{RULE}/test", query_string={"record": "x'; drop"}).status_code == 404


def everything(install) -> dict:
    """Every row of the tenant: records, outbox, traces, notifications, drafts, versions."""
    session = install.session("demo")
    schema = session.storage.schema
    tables = [*session.metadata().tables.values()] + [loom_table(schema, name) for name in (
        "loom_outbox", "loom_rule_trace", "loom_correlations", "loom_effects", "loom_audit", "loom_drafts",
        "loom_metadata_versions", "loom_notifications", "loom_settings")]
    with session.storage.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))] for t in tables}


def test_replaying_history_lists_what_the_rule_would_have_done_and_changes_nothing(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    build_the_rule(ann)
    card = tier_changed_to_diamond(install)
    runtime_of(install).jobs.drain("demo")
    before = everything(install)
    replayed = ann.get(f"{RULE}/replay", query_string={"days": "30"})
    assert replayed.status_code == 200
    words = text(replayed.text)
    fired = int(re.search(r"Times the rule would have fired: (\d+)\.", words).group(1))
    listed = re.findall(r'href="/t/demo/e/membership/(\d+)"', replayed.text[replayed.text.index('id="replay"'):])
    assert fired == len(listed) and str(card) in listed and "Send a notification" in words
    cli = simulate(install.session("demo"), {"rulesets": [ruleset_in(mine(install))]}, since="30d")
    assert cli["firings"] == fired and {str(i["record_id"]) for i in cli["items"]} == set(listed)
    for days in ("0", "abc", "400"):
        refused = ann.get(f"{RULE}/replay", query_string={"days": days})
        assert refused.status_code == 400 and "Give a number of days from 1 to 366." in refused.text
    assert everything(install) == before


def test_published_the_rule_notifies_the_store_manager_when_a_card_becomes_diamond(demo, install):
    runtime_of(install).jobs.drain("demo")  # the demo data's own events, under the pack's rules
    ann = ScreenClient(demo, "demo", ADMIN)
    build_the_rule(ann)
    assert ann.post("/designer/publish").status_code == 302
    assert any(r["name"] == "store_alerts" for r in install.session("demo").metadata().package.rulesets)
    storage = install.session("demo").storage
    manager = next(a for a in auth.list_users(storage) if a.email == MANAGER)
    card = tier_changed_to_diamond(install)
    runtime_of(install).jobs.drain("demo")
    notes = inapp.list_for(storage, manager.id)
    assert [(n["entity"], n["record_id"]) for n in notes] == [("membership", card)]
    assert notes[0]["title"].startswith("Congratulations: your card is now")


def test_removing_actions_and_rules_edits_the_draft(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    build_the_rule(ann)
    assert ann.post(f"{RULE}/actions/0/remove").status_code == 302
    assert "actions" not in ruleset_in(mine(install))["rules"][0]
    assert ann.post(f"{RULE}/remove").status_code == 302
    assert all(r["name"] != "store_alerts" for r in mine(install).document["rulesets"])
    assert ann.post(f"{RULE}/remove").status_code == 404


def test_bad_input_gets_a_clear_answer_and_changes_nothing(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    ann.get("/designer/rules")
    before = mine(install).document
    for data in ({"name": "", "entity": "membership", "rule": "r"}, {"name": "a/b", "entity": "membership", "rule": "r"},
                 {"name": "ok", "entity": "membership", "rule": " "}):
        refused = ann.post("/designer/rules", data=data)
        assert refused.status_code == 400 and "Give a name of lowercase letters" in refused.text
    assert ann.post("/designer/rules/loyalty_tiers/rules", data={"name": ""}).status_code == 400
    assert mine(install).document == before

    ann.post("/designer/rules", data={"name": "ghost", "entity": "nothing", "kind": "automation", "rule": "r1"})
    assert "&#39;nothing&#39; is not an entity" in ann.get("/designer/rules").text
    assert ann.get("/designer/rules/ghost/r1").status_code == 200
    tested = ann.get("/designer/rules/ghost/r1/test", query_string={"record": "1"})
    assert tested.status_code == 409 and "Correct the problems of this rule first" in tested.text
    replay = ann.get("/designer/rules/ghost/r1/replay", query_string={"days": "5"})
    assert replay.status_code == 409 and "Correct the problems of this rule first" in replay.text
    ann.post("/designer/rules/ghost/r1/actions", data={"action": "create_plan"})  # a form of one JSON input
    kept = mine(install).document
    refused = ann.post("/designer/rules/ghost/r1/actions/0", data={"a0-params": "{bad"})
    assert refused.status_code == 400 and 'id="problems-a0-params"' in refused.text and "this is not JSON" in refused.text
    assert mine(install).document == kept
    assert ann.post("/designer/rules/ghost/r1/actions/0", data={"a0-params": '{"entity": "activity"}'}).status_code == 302
    page = ann.get("/designer/rules/ghost/r1").text
    beside = page[page.index('id="problems-a0-params"'):]
    assert "create_plan: link_field is required" in beside[:beside.index("</ul>")]


def test_a_packs_own_action_gets_a_form_from_the_parameters_it_declares(demo, install):
    ann = ScreenClient(demo, "demo", ADMIN)
    ann.post("/designer/rules", data={"name": "expiry", "entity": "membership", "kind": "automation", "rule": "old"})
    assert ann.post("/designer/rules/expiry/old/actions", data={"action": "loyalty_expire_points"}).status_code == 302
    page = ann.get("/designer/rules/expiry/old").text
    assert "Expire points older than (months)" in page and 'name="a0-months"' in page
    assert 'name="a0-params"' not in page, "no JSON box for an action that declares its parameters"
    refused = ann.post("/designer/rules/expiry/old/actions/0", data={"a0-months": "many"})
    assert refused.status_code == 400 and 'id="problems-a0-months"' in refused.text
    assert ann.post("/designer/rules/expiry/old/actions/0", data={"a0-months": "500"}).status_code == 302
    page = ann.get("/designer/rules/expiry/old").text
    beside = page[page.index('id="problems-a0-months"'):]
    assert "months must be" in text(beside[:beside.index("</ul>")]), "the action's own check, beside its input"
    assert mine(install).document["rulesets"][-1]["rules"][0]["actions"] == [
        {"action": "loyalty_expire_points", "params": {"months": 500}}]


def test_a_member_gets_the_403_page(demo):
    mo = ScreenClient(demo, "demo", MEMBER)
    for method, path in (("GET", "/designer/rules"), ("POST", "/designer/rules"), ("GET", RULE),
                         ("POST", f"{RULE}/when"), ("GET", f"{RULE}/test"), ("GET", f"{RULE}/replay")):
        response = mo.get(path) if method == "GET" else mo.post(path)
        assert response.status_code == 403 and "Only a tenant admin may open this page." in response.text


NAME = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1,
               max_size=20).map(str.strip).filter(bool)
PARAMS = {
    "set_field": st.fixed_dictionaries({"field": st.just("points"), "value": st.integers(-10**6, 10**6)}),
    "notify": st.fixed_dictionaries({"template": NAME, "to": st.one_of(
        st.just("owner"), st.lists(NAME.map(lambda n: f"role:{n}"), min_size=2, max_size=3, unique=True)),
        "channel": st.sampled_from(("email", "in_app", "both"))}),
    "number": st.fixed_dictionaries({"field": NAME, "prefix": TEXT, "width": st.integers(1, 12)}),
    "webhook": st.fixed_dictionaries({"url": TEXT.filter(lambda t: "\n" not in t),
                                      "headers": st.dictionaries(NAME, TEXT.filter(lambda t: "\n" not in t), min_size=1, max_size=3),
                                      "timeout": st.floats(0.5, 30).map(lambda f: round(f, 2))}),
    "assign": st.fixed_dictionaries({"field": NAME, "strategy": st.just("round_robin"),
                                     "users": st.lists(NAME, min_size=1, max_size=3), "reassign": st.just(True)}),
}


BUILT_IN = builtin_actions()


def form_of(action: str, params: dict) -> MultiDict:
    """What a browser submits for the parameter form drawn from `params`."""
    form = MultiDict()
    for param in action_forms.params_of(BUILT_IN[action]):
        shown = action_forms.shown_value(param, params)
        if param.kind == "recipients":
            for spec in shown:
                form.add(f"a0-{param.name}", spec)
        elif param.kind == "bool":
            if shown == "true":
                form.add(f"a0-{param.name}", "on")
        else:
            form.add(f"a0-{param.name}", shown)
    return form


@given(st.sampled_from(sorted(PARAMS)).flatmap(lambda a: st.tuples(st.just(a), PARAMS[a])))
def test_saved_parameters_drawn_in_their_form_and_submitted_come_back_unchanged(case):
    action, params = case
    read, problems = action_forms.params_from_form(BUILT_IN[action], form_of(action, params), "a0",
                                                   {"points": "integer"}, "/p")
    assert problems == [] and read == params
