"""Encryption at rest over time, on SQLite and PostgreSQL: publishing a change of PII class
encrypts or decrypts the stored values (and the plan says so); a missing or wrong master key
is a clear refusal that changes nothing; `loom keys rotate` re-encrypts every value with a
new data key (resumably) and `loom keys rewrap` moves the data keys to a new master key."""
import copy

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from engine.cli import cli
from engine.crypto.keyring import add_key, key_rows
from engine.crypto.master import KeyProblem
from engine.install import Install
from engine.systables import loom_table
from engine.records.bulk_rows import COPY_ROWS
from tests.engine.test_encryption import DOC, ID_NUMBER, new_key, raw_rows

PLAIN = {"entities": [{"name": "customer", "fields": [
    {"name": "name", "type": "string", "pii": True},
    {"name": "id_number", "type": "string", "max_length": 18, "pii": "contact", "unique": True}]}]}


def with_class(doc, pii):
    doc = copy.deepcopy(doc)
    doc["entities"][0]["fields"][1]["pii"] = pii
    return doc


def run(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


@pytest.fixture
def master(monkeypatch):
    key = new_key()
    monkeypatch.setenv("LOOM_MASTER_KEY", key)
    monkeypatch.delenv("LOOM_MASTER_KEY_FILE", raising=False)
    return key


@pytest.fixture
def plain(install, master):
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(PLAIN)
    return session


def test_a_change_to_identity_encrypts_stored_values_and_back_decrypts_them(install, plain):
    ids = plain.records.create_many("customer", [{"id_number": ID_NUMBER}, {"id_number": "X1"}, {"name": "Bo"}])
    plan = install.session("shop").apply_metadata(with_class(PLAIN, "identity"), dry_run=True).plan
    [change] = [c for c in plan["changes"] if c["kind"] == "alter_encryption"]
    assert change["description"].startswith("encrypt customer.id_number at rest") and change["values"] == 2
    assert raw_rows(plain)[0]["id_number"] == ID_NUMBER  # a dry run changes nothing
    install.session("shop").apply_metadata(with_class(PLAIN, "identity"))
    session = install.session("shop")
    assert raw_rows(session)[0]["id_number"].startswith("v1:k1:")
    assert session.records.get("customer", ids[0])["id_number"] == ID_NUMBER
    assert [r["id"] for r in session.records.list("customer", [("id_number", "X1")])["items"]] == [ids[1]]
    with pytest.raises(Exception, match="already used"):
        session.records.create("customer", {"id_number": "X1"})
    back = install.session("shop").apply_metadata(PLAIN)
    assert any(c["description"].startswith("decrypt customer.id_number") for c in back.changes)
    assert [r["id_number"] for r in raw_rows(install.session("shop"))] == [ID_NUMBER, "X1", None]


def test_without_a_master_key_an_encrypting_publication_is_refused_and_changes_nothing(install, plain, monkeypatch):
    plain.records.create("customer", {"id_number": ID_NUMBER})
    monkeypatch.delenv("LOOM_MASTER_KEY")
    with pytest.raises(KeyProblem, match="no master key.*LOOM_MASTER_KEY"):
        install.session("shop").apply_metadata(with_class(PLAIN, "sensitive"))
    assert raw_rows(plain)[0]["id_number"] == ID_NUMBER
    assert install.session("shop").metadata().package.entity("customer").field("id_number").pii_class == "contact"


def test_reads_and_writes_of_encrypted_fields_without_the_right_master_key_are_refused(settings, plugins, install,
                                                                                        master, monkeypatch):
    install.registry.create("shop", "Shop")
    install.session("shop").apply_metadata(DOC)
    install.session("shop").records.create("customer", {"id_number": ID_NUMBER})
    for env, message in ((None, "no master key"), (new_key(), "wrapped by master key"),
                         ("not-a-key", "32 random bytes in base64")):
        if env is None:
            monkeypatch.delenv("LOOM_MASTER_KEY")
        else:
            monkeypatch.setenv("LOOM_MASTER_KEY", env)
        fresh = Install(settings, plugins)  # a server started with that setting
        try:
            records = fresh.session("shop").records
            with pytest.raises(KeyProblem, match=message) as refused:
                records.list("customer")
            assert refused.value.status == 503
            with pytest.raises(KeyProblem, match=message):
                records.create("customer", {"id_number": "new"})
            assert len(raw_rows(fresh.session("shop"))) == 1
        finally:
            fresh.dispose()


def test_master_key_from_a_file_and_both_settings_refused(settings, plugins, install, master, monkeypatch, tmp_path):
    install.registry.create("shop", "Shop")
    install.session("shop").apply_metadata(DOC)
    record = install.session("shop").records.create("customer", {"id_number": ID_NUMBER})
    (tmp_path / "master.key").write_text(master + "\n")
    monkeypatch.setenv("LOOM_MASTER_KEY_FILE", str(tmp_path / "master.key"))
    fresh = Install(settings, plugins)
    try:
        with pytest.raises(KeyProblem, match="not both"):
            fresh.session("shop").records.get("customer", record["id"])
        monkeypatch.delenv("LOOM_MASTER_KEY")
        fresh.cache.forget("shop")
        assert fresh.session("shop").records.get("customer", record["id"])["id_number"] == ID_NUMBER
    finally:
        fresh.dispose()


def test_rotation_keeps_values_changes_ciphertext_and_equality_search(install, master):
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(DOC)
    ids = session.records.create_many("customer", [{"id_number": f"N{i}", "diagnosis": f"病 {i}"} for i in range(7)])
    before = raw_rows(session)
    done = run(install, "keys", "rotate", "shop", "--batch", "3")
    assert done.exit_code == 0, done.output
    assert "shop: rotated to data key k2; 14 values re-encrypted" in done.output
    after = raw_rows(install.session("shop"))
    assert all(a["id_number"].startswith("v1:k2:") and a["id_number"] != b["id_number"]
               and a["id_number__hash"] == b["id_number__hash"] for a, b in zip(after, before))
    fresh = install.session("shop")
    assert [fresh.records.get("customer", i)["diagnosis"] for i in ids] == [f"病 {i}" for i in range(7)]
    assert [r["id"] for r in fresh.records.list("customer", [("id_number", "N3")])["items"]] == [ids[3]]
    with fresh.storage.connect() as conn:
        assert [(r["seq"], r["state"]) for r in key_rows(conn, fresh.storage.schema)] == [(1, "retired"), (2, "active")]
    listed = run(install, "keys", "list", "shop")
    assert '"key": "k2"' in listed.output and "wrapped" not in listed.output


def test_an_interrupted_rotation_resumes_with_the_same_key(install, master):
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(DOC)
    session.records.create_many("customer", [{"id_number": f"N{i}"} for i in range(4)])
    with session.storage.begin() as conn:  # a rotation stopped after its new key was made
        conn.execute(update(loom_table(session.storage.schema, "loom_keys")).values(state="retired"))
        add_key(conn, session.storage.schema, "rotating")
    done = run(install, "keys", "rotate", "shop")
    assert "resumed the rotation to data key k2; 4 values re-encrypted" in done.output
    again = run(install, "keys", "rotate", "shop")
    assert "rotated to data key k3; 4 values re-encrypted" in again.output


def test_a_rotation_with_a_wrong_master_key_is_refused_and_changes_nothing(install, master, monkeypatch):
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(DOC)
    record = session.records.create("customer", {"id_number": ID_NUMBER})
    monkeypatch.setenv("LOOM_MASTER_KEY", new_key())  # mistyped, or another install's
    refused = run(install, "keys", "rotate", "shop")
    assert refused.exit_code == 1 and "wrapped by master key" in refused.output
    monkeypatch.setenv("LOOM_MASTER_KEY", master)
    fresh = install.session("shop")
    with fresh.storage.connect() as conn:
        assert [(r["seq"], r["state"]) for r in key_rows(conn, fresh.storage.schema)] == [(1, "active")]
    assert fresh.records.get("customer", record["id"])["id_number"] == ID_NUMBER
    assert "rotated to data key k2" in run(install, "keys", "rotate", "shop").output


def test_rewrap_moves_data_keys_to_a_new_master_key(settings, plugins, install, master, monkeypatch, tmp_path):
    install.registry.create("shop", "Shop")
    install.session("shop").apply_metadata(DOC)
    record = install.session("shop").records.create("customer", {"id_number": ID_NUMBER})
    install.registry.create("empty", "Empty")
    new = new_key()
    (tmp_path / "new.key").write_text(new)
    done = run(install, "keys", "rewrap", "--new-master", str(tmp_path / "new.key"))
    assert done.exit_code == 0 and "shop: 1 data keys rewrapped" in done.output and "empty: 0" in done.output
    monkeypatch.setenv("LOOM_MASTER_KEY", new)
    fresh = Install(settings, plugins)
    try:
        assert fresh.session("shop").records.get("customer", record["id"])["id_number"] == ID_NUMBER
    finally:
        fresh.dispose()


def test_cli_errors_are_one_clear_line(install, master, tmp_path):
    install.registry.create("shop", "Shop")
    install.session("shop").apply_metadata(PLAIN)
    cases = [(("keys", "rotate", "shop"), "no data key"),
             (("keys", "rotate", "nope"), "nope"),
             (("keys", "rewrap", "--new-master", str(tmp_path / "missing.key")), "cannot read"),
             (("keys", "rotate", "shop", "--batch", "0"), "0")]
    for args, words in cases:
        result = run(install, *args)
        assert result.exit_code != 0 and words in result.output and "Traceback" not in result.output, result.output
    (tmp_path / "bad.key").write_text("short")
    bad = run(install, "keys", "rewrap", "--new-master", str(tmp_path / "bad.key"))
    assert bad.exit_code == 1 and "32 random bytes" in bad.output
    generated = run(install, "keys", "generate")
    assert generated.exit_code == 0 and len(generated.output.strip()) == 44


def test_a_yearly_schedule_on_an_encrypted_date_fires_on_the_day(install, master):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from workflows.calendar import save_calendar
    from workflows.schedules import run_schedules

    doc = copy.deepcopy(DOC)
    doc["rulesets"] = [{"name": "greetings", "kind": "automation", "entity": "customer", "rules": [
        {"name": "birthday", "actions": [{"action": "set_field", "params": {"field": "name", "value": "x"}}],
         "when": {"event": "timer", "schedule": {"field": "born", "offset": "0d", "yearly": True}}}]}]
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(doc)
    save_calendar(session, {"timezone": "Asia/Shanghai"})
    ids = session.records.create_many("customer", [{"born": "1990-03-07"}, {"born": "1990-03-08"}, {}])
    fired = []
    run_schedules(session, datetime(2026, 3, 7, 9, 5, tzinfo=ZoneInfo("Asia/Shanghai")),
                  lambda s, ruleset, rule, record, key: fired.append(record["id"]))
    assert fired == [ids[0]]


def test_a_large_batch_encrypts_at_rest_and_finds_by_equality(install, master):
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(DOC)
    count = COPY_ROWS + 6  # through COPY on PostgreSQL
    ids = session.records.create_many("customer", [{"id_number": f"C{i}", "diagnosis": f"病\t{i}"}
                                                   for i in range(count)])
    stored = raw_rows(session)
    assert len(stored) == count and all(r["id_number"].startswith("v1:k1:") and r["id_number__hash"]
                                        for r in stored)
    fresh = install.session("shop")
    assert [fresh.records.get("customer", i)["diagnosis"] for i in ids] == [f"病\t{i}" for i in range(count)]
    assert [r["id"] for r in fresh.records.list("customer", [("id_number", "C42")])["items"]] == [ids[42]]
