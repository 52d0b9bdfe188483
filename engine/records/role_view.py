"""Records and record events as one role reads them, for what leaves the tenant's access
control (a webhook's body; a plugin sending data out, through `engine.plugin_api`):
fields the role may not read are absent from the record and from the event's record and
changes, and personal data the role may not see in clear is masked (`engine.records.pii`).
Without a role, every class of personal data is masked.

    view = RoleView(session.metadata, "party", "agent")   # NotFound / Forbidden if it cannot
    body = {"event": view.event(event), "record": view.record(record)}
"""
from __future__ import annotations

from engine.auth import Actor
from engine.errors import Forbidden, NotFound
from engine.records.permissions import Permissions
from engine.records.pii import Masking, mask

BUILT_IN = ("admin", "member")


class _Nobody:
    """No user: reads every class of personal data masked."""

    is_admin = False

    @staticmethod
    def may_unmask(_pii_class) -> bool:
        return False


class RoleView:
    def __init__(self, metadata, entity_name: str, role: str | None = None):
        """`metadata`: the compiled metadata or a plugin session's `MetadataView`."""
        entity = metadata.entity(entity_name)
        if entity is None:
            raise NotFound(f"no entity {entity_name!r}", code="entity_not_found")
        self.entity = entity
        self.permissions = None
        if role is None:
            self.masking = Masking(_Nobody())
            return
        if role not in BUILT_IN and role not in {r["name"] for r in metadata.roles}:
            raise NotFound(f"role {role!r} is not one of the tenant's roles", code="role_not_found")
        actor = Actor(0, "role-view", "admin" if role == "admin" else "member",
                      roles=() if role in BUILT_IN else (role,))
        self.permissions = Permissions(metadata, actor)
        actor._cache["permissions"] = self.permissions
        if not self.permissions.may(entity.name, "read"):
            raise Forbidden(f"role {role!r} may not read {entity.name} records", code="role_may_not_read")
        self.masking = Masking(actor)

    def record(self, values):
        """A record (`{field: value}`) as the role reads it."""
        if not isinstance(values, dict):
            return values
        values = self.permissions.strip(self.entity, dict(values)) if self.permissions else dict(values)
        return self.masking.record(self.entity, values)

    def event(self, event):
        """A record event as JSON (`RecordEvent.to_dict()`) as the role reads it."""
        event = dict(event or {})
        if "record" in event:
            event["record"] = self.record(event["record"])
        if isinstance(event.get("changes"), dict):
            changes = dict(event["changes"])
            if self.permissions:
                changes = self.permissions.strip(self.entity, changes)
            event["changes"] = self.masking.changes(self.entity, changes)
        return event


def masked_value(field, value):
    """One value of `field` (a metadata field) as a user without the unmask right reads it."""
    if not field.pii_class:
        return value
    return mask(field.pii_class, field.name, field.base_type or field.type, value)
