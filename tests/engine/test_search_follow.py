"""The search index follows writes after their commit, on both backends: a write leaves
one queue row per record and no terms; a search, or the worker's drain, replaces the
queued records' terms with those of their values as they stand; and however writes,
rollbacks and followers interleave (concurrent followers included), the index ends as
a rebuild from the records would leave it."""
from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from sqlalchemy import func, select

from engine.records.search_index import find, follow_writes, reindex
from engine.systables import loom_table


def count(session, table_name):
    with session.storage.connect() as conn:
        return conn.execute(select(func.count()).select_from(loom_table(session.storage.schema, table_name))
                            ).scalar_one()


def index_rows(session):
    table = loom_table(session.storage.schema, "loom_search")
    with session.storage.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(select(table)))


def ids(session, query):
    return sorted(i for _, i, _ in find(session.storage, session.metadata(), query, ["contact"], 100))


def test_a_write_queues_its_record_and_a_search_finds_it(acme):
    record = acme.records.create("contact", {"full_name": "Zebedee Quux", "email": "zq@example.org"})
    assert (count(acme, "loom_search_queue"), count(acme, "loom_search")) == (1, 0)
    assert ids(acme, "zebedee") == [record["id"]]
    assert count(acme, "loom_search_queue") == 0 and count(acme, "loom_search") > 0
    acme.records.update("contact", record["id"], {"full_name": "Yolanda Quux"})
    assert ids(acme, "zebedee") == [] and ids(acme, "yolanda") == [record["id"]]
    acme.records.delete("contact", record["id"])
    assert ids(acme, "yolanda") == [] and count(acme, "loom_search") == 0


def test_a_write_that_changes_no_searchable_value_queues_nothing(acme):
    record = acme.records.create("contact", {"full_name": "Zebedee Quux"})
    follow_writes(acme.storage, acme.metadata())
    acme.records.update("contact", record["id"], {"tier": "gold"})
    assert count(acme, "loom_search_queue") == 0


def test_a_batch_is_followed_in_transactions_of_the_given_size(acme):
    acme.records.create_many("contact", [{"full_name": f"客户{i}"} for i in range(25)])
    assert count(acme, "loom_search_queue") == 25
    assert follow_writes(acme.storage, acme.metadata(), limit=10) == 25
    assert count(acme, "loom_search_queue") == 0 and len(ids(acme, "客户")) == 25
    assert follow_writes(acme.storage, acme.metadata()) == 0


def test_the_worker_drain_brings_the_index_in_step(install, acme):
    from workflows.runtime import runtime_of

    acme.records.create("contact", {"full_name": "Zebedee Quux"})
    runtime_of(install).jobs.drain("acme")
    assert count(acme, "loom_search_queue") == 0 and count(acme, "loom_search") > 0


operations = st.lists(st.tuples(st.sampled_from(["create", "update", "delete", "rollback", "follow"]),
                                st.sampled_from(["王伟", "Wang Wei", "张 伟", "", "li.na@example.cn"]),
                                st.integers(0, 5)), min_size=1, max_size=12)


@given(ops=operations)
@hsettings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_however_writes_and_followers_interleave_the_index_ends_as_a_rebuild(acme, ops):
    made = []
    for action, name, pick in ops:
        if action == "create" or not made and action in ("update", "delete"):
            made.append(acme.records.create("contact", {"full_name": name or "x"})["id"])
        elif action == "update":
            acme.records.update("contact", made[pick % len(made)], {"full_name": name or "y"})
        elif action == "delete":
            acme.records.delete("contact", made.pop(pick % len(made)))
        elif action == "rollback":
            with pytest.raises(RuntimeError), acme.storage.begin() as conn:
                acme.records.create_within(conn, "contact", {"full_name": name or "rolled back",
                                                             "email": "rolled.back@example.cn"})
                raise RuntimeError("rolled back")
        else:
            follow_writes(acme.storage, acme.metadata(), limit=2)
    follow_writes(acme.storage, acme.metadata())
    followed = index_rows(acme)
    reindex(acme.storage, acme.metadata())
    assert followed == index_rows(acme)
    assert count(acme, "loom_search_queue") == 0


def test_followers_running_at_once_with_writers_leave_the_index_as_a_rebuild(acme):
    """Two followers and a writer at once: the followers take turns, and each removes
    only the queue rows it read, so a write committed meanwhile is followed next time."""
    ids_ = acme.records.create_many("contact", [{"full_name": f"客户{i}"} for i in range(60)])
    failures = []

    def writer():
        try:
            for round_ in range(3):
                for record_id in ids_[:20]:
                    acme.records.update("contact", record_id, {"full_name": f"顾客{round_}-{record_id}"})
        except Exception as exc:  # reported below
            failures.append(exc)

    def follower():
        try:
            for _ in range(6):
                follow_writes(acme.storage, acme.metadata(), limit=7)
        except Exception as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=t) for t in (writer, follower, follower)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    follow_writes(acme.storage, acme.metadata())
    followed = index_rows(acme)
    reindex(acme.storage, acme.metadata())
    assert followed == index_rows(acme)
    assert ids(acme, "顾客2") == sorted(ids_[:20]) and len(ids(acme, "客户")) == 40
