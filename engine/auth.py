"""Users and API tokens of a tenant, kept in the tenant's own storage.

Tokens are random 256-bit secrets shown once and stored as SHA-256 digests (a slow
password hash buys nothing for secrets of that strength and would cost every request).
Passwords (argon2) arrive with the web UI, which is the first thing that needs them."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from engine.errors import Conflict, NotFound, ValidationFailed
from engine.fieldtypes import EMAIL_RE
from engine.systables import loom_table

ROLES = ("admin", "member")
TOKEN_PREFIX = "loom_"


@dataclass(frozen=True)
class Actor:
    id: int
    email: str
    role: str
    locale: str = "en"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(storage, email: str, role: str = "member", display_name=None, locale="en") -> Actor:
    email = (email or "").strip().lower()
    if not EMAIL_RE.fullmatch(email):
        raise ValidationFailed(f"{email!r} is not a valid e-mail address",
                               details=[{"field": "email", "message": "not an e-mail address"}])
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}; use one of: {', '.join(ROLES)}",
                               details=[{"field": "role", "message": f"not one of {', '.join(ROLES)}"}])
    users = loom_table(storage.schema, "loom_users")
    with storage.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.email == email)).first():
            raise Conflict(f"user {email} already exists in this tenant", code="user_exists")
        user_id = conn.execute(users.insert().returning(users.c.id).values(
            email=email, role=role, display_name=display_name, locale=locale, active=True,
            created_at=datetime.now(timezone.utc))).scalar_one()
    return Actor(user_id, email, role, locale)


def list_users(storage) -> list[Actor]:
    users = loom_table(storage.schema, "loom_users")
    with storage.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.email)).mappings().all()
    return [Actor(r["id"], r["email"], r["role"], r["locale"]) for r in rows]


def create_token(storage, email: str, label: str | None = None) -> str:
    """A new token for the user; only its digest is kept, so this is the one chance to see it."""
    users = loom_table(storage.schema, "loom_users")
    tokens = loom_table(storage.schema, "loom_tokens")
    email = (email or "").strip().lower()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with storage.begin() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.email == email, users.c.active)).scalar()
        if user_id is None:
            raise NotFound(f"no user {email} in tenant {storage.slug}", code="user_not_found")
        conn.execute(tokens.insert().values(user_id=user_id, token_hash=_digest(token), label=label,
                                            created_at=datetime.now(timezone.utc)))
    return token


def authenticate(storage, token: str) -> Actor | None:
    """The active user a token belongs to in this tenant, or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    users = loom_table(storage.schema, "loom_users")
    tokens = loom_table(storage.schema, "loom_tokens")
    stmt = (select(users.c.id, users.c.email, users.c.role, users.c.locale)
            .join(tokens, tokens.c.user_id == users.c.id)
            .where(tokens.c.token_hash == _digest(token), tokens.c.revoked_at.is_(None), users.c.active))
    with storage.connect() as conn:
        row = conn.execute(stmt).first()
    return Actor(row.id, row.email, row.role, row.locale) if row else None
