"""What a pack plugin's record hook may do through the plugin session: set values on the
record being written (the audit row and the outbox carry them), never change its event."""
import pytest
from sqlalchemy import select

from engine.plugin_api import ValidationFailed, hookimpl
from engine.systables import loom_table
from tests.conftest import token_for

DOC = {"entities": [{"name": "ticket", "fields": [
    {"name": "subject", "type": "string", "required": True},
    {"name": "code", "type": "string", "readonly": True},
    {"name": "size", "type": "integer"}]}]}


class Stamper:
    """Sets `code` from the subject; with `meddle`, edits the event it was given instead."""

    def __init__(self):
        self.meddle = False

    @hookimpl
    def loom_record_before_write(self, event, session):
        if event.entity != "ticket" or event.action == "deleted":
            return None
        if self.meddle:
            event.record["code"] = "sneaky"
        if event.record.get("size") == 13:
            return {"size": "thirteen"}     # not an integer: checked like any input
        return {"code": event.record["subject"][:3].upper()}


@pytest.fixture
def stamped(install, plugins, client):
    stamper = Stamper()
    plugins.pm.register(stamper, name="stamper")
    install.registry.create("desk", plugins=["stamper"])
    install.session("desk").apply_metadata(DOC)
    token = token_for(install, "desk", "ann@desk.example")
    return stamper, install.session("desk"), {"Authorization": f"Bearer {token}"}


def rows(session, table_name):
    table = loom_table(session.storage.schema, table_name)
    with session.storage.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def test_values_a_hook_returns_are_in_the_answer_the_history_and_the_outbox(stamped, client):
    _, session, auth = stamped
    created = client.post("/api/v1/t/desk/records/ticket", json={"subject": "printer"}, headers=auth)
    assert created.status_code == 201 and created.get_json()["code"] == "PRI"
    ticket = created.get_json()["id"]
    updated = client.patch(f"/api/v1/t/desk/records/ticket/{ticket}", json={"subject": "scanner"}, headers=auth)
    assert updated.get_json()["code"] == "SCA"

    history = client.get(f"/api/v1/t/desk/records/ticket/{ticket}/history", headers=auth).get_json()["items"]
    assert history[0]["changes"]["code"] == [None, "PRI"]
    assert history[1]["changes"] == {"subject": ["printer", "scanner"], "code": ["PRI", "SCA"]}
    outbox = [r["payload"] for r in rows(session, "loom_outbox")]
    assert [p["record"]["code"] for p in outbox] == ["PRI", "SCA"]
    assert outbox[1]["changes"]["code"] == ["PRI", "SCA"]
    assert session.records.get("ticket", ticket)["code"] == "SCA"


def test_a_value_a_hook_sets_is_checked_like_input(stamped):
    _, session, _ = stamped
    with pytest.raises(ValidationFailed) as refused:
        session.records.create("ticket", {"subject": "unlucky", "size": 13})
    assert refused.value.details[0]["field"] == "size"
    assert session.records.list("ticket")["items"] == [] and rows(session, "loom_audit") == []


def test_a_hook_that_changes_its_event_fails_and_nothing_is_written(stamped, client):
    stamper, session, auth = stamped
    stamper.meddle = True
    answer = client.post("/api/v1/t/desk/records/ticket", json={"subject": "printer"}, headers=auth)
    assert answer.status_code == 500
    error = answer.get_json()["error"]
    assert error["code"] == "plugin_failed" and "TypeError" in error["message"]
    assert session.records.list("ticket")["items"] == []
    assert rows(session, "loom_audit") == [] and rows(session, "loom_outbox") == []


def test_increment_stays_above_its_floor_and_is_audited(stamped):
    from engine.plugin_api import PluginSession

    _, session, _ = stamped
    records = PluginSession(session).records
    ticket = records.create("ticket", {"subject": "queue"})["id"]
    assert records.increment("ticket", ticket, "size", -1, at_least=0) is None     # refused: nothing written
    assert records.increment("ticket", ticket, "size", 5, at_least=0)["size"] == 5
    assert records.increment("ticket", ticket, "size", -5, at_least=0)["size"] == 0
    history = session.records.history("ticket", ticket)
    assert [h["changes"].get("size") for h in history] == [None, [0, 5], [5, 0]]
    with pytest.raises(ValidationFailed):
        records.increment("ticket", ticket, "subject", 1)
