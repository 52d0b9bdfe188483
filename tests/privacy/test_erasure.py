"""Erasing a party (acceptance 3 of issue 12) in an `insurance_agents --demo` tenant, on
SQLite and PostgreSQL, with a real SMTP server so that e-mails, their effect keys and
rule traces exist: afterwards no table (every text and JSON column of every table, read
with SQLAlchemy Core) and no endpoint (list, get, history, export, audit, search, the
record page, the access bundle, notifications) returns the party's e-mail addresses
(current and earlier), phone or name — and its policy still counts in its agency's
totals, kept with its legal basis."""
from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import JSON, LargeBinary, String, Text, select

from engine.app import create_app
from engine.auth import create_token, create_user
from engine.cli import cli
from engine.imports import importer
from engine.imports.planning import Options
from engine.install import Install
from engine.passwords import set_password
from engine.plugins import Plugins
from tests.conftest import drop_prefixed_schemas, make_settings, require_postgres
from tests.mail import running_smtp
from tests.privacy.scan import columns_holding, tenant_tables
from tests.screens.conftest import PASSWORD, ScreenClient
from workflows.notify.service import notifications
from workflows.runtime import runtime_of

API = "/api/v1/t/ins"
ADMIN = "dpo@insurer.example"
OLD_EMAIL, EMAIL = "huang.old@customer.example", "huang@customer.example"
PHONE, NAME = "+86 138 0000 2000", "Huang Xiaoming"
SECRETS = (EMAIL, OLD_EMAIL, PHONE, NAME)


def loom(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ins(request, tmp_path_factory):
    if request.param == "postgresql":
        require_postgres()
    with running_smtp() as smtp:
        settings = make_settings(request.param, tmp_path_factory.mktemp(f"erase_{request.param}"))
        settings.extra.update({"LOOM_SMTP_HOST": "127.0.0.1", "LOOM_SMTP_PORT": str(smtp.port),
                               "LOOM_SMTP_FROM": "loom@insurer.example"})
        install = Install(settings, Plugins())
        try:
            result = loom(install, "tenant", "create", "ins", "--pack", "insurance_agents", "--demo")
            assert result.exit_code == 0, result.output
            yield _traces(install, smtp)
        finally:
            install.dispose()
            if settings.database_url:
                drop_prefixed_schemas(settings.schema_prefix)


def _traces(install, smtp):
    """The demo, and more traces of Huang: an earlier e-mail, a service request whose
    acknowledgement was mailed (an effect key, a rule trace), a refused marketing message,
    queued events not yet handled (outbox payloads)."""
    drain = runtime_of(install).jobs.drain
    drain("ins")
    session = install.session("ins")
    storage = session.storage
    create_user(storage, ADMIN, "admin")
    set_password(storage, ADMIN, PASSWORD)
    huang = next(p for p in session.records.list("party", [("limit", "200")])["items"] if p["name"] == NAME)
    session.records.update("party", huang["id"], {"email": OLD_EMAIL})
    session.records.update("party", huang["id"], {"email": EMAIL, "notes": f"{NAME} prefers calls"})
    request = session.records.create("service_request", {
        "subject": "Claim question", "party": huang["id"], "requester_name": NAME,
        "requester_email": EMAIL, "requester_phone": PHONE, "channel": "email", "request_type": "inquiry"})
    drain("ins")
    assert any(EMAIL in e.rcpt_tos for e in smtp.envelopes)          # the acknowledgement went out
    refused = notifications(session).send("request_ack", "field:requester_email", "service_request",
                                          session.records.get("service_request", request["id"]), purpose="marketing")
    assert refused["sent"] == 0 and "no valid consent" in refused["skipped"][0]
    session.records.create("consent", {"party": huang["id"], "purpose": "analytics", "granted": True,
                                       "channel": "web", "evidence": "web form 2025-03"})
    session.records.update("party", huang["id"], {"mobile": "+86 139 9999 0000"})   # queued, not drained
    # copies kept whole: an import run's file naming Huang, and a merge of a twin into Huang
    importer.commit(session.records, "party", importer.Source(
        "people.csv", f"name,email,city\n{NAME},{EMAIL},Shanghai\n".encode()), None, Options(key="email"))
    twin = session.records.create("party", {"kind": "person", "name": NAME, "email": OLD_EMAIL,
                                            "city": "Shanghai"}, allow_duplicates=True)
    merged = session.records.merge("party", huang["id"], [twin["id"]], fields={"email": huang["id"]})
    headers = {"Authorization": f"Bearer {create_token(storage, ADMIN)}"}
    app = create_app(install, {"TESTING": True})
    return SimpleNamespace(install=install, session=session, huang=huang, request=request, headers=headers,
                           app=app, client=app.test_client(), smtp=smtp, merge_id=merged["id"])


def agency_totals(ins, agency):
    items = ins.session.records.list("policy", [("agency", str(agency)), ("limit", "200")])["items"]
    return len(items), sum(Decimal(p["premium"]["amount"]) for p in items)


def leaks(install) -> list:
    """(table, column) of every text or JSON column of every table in the tenant's storage
    that holds one of the secrets."""
    storage = install.session("ins").storage
    found = []
    with storage.connect() as conn:
        for table in tenant_tables(conn, storage.schema):
            texts = []
            for column in table.columns:
                if isinstance(column.type, LargeBinary):  # files kept whole (an import run's)
                    values = conn.execute(select(column).where(column.is_not(None))).scalars()
                    if any(s.encode() in bytes(v) for v in values for s in SECRETS):
                        found.append((table.name, column.name))
                    continue
                if not isinstance(column.type, (String, Text, JSON)) and "CHAR" not in str(column.type).upper() \
                        and "TEXT" not in str(column.type).upper() and "JSON" not in str(column.type).upper():
                    continue
                texts.append(column)
            found += [(table.name, name) for name in columns_holding(conn, table, texts, SECRETS)]
    return found


def test_erasure_leaves_no_trace_and_the_policy_still_counts(ins):
    huang = ins.huang
    policy = next(p for p in ins.session.records.list("policy", [("limit", "200")])["items"]
                  if p["policyholder"] == huang["id"])
    before = agency_totals(ins, policy["agency"])
    assert leaks(ins.install)   # the secrets are there to begin with (the scan finds them)
    client = ins.client

    # bad input changes nothing
    assert client.post(f"{API}/privacy/parties/{huang['id']}/erasure", json={}, headers=ins.headers).status_code == 400
    assert client.post(f"{API}/privacy/parties/999999/erasure", json={"reason": "x"},
                       headers=ins.headers).status_code == 404
    for odd in ("abc", "%C2%B2", "%D9%A1"):  # "²" and an Arabic-Indic 1: digits to str.isdigit(), no ids
        assert client.post(f"{API}/privacy/parties/{odd}/erasure", json={"reason": "x"},
                           headers=ins.headers).status_code == 404
        assert client.get(f"{API}/privacy/parties/{odd}/bundle", headers=ins.headers).status_code == 404
    agent = {"Authorization": f"Bearer {create_token(ins.session.storage, 'li.wei@east-agency.example')}"}
    refused = client.post(f"{API}/privacy/parties/{huang['id']}/erasure", json={"reason": "x"}, headers=agent)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "admin_only"
    assert ins.session.records.get("party", huang["id"])["email"] == EMAIL

    response = client.post(f"{API}/privacy/parties/{huang['id']}/erasure",
                           json={"reason": "erasure request DSR-2026-17 (e-mail of 2026-12-01)"}, headers=ins.headers)
    assert response.status_code == 200, response.get_json()
    done = response.get_json()
    kept = next(r for r in done["records"] if r["entity"] == "policy")
    assert "Insurance law" in kept["kept_for"]["en"]
    assert next(r for r in done["records"] if r["entity"] == "consent")["kept_as_evidence"] is True

    assert leaks(ins.install) == []
    assert done["kept_copies"]["import_files"] == 1 and done["kept_copies"]["merges_no_longer_undoable"] == 1
    undo = client.post(f"{API}/merges/{ins.merge_id}/undo", headers=ins.headers)
    assert undo.status_code == 409 and undo.get_json()["error"]["code"] == "merge_erased"
    # … nor does any endpoint return them
    urls = [f"{API}/records/party/{huang['id']}", f"{API}/records/party/{huang['id']}/history",
            f"{API}/records/party?limit=200", f"{API}/records/party/export", f"{API}/records/party/export?format=csv",
            f"{API}/records/service_request?limit=200", f"{API}/records/service_request/{ins.request['id']}/history",
            f"{API}/records/policy/{policy['id']}/history", f"{API}/audit?limit=200",
            f"{API}/privacy/consent-refusals", f"{API}/privacy/log",
            f"{API}/privacy/parties/{huang['id']}/bundle"]
    for url in urls:
        answer = client.get(url, headers=ins.headers)
        assert answer.status_code == 200, url
        assert not any(s in answer.get_data(as_text=True) for s in SECRETS), url
    for who in ("li.wei@east-agency.example", ADMIN):
        mine = client.get(f"{API}/notifications?limit=200",
                          headers={"Authorization": f"Bearer {create_token(ins.session.storage, who)}"})
        assert mine.status_code == 200 and not any(s in mine.get_data(as_text=True) for s in SECRETS)
    screens = ScreenClient(ins.app, "ins", ADMIN)
    for path in ("search?q=Huang", "search?q=huang%40customer", "search?q=13800002000",
                 f"e/party/{huang['id']}", f"e/service_request/{ins.request['id']}"):
        page = screens.client.get(f"/t/ins/{path}")
        assert page.status_code == 200, path
        assert not any(s in page.text for s in SECRETS), path

    # the party and its policy stay: the agency's totals are unchanged
    erased = ins.session.records.get("party", huang["id"])
    assert erased["name"].startswith("erased-party-") and erased["email"] is None and erased["city"] == "Shanghai"
    assert ins.session.records.get("policy", policy["id"])["policyholder"] == huang["id"]
    assert agency_totals(ins, policy["agency"]) == before
    # queued events still run (with the erased payloads)
    runtime_of(ins.install).jobs.drain("ins")
    assert leaks(ins.install) == []


def test_the_access_bundle_holds_the_party_its_related_records_and_history(ins, tmp_path):
    others = [p for p in ins.session.records.list("party", [("limit", "200")])["items"] if p["name"] == "Liu Na"]
    liu = others[0]
    response = ins.client.get(f"{API}/privacy/parties/{liu['id']}/bundle", headers=ins.headers)
    assert response.status_code == 200
    found = response.get_json()
    assert found["record"]["email"] == "liu.na@customer.example"
    assert {p["number"] for p in found["related"]["policy"]}
    assert all(a["record_id"] for a in found["audit"]) and any(a["entity"] == "party" for a in found["audit"])
    assert isinstance(found["access_log"], list)  # the party's entries of the access log
    zipped = ins.client.get(f"{API}/privacy/parties/{liu['id']}/bundle?format=zip", headers=ins.headers)
    assert zipped.status_code == 200 and zipped.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(zipped.data)).namelist()
    assert {"bundle.json", "party.csv", "policy.csv", "audit.csv"} <= set(names)
    assert ins.client.get(f"{API}/privacy/parties/{liu['id']}/bundle?format=pdf", headers=ins.headers).status_code == 400
    # the CLI gives the same bundle; every export is logged, without its content
    result = loom(ins.install, "dsr", "export", "ins", str(liu["id"]))
    assert result.exit_code == 0 and json.loads(result.output)["record"]["name"] == "Liu Na"
    exports = [e for e in ins.client.get(f"{API}/privacy/log?entity=party&record={liu['id']}",
                                         headers=ins.headers).get_json()["items"] if e["kind"] == "export"]
    assert len(exports) == 3 and "Liu Na" not in json.dumps(exports)
    bad = loom(ins.install, "dsr", "export", "ins", "nobody")
    assert bad.exit_code == 1 and "error: no record 'nobody'" in bad.output
    earlier = tmp_path / "answer.zip"  # an earlier answer is never written over
    earlier.write_bytes(b"sent last week")
    kept = loom(ins.install, "dsr", "export", "ins", str(liu["id"]), "--zip", str(earlier))
    assert kept.exit_code == 1 and "exists already" in kept.output and earlier.read_bytes() == b"sent last week"
    assert len([e for e in ins.client.get(f"{API}/privacy/log?entity=party&record={liu['id']}",
                                          headers=ins.headers).get_json()["items"] if e["kind"] == "export"]) == 3


def test_the_cli_erases_with_a_reason(ins):
    wu = next(p for p in ins.session.records.list("party", [("limit", "200")])["items"] if p["name"] == "Wu Jing")
    missing = loom(ins.install, "dsr", "erase", "ins", str(wu["id"]))
    assert missing.exit_code == 2 and "--reason" in missing.output
    blank = loom(ins.install, "dsr", "erase", "ins", str(wu["id"]), "--reason", " ")
    assert blank.exit_code == 1 and "needs a reason" in blank.output
    assert ins.session.records.get("party", wu["id"])["name"] == "Wu Jing"
    result = loom(ins.install, "dsr", "erase", "ins", str(wu["id"]), "--reason", "letter of 2026-11-30")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["erased"] is True
    assert ins.session.records.get("party", wu["id"])["email"] is None
