"""Figures derived from the ledger: the rolling 12-month earned points and spend of a
membership (which the tier rules read), and points that expire.

The rolling figures are written with `session.records.update` (a system write), so each
change is audited and announced as `record.updated` — the event the tier rules fire on.
They are recomputed after every ledger entry commits and by the nightly schedule (what
fell out of the window). A recompute reads the membership's version before it sums the
ledger and writes with that version: a concurrent recompute that wrote first makes it
stale, and it starts over, so the last write always holds the figures of every committed
entry."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import select

from engine.errors import StaleVersion
from plugins.retail_loyalty.ledger import ENTRY, MEMBERSHIP, RECOMPUTING

ATTEMPTS = 20


def months_before(moment: datetime, months: int) -> datetime:
    """The same moment `months` calendar months earlier (the 31st becomes the month's last day)."""
    total = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - date.resolution).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def _aware(value):
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def system_session(session):
    """A session of the same tenant acting as the system (figures are nobody's edit)."""
    if session.actor is None:
        return session
    return session.install.session(session.tenant.slug)


def rolling_figures(session, membership_id: int, now: datetime | None = None) -> tuple[int, Decimal]:
    """(points earned, purchase amount) of the `earn` entries in the last 12 months.
    Redemptions, adjustments and expiry move the balance, not what was earned."""
    now = now or datetime.now(timezone.utc)
    start = months_before(now, 12)
    table = session.metadata().tables[ENTRY]
    with session.storage.connect() as conn:
        rows = conn.execute(select(table.c.points, table.c.purchase_amount)
                            .where(table.c.membership == membership_id, table.c.kind == "earn",
                                   table.c.occurred_at > start)).all()
    points = sum(r.points or 0 for r in rows)
    spend = sum((Decimal(r.purchase_amount) for r in rows if r.purchase_amount is not None), Decimal("0"))
    return points, spend.quantize(Decimal("0.01"))


def refresh(session, membership_id: int, effect_key: str | None = None, now: datetime | None = None) -> dict:
    """Bring a membership's rolling figures up to date; an audited system update when
    they changed."""
    system = system_session(session)
    for _ in range(ATTEMPTS):
        current = system.records.get(MEMBERSHIP, membership_id)
        points, spend = rolling_figures(system, membership_id, now)
        values = {}
        if current.get("points_12m") != points:
            values["points_12m"] = points
        if Decimal(str(current.get("spend_12m") or 0)) != spend:
            values["spend_12m"] = str(spend)
        if not values:
            return {"changed": False, "points_12m": points, "spend_12m": str(spend)}
        token = RECOMPUTING.set(membership_id)
        try:
            written = system.records.update(MEMBERSHIP, membership_id, {**values, "version": current["version"]},
                                            effect_key=effect_key)
        except StaleVersion:
            continue  # another write came first: read again
        finally:
            RECOMPUTING.reset(token)
        return {"changed": written is not None, "points_12m": points, "spend_12m": str(spend)}
    raise StaleVersion(f"membership {membership_id} kept changing while its 12-month figures were recomputed")


def points_to_expire(session, membership_id: int, months: int, now: datetime | None = None) -> int:
    """Points credited more than `months` ago that are still unspent, spending the
    oldest points first: everything credited before the cutoff, less everything ever
    debited (redeemed, expired, negative adjustments), capped by the balance."""
    now = now or datetime.now(timezone.utc)
    cutoff = months_before(now, months)
    compiled = session.metadata()
    entries, memberships = compiled.tables[ENTRY], compiled.tables[MEMBERSHIP]
    with session.storage.connect() as conn:
        rows = conn.execute(select(entries.c.kind, entries.c.points, entries.c.occurred_at)
                            .where(entries.c.membership == membership_id)).all()
        balance = conn.execute(select(memberships.c.points_balance)
                               .where(memberships.c.id == membership_id)).scalar() or 0
    old_credits = debits = 0
    for kind, points, occurred_at in rows:
        signed = points if kind in ("earn", "adjust") else -points
        if signed > 0 and _aware(occurred_at) <= cutoff:
            old_credits += signed
        elif signed < 0:
            debits -= signed
    return max(0, min(old_credits - debits, balance))
