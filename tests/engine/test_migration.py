"""Runtime schema migration: apply, refuse, archive, roll back — checked against the real
database (columns, indexes, foreign keys, inserts through the record service) on SQLite
and PostgreSQL."""
import copy
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from engine.errors import Conflict, MigrationRefused, NotFound, ValidationFailed
from engine.fieldtypes import CustomFieldType
from engine.hookspecs import hookimpl
from engine.migration import archive, moves, restore, versions
from engine.migration.ddl import Migrator

# Metadata and the layers behind it change with every version; the rest must not.
METADATA_TABLES = ("loom_metadata_versions", "loom_overlay", "loom_packs")

SYSTEM = {"id", "created_at", "updated_at", "created_by", "updated_by", "owner_id", "version"}


# -- reading the real database -------------------------------------------------------

def live_columns(session, entity) -> dict:
    """Column name -> nullable, as the database reports it."""
    columns = sa.inspect(session.storage.engine).get_columns(entity, schema=session.storage.schema)
    return {c["name"]: c["nullable"] for c in columns}


def live_indexes(session, entity) -> dict:
    indexes = sa.inspect(session.storage.engine).get_indexes(entity, schema=session.storage.schema)
    return {i["name"]: (tuple(i["column_names"]), bool(i["unique"])) for i in indexes}


def live_foreign_keys(session, entity) -> dict:
    """Column -> (referred table, ON DELETE action)."""
    fks = sa.inspect(session.storage.engine).get_foreign_keys(entity, schema=session.storage.schema)
    return {fk["constrained_columns"][0]: (fk["referred_table"], (fk["options"].get("ondelete") or "").upper())
            for fk in fks}


def live_tables(session) -> set:
    return set(sa.inspect(session.storage.engine).get_table_names(schema=session.storage.schema))


def _rows(conn, table) -> list:
    order = list(table.primary_key.columns) or list(table.c)[:1]
    return [dict(r) for r in conn.execute(sa.select(table).order_by(*order)).mappings()]


def snapshot(session) -> dict:
    """Everything a migration could touch: every table's columns, indexes, foreign keys
    and rows (the version history and the archive register included)."""
    schema = session.storage.schema
    with session.storage.connect() as conn:
        inspector = sa.inspect(conn)
        columns = inspector.get_multi_columns(schema=schema)
        indexes = inspector.get_multi_indexes(schema=schema)
        fks = inspector.get_multi_foreign_keys(schema=schema)
        md = sa.MetaData()
        md.reflect(conn, schema=schema)
        return {key[1]: {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in columns[key]],
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in indexes[key]),
            "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"]) for f in fks[key]),
            "rows": _rows(conn, md.tables[f"{schema}.{key[1]}" if schema else key[1]]),
        } for key in sorted(columns)}


def version_numbers(session) -> list:
    return [h["version"] for h in session.metadata_history()]


# -- editing documents ---------------------------------------------------------------

def entity_of(doc, name) -> dict:
    return next(e for e in doc["entities"] if e["name"] == name)


def field_of(doc, entity, name) -> dict:
    return next(f for f in entity_of(doc, entity)["fields"] if f["name"] == name)


def with_field(doc, entity, **spec) -> dict:
    doc = copy.deepcopy(doc)
    entity_of(doc, entity)["fields"].append(spec)
    return doc


def without_field(doc, entity, name) -> dict:
    doc = copy.deepcopy(doc)
    fields = entity_of(doc, entity)["fields"]
    fields[:] = [f for f in fields if f["name"] != name]
    return doc


def with_changed(doc, entity, name, **changes) -> dict:
    doc = copy.deepcopy(doc)
    spec = field_of(doc, entity, name)
    for key, value in changes.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return doc


def with_entity(doc, name, *fields) -> dict:
    doc = copy.deepcopy(doc)
    doc["entities"].append({"name": name, "label": name.capitalize(), "fields": list(fields)})
    return doc


def without_entity(doc, name) -> dict:
    doc = copy.deepcopy(doc)
    doc["entities"] = [e for e in doc["entities"] if e["name"] != name]
    return doc


def refused(session, document, **kw) -> MigrationRefused:
    with pytest.raises(MigrationRefused) as info:
        session.apply_metadata(document, **kw)
    return info.value


def fill_contacts(session, *names):
    account = session.records.create("account", {"name": "Acme", "industry": "retail"})
    return account, [session.records.create("contact", {"full_name": n, "account": account["id"]})
                     for n in names]


# -- applying a document -------------------------------------------------------------

def test_apply_creates_tables_columns_indexes_and_foreign_keys(acme):
    columns = live_columns(acme, "contact")
    assert set(columns) == SYSTEM | {"full_name", "email", "phone", "birthday", "tier", "lifetime_value",
                                     "consent_marketing", "account", "email__key", "phone__key"}  # match keys
    assert columns["full_name"] is False and columns["email"] is True
    indexes = live_indexes(acme, "contact")
    assert indexes["ux_contact_email"] == (("email",), True)
    assert indexes["ix_contact_phone"] == (("phone",), False)
    assert indexes["ix_contact_account"] == (("account",), False)
    assert live_foreign_keys(acme, "contact") == {"account": ("account", "SET NULL")}
    [first] = acme.metadata_history()
    assert (first["version"], first["action"]) == (1, "apply")


def test_apply_adds_new_entity_as_table_and_new_field_as_column(acme, crm_doc):
    doc = with_entity(with_field(crm_doc, "contact", name="nickname", type="string", indexed=True),
                      "ticket", {"name": "subject", "type": "string", "required": True},
                      {"name": "contact", "type": "reference", "to": "contact", "on_delete": "cascade"})
    result = acme.apply_metadata(doc)
    assert (result.version, result.applied) == (2, True)
    assert "nickname" in live_columns(acme, "contact")
    assert live_indexes(acme, "contact")["ix_contact_nickname"] == (("nickname",), False)
    assert live_columns(acme, "ticket")["subject"] is False
    assert live_foreign_keys(acme, "ticket") == {"contact": ("contact", "CASCADE")}
    _, [ada] = fill_contacts(acme, "Ada")
    ticket = acme.records.create("ticket", {"subject": "Hello", "contact": ada["id"]})
    assert acme.records.get("ticket", ticket["id"])["contact"] == ada["id"]


def test_applying_the_same_document_twice_changes_nothing(acme, crm_doc):
    before = snapshot(acme)
    result = acme.apply_metadata(crm_doc)
    assert (result.applied, result.version, result.changes) == (False, 1, [])
    assert snapshot(acme) == before


def test_label_only_change_records_a_version_without_ddl(acme, crm_doc):
    fill_contacts(acme, "Ada")
    before = snapshot(acme)
    doc = with_changed(crm_doc, "contact", "full_name", label={"en": "Name", "de": "Name"})
    result = acme.apply_metadata(doc)
    assert result.applied and result.version == 2
    assert [c["ddl"] for c in result.changes] == [False]
    after = snapshot(acme)
    assert {k: v for k, v in after.items() if k not in METADATA_TABLES} == \
        {k: v for k, v in before.items() if k not in METADATA_TABLES}
    assert version_numbers(acme) == [1, 2]
    assert acme.metadata().package.entity("contact").field("full_name").label["de"] == "Name"


def test_dry_run_reports_changes_and_changes_nothing(acme, crm_doc):
    before = snapshot(acme)
    result = acme.apply_metadata(with_field(crm_doc, "contact", name="nickname", type="string"), dry_run=True)
    assert result.dry_run and not result.applied
    assert [c["kind"] for c in result.changes] == ["add_field"]
    assert snapshot(acme) == before


def test_dry_run_previews_drops_without_refusing_or_archiving(acme, crm_doc):
    fill_contacts(acme, "Ada")
    before = snapshot(acme)
    result = acme.apply_metadata(without_field(crm_doc, "contact", "phone"), dry_run=True)
    assert [(c["kind"], c["field"]) for c in result.changes] == [("drop_field", "phone")]
    assert (result.applied, result.archives) == (False, [])
    assert snapshot(acme) == before


def test_index_follows_the_document(acme, crm_doc):
    doc = with_changed(crm_doc, "contact", "birthday", indexed=True)
    acme.apply_metadata(doc)
    assert live_indexes(acme, "contact")["ix_contact_birthday"] == (("birthday",), False)
    acme.apply_metadata(with_changed(doc, "contact", "phone", indexed=None))
    indexes = live_indexes(acme, "contact")
    assert "ix_contact_phone" not in indexes and "ix_contact_birthday" in indexes


def test_uniqueness_follows_the_document(acme, crm_doc):
    _, [ada] = fill_contacts(acme, "Ada")
    acme.records.update("contact", ada["id"], {"phone": "+1 555 0100"})
    acme.apply_metadata(with_changed(crm_doc, "contact", "phone", unique=True))
    assert live_indexes(acme, "contact")["ux_contact_phone"] == (("phone",), True)
    with pytest.raises(Conflict):
        acme.records.create("contact", {"full_name": "Bob", "phone": "+1 555 0100"})
    acme.apply_metadata(with_changed(crm_doc, "contact", "email", unique=None))
    assert "ux_contact_email" not in live_indexes(acme, "contact")
    acme.records.create("contact", {"full_name": "C1", "email": "same@x.org"})
    acme.records.create("contact", {"full_name": "C2", "email": "same@x.org"})


def test_required_and_optional_follow_the_document(acme, crm_doc):
    acme.apply_metadata(with_changed(crm_doc, "contact", "full_name", required=None))
    assert live_columns(acme, "contact")["full_name"] is True
    acme.records.create("contact", {"email": "nameless@x.org"})
    acme.records.delete("contact", acme.records.list("contact")["items"][0]["id"])
    acme.apply_metadata(with_changed(crm_doc, "contact", "birthday", required=True))
    assert live_columns(acme, "contact")["birthday"] is False
    table = acme.metadata().tables["contact"]
    with pytest.raises(IntegrityError), acme.storage.begin() as conn:
        conn.execute(table.insert().values(full_name="x", created_at=sa.func.now(),
                                           updated_at=sa.func.now(), version=1))


def test_making_a_field_required_fills_rows_with_its_default(acme, crm_doc):
    _, contacts = fill_contacts(acme, "Ada", "Bob")
    acme.apply_metadata(with_changed(crm_doc, "contact", "phone", required=True, default="+1 555 0000"))
    assert [acme.records.get("contact", c["id"])["phone"] for c in contacts] == ["+1 555 0000"] * 2
    assert live_columns(acme, "contact")["phone"] is False


@pytest.mark.parametrize("names, words", [(["Ada"], "1 row"), (["Ada", "Bob"], "2 rows")])
def test_making_a_field_required_is_refused_while_rows_lack_it(acme, crm_doc, names, words):
    fill_contacts(acme, *names)
    before = snapshot(acme)
    error = refused(acme, with_changed(crm_doc, "contact", "birthday", required=True))
    assert error.details == [{"field": "contact.birthday", "code": "migration_refused", "message":
                              f"birthday is empty in {words}; fill in the values or give the field a default first"}]
    assert snapshot(acme) == before


def test_new_required_field_with_default_fills_existing_rows(acme, crm_doc):
    _, contacts = fill_contacts(acme, "Ada", "Bob")
    acme.apply_metadata(with_field(crm_doc, "contact", name="score", type="integer", required=True, default=7))
    assert [acme.records.get("contact", c["id"])["score"] for c in contacts] == [7, 7]
    assert live_columns(acme, "contact")["score"] is False


@pytest.mark.parametrize("names, words", [(["Ada"], "1 existing row"), (["Ada", "Bob"], "2 existing rows")])
def test_new_required_field_without_default_is_refused_with_the_row_count(acme, crm_doc, names, words):
    fill_contacts(acme, *names)
    before = snapshot(acme)
    error = refused(acme, with_field(crm_doc, "contact", name="score", type="integer", required=True))
    assert error.message == "refused: 1 change would lose or break data; nothing was changed"
    assert error.details[0]["field"] == "contact.score"
    assert f"{words} would have no value" in error.details[0]["message"]
    assert snapshot(acme) == before


def test_new_required_field_without_default_is_added_to_an_empty_table(acme, crm_doc):
    acme.apply_metadata(with_field(crm_doc, "contact", name="score", type="integer", required=True))
    assert live_columns(acme, "contact")["score"] is False


def test_new_unique_field_with_a_default_is_refused_when_rows_would_share_it(acme, crm_doc):
    fill_contacts(acme, "Ada", "Bob")
    before = snapshot(acme)
    error = refused(acme, with_field(crm_doc, "contact", name="code", type="string", unique=True, default="X"))
    assert error.details[0]["field"] == "contact.code"
    assert "2 existing rows would share the default" in error.details[0]["message"]
    assert snapshot(acme) == before


# -- destructive changes -------------------------------------------------------------

def test_apply_refuses_drop_without_allow_drop(acme, crm_doc):
    fill_contacts(acme, "Ada")
    before = snapshot(acme)
    doc = without_field(without_field(crm_doc, "contact", "birthday"), "contact", "phone")
    error = refused(acme, doc)
    assert error.code == "destructive_change"
    assert error.message.startswith("refused: applying this document would drop fields contact.phone and "
                                    "contact.birthday")
    assert [d["field"] for d in error.details] == ["contact.phone", "contact.birthday"]
    assert snapshot(acme) == before


def test_apply_refuses_entity_drop_and_names_it(acme, crm_doc):
    doc = without_field(without_entity(crm_doc, "account"), "contact", "account")
    error = refused(acme, doc)
    assert error.message.startswith(
        "refused: applying this document would drop field contact.account and entity account;")
    assert "account" in live_tables(acme)


def test_dropped_field_is_archived_and_rollback_restores_it(acme, crm_doc):
    _, [ada, bob] = fill_contacts(acme, "Ada", "Bob")
    acme.records.update("contact", ada["id"], {"birthday": "1815-12-10"})
    result = acme.apply_metadata(without_field(crm_doc, "contact", "birthday"), allow_drop=True)
    assert "birthday" not in live_columns(acme, "contact")
    [entry] = result.archives
    assert (entry["kind"], entry["field"], entry["rows"]) == ("field", "birthday", 1)  # rows holding a value
    assert entry["table"] in live_tables(acme)
    assert "birthday" not in acme.records.get("contact", ada["id"])
    carol = acme.records.create("contact", {"full_name": "Carol"})
    back = acme.rollback_metadata(1)
    assert back.version == 3 and [a["kind"] for a in back.archives] == ["restored_field"]
    assert live_columns(acme, "contact")["birthday"] is True
    assert [acme.records.get("contact", c["id"])["birthday"] for c in (ada, bob, carol)] == \
        ["1815-12-10", None, None]


def test_rollback_restores_a_dropped_required_field(acme, crm_doc):
    _, contacts = fill_contacts(acme, "Ada", "Bob")
    acme.apply_metadata(without_field(crm_doc, "contact", "full_name"), allow_drop=True)
    acme.rollback_metadata(1)
    assert live_columns(acme, "contact")["full_name"] is False
    assert [acme.records.get("contact", c["id"])["full_name"] for c in contacts] == ["Ada", "Bob"]


def test_rollback_of_a_required_field_is_refused_for_rows_created_without_it(acme, crm_doc):
    fill_contacts(acme, "Ada")
    acme.apply_metadata(without_field(crm_doc, "contact", "full_name"), allow_drop=True)
    acme.records.create("contact", {"email": "new@x.org"})
    before = snapshot(acme)
    with pytest.raises(MigrationRefused) as info:
        acme.rollback_metadata(1)
    assert "1 existing row would have no value" in info.value.details[0]["message"]
    assert snapshot(acme) == before


def test_restore_keeps_archived_empty_values_of_a_field_with_a_default(acme, crm_doc):
    doc = with_field(crm_doc, "contact", name="source", type="string", default="import")
    acme.apply_metadata(doc)
    _, [ada, bob] = fill_contacts(acme, "Ada", "Bob")
    acme.records.update("contact", ada["id"], {"source": None})
    acme.records.update("contact", bob["id"], {"source": "web"})
    acme.apply_metadata(crm_doc, allow_drop=True)
    carol = acme.records.create("contact", {"full_name": "Carol"})
    acme.rollback_metadata(2)
    assert [acme.records.get("contact", c["id"])["source"] for c in (ada, bob, carol)] == \
        [None, "web", "import"]


def test_restore_does_not_hand_archived_values_to_a_row_that_reused_an_id(acme, crm_doc):
    _, [ada, bob] = fill_contacts(acme, "Ada", "Bob")
    acme.records.update("contact", bob["id"], {"birthday": "1990-01-01"})
    acme.apply_metadata(without_field(crm_doc, "contact", "birthday"), allow_drop=True)
    acme.records.delete("contact", bob["id"])
    newcomer = acme.records.create("contact", {"full_name": "Newcomer"})
    acme.rollback_metadata(1)
    assert acme.records.get("contact", newcomer["id"])["birthday"] is None


def test_rollback_restores_a_field_from_its_archive_of_the_same_type(acme, crm_doc):
    _, [ada] = fill_contacts(acme, "Ada")
    acme.records.update("contact", ada["id"], {"birthday": "1815-12-10"})
    acme.apply_metadata(without_field(crm_doc, "contact", "birthday"), allow_drop=True)
    acme.apply_metadata(with_field(without_field(crm_doc, "contact", "birthday"), "contact",
                                   name="birthday", type="currency"))
    acme.records.update("contact", ada["id"], {"birthday": {"amount": "1.00", "currency": "EUR"}})
    acme.apply_metadata(without_field(crm_doc, "contact", "birthday"), allow_drop=True)
    acme.rollback_metadata(1)
    assert acme.records.get("contact", ada["id"])["birthday"] == "1815-12-10"


def test_rollback_is_refused_when_archived_values_do_not_fit_the_restored_definition(acme, crm_doc):
    doc = with_changed(crm_doc, "contact", "full_name", max_length=200)
    acme.apply_metadata(doc)
    acme.records.create("contact", {"full_name": "x" * 150})
    acme.apply_metadata(without_field(doc, "contact", "full_name"), allow_drop=True)
    before = snapshot(acme)
    with pytest.raises(MigrationRefused) as info:
        acme.rollback_metadata(1)
    assert info.value.message.startswith(
        "refused: 1 archived value of contact.full_name would not fit its definition (for example row 1: "
        "must be at most 120 characters (got 150))")
    assert snapshot(acme) == before
    acme.rollback_metadata(2)
    assert acme.records.list("contact")["items"][0]["full_name"] == "x" * 150


def test_dropped_entity_is_archived_and_rollback_restores_its_rows(acme, crm_doc):
    account, contacts = fill_contacts(acme, "Ada", "Bob")
    doc = without_entity(without_field(crm_doc, "contact", "account"), "account")
    result = acme.apply_metadata(doc, allow_drop=True)
    assert "account" not in live_tables(acme)
    assert sorted((a["kind"], a["entity"], a["rows"]) for a in result.archives) == \
        [("entity", "account", 1), ("field", "contact", 2)]
    acme.rollback_metadata(1)
    assert "account" in live_tables(acme)
    assert live_foreign_keys(acme, "contact") == {"account": ("account", "SET NULL")}
    restored = acme.records.get("account", account["id"])
    assert (restored["name"], restored["industry"], restored["created_at"]) == \
        ("Acme", "retail", account["created_at"])
    assert [acme.records.get("contact", c["id"])["account"] for c in contacts] == [account["id"]] * 2
    fresh = acme.records.create("account", {"name": "Next"})
    assert fresh["id"] > account["id"]


def test_rollback_returns_to_a_version_as_a_new_version_keeping_later_rows(acme, crm_doc):
    _, [ada] = fill_contacts(acme, "Ada")
    doc = with_entity(with_field(crm_doc, "contact", name="nickname", type="string"),
                      "ticket", {"name": "subject", "type": "string"})
    acme.apply_metadata(doc)
    bob = acme.records.create("contact", {"full_name": "Bob", "nickname": "B"})
    acme.records.create("ticket", {"subject": "Hi"})
    result = acme.rollback_metadata(1)
    assert result.version == 3
    history = acme.metadata_history()
    assert [(h["version"], h["action"]) for h in history] == [(1, "apply"), (2, "apply"), (3, "rollback to 1")]
    assert history[2]["document"] == history[0]["document"]
    assert "nickname" not in live_columns(acme, "contact") and "ticket" not in live_tables(acme)
    assert sorted((a["kind"], a["entity"]) for a in result.archives) == [("entity", "ticket"), ("field", "contact")]
    assert [c["full_name"] for c in acme.records.list("contact")["items"]] == ["Ada", "Bob"]
    acme.rollback_metadata(2)
    assert acme.records.get("contact", bob["id"])["nickname"] == "B"
    assert [t["subject"] for t in acme.records.list("ticket")["items"]] == ["Hi"]
    assert acme.records.get("contact", ada["id"])["nickname"] is None


def test_rollback_to_an_unknown_version_is_not_found(acme):
    with pytest.raises(NotFound):
        acme.rollback_metadata(9)
    assert version_numbers(acme) == [1]


def test_history_records_every_version_with_its_changes_and_archives(acme, crm_doc):
    acme.apply_metadata(with_field(crm_doc, "contact", name="nickname", type="string"))
    acme.apply_metadata(crm_doc, allow_drop=True)
    history = acme.metadata_history()
    assert [h["version"] for h in history] == [1, 2, 3]
    assert history[1]["changes"][0]["description"] == "add field contact.nickname (string)"
    assert history[2]["archives"][0]["field"] == "nickname"
    assert all(h["applied_by"] == "cli" for h in history)


def test_concurrent_applies_of_one_document_apply_it_once(acme, crm_doc):
    doc = with_field(crm_doc, "contact", name="nickname", type="string")
    barrier = threading.Barrier(3)
    results, errors = [], []

    def apply():
        session = acme.install.session("acme")
        barrier.wait()
        try:
            results.append(session.apply_metadata(doc).applied)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=apply) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and sorted(results) == [False, False, True]
    assert version_numbers(acme) == [1, 2]


# -- type changes --------------------------------------------------------------------

def test_type_change_converts_every_value_that_converts(acme, crm_doc):
    doc = with_field(crm_doc, "contact", name="code", type="string")
    acme.apply_metadata(doc)
    _, [ada, bob] = fill_contacts(acme, "Ada", "Bob")
    acme.records.update("contact", ada["id"], {"code": "42"})
    acme.records.update("contact", bob["id"], {"code": " -7 "})
    acme.apply_metadata(with_changed(doc, "contact", "code", type="integer"))
    assert [acme.records.get("contact", c["id"])["code"] for c in (ada, bob)] == [42, -7]
    with pytest.raises(ValidationFailed):
        acme.records.create("contact", {"full_name": "C", "code": "nope"})
    acme.rollback_metadata(2)
    assert [acme.records.get("contact", c["id"])["code"] for c in (ada, bob)] == ["42", "-7"]


CONVERSIONS = [
    ({"type": "integer"}, 42, {"type": "string"}, "42"),
    ({"type": "string"}, "3.50", {"type": "decimal"}, "3.50"),
    ({"type": "decimal", "scale": 2}, "10.00", {"type": "integer"}, 10),
    ({"type": "date"}, "2024-01-02", {"type": "datetime"}, "2024-01-02T00:00:00Z"),
    ({"type": "boolean"}, True, {"type": "string"}, "true"),
    ({"type": "string"}, "yes", {"type": "boolean"}, True),
    ({"type": "multi_choice", "options": ["a", "b"]}, ["a"], {"type": "json"}, ["a"]),
    ({"type": "json"}, {"k": 1}, {"type": "text"}, '{"k": 1}'),
    ({"type": "string"}, "gold", {"type": "choice", "options": ["gold", "silver"]}, "gold"),
    ({"type": "string"}, "a@b.org", {"type": "email"}, "a@b.org"),
    ({"type": "decimal", "precision": 10, "scale": 2}, "12.34", {"type": "decimal", "precision": 30, "scale": 4},
     "12.3400"),
    ({"type": "currency", "scale": 3}, {"amount": "1.250", "currency": "EUR"},
     {"type": "currency", "precision": 12, "scale": 2}, {"amount": "1.25", "currency": "EUR"}),
]


@pytest.mark.parametrize("old, value, new, expected", CONVERSIONS,
                         ids=[f"{o['type']}-{n['type']}" for o, _, n, _ in CONVERSIONS])
def test_type_change_converts_stored_values(acme, crm_doc, old, value, new, expected):
    doc = with_field(crm_doc, "contact", name="value", **old)
    acme.apply_metadata(doc)
    _, [ada, bob] = fill_contacts(acme, "Ada", "Bob")
    acme.records.update("contact", ada["id"], {"value": value})
    acme.apply_metadata(with_changed(doc, "contact", "value", **{"precision": None, "scale": None, "options": None,
                                                                 **new}))
    assert [acme.records.get("contact", c["id"])["value"] for c in (ada, bob)] == [expected, None]
    columns = {"currency": {"value", "value__currency"}, "email": {"value", "value__key"},  # + the match key
               "phone": {"value", "value__key"}}.get(new["type"], {"value"})
    assert {c for c in live_columns(acme, "contact") if c.startswith("value")} == columns


def test_currency_scale_narrowing_that_would_round_is_refused(acme, crm_doc):
    doc = with_field(crm_doc, "contact", name="budget", type="currency", scale=3)
    acme.apply_metadata(doc)
    _, [ada, bob] = fill_contacts(acme, "Ada", "Bob")
    acme.records.update("contact", ada["id"], {"budget": {"amount": "1.255", "currency": "EUR"}})
    acme.records.update("contact", bob["id"], {"budget": {"amount": "2.5", "currency": "USD"}})
    before = snapshot(acme)
    error = refused(acme, with_changed(doc, "contact", "budget", scale=2))
    assert "would lose data in 1 row" in error.details[0]["message"]
    assert snapshot(acme) == before


@pytest.mark.parametrize("bad, words", [(["abc"], "1 row"), (["abc", "4.5"], "2 rows")])
def test_type_change_that_loses_data_is_refused_with_the_row_count(acme, crm_doc, bad, words):
    doc = with_field(crm_doc, "contact", name="code", type="text")
    acme.apply_metadata(doc)
    for index, value in enumerate(bad + ["12"]):
        acme.records.create("contact", {"full_name": f"C{index}", "code": value})
    before = snapshot(acme)
    error = refused(acme, with_changed(doc, "contact", "code", type="integer"))
    message = error.details[0]["message"]
    assert message.startswith(f"changing code from text to integer would lose data in {words} (for example")
    assert snapshot(acme) == before


def test_type_change_to_unique_is_refused_when_converted_values_collide(acme, crm_doc):
    doc = with_field(crm_doc, "contact", name="code", type="string", unique=True)
    acme.apply_metadata(doc)
    acme.records.create("contact", {"full_name": "A", "code": "7"})
    acme.records.create("contact", {"full_name": "B", "code": "007"})
    before = snapshot(acme)
    error = refused(acme, with_changed(doc, "contact", "code", type="integer"))
    assert "code would have duplicate values in 2 rows" in error.details[0]["message"]
    assert snapshot(acme) == before


def test_type_change_to_required_is_refused_while_rows_lack_a_value(acme, crm_doc):
    doc = with_field(crm_doc, "contact", name="code", type="string")
    acme.apply_metadata(doc)
    acme.records.create("contact", {"full_name": "A", "code": "7"})
    acme.records.create("contact", {"full_name": "B"})
    error = refused(acme, with_changed(doc, "contact", "code", type="integer", required=True))
    assert "code is empty in 1 row" in error.details[0]["message"]
    acme.apply_metadata(with_changed(doc, "contact", "code", type="integer", required=True, default=0))
    assert sorted(c["code"] for c in acme.records.list("contact")["items"]) == [0, 7]
    assert live_columns(acme, "contact")["code"] is False


def test_shorter_max_length_is_refused_while_values_are_longer(acme, crm_doc):
    fill_contacts(acme, "Ada Lovelace", "Bob")
    before = snapshot(acme)
    error = refused(acme, with_changed(crm_doc, "contact", "full_name", max_length=5))
    assert error.details == [{"field": "contact.full_name", "code": "migration_refused", "message":
                              "full_name is longer than 5 characters in 1 row; shortening max_length would cut it"}]
    assert snapshot(acme) == before
    acme.apply_metadata(with_changed(crm_doc, "contact", "full_name", max_length=12))
    with pytest.raises(ValidationFailed):
        acme.records.create("contact", {"full_name": "x" * 13})
    if acme.storage.dialect == "postgresql":  # SQLite does not enforce VARCHAR lengths
        table = acme.metadata().tables["contact"]
        with pytest.raises(sa.exc.DBAPIError), acme.storage.begin() as conn:
            conn.execute(table.update().values(full_name="x" * 13))


def test_decimal_scale_narrowing_that_would_round_is_refused(acme, crm_doc):
    _, [ada, bob] = fill_contacts(acme, "Ada", "Bob")
    acme.records.update("contact", ada["id"], {"lifetime_value": "10.25"})
    acme.records.update("contact", bob["id"], {"lifetime_value": "3.50"})
    before = snapshot(acme)
    error = refused(acme, with_changed(crm_doc, "contact", "lifetime_value", scale=1))
    assert "would lose data in 1 row" in error.details[0]["message"]
    assert snapshot(acme) == before
    acme.records.update("contact", ada["id"], {"lifetime_value": "10.20"})
    acme.apply_metadata(with_changed(crm_doc, "contact", "lifetime_value", scale=1, precision=14))
    assert [acme.records.get("contact", c["id"])["lifetime_value"] for c in (ada, bob)] == ["10.2", "3.5"]


def test_removing_a_choice_option_still_in_use_is_refused(acme, crm_doc):
    _, [ada, bob] = fill_contacts(acme, "Ada", "Bob")
    acme.records.update("contact", ada["id"], {"tier": "gold"})
    before = snapshot(acme)
    error = refused(acme, with_changed(crm_doc, "contact", "tier", options=["regular", "silver", "diamond"]))
    assert error.details == [{"field": "contact.tier", "code": "migration_refused",
                              "message": "the removed option gold is still used in 1 row; change that row first"}]
    assert snapshot(acme) == before
    acme.apply_metadata(with_changed(crm_doc, "contact", "tier", options=["regular", "gold"]))
    with pytest.raises(ValidationFailed):
        acme.records.update("contact", bob["id"], {"tier": "silver"})


def test_removing_multi_choice_options_still_in_use_is_refused(acme, crm_doc):
    doc = with_field(crm_doc, "contact", name="tags", type="multi_choice", options=["a", "b", "c", "d"])
    acme.apply_metadata(doc)
    for tags in (["a", "b"], ["b"], ["c"], []):
        acme.records.create("contact", {"full_name": "x", "tags": tags})
    error = refused(acme, with_changed(doc, "contact", "tags", options=["c", "d"]))
    assert error.details[0]["message"] == \
        "the removed options a, b are still used in 2 rows; change those rows first"
    acme.apply_metadata(with_changed(doc, "contact", "tags", options=["a", "b", "c"]))
    assert sorted(map(tuple, (c["tags"] for c in acme.records.list("contact")["items"]))) == \
        [(), ("a", "b"), ("b",), ("c",)]


def test_making_a_field_unique_is_refused_while_duplicates_exist(acme, crm_doc):
    _, contacts = fill_contacts(acme, "Ada", "Ada", "Ada", "Bob")
    before = snapshot(acme)
    error = refused(acme, with_changed(crm_doc, "contact", "full_name", unique=True))
    assert error.details == [{"field": "contact.full_name", "code": "migration_refused", "message":
                              "full_name has duplicate values in 3 rows, so it cannot become unique"}]
    assert snapshot(acme) == before


# -- references ----------------------------------------------------------------------

CYCLE = [
    {"name": "team", "label": "Team", "fields": [
        {"name": "title", "type": "string", "required": True},
        {"name": "lead", "type": "reference", "to": "member", "on_delete": "set_null"},
        {"name": "parent", "type": "reference", "to": "team", "on_delete": "cascade"}]},
    {"name": "member", "label": "Member", "fields": [
        {"name": "handle", "type": "string", "unique": True},
        {"name": "team", "type": "reference", "to": "team", "required": True}]},
]


def check_cycle(session):
    assert live_foreign_keys(session, "team") == {"lead": ("member", "SET NULL"), "parent": ("team", "CASCADE")}
    assert live_foreign_keys(session, "member") == {"team": ("team", "RESTRICT")}
    assert live_columns(session, "member")["team"] is False
    records = session.records
    root = records.create("team", {"title": "Root"})
    child = records.create("team", {"title": "Child", "parent": root["id"]})
    ann = records.create("member", {"handle": "ann", "team": child["id"]})
    records.update("team", child["id"], {"lead": ann["id"]})
    with pytest.raises(Conflict):  # restrict: a member still belongs to the child team
        records.delete("team", root["id"])
    records.delete("member", ann["id"])
    assert records.get("team", child["id"])["lead"] is None  # set_null
    records.delete("team", root["id"])  # cascade to the child
    assert {root["id"], child["id"]} & {t["id"] for t in records.list("team")["items"]} == set()


@pytest.mark.parametrize("first", [True, False], ids=["first-apply", "later-apply"])
def test_entities_referencing_each_other_in_a_cycle_are_created(install, crm_doc, first):
    install.registry.create("cyc", "Cycles")
    session = install.session("cyc")
    if not first:
        session.apply_metadata(crm_doc)
    session.apply_metadata({"entities": ([] if first else crm_doc["entities"]) + CYCLE})
    check_cycle(session)


def test_reference_added_to_an_existing_entity_keeps_on_delete_behaviour(acme, crm_doc):
    account, [ada] = fill_contacts(acme, "Ada")
    doc = with_field(crm_doc, "account", name="main_contact", type="reference", to="contact", on_delete="set_null")
    doc = with_entity(doc, "deal", {"name": "account", "type": "reference", "to": "account", "on_delete": "cascade"},
                      {"name": "contact", "type": "reference", "to": "contact"})
    acme.apply_metadata(doc)
    assert live_foreign_keys(acme, "account") == {"main_contact": ("contact", "SET NULL")}
    acme.records.update("account", account["id"], {"main_contact": ada["id"]})
    deal = acme.records.create("deal", {"account": account["id"], "contact": ada["id"]})
    acme.apply_metadata(without_field(doc, "contact", "birthday"), allow_drop=True)  # rebuilds contact on SQLite
    assert live_foreign_keys(acme, "contact") == {"account": ("account", "SET NULL")}
    table = acme.metadata().tables["deal"]
    with pytest.raises(IntegrityError), acme.storage.begin() as conn:
        conn.execute(table.insert().values(account=999, created_at=sa.func.now(), updated_at=sa.func.now(),
                                           version=1))
    with pytest.raises(Conflict):
        acme.records.delete("contact", ada["id"])
    acme.records.delete("deal", deal["id"])
    acme.records.delete("contact", ada["id"])
    assert acme.records.get("account", account["id"])["main_contact"] is None


def test_reference_can_be_retargeted_to_a_new_entity_when_empty(acme, crm_doc):
    fill_contacts(acme, "Ada")
    doc = with_entity(crm_doc, "company", {"name": "name", "type": "string"})
    doc = with_changed(doc, "contact", "account", to="company")
    error = refused(acme, doc)
    assert "account refers to missing company records in 1 row" in error.details[0]["message"]
    for contact in acme.records.list("contact")["items"]:
        acme.records.update("contact", contact["id"], {"account": None})
    acme.apply_metadata(doc)
    assert live_foreign_keys(acme, "contact") == {"account": ("company", "SET NULL")}


def test_dropping_entities_that_reference_each_other(install):
    install.registry.create("cyc", "Cycles")
    session = install.session("cyc")
    session.apply_metadata({"entities": CYCLE})
    team = session.records.create("team", {"title": "T"})
    member = session.records.create("member", {"handle": "m", "team": team["id"]})
    session.records.update("team", team["id"], {"lead": member["id"]})
    other = {"entities": [{"name": "note", "label": "Note", "fields": [{"name": "body", "type": "text"}]}]}
    session.apply_metadata(other, allow_drop=True)
    assert live_tables(session) & {"team", "member"} == set()
    session.rollback_metadata(1)
    assert session.records.get("team", team["id"])["lead"] == member["id"]
    assert session.records.get("member", member["id"])["team"] == team["id"]
    check_cycle(session)


# -- field types through add, drop, archive and restore ---------------------------------

TYPED = [
    ({"name": "budget", "type": "currency"}, {"amount": "12.50", "currency": "EUR"}),
    ({"name": "tags", "type": "multi_choice", "options": ["a", "b", "c"]}, ["a", "c"]),
    ({"name": "extra", "type": "json"}, {"k": [1, 2.5, {"x": None}], "s": "ü"}),
    ({"name": "since", "type": "date"}, "2024-02-29"),
    ({"name": "seen_at", "type": "datetime"}, "2024-05-01T12:30:00.250000Z"),
    ({"name": "ratio", "type": "decimal", "precision": 10, "scale": 4}, "-3.1416"),
    ({"name": "huge", "type": "decimal", "precision": 30, "scale": 6}, "123456789012345678901.123456"),
]


@pytest.mark.parametrize("spec, value", TYPED, ids=[s["name"] for s, _ in TYPED])
def test_field_types_survive_add_drop_and_restore(acme, crm_doc, spec, value):
    doc = with_field(crm_doc, "contact", **spec)
    acme.apply_metadata(doc)
    expected_columns = {"budget": {"budget", "budget__currency"}}.get(spec["name"], {spec["name"]})
    assert expected_columns <= set(live_columns(acme, "contact"))
    _, [ada, bob] = fill_contacts(acme, "Ada", "Bob")
    acme.records.update("contact", ada["id"], {spec["name"]: value})
    assert acme.records.get("contact", ada["id"])[spec["name"]] == value
    result = acme.apply_metadata(crm_doc, allow_drop=True)
    assert not expected_columns & set(live_columns(acme, "contact"))
    assert result.archives[0]["field"] == spec["name"]
    acme.rollback_metadata(2)
    assert expected_columns <= set(live_columns(acme, "contact"))
    assert [acme.records.get("contact", c["id"])[spec["name"]] for c in (ada, bob)] == [value, None]


def test_entity_with_every_field_type_survives_drop_and_restore(acme, crm_doc):
    fields = [dict(spec) for spec, _ in TYPED] + [{"name": "title", "type": "string", "required": True}]
    doc = with_entity(crm_doc, "kitchen", *fields)
    acme.apply_metadata(doc)
    full = {"title": "full", **{spec["name"]: value for spec, value in TYPED}}
    ids = [acme.records.create("kitchen", full)["id"], acme.records.create("kitchen", {"title": "empty"})["id"]]
    before = [acme.records.get("kitchen", i) for i in ids]
    acme.apply_metadata(crm_doc, allow_drop=True)
    assert "kitchen" not in live_tables(acme)
    acme.rollback_metadata(2)
    assert [acme.records.get("kitchen", i) for i in ids] == before


def test_restored_field_values_convert_to_the_restored_type(acme, crm_doc):
    doc = with_field(crm_doc, "contact", name="code", type="string")
    acme.apply_metadata(doc)  # v2
    _, [ada] = fill_contacts(acme, "Ada")
    acme.records.update("contact", ada["id"], {"code": "42"})
    acme.apply_metadata(with_changed(doc, "contact", "code", type="integer"))  # v3
    acme.apply_metadata(crm_doc, allow_drop=True)  # v4: archived as integers
    acme.rollback_metadata(2)
    assert acme.records.get("contact", ada["id"])["code"] == "42"


class SkuTypes:
    @hookimpl
    def loom_field_types(self):
        return [CustomFieldType("sku", "string", str.upper, "Stock keeping unit")]


def test_plugin_field_types_are_archived_and_restored(install, plugins, crm_doc):
    plugins.pm.register(SkuTypes(), name="skus")
    install.registry.create("shop", "Shop", plugins=["skus"])
    session = install.session("shop")
    doc = with_entity(crm_doc, "product", {"name": "sku", "type": "sku", "unique": True},
                      {"name": "alias", "type": "sku"})
    session.apply_metadata(doc)
    product = session.records.create("product", {"sku": "ab-1", "alias": "x-9"})
    session.apply_metadata(without_field(doc, "product", "alias"), allow_drop=True)
    session.apply_metadata(crm_doc, allow_drop=True)
    session.rollback_metadata(1)
    assert session.records.get("product", product["id"])["alias"] == "X-9"
    assert live_indexes(session, "product")["ux_product_sku"] == (("sku",), True)


@pytest.mark.parametrize("drop", ["entity", "field"])
def test_restored_references_to_records_deleted_meanwhile_are_cleared(acme, crm_doc, drop):
    account, [ada] = fill_contacts(acme, "Ada")
    kept = acme.records.create("account", {"name": "Kept"})
    bob = acme.records.create("contact", {"full_name": "Bob", "account": kept["id"]})
    if drop == "entity":
        acme.apply_metadata(without_entity(crm_doc, "contact"), allow_drop=True)
    else:
        acme.apply_metadata(without_field(crm_doc, "contact", "account"), allow_drop=True)
    acme.records.delete("account", account["id"])
    result = acme.rollback_metadata(1)
    [restored] = [a for a in result.archives if a["kind"].startswith("restored")]
    assert restored["cleared_references"] == {"account": 1}
    assert acme.records.get("contact", ada["id"])["account"] is None
    assert acme.records.get("contact", bob["id"])["account"] == kept["id"]


def test_restore_is_refused_when_a_required_reference_lost_its_record(acme, crm_doc):
    doc = with_changed(crm_doc, "contact", "account", required=True, on_delete=None)
    acme.apply_metadata(doc)
    account, _ = fill_contacts(acme, "Ada")
    acme.apply_metadata(without_entity(doc, "contact"), allow_drop=True)
    acme.records.delete("account", account["id"])
    before = snapshot(acme)
    with pytest.raises(MigrationRefused) as info:
        acme.rollback_metadata(2)
    assert info.value.message == ("refused: 1 restored contact row would refer to account records deleted "
                                  "since, but contact.account is required; nothing was changed")
    assert snapshot(acme) == before


def test_refused_migrations_leave_no_gap_in_the_version_numbers(acme, crm_doc):
    fill_contacts(acme, "Ada")
    refused(acme, without_field(crm_doc, "contact", "phone"))
    refused(acme, with_field(crm_doc, "contact", name="score", type="integer", required=True))
    acme.apply_metadata(with_field(crm_doc, "contact", name="score", type="integer", default=0))
    assert version_numbers(acme) == [1, 2]


# -- failures change nothing ---------------------------------------------------------

def big_change(crm_doc):
    """One document that exercises every kind of step: new entity, new fields, a type
    change, new index and uniqueness, a dropped field (and the `scrap` entity dropped)."""
    doc = with_entity(crm_doc, "ticket", {"name": "subject", "type": "string", "required": True},
                      {"name": "contact", "type": "reference", "to": "contact"})
    doc = with_field(doc, "contact", name="score", type="integer", required=True, default=1)
    doc = with_changed(doc, "contact", "lifetime_value", scale=3)
    doc = with_changed(doc, "contact", "full_name", indexed=True)
    doc = with_changed(doc, "account", "name", unique=True)
    doc = without_field(doc, "contact", "birthday")
    return doc


def explode_after(target, name):
    original = getattr(target, name)

    def exploding(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError(f"injected failure after {name}")
    return exploding


FAULTS = [
    (Migrator, "create_entities"),
    (Migrator, "alter_entity"),
    (Migrator, "_add_columns"),
    (Migrator, "_restructure"),
    (Migrator, "_tighten"),
    (Migrator, "_create_indexes"),
    (Migrator, "drop_entities"),
    (moves, "copy_converted"),
    (moves, "backfill"),
    (archive, "archive_field"),
    (archive, "archive_entity"),
    (versions, "record_version"),
]


@pytest.mark.parametrize("target, name", FAULTS, ids=[n for _, n in FAULTS])
def test_a_failure_in_the_middle_leaves_schema_metadata_and_data_as_before(acme, crm_doc, monkeypatch,
                                                                             target, name):
    account, [ada, _] = fill_contacts(acme, "Ada", "Bob")
    acme.records.update("contact", ada["id"], {"birthday": "2000-01-01", "lifetime_value": "9.99"})
    acme.apply_metadata(with_entity(crm_doc, "scrap", {"name": "x", "type": "string"}))
    acme.records.create("scrap", {"x": "keep me"})
    doc = big_change(crm_doc)
    before = snapshot(acme)
    monkeypatch.setattr(target, name, explode_after(target, name))
    with pytest.raises((MigrationRefused, RuntimeError)) as info:
        acme.apply_metadata(doc, allow_drop=True)
    assert "injected failure" in str(info.value)
    assert snapshot(acme) == before
    monkeypatch.undo()
    acme.apply_metadata(doc, allow_drop=True)  # and the same migration still works afterwards
    assert acme.records.get("contact", ada["id"])["score"] == 1


def test_a_failure_during_rollback_leaves_everything_as_before(acme, crm_doc, monkeypatch):
    fill_contacts(acme, "Ada")
    acme.apply_metadata(without_entity(without_field(crm_doc, "contact", "account"), "account"), allow_drop=True)
    before = snapshot(acme)
    monkeypatch.setattr(restore, "restore_entity", explode_after(restore, "restore_entity"))
    with pytest.raises((MigrationRefused, RuntimeError)):
        acme.rollback_metadata(1)
    assert snapshot(acme) == before


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL never holds a broken reference
def test_sqlite_refuses_to_migrate_over_broken_references(acme, crm_doc):
    fill_contacts(acme, "Ada")
    with acme.storage.engine.connect() as conn:  # foreign keys off: write a broken reference
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute("UPDATE contact SET account = 999")
        raw.execute("PRAGMA foreign_keys=ON")
    before = snapshot(acme)
    tier = next(f for f in crm_doc["entities"][1]["fields"] if f["name"] == "tier")
    tier["required"] = True  # a table rebuild: the references it carries are checked
    error = refused(acme, crm_doc)
    assert error.message == ("refused: the migration would leave 1 row referring to records that do not exist; "
                             "nothing was changed")
    assert snapshot(acme) == before


@pytest.mark.parametrize("backend", ["sqlite"])
def test_adding_a_plain_field_does_not_scan_references(acme, crm_doc):
    """A new optional column cannot break a reference: no foreign-key scan of the table."""
    fill_contacts(acme, "Ada")
    with acme.storage.engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute("UPDATE contact SET account = 999")
        raw.execute("PRAGMA foreign_keys=ON")
    assert acme.apply_metadata(with_field(crm_doc, "contact", name="nickname", type="string")).applied


def test_a_database_refusal_changes_nothing(acme, crm_doc):
    fill_contacts(acme, "Ada")
    schema = acme.storage.schema
    with acme.storage.begin() as conn:  # a table the metadata does not know takes the new entity's name
        conn.execute(sa.text(f"CREATE TABLE {schema + '.' if schema else ''}ticket (x integer)"))
    before = snapshot(acme)
    doc = with_entity(with_field(crm_doc, "contact", name="nickname", type="string"),
                      "ticket", {"name": "subject", "type": "string"})
    error = refused(acme, doc)
    assert error.message == "the database refused the migration; nothing was changed"
    assert error.details and "ticket" in error.details[0]["message"]
    assert snapshot(acme) == before


# -- ids are never reused ------------------------------------------------------------


def _fresh_after(session, entity, issued, data):
    """Create a record after the highest one was deleted: its id is new and its history its own."""
    record = session.records.create(entity, data)
    assert record["id"] > max(issued), (entity, record["id"], issued)
    assert [h["action"] for h in session.records.history(entity, record["id"])] == ["create"]
    issued.append(record["id"])
    return record


def _delete_highest(session, entity, issued, data):
    doomed = session.records.create(entity, data)
    issued.append(doomed["id"])
    session.records.delete(entity, doomed["id"])


def test_ids_are_never_reused_across_rebuilds_type_changes_and_rollbacks(acme, crm_doc):
    contact = {"full_name": "Ada"}
    issued = [c["id"] for c in fill_contacts(acme, "Ada", "Bob")[1]]
    coded = with_field(crm_doc, "contact", name="code", type="integer")
    steps = [lambda: acme.apply_metadata(without_field(crm_doc, "contact", "birthday"), allow_drop=True),
             lambda: acme.apply_metadata(without_field(coded, "contact", "birthday")),
             lambda: acme.apply_metadata(with_changed(without_field(coded, "contact", "birthday"),
                                                      "contact", "code", type="string")),
             lambda: acme.rollback_metadata(1)]
    for step in steps:
        _delete_highest(acme, "contact", issued, contact)
        step()
        _fresh_after(acme, "contact", issued, contact)


def test_ids_of_a_restored_entity_are_never_reused(acme, crm_doc):
    issued = [acme.records.create("account", {"name": n})["id"] for n in ("A", "B")]
    _delete_highest(acme, "account", issued, {"name": "C"})
    acme.apply_metadata(without_entity(without_field(crm_doc, "contact", "account"), "account"), allow_drop=True)
    acme.rollback_metadata(1)
    _fresh_after(acme, "account", issued, {"name": "D"})


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_table_created_without_autoincrement_gets_it_at_the_next_migration(acme, crm_doc):
    with acme.storage.engine.begin() as conn:  # an entity table as an older install created it
        sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'contact'").scalar_one()
        conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
        conn.exec_driver_sql("DROP TABLE contact")
        conn.exec_driver_sql(sql.replace("AUTOINCREMENT", ""))
    issued = [c["id"] for c in fill_contacts(acme, "Ada", "Bob")[1]]
    _delete_highest(acme, "contact", issued, {"full_name": "Carol"})
    acme.apply_metadata(with_field(crm_doc, "contact", name="code", type="string"))
    _fresh_after(acme, "contact", issued, {"full_name": "Dan"})
    _delete_highest(acme, "contact", issued, {"full_name": "Eve"})
    _fresh_after(acme, "contact", issued, {"full_name": "Fay"})
