"""What a migration reads besides its own DDL, on SQLite and PostgreSQL: the id counter of
a table it created or (SQLite) altered, never of one it left alone or only altered in
place; the match key columns it reflects only when an entity's keys may have changed.
Ids are still never reused (tests/engine/test_migration.py holds rebuilds, type changes
and rollbacks)."""
import pytest
from sqlalchemy import event

from tests.engine.test_migration import with_field, without_entity, without_field


@pytest.fixture
def sent(acme):
    statements = []
    listener = lambda conn, cursor, sql, *rest: statements.append(sql)  # noqa: E731
    event.listen(acme.storage.engine, "before_cursor_execute", listener)
    yield statements
    event.remove(acme.storage.engine, "before_cursor_execute", listener)


def _reads_counter_of(statements, entity) -> bool:
    return any("max(" in sql and f"{entity}.id" in sql for sql in statements)


def test_adding_a_field_reads_no_counter_of_another_entity_and_reflects_no_key(acme, crm_doc, sent):
    result = acme.apply_metadata(with_field(crm_doc, "contact", name="nickname", type="string"))
    assert [c["kind"] for c in result.changes] == ["add_field"]
    assert not _reads_counter_of(sent, "account")
    assert _reads_counter_of(sent, "contact") == (acme.storage.dialect == "sqlite")
    assert not any("pg_attribute" in sql or "table_xinfo" in sql.lower() or "table_info" in sql.lower() for sql in sent)
    assert acme.records.create("contact", {"full_name": "Ann", "email": "ann@example.com",
                                           "nickname": "A"})["nickname"] == "A"


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
