"""Two imports of one entity at once, each updating the same stored records (in opposite
orders) and creating records a blocking rule checks: both finish, neither is aborted as a
deadlock. On PostgreSQL a chunk locks the records it updates in id order before its
duplicate checks' key locks; the test forces the worst interleaving — a third
transaction holds both records until both imports wait for it. On SQLite writes take
turns. Real threads, real connections."""
from __future__ import annotations

import copy
import threading
import time

import pytest
from sqlalchemy import select, text

from engine.auth import create_user
from engine.imports import importer
from engine.imports.planning import Options
from tests.engine.test_dedup import DOCUMENT
from tests.imports.test_import_duplicates import STRICT

# the sessions waiting, directly or behind another waiter, for the transaction of `holder`
BLOCKED = """WITH RECURSIVE blocked(pid) AS (
    SELECT pid FROM pg_stat_activity WHERE CAST(:holder AS integer) = ANY(pg_blocking_pids(pid))
    UNION SELECT a.pid FROM pg_stat_activity a JOIN blocked b ON b.pid = ANY(pg_blocking_pids(a.pid)))
SELECT count(*) FROM blocked"""


@pytest.fixture
def people(install):
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    doc = copy.deepcopy(DOCUMENT)
    doc["entities"][0]["duplicate_rules"] = STRICT
    session.apply_metadata(doc)
    return session


def csv_of(lines) -> importer.Source:
    return importer.Source("people.csv", ("name,email,age,id_number\n" + "\n".join(lines) + "\n").encode())


def run_both(install, people, sources, before=None) -> list:
    """Commit each of `sources` in a thread of its own, as two importers; the results (or errors)."""
    actors = [create_user(people.storage, f"importer{n}@acme.example", "admin") for n in range(len(sources))]
    outcomes = [None] * len(sources)

    def commit(n):
        try:
            outcomes[n] = importer.commit(install.session("acme", actors[n]).records, "person", sources[n],
                                          options=Options(key="email"))
        except Exception as exc:  # noqa: BLE001 - the test reports what stopped an import
            outcomes[n] = exc

    threads = [threading.Thread(target=commit, args=(n,)) for n in range(len(sources))]
    for thread in threads:
        thread.start()
    if before is not None:
        before(threads)
    for thread in threads:
        thread.join()
    return outcomes


def test_two_imports_updating_the_same_records_in_opposite_orders_both_finish(install, people, backend):
    first = people.records.create("person", {"name": "First", "email": "first@x.cn", "age": 1})
    second = people.records.create("person", {"name": "Second", "email": "second@x.cn", "age": 1})
    sources = [csv_of(["First,first@x.cn,10,", "Second,second@x.cn,10,", "New A,a@x.cn,,ID-A"]),
               csv_of(["Second,second@x.cn,20,", "First,first@x.cn,20,", "New B,b@x.cn,,ID-B"])]
    if backend == "postgresql":
        table = people.metadata().tables["person"]
        with people.storage.connect() as holder:
            holder.execute(select(table.c.id).where(table.c.id.in_([first["id"], second["id"]]))
                           .with_for_update()).all()
            pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()

            def release(threads):  # once both imports wait to write (or, without the lock, are done)
                with people.storage.engine.connect() as probe:
                    while probe.execute(text(BLOCKED), {"holder": pid}).scalar_one() < 2 \
                            and any(t.is_alive() for t in threads):
                        probe.commit()
                        time.sleep(0.005)  # not a spin: the machine's 2 cores are shared
                holder.commit()
            outcomes = run_both(install, people, sources, release)
    else:
        outcomes = run_both(install, people, sources)
    assert [o.totals if isinstance(o, importer.Result) else o for o in outcomes] == [
        {"read": 3, "created": 1, "updated": 2, "skipped": 0, "refused": 0, "balanced": True}] * 2
    stored = {p["email"]: p for p in people.records.list("person")["items"]}
    assert sorted(stored) == ["a@x.cn", "b@x.cn", "first@x.cn", "second@x.cn"]
    assert stored["first@x.cn"]["version"] == stored["second@x.cn"]["version"] == 3
