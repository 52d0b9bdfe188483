"""Workflow states a new document removes: records in them must be moved, never stranded.

A removed state that still holds records is refused with the count, unless the admin maps
it to a state of the new workflow (`--map-state service_request.waiting=in_progress`);
mapped records move in the migration's transaction, each move audited."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from engine.crypto.copies import Copies
from engine.events import RecordEvent
from engine.records.dump import RecordShape
from engine.records.writes import audit_row, outbox_row, write_audit, write_outbox
from engine.systables import loom_table
from engine.words import counted


def parse_state_map(pairs) -> dict:
    """`["entity.old=new", ...]` → {(entity, old): new}; ValueError naming a bad pair."""
    mapping = {}
    for pair in pairs or ():
        target, _, new = str(pair).partition("=")
        entity, _, old = target.partition(".")
        if not (entity and old and new):
            raise ValueError(f"{pair!r} is not ENTITY.OLD_STATE=NEW_STATE")
        mapping[(entity, old)] = new
    return mapping


def move_records(conn, schema, changes, new_pkg, old_tables, state_map, dry_run, actor_id=None,
                 tenant=None, old_pkg=None):
    """Refusal details for stranded records (none: every removed state is empty or mapped),
    and the moves made (or, in a dry run, that would be made)."""
    dropped = [(c.entity, c.field, c.old) for c in changes if c.kind == "drop_state"]
    problems, moves = [], []
    for (entity, old), new in state_map.items():
        if (entity, old) not in {(e, s) for e, _, s in dropped}:
            problems.append({"field": f"{entity}.{old}", "message": "is not a state this document removes"})
    for entity, field, state in dropped:
        table = old_tables[entity]
        held = conn.execute(select(func.count()).where(table.c[field] == state)).scalar_one()
        if not held:
            continue
        target = state_map.get((entity, state))
        workflow = new_pkg.workflow_for(entity)
        if target is None:
            problems.append({"field": f"{entity}.{field}", "message": (
                f"{counted(held, 'record')} of {entity} are in state {state!r}, which the new workflow "
                f"removes; map them to a state: --map-state {entity}.{state}=<state> "
                f"(one of {', '.join(workflow.state_names())})")})
        elif workflow is None or workflow.state(target) is None:
            problems.append({"field": f"{entity}.{state}", "message": f"{target!r} is not a state of the new workflow"})
        else:
            moves.append({"entity": entity, "field": field, "from": state, "to": target, "records": held})
    if problems or dry_run:
        return problems, moves
    for move in moves:
        workflow = new_pkg.workflow_for(move["entity"])
        shape = RecordShape(old_pkg.entity(move["entity"])) if old_pkg else None
        _move(conn, schema, old_tables[move["entity"]], move, actor_id, tenant, workflow.name, shape)
    return [], moves


def _move(conn, schema, table, move, actor_id, tenant, workflow_name, shape) -> None:
    """Move the records, each like a transition: audited, logged in the transition log and
    announced as `record.transitioned` (marked `state_map`), so SLA timers and rules follow."""
    at = datetime.now(timezone.utc)
    field = table.c[move["field"]]
    rows = conn.execute(select(table).where(field == move["from"])).mappings().all()
    conn.execute(table.update().where(field == move["from"]).values(
        {move["field"]: move["to"], "version": table.c.version + 1, "updated_at": at, "updated_by": actor_id}))
    changes = {move["field"]: [move["from"], move["to"]]}
    write_audit(conn, schema, [audit_row(at, actor_id, "state_map", move["entity"], row["id"], row["version"] + 1,
                                         changes) for row in rows])
    if not rows:
        return
    conn.execute(loom_table(schema, "loom_transitions").insert(), [
        {"at": at, "entity": move["entity"], "record_id": row["id"], "workflow": workflow_name,
         "transition": "state_map", "from_state": move["from"], "to_state": move["to"], "actor_id": actor_id,
         "comment": "moved by a metadata change that removed its state"} for row in rows])
    extra = {"workflow": workflow_name, "transition": "state_map", "from": move["from"], "to": move["to"],
             "comment": None, "actions": [], "state_map": True}
    events, copies = [], Copies.of_table(move["entity"], table)  # encrypted values sealed in the payloads
    for row in rows:
        record = shape.dump({**row, move["field"]: move["to"], "version": row["version"] + 1,
                             "updated_at": at}) if shape else {"id": row["id"], move["field"]: move["to"]}
        event = RecordEvent(tenant or "", move["entity"], "transitioned", row["id"], record, changes, None, extra, at)
        events.append(outbox_row(at, event, copies))
    write_outbox(conn, schema, events)
