""""My work" on the home page: records I own, approvals my role may give and I have not
given, and overdue SLA timers on records I may read.

Every section is bounded (a few rows, a capped scan) and reads records through the record
service, so sharing decides what appears exactly as it does in lists and the API."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from admin_ui.formats import moment, record_title, titles_of
from workflows import sla, transitions

PER_ENTITY = 3       # my newest records shown per entity
APPROVALS = 10       # approvals shown
CANDIDATES = 20      # records in an approvable state looked at per transition
OVERDUE = 10         # overdue timers shown
OVERDUE_SCAN = 1000  # overdue timers looked at before giving up (most are on unreadable records)


@dataclass
class MyWork:
    mine: list = field(default_factory=list)       # [{entity, records: [{id, title}]}]
    approvals: list = field(default_factory=list)  # [{entity, id, title, transition, given, needed}]
    overdue: list = field(default_factory=list)    # [{entity, id, title, timer, state, due_at}]


def my_work(session, view: dict) -> MyWork:
    return MyWork(mine=my_records(session, view), approvals=approvals_waiting(session, view),
                  overdue=overdue_timers(session, view))


def my_records(session, view: dict) -> list[dict]:
    """Per entity (in navigation order), my newest records: a few each."""
    me, out = str(session.actor.id), []
    for entity in view["entities"]:
        page = session.records.list(entity["name"], [("owner_id", me), ("sort", "-id"),
                                                     ("limit", str(PER_ENTITY))])["items"]
        if page:
            out.append({"entity": entity, "records": [{"id": r["id"], "title": record_title(entity, r)}
                                                      for r in page]})
    return out


def approvals_waiting(session, view: dict) -> list[dict]:
    """Records in a state that a transition needing my role's approval leaves, where my
    approval is still open (the workflow engine's own `available_for` says so, for all the
candidates of a transition at once), newest first."""
    found = []
    for workflow in view["workflows"]:
        entity = view["entity_by_name"].get(workflow["entity"])
        if entity is None:
            continue
        for transition in workflow["transitions"]:
            if (transition.get("approval") or {}).get("role") != session.actor.role:
                continue
            found += _awaiting(session, entity, workflow, transition)
            if len(found) >= APPROVALS:
                return found[:APPROVALS]
    return found


def _awaiting(session, entity: dict, workflow: dict, transition: dict) -> list[dict]:
    states = transition["from"]
    if states == "*":
        states = [s["name"] for s in workflow["states"] if not s["final"]]
    params = [(f"{workflow['field']}__in", ",".join(states)), ("sort", "-id"), ("limit", str(CANDIDATES))]
    records = session.records.list(entity["name"], params)["items"]
    offered = transitions.available_for(session, entity["name"], records) if records else {}
    out = []
    for record in records:
        for item in offered[record["id"]]["items"]:
            approval = item.get("approval")
            if item["name"] == transition["name"] and approval and approval["you_may_approve"]:
                out.append({"entity": entity, "id": record["id"], "title": record_title(entity, record),
                            "transition": transition["label"] or transition["name"],
                            "given": approval["approvals"], "needed": approval["needed"]})
    return out


def overdue_timers(session, view: dict, now: datetime | None = None) -> list[dict]:
    """Overdue timers on records I may read, most overdue first."""
    now, after, scanned, found = now or datetime.now(timezone.utc), None, 0, []
    while len(found) < OVERDUE and scanned < OVERDUE_SCAN:
        rows = sla.overdue(session.storage, now, limit=200, after=after)
        scanned += len(rows)
        found += _readable(view, rows)
        if len(rows) < 200:
            break
        after = (rows[-1]["due_at"], rows[-1]["id"])
    return found[:OVERDUE]


def _readable(view: dict, rows: list[dict]) -> list[dict]:
    by_entity: dict = {}
    for row in rows:
        by_entity.setdefault(row["entity"], set()).add(row["record_id"])
    titles = {}
    for name, ids in by_entity.items():
        if name in view["entity_by_name"]:
            titles.update(titles_of(name, ids))
    return [{"entity": view["entity_by_name"][r["entity"]], "id": r["record_id"],
             "title": titles[(r["entity"], r["record_id"])], "timer": r["timer"].replace("_", " "),
             "state": _state_label(view, r["entity"], r["state"]), "due_at": moment(r["due_at"])}
            for r in rows if (r["entity"], r["record_id"]) in titles]


def _state_label(view: dict, entity_name: str, state: str) -> str:
    workflow = view["workflow_by_entity"].get(entity_name) or {"states": ()}
    return next((s["label"] for s in workflow["states"] if s["name"] == state), state)
