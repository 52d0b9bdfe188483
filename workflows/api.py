"""The workflow and rules API of a tenant, beside the records API:
transitions, the transition log, SLA timers, the rule trace (with "why not?"),
business hours, the dead-letter list and background jobs."""
from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from sqlalchemy import select

from engine.api.auth import tenant_api
from engine.api.body import json_body
from engine import background
from engine.api.params import accepts
from engine.errors import NotFound, ValidationFailed
from engine.records.inputs import expected_version_of
from engine.systables import loom_table
from engine.timefmt import iso_utc
from workflows import outbox, transitions
from workflows.calendar import load_calendar, save_calendar
from workflows.runtime import rule_event, runtime_of
from engine.whole import whole_number

workflow_api = Blueprint("workflows", __name__, url_prefix="/api/v1/t/<tenant>")
tenant_api(workflow_api)
RECORD = "/records/<entity>/<record_id>"
MAX_RETRY_IDS = 1000


@workflow_api.get(f"{RECORD}/transitions")
def list_transitions(entity, record_id):
    return jsonify(transitions.available(g.session, entity, record_id))


@workflow_api.post(f"{RECORD}/transitions/<name>")
def take_transition(entity, record_id, name):
    body = json_body(keys=("comment", "version"), optional=True)
    expected = expected_version_of(body.get("version"), request.headers.get("If-Match"))  # both: they must agree
    status, result = transitions.perform(g.session, entity, record_id, name, body.get("comment"), expected)
    return jsonify(result), status


@workflow_api.get(f"{RECORD}/workflow-history")
def workflow_history(entity, record_id):
    return jsonify({"items": transitions.history(g.session, entity, record_id)})


@workflow_api.get(f"{RECORD}/sla")
def sla_timers(entity, record_id):
    from workflows.sla import timers_for

    g.session.records.get(entity, record_id)
    return jsonify({"items": timers_for(g.session.storage, entity, int(record_id))})


@workflow_api.get(f"{RECORD}/rule-trace")
@accepts("explain")
def rule_trace(entity, record_id):
    """Every rule firing for the record; `?explain=<ruleset>.<rule>` also says why that
    rule did or did not fire for the record's latest event."""
    record = g.session.records.get(entity, record_id)
    trace = loom_table(g.session.storage.schema, "loom_rule_trace")
    with g.session.storage.connect() as conn:
        rows = conn.execute(select(trace).where(trace.c.entity == entity, trace.c.record_id == record["id"])
                            .order_by(trace.c.id)).mappings().all()
    body = {"items": [_trace_item(r) for r in rows]}
    target = request.args.get("explain")
    if target:
        body["explain"] = _explain(entity, record, target)
    return jsonify(body)


def _trace_item(row) -> dict:
    return {"at": iso_utc(row["at"]), "event_id": row["event_id"], "event": row["event"],
            "ruleset": row["ruleset"], "rule": row["rule"], "kind": row["kind"], "outcome": row["outcome"],
            "actions": row["actions"], "detail": row["detail"]}


def _explain(entity, record, target) -> dict:
    ruleset, _, rule = target.partition(".")
    latest = _latest_event(entity, record["id"])
    if latest is None:
        raise NotFound(f"{entity} {record['id']} has no recorded event to explain", code="no_event")
    rules = runtime_of(g.session.install).published_rules(g.session)
    try:
        event = rule_event(g.session.tenant.slug, latest, g.session.metadata())
        return {"event_id": latest["id"], **rules.explain(event, ruleset, rule)}
    except LookupError:
        raise NotFound(f"no rule {target!r} in this tenant's rule sets", code="unknown_rule") from None


def _latest_event(entity, record_id):
    table = loom_table(g.session.storage.schema, "loom_outbox")
    with g.session.storage.connect() as conn:
        row = conn.execute(select(table).where(table.c.entity == entity, table.c.record_id == record_id)
                           .order_by(table.c.id.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


@workflow_api.get("/settings/business-hours")
def get_business_hours():
    return jsonify(load_calendar(g.session).to_settings())


@workflow_api.put("/settings/business-hours")
def put_business_hours():
    return jsonify(save_calendar(g.session, json_body()))


@workflow_api.get("/jobs/failed")
def failed_jobs():
    g.session.require_admin(to="read the failed jobs")
    return jsonify({"items": [_job_item(r) for r in outbox.failed(g.session.storage)]})


@workflow_api.post("/jobs/retry")
def retry_jobs():
    g.session.require_admin(to="retry failed jobs")
    ids = json_body(keys=("ids",), optional=True).get("ids")
    if ids is not None and (not isinstance(ids, list) or len(ids) > MAX_RETRY_IDS or not all(
            isinstance(i, int) and not isinstance(i, bool) and 1 <= i < 2**63 for i in ids)):
        raise ValidationFailed("ids must be a list of event ids",
                               details=[{"field": "ids", "message": f"a list of at most {MAX_RETRY_IDS} event ids"}])
    count = outbox.retry(g.session.storage, ids)
    runtime_of(g.session.install).jobs.enqueue_drain(g.session.tenant.slug)
    return jsonify({"requeued": count})


def queue_job(session, kind, params) -> dict:
    """Start a background job (`engine.background`): its parameters checked, the job
    recorded and queued; the job."""
    job = background.submit(session, kind, params)
    runtime_of(session.install).jobs.enqueue_job(session.tenant.slug, job["id"])
    return job


def start_job(session, kind, params) -> tuple:
    """`queue_job`, answered as the API answers it: 202 with the job."""
    job = queue_job(session, kind, params)
    return jsonify(background.get(session.storage, job["id"])), 202


@workflow_api.post("/jobs")
def post_job():
    body = json_body(keys=("kind", "params"))
    return start_job(g.session, body.get("kind"), body.get("params"))


@workflow_api.get("/jobs")
@accepts("kind", "limit")
def list_jobs():
    limit = whole_number(request.args.get("limit", "50"), 1, background.MAX_LISTED)
    if limit is None:
        raise ValidationFailed(f"limit must be a whole number from 1 to {background.MAX_LISTED}",
                               details=[{"field": "limit", "message": f"1 to {background.MAX_LISTED}"}])
    return jsonify({"items": background.listing(g.session, request.args.get("kind"), limit)})


@workflow_api.get("/jobs/<int:job_id>")
def get_job(job_id):
    return jsonify(background.visible(g.session, job_id))


def _job_item(row) -> dict:
    return {"id": row["id"], "event": row["event"], "entity": row["entity"], "record_id": row["record_id"],
            "attempts": row["attempts"], "error": row["last_error"]}
