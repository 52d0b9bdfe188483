"""The rows a write leaves beside its record — audit, outbox, search terms — written past
SQLAlchemy's per-row processing (engine.records.bulk_rows), on SQLite and PostgreSQL: read
back through SQLAlchemy they say exactly what the write did, they commit and roll back
with the record, and the write's transaction (opened with its version check in one round
trip on PostgreSQL) leaves its connection as it found it."""
from __future__ import annotations

import contextlib
import itertools
import sqlite3
import time
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from psycopg.pq import TransactionStatus
from sqlalchemy import Boolean, Date, func, select, text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.exc import IntegrityError

from engine.events import RecordEvent
from engine.records.bulk_rows import _AS_IT_IS, COPY_ROWS, STATEMENT_ROWS, Rows, _sqlite_shortcut, insert_all
from engine.records.search_index import find
from engine.systables import loom_table


def rows(session, table_name, **where):
    table = loom_table(session.storage.schema, table_name)
    stmt = select(table).order_by(table.c.id) if "id" in table.c else select(table)
    for column, value in where.items():
        stmt = stmt.where(table.c[column] == value)
    with session.storage.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


names = st.text(alphabet=st.characters(categories=["Lu", "Ll", "Lo", "Nd", "Zs"], exclude_characters="\x00"),
                min_size=1, max_size=30).filter(str.strip)


@given(batch=st.lists(st.fixed_dictionaries({"full_name": names},
                                            optional={"tier": st.sampled_from(["regular", "gold"]),
                                                      "lifetime_value": st.decimals(0, 10**6, places=2).map(str),
                                                      "consent_marketing": st.booleans()}),
                      min_size=1, max_size=5))
@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_audit_and_outbox_rows_read_back_as_the_write_and_its_event(acme, batch):
    ids = acme.records.create_many("contact", batch) if len(batch) > 1 else [
        acme.records.create("contact", batch[0])["id"]]
    for record_id in ids:
        record = acme.records.get("contact", record_id)
        [audit] = rows(acme, "loom_audit", entity="contact", record_id=record_id)
        [outbox] = rows(acme, "loom_outbox", entity="contact", record_id=record_id)
        event = RecordEvent.from_outbox(outbox, "acme")
        # one time, to the microsecond, in the record's own column (written by SQLAlchemy) and both rows
        assert aware(audit["at"]) == aware(outbox["at"]) == event.at == datetime.fromisoformat(
            record["created_at"].replace("Z", "+00:00"))
        assert (audit["action"], audit["record_version"], outbox["event"], outbox["status"], outbox["attempts"]) == (
            "create", 1, "record.created", "pending", 0)
        assert event.record == record and event.changes == audit["changes"]
        assert audit["changes"] == {k: [None, v] for k, v in record.items()
                                    if k in ("full_name", "tier", "lifetime_value", "consent_marketing")
                                    and v is not None}
        found = find(acme.storage, acme.metadata(), record["full_name"], ["contact"], 500)
        assert ("contact", record_id) in [(entity, i) for entity, i, _ in found]


def test_a_write_rolled_back_after_its_rows_were_written_leaves_no_record_audit_outbox_or_term(acme):
    """The rows go in the record's transaction: rolled back after every one of them was
    written, none stays (on PostgreSQL they went in a pipeline of their own)."""
    with pytest.raises(RuntimeError):
        with acme.storage.begin() as conn:
            acme.records.create_within(conn, "contact", {"full_name": "Zebedee Quux", "email": "zq@example.org",
                                                         "phone": "+86 138 0013 8000"})
            assert conn.execute(select(func.count()).select_from(loom_table(acme.storage.schema, "loom_search_queue"))
                                ).scalar_one() == 1  # written, in this transaction: one row for the record
            raise RuntimeError("after the write")
    assert rows(acme, "loom_audit") == [] and rows(acme, "loom_outbox") == []
    assert rows(acme, "loom_search_queue") == []
    assert rows(acme, "loom_search") == [] and find(acme.storage, acme.metadata(), "zebedee", ["contact"], 5) == []
    record = acme.records.create("contact", {"full_name": "Zebedee Quux"})
    assert [i for _, i, _ in find(acme.storage, acme.metadata(), "zebedee", ["contact"], 5)] == [record["id"]]


def test_a_write_leaves_its_connection_to_the_next_user_with_transactions_as_before(acme):
    """A record write opens its transaction itself (PostgreSQL: BEGIN with the version check,
    the driver in autocommit): afterwards a connection of the pool still runs what it is
    given in a transaction, and what is not committed is not kept."""
    for number in range(3):
        record = acme.records.create("contact", {"full_name": f"W{number}"})
        acme.records.update("contact", record["id"], {"full_name": f"V{number}"})
    settings = loom_table(acme.storage.schema, "loom_settings")
    for number in range(6):  # the pool hands its connections out in turn: every one the writes used
        with acme.storage.connect() as conn:
            conn.execute(settings.insert().values(key=f"uncommitted-{number}", value=True))
        # closed without commit
    with acme.storage.connect() as conn:
        assert conn.execute(select(settings.c.key).where(settings.c.key.like("uncommitted-%"))).all() == []


def _contact_rows(session, count: int, tag: str) -> Rows:
    """`count` contact rows for `bulk_rows.insert_all` (name and e-mail; system columns set)."""
    table = session.metadata().tables["contact"]
    at = datetime.now(timezone.utc)
    columns = ("full_name", "email", "created_at", "updated_at", "version")
    return Rows(table, columns, [(f"{tag} {n}", f"{tag}{n}@example.com", at, at, 1) for n in range(count)])


def _contacts(session) -> int:
    table = session.metadata().tables["contact"]
    with session.storage.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _copied_by_server(session, pid: int, count: int) -> int:
    """PostgreSQL: the rows the backend `pid`'s COPY has inserted so far, asked from another
    connection (`pg_stat_progress_copy`), waiting up to 10 s for `count`."""
    deadline = time.monotonic() + 10
    with session.storage.engine.connect() as other:
        while True:
            done = other.execute(text("SELECT tuples_processed FROM pg_stat_progress_copy WHERE pid = :pid"),
                                 {"pid": pid}).scalar() or 0
            other.rollback()  # a fresh snapshot of the statistics each time
            if done >= count or time.monotonic() > deadline:
                return done
            time.sleep(0.01)


@contextlib.contextmanager
def _variables(conn, limit):
    """SQLite: at most `limit` parameters to a statement on this connection, for the block."""
    driver = conn.connection.driver_connection
    if limit is None or conn.dialect.name != "sqlite":
        yield
        return
    before = driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    try:
        yield
    finally:
        driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)


examples = itertools.count()


@given(count=st.integers(0, 2 * STATEMENT_ROWS + 7), limit=st.sampled_from([None, 5, 12, 999]))
@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_batch_is_written_whole_and_in_its_order_however_its_statements_divide_it(acme, count, limit):
    """Every row, in the batch's order (ids rising with it), whatever the number of rows
    and however many fit one statement (SQLite: `STATEMENT_ROWS` to a statement, fewer
    where SQLite's limit on parameters says so; the rows left over one by one)."""
    tag = f"o{next(examples)}x"
    batch = _contact_rows(acme, count, tag)
    with acme.storage.begin() as conn, _variables(conn, limit):
        insert_all(conn, [batch])
    table = acme.metadata().tables["contact"]
    with acme.storage.connect() as conn:
        written = conn.execute(select(table.c.full_name, table.c.email, table.c.version)
                               .where(table.c.full_name.like(f"{tag} %")).order_by(table.c.id)).all()
    assert [tuple(r) for r in written] == [(name, email, version) for name, email, _, _, version in batch.rows]


@pytest.mark.parametrize("limit", [None, 3])
def test_rows_already_there_are_kept_and_the_others_written_when_the_batch_skips_existing(acme, limit):
    settings = loom_table(acme.storage.schema, "loom_settings")
    with acme.storage.begin() as conn:
        conn.execute(settings.insert(), [{"key": f"k{n}", "value": "before"} for n in range(0, 250, 7)])
    with acme.storage.begin() as conn, _variables(conn, limit):
        insert_all(conn, [Rows(settings, ("key", "value"), [(f"k{n}", "after") for n in range(250)],
                               skip_existing=True)])
    with acme.storage.connect() as conn:
        kept = dict(conn.execute(select(settings.c.key, settings.c.value).where(settings.c.key.like("k%"))).all())
    assert kept == {f"k{n}": "before" if n % 7 == 0 else "after" for n in range(250)}


@pytest.mark.parametrize("count", [1, 200])  # 200: past COPY_ROWS, written with COPY on PostgreSQL
def test_work_done_meanwhile_runs_once_while_the_rows_are_written_and_its_result_is_returned(acme, count):
    """`insert_all(meanwhile=…)`: called once, its result returned, the rows written; on
    PostgreSQL with COPY it runs inside the COPY, every row already sent: the server
    inserts all of them while the COPY has not ended."""
    seen = []

    def meanwhile():
        driver = conn.connection.driver_connection
        if postgresql and count >= COPY_ROWS and not seen:
            assert TransactionStatus(driver.pgconn.transaction_status) == TransactionStatus.ACTIVE  # the COPY
            seen.append(_copied_by_server(acme, driver.info.backend_pid, count))
        else:
            seen.append("after")
        return "made"

    postgresql = acme.storage.dialect == "postgresql"
    with acme.storage.begin() as conn:
        assert insert_all(conn, [_contact_rows(acme, count, "m")], meanwhile=meanwhile) == "made"
    assert _contacts(acme) == count
    assert seen == [count if postgresql and count >= COPY_ROWS else "after"]
    with acme.storage.begin() as conn:  # nothing to write: still called, once
        assert insert_all(conn, [], meanwhile=meanwhile) == "made" and len(seen) == 2


def test_work_done_meanwhile_failing_writes_nothing_and_leaves_the_connection_usable(acme):
    def meanwhile():
        raise ValueError("refused while the rows were written")

    with pytest.raises(ValueError, match="refused while"):
        with acme.storage.begin() as conn:
            driver = conn.connection.driver_connection
            insert_all(conn, [_contact_rows(acme, 200, "f")], meanwhile=meanwhile)
    assert _contacts(acme) == 0
    if acme.storage.dialect == "postgresql":  # that very connection: out of its COPY, rolled back
        assert not driver.closed and TransactionStatus(driver.pgconn.transaction_status) == TransactionStatus.IDLE
    for _ in range(3):  # every connection of the pool still writes
        acme.records.create("contact", {"full_name": "After"})
    assert _contacts(acme) == 3


def test_the_databases_refusal_of_a_row_comes_before_an_error_of_the_work_done_meanwhile(acme):
    """A unique value taken and a refusal meanwhile: the database's error is raised, as it
    was when the work came after the rows."""
    acme.records.create("contact", {"full_name": "Taken", "email": "f7@example.com"})

    def meanwhile():
        raise ValueError("refused while the rows were written")

    with pytest.raises(IntegrityError):
        with acme.storage.begin() as conn:
            insert_all(conn, [_contact_rows(acme, 200, "f")], meanwhile=meanwhile)
    assert _contacts(acme) == 1


def test_work_done_meanwhile_is_refused_beside_a_commit_sent_with_the_rows(acme):
    with acme.storage.begin() as conn:
        with pytest.raises(ValueError, match="cannot run beside a COMMIT"):
            insert_all(conn, [_contact_rows(acme, 2, "c")], commit=True, meanwhile=lambda: None)
    assert _contacts(acme) == 0


@given(day=st.dates() | st.datetimes() | st.none(), flag=st.booleans() | st.none())
def test_sqlites_typed_shortcuts_write_what_sqlalchemy_writes(day, flag):
    """A date's ISO text and a boolean bound as it is: the values SQLAlchemy's own
    processors give the driver, byte for byte (a datetime in a date column too)."""
    dialect = sqlite_dialect()
    date_type, bool_type = Date(), Boolean()
    assert _sqlite_shortcut(date_type, dialect)(day) == date_type._cached_bind_processor(dialect)(day)
    assert _sqlite_shortcut(bool_type, dialect) is _AS_IT_IS
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        bound = conn.execute("SELECT ?, typeof(?)", (flag, flag)).fetchone()
        expected = bool_type._cached_bind_processor(dialect)(flag)
        assert bound == conn.execute("SELECT ?, typeof(?)", (expected, expected)).fetchone()
