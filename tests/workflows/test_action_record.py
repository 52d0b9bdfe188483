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
