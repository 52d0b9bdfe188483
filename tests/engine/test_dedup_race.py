"""Two writes of the same key racing past a blocking duplicate rule: exactly one is
written, the other refused with 409 `duplicate` — on PostgreSQL by the advisory lock the
check takes (`engine.dedup.locks`), on SQLite by the write lock every write transaction
holds from its BEGIN. Real threads, real connections."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from engine.auth import create_user
from engine.dedup.locks import entity_key
from engine.errors import Conflict
from tests.engine.test_dedup import document

WAITING = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"


@pytest.fixture
def people(install):
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    session.apply_metadata(document())
    return session


def race(install, people, bodies, before=None):
    """Create each of `bodies` in a thread of its own, as two members; the outcomes."""
    actors = [create_user(people.storage, f"m{n}@acme.example") for n in range(len(bodies))]
    outcomes = [None] * len(bodies)

    def create(n):
        try:
            outcomes[n] = install.session("acme", actors[n]).records.create("person", bodies[n])
        except Conflict as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=create, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    if before is not None:
        before(threads)
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.parametrize("bodies", [
    [{"name": "Wang Fang", "phone": "13800138001"}, {"name": "Li Lei", "phone": "+86 138 0013 8001"}],
    [{"name": "A", "id_number": "110101"}, {"name": "B", "id_number": "110101"}],
])
def test_two_creates_of_one_key_one_wins_the_other_gets_409(install, people, backend, bodies):
    if backend == "postgresql":
        # Hold the entity's check lock, so both creates insert their row and then wait
        # to check: the worst interleaving, every time.
        with people.storage.engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_xact_lock(:e)"),
                           {"e": entity_key(people.storage.schema, "person")})

            def release(threads):  # once both wait for it (or, without the lock, are done)
                with people.storage.engine.connect() as probe:
                    while probe.execute(text(WAITING)).scalar_one() < 2 and any(t.is_alive() for t in threads):
                        probe.commit()
                        time.sleep(0.005)  # not a spin: the machine's 2 cores are shared
                holder.commit()
            outcomes = race(install, people, bodies, release)
    else:
        outcomes = race(install, people, bodies)
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    written = [o for o in outcomes if isinstance(o, dict)]
    assert len(written) == 1 and len(refused) == 1
    assert refused[0].status == 409 and refused[0].code == "duplicate"
    assert people.records.count("person") == 1
