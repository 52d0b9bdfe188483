"""The retail_loyalty pack as a Loom plugin: membership cards, the points ledger (whose
balance never goes negative), rewards and redemptions, tiers, clubs, free trials.

Installing the pack for a tenant enables this plugin for it, so the hooks and actions
below act for that tenant only."""
from __future__ import annotations

from pathlib import Path

from engine.plugin_api import Pack, hookimpl
from plugins.retail_loyalty import ledger, rolling
from plugins.retail_loyalty.actions import ACTIONS

LOOM_PLUGIN_NAME = "retail_loyalty"
PACK = Pack.from_directory(Path(__file__).parent)


@hookimpl
def loom_packs():
    return [PACK]


@hookimpl
def loom_actions():
    return dict(ACTIONS)


@hookimpl
def loom_record_before_write(event, session):
    """Inside the write's transaction: the ledger moves the balance atomically (or
    refuses), entries stay immutable (and get their time), redemptions take stock and
    points together, and the figures kept by the ledger are nobody's to edit."""
    if event.entity == ledger.ENTRY:
        return ledger.before_entry(event, session)
    if event.entity == ledger.MEMBERSHIP:
        ledger.before_membership(event, session)
    elif event.entity == ledger.REDEMPTION:
        ledger.before_redemption(event, session)
    return None


@hookimpl
def loom_record_after_commit(event, session):
    """After a ledger entry committed: the membership's rolling 12-month figures, as an
    audited update the tier rules see."""
    if event.entity == ledger.ENTRY and event.action == "created":
        membership_id = (event.record or {}).get("membership")
        if membership_id is not None:
            rolling.refresh(session, membership_id)
