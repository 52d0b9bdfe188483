"""The crm_core pack: its bundle on its own (metadata checks, labels, layouts, the names
other packs build on), then installed with its demo data on a fresh tenant, on SQLite and
PostgreSQL, and exercised through the API and the job queue."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.actions import registry as action_registry
from engine.auth import ROLES, create_token
from engine.packs import Pack
from engine.plugins import Plugins
from metadata import load_package
from plugins.crm_core import plugin as crm_plugin
from tests.mail import running_smtp

PACK_DIR = Path(__file__).resolve().parents[2] / "plugins" / "crm_core"
LANGS = {"en", "zh-CN"}
# What other packs rely on: keep these names.
CONTRACT = {"party": {"name", "kind", "roles", "email", "phone", "city", "value_tier"},
            "product": set(), "opportunity": set(), "activity": set(), "service_request": set()}


def read(name):
    return json.loads((PACK_DIR / name).read_text(encoding="utf-8"))


def bundle() -> dict:
    return Pack.from_directory(PACK_DIR).document()


def known_actions() -> list[str]:
    """The core actions (the workflows plugin) and the pack's own."""
    from plugins.crm_core import plugin

    plugins = Plugins(load_entry_points=False, extra_plugins=[plugin])
    return sorted(action_registry(plugins, ["crm_core"]))


# --- (a) the bundle on its own --------------------------------------------------------


def test_the_manifest_names_the_pack_and_its_files():
    manifest = read("pack.json")
    assert manifest["name"] == "crm_core" and manifest["version"] == "1.0.0"
    assert manifest["depends"] == [] and set(manifest["label"]) == LANGS
    listed = [ref for refs in manifest["bundle"].values() if isinstance(refs, list) for ref in refs]
    assert len(listed) > 50 and all((PACK_DIR / ref).is_file() for ref in listed)
    assert (PACK_DIR / manifest["demo"]).is_file()


def test_the_bundle_loads_with_the_known_actions_and_roles():
    actions = known_actions()
    assert {"set_field", "notify", "create_plan", "add_party_role", "transition_related",
            "price_quote_line", "campaign_roi"} <= set(actions)
    package = load_package(bundle(), known_actions=actions, known_roles=ROLES)
    names = {e.name for e in package.entities}
    for entity, fields in CONTRACT.items():
        assert entity in names
        assert fields <= set(package.entity(entity).field_names())
    assert package.workflow_for("party").field == "lifecycle_stage"
    assert package.workflow_for("opportunity").field == "stage"
    assert package.workflow_for("service_request").field == "status"


def test_the_rule_sets_and_templates_pass_the_workflow_checks():
    """Rule sets and templates are checked by the workflows plugin, as for a tenant; the
    pack's own actions are needed (a tenant without the plugin would be refused)."""
    from workflows.notify.templates import check_template
    from workflows.plugin import ruleset_problems

    doc = bundle()
    actions = {name: spec for name, spec in action_registry(
        Plugins(load_entry_points=False, extra_plugins=[crm_plugin]),
        ["crm_core"]).items()}
    package = load_package(doc, known_actions=sorted(actions), known_roles=ROLES)
    problems = [p for n, rs in enumerate(doc["rulesets"]) for p in ruleset_problems(package, actions, rs, f"/rulesets/{n}")]
    problems += [p for n, t in enumerate(doc["templates"]) for p in check_template(t, f"/templates/{n}")]
    assert problems == []
    core = {k: v for k, v in actions.items()
            if k not in ("add_party_role", "transition_related", "price_quote_line", "campaign_roi")}
    refused = [p for n, rs in enumerate(doc["rulesets"]) for p in ruleset_problems(package, core, rs, f"/rulesets/{n}")]
    assert refused and {p["code"] for p in refused} == {"unknown_action"}


def test_party_carries_the_documents_vocabulary():
    party = next(e for e in bundle()["entities"] if e["name"] == "party")
    fields = {f["name"]: f for f in party["fields"]}
    values = lambda name: [o["value"] for o in fields[name]["options"]]  # noqa: E731
    assert values("kind") == ["person", "organisation"]
    assert values("roles") == ["customer", "prospect", "agent", "dealer", "supplier", "partner"]
    assert values("value_tier") == ["regular", "silver", "gold", "diamond"]
    assert values("lifecycle_stage") == ["awareness", "acquisition", "consolidation", "maturity",
                                         "decline", "departure"]
    assert fields["lifetime_value"]["type"] == "currency"
    assert all(fields[f].get("pii") for f in ("name", "email", "phone", "mobile"))
    assert not any("consent" in name for name in fields)  # consent is its own entity
    consent = next(e for e in bundle()["entities"] if e["name"] == "consent")
    assert {"party", "purpose", "granted", "channel", "recorded_at", "withdrawn_at"} <= {
        f["name"] for f in consent["fields"]}


def _labels(node, path=""):
    """Every (path, label) a user sees: labels, plural labels, option labels, template texts."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("label", "plural_label", "message", "subject", "body"):
                yield f"{path}/{key}", value
            yield from _labels(value, f"{path}/{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from _labels(value, f"{path}/{getattr(value, 'get', lambda k: n)('name') or n}")


def test_every_label_a_user_sees_is_in_english_and_chinese():
    doc = bundle()
    found = list(_labels(doc))
    missing = [path for path, label in found if not isinstance(label, dict) or set(label) != LANGS]
    assert missing == []
    # Every entity, field and workflow state/transition has a label of its own.
    for entity in doc["entities"]:
        assert "label" in entity and "plural_label" in entity
        assert all("label" in f for f in entity["fields"]), entity["name"]
    for workflow in doc["workflows"]:
        assert all("label" in s for s in workflow["states"] + workflow["transitions"])
    for template in doc["templates"]:
        assert set(template["subject"]) == set(template["body"]) == LANGS


def test_every_entity_has_a_form_placing_each_field_and_a_list():
    doc = bundle()
    layouts = {(layout["entity"], layout["kind"]): layout for layout in doc["layouts"]}
    for entity in doc["entities"]:
        form = layouts[(entity["name"], "form")]
        placed = [f for section in form["sections"] for f in section["fields"]]
        assert sorted(placed) == sorted(f["name"] for f in entity["fields"]), entity["name"]
        assert layouts[(entity["name"], "list")]["columns"]


def test_the_acknowledgement_and_survey_invitation_templates_exist_in_both_languages():
    templates = {t["name"]: t for t in bundle()["templates"]}
    assert "我们已收到" in templates["request_ack"]["subject"]["zh-CN"]
    assert "{{ record.ticket_no }}" in templates["request_ack"]["subject"]["en"]
    assert "(0-10)" in templates["survey_invitation"]["body"]["en"]
    assert "0-10" in templates["survey_invitation"]["body"]["zh-CN"]


def test_the_demo_references_only_what_it_defines():
    demo = read("demo.json")
    keys, users = set(), {u["key"] for u in demo["users"]}
    for spec in demo["records"]:
        for value in spec["values"].values():
            if isinstance(value, str) and value.startswith("@"):
                assert value[1:] in keys, (spec["key"], value)
        assert spec.get("owner") is None or spec["owner"] in users
        keys.add(f"{spec['entity']}:{spec['key']}")
    assert all(t["record"][1:] in keys for t in demo["transitions"])
    assert {u["manager"] for u in demo["users"] if u.get("manager")} == {"manager"}


# --- (b) installed with its demo on a fresh tenant ------------------------------------




@pytest.fixture
def smtp():
    with running_smtp() as collector:
        yield collector


@pytest.fixture
def shop(settings, smtp):
    """Tenant `shop` with crm_core and its demo installed, the job queue drained."""
    from engine.app import create_app
    from engine.install import Install
    from engine.packs.service import PackService
    from plugins.crm_core import plugin
    from workflows.runtime import runtime_of

    install = Install(settings, Plugins(load_entry_points=False, extra_plugins=[plugin]))
    install.settings.extra.update(LOOM_SMTP_HOST="127.0.0.1", LOOM_SMTP_PORT=str(smtp.port),
                                  LOOM_SMTP_FROM="service@shop.example")
    install.registry.create("shop", "Shop")
    report = PackService(install).install("shop", "crm_core", demo=True)
    client = create_app(install, {"TESTING": True}).test_client()
    storage = install.session("shop").storage
    from engine.auth import create_user

    create_user(storage, "admin@shop.example", "admin")
    tokens = {}

    def call(method, path, body=None, who="admin@shop.example"):
        if who not in tokens:
            tokens[who] = create_token(storage, who)
        response = client.open(f"/api/v1/t/shop{path}", method=method, json=body,
                               headers={"Authorization": f"Bearer {tokens[who]}"})
        return response.status_code, response.get_json()

    def work():
        totals = runtime_of(install).jobs.drain("shop")
        assert totals["retry"] == 0 and totals["failed"] == 0, totals
        return totals

    work()

    def find(entity, **filters):
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        status, body = call("GET", f"/records/{entity}?limit=200&{query}")
        assert status == 200, body
        return body["items"]

    yield {"install": install, "report": report, "call": call, "work": work, "find": find, "smtp": smtp}
    install.dispose()


def one(items):
    assert len(items) == 1, items
    return items[0]


def test_the_demo_records_are_listable_through_the_api(shop):
    loaded = shop["report"]["demo"]["crm_core"]
    assert loaded["users"] == 4
    for entity, count in loaded["records"].items():
        assert len(shop["find"](entity)) >= count, entity
    names = {p["name"] for p in shop["find"]("party")}
    assert {"华信科技有限公司", "Sarah Miller", "张伟", "Tom Becker"} <= names
    huaxin = one(shop["find"]("party", name="华信科技有限公司"))
    contacts = shop["find"]("contact", organisation=huaxin["id"], sort="name")
    assert {c["name"] for c in contacts} == {"赵敏", "孙磊"}
    pipeline = {o["name"].split(" / ")[0]: o["stage"] for o in shop["find"]("opportunity")}
    assert pipeline["华信科技办公楼空调改造"] == "negotiation"
    assert pipeline["东方百货第三季度备货"] == "proposal"
    assert pipeline["东方百货展示样机"] == "lost"
    assert pipeline["张伟家庭家电套装"] == "won"
    assert pipeline["Greenleaf office air-conditioning"] == "qualification"  # made by the lead's conversion
    activities = shop["find"]("activity", related_entity="opportunity")
    assert len(activities) == 3 and all(a["related_id"] for a in activities)


def test_the_value_tier_follows_lifetime_value(shop):
    call, work, find = shop["call"], shop["work"], shop["find"]
    tiers = {p["name"]: p["value_tier"] for p in find("party")}
    assert tiers["华信科技有限公司"] == "diamond" and tiers["东方百货集团"] == "gold"
    assert tiers["张伟"] == "silver" and tiers["王芳"] == "regular" and tiers["陈杰"] == "silver"
    assert tiers["Greenleaf Trading Ltd"] == "regular"  # no lifetime value yet: the default

    wang = one(find("party", name="王芳"))
    status, _ = call("PATCH", f"/records/party/{wang['id']}",
                     body={"lifetime_value": {"amount": "120000.00", "currency": "CNY"}})
    assert status == 200
    work()
    assert call("GET", f"/records/party/{wang['id']}")[1]["value_tier"] == "gold"
    call("PATCH", f"/records/party/{wang['id']}", body={"lifetime_value": {"amount": "500000", "currency": "CNY"}})
    work()
    assert call("GET", f"/records/party/{wang['id']}")[1]["value_tier"] == "diamond"

    status, new = call("POST", "/records/party", body={
        "kind": "person", "name": "周杰", "lifetime_value": {"amount": "25000", "currency": "CNY"}})
    assert status == 201 and new["value_tier"] == "regular" and new["lifecycle_stage"] == "awareness"
    work()
    assert call("GET", f"/records/party/{new['id']}")[1]["value_tier"] == "silver"
    _, trace = call("GET", f"/records/party/{new['id']}/rule-trace")
    assert [(t["rule"], t["outcome"]) for t in trace["items"]] == [("silver", "done")]


def test_the_lifecycle_workflow_warns_of_decline_and_wins_back(shop):
    call, work, find = shop["call"], shop["work"], shop["find"]
    liu = one(find("party", name="刘洋"))
    assert liu["lifecycle_stage"] == "decline" and liu["churn_risk"] is True
    _, history = call("GET", f"/records/party/{liu['id']}/workflow-history")
    assert [h["to"] for h in history["items"]] == ["acquisition", "consolidation", "maturity", "decline"]

    _, available = call("GET", f"/records/party/{liu['id']}/transitions")
    assert available["workflow"] == "customer_lifecycle" and available["state"] == "decline"
    assert {(t["name"], t["to"], t["comment"]) for t in available["items"]} == {
        ("win_back", "consolidation", "optional"), ("depart", "departure", "required")}

    # The decline warning reached the party's owner, in the owner's language, with the name as
    # the owner reads it (a member reads personal data masked, in messages as on the record page).
    _, inbox = call("GET", "/notifications", who="li.wei@loom-demo.example")
    assert "衰退预警：刘*" in [n["title"] for n in inbox["items"]]

    assert call("POST", f"/records/party/{liu['id']}/transitions/mature")[0] == 409  # not from decline
    status, body = call("POST", f"/records/party/{liu['id']}/transitions/win_back",
                        body={"comment": "免费检修后客户满意"})
    assert status == 200 and body["record"]["lifecycle_stage"] == "consolidation"
    work()
    assert call("GET", f"/records/party/{liu['id']}")[1]["churn_risk"] is False

    status, body = call("POST", f"/records/party/{liu['id']}/transitions/warn_decline")
    assert status == 200
    work()
    assert call("GET", f"/records/party/{liu['id']}")[1]["churn_risk"] is True
    assert call("POST", f"/records/party/{liu['id']}/transitions/depart")[0] == 400  # a comment is required
    status, body = call("POST", f"/records/party/{liu['id']}/transitions/depart", body={"comment": "搬往外地"})
    assert status == 200 and body["record"]["lifecycle_stage"] == "departure"
    status, body = call("PATCH", f"/records/party/{liu['id']}", body={"lifecycle_stage": "maturity"})
    assert status == 409 and body["error"]["code"] == "state_by_transition"


def test_service_requests_get_ticket_numbers_acknowledgements_and_plans(shop):
    call, work, find, smtp = shop["call"], shop["work"], shop["find"], shop["smtp"]
    requests = find("service_request", sort="id")
    assert [r["ticket_no"] for r in requests] == ["SR-000001", "SR-000002"]
    assert all(r["assignee_id"] for r in requests)
    complaint = requests[0]
    tasks = find("service_task", request=complaint["id"], sort="id")
    assert [t["title"] for t in tasks][0] == "Call the customer back" and len(tasks) == 3
    acks = {m["To"]: m["Subject"] for m in smtp.messages if "SR-" in m["Subject"]}
    assert "我们已收到您的服务请求 SR-000001" in acks["liu.yang@example.cn"]
    assert acks["sarah.miller@example.com"] == "We received your request SR-000002"

    status, new = call("POST", "/records/service_request", body={
        "subject": "冰箱不制冷", "channel": "fax", "request_type": "repair", "requester_phone": "+86 21 6000 0000"})
    assert status == 201 and new["ticket_no"] is None
    work()
    assert call("GET", f"/records/service_request/{new['id']}")[1]["ticket_no"] == "SR-000003"

    # Resolving a request with an e-mail sends a satisfaction survey, recorded as a survey;
    # the invitation is for analytics, which the customer consents to.
    rid = complaint["id"]
    assert call("POST", "/records/consent", body={"party": complaint["party"], "purpose": "analytics",
                                                  "granted": True, "channel": "phone"})[0] == 201
    assert call("POST", f"/records/service_request/{rid}/transitions/start")[0] == 200
    call("PATCH", f"/records/service_request/{rid}", body={"resolution": "更换了压缩机电容"})
    assert call("POST", f"/records/service_request/{rid}/transitions/resolve")[0] == 200
    work()
    survey = one(find("survey", service_request=rid))
    assert survey["status"] == "sent" and survey["sent_at"] and survey["recipient_email"] == "liu.yang@example.cn"
    invitation = smtp.messages[-1]
    assert invitation["To"] == "liu.yang@example.cn" and "请评价我们的服务" in invitation["Subject"]


def test_sales_rules_pricing_and_roi(shop):
    find = shop["find"]
    tom = one(find("party", name="Tom Becker"))
    assert "customer" in tom["roles"] and "prospect" not in tom["roles"]
    assert tom["lifecycle_stage"] == "acquisition"  # won deal moved him out of awareness
    zhang = one(find("party", name="张伟"))
    assert zhang["lifecycle_stage"] == "consolidation"  # already further on: left alone
    won = one([o for o in find("opportunity", stage="won") if o["name"].startswith("张伟")])
    assert won["probability"] == 100 and won["closed_on"]
    negotiation = one(find("opportunity", stage="negotiation"))
    assert negotiation["probability"] == 75

    greenleaf_lead = one(find("lead", status="converted"))
    assert greenleaf_lead["converted_at"] and greenleaf_lead["assignee_id"]
    converted = one(find("opportunity", lead=greenleaf_lead["id"]))
    assert converted["amount"] == {"amount": "90000.00", "currency": "CNY"}

    quote = one(find("quote"))
    assert quote["number"] == "QT-000001" and quote["status"] == "sent"
    lines = find("quote_line", quote=quote["id"], sort="id")
    assert [ln["line_total"]["amount"] for ln in lines] == ["239400.00", "11940.00"]
    assert quote["total"] == {"amount": "251340.00", "currency": "CNY"}

    campaign = one(find("campaign"))
    assert campaign["status"] == "active" and campaign["roi"] == "362.50"
    li_na = one(find("party", name="李娜"))
    captured = one(find("lead", party=li_na["id"]))
    assert captured["campaign"] == campaign["id"] and captured["source"] == "campaign"

    call, work = shop["call"], shop["work"]
    status, line = call("PATCH", f"/records/quote_line/{lines[1]['id']}", body={"discount": "10"})
    assert status == 200
    work()
    assert call("GET", f"/records/quote/{quote['id']}")[1]["total"]["amount"] == "250146.00"


def test_surveys_consents_and_sharing(shop):
    call, work, find = shop["call"], shop["work"], shop["find"]
    by_title = {(s["title"], s["recipient_email"]): s for s in find("survey")}
    assert all(s["status"] == "answered" for s in by_title.values())
    groups = {r["comment"][:6]: (r["csat"], r["nps"], r["nps_category"]) for r in find("survey_response")}
    assert sorted(g for _, _, g in groups.values()) == ["detractor", "passive", "promoter"]

    liu = one(find("party", name="刘洋"))
    withdrawn = one(find("consent", party=liu["id"], purpose="marketing"))
    assert withdrawn["granted"] is False and withdrawn["withdrawn_at"]
    status, body = call("PATCH", f"/records/consent/{withdrawn['id']}", body={"granted": True})
    assert status == 400 and body["error"]["code"] == "rule_refused"
    zhang = one(find("party", name="张伟"))
    marketing = one(find("consent", party=zhang["id"], purpose="marketing"))
    assert call("PATCH", f"/records/consent/{marketing['id']}", body={"granted": False})[0] == 200
    work()
    assert call("GET", f"/records/consent/{marketing['id']}")[1]["withdrawn_at"]

    # Opportunities: every rep reads the pipeline; the owner and their manager edit it.
    huaxin_deal = one(find("opportunity", stage="negotiation"))
    emma, li, manager = "emma.zhou@loom-demo.example", "li.wei@loom-demo.example", "chen.jing@loom-demo.example"
    assert call("GET", f"/records/opportunity/{huaxin_deal['id']}", who=emma)[0] == 200
    status, body = call("PATCH", f"/records/opportunity/{huaxin_deal['id']}", body={"next_step": "x"}, who=emma)
    assert status == 403 and body["error"]["code"] == "read_only"
    assert call("PATCH", f"/records/opportunity/{huaxin_deal['id']}", body={"next_step": "签约"}, who=li)[0] == 200
    assert call("PATCH", f"/records/opportunity/{huaxin_deal['id']}", body={"next_step": "经理跟进"},
                who=manager)[0] == 200
