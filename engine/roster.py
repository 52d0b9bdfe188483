"""The tenant's roster as a plugin session offers it (`session.people`): active users
by role or by e-mail, in id order, with what assigning work to them needs."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.auth import ROLES, holding
from engine.errors import ValidationFailed
from engine.systables import loom_table

MAX_EMAILS = 500


@dataclass(frozen=True)
class Person:
    """An active user: `id`, `email`, `name` (display name or e-mail), `role`, `locale`,
    `territory` (text or None) and `segments` (a tuple of texts)."""
    id: int
    email: str
    name: str
    role: str
    locale: str = "en"
    territory: str | None = None
    segments: tuple = ()


class People:
    def __init__(self, storage, tenant_roles=()):
        self._storage = storage
        self._roles = (*ROLES, *tenant_roles)  # the built-in roles and those the metadata defines

    def active(self, role: str | None = None, emails=None) -> list[Person]:
        """The active users, in id order: of `role` (built in, or one the tenant's metadata
        defines) when given, and among `emails` (case and surrounding blanks ignored) when
        given. ValidationFailed for an unknown role (`not_role`) or more than MAX_EMAILS
        e-mails (`too_many_emails`)."""
        if role is not None and role not in self._roles:
            raise ValidationFailed(f"{str(role)[:40]!r} is not a role; roles: {', '.join(self._roles)}",
                                   code="not_role")
        users = loom_table(self._storage.schema, "loom_users")
        stmt = select(users.c.id, users.c.email, users.c.display_name, users.c.role, users.c.locale,
                      users.c.territory, users.c.segments).where(users.c.active)
        if role is not None:
            stmt = stmt.where(holding(users, role))
        if emails is not None:
            emails = [emails] if isinstance(emails, str) else list(emails)
            if len(emails) > MAX_EMAILS or not all(isinstance(e, str) for e in emails):
                raise ValidationFailed(f"people are looked up by at most {MAX_EMAILS} e-mail addresses",
                                       code="too_many_emails")
            stmt = stmt.where(users.c.email.in_([e.strip().lower() for e in emails]))
        with self._storage.connect() as conn:
            rows = conn.execute(stmt.order_by(users.c.id)).all()
        return [Person(r.id, r.email, r.display_name or r.email, r.role, r.locale or "en", r.territory,
                       tuple(r.segments) if isinstance(r.segments, list) else ()) for r in rows]
