"""The insurance_agents pack end to end, on SQLite and PostgreSQL, as an operator and its
users meet it: `loom tenant create ins --pack insurance_agents --demo`, `loom token create`
for the demo users, then the Flask API. An agent's token sees only that agent's book of
business (policies, their claims and commissions); the agency manager's sees the agency's
agents' books and not another agency's; a claim runs reported → assessed → approved (two
sign-offs) → paid; the renewal rules open a renewal 60 days before expiry and remind the
agent (in-app and e-mail, in the agent's language) at 60/30/7 days; the record hook fills
and checks what a book of business needs.

One tenant per backend serves the module (loading crm_core and the demo takes seconds);
tests add their own records and count only what they own or what nothing else changes."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from engine.app import create_app
from engine.cli import cli
from engine.install import Install
from engine.packs.catalog import catalog
from engine.plugins import Plugins
from metadata import load_package
from metadata.layering import compose
from plugins.insurance_agents.plugin import PACK
from tests.conftest import drop_prefixed_schemas, make_settings, require_postgres
from tests.mail import running_smtp
from workflows.calendar import load_calendar
from workflows.runtime import runtime_of
from workflows.schedules import run_schedules

API = "/api/v1/t/ins"
LI, ZHAO = "li.wei@east-agency.example", "zhao.min@east-agency.example"
MANAGER = "wang.fang@east-agency.example"
CLAIMS_A, CLAIMS_B = "zhang.hua@insurer.example", "liu.yang@insurer.example"
# The demo's policy numbers by agent (see demo.json).
LI_POLICIES = {"P-SH-2025-00001", "P-SH-2025-00002", "P-SH-2025-00003"}
ZHAO_POLICIES = {"P-SH-2025-00004", "P-SH-2025-00005"}
EAST_POLICIES = LI_POLICIES | ZHAO_POLICIES | {"P-SH-2025-00006"}
WEST_POLICIES = {"P-CD-2025-00007", "P-CD-2025-00008", "P-CD-2025-00009"}


@pytest.fixture(scope="module")
def smtp():
    with running_smtp() as collector:
        yield collector


# -- the tenant, made as an operator makes it -----------------------------------------------

def loom(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ins(request, tmp_path_factory, smtp):
    if request.param == "postgresql":
        require_postgres()
    settings = make_settings(request.param, tmp_path_factory.mktemp(f"ins_{request.param}"))
    settings.extra.update({"LOOM_SMTP_HOST": "127.0.0.1", "LOOM_SMTP_PORT": str(smtp.port),
                           "LOOM_SMTP_FROM": "loom@insurer.example"})
    install = Install(settings, Plugins())
    try:
        result = loom(install, "tenant", "create", "ins", "--pack", "insurance_agents", "--demo")
        assert result.exit_code == 0, result.output
        tokens = {}
        for who in (LI, ZHAO, MANAGER, CLAIMS_A, CLAIMS_B):
            made = loom(install, "token", "create", "ins", who)
            assert made.exit_code == 0, made.output
            tokens[who] = {"Authorization": f"Bearer {made.output.strip().splitlines()[-1]}"}
        runtime_of(install).jobs.drain("ins")   # the demo's rules (claim numbers, stamps)
        session = install.session("ins")
        policies = {p["number"]: p for p in session.records.list("policy", [("limit", "200")])["items"]}
        yield SimpleNamespace(install=install, session=session, tokens=tokens, policies=policies,
                              client=create_app(install, {"TESTING": True}).test_client())
    finally:
        install.dispose()
        if settings.database_url:
            drop_prefixed_schemas(settings.schema_prefix)


def drain(ins):
    return runtime_of(ins.install).jobs.drain("ins")


def items(response):
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def error_code(response):
    return response.status_code, (response.get_json() or {}).get("error", {}).get("code")


def agent_id(ins, code):
    [agent] = ins.session.records.list("agent", [("code", code)])["items"]
    return agent["id"]


# -- the bundle ---------------------------------------------------------------------------

def all_labels(document):
    """(where, label) of every label a user sees."""
    for entity in document["entities"]:
        yield f"entity {entity['name']}", entity.get("label")
        for field in entity["fields"]:
            yield f"{entity['name']}.{field['name']}", field.get("label")
            for option in field.get("options", ()):
                yield f"{entity['name']}.{field['name']}={option}", option.get("label") if isinstance(option, dict) else None
    for workflow in document["workflows"]:
        yield f"workflow {workflow['name']}", workflow.get("label")
        for item in workflow["states"] + workflow["transitions"]:
            yield f"{workflow['name']}.{item['name']}", item.get("label")
    for layout in document["layouts"]:
        yield f"layout {layout['name']}", layout.get("label")
        for section in layout.get("sections", ()):
            yield f"{layout['name']}.{section['name']}", section.get("label")
    for template in document["templates"]:
        yield f"template {template['name']} subject", template["subject"]
        yield f"template {template['name']} body", template["body"]


def test_the_bundle_composes_over_crm_core_and_validates():
    packs = catalog(Plugins())
    assert PACK.name == "insurance_agents" and PACK.version == "1.0.0" and PACK.depends == ("crm_core",)
    assert packs["insurance_agents"] is PACK
    document, origins = compose([("crm_core", packs["crm_core"].bundle), ("insurance_agents", PACK.bundle)])
    package = load_package(document)
    ours = {e["name"] for e in PACK.document()["entities"]}
    assert ours == {"agency", "agent", "policy", "renewal", "claim", "commission"}
    assert all(origins[f"/entities/{name}"] == "insurance_agents" for name in ours)
    assert package.entity("policy").field("policyholder").to == "party"
    for where, label in all_labels(PACK.document()):
        assert isinstance(label, dict) and label.get("en") and label.get("zh-CN"), where
    kinds = {(layout["entity"], layout["kind"]) for layout in PACK.document()["layouts"]}
    assert kinds == {(name, kind) for name in ours for kind in ("form", "list")}
    sharing = {e.name: e.sharing for e in package.entities if e.name in ours}
    assert {"field": "agent", "user": "agent", "access": "edit"} in sharing["policy"]["rules"]
    assert {"field": "agency", "user": "agency", "access": "edit"} in sharing["policy"]["rules"]
    assert sharing["claim"]["rules"] == [{"parent": "policy", "access": "edit"}]
    assert {"parent": "policy", "access": "read"} in sharing["commission"]["rules"]
    assert all(sharing[name]["managers"] for name in ("policy", "claim", "commission", "renewal"))


# -- the demo -------------------------------------------------------------------------------

def test_the_demo_is_a_working_book_of_business(ins):
    session = ins.session
    agencies = session.records.list("agency")["items"]
    agents = {a["code"]: a for a in session.records.list("agent")["items"]}
    assert len(agencies) == 2 and len(agents) == 5
    by_id = {a["id"]: a for a in agents.values()}
    assert by_id[agents["E002"]["parent_agent"]]["code"] == "E001"   # the hierarchy
    assert by_id[agents["W002"]["parent_agent"]]["code"] == "W001"
    for policy in ins.policies.values():                          # agency filled from the agent
        assert policy["agency"] == by_id[policy["agent"]]["agency"]
    assert EAST_POLICIES | WEST_POLICIES <= set(ins.policies)
    states = {c["status"] for c in session.records.list("claim")["items"]}
    assert {"reported", "assessed", "approved", "rejected", "paid"} <= states
    commissions = session.records.list("commission", [("limit", "200")])["items"]
    li_auto = ins.policies["P-SH-2025-00001"]
    [first_year] = [c for c in commissions if c["policy"] == li_auto["id"] and c["kind"] == "first_year"]
    assert first_year["amount"] == {"amount": "1200.00", "currency": "CNY"}   # 4800 × 25 %
    [override] = [c for c in commissions if c["kind"] == "override"]
    assert override["agent"] == agents["E001"]["id"] and override["agency"] == agents["E001"]["agency"]
    # Expiries that hit the reminder windows the day the demo is loaded.
    expiries = sorted(date.fromisoformat(p["expiry"]) for p in ins.policies.values() if p["status"] == "active")
    today = date.fromisoformat(li_auto["expiry"]) - timedelta(days=60)
    assert {today + timedelta(days=d) for d in (60, 30, 7)} <= set(expiries)


# -- record sharing -----------------------------------------------------------------------

def test_an_agent_sees_only_their_own_book(ins):
    client, li = ins.client, ins.tokens[LI]
    numbers = {p["number"] for p in items(client.get(f"{API}/records/policy?limit=200", headers=li))}
    assert LI_POLICIES <= numbers and not numbers & (ZHAO_POLICIES | WEST_POLICIES | {"P-SH-2025-00006"})
    li_ids = {p["id"] for p in items(client.get(f"{API}/records/policy?limit=200", headers=li))}
    claims = items(client.get(f"{API}/records/claim?limit=200", headers=li))
    assert claims and {c["policy"] for c in claims} <= li_ids
    all_claims = ins.session.records.list("claim", [("limit", "200")])["items"]
    assert {c["id"] for c in claims} == {c["id"] for c in all_claims if c["policy"] in li_ids}
    commissions = items(client.get(f"{API}/records/commission?limit=200", headers=li))
    li_agent = agent_id(ins, "E001")
    assert commissions and all(c["agent"] == li_agent or c["policy"] in li_ids for c in commissions)
    assert any(c["kind"] == "override" for c in commissions)          # the override on Zhao's policy
    assert not any(c["agent"] != li_agent and c["policy"] not in li_ids for c in commissions)
    # search and export follow the same rule
    found = items(client.get(f"{API}/records/policy?q=P-SH-2025", headers=li))
    assert {p["number"] for p in found} == LI_POLICIES
    exported = client.get(f"{API}/records/policy/export?format=jsonl", headers=li)
    assert exported.status_code == 200
    lines = [json.loads(line) for line in exported.get_data(as_text=True).splitlines() if line.strip()]
    assert {r["number"] for r in lines} == numbers


def test_another_agents_policy_is_not_found_and_cannot_be_changed(ins):
    client, li = ins.client, ins.tokens[LI]
    zhao_policy = ins.policies["P-SH-2025-00004"]
    west_policy = ins.policies["P-CD-2025-00007"]
    for other in (zhao_policy, west_policy):
        url = f"{API}/records/policy/{other['id']}"
        assert error_code(client.get(url, headers=li)) == (404, "record_not_found")
        assert error_code(client.patch(url, json={"notes": "mine now"}, headers=li)) == (404, "record_not_found")
        assert error_code(client.post(f"{url}/transitions/cancel", json={"comment": "x"},
                                      headers=li)) == (404, "record_not_found")
        assert error_code(client.get(f"{url}/history", headers=li)) == (404, "record_not_found")
    assert ins.session.records.get("policy", zhao_policy["id"])["notes"] is None
    # their own policy they may change
    own = ins.policies["P-SH-2025-00002"]
    response = client.patch(f"{API}/records/policy/{own['id']}", json={"notes": "Annual review booked."}, headers=li)
    assert response.status_code == 200, response.get_json()


def test_the_agency_manager_sees_the_agencys_agents_and_no_other_agency(ins):
    client, manager = ins.client, ins.tokens[MANAGER]
    numbers = {p["number"] for p in items(client.get(f"{API}/records/policy?limit=200", headers=manager))}
    assert EAST_POLICIES <= numbers and not numbers & WEST_POLICIES
    west = ins.policies["P-CD-2025-00007"]
    assert error_code(client.get(f"{API}/records/policy/{west['id']}", headers=manager)) == (404, "record_not_found")
    east_claims = items(client.get(f"{API}/records/claim?limit=200", headers=manager))
    east_agency = ins.policies["P-SH-2025-00001"]["agency"]
    assert len(east_claims) >= 4 and all(c["agency"] == east_agency for c in east_claims)
    # the manager may look after a policy of one of the agency's agents, but not hand it
    # to another agency's agent
    zhao_policy = ins.policies["P-SH-2025-00005"]
    url = f"{API}/records/policy/{zhao_policy['id']}"
    response = client.patch(url, json={"notes": "Checked by the manager."}, headers=manager)
    assert response.status_code == 200, response.get_json()
    assert error_code(client.patch(url, json={"agent": agent_id(ins, "W001")}, headers=manager)) == (403, "not_shared")
    assert ins.session.records.get("policy", zhao_policy["id"])["agent"] == zhao_policy["agent"]
    response = client.patch(url, json={"agent": agent_id(ins, "E003")}, headers=manager)    # within the agency
    assert response.status_code == 200 and response.get_json()["agency"] == zhao_policy["agency"]
    assert client.patch(url, json={"agent": zhao_policy["agent"]}, headers=manager).status_code == 200


def test_an_agent_writes_policies_only_into_their_own_book(ins):
    client, zhao = ins.client, ins.tokens[ZHAO]
    # the agent registers the policyholder: a party outside their book they cannot name
    holder = client.post(f"{API}/records/party", json={"kind": "person", "name": "Gao Ming", "roles": ["customer"]},
                         headers=zhao).get_json()
    body = {"number": "P-SH-TEST-ZHAO-1", "product_line": "travel", "policyholder": holder["id"],
            "premium": {"amount": "420.00", "currency": "CNY"}, "effective": "2030-01-01", "expiry": "2030-02-01"}
    stranger = ins.session.records.create("party", {"kind": "person", "name": "Gao Li"})
    assert client.post(f"{API}/records/policy", json={**body, "policyholder": stranger["id"]},
                       headers=zhao).status_code == 400
    response = client.post(f"{API}/records/policy", json=body, headers=zhao)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["agent"] == agent_id(ins, "E002")                     # filled by sharing
    assert created["agency"] == ins.policies["P-SH-2025-00004"]["agency"]  # filled from the agent
    assert ins.session.records.get("policy", created["id"])["agency"] == created["agency"]
    history = ins.session.records.history("policy", created["id"])
    assert history[0]["changes"]["agency"] == [None, created["agency"]]
    # the manager sees it at once; another agent does not
    assert client.get(f"{API}/records/policy/{created['id']}", headers=ins.tokens[MANAGER]).status_code == 200
    assert client.get(f"{API}/records/policy/{created['id']}", headers=ins.tokens[LI]).status_code == 404
    # a policy for someone else's book is refused
    other = {**body, "number": "P-SH-TEST-ZHAO-2", "agent": agent_id(ins, "E001")}
    assert error_code(client.post(f"{API}/records/policy", json=other, headers=zhao)) == (403, "not_shared")


# -- claims ---------------------------------------------------------------------------------

def test_the_claim_workflow_reported_assessed_approved_paid(ins):
    client, li = ins.client, ins.tokens[LI]
    admin_a, admin_b = ins.tokens[CLAIMS_A], ins.tokens[CLAIMS_B]
    policy = ins.policies["P-SH-2025-00001"]
    effective = date.fromisoformat(policy["effective"])
    body = {"policy": policy["id"], "incident_date": (effective + timedelta(days=100)).isoformat(),
            "description": "Windscreen cracked by a stone on the G60.",
            "amount_claimed": {"amount": "2400.00", "currency": "CNY"}}
    outside = {**body, "incident_date": (effective - timedelta(days=1)).isoformat()}
    assert error_code(client.post(f"{API}/records/claim", json=outside, headers=li))[0] == 400
    response = client.post(f"{API}/records/claim", json=body, headers=li)
    assert response.status_code == 201, response.get_json()
    claim = response.get_json()
    assert claim["status"] == "reported" and claim["agent"] == policy["agent"] and claim["agency"] == policy["agency"]
    drain(ins)
    url = f"{API}/records/claim/{claim['id']}"
    claim = client.get(url, headers=li).get_json()
    assert claim["claim_no"].startswith("CL-")
    # another agent never sees it; the agent may not assess their own client's claim
    assert client.get(url, headers=ins.tokens[ZHAO]).status_code == 404
    assert client.post(f"{url}/transitions/assess", json={}, headers=li).status_code == 403
    # the agent does not decide the claim; more than claimed is refused
    assert error_code(client.patch(url, json={"amount_approved": {"amount": "2400.00", "currency": "CNY"}},
                                   headers=li)) == (403, "claims_staff_only")
    assert client.patch(url, json={"description": body["description"] + " Photos sent."}, headers=li).status_code == 200
    too_much = client.patch(url, json={"amount_approved": {"amount": "2500.00", "currency": "CNY"}}, headers=admin_a)
    assert too_much.status_code == 400, too_much.get_json()
    assert client.post(f"{url}/transitions/assess", json={}, headers=admin_a).status_code == 409   # requires
    response = client.patch(url, json={"assessment": "Photos and glass invoice checked.",
                                       "amount_approved": {"amount": "2200.00", "currency": "CNY"}}, headers=admin_a)
    assert response.status_code == 200, response.get_json()
    assert client.post(f"{url}/transitions/assess", json={}, headers=admin_a).status_code == 200
    first = client.post(f"{url}/transitions/approve", json={}, headers=admin_a)       # two sign-offs
    assert first.status_code == 202, first.get_json()
    second = client.post(f"{url}/transitions/approve", json={}, headers=admin_b)
    assert second.status_code == 200, second.get_json()
    paid = client.post(f"{url}/transitions/pay", json={}, headers=admin_b)
    assert paid.status_code == 200, paid.get_json()
    drain(ins)
    claim = client.get(url, headers=li).get_json()
    assert claim["status"] == "paid" and claim["paid_on"] is not None
    history = client.get(f"{url}/workflow-history", headers=li).get_json()
    steps = [(h["from"], h["to"]) for h in history["items"]]
    assert steps[-3:] == [("reported", "assessed"), ("assessed", "approved"), ("approved", "paid")]
    # the agent heard about the decisions, in their language (Li Wei's is zh-CN)
    notes = items(client.get(f"{API}/notifications?limit=100", headers=li))
    mine = [n for n in notes if n.get("record_id") == claim["id"]]
    assert len(mine) == 2 and all(claim["claim_no"] in n["title"] for n in mine)
    assert any("已赔付" in n["title"] for n in mine)


# -- renewals -------------------------------------------------------------------------------

def fire_schedules(ins, day: date) -> dict:
    """The minute tick's schedule sweep, as it runs at noon (tenant time) on `day`."""
    session = ins.install.session("ins")
    now = datetime.combine(day, time(12, 0), tzinfo=load_calendar(session).tz)
    runtime = runtime_of(ins.install)
    counts = run_schedules(session, now, runtime._fire_scheduled)
    drain(ins)
    return counts


def test_renewal_reminders_and_the_renewal_record(ins, smtp):
    li_auto = ins.policies["P-SH-2025-00001"]                 # expires in 60 days
    li_property = ins.policies["P-SH-2025-00003"]             # in 7 days
    zhao_health = ins.policies["P-SH-2025-00004"]             # in 30 days
    west = ins.policies["P-CD-2025-00007"]                    # in 60 days, another agency
    day = date.fromisoformat(li_auto["expiry"]) - timedelta(days=60)
    assert date.fromisoformat(li_property["expiry"]) - timedelta(days=7) == day
    sent_before = len(smtp.envelopes)
    counts = fire_schedules(ins, day)
    assert counts["failed"] == 0, counts
    renewals = ins.session.records.list("renewal", [("limit", "200")])["items"]
    opened = {r["policy"]: r for r in renewals if r["status"] == "open"}
    assert set(opened) >= {li_auto["id"], west["id"]} and li_property["id"] not in opened
    renewal = opened[li_auto["id"]]
    assert (renewal["agent"], renewal["agency"], renewal["policyholder"], renewal["expiry"]) == (
        li_auto["agent"], li_auto["agency"], li_auto["policyholder"], li_auto["expiry"])
    assert renewal["expected_premium"] == li_auto["premium"]
    # reminders in-app, in each agent's language
    li_notes = items(ins.client.get(f"{API}/notifications?limit=100", headers=ins.tokens[LI]))
    li_reminders = {n["record_id"]: n for n in li_notes if n["entity"] == "policy"}
    assert {li_auto["id"], li_property["id"]} <= set(li_reminders)
    assert li_reminders[li_auto["id"]]["title"].startswith("续保提醒") and li_auto["number"] in li_reminders[li_auto["id"]]["title"]
    assert "60" in li_reminders[li_auto["id"]]["body"] and "Huang Xiaoming" in li_reminders[li_auto["id"]]["body"]
    zhao_notes = items(ins.client.get(f"{API}/notifications?limit=100", headers=ins.tokens[ZHAO]))
    assert any(n["record_id"] == zhao_health["id"] and n["title"].startswith("Renewal due") for n in zhao_notes)
    assert not any(n["record_id"] == li_auto["id"] for n in zhao_notes if n["entity"] == "policy")
    # the 7-day reminder also goes to the agent's manager
    manager_notes = items(ins.client.get(f"{API}/notifications?limit=100", headers=ins.tokens[MANAGER]))
    assert any(n["record_id"] == li_property["id"] for n in manager_notes if n["entity"] == "policy")
    # and by e-mail; an agent without a login (Chen Jie) is reached by e-mail only
    new_mail = smtp.messages[sent_before:]
    assert any(LI in m["To"] and li_auto["number"] in m["Subject"] for m in new_mail)
    assert any("chen.jie@west-agency.example" in m["To"] and west["number"] in m["Subject"] for m in new_mail)
    # the agent follows the renewal up in their own book; the other agency's stays hidden
    li = ins.tokens[LI]
    visible = {r["policy"] for r in items(ins.client.get(f"{API}/records/renewal?limit=200", headers=li))}
    assert li_auto["id"] in visible and west["id"] not in visible and zhao_health["id"] not in visible
    url = f"{API}/records/renewal/{renewal['id']}"
    assert ins.client.post(f"{url}/transitions/contact", json={"comment": "Called."}, headers=li).status_code == 200
    # once a day: a second sweep changes nothing
    again = fire_schedules(ins, day)
    assert again["fired"] == 0
    assert len([r for r in ins.session.records.list("renewal", [("limit", "200")])["items"]
                if r["policy"] == li_auto["id"]]) == 1


def test_an_active_policy_past_its_expiry_expires(ins):
    session = ins.session
    holder = session.records.create("party", {"kind": "person", "name": "Qian Yu", "roles": ["customer"]})
    policy = session.records.create("policy", {
        "number": "P-SH-TEST-EXPIRE", "product_line": "travel", "policyholder": holder["id"],
        "agent": agent_id(ins, "E003"), "premium": {"amount": "300.00", "currency": "CNY"},
        "effective": "2031-01-01", "expiry": "2031-01-20"})
    response = ins.client.post(f"{API}/records/policy/{policy['id']}/transitions/issue", json={},
                               headers=ins.tokens[MANAGER])
    assert response.status_code == 200, response.get_json()
    drain(ins)
    assert session.records.get("policy", policy["id"])["issued_on"] is not None
    fire_schedules(ins, date(2031, 1, 21))
    assert session.records.get("policy", policy["id"])["status"] == "expired"


# -- the record hook --------------------------------------------------------------------------

def test_the_book_of_business_stays_consistent(ins):
    session = ins.session
    holder = session.records.create("party", {"kind": "organisation", "name": "Hangzhou Lake Tea Co."})
    east, west = ins.policies["P-SH-2025-00001"]["agency"], ins.policies["P-CD-2025-00007"]["agency"]
    body = {"number": "P-SH-TEST-HOOK", "product_line": "property", "policyholder": holder["id"],
            "agent": agent_id(ins, "E002"), "premium": {"amount": "9000.00", "currency": "CNY"},
            "effective": "2032-01-01", "expiry": "2033-01-01"}
    with pytest.raises(Exception) as refused:
        session.records.create("policy", {**body, "agency": west})
    assert getattr(refused.value, "status", None) == 400 and "agency" in str(refused.value.details)
    with pytest.raises(Exception) as refused:
        session.records.create("policy", {**body, "expiry": "2031-12-31"})
    assert getattr(refused.value, "status", None) == 400
    policy = session.records.create("policy", body)
    assert policy["agency"] == east
    moved = session.records.update("policy", policy["id"], {"agent": agent_id(ins, "W001")})
    assert moved["agency"] == west and session.records.get("policy", policy["id"])["agency"] == west
    # a commission: amount = premium × rate; the agent defaults to the policy's
    commission = session.records.create("commission", {"policy": policy["id"], "rate": "12.5", "period": "2032-01"})
    assert commission["agent"] == agent_id(ins, "W001") and commission["agency"] == west
    assert commission["amount"] == {"amount": "1125.00", "currency": "CNY"}
    # the hierarchy cannot loop
    li, zhao = agent_id(ins, "E001"), agent_id(ins, "E002")
    with pytest.raises(Exception) as refused:
        session.records.update("agent", li, {"parent_agent": zhao})
    assert getattr(refused.value, "status", None) == 400 and "parent_agent" in str(refused.value.details)
    with pytest.raises(Exception):
        session.records.update("agent", li, {"parent_agent": li})
    assert session.records.get("agent", li)["parent_agent"] is None


# -- references follow sharing ------------------------------------------------------------------

def counts(ins, *entities):
    return {e: len(ins.session.records.list(e, [("limit", "200")])["items"]) for e in entities}


def test_a_reference_to_a_record_the_agent_cannot_read_is_refused_as_if_it_did_not_exist(ins):
    client, li = ins.client, ins.tokens[LI]
    foreign = ins.policies["P-SH-2025-00004"]                      # Zhao's
    assert error_code(client.get(f"{API}/records/policy/{foreign['id']}", headers=li)) == (404, "record_not_found")
    before = counts(ins, "claim", "commission")
    effective = date.fromisoformat(foreign["effective"])
    claim = {"incident_date": (effective + timedelta(days=1)).isoformat(), "description": "Probe.",
             "amount_claimed": {"amount": "10.00", "currency": "CNY"}}
    outside = {**claim, "incident_date": (effective - timedelta(days=400)).isoformat()}
    commission = {"agent": agent_id(ins, "E001"), "rate": "100", "period": "2026-03"}
    for entity, body in (("claim", claim), ("claim", outside), ("commission", commission)):
        refused = client.post(f"{API}/records/{entity}", json={**body, "policy": foreign["id"]}, headers=li)
        missing = client.post(f"{API}/records/{entity}", json={**body, "policy": 999999}, headers=li)
        assert refused.status_code == missing.status_code == 400, refused.get_json()
        text = json.dumps(refused.get_json())
        assert text == json.dumps(missing.get_json()).replace("999999", str(foreign["id"]))
        assert f"no policy record with id {foreign['id']}" in text
        assert foreign["effective"] not in text and foreign["premium"]["amount"] not in text
        batch = client.post(f"{API}/records/{entity}/batch",
                            json={"records": [{**body, "policy": ins.policies["P-SH-2025-00001"]["id"]},
                                              {**body, "policy": foreign["id"]}]}, headers=li)
        assert batch.status_code == 400, batch.get_json()
        assert batch.get_json()["error"]["details"] == [
            {"field": "/1/policy", "code": "unknown_reference", "message": f"no policy record with id {foreign['id']}",
         "entity": "policy", "id": foreign['id']}]
    # pointing an own claim at another agent's policy is refused the same way
    own = next(c for c in ins.session.records.list("claim", [("limit", "200")])["items"]
               if c["policy"] == ins.policies["P-SH-2025-00001"]["id"])
    url = f"{API}/records/claim/{own['id']}"
    moved = client.patch(url, json={"policy": foreign["id"]}, headers=li)
    gone = client.patch(url, json={"policy": 999999}, headers=li)
    assert moved.status_code == gone.status_code == 400, moved.get_json()
    assert moved.get_json()["error"]["details"] == [
        {"field": "policy", "code": "unknown_reference", "message": f"no policy record with id {foreign['id']}",
         "entity": "policy", "id": foreign['id']}]
    assert ins.session.records.get("claim", own["id"])["policy"] == own["policy"]
    assert counts(ins, "claim", "commission") == before
    # the system (rules, jobs, the CLI) still sees everything
    system = ins.session.records.create("commission", {**commission, "policy": foreign["id"]})
    assert system["amount"]["amount"] == foreign["premium"]["amount"]
    ins.session.records.delete("commission", system["id"])


def test_an_agent_sees_the_parties_of_their_own_book(ins):
    client, li, manager = ins.client, ins.tokens[LI], ins.tokens[MANAGER]
    everyone = {p["id"]: p for p in ins.session.records.list("party", [("limit", "200")])["items"]}
    made = client.post(f"{API}/records/party", json={"kind": "person", "name": "Tang Yi"}, headers=li)
    assert made.status_code == 201, made.get_json()
    made = made.get_json()["id"]

    def book(token):
        policies = items(client.get(f"{API}/records/policy?limit=200", headers=token))
        return {p[f] for p in policies for f in ("policyholder", "insured")} - {None}

    theirs, east = book(li) | {made}, book(manager)
    west = {ins.policies[n]["policyholder"] for n in WEST_POLICIES} - east
    others = set(everyone) - theirs
    assert len(theirs) > 1 and west and others
    listed = {p["id"] for p in items(client.get(f"{API}/records/party?limit=200", headers=li))}
    assert listed == theirs
    for party_id in sorted(others)[:4]:
        assert error_code(client.get(f"{API}/records/party/{party_id}", headers=li)) == (404, "record_not_found")
        found = items(client.get(f"{API}/records/party", query_string={"q": everyone[party_id]["name"]}, headers=li))
        assert party_id not in {p["id"] for p in found}
    exported = client.get(f"{API}/records/party/export?format=jsonl", headers=li)
    lines = [json.loads(line) for line in exported.get_data(as_text=True).splitlines() if line.strip()]
    assert {r["id"] for r in lines} == theirs
    # the manager sees the agency's book and what their agents created, not the other agency's
    seen = {p["id"] for p in items(client.get(f"{API}/records/party?limit=200", headers=manager))}
    assert east | {made} <= seen and not seen & west
    assert client.get(f"{API}/records/party/{made}", headers=ins.tokens[ZHAO]).status_code == 404
