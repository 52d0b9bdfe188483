"""The record a message template is rendered with, as its recipient may read it.

A message is a copy of record values that leaves Loom's access control (an e-mail) or
sits beside it (an in-app notification), so each recipient gets the record as they may
read it:

- a user of the tenant (a `role:`, `user:`, `owner` or `user_field:` recipient): without
  the fields their roles hide and with the personal data they may not see in clear
  masked — exactly what the record service shows them;
- an address taken from the record (`field:`, the data subject or a contact): `contact`
  data in clear (it is theirs: their name, their address), every other class masked;
- for everyone, values encrypted at rest (`identity`, `sensitive`) are masked: a message
  is stored and sent in clear, where the encryption cannot follow.

A template may allow classes in clear (`"clear": ["contact"]`, checked at publish: only
`contact` and `financial`): those are shown in clear to every recipient who may read the
field (a field a user's roles hide stays absent); every other class stays masked as above."""
from __future__ import annotations

from sqlalchemy import select

from engine.auth import Actor
from engine.records.permissions import Permissions
from engine.records.pii import mask, pii_fields
from engine.systables import loom_table
from workflows.notify.templates import CLEAR_CLASSES

EXTERNAL_CLEAR = frozenset({"contact"})
ALLOWED_CLEAR = frozenset(CLEAR_CLASSES)


class RecipientView:
    """Per delivery: the record each recipient's message is rendered with."""

    def __init__(self, session, entity_name: str, record: dict, clear=()):
        self.session, self.record = session, record
        self.clear = frozenset(c for c in clear or () if c in ALLOWED_CLEAR)  # the template's `clear`
        self.package = session.metadata().package
        self.entity = self.package.entity(entity_name)
        self._actors: dict = {}

    def record_for(self, person) -> dict:
        if self.entity is None or not self.record:
            return self.record
        outside = lambda cls: cls in EXTERNAL_CLEAR or cls in self.clear  # noqa: E731
        if person.user_id is None:
            return self._masked(self.record, outside)
        actor = self._actor(person.user_id)
        if actor is None:  # no such user any more: as an outside address
            return self._masked(self.record, outside)
        permissions = Permissions(self.package, actor)
        actor._cache["permissions"] = permissions
        stripped = permissions.strip(self.entity, dict(self.record)) or {}
        return self._masked(stripped, lambda cls: cls in self.clear or actor.may_unmask(cls))

    def _masked(self, record: dict, in_clear) -> dict:
        kinds = {f.name: (f.base_type or f.type, f.encrypted) for f in self.entity.fields}
        out = dict(record)
        for name, cls in pii_fields(self.entity).items():
            if name in out and (kinds[name][1] or not in_clear(cls)):
                out[name] = mask(cls, name, kinds[name][0], out[name])
        return out

    def _actor(self, user_id):
        if user_id not in self._actors:
            users = loom_table(self.session.storage.schema, "loom_users")
            with self.session.storage.connect() as conn:
                row = conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
            self._actors[user_id] = None if row is None else Actor(
                row["id"], row["email"], row["role"], row["locale"] or "en", row["manager_id"],
                dict(row["attributes"] or {}), tuple(row.get("roles") or ()),
                tuple(row.get("permission_sets") or ()))
        return self._actors[user_id]
