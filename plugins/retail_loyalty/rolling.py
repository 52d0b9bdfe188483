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

from engine.plugin_api import StaleVersion
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


def _moment(value: str) -> datetime:
    """A datetime field's JSON value (ISO 8601, `Z` or an offset) as an aware datetime."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _amount(value) -> Decimal:
    """A money or decimal field's JSON value as a Decimal (None as 0)."""
    if isinstance(value, dict):
        value = value.get("amount")
    return Decimal(str(value)) if value is not None else Decimal("0")


def system_session(session):
    """A session of the same tenant acting as the system (figures are nobody's edit)."""
    return session.as_system()


def rolling_figures(session, membership_id: int, now: datetime | None = None) -> tuple[int, Decimal]:
    """(points earned, purchase amount) of the `earn` entries in the last 12 months.
    Redemptions, adjustments and expiry move the balance, not what was earned."""
    now = now or datetime.now(timezone.utc)
    start = months_before(now, 12)
    rows = session.records.export(ENTRY, [("membership", str(membership_id)), ("kind", "earn"),
                                          ("occurred_at__gt", start.isoformat()),
                                          ("fields", "points,purchase_amount")])
    points = spend = 0
    for row in rows:
        points += row.get("points") or 0
        spend += _amount(row.get("purchase_amount"))
    spend = Decimal(spend)
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
    rows = session.records.export(ENTRY, [("membership", str(membership_id)),
                                          ("fields", "kind,points,occurred_at")])
    balance = session.records.get(MEMBERSHIP, membership_id).get("points_balance") or 0
    old_credits = debits = 0
    for row in rows:
        kind, points = row["kind"], row["points"]
        signed = points if kind in ("earn", "adjust") else -points
        if signed > 0 and _moment(row["occurred_at"]) <= cutoff:
            old_credits += signed
        elif signed < 0:
            debits -= signed
    return max(0, min(old_credits - debits, balance))
