"""The record an action sees, on SQLite and PostgreSQL: read only when the action reads
it (a plugin's no-op costs no read), and always as it is now, so an action after another
one that wrote the record sees the written values and version."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from engine.actions import ActionSpec
from engine.hookspecs import hookimpl
from engine.plugins import Plugins
from engine.records.reads import RecordReads
from tests.workflows.test_jobs import trace_rows
from workflows import plugin as workflows_plugin
from workflows.action_record import CurrentRecord
from workflows.runtime import runtime_of

SEEN: list = []


class Probes:
    """`probe_quiet` never looks at the record; `probe_read` keeps what it saw."""

    LOOM_PLUGIN_NAME = "probes"

    @staticmethod
    @hookimpl
    def loom_actions():
        def read(context, params):
            SEEN.append((context.record["note"], context.record["version"]))
            return {}

        return {"probe_quiet": ActionSpec(run=lambda context, params: {}),
                "probe_read": ActionSpec(run=read)}


DOC = {"entities": [{"name": "item", "fields": [{"name": "name", "type": "string"},
                                               {"name": "note", "type": "string"}]}]}


def with_rule(actions) -> dict:
    return {**DOC, "rulesets": [{"name": "acts", "kind": "automation", "entity": "item", "rules": [
        {"name": "on_create", "when": {"event": "record.created"}, "actions": actions}]}]}


@pytest.fixture
def plugins():
    return Plugins(load_entry_points=False, core_plugins=[workflows_plugin, Probes])


@pytest.fixture
def reads(monkeypatch) -> list:
    """The record reads made (through the real `records.get`)."""
    made, real = [], RecordReads.get

    def counted(self, entity_name, record_id, fields=None):
        made.append((entity_name, record_id))
        return real(self, entity_name, record_id, fields)

    monkeypatch.setattr(RecordReads, "get", counted)
    return made


def tenant(install, document):
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    session.apply_metadata(document)
    return session


def test_an_action_that_never_reads_the_record_costs_no_read(install, reads):
    session = tenant(install, with_rule([{"action": "probe_quiet"}, {"action": "probe_quiet"}]))
    session.records.create_many("item", [{"name": f"i{n}"} for n in range(3)])
    reads.clear()
    assert runtime_of(install).jobs.drain("acme")["done"] == 3
    assert reads == []
    assert [(t["rule"], t["outcome"]) for t in trace_rows(session)] == [("on_create", "done")] * 3


@hsettings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(notes=st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                              min_size=1, max_size=12), min_size=1, max_size=3))
def test_each_action_sees_what_the_earlier_ones_wrote(install, notes):
    """set_field after set_field (and a reader after each) sees the values and version now."""
    SEEN.clear()
    actions = []
    for note in notes:
        actions += [{"action": "set_field", "params": {"field": "note", "value": note}},
                    {"action": "probe_read"},
                    {"action": "set_field", "params": {"field": "name", "value": {"$record": "note"}}}]
    slug_session = install.session("acme") if install.registry.get("acme") else tenant(install, DOC)
    slug_session.apply_metadata(with_rule(actions))
    record = slug_session.records.create("item", {"name": "start"})
    runtime_of(install).jobs.drain("acme")
    seen = SEEN[:]
    assert [note for note, _ in seen] == notes
    versions = [version for _, version in seen]
    assert versions == sorted(set(versions))               # each read the record anew
    final = install.session("acme").records.get("item", record["id"])
    assert final["note"] == notes[-1] and final["name"] == notes[-1]


def test_set_field_with_a_constant_value_costs_no_read(install, reads):
    """The record's id comes from the event: only a `$record` value reads the record."""
    session = tenant(install, with_rule([
        {"action": "set_field", "params": {"field": "note", "value": "seen"}},
        {"action": "set_field", "params": {"field": "name", "value": {"$record": "note"}}}]))
    made = list(session.records.create_many("item", [{"name": f"i{n}"} for n in range(3)]))
    reads.clear()
    assert runtime_of(install).jobs.drain("acme")["done"] == 3 * 3   # + the two updates' events
    assert sorted(reads) == sorted(("item", rid) for rid in made)  # the $record copy's read only
    for rid in made:
        now = session.records.get("item", rid)
        assert (now["note"], now["name"]) == ("seen", "seen")
    assert {t["outcome"] for t in trace_rows(session)} == {"done"}


def test_set_field_on_a_record_deleted_since_the_event_fails_as_before(install, reads):
    session = tenant(install, with_rule([{"action": "set_field", "params": {"field": "note", "value": "x"}}]))
    record = session.records.create("item", {"name": "gone"})
    session.records.delete("item", record["id"])
    runtime_of(install).jobs.drain("acme")
    failed = [t for t in trace_rows(session) if t["rule"] == "on_create"]
    assert [t["outcome"] for t in failed] == ["failed"]
    assert "set_field" in str(failed[0])


def test_an_event_without_the_record_reads_it_for_the_id(install, reads):
    """An SLA timer's event carries no record: the action reads it to learn its id."""
    session = tenant(install, DOC)
    record = session.records.create("item", {"name": "timed"})
    reads.clear()
    event = {"id": "sla-1", "event": "timer", "tenant": "acme", "entity": "item",
             "record_id": record["id"], "record": {}, "changes": {}, "at": None}
    runtime_of(install).run_actions(session, event, [
        {"action": "set_field", "params": {"field": "note", "value": "due"}}], "sla:1")
    assert reads == [("item", record["id"])]
    assert session.records.get("item", record["id"])["note"] == "due"


@hsettings(max_examples=60, deadline=None)
@given(record_id=st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=2)),
       seen=st.one_of(st.none(), st.just({}), st.dictionaries(st.just("id"), st.one_of(
           st.booleans(), st.integers(-3, 3), st.text(max_size=2)))))
def test_the_id_is_known_only_when_the_event_tells_the_id_of_the_record_it_saw(record_id, seen):
    event = {"event": "record.updated", "entity": "item", "record_id": record_id, "record": seen}
    known = CurrentRecord(None, event).known_id()
    tells = (isinstance(record_id, int) and not isinstance(record_id, bool) and isinstance(seen, dict)
             and "id" in seen and seen["id"] == record_id and type(seen["id"]) is not bool)
    assert known == (record_id if tells else None)
