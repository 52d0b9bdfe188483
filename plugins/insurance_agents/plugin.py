"""The insurance_agents pack as a Loom plugin: the bundle (pack.json, metadata.json,
demo.json), the record hook that keeps a book of business consistent, and one action.

Record hook (`loom_record_before_write`, inside the write's transaction):

- a policy's ``agency`` is filled from its agent (and follows the agent when the policy
  is reassigned); an agency that is not the agent's is refused; the expiry date must
  come after the effective date;
- a claim's, renewal's and commission's ``agent`` / ``agency`` are filled from their
  policy (a commission keeps an agent given explicitly — an override for the agent
  above — and takes its agency from that agent); a commission without an amount gets
  the policy's premium × rate; a claim's approved amount cannot exceed the amount
  claimed (same currency), and its date of loss must fall inside the policy's cover;
  only admins (the claims staff) set a claim's assessment, approved amount, rejection
  reason and payment date (403 ``claims_staff_only``) — an agent reports and follows;
- a value the hook fills must stay inside the acting member's sharing (403
  ``not_shared``): an agency manager cannot hand a policy to another agency's agent;
- an agent cannot report to itself or to an agent below it (no loops in the hierarchy).

Filled values are returned by the hook and applied by the record service before the
audit and outbox rows are written, so the API's answer, the audit trail and the outbox
all carry them — and record sharing
(the ``agency`` field rule) applies from the first commit.

Action ``insurance_notify_agent`` ``{"template": T, "channel": "email" | "in_app" |
"both", "field": "agent", "managers": false}``: the core ``notify`` action sent to the
agent of the triggering record (``field`` names its reference to ``agent``) and, with
``managers``, to the manager of the agent's agency. A person is reached as the user
with the agent's ``email`` (the agency's ``manager_email``): in-app and by e-mail, in
that user's language; without a login, by e-mail only; an agent without an e-mail
falls back to the record's owner. (Users are found by e-mail rather than by their
``agent`` attribute because plugins cannot read the user list: ``engine.auth`` reaches
the tenants layer.) The template's ``record`` also gets ``agent_name``,
``agent_email``, ``manager_email``, ``policyholder_name``, ``policy_number``,
``days_to_expiry`` and ``status_label_en`` / ``status_label_zh``.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from engine.plugin_api import ActionFailed, ActionSpec, Forbidden, LoomError, Pack, ValidationFailed, hookimpl

LOOM_PLUGIN_NAME = "insurance_agents"
PACK = Pack.from_directory(Path(__file__).parent)

ACTION = "insurance_notify_agent"
CHANNELS = ("email", "in_app", "both")
FROM_POLICY = ("claim", "renewal", "commission")
# What the insurer's claims staff (admins) decide; an agent reports and follows a claim.
CLAIM_DECISIONS = ("assessment", "amount_approved", "rejection_reason", "paid_on")
MAX_HIERARCHY = 100


@hookimpl
def loom_packs():
    return [PACK]


@hookimpl
def loom_actions():
    return {ACTION: ActionSpec(run=_notify_agent, check=_check_notify,
                               description="Notify the agent of the record (the user with the agent's "
                                           "e-mail), optionally the agency's manager too.")}


# --- the record hook ---------------------------------------------------------------------


@hookimpl
def loom_record_before_write(event, session):
    """Checks, and the values a policy passes down (its agent's agency; a claim's,
    renewal's or commission's agent and agency; a commission's amount): returned for
    the record service to apply."""
    if event.action not in ("created", "updated"):
        return None
    sets: dict = {}
    if event.entity == "policy":
        _policy(event, session, sets)
    elif event.entity in FROM_POLICY:
        _from_policy(event, session, sets)
    elif event.entity == "agent":
        _agent(event, session)
    return sets or None


def _touched(event, *names) -> bool:
    return event.action == "created" or any(n in event.changes for n in names)


def _fetch(session, entity, record_id) -> dict | None:
    """A record as JSON, read inside the write's transaction."""
    if record_id is None:
        return None
    return session.records.get(entity, record_id)


def _fill(event, session, sets: dict, values: dict) -> None:
    """Add `values` (JSON form) to what the hook sets on the record being written."""
    record = {**event.record, **sets}
    values = {k: v for k, v in values.items() if record.get(k) != v}
    if values:
        _check_shared(session, event.entity, values)
        sets.update(values)


def _check_shared(session, entity_name, values) -> None:
    """A filled value must stay inside what the acting member's sharing gives them (the
    record service checks the values given; this checks the ones the hook adds): a
    manager cannot move a policy to another agency's agent."""
    actor = session.actor
    entity = session.metadata.entity(entity_name)
    if actor is None or actor.is_admin or entity is None or entity.sharing is None:
        return
    for rule in entity.sharing["rules"]:
        value = values.get(rule.get("field"))
        allowed = actor.attribute_values(rule["user"]) if "field" in rule and value is not None else None
        if allowed is not None and str(value) not in {str(v) for v in allowed}:
            raise Forbidden(f"you may not create or move a {entity_name} record outside what is shared with you",
                            details=[{"field": rule["field"], "message": f"{value!r} is not one of your "
                                                                          f"{rule['user']!r} values"}],
                            code="not_shared")


def _refuse(field, message, summary):
    raise ValidationFailed(summary, details=[{"field": field, "message": message}],
                           code="invalid_record")


def _policy(event, session, sets) -> None:
    record = event.record
    if _touched(event, "effective", "expiry") and record.get("effective") and record.get("expiry") \
            and record["expiry"] <= record["effective"]:
        _refuse("expiry", "must be after the effective date", "a policy expires after it takes effect")
    if not _touched(event, "agent", "agency"):
        return
    agent = _fetch(session, "agent", record.get("agent"))
    if agent is None:
        return  # the reference check reports a missing agent
    agency = agent.get("agency")
    given = record.get("agency")
    agent_changed = event.action == "created" or "agent" in event.changes
    agency_changed = event.action == "created" or "agency" in event.changes
    if given is not None and agency_changed and given != agency:
        _refuse("agency", f"the agent {agent.get('code') or agent['id']} belongs to agency {agency}",
                "a policy's agency is its agent's agency")
    if agent_changed or given is None:
        _fill(event, session, sets, {"agency": agency})


def _from_policy(event, session, sets) -> None:
    record = event.record
    policy = _fetch(session, "policy", record.get("policy"))
    if policy is not None and _touched(event, "policy", "agent", "agency"):
        values = {}
        if event.entity == "commission":  # an explicit agent stays (an override for the agent above)
            agent_id = record.get("agent") or policy.get("agent")
            agent = _fetch(session, "agent", agent_id) if agent_id != policy.get("agent") else None
            values["agent"] = agent_id
            values["agency"] = agent.get("agency") if agent is not None else policy.get("agency")
        else:
            values["agent"] = policy.get("agent")
            values["agency"] = policy.get("agency")
        if event.entity == "renewal":
            for name, source in (("policyholder", "policyholder"), ("expiry", "expiry"),
                                 ("expected_premium", "premium")):
                if record.get(name) is None:
                    values[name] = policy.get(source)
        _fill(event, session, sets, values)
    if event.entity == "claim":
        _check_claim(event, session, record, policy)
    elif event.entity == "commission" and policy is not None:
        _commission_amount(event, session, sets, {**record, **sets}, policy)


def _check_claim(event, session, record, policy) -> None:
    actor = session.actor
    decided = [name for name in CLAIM_DECISIONS if name in event.changes]
    if decided and actor is not None and not actor.is_admin:
        raise Forbidden(f"only the claims staff (admins) set {', '.join(decided)}",
                        details=[{"field": name, "message": "set by the claims staff"} for name in decided],
                        code="claims_staff_only")
    claimed, approved = record.get("amount_claimed"), record.get("amount_approved")
    if approved and claimed and _touched(event, "amount_claimed", "amount_approved"):
        if approved["currency"] != claimed["currency"]:
            _refuse("amount_approved", f"must be in {claimed['currency']}, the currency claimed",
                    "the approved amount is in the currency claimed")
        if _decimal(approved) > _decimal(claimed):
            _refuse("amount_approved", f"is more than the {claimed['amount']} {claimed['currency']} claimed",
                    "a claim cannot be approved for more than was claimed")
    incident = record.get("incident_date")
    if policy is not None and incident and _touched(event, "incident_date", "policy"):
        if not (policy["effective"] <= incident <= policy["expiry"]):
            _refuse("incident_date", f"is outside the policy's cover ({policy['effective']} to {policy['expiry']})",
                    "the date of loss must fall inside the policy's cover")


def _commission_amount(event, session, sets, record, policy) -> None:
    if record.get("amount") is not None or record.get("rate") is None or not policy.get("premium"):
        return
    if not _touched(event, "rate", "amount", "policy"):
        return
    premium = policy["premium"]
    amount = (_decimal(premium) * Decimal(str(record["rate"])) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    _fill(event, session, sets, {"amount": {"amount": str(amount), "currency": premium["currency"]}})


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value["amount"] if isinstance(value, dict) else value))
    except (InvalidOperation, KeyError, TypeError):
        return Decimal(0)


def _agent(event, session) -> None:
    if not _touched(event, "parent_agent"):
        return
    parent_id, seen = event.record.get("parent_agent"), set()
    while parent_id is not None and len(seen) < MAX_HIERARCHY:
        if parent_id == event.record_id:
            _refuse("parent_agent", "would make the hierarchy a loop (an agent cannot report to itself "
                                    "or to an agent below it)", "the agent hierarchy cannot loop")
        seen.add(parent_id)
        parent = _fetch(session, "agent", parent_id)
        parent_id = parent.get("parent_agent") if parent is not None else None
        if parent_id in seen:
            break


# --- insurance_notify_agent ----------------------------------------------------------------


def _check_notify(params) -> list[str]:
    if not isinstance(params, dict):
        return [f"{ACTION}: params must be an object such as {{\"template\": \"policy_renewal_reminder\"}}"]
    problems = [f"{ACTION}: unknown parameter {k!r}"
                for k in sorted(set(params) - {"template", "channel", "field", "managers"}, key=str)]
    template = params.get("template")
    if not isinstance(template, str) or not template:
        problems.append(f"{ACTION}: template is required (the name of a message template)")
    if params.get("channel", "in_app") not in CHANNELS:
        problems.append(f"{ACTION}: channel must be one of {', '.join(CHANNELS)}")
    field = params.get("field", "agent")
    if not isinstance(field, str) or not field.replace("_", "").isalnum():
        problems.append(f"{ACTION}: field must be the name of a reference field to agent")
    if not isinstance(params.get("managers", False), bool):
        problems.append(f"{ACTION}: managers must be true or false")
    return problems


def _notify_agent(context, params) -> dict:
    problems = _check_notify(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    session = context.session
    if not session.has_action("notify"):
        raise ActionFailed(f"{ACTION}: the core 'notify' action is not available")
    try:
        record = _enriched(session, context.entity, dict(context.record or {}), params.get("field", "agent"))
    except LoomError as exc:
        raise ActionFailed(f"{ACTION}: {exc}") from None
    people = [record["agent_email"]] if record.get("agent_email") else []
    if params.get("managers") and record.get("manager_email") and record["manager_email"] not in people:
        people.append(record["manager_email"])
    to = [f"user:{address}" for address in people] or ["owner"]
    channel = params.get("channel", "in_app")

    def notify(notify_params):
        return session.run_action("notify", context.entity, record, notify_params, event=context.event,
                                  effect_key=context.effect_key)

    outcome = notify({"template": params["template"], "to": to, "channel": channel})
    # Someone without a login still gets the e-mail, at the address the record gives.
    no_login = [key for key, address in (("agent_email", record.get("agent_email")),
                                         ("manager_email", record.get("manager_email")))
                if address in people and any(s.startswith(f"user:{address}: no active user") for s in outcome["skipped"])]
    if no_login and channel in ("email", "both"):
        extra = notify({"template": params["template"], "to": [f"field:{k}" for k in no_login],
                        "channel": "email"})
        outcome = {"sent": outcome["sent"] + extra["sent"], "in_app": outcome["in_app"],
                   "skipped": outcome["skipped"] + extra["skipped"]}
    return {"to": to, **outcome}


def _enriched(session, entity_name, record, field) -> dict:
    """The record with what a message needs: the names, the agent's and the agency
    manager's e-mail (their logins are the users with those e-mails), days to expiry."""
    out = dict(record)
    records = session.records
    agent = _get(records, "agent", record.get(field))
    out["agent_name"] = agent.get("name") if agent else None
    out["agent_email"] = agent.get("email") if agent else None
    agency = _get(records, "agency", record.get("agency") or (agent or {}).get("agency"))
    out["manager_email"] = agency.get("manager_email") if agency else None
    policy = record if entity_name == "policy" else _get(records, "policy", record.get("policy"))
    if policy is not None:
        out["policy_number"] = policy.get("number")
        holder = _get(records, "party", policy.get("policyholder"))
        out["policyholder_name"] = holder.get("name") if holder else None
    expiry = record.get("expiry") or (policy or {}).get("expiry")
    if expiry:
        today = datetime.now(timezone.utc).date()
        out["days_to_expiry"] = (date.fromisoformat(expiry) - today).days
    entity = session.metadata.entity(entity_name)
    status = entity.field("status") if entity is not None else None
    if status is not None and record.get("status"):
        label = _option_label(status, record["status"])
        out["status_label_en"] = label.get("en", record["status"])
        out["status_label_zh"] = label.get("zh-CN", out["status_label_en"])
    return out


def _get(records, entity, record_id):
    if record_id is None:
        return None
    try:
        return records.get(entity, record_id)
    except LoomError:
        return None


def _option_label(field, value) -> dict:
    for option in field.options or ():
        if option.value == value:
            return dict(option.label or {})
    return {}
