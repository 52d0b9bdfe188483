"""Scheduled rules: timer rules (`"when": {"event": "timer", "schedule": {...}}`) that run on
dates instead of record events.

- date-based, `{"field": "expiry_date", "offset": "-30d"}`: each record whose date field
  + offset is today ("30 days before expiry"); with `"yearly": true` only month and day
  count ("on birthday"; a 29 February birthday fires on 28 February in other years).
  The date is compared in SQL on the entity's table.
- recurring, `{"every": "day" | "week" | "month" | "year", "on": ...}`: every record of
  the rule set's entity, on the days the recurrence names.

Both take the rule's condition (evaluated per record) and fire at or after `at`
(tenant-local HH:MM, default 09:00). "Today" and `at` are in the tenant's timezone: the
one of its business hours (workflows.calendar).

The minute tick calls `run_schedules` every minute; a schedule due today stays due until
midnight, so a tick that was missed catches up later the same day (not on later days).
Each firing has the effect key `sched:<ruleset>:<rule>:<record id>:<local date>`: keys
already in `loom_effects` are skipped, and run_schedules records the keys itself, one
transaction per batch, after `fire` returned. A `fire` that raises is not recorded and is
tried again on the next run; a crash before a batch is recorded fires it again, so `fire`
makes its own writes idempotent with the key (the runtime derives its action keys from it).

Once a pass over a rule's records ends without failures, later runs that day read only
the records written since that pass began (less OPEN_WRITES): a customer added at noon
still gets the new-year greeting, without re-reading 100,000 customers every minute. The
pass marker (a `loom_effects` row) names the rule's definition, so changing the rule
starts a full pass again.
"""
from __future__ import annotations

import calendar as months
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable

from sqlalchemy import and_, extract, or_, select
from sqlalchemy.exc import IntegrityError

from engine import effects
from engine.systables import loom_table
from metadata.conditions import SYSTEM_FIELD_TYPES, evaluate_condition
from workflows.calendar import load_calendar, parse_clock
from workflows.rules.schedule_checks import DATE_TYPES, offset_days, schedule_on

log = logging.getLogger("loom.schedules")

DEFAULT_AT = "09:00"
BATCH = 1000
OPEN_WRITES = timedelta(minutes=10)   # a write still uncommitted that long after its updated_at is missed


@dataclass(frozen=True)
class Plan:
    """One due schedule: which rows of which table, and the local day it runs for."""

    ruleset: dict
    rule: dict
    entity: object
    table: object
    query: object
    day: date
    exact: Callable | None = None   # a last check in Python on the row (datetime yearly)

    def effect_key(self, record_id) -> str:
        return f"sched:{self.ruleset['name']}:{self.rule['name']}:{record_id}:{self.day.isoformat()}"

    @property
    def pass_key(self) -> str:
        """Marks a complete pass over the records today, for this very rule definition."""
        digest = hashlib.sha256(json.dumps(self.rule, sort_keys=True).encode()).hexdigest()[:16]
        return f"sched:{self.ruleset['name']}:{self.rule['name']}:{self.day.isoformat()}:pass:{digest}"


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("schedules need an aware datetime")
    return now.astimezone(timezone.utc)


def _last_day(day: date) -> int:
    return months.monthrange(day.year, day.month)[1]


def _month_days(day: date) -> set:
    """The (month, day) pairs that count as `day` every year: 28 February stands for
    29 February too when the year has none."""
    pairs = {(day.month, day.day)}
    if (day.month, day.day) == (2, 28) and not months.isleap(day.year):
        pairs.add((2, 29))
    return pairs


def recurs_on(every: str, on, day: date) -> bool:
    """Whether a recurrence (`on` parsed by schedule_on) falls on the local `day`."""
    if every == "day":
        return True
    if every == "week":
        return day.isoweekday() == on
    if every == "month":
        return day.day == min(on, _last_day(day))
    return on in _month_days(day)


def _field_type(entity, name: str) -> str | None:
    field = entity.field(name)
    return (field.base_type or field.type) if field is not None else SYSTEM_FIELD_TYPES.get(name)


def _on_month_days(column, pairs) -> object:
    return or_(*(and_(extract("month", column) == m, extract("day", column) == d) for m, d in sorted(pairs)))


def date_match(column, base: str, target: date, yearly: bool, tz):
    """(SQL clause, exact check or None) for rows whose `column` falls on the local date
    `target` (its month and day when `yearly`)."""
    if not yearly:
        if base == "date":
            return column == target, None
        start = datetime.combine(target, time(0), tzinfo=tz).astimezone(timezone.utc)
        end = datetime.combine(target + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc)
        return and_(column >= start, column < end), None
    pairs = _month_days(target)
    if base == "date":
        return _on_month_days(column, pairs), None
    # A moment's local day may be the UTC day before or after: select those, check exactly.
    near = set().union(*(_month_days(target + timedelta(days=k)) for k in (-1, 0, 1)))
    name = column.key

    def exact(row) -> bool:
        local = row[name].astimezone(tz)
        return (local.month, local.day) in pairs
    return _on_month_days(column, near), exact


def date_check(column, base: str, target: date, yearly: bool, tz):
    """`date_match` for a field encrypted at rest, whose column SQL cannot compare: every row
    holding a value is read, and the date is checked in Python."""
    name, pairs = column.key, _month_days(target)

    def exact(row) -> bool:
        value = row[name] if base == "date" else row[name].astimezone(tz)
        day = value if base == "date" else value.date()
        return (day.month, day.day) in pairs if yearly else day == target
    return column.is_not(None), exact


def _plan(ruleset, rule, entity, table, local: datetime) -> Plan | None:
    """The rule's Plan if it is due at the local moment `local`, else None; ValueError when
    the schedule is malformed (rule sets are checked on publish, so only stale ones are)."""
    schedule, today = rule["when"]["schedule"], local.date()
    at = parse_clock(schedule.get("at", DEFAULT_AT))
    if at is None:
        raise ValueError(f"'at' {schedule.get('at')!r} is not HH:MM")
    if local.time() < at:
        return None
    if "every" in schedule:
        if not recurs_on(schedule["every"], schedule_on(schedule["every"], schedule.get("on")), today):
            return None
        return Plan(ruleset, rule, entity, table, select(table), today)
    name, days = schedule.get("field"), offset_days(schedule.get("offset"))
    base = _field_type(entity, name) if isinstance(name, str) else None
    if base not in DATE_TYPES or days is None:
        raise ValueError(f"{name!r} is not a date field of {entity.name} or the offset is malformed")
    field = entity.field(name)
    match = date_check if field is not None and field.encrypted else date_match
    clause, exact = match(table.c[name], base, today - timedelta(days=days),
                          bool(schedule.get("yearly")), local.tzinfo)
    return Plan(ruleset, rule, entity, table, select(table).where(clause), today, exact)


def plans(session, now: datetime) -> list[Plan]:
    """The schedules of the tenant's automation rule sets that are due at `now`."""
    compiled = session.metadata()
    local = _utc(now).astimezone(load_calendar(session).tz)
    out = []
    for ruleset in compiled.package.rulesets:
        entity = compiled.package.entity(ruleset.get("entity"))
        if ruleset.get("kind") != "automation" or entity is None:
            continue
        for rule in ruleset.get("rules") or ():
            when = rule.get("when") if isinstance(rule, dict) else None
            if not isinstance(when, dict) or when.get("event") != "timer" or not isinstance(when.get("schedule"), dict):
                continue
            try:
                plan = _plan(ruleset, rule, entity, compiled.tables[entity.name], local)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipping schedule %s.%s: %s", ruleset.get("name"), rule.get("name"), exc)
                continue
            if plan is not None:
                out.append(plan)
    return out


def due_rules(session, now: datetime) -> list[tuple]:
    """(ruleset, rule, records_query) of every schedule due at `now`; the query selects
    the candidate rows (the rule's condition is applied per record afterwards)."""
    return [(p.ruleset, p.rule, p.query) for p in plans(session, now)]


def _effects_table(storage):
    return loom_table(storage.schema, "loom_effects")


def _already(storage, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    table = _effects_table(storage)
    rows = {effects.row_key(k): k for k in keys}
    with storage.connect() as conn:
        found = conn.execute(select(table.c.key).where(table.c.key.in_(list(rows)))).scalars().all()
    return {rows[k] for k in found}


def _remember_all(storage, keys: list[str]) -> None:
    """Record the effect keys of one batch in one transaction (one by one if another run
    recorded some of them meanwhile)."""
    if not keys:
        return
    at = datetime.now(timezone.utc)
    try:
        with storage.begin() as conn:
            conn.execute(_effects_table(storage).insert(), [{"key": effects.row_key(k), "at": at} for k in keys])
    except IntegrityError:
        for key in keys:
            effects.remember(storage, key)


def _last_pass(storage, plan: Plan) -> datetime | None:
    """When the last complete pass of this plan (this rule, as it is now) began today."""
    table = _effects_table(storage)
    with storage.connect() as conn:
        at = conn.execute(select(table.c.at).where(table.c.key == plan.pass_key)).scalar()
    return at.replace(tzinfo=timezone.utc) if at is not None and at.tzinfo is None else at


def _mark_pass(storage, plan: Plan, started: datetime) -> None:
    table = _effects_table(storage)
    try:
        with storage.begin() as conn:
            moved = conn.execute(table.update().where(table.c.key == plan.pass_key).values(at=started))
            if moved.rowcount == 0:
                conn.execute(table.insert().values(key=plan.pass_key, at=started))
    except IntegrityError:  # another run marked it at the same moment
        pass


def _candidates(session, plan: Plan, batch: int, since: datetime | None):
    """Batches of (record JSON, effect key) matching the plan and the rule's condition;
    with `since`, only records written since then (less a margin for transactions
    still open then)."""
    shape = session.metadata().shape(plan.entity.name)
    condition = plan.rule["when"].get("condition")
    table, last = plan.table, None
    query = plan.query if since is None else plan.query.where(table.c.updated_at >= since - OPEN_WRITES)
    while True:
        page = query if last is None else query.where(table.c.id > last)
        with session.storage.connect() as conn:
            rows = conn.execute(page.order_by(table.c.id).limit(batch)).mappings().all()
        if not rows:
            return
        last = rows[-1]["id"]
        found = []
        for row in rows:
            if plan.exact is not None and not plan.exact(row):
                continue
            record = shape.dump(row)
            if condition is None or evaluate_condition(condition, record, plan.entity):
                found.append((record, plan.effect_key(row["id"])))
        yield found
        if len(rows) < batch:
            return


def _run_plan(session, plan: Plan, fire, batch: int, counts: dict) -> None:
    storage, started, failed = session.storage, datetime.now(timezone.utc), counts["failed"]
    for found in _candidates(session, plan, batch, _last_pass(storage, plan)):
        counts["matched"] += len(found)
        done, fired = _already(storage, [key for _, key in found]), []
        for record, key in found:
            if key in done:
                counts["skipped"] += 1
                continue
            try:
                fire(session, plan.ruleset, plan.rule, record, key)
            except Exception:  # one failing record must not stop the others
                log.exception("scheduled rule %s failed", key)
                counts["failed"] += 1
                continue
            fired.append(key)
        _remember_all(storage, fired)
        counts["fired"] += len(fired)
    if counts["failed"] == failed:
        _mark_pass(storage, plan, started)


def run_schedules(session, now: datetime, fire, batch: int = BATCH) -> dict:
    """Fire every due schedule: `fire(session, ruleset, rule, record_json, effect_key)` once
    per matching record and local day. Returns counts: rules due, records matched, fired,
    skipped (fired before) and failed (fire raised; tried again on the next run)."""
    counts = {"rules": 0, "matched": 0, "fired": 0, "skipped": 0, "failed": 0}
    for plan in plans(session, now):
        counts["rules"] += 1
        try:
            _run_plan(session, plan, fire, batch, counts)
        except ValueError as exc:  # a condition that no longer fits the entity
            log.warning("skipping schedule %s.%s: %s", plan.ruleset["name"], plan.rule["name"], exc)
    return counts
