"""What a migration reads besides its own DDL, on SQLite and PostgreSQL: the id counter of
a table it created or (SQLite) rebuilt, never of one it left alone or only altered in
place (a plain column or an index added or dropped); the match key columns it reflects
only when an entity's keys may have changed.
A table it creates comes with its match key columns and their indexes, and is not read
(it holds no rows): only the audit trail's highest ids of the new entities, in one
statement. Ids are still never reused, and a rollback that puts an entity's rows back
computes their keys and indexes their values (tests/engine/test_migration.py holds
rebuilds, type changes and rollbacks)."""
import copy
import re

import pytest
from sqlalchemy import event, inspect, select

from engine.compiler import key_index_name
from engine.normalise import key_of
from engine.records.search_index import find
from tests.engine.test_migration import (
    _delete_highest, _fresh_after, entity_of, fill_contacts, with_changed, with_entity, with_field, without_entity,
    without_field,
)

SUPPLIER = ({"name": "name", "type": "string", "required": True}, {"name": "email", "type": "email"},
            {"name": "phone", "type": "phone"}, {"name": "status", "type": "string", "default": "new"})


@pytest.fixture
def sent(acme):
    statements = []
    listener = lambda conn, cursor, sql, *rest: statements.append(sql)  # noqa: E731
    event.listen(acme.storage.engine, "before_cursor_execute", listener)
    yield statements
    event.remove(acme.storage.engine, "before_cursor_execute", listener)


def _reads_counter_of(statements, entity) -> bool:
    return any("max(" in sql and f"{entity}.id" in sql for sql in statements)


def _reads_any_counter(statements) -> bool:
    return any("sqlite_sequence" in sql or "pg_get_serial_sequence" in sql or
               ("max(" in sql and "loom_audit" in sql) for sql in statements)


def test_adding_a_field_reads_no_counter_and_reflects_no_key(acme, crm_doc, sent):
    issued = [c["id"] for c in fill_contacts(acme, "Ada", "Bob")[1]]
    _delete_highest(acme, "contact", issued, {"full_name": "Carol"})
    sent.clear()
    result = acme.apply_metadata(with_field(crm_doc, "contact", name="nickname", type="string"))
    assert [c["kind"] for c in result.changes] == ["add_field"]
    assert not _reads_any_counter(sent)
    assert not any("pg_attribute" in sql or "table_xinfo" in sql.lower() or "table_info" in sql.lower() for sql in sent)
    assert _fresh_after(acme, "contact", issued, {"full_name": "Ann", "nickname": "A"})["nickname"] == "A"


def test_adding_and_dropping_indexes_reads_no_counter(acme, crm_doc, sent):
    issued = [c["id"] for c in fill_contacts(acme, "Ada", "Bob")[1]]
    indexed = with_changed(crm_doc, "contact", "full_name", indexed=True)
    composite = copy.deepcopy(indexed)
    entity_of(composite, "contact")["indexes"] = [{"fields": ["full_name", "birthday"]}]
    for doc, kinds in ((indexed, ["alter_indexed"]), (composite, ["add_index"]), (crm_doc, None)):
        _delete_highest(acme, "contact", issued, {"full_name": "Carol"})
        sent.clear()
        result = acme.apply_metadata(doc)
        assert kinds is None or [c["kind"] for c in result.changes] == kinds
        assert not _reads_any_counter(sent)
        assert any("INDEX" in sql for sql in sent)
        _fresh_after(acme, "contact", issued, {"full_name": "Dan"})


def test_a_rebuilt_table_still_has_its_counter_read(acme, crm_doc, sent):
    issued = [c["id"] for c in fill_contacts(acme, "Ada", "Bob")[1]]
    _delete_highest(acme, "contact", issued, {"full_name": "Carol"})
    sent.clear()
    acme.apply_metadata(without_field(crm_doc, "contact", "birthday"), allow_drop=True)
    # SQLite copies the table to drop a column (its counter with it); PostgreSQL alters it in place
    assert _reads_counter_of(sent, "contact") == (acme.storage.dialect == "sqlite")
    _fresh_after(acme, "contact", issued, {"full_name": "Dan"})


def test_a_key_column_dropped_alone_keeps_ids_ahead(acme, crm_doc):
    keyed = with_field(crm_doc, "contact", name="code", type="string", match="id")
    acme.apply_metadata(keyed)
    issued = [c["id"] for c in fill_contacts(acme, "Ada", "Bob")[1]]
    _delete_highest(acme, "contact", issued, {"full_name": "Carol", "code": "C-1"})
    result = acme.apply_metadata(with_changed(keyed, "contact", "code", match=None))
    assert [c["kind"] for c in result.changes] == ["alter_other"]  # no DDL of its own: sync_keys drops the key
    assert "code__key" not in {c.name for c in acme.metadata().tables["contact"].c}
    _fresh_after(acme, "contact", issued, {"full_name": "Dan", "code": "D-1"})


def test_a_field_gaining_a_match_key_still_gets_its_column(acme, crm_doc, sent):
    doc = with_field(crm_doc, "account", name="email", type="email")
    acme.apply_metadata(doc)
    with acme.storage.engine.connect() as conn:
        columns = {c.name for c in acme.metadata().tables["account"].c}
        conn.execute(acme.metadata().tables["account"].select()).all()
    assert "email__key" in columns


def test_an_entity_dropped_and_added_again_issues_ids_after_its_old_ones(acme, crm_doc):
    issued = [acme.records.create("account", {"name": n})["id"] for n in ("A", "B", "C")]
    acme.records.delete("account", issued[-1])
    acme.apply_metadata(without_entity(without_field(crm_doc, "contact", "account"), "account"), allow_drop=True)
    acme.apply_metadata(crm_doc)
    assert acme.records.create("account", {"name": "D"})["id"] > max(issued)


def _with_suppliers(doc) -> dict:
    return with_entity(with_entity(doc, "supplier", *SUPPLIER), "depot", {"name": "label", "type": "string"})


def _stored(session, entity) -> list[dict]:
    with session.storage.engine.connect() as conn:
        table = session.metadata().tables[entity]
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def test_new_entities_come_with_their_key_columns_and_are_not_read(acme, crm_doc, sent):
    result = acme.apply_metadata(_with_suppliers(crm_doc))
    assert sorted(c["kind"] for c in result.changes) == ["add_entity", "add_entity"]
    mentions = [sql for sql in sent if re.search(r"\b(supplier|depot)\b", sql)]
    # only their DDL (and SQLite's check of the references a migration may have broken)
    assert not [sql for sql in mentions if not sql.lstrip().upper().startswith(("CREATE", "PRAGMA FOREIGN_KEY_CHECK"))]
    counters = [sql for sql in sent if "max(" in sql and "loom_audit" in sql]
    assert len(counters) == 1 and not _reads_counter_of(sent, "supplier")
    storage = acme.storage
    with storage.engine.connect() as conn:
        found = inspect(conn)
        columns = {c["name"] for c in found.get_columns("supplier", schema=storage.schema)}
        indexes = {i["name"] for i in found.get_indexes("supplier", schema=storage.schema)}
    assert {"email__key", "phone__key"} <= columns
    assert {key_index_name("supplier", "email"), key_index_name("supplier", "phone")} <= indexes
    made = acme.records.create("supplier", {"name": "Ann Ltd", "email": "Ann@Example.COM"})
    assert made["status"] == "new"
    [row] = _stored(acme, "supplier")
    assert row["email__key"] == key_of("email", "Ann@Example.COM") and row["phone__key"] is None
    assert [e for e, _id, _ in find(storage, acme.metadata(), "Ann Ltd", ("supplier",), 5)] == ["supplier"]


def test_a_rollback_gives_a_restored_entity_its_keys_index_terms_and_ids(acme, crm_doc):
    acme.apply_metadata(_with_suppliers(crm_doc))
    made = [acme.records.create("supplier", {"name": n, "email": f"{n}@Example.com", "phone": "+86 139 0000 0001"})
            for n in ("Ann", "Bob")]
    acme.apply_metadata(crm_doc, allow_drop=True)
    acme.rollback_metadata(2)
    rows = _stored(acme, "supplier")
    assert [r["id"] for r in rows] == [m["id"] for m in made]
    assert [r["email__key"] for r in rows] == [key_of("email", f"{n}@Example.com") for n in ("Ann", "Bob")]
    assert all(r["phone__key"] == key_of("phone", "+86 139 0000 0001", "CN") for r in rows)
    assert [i for _e, i, _ in find(acme.storage, acme.metadata(), "Bob", ("supplier",), 5)] == [made[1]["id"]]
    assert acme.records.create("supplier", {"name": "Cy"})["id"] > made[1]["id"]


def test_a_publication_takes_its_locks_in_one_round_trip(acme, crm_doc, sent):
    acme.apply_metadata(with_field(crm_doc, "contact", name="nickname", type="string"))
    locks = [sql for sql in sent if "LOCK TABLE" in sql or "pg_advisory_xact_lock(" in sql]
    if acme.storage.dialect == "postgresql":  # the writers' lock, then the history's
        [both] = locks
        assert both.index("pg_advisory_xact_lock(") < both.index("LOCK TABLE")
    else:  # the write transaction holds both
        assert locks == []
