"""What a webhook may carry: the event and the record as the role it is sent as reads
them (`"role"` in its params), or, without one, with every field of personal data
masked — a webhook's receiver is outside the tenant's access control, so it gets no more
than a user holding that role would: fields the role may not read are absent from the
record and from the event's record and changes, and personal data the role may not see
in clear is masked (`engine.records.pii`)."""
from __future__ import annotations

from engine.auth import Actor
from engine.plugin_api import ActionFailed
from engine.records.permissions import Permissions
from engine.records.pii import Masking

BUILT_IN = ("admin", "member")


class _Nobody:
    """No user: reads every class of personal data masked."""

    is_admin = False

    @staticmethod
    def may_unmask(_pii_class) -> bool:
        return False


def role_problems(name, prefix: str) -> list[str]:
    if name is None or (isinstance(name, str) and 0 < len(name) <= 48 and name.replace("_", "a").isalnum()):
        return []
    return [f"{prefix}: role must be the name of a role (admin, member or one of the tenant's)"]


def sent_as(context, role: str | None) -> tuple[dict, dict]:
    """(event, record) as the webhook's role reads them; ActionFailed when the role is not
    one of the tenant's or may not read the entity's records."""
    metadata = context.session.metadata
    entity = metadata.entity(context.entity)
    if entity is None:
        return context.event, context.record
    if role is None:
        masking, permissions = Masking(_Nobody()), None
    else:
        if role not in BUILT_IN and role not in {r["name"] for r in metadata.roles}:
            raise ActionFailed(f"webhook: role {role!r} is not one of the tenant's roles")
        actor = Actor(0, "webhook", "admin" if role == "admin" else "member",
                      roles=() if role in BUILT_IN else (role,))
        permissions = Permissions(metadata, actor)
        actor._cache["permissions"] = permissions
        if not permissions.may(entity.name, "read"):
            raise ActionFailed(f"webhook: role {role!r} may not read {entity.name} records, so nothing is sent")
        masking = Masking(actor)

    def record(values):
        if not isinstance(values, dict):
            return values
        return masking.record(entity, permissions.strip(entity, dict(values)) if permissions else dict(values))

    event = dict(context.event or {})
    if "record" in event:
        event["record"] = record(event["record"])
    if isinstance(event.get("changes"), dict):
        changes = permissions.strip(entity, dict(event["changes"])) if permissions else dict(event["changes"])
        event["changes"] = masking.changes(entity, changes)
    return event, record(context.record)
