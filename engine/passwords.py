"""Signing in with a password: argon2 hashes, a lock-out after repeated failures, and
one-time reset links.

Passwords are hashed with argon2id (argon2-cffi's defaults). A user who fails
`MAX_FAILURES` times in a row is locked out for `LOCK_MINUTES`; a correct password during
the lock-out is refused the same way, so the lock-out cannot be probed. An unknown e-mail
costs one hash too, so timing does not tell which e-mails exist. A reset link is a random
secret stored as its SHA-256 digest, valid for `RESET_HOURS` and once."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from engine.auth import Actor, _actor
from engine.password_policy import MAX_LENGTH, MIN_LENGTH, password_problem  # noqa: F401  (the policy's names here)
from engine.errors import NotFound, ValidationFailed
from engine.systables import loom_table

MAX_FAILURES = 5
LOCK_MINUTES = 15
RESET_HOURS = 2
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("not a password of anyone's")


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the actor, or why not (`bad_credentials`, `locked`)."""

    actor: Actor | None
    refusal: str | None = None
    locked_until: datetime | None = None
    password_changed_at: datetime | None = None


def now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment):
    if moment is not None and moment.tzinfo is None:  # SQLite gives naive UTC datetimes back
        return moment.replace(tzinfo=timezone.utc)
    return moment


def _check(password, email=None) -> None:
    problem = password_problem(password, email)
    if problem:
        raise ValidationFailed(problem, details=[{"field": "password", "message": problem}],
                               code="weak_password")


def set_password(storage, email: str, password: str) -> None:
    """Give the active user `email` a new password; it also lifts a lock-out and ends
    the sessions signed in before it."""
    email = (email or "").strip().lower()
    _check(password, email)
    users = loom_table(storage.schema, "loom_users")
    with storage.begin() as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.email == email)).scalar()
        if user_id is None:
            raise NotFound(f"no user {email} in tenant {storage.slug}", code="user_not_found")
        _store(conn, users, user_id, password)


def _store(conn, users, user_id, password) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(
        password_hash=_hasher.hash(password), failed_logins=0, locked_until=None,
        password_changed_at=now()))


def sign_in(storage, email: str, password: str) -> SignIn:
    """Check `password` for the active user `email` and count the attempt."""
    users = loom_table(storage.schema, "loom_users")
    email = (email or "").strip().lower()[:254]
    password = password if isinstance(password, str) else ""
    with storage.begin() as conn:
        row = conn.execute(select(users).where(users.c.email == email, users.c.active)).mappings().first()
        if row is None or not row["password_hash"]:
            _verify(_DUMMY, password)
            return SignIn(None, "bad_credentials")
        locked_until = _aware(row["locked_until"])
        if locked_until is not None and locked_until > now():
            _verify(row["password_hash"], password)
            return SignIn(None, "locked", locked_until)
        if not _verify(row["password_hash"], password):
            failures = (row["failed_logins"] or 0) + 1
            locked_until = now() + timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILURES else None
            conn.execute(users.update().where(users.c.id == row["id"]).values(
                failed_logins=0 if locked_until else failures, locked_until=locked_until))
            return SignIn(None, "locked" if locked_until else "bad_credentials", locked_until)
        values = {"failed_logins": 0, "locked_until": None}
        if _hasher.check_needs_rehash(row["password_hash"]):
            values["password_hash"] = _hasher.hash(password)
        conn.execute(users.update().where(users.c.id == row["id"]).values(values))
    return SignIn(_actor(row), password_changed_at=_aware(row["password_changed_at"]))


def _verify(hashed, password) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def session_user(storage, user_id, signed_in_at: datetime):
    """The active user of a browser session, or None when the user is gone, deactivated or
    changed the password after `signed_in_at`."""
    users = loom_table(storage.schema, "loom_users")
    with storage.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id, users.c.active)).mappings().first()
    if row is None:
        return None
    changed = _aware(row["password_changed_at"])
    if changed is not None and changed > signed_in_at:
        return None
    return _actor(row), row["display_name"]


def start_reset(storage, email: str, hours: int = RESET_HOURS) -> tuple[str, Actor] | None:
    """A one-time reset secret for the active user `email`, valid for `hours` (None when
    there is no such user: the caller answers the same either way)."""
    users = loom_table(storage.schema, "loom_users")
    resets = loom_table(storage.schema, "loom_password_resets")
    email = (email or "").strip().lower()[:254]
    with storage.begin() as conn:
        row = conn.execute(select(users).where(users.c.email == email, users.c.active)).mappings().first()
        if row is None:
            return None
        secret = secrets.token_urlsafe(32)
        moment = now()
        conn.execute(resets.insert().values(user_id=row["id"], token_hash=_digest(secret), created_at=moment,
                                            expires_at=moment + timedelta(hours=hours)))
    return secret, _actor(row)


def reset_user(storage, secret: str):
    """The user a reset secret is still valid for, or None."""
    row = _reset_row(storage, secret)
    return None if row is None else row["email"]


def finish_reset(storage, secret: str, password: str) -> bool:
    """Set the password through a reset secret, once; False when the secret is not valid."""
    users = loom_table(storage.schema, "loom_users")
    resets = loom_table(storage.schema, "loom_password_resets")
    with storage.begin() as conn:
        row = _reset_row(storage, secret, conn)
        if row is None:
            return False
        _check(password, row["email"])
        used = conn.execute(resets.update().where(resets.c.id == row["reset_id"], resets.c.used_at.is_(None))
                            .values(used_at=now())).rowcount
        if used != 1:
            return False
        _store(conn, users, row["id"], password)
    return True


def _reset_row(storage, secret, conn=None):
    if not isinstance(secret, str) or not 20 <= len(secret) <= 100:
        return None
    users = loom_table(storage.schema, "loom_users")
    resets = loom_table(storage.schema, "loom_password_resets")
    stmt = (select(users.c.id, users.c.email, resets.c.id.label("reset_id"), resets.c.expires_at)
            .join(resets, resets.c.user_id == users.c.id)
            .where(resets.c.token_hash == _digest(secret), resets.c.used_at.is_(None), users.c.active))
    if conn is None:
        with storage.connect() as own:
            row = own.execute(stmt).mappings().first()
    else:
        row = conn.execute(stmt).mappings().first()
    if row is None or _aware(row["expires_at"]) <= now():
        return None
    return row


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
