"""Taking a workflow transition for demo data. Workflows live in a layer above the
engine, so the engine reaches them as every rule does: through the `transition` action."""
from __future__ import annotations

from engine.actions import ActionContext, ActionFailed
from engine.errors import ValidationFailed


def take(session, entity, record_id, transition, comment=None) -> dict:
    action = session.actions().get("transition")
    if action is None:
        raise ValidationFailed("demo transitions need the workflow runtime, which is not installed",
                               code="demo_invalid")
    record = session.records.get(entity, record_id)
    params = {"name": transition, **({"comment": comment} if comment else {})}
    try:
        outcome = action.run(ActionContext(session, entity, record), params)
    except ActionFailed as exc:
        raise ValidationFailed(f"demo transition {transition} of {entity} {record_id} failed: {exc}",
                               code="demo_invalid") from None
    return outcome
