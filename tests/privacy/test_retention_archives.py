"""Retention (a dry run first, then anonymise or erase, never twice), the privacy rules'
checks, and erasure reaching the archives of metadata migrations and marking rewritten
audit rows `redacted_at` when the audit chain's column exists — on SQLite and PostgreSQL."""
from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, Table, select

from engine.cli import cli
from engine.errors import ValidationFailed
from engine.privacy.erasure import erase
from engine.systables import loom_table
from metadata import check_package
from tests.privacy.scan import columns_holding, tenant_tables
from workflows.runtime import runtime_of

DOC = {"entities": [
    {"name": "party", "fields": [
        {"name": "name", "type": "string", "required": True, "pii": True},
        {"name": "email", "type": "email", "pii": True},
        {"name": "wechat", "type": "string", "pii": True},
        {"name": "city", "type": "string"}]},
    {"name": "visit", "privacy": {"retention": {"after_days": 30, "field": "visited_on", "action": "erase"}},
     "fields": [{"name": "party", "type": "reference", "to": "party", "on_delete": "set_null"},
                {"name": "visited_on", "type": "date"},
                {"name": "ip_address", "type": "string", "pii": True}]},
    {"name": "lead", "privacy": {"retention": {"after_days": 365, "field": "created_at", "action": "anonymise"}},
     "fields": [{"name": "contact_name", "type": "string", "pii": True}, {"name": "source", "type": "string"}]},
]}


def loom(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


@pytest.fixture
def shop(install):
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(copy.deepcopy(DOC))
    return session


def test_retention_reports_first_then_erases_and_anonymises_once(install, shop):
    old, recent = date.today() - timedelta(days=40), date.today() - timedelta(days=3)
    visits = [shop.records.create("visit", {"visited_on": d.isoformat(), "ip_address": f"10.0.0.{i}"})
              for i, d in enumerate([old, old, recent])]
    lead = shop.records.create("lead", {"contact_name": "Zhou Jie", "source": "fair"})
    table = shop.metadata().tables["lead"]
    with shop.storage.begin() as conn:   # the lead was made two years ago
        conn.execute(table.update().where(table.c.id == lead["id"]).values(
            created_at=datetime.now(timezone.utc) - timedelta(days=730)))

    dry = loom(install, "dsr", "retention", "shop", "--dry-run")
    assert dry.exit_code == 0, dry.output
    report = {e["entity"]: e for e in json.loads(dry.output)["entities"]}
    assert report["visit"]["due"] == 2 and report["visit"]["ids"] == [visits[0]["id"], visits[1]["id"]]
    assert report["lead"] == {"entity": "lead", "action": "anonymise", "field": "created_at",
                              "after_days": 365, "due": 1, "ids": [lead["id"]]}
    assert len(shop.records.list("visit")["items"]) == 3   # a dry run changes nothing

    summary = runtime_of(install).jobs.retention()   # the daily job, for every tenant
    done = {e["entity"]: e for e in summary["shop"]["entities"]}
    assert done["visit"]["deleted"] == 2 and done["lead"]["anonymised"] == 1
    assert [v["id"] for v in shop.records.list("visit")["items"]] == [visits[2]["id"]]
    kept = shop.records.get("lead", lead["id"])
    assert kept["contact_name"] is None and kept["source"] == "fair"
    again = loom(install, "dsr", "retention", "shop", "--dry-run")
    assert all(e["due"] == 0 for e in json.loads(again.output)["entities"])   # nothing is taken twice
    assert not _holding(shop, ["10.0.0.0", "10.0.0.1", "Zhou Jie"])
    entries = json.loads(loom(install, "dsr", "log", "shop").output)
    assert sorted(e["entity"] for e in entries if e["kind"] == "retention") == ["lead", "visit", "visit"]


def test_privacy_rules_are_checked():
    bad = copy.deepcopy(DOC)
    bad["entities"][1]["privacy"] = {"retention": {"after_days": 0, "field": "ip_address", "action": "shred"},
                                     "colour": "red"}
    bad["entities"][2]["privacy"] = {"evidence": True, "retention": {"after_days": 5, "field": "created_at",
                                                                     "action": "erase"}}
    paths = sorted({(p.path, p.code) for p in check_package(bad)})
    assert ("/entities/1/privacy/retention/field", "not_a_date") in paths
    assert ("/entities/2/privacy/retention/action", "evidence_erased") in paths
    assert any(p.startswith("/entities/1/privacy") and p != "/entities/1/privacy/retention/field" for p, _ in paths)
    assert check_package(DOC) == []
    encrypted = copy.deepcopy(DOC)
    encrypted["entities"][0]["fields"].append({"name": "born", "type": "date", "pii": "sensitive"})
    encrypted["entities"][0]["privacy"] = {"retention": {"after_days": 30, "field": "born", "action": "anonymise"}}
    assert ("/entities/0/privacy/retention/field", "encrypted_date") in {(p.path, p.code)
                                                                       for p in check_package(encrypted)}


def test_erasure_reaches_migration_archives_and_marks_audit_rows_redacted(install, shop):
    party = shop.records.create("party", {"name": "Qian Li", "email": "qian.li@people.example",
                                          "wechat": "qianli_wx_88", "city": "Hangzhou"})
    other = shop.records.create("party", {"name": "Sun Mei", "email": "sun.mei@people.example",
                                          "wechat": "sunmei_wx", "city": "Ningbo"})
    shop.records.create("visit", {"party": party["id"], "visited_on": date.today().isoformat(),
                                  "ip_address": "192.0.2.7"})
    without_wechat = copy.deepcopy(DOC)
    without_wechat["entities"][0]["fields"] = [f for f in DOC["entities"][0]["fields"] if f["name"] != "wechat"]
    shop.apply_metadata(without_wechat, allow_drop=True)   # the WeChat ids go to an archive table
    audit = loom_table(shop.storage.schema, "loom_audit")
    assert "redacted_at" in audit.c  # the audit chain's column (engine.records.chain)
    assert _holding(shop, ["qianli_wx_88"])
    with pytest.raises(ValidationFailed, match="needs a reason"):
        erase(shop, party["id"], "")
    erase(shop, party["id"], "request by letter")
    assert not _holding(shop, ["qianli_wx_88", "qian.li@people.example", "Qian Li", "192.0.2.7"])
    assert _holding(shop, ["sunmei_wx", "Sun Mei"])   # another party's data and archive rows stay
    with shop.storage.connect() as conn:
        table = Table("loom_audit", MetaData(), autoload_with=conn, schema=shop.storage.schema)
        rows = conn.execute(select(table.c.entity, table.c.record_id, table.c.action, table.c.redacted_at)).all()
    redacted = {(r.entity, r.record_id) for r in rows if r.redacted_at is not None and r.action != "erase"}
    assert ("party", party["id"]) in redacted and ("party", other["id"]) not in redacted


def _holding(session, values) -> list:
    storage, found = session.storage, []
    with storage.connect() as conn:
        for table in tenant_tables(conn, storage.schema):
            texts = [column for column in table.columns
                     if any(word in str(column.type).upper() for word in ("CHAR", "TEXT", "JSON", "CLOB", "STRING"))]
            found += [(table.name, name) for name in columns_holding(conn, table, texts, values)]
    return found
