"""The pack's named actions, run by its rule sets and workflows through the job queue.

Every record write passes an effect key derived from the context's, so a job handled
twice (a worker crash, a retry) changes nothing twice.

- `automotive_route_call`: automatic call distribution by brand tier — a call goes to an
  active queue of its vehicle's brand tier (standard or luxury); without a vehicle, the
  highest tier among the caller's current vehicles; otherwise standard. A call without a
  party whose caller number is one party's (any written form) gets that party first.
- `automotive_queue_stats`: a queue's measured figures (handled calls, average
  satisfaction) and whether its target is met.
- `automotive_maintenance_reminder`: a maintenance reminder for a vehicle (by date or
  when its mileage crossed the service mileage), addressed to its owner and its dealer.
- `automotive_issue_recall_notices`: one recall notice per vehicle a recall affects.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from engine.plugin_api import ActionFailed, ActionSpec, LoomError, NotFound

TIER_ORDER = ("standard", "luxury")   # later = higher: a luxury customer gets the luxury desk
PAGE = 200


# -- reading helpers --------------------------------------------------------------------------

def list_all(session, entity: str, params=()) -> list[dict]:
    """Every record of `entity` matching the list-query `params` (all pages)."""
    items, cursor = [], None
    while True:
        page_params = list(params) + [("limit", str(PAGE))] + ([("cursor", cursor)] if cursor else [])
        page = session.records.list(entity, page_params)
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def get_or_none(session, entity: str, record_id):
    if record_id is None:
        return None
    try:
        return session.records.get(entity, record_id)
    except NotFound:
        return None


def brand_tier_of_vehicle(session, vehicle) -> str | None:
    """standard | luxury: the tier of the vehicle's brand (vehicle -> model -> brand)."""
    if isinstance(vehicle, int):
        vehicle = get_or_none(session, "vehicle", vehicle)
    if not vehicle:
        return None
    model = get_or_none(session, "model", vehicle.get("model"))
    brand = get_or_none(session, "brand", model.get("brand")) if model else None
    return brand.get("tier") if brand else None


def current_ownership(session, vehicle_id) -> dict | None:
    """The vehicle's current ownership: no end date, the latest start."""
    rows = list_all(session, "vehicle_ownership", [("vehicle", str(vehicle_id)), ("sort", "-owned_from")])
    current = [r for r in rows if not r.get("owned_to")]
    return (current or [None])[0]


def vehicles_of_party(session, party_id) -> list[int]:
    rows = list_all(session, "vehicle_ownership", [("party", str(party_id))])
    return [r["vehicle"] for r in rows if not r.get("owned_to")]


def email_of(record) -> str | None:
    return (record or {}).get("email") or None


def _written(session, entity, record_id, values, key):
    try:
        return session.records.update(entity, record_id, values, effect_key=key or None)
    except LoomError as exc:
        raise ActionFailed(f"could not update {entity} {record_id}: {exc.message}") from None


def _created(session, entity, values, key):
    try:
        return session.records.create(entity, values, effect_key=key or None)
    except LoomError as exc:
        raise ActionFailed(f"could not create a {entity}: {exc}") from None


def _no_params(name, allowed=()):
    def check(params):
        if not isinstance(params, dict):
            return [f"{name}: params must be an object"]
        return [f"{name}: unknown parameter {key!r}" for key in params if key not in allowed]
    return check


# -- call routing -----------------------------------------------------------------------------

def parties_by_phone(session, number) -> list[dict]:
    """The parties any of whose phone numbers is `number`, however either was written
    (`?phone=` compares the numbers' E.164 keys); none when it is no phone number."""
    if not number:
        return []
    try:
        return list_all(session, "party", [("phone", number), ("sort", "id")])
    except LoomError:  # not a number that can be looked up: an unknown caller
        return []


def caller_of(session, call: dict) -> dict | None:
    """The one party whose number the call came from (None: none, or several share it)."""
    found = parties_by_phone(session, call.get("caller_phone"))
    return found[0] if len(found) == 1 else None


def call_tier(session, call: dict) -> tuple[str, str]:
    """(tier, why) for a call (`party` may be the caller found by `caller_of`)."""
    if call.get("vehicle"):
        tier = brand_tier_of_vehicle(session, call["vehicle"])
        if tier:
            return tier, f"vehicle {call['vehicle']}'s brand is {tier}"
    if call.get("party"):
        tiers = {brand_tier_of_vehicle(session, v) for v in vehicles_of_party(session, call["party"])} - {None}
        if tiers:
            tier = max(tiers, key=TIER_ORDER.index)
            return tier, f"the caller owns a {tier}-brand vehicle"
    return "standard", "no vehicle known: the standard desk"


def queue_for(session, tier: str) -> dict | None:
    """The active queue of a tier that has handled the fewest calls (ties: the first made)."""
    queues = list_all(session, "call_queue", [("brand_tier", tier), ("active", "true"), ("sort", "id")])
    if not queues:
        return None
    return min(queues, key=lambda q: q.get("handled_calls") or 0)


def route_call(context, params) -> dict:
    session, call = context.session, context.record or {}
    if not call.get("id"):
        raise ActionFailed("automotive_route_call: the event has no call record")
    caller = None if call.get("party") else caller_of(session, call)  # a screen pop by the caller's number
    tier, why = call_tier(session, {**call, "party": caller["id"]} if caller else call)
    if params.get("reroute") and call.get("brand_tier") == tier and call.get("queue") and not caller:
        return {"routed": False, "tier": tier, "skipped": "already in a queue of its tier"}
    queue = queue_for(session, tier)
    if queue is None:
        return {"routed": False, "tier": tier, "skipped": f"no active {tier} call queue"}
    values = {"queue": queue["id"], "brand_tier": tier, **({"party": caller["id"]} if caller else {})}
    written = _written(session, "call", call["id"], values, context.effect_key)
    if written is None:
        return {"routed": False, "skipped": "already done for this event"}
    return {"routed": True, "tier": tier, "queue": queue["id"], "why": why,
            **({"party": caller["id"]} if caller else {})}


# -- queue figures -----------------------------------------------------------------------------

def queue_figures(session, queue: dict) -> dict:
    handled = list_all(session, "call", [("queue", str(queue["id"])), ("handled_at__isnull", "false"),
                                         ("fields", "satisfaction")])
    scores = [c["satisfaction"] for c in handled if c.get("satisfaction") is not None]
    average = (Decimal(sum(scores)) / len(scores)).quantize(Decimal("0.01"), ROUND_HALF_UP) if scores else None
    target = Decimal(str(queue.get("target_value") or 0))
    if queue.get("target_kind") == "satisfaction":
        met = average is not None and average >= target
    else:
        met = len(handled) >= target
    return {"handled_calls": len(handled), "average_satisfaction": str(average) if average is not None else None,
            "target_met": met}


def queue_stats(context, params) -> dict:
    session, call = context.session, context.record or {}
    queue_ids = {call.get("queue")}
    old_new = (context.event or {}).get("changes", {}).get("queue")
    if isinstance(old_new, list) and old_new:
        queue_ids.add(old_new[0])
    outcome = {}
    for n, queue_id in enumerate(sorted(q for q in queue_ids if q)):
        queue = get_or_none(session, "call_queue", queue_id)
        if queue is None:
            continue
        figures = queue_figures(session, queue)
        if all(queue.get(k) == v for k, v in figures.items()):
            outcome[str(queue_id)] = figures
            continue
        _written(session, "call_queue", queue_id, figures, f"{context.effect_key}:{n}" if context.effect_key else None)
        outcome[str(queue_id)] = figures
    return {"queues": outcome}


# -- maintenance reminders ---------------------------------------------------------------------

def check_reminder(params) -> list[str]:
    problems = _no_params("automotive_maintenance_reminder", ("reason",))(params)
    if isinstance(params, dict) and params.get("reason") not in ("date", "mileage"):
        problems.append("automotive_maintenance_reminder: reason must be 'date' or 'mileage'")
    return problems


def crossed(changes: dict, threshold) -> bool:
    """Whether a mileage change [old, new] went from below `threshold` to at or above it."""
    pair = (changes or {}).get("mileage")
    if threshold is None or not isinstance(pair, list) or len(pair) != 2 or pair[1] is None:
        return False
    old, new = pair
    return (old is None or old < threshold) and new >= threshold


def maintenance_reminder(context, params) -> dict:
    problems = check_reminder(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    session, vehicle = context.session, context.record or {}
    reason = params["reason"]
    if reason == "mileage" and not crossed((context.event or {}).get("changes"), vehicle.get("next_service_mileage")):
        return {"created": False, "skipped": "the mileage did not cross the service mileage"}
    if reason == "date" and not vehicle.get("next_service_due"):
        return {"created": False, "skipped": "the vehicle has no service date"}
    ownership = current_ownership(session, vehicle["id"])
    owner = get_or_none(session, "party", ownership["party"]) if ownership else None
    dealer = get_or_none(session, "dealer", vehicle.get("dealer"))
    values = {"vehicle": vehicle["id"], "vin": vehicle.get("vin"), "reason": reason,
              "dealer": vehicle.get("dealer"), "party": owner["id"] if owner else None,
              "owner_email": email_of(owner), "dealer_email": email_of(dealer),
              "due_on": vehicle.get("next_service_due"), "due_mileage": vehicle.get("next_service_mileage"),
              "mileage": vehicle.get("mileage"), "locale": (owner or {}).get("locale")}
    created = _created(session, "maintenance_reminder", {k: v for k, v in values.items() if v is not None},
                       context.effect_key)
    if created is None:
        return {"created": False, "skipped": "already done for this event"}
    return {"created": True, "id": created["id"], "reason": reason}


# -- recalls -----------------------------------------------------------------------------------

def affected_vehicles(session, recall: dict) -> list[dict]:
    if recall.get("model"):
        models = [recall["model"]]
    else:
        models = [m["id"] for m in list_all(session, "model", [("brand", str(recall["brand"]))])]
    vehicles = []
    for start in range(0, len(models), 100):
        chunk = ",".join(str(m) for m in models[start:start + 100])
        if chunk:
            vehicles += list_all(session, "vehicle", [("model__in", chunk), ("sort", "id")])
    low, high = recall.get("year_from"), recall.get("year_to")
    return [v for v in vehicles
            if (low is None or (v.get("year") is not None and v["year"] >= low))
            and (high is None or (v.get("year") is not None and v["year"] <= high))]


def issue_recall_notices(context, params) -> dict:
    session, recall = context.session, context.record or {}
    if not recall.get("id") or not recall.get("brand"):
        raise ActionFailed("automotive_issue_recall_notices: the event has no recall record")
    issued = {n["vehicle"] for n in list_all(session, "recall_notice", [("recall", str(recall["id"]))])}
    dealers: dict = {}
    created = 0
    for vehicle in affected_vehicles(session, recall):
        if vehicle["id"] in issued:
            continue
        ownership = current_ownership(session, vehicle["id"])
        owner = get_or_none(session, "party", ownership["party"]) if ownership else None
        dealer_id = vehicle.get("dealer")
        if dealer_id not in dealers:
            dealers[dealer_id] = get_or_none(session, "dealer", dealer_id)
        values = {"recall": recall["id"], "vehicle": vehicle["id"], "vin": vehicle.get("vin"),
                  "campaign_code": recall.get("campaign_code"), "dealer": dealer_id,
                  "party": owner["id"] if owner else None, "owner_email": email_of(owner),
                  "dealer_email": email_of(dealers[dealer_id]), "locale": (owner or {}).get("locale")}
        key = f"{context.effect_key}:{vehicle['id']}" if context.effect_key else None
        if _created(session, "recall_notice", {k: v for k, v in values.items() if v is not None}, key):
            created += 1
        issued.add(vehicle["id"])
    _written(session, "recall", recall["id"], {"notices": len(issued)},
             f"{context.effect_key}:count" if context.effect_key else None)
    return {"created": created, "notices": len(issued)}


ACTIONS = {
    "automotive_route_call": ActionSpec(
        run=route_call, check=_no_params("automotive_route_call", ("reroute",)),
        description="Route a call to an active queue of its vehicle's brand tier (standard or luxury)."),
    "automotive_queue_stats": ActionSpec(
        run=queue_stats, check=_no_params("automotive_queue_stats"),
        description="Recount a call queue's handled calls and average satisfaction against its target."),
    "automotive_maintenance_reminder": ActionSpec(
        run=maintenance_reminder, check=check_reminder,
        description="Create a maintenance reminder for the vehicle, addressed to its owner and dealer."),
    "automotive_issue_recall_notices": ActionSpec(
        run=issue_recall_notices, check=_no_params("automotive_issue_recall_notices"),
        description="Create a recall notice for every vehicle the recall affects."),
}
