"""A batch create asks Loom's own plugins once for the whole write (`loom_records_before_write`,
`loom_records_after_commit`) when each of them takes the list, and record by record when one
does not; pack plugins are asked record by record. What a batch leaves is what the same
records created one by one leave, to every reader of the audit trail and the outbox, and the
validation rules refuse a batch as they refuse a single create."""
from __future__ import annotations

import itertools
import logging

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from psycopg.pq import TransactionStatus
from sqlalchemy import func, select

import workflows.plugin
from engine.errors import LoomError, ValidationFailed
from engine.events import RecordEvent
from engine.hookspecs import hookimpl
from engine.plugins import Plugins
from engine.records.bulk_rows import COPY_ROWS
from engine.rolled_back import rolled_back
from engine.systables import loom_table
from workflows.trial import _TrialSession
from tests.engine.test_write_rows import rows
from tests.workflows.test_rules_integration import EMAIL_FOR_GOLD, drain, with_rules


class PerRecord:
    """A core plugin that listens record by record only."""
    LOOM_PLUGIN_NAME = "per_record"

    def __init__(self):
        self.before, self.after = [], []

    @hookimpl
    def loom_record_before_write(self, event):
        self.before.append(event.record_id)

    @hookimpl
    def loom_record_after_commit(self, event):
        self.after.append(event.record_id)


class Batched(PerRecord):
    """A core plugin that takes a write's events at once too."""
    LOOM_PLUGIN_NAME = "batched"

    def __init__(self, fail_after=False):
        super().__init__()
        self.batches_before, self.batches_after, self.fail_after = [], [], fail_after

    @hookimpl
    def loom_records_before_write(self, events):
        self.batches_before.append([e.record_id for e in events])

    @hookimpl
    def loom_records_after_commit(self, events):
        self.batches_after.append([e.record_id for e in events])
        if self.fail_after:
            raise RuntimeError("after commit")


class Pack:
    """A pack plugin (enabled by the tenant) setting a value on every record."""
    LOOM_PLUGIN_NAME = "pack_setting_phones"

    def __init__(self):
        self.seen = []

    @hookimpl
    def loom_record_before_write(self, event):
        self.seen.append(event.record_id)
        return {"phone": f"+86 138 0000 {event.record_id:04d}"} if event.action == "created" else None


@pytest.fixture
def listener(request):
    return request.param()


@pytest.fixture
def plugins(listener):
    return Plugins(load_entry_points=False, core_plugins=[workflows.plugin, listener])


def people(n: int, tag: str = "p") -> list[dict]:
    return [{"full_name": f"{tag} {i}", "email": f"{tag}{i}@example.com"} for i in range(n)]


@pytest.mark.parametrize("listener", [Batched], indirect=True)
def test_a_core_plugin_taking_the_list_is_asked_once_per_batch(acme, listener):
    ids = acme.records.create_many("contact", people(5))
    assert listener.batches_before == [ids] and listener.batches_after == [ids]
    assert listener.before == [] and listener.after == []  # not asked again record by record
    single = acme.records.create("contact", {"full_name": "Solo"})["id"]
    assert listener.before == [single] and listener.after == [single]  # a single write: as before
    assert listener.batches_before == [ids] and listener.batches_after == [ids]


@pytest.mark.parametrize("listener", [PerRecord], indirect=True)
def test_a_core_plugin_listening_record_by_record_is_asked_for_each_record_of_a_batch(acme, listener):
    ids = acme.records.create_many("contact", people(4))
    assert listener.before == ids and listener.after == ids


@pytest.mark.parametrize("listener", [lambda: Batched(fail_after=True)], indirect=True)
def test_a_failing_batch_after_commit_hook_is_logged_and_the_batch_stays(acme, listener, caplog):
    with caplog.at_level(logging.ERROR, logger="loom.hooks"):
        ids = acme.records.create_many("contact", people(3))
    assert "loom_records_after_commit failed for 3 contact events" in caplog.text
    assert [acme.records.get("contact", i)["full_name"] for i in ids] == ["p 0", "p 1", "p 2"]


@pytest.mark.parametrize("listener", [Batched], indirect=True)
def test_pack_plugins_are_still_asked_record_by_record_and_their_values_kept(install, acme, listener):
    pack = Pack()
    install.plugins.pm.register(pack, name=Pack.LOOM_PLUGIN_NAME)
    install.registry.set_plugins("acme", ["pack_setting_phones"])
    session = install.session("acme")
    ids = session.records.create_many("contact", people(3))
    assert pack.seen == ids and listener.batches_before == [ids]
    for record_id in ids:
        phone = f"+86 138 0000 {record_id:04d}"
        assert session.records.get("contact", record_id)["phone"] == phone
        [outbox] = rows(session, "loom_outbox", entity="contact", record_id=record_id)
        [audit] = rows(session, "loom_audit", entity="contact", record_id=record_id)
        event = RecordEvent.from_outbox(outbox, "acme")
        assert event.record["phone"] == phone == audit["changes"]["phone"][1]
        assert event.changes == audit["changes"]  # the changes the hook's value made, kept or derived


def counts(session) -> dict:
    schema = session.storage.schema
    tables = [session.metadata().tables["contact"]] + [loom_table(schema, n) for n in ("loom_audit", "loom_outbox")]
    with session.storage.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}


@pytest.mark.parametrize("listener", [Batched, PerRecord], indirect=True)
def test_a_validation_rule_refuses_a_batch_as_it_refuses_a_single_create(install, acme, listener):
    acme.apply_metadata(with_rules(EMAIL_FOR_GOLD))
    session = install.session("acme")
    before = counts(session)
    batch = people(4)
    batch[2]["tier"] = "gold"
    with pytest.raises(ValidationFailed) as refused:
        session.records.create_many("contact", batch)
    with pytest.raises(ValidationFailed) as single:
        session.records.create("contact", batch[2])
    assert refused.value.code == single.value.code == "rule_refused"
    assert refused.value.message == single.value.message == "New contacts start below gold"
    assert refused.value.details == single.value.details
    assert counts(session) == before


# -- a batch leaves what single creates leave --------------------------------------------------
SYSTEM = {"id", "created_at", "updated_at", "email"}
items = st.lists(st.fixed_dictionaries({
    "full_name": st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1,
                         max_size=12).filter(str.strip),
    "tier": st.sampled_from([None, "regular", "silver", "gold", "diamond"]),
    "lifetime_value": st.one_of(st.none(), st.decimals(0, 10**6, places=2).map(str)),
    "consent_marketing": st.booleans(),
    "phone": st.one_of(st.none(), st.integers(0, 9999).map(lambda n: f"+86 139 0000 {n:04d}")),
}), min_size=1, max_size=6)
_runs = itertools.count()


def views(session, ids) -> list:
    """Every reader's view of the records: the record, its history, its audit row, its
    outbox row and the event the drain and the rules read from it (ids, times and the
    e-mail, which differs by construction, left out)."""
    out = []
    for record_id in ids:
        record = session.records.get("contact", record_id)
        [audit] = rows(session, "loom_audit", entity="contact", record_id=record_id)
        [outbox] = rows(session, "loom_outbox", entity="contact", record_id=record_id)
        event = RecordEvent.from_outbox(outbox, "acme").to_dict()
        history = session.records.history("contact", record_id)
        out.append({
            "record": {k: v for k, v in record.items() if k not in SYSTEM},
            "audit": (audit["action"], audit["record_version"], audit["actor_id"],
                      {k: v for k, v in audit["changes"].items() if k != "email"}),
            "history": [({k: v for k, v in h["changes"].items() if k != "email"}, h.get("action"))
                        for h in history],
            "outbox": (outbox["event"], outbox["status"], outbox["attempts"], outbox["entity"]),
            "event": {k: ({f: v for f, v in value.items() if f not in SYSTEM} if k in ("record", "changes")
                          else value) for k, value in event.items() if k not in ("id", "record_id", "at")},
        })
    return out


@pytest.mark.parametrize("listener", [Batched, PerRecord], indirect=True)
@given(batch=items)
@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_batch_leaves_to_every_reader_what_single_creates_leave(acme, listener, batch):
    run = next(_runs)
    batched = [{**item, "email": f"b{run}.{n}@example.com"} for n, item in enumerate(batch)]
    singles = [{**item, "email": f"s{run}.{n}@example.com"} for n, item in enumerate(batch)]
    ids = acme.records.create_many("contact", batched)
    single_ids = [acme.records.create("contact", item)["id"] for item in singles]
    assert views(acme, ids) == views(acme, single_ids)


@pytest.mark.parametrize("listener", [Batched], indirect=True)
def test_the_drain_handles_every_event_of_a_batch(install, acme, listener):
    ids = acme.records.create_many("contact", people(7))
    drain(install)
    assert {r["record_id"]: r["status"] for r in rows(acme, "loom_outbox", entity="contact")} == {
        i: "done" for i in ids}


class TitleOnUpdate:
    """A pack plugin setting a contact's lifetime value on every update (a merge's re-pointing too)."""
    LOOM_PLUGIN_NAME = "pack_titling"

    @hookimpl
    def loom_record_before_write(self, event):
        return {"lifetime_value": "7"} if event.action == "updated" and event.entity == "contact" else None


@pytest.mark.parametrize("listener", [PerRecord], indirect=True)
def test_a_pack_setting_values_on_a_re_pointed_record_keeps_the_merge_in_its_audit_row(install, acme, listener):
    install.plugins.pm.register(TitleOnUpdate(), name=TitleOnUpdate.LOOM_PLUGIN_NAME)
    install.registry.set_plugins("acme", ["pack_titling"])
    session = install.session("acme")
    keep, lose = (session.records.create("account", {"name": n})["id"] for n in ("Globex", "Globex Ltd"))
    contact = session.records.create("contact", {"full_name": "Rita", "account": lose})["id"]
    merge = session.records.merge("account", keep, [lose], {})
    assert session.records.get("contact", contact)["lifetime_value"] == "7.00"
    last = rows(session, "loom_audit", entity="contact", record_id=contact)[-1]["changes"]
    assert last["account"] == [lose, keep] and last["_merge"] == [None, merge["id"]]
    assert last["lifetime_value"] == [None, "7.00"]


@pytest.mark.parametrize("listener", [Batched, PerRecord], indirect=True)
def test_a_validation_rule_refusing_a_large_batch_writes_nothing(install, acme, listener):
    """Past `COPY_ROWS` the core plugins are asked while the records are being written (with
    COPY on PostgreSQL): a refusal still leaves no record, audit or outbox row, and the next
    write works."""
    acme.apply_metadata(with_rules(EMAIL_FOR_GOLD))
    session = install.session("acme")
    before = counts(session)
    batch = people(COPY_ROWS * 2)
    batch[-1]["tier"] = "gold"
    with pytest.raises(ValidationFailed) as refused:
        session.records.create_many("contact", batch)
    assert (refused.value.code, refused.value.message) == ("rule_refused", "New contacts start below gold")
    assert counts(session) == before
    batch[-1]["tier"] = "silver"
    assert len(session.records.create_many("contact", batch)) == len(batch)


@pytest.mark.parametrize("listener", [Batched], indirect=True)
def test_a_large_batch_both_refused_by_a_rule_and_taking_a_stored_unique_value_gets_the_conflict(
        install, acme, listener, caplog):
    """The database's refusal comes first, as when the rules were asked after the records
    were written, and nothing of the rows' values reaches the log."""
    acme.apply_metadata(with_rules(EMAIL_FOR_GOLD))
    session = install.session("acme")
    session.records.create("contact", {"full_name": "First", "email": "taken@example.com"})
    before = counts(session)
    batch = people(COPY_ROWS * 2)
    batch[0]["tier"] = "gold"
    batch[-1]["email"] = "taken@example.com"
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(LoomError) as refused:
            session.records.create_many("contact", batch)
    assert refused.value.status == 409 and "email" in str(refused.value.to_dict())
    assert counts(session) == before
    assert "taken@example.com" not in caplog.text


class ConnectionWatch(Batched):
    """A core plugin noting, while it checks a batch, whether the connection of a trial's
    storage (the one its reads would go through) is free to use."""
    LOOM_PLUGIN_NAME = "connection_watch"

    def __init__(self):
        super().__init__()
        self.statuses = []

    @hookimpl
    def loom_records_before_write(self, events, session):
        super().loom_records_before_write(events)
        storage = session.storage
        if storage.single_transaction and storage.dialect == "postgresql":
            self.statuses.append(TransactionStatus(storage._conn.connection.driver_connection.pgconn.transaction_status))


@pytest.mark.parametrize("listener", [ConnectionWatch], indirect=True)
def test_in_a_trial_the_core_plugins_check_a_large_batch_with_the_connection_free(install, acme, listener):
    """A trial's storage is one transaction its readers share: the core plugins are asked
    after the records' COPY has ended, so a read of theirs does not wait on the COPY."""
    session = install.session("acme")
    with rolled_back(session.storage, session.metadata().version) as storage:
        trial = _TrialSession(session, storage, session.metadata(), session.actor)
        try:
            ids = trial.records.create_many("contact", people(COPY_ROWS * 2, "t"))
        finally:
            trial.rules_engine.withdraw(session.tenant.slug)
    assert len(ids) == COPY_ROWS * 2 and listener.batches_before == [ids]
    if session.storage.dialect == "postgresql":
        assert listener.statuses == [TransactionStatus.INTRANS]  # not ACTIVE: no COPY under way
    assert counts(session)["contact"] == 0  # rolled back
