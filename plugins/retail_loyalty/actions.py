"""The pack's named actions, for its workflows and rule sets:

- `loyalty_refresh` `{}`: recompute the triggering membership's rolling 12-month
  points and spend (the nightly schedule uses it, so what falls out of the window
  drops out and the tier rules can downgrade);
- `loyalty_expire_points` `{"months": 24}`: points credited more than `months` ago and
  still unspent expire, as an `expire` ledger entry;
- `loyalty_convert_trial` `{"tier": "member", "activate": true}`: turn the triggering
  free-trial sign-up into a member — find or create the party (same e-mail or phone:
  the same customer), give it a membership card, link both to the sign-up and
  activate the card.

Every write passes a key derived from the context's effect key, so a retried job
changes nothing twice."""
from __future__ import annotations

from datetime import date, datetime, timezone

from engine.plugin_api import ActionFailed, ActionParam, ActionSpec, LoomError
from plugins.retail_loyalty import rolling
from plugins.retail_loyalty.ledger import ENTRY, MEMBERSHIP

TIERS = ("member", "silver", "gold", "diamond")
MAX_MONTHS = 120


def _params(name, params, allowed) -> list[str]:
    if not isinstance(params, dict):
        return [f"{name}: params must be an object"]
    return [f"{name}: unknown parameter {k!r}" for k in sorted(set(params) - set(allowed), key=str)]


def _record_id(context, name) -> int:
    value = (context.record or {}).get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise ActionFailed(f"{name}: the triggering {context.entity} record has no id")
    return value


def _expect_entity(context, name, entity) -> None:
    if context.entity != entity:
        raise ActionFailed(f"{name} runs on {entity} records, not {context.entity}")


def _key(context, suffix) -> str | None:
    return f"{context.effect_key}/{suffix}" if context.effect_key else None


# -- loyalty_refresh ----------------------------------------------------------------------------
def check_refresh(params) -> list[str]:
    return _params("loyalty_refresh", params, ())


def run_refresh(context, params) -> dict:
    problems = check_refresh(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    _expect_entity(context, "loyalty_refresh", MEMBERSHIP)
    try:
        return rolling.refresh(context.session, _record_id(context, "loyalty_refresh"),
                               effect_key=context.effect_key or None)
    except LoomError as exc:
        raise ActionFailed(f"loyalty_refresh: {exc}") from None


# -- loyalty_expire_points ----------------------------------------------------------------------
def check_expire(params) -> list[str]:
    problems = _params("loyalty_expire_points", params, ("months",))
    months = params.get("months", 24) if isinstance(params, dict) else 24
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        problems.append(f"loyalty_expire_points: months must be a whole number from 1 to {MAX_MONTHS}, "
                        f"not {str(months)[:20]!r}")
    return problems


def run_expire(context, params) -> dict:
    problems = check_expire(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    _expect_entity(context, "loyalty_expire_points", MEMBERSHIP)
    months = params.get("months", 24)
    membership_id = _record_id(context, "loyalty_expire_points")
    session = rolling.system_session(context.session)
    now = datetime.now(timezone.utc)
    points = rolling.points_to_expire(session, membership_id, months, now)
    if points <= 0:
        return {"expired": 0}
    cutoff = rolling.months_before(now, months).date().isoformat()
    try:
        written = session.records.create(ENTRY, {
            "membership": membership_id, "kind": "expire", "points": points,
            "reason": f"Points credited before {cutoff} expired", "occurred_at": now.isoformat()},
            effect_key=context.effect_key or None)
    except LoomError as exc:
        raise ActionFailed(f"loyalty_expire_points: {exc}") from None
    return {"expired": points if written is not None else 0, "entry": written and written["id"]}


# -- loyalty_convert_trial ----------------------------------------------------------------------
CONVERT = "loyalty_convert_trial"


def check_convert(params) -> list[str]:
    problems = _params(CONVERT, params, ("tier", "activate"))
    if not isinstance(params, dict):
        return problems
    if params.get("tier", "member") not in TIERS:
        problems.append(f"{CONVERT}: tier must be one of {', '.join(TIERS)}")
    if not isinstance(params.get("activate", True), bool):
        problems.append(f"{CONVERT}: activate must be true or false")
    return problems


def _option_values(session, entity, field) -> list:
    found = session.metadata.entity(entity)
    found = found.field(field) if found else None
    return [o.value if hasattr(o, "value") else o for o in (getattr(found, "options", None) or ())]


def _first(session, entity, params, sort="id") -> dict | None:
    items = session.records.list(entity, [*params, ("sort", sort), ("limit", "1")])["items"]
    return items[0] if items else None


def _find_party(session, signup) -> dict | None:
    """The customer the trier already is: the same e-mail, else the same phone."""
    for field in ("email", "phone"):
        if signup.get(field):
            found = _first(session, "party", [(field, signup[field])])
            if found:
                return found
    return None


def _party_values(session, signup) -> dict:
    values = {"name": signup["name"]}
    for field in ("email", "phone"):
        if signup.get(field):
            values[field] = signup[field]
    kinds = _option_values(session, "party", "kind")
    if "person" in kinds:
        values["kind"] = "person"
    roles = _option_values(session, "party", "roles")
    chosen = [r for r in ("customer", "member") if r in roles]
    if chosen:
        values["roles"] = chosen
    return values


def _ensure_party(session, context, signup) -> int:
    if signup.get("party"):
        return signup["party"]
    party = _find_party(session, signup)
    if party is None:
        party = session.records.create("party", _party_values(session, signup), effect_key=_key(context, "party"))
        if party is None:  # created by an earlier run of this job that stopped before linking
            party = _find_party(session, signup) or _first(session, "party", [("name", signup["name"])], sort="-id")
            if party is None:
                raise ActionFailed(f"{CONVERT}: the party made for sign-up {signup['id']} is gone")
    session.records.update("trial_signup", signup["id"], {"party": party["id"]}, effect_key=_key(context, "link-party"))
    return party["id"]


def _ensure_membership(session, context, signup, party_id, tier) -> dict:
    if signup.get("membership"):
        return session.records.get(MEMBERSHIP, signup["membership"])
    existing = [m for m in session.records.list(MEMBERSHIP, [("party", str(party_id)), ("sort", "id")])["items"]
                if m.get("status") != "cancelled"]
    membership = existing[0] if existing else None
    if membership is None:
        values = {"party": party_id, "tier": tier, "joined": date.today().isoformat()}
        if signup.get("email"):
            values["email"] = signup["email"]
        membership = session.records.create(MEMBERSHIP, values, effect_key=_key(context, "membership"))
        if membership is None:
            membership = _first(session, MEMBERSHIP, [("party", str(party_id))], sort="-id")
            if membership is None:
                raise ActionFailed(f"{CONVERT}: the membership made for sign-up {signup['id']} is gone")
    session.records.update("trial_signup", signup["id"], {"membership": membership["id"]},
                           effect_key=_key(context, "link-membership"))
    return membership


def run_convert(context, params) -> dict:
    problems = check_convert(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    _expect_entity(context, CONVERT, "trial_signup")
    session = rolling.system_session(context.session)
    signup = session.records.get("trial_signup", _record_id(context, CONVERT))
    try:
        party_id = _ensure_party(session, context, signup)
        membership = _ensure_membership(session, context, signup, party_id, params.get("tier", "member"))
        activated = False
        if params.get("activate", True) and membership.get("status") == "trial":
            if not session.has_action("transition"):
                raise ActionFailed(f"{CONVERT}: the transition action is not available")
            outcome = session.run_action(
                "transition", MEMBERSHIP, membership,
                {"name": "activate", "comment": f"Converted from free-trial sign-up {signup['id']}"},
                event=context.event, effect_key=_key(context, "activate") or "")
            activated = bool(outcome.get("performed"))
    except LoomError as exc:
        raise ActionFailed(f"{CONVERT}: {exc}") from None
    return {"party": party_id, "membership": membership["id"], "activated": activated}


ACTIONS = {
    "loyalty_refresh": ActionSpec(run=run_refresh, check=check_refresh,
                                  description="Recompute a membership's rolling 12-month points and spend."),
    "loyalty_expire_points": ActionSpec(run=run_expire, check=check_expire,
                                        description="Expire a membership's points credited more than N months ago "
                                                    "and still unspent.",
                                        params=(ActionParam("months", "integer", label={
                                            "en": "Expire points older than (months)", "zh-CN": "积分过期（月数）"}),)),
    CONVERT: ActionSpec(run=run_convert, check=check_convert,
                        description="Turn a free-trial sign-up into a member: party, membership card, activation.",
                        params=(ActionParam("tier", "choice", TIERS, label={"en": "Tier", "zh-CN": "等级"}),
                                ActionParam("activate", "bool", label={"en": "Activate the card",
                                                                       "zh-CN": "激活会员卡"}))),
}
