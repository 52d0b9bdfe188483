"""Workflows and rules of one install at run time: the job queue, the rules engine with
each tenant's published rule sets, and the handling of every outbox event.

An event is handled by running, in order: the workflow's actions (entering the initial
state on create; leaving, taking and entering on a transition) and the SLA timers of the
initial state, then every automation rule it fires. Each action gets an effect key
derived from the event id, so handling an event again after a crash changes nothing
twice; every rule firing is written to the rule trace."""
from __future__ import annotations

import functools
import threading
from datetime import datetime, timezone

from engine.actions import ActionFailed
from engine.crypto.copies import Copies
from engine.events import RecordEvent, outbox_dict
from engine.privacy.error_text import describe
from workflows import sla
from workflows.action_record import CurrentRecord, RecordOnUse
from workflows.calendar import load_calendar
from workflows.correlations import DatabaseCorrelationStore
from workflows.error_text import ActionError, event_values
from workflows.jobs import Jobs
from workflows.rules import Firing, RulesEngine
from workflows.trace import Traces, record_trace  # noqa: F401 - record_trace: where it was


def runtime_of(install) -> "WorkflowRuntime":
    """The install's runtime, made on first use (kept in `install.extensions`)."""
    runtime = install.extensions.get("workflows")
    if runtime is None:
        with _LOCK:
            runtime = install.extensions.setdefault("workflows", WorkflowRuntime(install))
    return runtime


_LOCK = threading.Lock()


def entity_field_types(package) -> dict:
    """{entity: {field: base type}}: how the rules engine compares each field."""
    return {e.name: {f.name: f.base_type or f.type for f in e.fields} for e in package.entities}


def workflow_actions(workflow, event: dict) -> list[dict]:
    """The actions of `workflow` an event of its entity runs (in `rule_event`'s shape): on
    entering the initial state for a created record; on leaving, taking and entering for
    a transition (as the transition wrote them); none for any other event."""
    if event["event"] == "record.created":
        initial = workflow.state(workflow.initial)
        return list(initial.on_enter) if initial else []
    if event["event"] == "record.transitioned":
        return list(event["extra"].get("actions") or [])
    return []


def rule_event(tenant: str, row: dict, metadata=None) -> dict:
    """An outbox row's event in the one shape (`RecordEvent.to_dict()`): what the rules
    engine, the rule trace, actions and webhooks read; the values of fields encrypted at
    rest, sealed in the row, are opened with the keys of the tenant's `metadata`."""
    return RecordEvent.from_outbox(Copies(metadata).opened_row(row), tenant).to_dict()


class WorkflowRuntime:
    def __init__(self, install, immediate: bool | None = None):
        self.install = install
        self.rules = RulesEngine(DatabaseCorrelationStore(install))
        if immediate is None:
            immediate = install.settings.extra.get("LOOM_JOBS_IMMEDIATE", "") in ("1", "true")
        self.jobs = Jobs(self, immediate=immediate)
        self._published_for: dict[str, str] = {}  # slug: the uid of the tenant whose rules are published
        self._published_lock = threading.Lock()

    # -- rules ------------------------------------------------------------------------------
    def published_rules(self, session) -> RulesEngine:
        """The rules engine with this tenant's current rule sets (republished when the
        metadata version moved: a changed rule set acts at once, without a restart). The
        rules of a deleted tenant whose slug now names another are withdrawn first. A
        session with a `rules_engine` of its own (a trial's) gets that one."""
        own = getattr(session, "rules_engine", None)
        if own is not None:  # a trial's (`workflows.trial`): its rule sets, its correlations
            return own
        compiled = session.metadata()
        slug, uid = session.tenant.slug, session.tenant.uid
        with self._published_lock:
            if self._published_for.get(slug) != uid:
                self.rules.withdraw(slug)
                self._published_for[slug] = uid
        published = self.rules.version(slug)
        if published is None or compiled.version > published:  # else publish() would do nothing
            self.rules.publish(slug, compiled.version, list(compiled.package.rulesets),
                               entity_field_types(compiled.package))
        return self.rules

    # -- events -----------------------------------------------------------------------------
    def handle_event(self, slug: str, row: dict, session=None, traces: Traces | None = None) -> None:
        """Run the event's workflow actions and fire its rules. Their trace rows wait in
        `traces` (a drain writes them with the events' done mark), else each is written
        at once. `row` is the caller's, just read from the outbox: the event shares its values."""
        session = session or self.install.session(slug)
        event = outbox_dict(Copies(session.metadata()).opened_row(row), slug)  # `rule_event`, sharing the row's values
        record = CurrentRecord(session, event)  # read when an action needs it, for all of them
        try:
            self._workflow_effects(session, event, row, record)
            for firing in self.published_rules(session).evaluate(event, kind="automation"):
                self._fire(session, event, firing, traces, record)
        except ActionError:
            raise
        except Exception as exc:  # its text is kept (last_error) and logged: without personal values
            raise ActionError(describe(exc, event_values(session, event))) from None

    def _workflow_effects(self, session, event, row, record=None) -> None:
        workflow = session.metadata().package.workflow_for(event["entity"])
        if workflow is None or event["event"] not in ("record.created", "record.transitioned"):
            return
        if event["event"] == "record.created":
            self._start_initial_timers(session, workflow, event)
        elif event["extra"].get("state_map"):  # moved by a metadata change: timers follow the move
            self._move_timers(session, workflow, event, event["extra"])
        self.run_actions(session, event, workflow_actions(workflow, event), f"wf:{event['id']}", record)

    def _start_initial_timers(self, session, workflow, event) -> None:
        calendar = load_calendar(session)
        with session.storage.begin() as conn:
            sla.start_timers(conn, session.storage.schema, workflow, event["entity"], event["record_id"],
                             workflow.initial, _at(event), calendar)

    def _move_timers(self, session, workflow, event, extra) -> None:
        calendar = load_calendar(session)
        at = _at(event)
        with session.storage.begin() as conn:
            sla.stop_timers(conn, session.storage.schema, event["entity"], event["record_id"], extra["from"], at)
            sla.start_timers(conn, session.storage.schema, workflow, event["entity"], event["record_id"],
                             extra["to"], at, calendar)

    def run_actions(self, session, event, actions, key_prefix, record=None) -> list[dict]:
        """Run named actions in order with idempotency keys `<prefix>:<index>`; each sees
        the record as it is now (`CurrentRecord`), read only when the action reads it."""
        registry = session.actions()
        acting = session.for_actions()
        record = record if record is not None else CurrentRecord(session, event)
        outcomes = []
        for index, action in enumerate(actions):
            spec = registry.get(action["action"])
            if spec is None:
                raise ActionFailed(f"unknown action {action['action']!r}")
            context = RecordOnUse(record.current, record.known_id(), session=acting, entity=event["entity"],
                                  event=_public(event), effect_key=f"{key_prefix}:{index}")
            try:
                outcomes.append({"action": action["action"],
                                 "outcome": spec.run(context, action.get("params") or {})})
            finally:
                record.acted()  # it may have changed the record: the next one reads it again
        return outcomes

    def _fire(self, session, event, firing, traces: Traces | None = None, record=None) -> None:
        key = f"rule:{event['id']}:{firing.ruleset}:{firing.rule}"
        trace = traces.add if traces is not None else functools.partial(record_trace, session)
        try:
            outcomes = self.run_actions(session, event, list(firing.actions), key, record)
        except Exception as exc:
            text = describe(exc, event_values(session, event))  # the trace's text: no personal value
            trace(event, firing, "failed", [], {"error": text}, key)
            raise ActionError(text) from None
        trace(event, firing, "done", outcomes, None, key)

    # -- scheduled work ---------------------------------------------------------------------
    def run_schedules(self, slug: str) -> dict:
        from workflows import schedules

        session = self.install.session(slug)
        now = datetime.now(timezone.utc)
        swept = sla.sweep(session, now, self._escalate)
        fired = schedules.run_schedules(session, now, self._fire_scheduled)
        return {"sla": swept, "scheduled": fired}

    def _escalate(self, session, timer, actions) -> None:
        event = {"id": f"sla-{timer['id']}", "event": "timer", "tenant": session.tenant.slug,
                 "entity": timer["entity"], "record_id": timer["record_id"], "record": {},
                 "changes": {}, "at": timer["due_at"]}
        try:
            self.run_actions(session, event, actions, f"sla:{timer['id']}")
        except Exception as exc:  # logged by the sweep: its text made safe as a rule's is
            raise ActionError(describe(exc, event_values(session, event))) from None

    def _fire_scheduled(self, session, ruleset, rule, record, effect_key) -> None:
        event = {"id": effect_key, "event": "timer", "tenant": session.tenant.slug,
                 "entity": ruleset.get("entity"), "record_id": record["id"],
                 "record": record, "changes": {}, "at": datetime.now(timezone.utc)}
        firing = Firing(tenant=session.tenant.slug, ruleset=ruleset["name"], rule=rule["name"],
                        kind=ruleset.get("kind", "automation"), event_id=None,
                        actions=tuple(rule.get("actions") or ()), message=None)
        self._fire(session, event, firing)


def _public(event) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in event.items()}


def _at(event) -> datetime:
    """When the event happened (its ISO 'at'), else now."""
    at = event.get("at")
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at or datetime.now(timezone.utc)
