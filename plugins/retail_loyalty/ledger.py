"""The points ledger and the balance it keeps.

`membership.points_balance` is never written by anyone but this module, and only with
`records.increment(..., at_least=0)` inside the transaction of the ledger write that
moves it: one atomic conditional update the database checks against the row it locks,
so two redemptions racing for the same points cannot both pass (on PostgreSQL the
second waits for the first's row lock and re-checks against the committed balance; on
SQLite writers are serialised). When the increment is refused the write is refused with
`ValidationFailed` and the whole transaction — the ledger entry, the redemption, the
stock taken — rolls back. Stock is taken the same way.

Ledger entries are immutable: corrections are new `adjust` entries."""
from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime, timezone
from decimal import Decimal

from engine.plugin_api import Conflict, ValidationFailed

MEMBERSHIP, ENTRY, REWARD, REDEMPTION = "membership", "points_entry", "reward", "redemption"
KINDS = ("earn", "redeem", "adjust", "expire")
SIGN = {"earn": 1, "redeem": -1, "expire": -1}
# Kept by the ledger, never by a person.
ROLLING_FIELDS = ("points_12m", "spend_12m")
KEPT_FIELDS = ("points_balance",) + ROLLING_FIELDS

# The membership whose rolling figures this plugin is writing right now (see rolling.py);
# any other change of those fields is refused.
RECOMPUTING: ContextVar = ContextVar("retail_loyalty_recomputing", default=None)
# The membership whose balance the ledger is moving right now.
MOVING: ContextVar = ContextVar("retail_loyalty_moving", default=None)
# (redemption id, what it is for) while a redemption writes its own ledger entry.
LINKING: ContextVar = ContextVar("retail_loyalty_linking", default=(None, None))


def _invalid(message, field, detail, code="validation_failed") -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field, "message": detail}], code=code)


def entry_delta(record: dict) -> int:
    """The signed change an entry makes to the balance: earn +points, redeem and expire
    -points (points positive, the kind gives the sign); adjust is signed, not zero."""
    kind, points = record.get("kind"), record.get("points")
    if kind not in KINDS:
        raise _invalid(f"unknown points entry kind {kind!r}", "kind", f"must be one of {', '.join(KINDS)}")
    if not isinstance(points, int) or isinstance(points, bool):
        raise _invalid("a points entry needs a whole number of points", "points", "must be a whole number")
    if kind == "adjust":
        if points == 0:
            raise _invalid("an adjustment of 0 points changes nothing", "points", "must not be 0")
        return points
    if points <= 0:
        raise _invalid(f"the points of a {kind} entry must be a positive number (the kind gives the sign); "
                       f"got {points}", "points", "must be greater than 0")
    return SIGN[kind] * points


def _membership_label(row, membership_id) -> str:
    number = row.get("number") if row is not None else None
    return f"membership {number} (id {membership_id})" if number else f"membership {membership_id}"


def check_membership_open(session, membership_id, kind) -> None:
    """Earning and spending need a card that is not cancelled (suspended: no spending);
    adjustments and expiry are bookkeeping and always allowed."""
    row = session.records.get(MEMBERSHIP, membership_id) if membership_id is not None else None
    if row is None:
        raise _invalid(f"there is no membership {membership_id}", "membership", "no such membership card",
                       code="record_not_found")
    if kind in ("adjust", "expire"):
        return
    if row["status"] == "cancelled":
        raise _invalid(f"{_membership_label(row, membership_id)} is cancelled: no points can be "
                       f"{'earned' if kind == 'earn' else 'redeemed'} on it", "membership", "the card is cancelled",
                       code="membership_cancelled")
    if row["status"] == "suspended" and kind == "redeem":
        raise _invalid(f"{_membership_label(row, membership_id)} is suspended: its points cannot be redeemed",
                       "membership", "the card is suspended", code="membership_suspended")


def apply_delta(session, membership_id: int, delta: int, what: str) -> None:
    """Move the balance by `delta` in the write's transaction, atomically; refuse
    (rolling everything back) if it would go below zero."""
    token = MOVING.set(membership_id)
    try:
        moved = session.records.increment(MEMBERSHIP, membership_id, "points_balance", delta, at_least=0)
    finally:
        MOVING.reset(token)
    if moved is not None:
        return
    row = session.records.get(MEMBERSHIP, membership_id)
    have = row.get("points_balance") or 0
    raise ValidationFailed(
        f"not enough points: {_membership_label(row, membership_id)} has a balance of {have} points "
        f"and {what} needs {-delta}; nothing was written",
        details=[{"field": "points", "message": f"the balance is {have} points; {-delta} were asked"}],
        code="insufficient_points")


def insert_entry(session, values: dict, what: str) -> int:
    """Write a ledger entry inside the write's transaction — a redemption must take its
    points in the same transaction as its own row and the stock. The record service
    finishes it like any write (plugin hooks — `before_entry` moves the balance —,
    validation rules, audit row, outbox event)."""
    token = LINKING.set((values.get("redemption"), what))
    try:
        return session.records.create(ENTRY, values)["id"]
    finally:
        LINKING.reset(token)


# -- the record hooks ---------------------------------------------------------------------------
def before_entry(event, session) -> dict | None:
    if event.action in ("updated", "deleted", "transitioned"):
        verb = "changed" if event.action != "deleted" else "deleted"
        raise Conflict(f"points entry {event.record_id} cannot be {verb}: the points ledger is immutable; "
                       f"correct a mistake with a new 'adjust' entry", code="ledger_immutable")
    record = event.record
    linked, what = LINKING.get()
    if record.get("redemption") is not None and record.get("redemption") != linked:
        raise _invalid("a points entry is linked to a redemption only by the redemption itself; "
                       "create a redemption to redeem a reward", "redemption", "set by the redemption")
    delta = entry_delta(record)
    membership_id = record.get("membership")
    check_membership_open(session, membership_id, record.get("kind"))
    apply_delta(session, membership_id, delta, what or f"this {record.get('kind')} entry")
    # An entry without its time happened when it was recorded; the answer, the audit
    # trail and the outbox event carry the time filled in.
    return {"occurred_at": _now().isoformat()} if record.get("occurred_at") is None else None


def before_membership(event, session) -> None:
    if event.action == "created":
        for name in KEPT_FIELDS:
            value = event.record.get(name)
            if value is not None and Decimal(str(value)) != 0:
                raise _invalid(f"membership.{name} is kept by the points ledger and starts at 0; post an "
                               f"'adjust' points entry for an opening balance", name, "kept by the points ledger")
    elif event.action == "updated":
        kept = [name for name in KEPT_FIELDS if name in event.changes]  # actions may write read-only fields
        if kept and event.record_id not in (RECOMPUTING.get(), MOVING.get()):
            raise ValidationFailed(
                f"membership.{', '.join(kept)} {'is' if len(kept) == 1 else 'are'} read-only: recomputed "
                f"from the points ledger", details=[{"field": k, "message": "read-only: kept by the points ledger"}
                                                    for k in kept], code="kept_by_ledger")


def before_redemption(event, session) -> None:
    if event.action == "created":
        _redeem(event, session)
    elif event.action == "transitioned" and (event.extra or {}).get("to") == "cancelled":
        _refund(event, session)
    elif event.action == "updated" and {"membership", "reward", "quantity"} & set(event.changes):
        raise Conflict("a redemption's card, reward and quantity cannot change once the points are taken; "
                       "cancel it (the points and stock go back) and create a new one", code="redemption_fixed")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _redeem(event, session) -> None:
    """Take the reward from stock and the points from the balance, and write the redeem
    entry — all in the redemption's transaction, or none of it."""
    record = event.record
    quantity = record.get("quantity") or 1
    reward = session.records.get(REWARD, record.get("reward")) if record.get("reward") is not None else None
    if reward is None:
        raise _invalid(f"there is no reward {record.get('reward')}", "reward", "no such reward", code="record_not_found")
    if reward.get("active") is False:
        raise _invalid(f"the reward {reward['name']!r} is not available for redemption", "reward",
                       "not active", code="reward_inactive")
    membership_id = record.get("membership")
    check_membership_open(session, membership_id, "redeem")
    if session.records.increment(REWARD, reward["id"], "stock", -quantity, at_least=0) is None:
        left = session.records.get(REWARD, reward["id"]).get("stock")
        raise ValidationFailed(f"the reward {reward['name']!r} is out of stock: {left or 0} left, {quantity} asked; "
                               f"nothing was written",
                               details=[{"field": "quantity", "message": f"only {left or 0} in stock"}],
                               code="out_of_stock")
    points = (reward.get("points_cost") or 0) * quantity
    if points > 0:   # the entry's own hook takes the points (or refuses, rolling all of this back)
        insert_entry(session, {
            "membership": membership_id, "kind": "redeem", "points": points,
            "reason": f"Redeemed {quantity} × {reward['name']}"[:200], "occurred_at": _now().isoformat(),
            "redemption": event.record_id}, f"redeeming {quantity} × {reward['name']}")


def _refund(event, session) -> None:
    """A cancelled redemption puts the reward back in stock and gives the points back
    (an `adjust` entry linked to the redemption)."""
    record = event.record
    rows = session.records.list(ENTRY, [("redemption", str(event.record_id))])["items"]
    taken = (sum(r["points"] for r in rows if r["kind"] == "redeem")
             - sum(r["points"] for r in rows if r["kind"] == "adjust"))
    if record.get("reward") is not None:
        session.records.increment(REWARD, record["reward"], "stock", record.get("quantity") or 1)
    if taken > 0:
        insert_entry(session, {
            "membership": record.get("membership"), "kind": "adjust", "points": taken,
            "reason": f"Refund: redemption {event.record_id} cancelled", "occurred_at": _now().isoformat(),
            "redemption": event.record_id}, "the refund")
