"""Background jobs: long work a user starts and watches — an import, a duplicate scan.

A job is a row of the tenant's `loom_jobs`. `submit` checks its parameters up front (a bad
one is refused and no job is made) and records it as queued; the job queue (the
workflows layer's `loom.job` task) then calls `execute`, which claims it and runs its
kind's code. The code reports how far it got through a `Progress`, which writes in its
own short transactions so a reader sees it while the job runs, and keeps a checkpoint of
the job's own (`state`): when a worker dies, the minute tick finds the job's heartbeat
stale and runs it again, and the code resumes from its checkpoint.

A kind is a module with two functions, named in `KINDS`:

    check(session, params) -> params      validate and normalise; raise a LoomError to refuse
    run(session, params, progress) -> dict   do the work; its result is the job's result

and optionally `personal_values(session, params) -> set[str]`, the personal values the
job's failure text must not carry (the records it was working on).

A LoomError from `run` fails the job with its message, made safe (`engine.privacy.error_text`:
without those values, e-mail addresses or long numbers); anything else fails it with a
short message, and its traceback is logged made safe the same way, so a job never stays
"running" for ever and its error texts hold no personal value.

Each claim writes a new random token in the row's `claim` (revision 0021), and every later
write of that worker — progress, checkpoint, result — is made only where the row still
holds it (compare-and-set). A worker that stalled past STALE is superseded when another
takes the job: its next write matches no row, raises `Superseded` (rolling back a
checkpoint's transaction with the work it describes), and the worker stops, writing nothing."""
from __future__ import annotations

import importlib
import logging
import secrets
import time
from datetime import timedelta

from sqlalchemy import and_, or_, select

from engine.auth import actor_by_id
from engine.errors import Forbidden, LoomError, NotFound, ValidationFailed
from engine.privacy.error_text import describe, safe_text, safe_trace
from engine.records.writes import utcnow
from engine.systables import loom_table
from engine.timefmt import iso_utc

log = logging.getLogger("loom.background")

# job kind -> the module holding its `check` and `run`
KINDS: dict[str, str] = {
    "dedup_scan": "engine.dedup.job",
    "import": "engine.imports.job",
}

STALE = timedelta(minutes=5)  # a running job without a heartbeat for this long lost its worker
HEARTBEAT_SECONDS = 1.0  # progress is written at most this often (and at every checkpoint)
STATUSES = ("queued", "running", "done", "failed")
MAX_LISTED = 100


def _table(storage):
    return loom_table(storage.schema, "loom_jobs")


def kind_module(kind):
    if not isinstance(kind, str) or kind not in KINDS:
        known = ", ".join(sorted(KINDS)) or "none"
        raise ValidationFailed(f"no job kind {kind!r} (known: {known})",
                               details=[{"field": "kind", "message": f"one of: {known}"}])
    return importlib.import_module(KINDS[kind])


# -- starting and reading ---------------------------------------------------------------

def submit(session, kind, params) -> dict:
    """Check `params` for a job of `kind` and record the job as queued; returns it. The
    caller queues it (`workflows.api.start_job`)."""
    module = kind_module(kind)
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValidationFailed("params must be a JSON object",
                               details=[{"field": "params", "message": "must be a JSON object"}])
    params = module.check(session, params)
    table = _table(session.storage)
    actor = session.actor.id if session.actor is not None else None
    with session.storage.begin() as conn:
        job_id = conn.execute(table.insert().returning(table.c.id), {
            "kind": kind, "status": "queued", "params": params, "done": 0, "created_by": actor,
            "created_at": utcnow()}).scalar_one()
    return get(session.storage, job_id)


def get(storage, job_id) -> dict | None:
    table = _table(storage)
    with storage.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == job_id)).mappings().first()
    return _job(row) if row is not None else None


def visible(session, job_id) -> dict:
    """A job its creator or an admin may read; NotFound for anyone else (as for a job that
    does not exist: one user does not learn of another's jobs)."""
    job = get(session.storage, job_id) if isinstance(job_id, int) and 0 < job_id < 2**63 else None
    actor = session.actor
    if job is None or not (actor is None or actor.is_admin or job["created_by"] == actor.id):
        raise NotFound(f"no job {job_id}", code="job_not_found")
    return job


def listing(session, kind=None, limit: int = 50) -> list[dict]:
    """The actor's jobs (all of them for an admin), newest first, without their results
    (a dry run's can be large: `get` one job for it)."""
    table = _table(session.storage)
    listed = [c for c in table.c if c.name not in ("result", "state", "params")]
    stmt = select(*listed).order_by(table.c.id.desc()).limit(min(max(int(limit), 1), MAX_LISTED))
    if kind is not None:
        stmt = stmt.where(table.c.kind == kind)
    actor = session.actor
    if actor is not None and not actor.is_admin:
        stmt = stmt.where(table.c.created_by == actor.id)
    with session.storage.connect() as conn:
        return [_job(row) for row in conn.execute(stmt).mappings()]


def _job(row) -> dict:
    job = {"id": row["id"], "kind": row["kind"], "status": row["status"], "done": row["done"],
           "total": row["total"], "error": row["error"], "created_by": row["created_by"],
           "created_at": iso_utc(row["created_at"]),
           "started_at": iso_utc(row["started_at"]) if row["started_at"] else None,
           "finished_at": iso_utc(row["finished_at"]) if row["finished_at"] else None}
    if "result" in row:
        job["result"] = row["result"]
    return job



def due(storage, now=None) -> list[int]:
    """Jobs a worker should take: queued ones (their queueing may have been lost) and running
    ones whose worker stopped sending heartbeats."""
    table = _table(storage)
    now = now or utcnow()
    stale = and_(table.c.status == "running", or_(table.c.heartbeat_at.is_(None),
                                                  table.c.heartbeat_at < now - STALE))
    with storage.connect() as conn:
        return list(conn.execute(select(table.c.id).where(or_(table.c.status == "queued", stale))
                                 .order_by(table.c.id)).scalars())


# -- running ----------------------------------------------------------------------------

def execute(session, job_id: int) -> dict | None:
    """Claim job `job_id` and run it to its end; returns the job, or None when another
    worker has it (or it is finished)."""
    storage, table = session.storage, _table(session.storage)
    now = utcnow()
    claimable = or_(table.c.status == "queued",
                    and_(table.c.status == "running",
                         or_(table.c.heartbeat_at.is_(None), table.c.heartbeat_at < now - STALE)))
    token = secrets.token_hex(16)
    with storage.begin() as conn:
        row = conn.execute(select(table).where(table.c.id == job_id)).mappings().first()
        if row is None:
            return None
        claimed = conn.execute(table.update().where(table.c.id == job_id, claimable).values(
            status="running", heartbeat_at=now, claim=token,
            started_at=row["started_at"] or now)).rowcount
    if not claimed:
        return None
    progress = Progress(storage, job_id, row["state"] or {}, resumed=row["status"] == "running",
                        done=row["done"], total=row["total"], claim=token)
    try:
        session_for_job = _as_creator(session, row["created_by"])
        result = kind_module(row["kind"]).run(session_for_job, row["params"], progress)
    except Superseded:
        log.warning("job %s (%s): another worker took it over; this run stops", job_id, row["kind"])
        return None
    except LoomError as exc:
        _finish(storage, job_id, progress, "failed", error=safe_text(str(exc), _values(session, row)))
    except Exception as exc:  # noqa: BLE001 - the job fails, with a message; the trace is logged
        log.error("job %s (%s) failed\n%s", job_id, row["kind"], safe_trace(exc, _values(session, row)))
        _finish(storage, job_id, progress, "failed", error=f"the job stopped on an internal error "
                                                           f"({type(exc).__name__}); it is in the server log")
    else:
        _finish(storage, job_id, progress, "done", result=result)
    if progress.superseded:
        log.warning("job %s (%s): another worker took it over; this run's end was not written",
                    job_id, row["kind"])
        return None
    return get(storage, job_id)


def _values(session, row) -> set[str]:
    """The personal values job `row`'s failure text must not carry, as its kind names them
    (none when it names none, or cannot tell: the text is still cleaned of e-mail
    addresses and long numbers)."""
    named = getattr(kind_module(row["kind"]), "personal_values", None) if row["kind"] in KINDS else None
    if named is None:
        return set()
    try:
        return set(named(session, row["params"]))
    except Exception as exc:  # noqa: BLE001 - the failure is still written, with the generic filter
        log.warning("job %s (%s): its personal values could not be read: %s", row["id"], row["kind"],
                    describe(exc))
        return set()


def _as_creator(session, user_id):
    """The session the job runs in: as the user who started it (their rights apply), or as
    the session's actor when the job has no creator (started by an operator's CLI)."""
    if user_id is None or (session.actor is not None and session.actor.id == user_id):
        return session
    actor = actor_by_id(session.storage, user_id)
    if actor is None:
        raise Forbidden("the user who started this job is no longer active", code="job_owner_gone")
    return session.install.session(session.tenant.slug, actor)


def _finish(storage, job_id, progress, status, result=None, error=None) -> None:
    """Write the job's end, if its row still holds this run's claim (else mark the
    progress superseded: another worker has the job)."""
    table = _table(storage)
    with storage.begin() as conn:
        written = conn.execute(table.update().where(table.c.id == job_id, table.c.claim == progress.claim).values(
            status=status, result=result, error=error, done=progress.done, total=progress.total_count,
            state=progress.state, finished_at=utcnow(), heartbeat_at=utcnow())).rowcount
    if not written:
        progress.superseded = True


class Superseded(Exception):
    """This worker's claim of a job was taken over by another worker (it stalled past
    STALE): it must stop and write nothing more. Not a LoomError: never shown to a user."""


class NoProgress:
    """A progress that reports nowhere: for work run where no one watches it (a test, a
    caller without a job; the CLI and the jobs give real ones)."""

    def total(self, count: int) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass


class Progress:
    """How far a running job got, written for its readers at most every HEARTBEAT_SECONDS,
    and its checkpoint (`state`), written at once by `save_state`."""

    def __init__(self, storage, job_id, state: dict, resumed: bool = False, done: int = 0, total=None,
                 claim: str | None = None):
        self.storage, self.job_id, self.claim = storage, job_id, claim
        self.superseded = False
        self.state = dict(state)
        self.resumed = resumed
        self.done = done or 0
        self.total_count = total
        self._written = 0.0

    def total(self, count: int) -> None:
        self.total_count = int(count)
        self._write(force=True)

    def advance(self, count: int = 1) -> None:
        self.done += int(count)
        self._write()

    def save_state(self, state: dict, conn=None) -> None:
        """Keep `state` as the job's checkpoint; with `conn`, inside the caller's transaction
        (so the checkpoint commits with the work it describes)."""
        self.state = dict(state)
        self._write(force=True, conn=conn)

    def _write(self, force: bool = False, conn=None) -> None:
        now = time.monotonic()
        if not force and now - self._written < HEARTBEAT_SECONDS:
            return
        self._written = now
        table = _table(self.storage)
        stmt = table.update().where(table.c.id == self.job_id, table.c.claim == self.claim).values(
            done=self.done, total=self.total_count, state=self.state, heartbeat_at=utcnow())
        if conn is not None:
            written = conn.execute(stmt).rowcount
        else:
            with self.storage.begin() as own:
                written = own.execute(stmt).rowcount
        if not written:  # another worker claimed the job since: stop (a caller's transaction rolls back)
            self.superseded = True
            raise Superseded(f"job {self.job_id} was taken over by another worker")
