"""Import runs and their checkpoints: `loom_import_runs` keeps the file and the options
of a real run (so a crashed run resumes from the database alone), `loom_import_chunks`
one row per committed chunk, written in the chunk's own transaction."""
from __future__ import annotations

from sqlalchemy import select

from engine.errors import Conflict, Forbidden, NotFound
from engine.records.writes import utcnow
from engine.systables import loom_table
from engine.timefmt import iso_utc


STATUSES = ("planned", "running", "done", "failed")  # planned: kept for a dry run (a job's), never written


def create(storage, entity: str, filename: str, source: bytes, options: dict, by: str | None,
           status: str = "running", by_id: int | None = None) -> int:
    """A new run; `by_id` is its owner (the creator's user id), `by` their e-mail, shown."""
    table = loom_table(storage.schema, "loom_import_runs")
    with storage.begin() as conn:
        return conn.execute(table.insert().returning(table.c.id).values(
            entity=entity, filename=filename[:255], source=source, options=options, status=status,
            created_by=by, created_by_id=by_id, created_at=utcnow())).scalar_one()


def require_owner(run: dict, actor, to: str = "read its run") -> dict:
    """The run, if `actor` may follow it: its creator (by user id) or an admin; None is the
    install itself (the CLI)."""
    if actor is not None and not actor.is_admin and run["created_by_id"] != actor.id:
        raise Forbidden(f"only who uploaded an import's file (or an admin) may {to}", code="not_your_import")
    return run


def public(run: dict) -> dict:
    """A run as the API shows it (without its file)."""
    return {"id": run["id"], "entity": run["entity"], "filename": run["filename"], "status": run["status"],
            "totals": run["totals"], "created_by": run["created_by"], "created_at": iso_utc(run["created_at"]),
            "finished_at": iso_utc(run["finished_at"]) if run["finished_at"] else None,
            "file_kept": bool(run["source"]),
            "file_removed_at": iso_utc(run["file_removed_at"]) if run["file_removed_at"] else None}


def get(storage, run_id) -> dict:
    table = loom_table(storage.schema, "loom_import_runs")
    try:
        run_id = int(run_id)
    except (TypeError, ValueError):
        raise NotFound(f"no import run {run_id!r}", code="import_run_not_found") from None
    if not 0 < run_id < 2**63:
        raise NotFound(f"no import run {run_id}", code="import_run_not_found")
    with storage.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == run_id)).mappings().first()
    if row is None:
        raise NotFound(f"no import run {run_id}", code="import_run_not_found")
    return dict(row)


def checkpoint(conn, schema, run_id: int, chunk: int, outcome: dict) -> None:
    """The chunk's checkpoint, in the chunk's transaction (a second one for the same
    chunk is refused by the primary key: the transaction rolls back)."""
    conn.execute(loom_table(schema, "loom_import_chunks").insert().values(
        run_id=run_id, chunk=chunk, outcome=outcome, at=utcnow()))


def committed(storage, run_id: int) -> dict:
    """{chunk: outcome} of the chunks a run committed."""
    table = loom_table(storage.schema, "loom_import_chunks")
    with storage.connect() as conn:
        return {r.chunk: r.outcome for r in conn.execute(
            select(table.c.chunk, table.c.outcome).where(table.c.run_id == run_id))}


def finish(storage, run_id: int, status: str, totals: dict) -> None:
    table = loom_table(storage.schema, "loom_import_runs")
    with storage.begin() as conn:
        conn.execute(table.update().where(table.c.id == run_id).values(
            status=status, totals=totals, finished_at=utcnow()))


def source_of(run: dict) -> bytes:
    """The kept file of a run; Conflict when an erasure of personal data removed it
    (`engine.privacy.kept_copies`)."""
    if not run["source"] and run["file_removed_at"]:
        raise Conflict(f"the file of import run {run['id']} is no longer kept: retention removed it on "
                       f"{iso_utc(run['file_removed_at'])[:10]} (the run keeps its summary); import the file again",
                       code="import_file_expired")
    if not run["source"]:
        raise Conflict(f"the file of import run {run['id']} is no longer kept: an erasure of personal data "
                       "removed it; import the file again", code="import_file_erased")
    return run["source"]


def planned(storage, run_id: int, options: dict, totals: dict) -> bool:
    """A kept dry run's totals and plan digest (the run stays planned), kept only while
    the run still has the `options` it was planned with (the row held while they are
    compared): False, and nothing kept, when the run was committed or changed meanwhile
    (a stale dry run's plan is dropped)."""
    table = loom_table(storage.schema, "loom_import_runs")
    with storage.begin() as conn:
        now = conn.execute(select(table.c.status, table.c.options)
                           .where(table.c.id == run_id).with_for_update()).mappings().first()
        if now is None or now["status"] != "planned" or now["options"] != options:
            return False
        return conn.execute(table.update().where(table.c.id == run_id, table.c.status == "planned")
                            .values(totals=totals)).rowcount == 1


def start(storage, run_id: int, checked: dict) -> bool:
    """A planned run becomes running, once, and only as `checked` was (its options and
    the plan of its dry run): False when it was committed already, or its mapping,
    options or dry run changed since it was read (the row held while it is compared)."""
    table = loom_table(storage.schema, "loom_import_runs")
    with storage.begin() as conn:
        now = conn.execute(select(table.c.status, table.c.options, table.c.totals)
                           .where(table.c.id == run_id).with_for_update()).mappings().first()
        if now is None or now["status"] != "planned" or now["options"] != checked["options"] \
                or (now["totals"] or {}).get("plan") != (checked["totals"] or {}).get("plan"):
            return False
        return conn.execute(table.update().where(table.c.id == run_id, table.c.status == "planned")
                            .values(status="running")).rowcount == 1


def set_options(storage, run_id: int, options: dict) -> bool:
    """A planned run's new mapping and options; its dry run (totals) is forgotten."""
    table = loom_table(storage.schema, "loom_import_runs")
    with storage.begin() as conn:
        return conn.execute(table.update().where(table.c.id == run_id, table.c.status == "planned")
                            .values(options=options, totals=None)).rowcount == 1
