"""Retention of import runs' kept files: a run that finished (done or failed, or a
planned dry run never committed) longer ago than the tenant's `import_files_keep_days`
(a `loom_settings` key; default 30 days) has its file removed by the scheduled tick; the
run keeps its summary and says when (`file_removed_at`), and a later download of its
refused rows is refused with a 409 that says so. `plan` is the dry-run report, `sweep`
does it. A running run keeps its file."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, or_, select

from engine.errors import ValidationFailed
from engine.systables import loom_table

SETTING = "import_files_keep_days"
DEFAULT_DAYS = 30
MAX_DAYS = 3650
MAX_LISTED = 50
REMOVED = b""  # a run's file once removed (as after an erasure: engine.privacy.kept_copies)


def keep_days(storage) -> int:
    settings = loom_table(storage.schema, "loom_settings")
    with storage.connect() as conn:
        value = conn.execute(select(settings.c.value).where(settings.c.key == SETTING)).scalar()
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_DAYS \
        else DEFAULT_DAYS


def set_keep_days(storage, value) -> int:
    """Keep finished import runs' files `value` days (text or a whole number, 1 to 3650)."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_DAYS:
        raise ValidationFailed(f"{SETTING} must be a whole number of days from 1 to {MAX_DAYS}, not {text[:20]!r}",
                               details=[{"field": SETTING, "message": f"1 to {MAX_DAYS} days"}],
                               code="bad_setting")
    settings = loom_table(storage.schema, "loom_settings")
    with storage.begin() as conn:
        conn.execute(settings.delete().where(settings.c.key == SETTING))
        conn.execute(settings.insert().values(key=SETTING, value=int(text)))
    return int(text)


def _due(storage, now):
    runs = loom_table(storage.schema, "loom_import_runs")
    cutoff = now - timedelta(days=keep_days(storage))
    ended = func.coalesce(runs.c.finished_at, runs.c.created_at)
    return runs, and_(runs.c.source != REMOVED, runs.c.status != "running",
                      or_(runs.c.status == "planned", runs.c.finished_at.is_not(None)), ended < cutoff)


def plan(storage, now: datetime | None = None) -> dict:
    """What a sweep would do now: the period, how many runs' files are due, the first ids."""
    runs, due = _due(storage, now or datetime.now(timezone.utc))
    with storage.connect() as conn:
        ids = conn.execute(select(runs.c.id).where(due).order_by(runs.c.id)).scalars().all()
    return {"keep_days": keep_days(storage), "due": len(ids), "runs": ids[:MAX_LISTED]}


def sweep(storage, now: datetime | None = None) -> dict:
    """Remove the due runs' files; the runs keep their summary."""
    now = now or datetime.now(timezone.utc)
    runs, due = _due(storage, now)
    with storage.begin() as conn:
        ids = conn.execute(select(runs.c.id).where(due).order_by(runs.c.id)).scalars().all()
        if ids:
            conn.execute(runs.update().where(runs.c.id.in_(ids)).values(source=REMOVED, file_removed_at=now))
    return {"keep_days": keep_days(storage), "removed": len(ids), "runs": ids[:MAX_LISTED]}
