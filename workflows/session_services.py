"""The services Loom's workflows give every plugin session (`loom_session_services`):
`transitions` (take a workflow transition on a record, as a person would: guards,
required fields, approvals and the transition log apply), `notifications` (send a
message template to people) and `calendar` (business time of the tenant)."""
from __future__ import annotations

from datetime import datetime

from engine import effects
from workflows.calendar import business_time
from workflows.notify.service import notifications
from workflows.transitions import perform


class Transitions:
    def __init__(self, session):
        self._session = session

    def take(self, entity: str, record_id: int, name: str, comment: str | None = None,
             effect_key: str | None = None) -> dict:
        """Take transition `name` on the record. Returns `{"transition", "performed"}` with
        the new `state`, or `awaiting_approval: true` (approvals still missing), or
        `skipped` (a retry whose `effect_key` already took it). A refusal (illegal from
        the state, a guard, a required field, a role) raises its LoomError."""
        session = self._session
        if effect_key and effects.already(session.storage, effect_key):
            return {"transition": name, "performed": False, "skipped": "already done for this event"}
        status, body = perform(session, entity, record_id, name, comment=comment, effect_key=effect_key)
        if status == 202:
            return {"transition": name, "performed": False, "awaiting_approval": True}
        record = body.get("record") if isinstance(body, dict) else None
        if record is None:
            return {"transition": name, "performed": False, "skipped": "already done for this event"}
        workflow = session.metadata().package.workflow_for(entity)
        return {"transition": name, "performed": True,
                "state": record.get(workflow.field) if workflow else None}


class Calendar:
    def __init__(self, session):
        self._session = session

    def add(self, start: datetime, minutes: int) -> datetime:
        """`start` plus `minutes` of the tenant's business hours (aware, UTC): Monday to
        Friday, 09:00-18:00, unless the tenant set its own."""
        return business_time(self._session, start, minutes)


def services() -> dict:
    return {"transitions": Transitions, "notifications": notifications, "calendar": Calendar}
