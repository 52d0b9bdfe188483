"""The access log: who read, searched, exported or unmasked which records holding personal
data, and who signed in — appended, never changed (the chain in `engine.records.chain`
shows a change), read by admins filtered by user, record and time.

A read of a page of records is one row per record; an export is one row with its filter.
Reads are written in batches (`log_access`); unmasking and sign-ins at once."""
from __future__ import annotations

import atexit
import logging
import threading

from engine.privacy.error_text import safe_trace
from engine.records.audit_log import AuditQuery, log_page
from engine.records.bulk_rows import Rows, insert_all
from engine.records.writes import utcnow
from engine.systables import loom_table
from engine.timefmt import iso_utc

ACTIONS = ("read", "list", "search", "export", "unmask", "sign_in")
COLUMNS = ("at", "actor_id", "action", "entity", "record_id", "detail")
log = logging.getLogger("loom.access")


PROMPT = ("unmask", "sign_in")  # written at once; reads wait for the next batch
BATCH_SECONDS = 1.0
BATCH_ROWS = 500


def access_rows(actor_id, action, entity, record_ids, detail=None) -> list[tuple]:
    """One row per record of `record_ids` (or one row without a record when it is empty)."""
    at = utcnow()
    detail = detail or {}
    return [(at, actor_id, action, entity, record_id, detail) for record_id in list(record_ids) or [None]]


def log_access(storage, actor_id, action, entity=None, record_ids=(), detail=None) -> None:
    """Append the rows of one access. Unmasking and sign-ins are written before this
    returns; reads, searches and exports join the tenant's pending batch, written within
    a second (or at 500 rows, before the log is read, and at exit): a read pays no
    transaction of its own, and a crash may lose the last second of read entries."""
    if getattr(storage, "single_transaction", False):
        return  # a trial's reads (engine.rolled_back): rolled back with it, and no one's access
    rows = access_rows(actor_id, action, entity, record_ids, detail)
    if action in PROMPT:  # after the reads before it, in one transaction: the ids keep the order
        _write(storage, [*PENDING.take(storage), rows])
    else:
        PENDING.add(storage, rows)


def flush(storage=None) -> None:
    """Write the pending rows now (of `storage` only, when given)."""
    PENDING.flush(storage)


def _write(storage, groups) -> None:
    """Groups of rows (each of one access: one time, one detail, converted once) in one
    transaction; on PostgreSQL its commit does not wait for the WAL to reach the disk
    (`synchronous_commit` off for this transaction only)."""
    table = loom_table(storage.schema, "loom_access_log")
    with storage.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        insert_all(conn, [Rows(table, COLUMNS, rows) for rows in groups])


class Pending:
    """Access rows not written yet, per tenant storage (by its identity)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rows: dict = {}  # uid: (storage, [rows of one access, …])
        self._counts: dict = {}  # uid: rows pending
        self._timer = None

    def add(self, storage, rows) -> None:
        with self._lock:
            _, pending = self._rows.setdefault(storage.uid, (storage, []))
            pending.append(rows)
            self._counts[storage.uid] = self._counts.get(storage.uid, 0) + len(rows)
            if self._counts[storage.uid] >= BATCH_ROWS:  # written now, by a thread of its own
                threading.Thread(target=self.flush, args=(storage,), daemon=True).start()
            elif self._timer is None:
                self._timer = threading.Timer(BATCH_SECONDS, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def take(self, storage) -> list:
        """The groups of rows pending for `storage`, no longer pending."""
        with self._lock:
            self._counts.pop(storage.uid, None)
            return self._rows.pop(storage.uid, (None, []))[1]

    def flush(self, storage=None) -> None:
        if storage is not None:
            taken = [(storage, self.take(storage))]
        else:
            with self._lock:
                taken, self._rows, self._counts = list(self._rows.values()), {}, {}
                self._timer = None
        for owner, rows in taken:
            if not rows:
                continue
            try:
                _write(owner, rows)
            except Exception as exc:  # noqa: BLE001 - a tenant dropped meanwhile: its entries go with it
                log.error("could not write %d access log entries of %s\n%s", sum(map(len, rows)), owner.slug,
                          safe_trace(exc))  # a database error's parameters (who read what) stay out


PENDING = Pending()
atexit.register(PENDING.flush)


def access_page(storage, query: AuditQuery) -> dict:
    """`{"items": [...], "next": cursor or None}`: one page of the access log, newest first
    (filters as for the audit log: user, entity, record, since, until, before, limit)."""
    flush(storage)
    return log_page(storage, loom_table(storage.schema, "loom_access_log"), query, entry_json)


def entry_json(row) -> dict:
    return {"id": row["id"], "at": iso_utc(row["at"]), "actor_id": row["actor_id"], "action": row["action"],
            "entity": row["entity"], "record_id": row["record_id"], "detail": row["detail"] or {}}
