"""A read checks the metadata version its own statement read, on SQLite and PostgreSQL:
with rows or without (a missing record: the version comes on a row of its own), in one
statement; and on PostgreSQL a page computes the version for its own rows only, after
the sort (docs/benchmarks.md: the version as a column of every sorted row cost 20 % more
server CPU)."""
import pytest
from sqlalchemy import event, text

from engine.errors import NotFound
from engine.records import list_sql, pinning
from engine.records import query as list_query
from engine.records.pinning import MetadataChanged
from engine.records.service import RecordService
from tests.conftest import crm_document


@pytest.fixture
def session(install):
    install.registry.create("acme", "Acme Retail")
    session = install.session("acme")
    session.apply_metadata(crm_document())
    return session


@pytest.fixture
def statements(session):
    """The statements sent through SQLAlchemy, and the version checks of their own."""
    sent = {"sql": [], "confirms": 0}
    listener = lambda conn, cursor, sql, *rest: sent["sql"].append(sql)  # noqa: E731
    event.listen(session.storage.engine, "before_cursor_execute", listener)
    original = pinning.confirm

    def counted(*args):
        sent["confirms"] += 1
        return original(*args)

    pinning.confirm = counted
    yield sent
    pinning.confirm = original
    event.remove(session.storage.engine, "before_cursor_execute", listener)


def test_a_record_and_a_missing_record_are_each_read_in_one_statement(session, statements):
    record = session.records.create("contact", {"full_name": "Ann Lee", "email": "ann@example.com"})
    statements["sql"].clear()

    got = session.records.get("contact", record["id"])
    assert got["full_name"] == "Ann Lee" and pinning.VERSION_COLUMN not in got
    with pytest.raises(NotFound) as missing:
        session.records.get("contact", record["id"] + 1000)
    assert missing.value.code == "record_not_found"
    assert len(statements["sql"]) == 2 and statements["confirms"] == 0


def test_a_page_with_rows_is_read_in_one_statement_and_carries_no_version(session, statements):
    for name in ("Ann Lee", "Ben Ito", "Cleo Park"):
        session.records.create("contact", {"full_name": name})
    statements["sql"].clear()

    page = session.records.list("contact", [("sort", "full_name"), ("limit", "2")])
    assert [r["full_name"] for r in page["items"]] == ["Ann Lee", "Ben Ito"] and page["next_cursor"]
    assert all(pinning.VERSION_COLUMN not in r for r in page["items"])
    assert len(statements["sql"]) == 1 and statements["confirms"] == 0
    rest = session.records.list("contact", [("sort", "full_name"), ("limit", "2"), ("cursor", page["next_cursor"])])
    assert [r["full_name"] for r in rest["items"]] == ["Cleo Park"] and rest["next_cursor"] is None


def test_reads_under_a_moved_version_are_refused_with_rows_or_without(install, session):
    record = session.records.create("contact", {"full_name": "Dan Wu"})
    stale = session.metadata()
    install.session("acme").apply_metadata(_with_field(crm_document()))
    again_stale = RecordService(session.storage, stale, session.records.hooks, renew=lambda: stale)

    for operation in (lambda: again_stale.get("contact", record["id"]),
                      lambda: again_stale.get("contact", record["id"] + 1000),
                      lambda: again_stale.list("contact"),
                      lambda: again_stale.list("contact", [("full_name", "nobody")])):
        with pytest.raises(MetadataChanged) as refused:
            operation()
        assert refused.value.status == 503
    assert install.session("acme").records.get("contact", record["id"])["full_name"] == "Dan Wu"


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_postgresql_computes_a_pages_version_after_the_sort(session):
    table = session.metadata().tables["contact"]
    session.records.create_many("contact", [{"full_name": f"P {i}"} for i in range(20)])
    records = session.records  # the list's own SELECT, as the service builds it
    visible = records.permissions.visible(records.metadata.entity("contact"))
    parsed = list_query.parse_list_query(visible, table, [("sort", "-full_name"), ("limit", "5")])
    with session.storage.connect() as conn:
        stmt = pinning.versioned(list_sql.build_select(table, parsed), conn, session.storage.schema)
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = conn.execute(text(f"EXPLAIN (VERBOSE, FORMAT JSON) {compiled}")).scalar_one()
        rows = conn.execute(stmt).mappings().all()
    assert {r[pinning.VERSION_COLUMN] for r in rows} == {session.metadata().version}

    def sorts(node):
        found = [node] if node["Node Type"] == "Sort" else []
        return found + [s for child in node.get("Plans", []) for s in sorts(child)]

    (sort,) = sorts(plan[0]["Plan"])
    assert not any("coalesce" in column.lower() or "$" in column for column in sort["Output"])


def _with_field(document: dict) -> dict:
    contact = next(e for e in document["entities"] if e["name"] == "contact")
    contact["fields"].append({"name": "nickname", "type": "string", "max_length": 40})
    return document
