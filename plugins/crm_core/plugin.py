"""The crm_core pack as a Loom plugin: the bundle (pack.json, metadata.json, demo.json)
and the few named actions its rules need that the core actions cannot express.

Actions (usable by every tenant that installed crm_core, and by the packs built on it):

- ``add_party_role`` ``{"field": "party", "role": "customer", "remove": ["prospect"]}``:
  adds a role to the party the triggering record's reference field points to (and
  takes the ``remove`` roles away) — a won opportunity makes its party a customer.
- ``transition_related`` ``{"field": "party", "name": "acquire"}``: takes a workflow
  transition on the record a reference field points to, when that record's current
  state allows it (otherwise nothing happens: the rule is a "move on if still there").
- ``price_quote_line`` ``{}``: line total = quantity × unit price less the discount (%),
  then the quote's total = the sum of its lines.
- ``campaign_roi`` ``{}``: ROI in percent = (revenue − cost) / cost × 100.

Every write passes the context's effect key, so a retried job changes nothing twice.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from engine.plugin_api import ActionFailed, ActionSpec, LoomError, Pack, hookimpl

LOOM_PLUGIN_NAME = "crm_core"
PACK = Pack.from_directory(Path(__file__).parent)

CENT = Decimal("0.01")
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@hookimpl
def loom_packs():
    return [PACK]


@hookimpl
def loom_actions():
    return dict(ACTIONS)


# --- helpers ---------------------------------------------------------------------------


def _is_name(value) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 48 and value[0].isalpha() and set(value) <= NAME_CHARS


def _params(action, params, required=(), optional=()) -> list[str]:
    if not isinstance(params, dict):
        return [f"{action}: params must be an object"]
    problems = [f"{action}: unknown parameter {k!r}" for k in sorted(set(params) - set(required) - set(optional), key=str)]
    problems += [f"{action}: {k} is required" for k in required if k not in params]
    return problems


def _key(context, suffix) -> str | None:
    return f"{context.effect_key}/{suffix}" if context.effect_key else None


def _record_id(context, action) -> int:
    value = (context.record or {}).get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise ActionFailed(f"{action}: the triggering {context.entity} record has no id")
    return value


def _reference(session, action, entity_name, field_name):
    """The entity a reference field of `entity_name` points to."""
    entity = session.metadata.entity(entity_name)
    field = entity.field(field_name) if entity is not None else None
    if field is None or (field.base_type or field.type) != "reference":
        raise ActionFailed(f"{action}: {entity_name}.{field_name} is not a reference field")
    return field.to


def _amount(value) -> Decimal | None:
    """A Decimal from a currency value, a decimal string or a number (None when empty)."""
    if isinstance(value, dict):
        value = value.get("amount")
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _currency_of(value, default="CNY") -> str:
    return value.get("currency") or default if isinstance(value, dict) else default


def _write(session, action, entity, record_id, values, key):
    try:
        return session.records.update(entity, record_id, values, effect_key=key)
    except LoomError as exc:
        raise ActionFailed(f"{action}: {exc}") from None


# --- add_party_role ----------------------------------------------------------------------


def _check_add_role(params) -> list[str]:
    problems = _params("add_party_role", params, ("role",), ("field", "remove"))
    if problems:
        return problems
    if not _is_name(params.get("field", "party")):
        problems.append("add_party_role: field must be the name of a reference field, such as 'party'")
    if not isinstance(params["role"], str) or not params["role"]:
        problems.append("add_party_role: role must be a role name such as 'customer'")
    remove = params.get("remove", [])
    if not isinstance(remove, list) or not all(isinstance(r, str) for r in remove):
        problems.append("add_party_role: remove must be a list of role names")
    return problems


def _add_party_role(context, params) -> dict:
    problems = _check_add_role(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    session, field_name = context.session, params.get("field", "party")
    target_entity = _reference(session, "add_party_role", context.entity, field_name)
    target_id = (context.record or {}).get(field_name)
    if target_id is None:
        return {"updated": False, "skipped": f"{field_name} is empty"}
    try:
        target = session.records.get(target_entity, target_id)
    except LoomError as exc:
        raise ActionFailed(f"add_party_role: {exc}") from None
    before = list(target.get("roles") or [])
    roles = [r for r in before if r not in params.get("remove", [])]
    if params["role"] not in roles:
        roles.append(params["role"])
    if roles == before:
        return {"updated": False, "skipped": "the party already has these roles", "roles": roles}
    written = _write(session, "add_party_role", target_entity, target_id, {"roles": roles}, context.effect_key or None)
    if written is None:
        return {"updated": False, "skipped": "already done for this event"}
    return {"updated": True, "entity": target_entity, "id": target_id, "roles": written.get("roles")}


# --- transition_related ------------------------------------------------------------------


def _check_transition_related(params) -> list[str]:
    problems = _params("transition_related", params, ("field", "name"), ("comment",))
    if problems:
        return problems
    if not _is_name(params["field"]):
        problems.append("transition_related: field must be the name of a reference field, such as 'party'")
    if not _is_name(params["name"]):
        problems.append("transition_related: name must be a transition name, such as 'acquire'")
    return problems


def _transition_related(context, params) -> dict:
    problems = _check_transition_related(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    session, field_name, name = context.session, params["field"], params["name"]
    target_entity = _reference(session, "transition_related", context.entity, field_name)
    target_id = (context.record or {}).get(field_name)
    if target_id is None:
        return {"performed": False, "skipped": f"{field_name} is empty"}
    workflow = session.metadata.workflow_for(target_entity)
    transition = workflow.transition(name) if workflow is not None else None
    if transition is None:
        raise ActionFailed(f"transition_related: {target_entity} has no workflow transition {name!r}")
    try:
        target = session.records.get(target_entity, target_id)
    except LoomError as exc:
        raise ActionFailed(f"transition_related: {exc}") from None
    state = target.get(workflow.field)
    if transition not in workflow.transitions_from(state):
        return {"performed": False, "skipped": f"{target_entity} {target_id} is in {state!r}, which {name!r} does not leave"}
    if not session.has_action("transition"):
        raise ActionFailed("transition_related: the core 'transition' action is not available")
    outcome = session.run_action("transition", target_entity, target,
                                 {"name": name, **({"comment": params["comment"]} if "comment" in params else {})},
                                 event=context.event, effect_key=_key(context, f"{target_entity}:{target_id}") or "")
    return {"entity": target_entity, "id": target_id, **outcome}


# --- price_quote_line --------------------------------------------------------------------


def _no_params(action):
    return lambda params: _params(action, params)


def _triggering_record(context, action, params):
    """(session, id, record) of the record an action runs for, its params checked."""
    problems = _params(action, params or {})
    if problems:
        raise ActionFailed("; ".join(problems))
    record_id = _record_id(context, action)
    try:
        return context.session, record_id, context.session.records.get(context.entity, record_id)
    except LoomError as exc:
        raise ActionFailed(f"{action}: {exc}") from None


def _price_quote_line(context, params) -> dict:
    session, line_id, line = _triggering_record(context, "price_quote_line", params)
    quantity, price = _amount(line.get("quantity")), _amount(line.get("unit_price"))
    discount = _amount(line.get("discount")) or Decimal(0)
    if quantity is None or price is None:
        return {"updated": False, "skipped": "quantity or unit price is empty"}
    currency = _currency_of(line.get("unit_price"))
    total = (quantity * price * (Decimal(100) - discount) / Decimal(100)).quantize(CENT, ROUND_HALF_UP)
    line_total = {"amount": str(total), "currency": currency}
    if _amount(line.get("line_total")) != total or _currency_of(line.get("line_total"), None) != currency:
        _write(session, "price_quote_line", context.entity, line_id, {"line_total": line_total},
               _key(context, "line"))
    quote_id = line.get("quote")
    lines, sum_ = list(session.records.export(context.entity, [("quote", str(quote_id))])), Decimal(0)
    for item in lines:
        value = total if item["id"] == line_id else _amount(item.get("line_total"))
        sum_ += value or Decimal(0)
    quote_total = {"amount": str(sum_.quantize(CENT)), "currency": currency}
    _write(session, "price_quote_line", "quote", quote_id, {"total": quote_total}, _key(context, "quote"))
    return {"line_total": line_total, "quote": quote_id, "quote_total": quote_total, "lines": len(lines)}


# --- campaign_roi ------------------------------------------------------------------------


def _campaign_roi(context, params) -> dict:
    session, campaign_id, campaign = _triggering_record(context, "campaign_roi", params)
    cost, revenue = _amount(campaign.get("cost")), _amount(campaign.get("revenue"))
    if not cost or revenue is None:
        roi = None
    else:
        roi = str(((revenue - cost) / cost * 100).quantize(CENT, ROUND_HALF_UP))
    if _amount(campaign.get("roi")) == _amount(roi):
        return {"updated": False, "roi": roi}
    written = _write(session, "campaign_roi", context.entity, campaign_id, {"roi": roi}, context.effect_key or None)
    return {"updated": written is not None, "roi": roi}


ACTIONS = {
    "add_party_role": ActionSpec(run=_add_party_role, check=_check_add_role,
                                 description="Add a role to the party a reference field points to."),
    "transition_related": ActionSpec(run=_transition_related, check=_check_transition_related,
                                     description="Take a workflow transition on the record a reference field points to."),
    "price_quote_line": ActionSpec(run=_price_quote_line, check=_no_params("price_quote_line"),
                                   description="Price a quote line and total its quote."),
    "campaign_roi": ActionSpec(run=_campaign_roi, check=_no_params("campaign_roi"),
                               description="Work out a campaign's return on investment (%)."),
}
