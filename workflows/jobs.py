"""The job queue: huey on SQLite by default, on Redis when LOOM_REDIS_URL is set.

Four tasks: `drain(tenant)`, queued after every committed write (it also brings the
tenant's search index in step with the writes); `job(tenant, id)`, queued when a user
starts a background job (`engine.background`: an import, a duplicate scan); `tick()`,
every minute, which drains whatever is due in every tenant (retries, events whose
queueing was lost in a crash), sweeps SLA timers, fires scheduled rules, seals the audit
and access logs' new rows into their hash chains and queues again the background jobs
whose queueing was lost or whose worker died; and `retention()`, daily at 02:30 UTC, which applies every
tenant's retention rules. One tick runs at a
time in an install (a lock per install on PostgreSQL, per data directory on SQLite):
a tick that finds another still running skips its turn. The outbox, not
huey, is the source of truth, so losing a queued task never loses an event."""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from huey import RedisHuey, SqliteHuey, crontab

from engine import background
from engine.privacy.error_text import describe, safe_trace
from engine.records.chain import LOGS, seal
from engine.records.search_index import follow_writes
from workflows import outbox
from workflows.trace import Traces

log = logging.getLogger("loom.jobs")
COALESCE_SECONDS = 0.5
MAX_ROUNDS = 100  # batches one drain takes before it queues another drain and returns
TICK_SECONDS = 60  # the tick's interval (crontab: every minute)
TICK_LOCK = "tick"


def make_huey(settings, immediate: bool = False):
    if settings.redis_url:
        return RedisHuey("loom", url=settings.redis_url, immediate=immediate, utc=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("loom", filename=str(settings.data_dir / "jobs.db"), immediate=immediate, utc=True)


class Jobs:
    """The queue of one install and the tasks on it."""

    def __init__(self, runtime, immediate: bool = False):
        self.runtime = runtime
        install = runtime.install
        self.huey = make_huey(install.settings, immediate)
        extra = install.settings.extra
        self.retry_base = float(extra.get("LOOM_RETRY_BASE_SECONDS", 30))
        # How long a claimed batch stays with its worker; a killed worker's events are
        # taken again after it (tests shorten it).
        self.lease = timedelta(seconds=float(extra.get("LOOM_OUTBOX_LEASE_SECONDS", outbox.LEASE.total_seconds())))

        @self.huey.task(name="loom.drain")
        def drain(slug):
            try:
                return self.drain(slug)
            except Exception as exc:  # noqa: BLE001 - the minute tick drains again; logged made safe here
                _failed("a drain", slug, exc)  # (huey would log its text as it is)
                return None

        @self.huey.task(name="loom.job")
        def job(slug, job_id):
            return background.execute(self.runtime.install.session(slug), job_id)

        @self.huey.periodic_task(crontab(minute="*"), name="loom.tick")
        def tick():
            return self.tick()

        @self.huey.periodic_task(crontab(hour="2", minute="30"), name="loom.retention")
        def retention():
            return self.retention()

        self.drain_task = drain
        self.job_task = job
        self.retention_task = retention
        self.tick_seconds = TICK_SECONDS
        self.tick_task = tick
        self._lock = threading.Lock()
        self._last_push: dict[str, float] = {}
        self._delayed_until: dict[str, float] = {}
        self._draining = threading.local()

    def enqueue_drain(self, slug: str) -> None:
        """Ask a worker to drain the tenant's outbox soon. Writes come in bursts, so at
        most one drain is queued per tenant every half second (plus one delayed drain
        for the writes inside that window); a drain in progress picks up new events
        itself. The minute tick drains anyway, so a lost push loses nothing."""
        if getattr(self._draining, "active", False):
            return
        now = time.monotonic()
        with self._lock:
            last = self._last_push.get(slug)
            if last is None or now - last >= COALESCE_SECONDS:
                self._last_push[slug], delay = now, None
            elif self._delayed_until.get(slug, 0) <= now:
                self._delayed_until[slug] = last + COALESCE_SECONDS
                delay = last + COALESCE_SECONDS - now
            else:
                return
        try:
            if delay is None:
                self.drain_task(slug)
            else:
                self.drain_task.schedule(args=(slug,), delay=delay)
        except Exception:  # the queue is down: the minute tick will find the events
            log.exception("could not queue a drain for %s", slug)

    def enqueue_job(self, slug: str, job_id: int) -> None:
        """Ask a worker to run background job `job_id`; if the queue is down, the minute
        tick finds the job still queued and queues it again."""
        try:
            self.job_task(slug, job_id)
        except Exception:  # the tick will find the job queued
            log.exception("could not queue job %s of %s", job_id, slug)

    def drain(self, slug: str, limit: int = 200) -> dict:
        """Handle the due events of one tenant, batch after batch, until none are due.
        Events the handled ones wrote meanwhile (an action's record write) are due too:
        a batch that handled something is followed by another (their queueing was skipped)."""
        totals = {"done": 0, "retry": 0, "failed": 0}
        storage = self.runtime.install.registry.storage_of(slug)
        self._draining.active = True
        try:
            for _ in range(MAX_ROUNDS):
                session = self.runtime.install.session(slug)  # one metadata check per batch
                traces = Traces()  # written with the done (or failed) mark of their events
                counts = outbox.process(storage, lambda row: self.runtime.handle_event(slug, row, session, traces),
                                        limit, self.retry_base, self.lease,
                                        lambda conn: traces.write(conn, storage.schema))
                follow_writes(storage, session.metadata())  # the search index, after the writes' commits
                for key, value in counts.items():
                    totals[key] += value
                if sum(counts.values()) < limit and not counts["done"]:
                    return totals
        finally:
            self._draining.active = False
        # Still more (a burst, or rules that keep writing): give the other tenants a turn.
        try:
            self.drain_task.schedule(args=(slug,), delay=1)
        except Exception:  # the minute tick drains anyway
            log.exception("could not queue a drain for %s", slug)
        return totals

    def tick(self) -> dict | None:
        """Drain and run the schedules of every active tenant; one tenant's failure is
        logged and reported as its `error`, and the others still get their turn.

        Returns None, and logs it, when another tick of the install is still running (in
        any thread or process): two ticks never sweep or fire the same things at once.
        A tick that took longer than its interval says so in the log."""
        with self.runtime.install.storage.exclusive(TICK_LOCK) as alone:
            if not alone:
                log.warning("tick skipped: another tick of this install is still running")
                return None
            started = time.monotonic()
            summary = self._tick_every_tenant()
        took = time.monotonic() - started
        if took > self.tick_seconds:
            log.warning("the tick overran: it took %.1f s, longer than its interval of %s s",
                        took, self.tick_seconds)
        return summary

    def _tick_every_tenant(self) -> dict:
        summary = {}
        for tenant in self.runtime.install.registry.list():
            if tenant.status != "active":
                continue
            try:
                summary[tenant.slug] = {"events": self.drain(tenant.slug),
                                        "scheduled": self.runtime.run_schedules(tenant.slug),
                                        "sealed": self._seal(tenant),
                                        "import_files": self._sweep_import_files(tenant),
                                        "jobs": self._requeue_jobs(tenant)}
            except Exception as exc:  # noqa: BLE001 - reported, and the next tenant goes on
                summary[tenant.slug] = {"error": _failed("the tick", tenant.slug, exc)}
        return summary

    def retention(self) -> dict:
        """Apply every active tenant's retention rules (daily, at 02:30 UTC); one tenant's
        failure is logged and reported, and the others still get their turn."""
        from engine.privacy.retention import run

        install, summary = self.runtime.install, {}
        for tenant in install.registry.list():
            if tenant.status != "active":
                continue
            try:
                summary[tenant.slug] = run(install.session(tenant.slug))
            except Exception as exc:  # noqa: BLE001 - reported, and the next tenant goes on
                summary[tenant.slug] = {"error": _failed("retention", tenant.slug, exc)}
        return summary

    def _requeue_jobs(self, tenant) -> int:
        """Queue again the tenant's background jobs that no worker has (their queueing was
        lost, or their worker died: it resumes from the job's checkpoint)."""
        ids = background.due(self.runtime.install.registry.storage_of(tenant))
        for job_id in ids:
            self.enqueue_job(tenant.slug, job_id)
        return len(ids)

    def _sweep_import_files(self, tenant) -> int:
        """Remove the files of import runs finished longer ago than the tenant keeps them
        (`engine.imports.retention`): how many."""
        from engine.imports.retention import sweep

        return sweep(self.runtime.install.registry.storage_of(tenant))["removed"]

    def _seal(self, tenant) -> dict:
        """The audit and access logs' rows written since the last tick, sealed into their
        hash chains (`engine.records.chain`): how many of each."""
        storage = self.runtime.install.registry.storage_of(tenant)
        return {log: seal(storage, log) for log in LOGS}

    def consumer(self, workers: int = 2):
        return self.huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                         check_worker_health=True)


def _failed(what: str, slug: str, exc: Exception) -> str:
    """A tenant's failure in a drain, the tick or the retention run, logged (its traceback with the
    debug level) and returned as its summary's text; both made safe (no e-mail address or
    long number, a database error without its statement and values)."""
    text = describe(exc)
    log.error("%s failed for %s: %s", what, slug, text)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s", safe_trace(exc))
    return text
