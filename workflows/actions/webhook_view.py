"""What a webhook may carry: the event and the record as the role it is sent as reads
them (`"role"` in its params), or, without one, with every field of personal data
masked — a webhook's receiver is outside the tenant's access control, so it gets no more
than a user holding that role would: fields the role may not read are absent from the
record and from the event's record and changes, and personal data the role may not see
in clear is masked (`engine.records.pii`)."""
from __future__ import annotations

from engine.plugin_api import ActionFailed, Forbidden, NotFound, RoleView


def role_problems(name, prefix: str) -> list[str]:
    if name is None or (isinstance(name, str) and 0 < len(name) <= 48 and name.replace("_", "a").isalnum()):
        return []
    return [f"{prefix}: role must be the name of a role (admin, member or one of the tenant's)"]


def sent_as(context, role: str | None) -> tuple[dict, dict]:
    """(event, record) as the webhook's role reads them; ActionFailed when the role is not
    one of the tenant's or may not read the entity's records."""
    metadata = context.session.metadata
    if metadata.entity(context.entity) is None:
        return context.event, context.record
    try:
        view = RoleView(metadata, context.entity, role)
    except NotFound as exc:
        raise ActionFailed(f"webhook: {exc.message}") from None
    except Forbidden as exc:
        raise ActionFailed(f"webhook: {exc.message}, so nothing is sent") from None
    return view.event(context.event), view.record(context.record)
