"""The real run: the plan written chunk by chunk through the record service's batch path
(`create_many`, audit and outbox rows included) with the chunk's updates and its
checkpoint in the same transaction. A resumed run skips the chunks with a checkpoint and
plans the others against the records as they are then: no row twice, none lost.

A chunk's checkpoint keeps the rows it created (`rows`, with their `ids`), the old
values of the fields its updates changed (`before`) and the unique values its rows
claimed and gave up (`claims`, `engine.imports.unique`): a resumed run compares its later
rows with those as the uninterrupted run would. An update refused as it is written keeps
the unique values the plan let it give up, and its key: a later update of the chunk
taking one is refused before it meets the unique index, and a later chunk's key finds
the record by the key it kept. A create refused as it is written (a value outside the
field rules, the importer's attributes changed meanwhile) is refused alone, as the plan
refuses it (`fieldrules`). A checkpoint without `rows` (written
before Loom kept them) leaves its records to be compared as stored records: a later
row's match names the record, not the row.

Lock order (PostgreSQL): a chunk first locks the stored records it updates, in id
order, then the duplicate checks' key locks (sorted, `engine.dedup.locks`), then writes —
as a single update takes its record's row before its keys — so two imports updating the
same records wait for each other instead of deadlocking."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine.background import NoProgress
from engine.errors import Conflict, Forbidden, LoomError, NotFound, ValidationFailed
from engine.imports import runs
from engine.in_lists import in_lists
from engine.records.pinning import held
from engine.records.sharing import NotShared

INDEXED = re.compile(r"/([0-9]+)/(.*)")


def write_all(service, planner, run_id: int, progress=None) -> dict:
    """Plan and write every chunk without a checkpoint; {chunk: outcome} of every chunk."""
    progress = progress or NoProgress()
    rows = len(planner)
    size = planner.options.chunk_size
    done = runs.committed(service.storage, run_id)
    if done:
        full = [done[chunk] for chunk in sorted(done) if "rows" in done[chunk]]  # the shape keeping rows
        before = {}
        for outcome in full:
            planner.ledger.ours.update(outcome["ids"])
            for record_id, values in outcome.get("before", {}).items():  # the earliest chunk's value wins
                before[int(record_id)] = {**values, **before.get(int(record_id), {})}
        with service.storage.connect() as conn:
            current = planner.ledger.resume(conn, [r for o in full for r in o["rows"]],
                                            [i for o in full for i in o["ids"]], before)
        planner.dedup.resume(current)
        planner.unique.resume([c for chunk in sorted(done) for c in done[chunk].get("claims", ())])
        planner.keys.resume()
    progress.total(rows)
    for chunk, start in enumerate(range(0, rows, size)):
        stop = min(rows, start + size)
        if chunk not in done:
            done[chunk] = write_chunk(service, planner, run_id, chunk, planner.plan(start, stop))
        progress.advance(stop - start)
    return done


def write_chunk(service, planner, run_id: int, chunk: int, plans) -> dict:
    """Write one chunk's creates and updates and its checkpoint in one transaction; a
    create the database refuses after planning (a record changed meanwhile) is refused
    and the chunk written without it."""
    entity = planner.entity.name
    kept = {}  # (field, value) -> row: unique values an update refused as it was written did not give up
    for _attempt in range(3):
        creates = [p for p in plans if p.action == "create"]
        outcome = _outcome(plans)

        def within(conn, ids=()):
            outcome["ids"] = list(ids)
            outcome["rows"] = [p.row for p in creates]
            planner.ledger.ids.update(zip(outcome["rows"], ids))
            for plan in plans:
                if plan.action == "update" and plan.of_row is not None:
                    plan.record_id = planner.ledger.ids.get(plan.of_row)
                    if plan.record_id is None:
                        planner._refuse(plan, "id", "duplicate", f"updates the record of row {plan.of_row}, "
                                                                 "which was not created")
                        continue
                if plan.action == "update":
                    _refuse_kept(planner, plan, kept)
                if plan.action == "update":
                    try:
                        service.update_within(conn, entity, plan.record_id, plan.data)
                    except (Forbidden, NotFound) as exc:  # a record the importer may read but not edit
                        planner._refuse(plan, planner.options.key or "id", exc.code, exc.message)
                if plan.action == "refuse":
                    _keep_released(planner, plan, kept)
            outcome.update({k: v for k, v in _outcome(plans).items() if k not in ("ids", "rows")})
            outcome["before"] = _before(planner, plans)
            outcome["claims"] = [c for p in plans if p.action in ("create", "update")
                                 for c in planner.claimed.get(p.row, ())]
            runs.checkpoint(conn, service.storage.schema, run_id, chunk, outcome)
        try:
            if creates:
                # the plan applied the duplicate rules already: to the stored records (those rows update as
                # the rows leave them) and to the file's own rows (records the batch's check leaves out)
                service.create_many(entity, [p.data for p in creates], allow_duplicates=True, within=within,
                                    exclude_ids=planner.ledger.mine,
                                    before=lambda conn: _lock_updated(conn, planner, plans))
            else:
                with held(service.storage, service.metadata.version) as conn:
                    _lock_updated(conn, planner, plans)
                    within(conn)
            planner.ledger.ours.update(outcome["ids"])
            return outcome
        except (ValidationFailed, Conflict, NotShared) as exc:  # a record (or the importer) changed since the plan
            for row in outcome.get("rows", ()):
                planner.ledger.ids.pop(row, None)
            if not _refuse_failing(exc, creates, planner):
                raise
    raise LoomError(f"chunk {chunk + 1} of the import keeps being refused", code="import_chunk_refused")


def _refuse_kept(planner, plan, kept: dict) -> None:
    """Refuse an update taking a unique value an earlier update of the chunk, refused as it
    was written, gave up in the plan: its record keeps the value (the unique index would
    refuse the write)."""
    for name, value in plan.data.items():
        if (name, value) in kept:
            planner._refuse(plan, name, "not_unique", f"{name} {value!r} stays with the record row "
                                                      f"{kept[name, value]} could not update")
            return


def _keep_released(planner, plan, kept: dict) -> None:
    """A planned update refused as it is written: the unique values it gave up stay its
    record's, for the later rows of the chunk (`kept`) and the later chunks, and so does
    its key (`Keys.restore`)."""
    made = [c for c in planner.claimed.get(plan.row, ()) if c[3] == "free"]
    planner.unique.restore(made, plan)
    planner.keys.restore(plan.row)
    for name, value, row, _kind, _ref in made:
        kept[name, value] = row


def _lock_updated(conn, planner, plans) -> None:
    """Lock the records the chunk updates that exist already, in id order (PostgreSQL; on
    SQLite the write transaction holds the database's lock)."""
    if conn.dialect.name != "postgresql":
        return
    ids = sorted({p.record_id if p.of_row is None else planner.ledger.ids.get(p.of_row)
                  for p in plans if p.action == "update"} - {None})
    table = planner.table
    for some in in_lists(ids):
        conn.execute(select(table.c.id).where(table.c.id.in_(some)).order_by(table.c.id)
                     .with_for_update())


def _before(planner, plans) -> dict:
    """{id: {field: its value before the run}} of the stored records the chunk updates."""
    before = planner.ledger.before
    return {str(p.record_id): {k: before[p.record_id][k] for k in p.data} for p in plans
            if p.action == "update" and p.of_row is None and p.record_id in before}


def _refuse_failing(exc, creates, planner) -> bool:
    """Refuse the creates the batch path named in `exc` (its details point at them); a
    value outside the field rules as the plan refuses it (`fieldrules`): `not_shared`,
    with the record service's message."""
    found = False
    for detail in exc.details:
        match = INDEXED.fullmatch(str(detail.get("field", "")))
        if match and int(match.group(1)) < len(creates):
            plan = creates[int(match.group(1))]
            code, message = (exc.code, exc.message) if isinstance(exc, NotShared) else \
                (detail.get("code", "invalid"), detail["message"])
            planner._refuse(plan, match.group(2), code, message)
            found = True
    return found


def _outcome(plans) -> dict:
    counts = {"created": 0, "updated": 0, "skipped": 0}
    refused = []
    for plan in plans:
        if plan.action == "refuse":
            refused.append({"row": plan.row, "problems": plan.problems})
        else:
            counts[{"create": "created", "update": "updated", "skip": "skipped"}[plan.action]] += 1
    return {**counts, "refused": refused, "ids": [], "rows": []}
