"""`loom rules simulate`, `loom worker --once` and `loom jobs` as specifications, on SQLite
and PostgreSQL: a simulation replays the recorded events through a draft with no side
effects and reports what would fire and change; a bad draft exits 1 with paths on stderr
and no traceback; the worker's single run prints a JSON summary."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine.cli import cli
from engine.systables import loom_table
from tests.conftest import crm_document
from workflows.runtime import runtime_of

ROOT = Path(__file__).resolve().parents[2]
cli.add_plugin_commands()  # as `loom` does at start


def gold(threshold=10000) -> dict:
    return {"name": "loyalty", "kind": "automation", "entity": "contact", "rules": [
        {"name": "gold_tier",
         "when": {"event": "record.updated", "changed": ["lifetime_value"],
                  "condition": {"field": "lifetime_value", "op": "gt", "value": threshold}},
         "actions": [{"action": "set_field", "params": {"field": "tier", "value": "gold"}}]},
        {"name": "big_spenders", "when": {"event": "record.updated", "changed": ["lifetime_value"],
                                          "condition": {"field": "lifetime_value", "op": "gt", "value": 0}},
         "correlate": {"by": "account", "count": 2, "within": "30d"},
         "actions": [{"action": "create_record", "params": {"entity": "account", "values": {"name": "VIP"}}}]},
    ]}


NO_GMAIL = {"name": "checks", "kind": "validation", "entity": "contact", "rules": [
    {"name": "no_free_mail", "when": {"event": "record.created",
                                      "condition": {"field": "email", "op": "matches", "value": "@gmail\\.com$"}},
     "message": "use a company address"}]}


@pytest.fixture
def shop(install, acme):
    """acme with five contacts, their spending recorded and handled; one event is old."""
    account = acme.records.create("account", {"name": "Acme Retail"})["id"]
    people = [acme.records.create("contact", {"full_name": name, "account": account,
                                              "email": f"{name.lower()}@gmail.com"})
              for name in ("Ann", "Bob", "Cid", "Dee", "Eve")]
    for person, value in zip(people, ("12000", "500", "30000", "9999.99", "10000.01")):
        acme.records.update("contact", person["id"], {"lifetime_value": value})
    outbox = loom_table(acme.storage.schema, "loom_outbox")
    with acme.storage.begin() as conn:   # Eve's spending was recorded 40 days ago
        conn.execute(outbox.update().where(outbox.c.record_id == people[4]["id"], outbox.c.event == "record.updated")
                     .values(at=datetime.now(timezone.utc) - timedelta(days=40)))
    runtime_of(install).jobs.drain("acme")
    return {p["full_name"]: p["id"] for p in people}


def everything(session) -> dict:
    """Every row a simulation could touch."""
    schema = session.storage.schema
    tables = [*session.metadata().tables.values()] + [loom_table(schema, name) for name in (
        "loom_outbox", "loom_rule_trace", "loom_correlations", "loom_effects", "loom_audit",
        "loom_metadata_versions", "loom_settings")]
    with session.storage.connect() as conn:
        return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))] for t in tables}


def draft_file(tmp_path, content, name="draft.json") -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return str(path)


def invoke(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


def test_simulate_reports_what_would_fire_and_change_and_changes_nothing(install, acme, shop, tmp_path):
    before = everything(acme)
    draft = draft_file(tmp_path, {"rulesets": [gold(), NO_GMAIL]})
    result = invoke(install, "rules", "simulate", "acme", draft, "--since", "30d")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "replayed 10 events from the last 30d: 8 firing(s); nothing was changed"
    assert lines[1:4] == ["  checks.no_free_mail: 5", "  loyalty.big_spenders: 1", "  loyalty.gold_tier: 2"]
    assert f"contact {shop['Ann']}: loyalty.gold_tier would tier: 'regular' -> 'gold'" in result.output
    assert f"contact {shop['Cid']}: loyalty.gold_tier would tier: 'regular' -> 'gold'" in result.output
    assert f"contact {shop['Bob']}: loyalty.big_spenders would create_record" in result.output
    assert f"contact {shop['Eve']}: loyalty" not in result.output  # her spending is outside the window
    assert everything(acme) == before

    report = json.loads(invoke(install, "rules", "simulate", "acme", draft, "--since", "60d", "--json").output)
    assert report["events"] == 11 and report["since"] == "60d"      # the account and 5 contacts, 5 updates
    assert report["per_rule"] == {"checks.no_free_mail": 5, "loyalty.gold_tier": 3, "loyalty.big_spenders": 1}
    refusal = next(i for i in report["items"] if i["rule"] == "checks.no_free_mail")
    assert refusal["kind"] == "validation" and refusal["would"] == [{"action": "refuse",
                                                                      "message": {"en": "use a company address"}}]
    changes = {i["record_id"]: i["would"] for i in report["items"] if i["rule"] == "loyalty.gold_tier"}
    assert changes[shop["Eve"]] == [{"action": "set_field", "field": "tier", "from": "regular", "to": "gold"}]
    assert everything(acme) == before
    bare = draft_file(tmp_path, [gold(20000)], "list.json")           # a bare list of rule sets works too
    assert json.loads(invoke(install, "rules", "simulate", "acme", bare, "--json").output)["per_rule"] == \
        {"loyalty.gold_tier": 1, "loyalty.big_spenders": 1}


@pytest.mark.parametrize("content,expected", [
    ({"rulesets": [{**gold(), "entity": "ghost"}]}, "/rulesets/0/entity"),
    ({"rulesets": [{**gold(), "name": "bad__name"}]}, "/rulesets/0/name"),
    ({"rulesets": [{**gold(), "rules": [{**gold()["rules"][0], "actions": [{"action": "teleport"}]}]}]},
     "/rulesets/0/rules/0/actions/0/action"),
    ({"rulesets": [{**gold(), "rules": [{**gold()["rules"][0],
                                         "actions": [{"action": "set_field", "params": {"field": "tier"}}]}]}]},
     "/rulesets/0/rules/0/actions/0/params"),
    ({"rulesets": [{**gold(), "rules": [{**gold()["rules"][0],
                                         "actions": [{"action": "set_field",
                                                      "params": {"field": "tier", "value": "platinum"}}]}]}]},
     "/rulesets/0/rules/0/actions/0/params/value"),
    ({"rulesets": [gold(), gold()]}, "/rulesets/1/name"),
    ({"rules": []}, 'the draft must be {"rulesets": [...]}'),
    ("{not json", "is not valid JSON"),
])
def test_a_bad_draft_exits_1_with_paths_and_changes_nothing(install, acme, shop, tmp_path, content, expected):
    before = everything(acme)
    result = invoke(install, "rules", "simulate", "acme", draft_file(tmp_path, content))
    assert result.exit_code == 1, result.output
    assert expected in result.stderr and result.stdout == ""
    assert "Traceback" not in result.output
    assert everything(acme) == before


def test_bad_since_and_missing_files(install, acme, tmp_path):
    draft = draft_file(tmp_path, {"rulesets": [gold()]})
    since = invoke(install, "rules", "simulate", "acme", draft, "--since", "a month")
    assert since.exit_code == 1 and "not a window such as 90m, 12h or 30d: 'a month'" in since.stderr
    missing = invoke(install, "rules", "simulate", "acme", str(tmp_path / "nope.json"))
    assert missing.exit_code == 1 and "cannot read" in missing.stderr
    nobody = invoke(install, "rules", "simulate", "nobody", draft)
    assert nobody.exit_code == 1 and "no tenant 'nobody'" in nobody.stderr


def loom_env(settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOM_")}
    env["LOOM_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        env.update(LOOM_DATABASE_URL=settings.database_url, LOOM_SCHEMA_PREFIX=settings.schema_prefix)
    return env


def test_the_real_command_a_bad_draft_no_traceback(install, acme, settings, tmp_path):
    bad = {"rulesets": [{**gold(), "rules": [{**gold()["rules"][0], "when": {"event": "record.exploded"}}]}]}
    run = subprocess.run([sys.executable, "-m", "engine.cli", "rules", "simulate", "acme",
                          draft_file(tmp_path, bad)], env=loom_env(settings), cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("error: the draft has") and "/rulesets/0/rules/0/when/event" in run.stderr
    assert "Traceback" not in run.stderr


def test_worker_once_handles_what_is_due_and_prints_a_json_summary(install, acme):
    acme.records.create("contact", {"full_name": "Ann"})
    install.registry.create("globex", "Globex")
    result = invoke(install, "worker", "--once")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert set(summary) == {"acme", "globex"}
    assert summary["acme"]["events"] == {"done": 1, "retry": 0, "failed": 0}
    assert summary["globex"]["events"] == {"done": 0, "retry": 0, "failed": 0}
    assert set(summary["acme"]["scheduled"]) == {"sla", "scheduled"}
    again = json.loads(invoke(install, "worker", "--once").output)
    assert again["acme"]["events"]["done"] == 0


def test_the_workflow_commands_are_in_loom_help(install):
    help_text = invoke(install, "--help").output
    for command in ("worker", "jobs", "rules"):
        assert f"  {command} " in help_text
    assert "--since" in invoke(install, "rules", "simulate", "--help").output



def test_one_tenants_failure_does_not_stop_the_others(install, acme, monkeypatch):
    install.registry.create("globex", "Globex")
    install.session("globex").apply_metadata(crm_document())
    install.session("globex").records.create("contact", {"full_name": "Gil"})
    runtime = runtime_of(install)
    real = runtime.run_schedules

    def broken(slug):
        if slug == "acme":
            raise RuntimeError("acme's calendar is corrupt")
        return real(slug)

    monkeypatch.setattr(runtime, "run_schedules", broken)
    result = invoke(install, "worker", "--once")
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    assert summary["acme"] == {"error": "RuntimeError: acme's calendar is corrupt"}
    assert summary["globex"]["events"]["done"] == 1
    assert "acme" in result.stderr and "Traceback" not in result.output
