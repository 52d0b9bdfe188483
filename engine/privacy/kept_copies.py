"""Copies of people's data that Loom keeps whole, beside the records and the logs, and
what an erasure does to them:

- the file of each import run (`loom_import_runs.source`): every row of the file, kept so
  a crashed run resumes and its refused rows can be downloaded;
- what a merge keeps to undo itself (`loom_merges.undo`): the merged records' values.

The records merged into an erased one are erased with it (`merged_into`): their history
became the survivor's.

Neither can be rewritten value by value (a file is bytes in its own format; an undo must
restore exactly what was there), so an erasure removes them whole: the files of every
import run that is not running (a running one still reads its file: it keeps it, and the
erasure's log says so), and the undo of every merge whose survivor or losers include an
erased record — such a merge can no longer be undone, and says so (`merge_erased`)."""
from __future__ import annotations

from sqlalchemy import select

from engine.systables import loom_table
from engine.timefmt import iso_utc

ERASED_FILE = b""  # an import run's file after an erasure removed it


def forget_import_files(conn, schema) -> dict:
    """Remove the kept files of the import runs that are not running; returns how many
    were removed and which running runs keep theirs."""
    runs = loom_table(schema, "loom_import_runs")
    rows = conn.execute(select(runs.c.id, runs.c.status).where(runs.c.source != ERASED_FILE)).all()
    removed = [r.id for r in rows if r.status != "running"]
    if removed:
        conn.execute(runs.update().where(runs.c.id.in_(removed)).values(source=ERASED_FILE))
    return {"import_files": len(removed), "import_files_kept_running": [r.id for r in rows if r.status == "running"]}


def merged_into(conn, schema, entity: str, record_id: int) -> list[int]:
    """The records merged into `record_id` (and into those, all the way down): their history
    is the subject's now (the survivor's timeline shows it), so an erasure ties them."""
    merges = loom_table(schema, "loom_merges")
    found, todo = [], [record_id]
    while todo:
        rows = conn.execute(select(merges.c.losers).where(merges.c.entity == entity,
                                                          merges.c.survivor_id.in_(todo))).scalars().all()
        todo = [loser for losers in rows for loser in (losers or []) if loser not in found and loser != record_id]
        found += todo
    return found


def forget_merge_undos(conn, schema, erased, at) -> int:
    """Forget the undo of each merge of an erased record (as survivor or loser); returns
    how many merges can no longer be undone."""
    merges = loom_table(schema, "loom_merges")
    ids_by_entity = {entity: set(records) for entity, records in erased.records.items()}
    if not ids_by_entity:
        return 0
    rows = conn.execute(select(merges.c.id, merges.c.entity, merges.c.survivor_id, merges.c.losers)
                        .where(merges.c.entity.in_(list(ids_by_entity)))).all()
    forgotten = [r.id for r in rows
                 if ({r.survivor_id, *(r.losers or [])} & ids_by_entity.get(r.entity, set()))]
    if forgotten:
        conn.execute(merges.update().where(merges.c.id.in_(forgotten)).values(undo={"erased_at": iso_utc(at)}))
    return len(forgotten)
