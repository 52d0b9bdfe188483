"""A workflow change never strands records: a removed state that holds records is refused
with their count unless they are mapped to a state of the new workflow."""
import copy

import pytest

from engine.errors import MigrationRefused

FLOW = {
    "entities": [{"name": "ticket", "fields": [
        {"name": "title", "type": "string"},
        {"name": "status", "type": "choice", "options": ["new", "waiting", "done"]}]}],
    "workflows": [{"name": "ticket_flow", "entity": "ticket", "field": "status", "initial": "new",
                   "states": [{"name": "new", "category": "open"}, {"name": "waiting", "category": "waiting"},
                              {"name": "done", "category": "done"}],
                   "transitions": [{"name": "wait", "from": ["new"], "to": "waiting"},
                                   {"name": "finish", "from": "*", "to": "done"}]}],
}


def without_waiting():
    doc = copy.deepcopy(FLOW)
    doc["entities"][0]["fields"][1]["options"] = ["new", "done"]
    flow = doc["workflows"][0]
    flow["states"] = [s for s in flow["states"] if s["name"] != "waiting"]
    flow["transitions"] = [t for t in flow["transitions"] if t["name"] != "wait"]
    return doc


@pytest.fixture
def desk(install):
    from workflows.transitions import perform

    install.registry.create("desk")
    session = install.session("desk")
    session.apply_metadata(copy.deepcopy(FLOW))
    for title in ("a", "b", "c"):
        record = session.records.create("ticket", {"title": title})
        if title != "c":
            perform(session, "ticket", record["id"], "wait")
    return session


def statuses(session):
    return sorted((r["title"], r["status"]) for r in session.records.list("ticket")["items"])


def test_removing_a_state_that_holds_records_is_refused_with_the_count(desk):
    with pytest.raises(MigrationRefused) as refused:
        desk.apply_metadata(without_waiting())
    assert refused.value.code == "stranded_records"
    assert "2 records of ticket are in state 'waiting'" in refused.value.details[0]["message"]
    assert len(desk.metadata_history()) == 1
    assert statuses(desk) == [("a", "waiting"), ("b", "waiting"), ("c", "new")]


def test_mapped_records_move_to_the_new_state_with_an_audit_row(desk):
    result = desk.apply_metadata(without_waiting(), state_map={("ticket", "waiting"): "new"})
    assert result.moves == [{"entity": "ticket", "field": "status", "from": "waiting", "to": "new", "records": 2}]
    assert statuses(desk) == [("a", "new"), ("b", "new"), ("c", "new")]
    moved = desk.records.list("ticket", [("title", "a")])["items"][0]
    assert desk.records.history("ticket", moved["id"])[-1]["action"] == "state_map"


@pytest.mark.parametrize("state_map, message", [
    ({("ticket", "waiting"): "lost"}, "'lost' is not a state of the new workflow"),
    ({("ticket", "new"): "done"}, "is not a state this document removes"),
])
def test_a_bad_state_map_is_refused_and_changes_nothing(desk, state_map, message):
    with pytest.raises(MigrationRefused) as refused:
        desk.apply_metadata(without_waiting(), state_map=state_map)
    assert any(message in d["message"] for d in refused.value.details)
    assert statuses(desk) == [("a", "waiting"), ("b", "waiting"), ("c", "new")]


def test_a_dry_run_reports_the_moves_and_moves_nothing(desk):
    result = desk.apply_metadata(without_waiting(), dry_run=True, state_map={("ticket", "waiting"): "done"})
    assert result.moves[0]["records"] == 2 and not result.applied
    assert statuses(desk) == [("a", "waiting"), ("b", "waiting"), ("c", "new")]
