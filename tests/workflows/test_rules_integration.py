"""Business rules end to end, as specifications, on SQLite and PostgreSQL: a rule set added
by applying metadata (in process and with `loom metadata apply` in another process) acts
on the next write without a restart, through the outbox and `Jobs.drain`; every firing is
in the rule trace, and `?explain=` says why a rule did not fire; validation rules refuse
a save with their message; a re-applied rule set acts at once; tenants never see each
other's rules; correlated rules count in the database; bad documents change nothing."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.auth import create_token, create_user
from engine.errors import ValidationFailed
from engine.install import Install
from engine.systables import loom_table
from tests.conftest import crm_document, token_for
from workflows.runtime import runtime_of

ROOT = Path(__file__).resolve().parents[2]


def gold_rules(threshold=10000, tier="gold", name="loyalty") -> dict:
    return {"name": name, "kind": "automation", "entity": "contact", "rules": [
        {"name": "gold_tier", "description": f"lifetime value above {threshold} makes a {tier} customer",
         "when": {"event": "record.updated", "changed": ["lifetime_value"],
                  "condition": {"all": [{"field": "lifetime_value", "op": "gt", "value": threshold},
                                        {"field": "tier", "op": "ne", "value": tier}]}},
         "actions": [{"action": "set_field", "params": {"field": "tier", "value": tier}}]}]}


EMAIL_FOR_GOLD = {"name": "checks", "kind": "validation", "entity": "contact", "rules": [
    {"name": "gold_needs_email",
     "when": {"event": "record.updated",
              "condition": {"all": [{"field": "tier", "op": "eq", "value": "gold"},
                                    {"field": "email", "op": "not_exists"}]}},
     "message": {"en": "A gold customer needs an e-mail address", "de": "Goldkunden brauchen eine E-Mail-Adresse"}},
    {"name": "no_gold_at_start",
     "when": {"event": "record.created", "condition": {"field": "tier", "op": "eq", "value": "gold"}},
     "message": "New contacts start below gold"},
]}


def with_rules(*rulesets, document=None) -> dict:
    document = copy.deepcopy(document or crm_document())
    document["rulesets"] = [copy.deepcopy(r) for r in rulesets]
    return document


def drain(install, slug="acme") -> dict:
    return runtime_of(install).jobs.drain(slug)


def contact(session, **values) -> dict:
    return session.records.create("contact", {"full_name": "Ann Lee", **values})


def spend(install, record, value, slug="acme") -> dict:
    """Update the contact's lifetime value, let the worker handle the event, return the contact."""
    install.session(slug).records.update("contact", record["id"], {"lifetime_value": value})
    drain(install, slug)
    return install.session(slug).records.get("contact", record["id"])


def trace(session, record_id=None) -> list[tuple]:
    table = loom_table(session.storage.schema, "loom_rule_trace")
    stmt = select(table).order_by(table.c.id)
    if record_id is not None:
        stmt = stmt.where(table.c.record_id == record_id)
    with session.storage.connect() as conn:
        return [(r["ruleset"], r["rule"], r["outcome"]) for r in conn.execute(stmt).mappings()]


def bearer(install, slug="acme", email="ann@acme.test", role="admin") -> dict:
    return {"Authorization": f"Bearer {token_for(install, slug, email, role)}"}


# -- acceptance: applied, fires on the next update, traced, explained ----------------------------
def test_a_rule_set_applied_fires_on_the_next_update_and_is_traced(install, acme, client):
    ann, bob = contact(acme), contact(acme, full_name="Bob Wu", email="bob@x.org")
    drain(install)                                      # the runtime is up before the rules exist
    result = install.session("acme").apply_metadata(with_rules(gold_rules()))
    assert result.applied and any(c["kind"] == "add_ruleset" for c in result.changes)
    assert spend(install, ann, "12000.00")["tier"] == "gold"
    assert spend(install, bob, "5000")["tier"] == "regular"
    assert trace(acme, ann["id"]) == [("loyalty", "gold_tier", "done")]
    assert trace(acme, bob["id"]) == []

    headers = bearer(install)
    body = client.get(f"/api/v1/t/acme/records/contact/{ann['id']}/rule-trace", headers=headers).get_json()
    [item] = body["items"]
    assert (item["ruleset"], item["rule"], item["kind"], item["outcome"], item["event"]) == \
        ("loyalty", "gold_tier", "automation", "done", "record.updated")
    assert item["actions"] == [{"action": "set_field", "outcome": {"field": "tier", "value": "gold", "updated": True}}]
    assert item["at"].endswith("Z") and isinstance(item["event_id"], int)

    why = client.get(f"/api/v1/t/acme/records/contact/{bob['id']}/rule-trace?explain=loyalty.gold_tier",
                     headers=headers).get_json()
    assert why["items"] == []
    explain = why["explain"]
    assert explain["fired"] is False and explain["condition_matched"] is False
    assert explain["event_type_matched"] is True and explain["changed_matched"] is True
    assert [r for r in explain["reasons"] if not r["passed"]] == [
        {"path": "/all/0", "condition": "lifetime_value gt 10000", "value": "5000.00", "passed": False}]

    # ann's latest event is the rule's own write (tier changed): explained as not matching it
    latest = client.get(f"/api/v1/t/acme/records/contact/{ann['id']}/rule-trace?explain=loyalty.gold_tier",
                        headers=headers).get_json()["explain"]
    assert latest["fired"] is False and latest["changed_matched"] is False
    assert latest["event_id"] > item["event_id"]
    unknown = client.get(f"/api/v1/t/acme/records/contact/{bob['id']}/rule-trace?explain=loyalty.nope",
                         headers=headers)
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "unknown_rule"


def test_explain_says_which_part_did_not_match(install, acme, client):
    install.session("acme").apply_metadata(with_rules(gold_rules()))
    ann = contact(acme, lifetime_value="20000")
    acme.records.update("contact", ann["id"], {"phone": "+86 21 5555 0000"})     # lifetime_value unchanged
    drain(install)
    explain = client.get(f"/api/v1/t/acme/records/contact/{ann['id']}/rule-trace?explain=loyalty.gold_tier",
                         headers=bearer(install)).get_json()["explain"]
    assert (explain["fired"], explain["changed_matched"], explain["condition_matched"]) == (False, False, True)
    assert install.session("acme").records.get("contact", ann["id"])["tier"] == "regular"


def test_a_rule_set_applied_by_the_cli_in_another_process_fires_here_without_a_restart(install, acme, settings,
                                                                                   tmp_path):
    ann = contact(acme)
    drain(install)
    document = tmp_path / "with_rules.json"
    document.write_text(json.dumps(with_rules(gold_rules())), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    env["LOOM_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        env.update(LOOM_DATABASE_URL=settings.database_url, LOOM_SCHEMA_PREFIX=settings.schema_prefix)
    applied = subprocess.run([sys.executable, "-m", "engine.cli", "metadata", "apply", "acme", str(document)],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert applied.returncode == 0, applied.stderr
    assert "applied version 2" in applied.stdout and "loyalty" in applied.stdout
    assert spend(install, ann, "10000.01")["tier"] == "gold"
    assert trace(acme, ann["id"]) == [("loyalty", "gold_tier", "done")]


# -- validation rules --------------------------------------------------------------------------
def counts(session) -> dict:
    schema = session.storage.schema
    tables = [session.metadata().tables["contact"]] + [loom_table(schema, n) for n in ("loom_audit", "loom_outbox")]
    with session.storage.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}


def test_a_validation_rule_refuses_the_save_with_its_message_and_writes_nothing(install, acme, client):
    install.session("acme").apply_metadata(with_rules(EMAIL_FOR_GOLD))
    ann = contact(acme)
    headers = bearer(install)
    before, record = counts(acme), acme.records.get("contact", ann["id"])
    refused = client.patch(f"/api/v1/t/acme/records/contact/{ann['id']}", json={"tier": "gold"}, headers=headers)
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["code"] == "rule_refused" and error["message"] == "A gold customer needs an e-mail address"
    assert error["details"] == [{"field": "checks.gold_needs_email", "code": "rule_refused", "message": error["message"]}]
    created = client.post("/api/v1/t/acme/records/contact", json={"full_name": "Gil", "tier": "gold",
                                                                   "email": "gil@x.org"}, headers=headers)
    assert created.status_code == 400 and created.get_json()["error"]["message"] == "New contacts start below gold"
    assert counts(acme) == before and acme.records.get("contact", ann["id"]) == record

    storage = install.session("acme").storage
    create_user(storage, "udo@acme.test", "member", locale="de")
    german = {"Authorization": f"Bearer {create_token(storage, 'udo@acme.test')}"}
    refused = client.patch(f"/api/v1/t/acme/records/contact/{ann['id']}", json={"tier": "gold"}, headers=german)
    assert refused.get_json()["error"]["message"] == "Goldkunden brauchen eine E-Mail-Adresse"
    ok = client.patch(f"/api/v1/t/acme/records/contact/{ann['id']}", json={"tier": "gold", "email": "ann@x.org"},
                      headers=headers)
    assert ok.status_code == 200 and ok.get_json()["tier"] == "gold"


def test_a_changed_rule_set_acts_at_once_after_a_re_apply(install, acme):
    ann, bob, cid = contact(acme), contact(acme, full_name="Bob"), contact(acme, full_name="Cid")
    install.session("acme").apply_metadata(with_rules(gold_rules(10000)))
    assert spend(install, ann, "15000")["tier"] == "gold"
    install.session("acme").apply_metadata(with_rules(gold_rules(20000)))
    assert spend(install, bob, "15000")["tier"] == "regular"
    assert spend(install, bob, "25000")["tier"] == "gold"
    install.session("acme").apply_metadata(with_rules(gold_rules(20000, tier="diamond", name="premium")))
    assert spend(install, cid, "25000")["tier"] == "diamond"
    assert [t[0] for t in trace(acme)] == ["loyalty", "loyalty", "premium"]
    # validation rules too: added, they refuse the next write; removed, they stop
    install.session("acme").apply_metadata(with_rules(EMAIL_FOR_GOLD))
    with pytest.raises(ValidationFailed, match="needs an e-mail"):
        install.session("acme").records.update("contact", ann["id"], {"full_name": "Ann L."})
    install.session("acme").apply_metadata(with_rules())
    assert install.session("acme").records.update("contact", ann["id"], {"full_name": "Ann L."})["version"] == 4


def test_another_tenants_rules_never_fire(install, acme, client):
    install.registry.create("globex", "Globex")
    install.session("globex").apply_metadata(with_rules(gold_rules()))
    mine, theirs = contact(acme), contact(install.session("globex"))
    assert spend(install, mine, "50000")["tier"] == "regular"
    assert spend(install, theirs, "50000", slug="globex")["tier"] == "gold"
    assert trace(acme) == [] and trace(install.session("globex")) == [("loyalty", "gold_tier", "done")]
    install.session("acme").apply_metadata(with_rules(gold_rules(90000, tier="diamond")))  # same names
    assert spend(install, mine, "60000")["tier"] == "regular"
    other = contact(install.session("globex"), full_name="Ed")
    assert spend(install, other, "12000", slug="globex")["tier"] == "gold"
    headers = bearer(install)
    assert client.get(f"/api/v1/t/globex/records/contact/{theirs['id']}/rule-trace",
                      headers=headers).status_code == 404
    explain = client.get(f"/api/v1/t/acme/records/contact/{mine['id']}/rule-trace?explain=loyalty.gold_tier",
                         headers=headers).get_json()["explain"]
    assert explain["fired"] is False      # acme's rule (90000), not globex's (10000)


# -- correlated rules through the database store -----------------------------------------------
COMPLAINTS = {
    "entities": [
        {"name": "customer", "fields": [{"name": "name", "type": "string"}]},
        {"name": "complaint", "fields": [{"name": "customer", "type": "reference", "to": "customer"},
                                         {"name": "kind", "type": "choice", "options": ["complaint", "inquiry"]}]},
        {"name": "alert", "fields": [{"name": "customer", "type": "reference", "to": "customer"},
                                     {"name": "reason", "type": "string"}]},
    ],
    "rulesets": [{"name": "care", "kind": "automation", "entity": "complaint", "rules": [
        {"name": "three_in_30_days",
         "when": {"event": "record.created", "condition": {"field": "kind", "op": "eq", "value": "complaint"}},
         "correlate": {"by": "customer", "count": 3, "within": "30d"},
         "actions": [{"action": "create_record", "params": {"entity": "alert", "values": {
             "customer": {"$record": "customer"}, "reason": "3 complaints within 30 days"}}}]}]}],
}


def alerts(session) -> list:
    table = session.metadata().tables["alert"]
    with session.storage.connect() as conn:
        return conn.execute(select(table.c.customer).order_by(table.c.id)).scalars().all()


def complain(session, customer, kind="complaint"):
    return session.records.create("complaint", {"customer": customer, "kind": kind})


def test_three_complaints_from_one_customer_within_30_days_fire_once_across_restarts(install, settings):
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    session.apply_metadata(copy.deepcopy(COMPLAINTS))
    amy, ben = (session.records.create("customer", {"name": n})["id"] for n in ("Amy", "Ben"))
    old = complain(session, amy)
    outbox = loom_table(session.storage.schema, "loom_outbox")
    with session.storage.begin() as conn:  # happened 40 days ago: outside the window
        conn.execute(outbox.update().where(outbox.c.entity == "complaint", outbox.c.record_id == old["id"])
                     .values(at=datetime.now(timezone.utc) - timedelta(days=40)))
    complain(session, amy)
    complain(session, amy, kind="inquiry")
    complain(session, ben)
    complain(session, amy)
    drain(install)
    assert alerts(session) == []                          # two within 30 days (the old one does not count)

    restarted = Install(settings, install.plugins)        # a new worker process: nothing in memory
    try:
        complain(restarted.session("acme"), amy)
        drain(restarted)
        assert alerts(restarted.session("acme")) == [amy]
        complain(restarted.session("acme"), amy)          # the fourth: no second alert
        drain(restarted)
        assert alerts(restarted.session("acme")) == [amy]
        with session.storage.begin() as conn:              # every event handled again
            conn.execute(outbox.update().values(status="pending", processed_at=None))
        drain(restarted)
        assert alerts(restarted.session("acme")) == [amy]
    finally:
        restarted.dispose()
    correlations = loom_table(session.storage.schema, "loom_correlations")
    with session.storage.connect() as conn:
        assert conn.execute(select(func.count()).select_from(correlations)).scalar_one() == 6


# -- bad documents are refused with paths and change nothing --------------------------------------
def _flow(**changes) -> dict:
    flow = {"name": "contact_flow", "entity": "contact", "field": "stage", "initial": "lead",
            "states": [{"name": "lead", "category": "open"}, {"name": "client", "category": "done"}],
            "transitions": [{"name": "win", "from": ["lead"], "to": "client"}]}
    flow.update(changes)
    return flow


def with_flow(flow) -> dict:
    document = with_rules(gold_rules())
    document["entities"][1]["fields"].append({"name": "stage", "type": "choice", "options": ["lead", "client"]})
    document["workflows"] = [flow]
    return document


def bad_rule(**rule) -> dict:
    base = copy.deepcopy(gold_rules()["rules"][0])
    base.update(rule)
    return with_rules({**gold_rules(), "rules": [base]})


BAD_DOCUMENTS = {
    "unknown initial state": (with_flow(_flow(initial="prospect")), "/workflows/0/initial"),
    "transition to nowhere": (with_flow(_flow(transitions=[{"name": "win", "from": ["lead"], "to": "moon"}])),
                              "/workflows/0/transitions/0/to"),
    "transition from an unknown state": (
        with_flow(_flow(transitions=[{"name": "win", "from": ["ghost"], "to": "client"}])),
        "/workflows/0/transitions/0/from/0"),
    "unknown workflow action": (
        with_flow(_flow(states=[{"name": "lead", "category": "open", "on_enter": [{"action": "teleport"}]},
                                {"name": "client", "category": "done"}])),
        "/workflows/0/states/0/on_enter/0/action"),
    "bad workflow action params": (
        with_flow(_flow(transitions=[{"name": "win", "from": ["lead"], "to": "client",
                                      "actions": [{"action": "set_field", "params": {"field": "tier"}}]}])),
        "/workflows/0/transitions/0/actions/0/params"),
    "unknown rule action": (bad_rule(actions=[{"action": "launch_rockets"}]), "/rulesets/0/rules/0/actions/0/action"),
    "bad rule action params": (bad_rule(actions=[{"action": "set_field", "params": {"field": "tier", "valu": 1}}]),
                               "/rulesets/0/rules/0/actions/0/params"),
    "unsafe rule set name": (with_rules({**gold_rules(), "name": "acme__evil"}), "/rulesets/0/name"),
    "unsafe rule name": (bad_rule(name="x'; drop table contact; --"), "/rulesets/0/rules/0/name"),
    "rule set on an unknown entity": (with_rules({**gold_rules(), "entity": "ghost"}), "/rulesets/0/entity"),
    "set_field of an unknown field": (
        bad_rule(actions=[{"action": "set_field", "params": {"field": "tire", "value": "gold"}}]),
        "/rulesets/0/rules/0/actions/0/params/field"),
    "set_field with a value the field refuses": (
        bad_rule(actions=[{"action": "set_field", "params": {"field": "tier", "value": "platinum"}}]),
        "/rulesets/0/rules/0/actions/0/params/value"),
    "set_field of a workflow state field": (
        with_flow(_flow()) | {"rulesets": [{**gold_rules(), "rules": [{
            **gold_rules()["rules"][0], "actions": [{"action": "set_field", "params": {"field": "stage",
                                                                                       "value": "client"}}]}]}]},
        "/rulesets/0/rules/0/actions/0/params/field"),
    "create_record of an unknown entity": (
        bad_rule(actions=[{"action": "create_record", "params": {"entity": "ghost", "values": {}}}]),
        "/rulesets/0/rules/0/actions/0/params/entity"),
    "create_record with an unknown field": (
        bad_rule(actions=[{"action": "create_record", "params": {"entity": "account", "values": {"nme": "x"}}}]),
        "/rulesets/0/rules/0/actions/0/params/values/nme"),
    "unknown field in a condition": (
        bad_rule(when={"event": "record.updated", "condition": {"field": "ghost", "op": "eq", "value": 1}}),
        "/rulesets/0/rules/0/when/condition/field"),
}


@pytest.mark.parametrize("name", list(BAD_DOCUMENTS))
def test_bad_rule_and_workflow_documents_are_refused_with_paths_and_change_nothing(install, acme, client, name):
    document, path = BAD_DOCUMENTS[name]
    install.session("acme").apply_metadata(with_rules(gold_rules()))
    ann = contact(acme)
    history = install.session("acme").metadata_history()
    with pytest.raises(ValidationFailed) as refused:
        install.session("acme").apply_metadata(copy.deepcopy(document))
    fields = [d["field"] for d in refused.value.details]
    assert any(f == path or f.startswith(path + "/") for f in fields), (path, refused.value.details)
    response = client.put("/api/v1/t/acme/metadata", json=document, headers=bearer(install))
    assert response.status_code == 400, response.get_json()
    assert any(d["field"].startswith(path) for d in response.get_json()["error"]["details"])
    assert install.session("acme").metadata_history() == history
    assert spend(install, ann, "12000")["tier"] == "gold"           # the published rules still act
