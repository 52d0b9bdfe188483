"""The `subscriptions` pack: its bundle through `loom_packs`, plus the Python a bundle
cannot say — a field type, a named action and a check before writes."""
from __future__ import annotations

import calendar
import re
from datetime import date
from pathlib import Path

from engine.plugin_api import ActionFailed, ActionSpec, CustomFieldType, Pack, ValidationFailed, hookimpl

LOOM_PLUGIN_NAME = "subscriptions"
PACK = Pack.from_directory(Path(__file__).parent)
CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")


@hookimpl
def loom_packs():
    return [PACK]


def check_cn_mobile(value: str) -> str:
    """A mainland China mobile number: 11 digits starting 13-19 (spaces and +86 allowed)."""
    digits = re.sub(r"[\s-]", "", value).removeprefix("+86")
    if not CN_MOBILE.fullmatch(digits):
        raise ValueError("a mainland mobile number has 11 digits and starts with 13 to 19")
    return digits


@hookimpl
def loom_field_types():
    return [CustomFieldType("cn_mobile", "string", check_cn_mobile, "Mainland China mobile number")]


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def check_extend(params) -> list[str]:
    months = params.get("months") if isinstance(params, dict) else None
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 36:
        return ["extend_renewal: months must be a whole number from 1 to 36"]
    return []


def extend_renewal(context, params) -> dict:
    """Move the subscription's renewal date `months` ahead (from today when it has none)."""
    problems = check_extend(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    current = context.record.get("renewal_date")
    start = date.fromisoformat(current) if current else date.today()
    renewal = add_months(start, params["months"]).isoformat()
    context.session.records.update(context.entity, context.record["id"], {"renewal_date": renewal},
                                   effect_key=context.effect_key or None)
    return {"renewal_date": renewal}


@hookimpl
def loom_actions():
    return {"extend_renewal": ActionSpec(run=extend_renewal, check=check_extend,
                                         description="move a subscription's renewal date ahead")}


@hookimpl
def loom_record_before_write(event):
    """A cancelled subscription is history: it is not edited afterwards."""
    if event.entity == "subscription" and event.action == "updated":
        status = event.changes.get("status", [event.record.get("status")])[0]
        if status == "cancelled":
            raise ValidationFailed("a cancelled subscription cannot be changed",
                                   details=[{"field": "status", "message": "cancelled"}],
                                   code="subscription_cancelled")
