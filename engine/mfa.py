"""Multi-factor sign-in: a TOTP second step (RFC 6238, via pyotp) with one-time recovery
codes, security keys beside it (`security_keys`), and which roles a tenant requires a
second step of.

A user enrols by confirming a code of a fresh secret; only then is the secret kept, and
`RECOVERY_CODES` recovery codes are made, shown once and kept as argon2 hashes (each works
once, in place of a code). A user who has enrolled is always asked for the second step;
one in a role the tenant lists under `mfa_required_roles` (a `loom_settings` key) enrols at
their next sign-in before reaching anything else. A security key counts as a second step
just as the app does. Secrets are kept encrypted with the tenant's data keys (`mfa_secrets`)."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from engine import mfa_secrets, security_keys
from engine.auth import ROLES
from engine.errors import NotFound, ValidationFailed
from engine.systables import loom_table

SETTING = "mfa_required_roles"
RECOVERY_CODES = 10
ISSUER = "Loom"
# Recovery codes are 48 random bits, not chosen by people: a lighter argon2id (8 MiB, one
# pass) keeps a stolen table out of reach while making and checking ten of them stays cheap.
_hasher = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def required_roles(storage) -> list[str]:
    """The roles (built in, or the tenant's) whose users must sign in with a second step."""
    settings = loom_table(storage.schema, "loom_settings")
    with storage.connect() as conn:
        value = conn.execute(select(settings.c.value).where(settings.c.key == SETTING)).scalar()
    return [role for role in (value or []) if isinstance(role, str)]


def set_required_roles(storage, roles, tenant_roles=()) -> list[str]:
    """Require MFA of these roles (text such as "admin,member", or a list; empty for none):
    built-in roles or the tenant's (`tenant_roles`, the names its metadata defines)."""
    known = (*ROLES, *tenant_roles)
    if isinstance(roles, str):
        roles = [part.strip() for part in roles.replace(" ", ",").split(",") if part.strip() and part != "none"]
    unknown = [str(role)[:40] for role in roles if role not in known] if isinstance(roles, list) else ["?"]
    if unknown:
        raise ValidationFailed(f"unknown role {unknown[0]!r}; use some of: {', '.join(known)} (or none)",
                               details=[{"field": SETTING, "message": f"roles among {', '.join(known)}"}],
                               code="unknown_role")
    chosen = [role for role in known if role in roles]
    settings = loom_table(storage.schema, "loom_settings")
    with storage.begin() as conn:
        conn.execute(settings.delete().where(settings.c.key == SETTING))
        conn.execute(settings.insert().values(key=SETTING, value=chosen))
    return chosen


def enrolled(storage, user_id: int) -> bool:
    return _secret(storage, user_id) is not None


def needed(storage, actor) -> str | None:
    """What a user who gave the right password still has to do: "verify" (enrolled in the
    app or holding a security key), "enrol" (their role requires it) or None."""
    if enrolled(storage, actor.id) or security_keys.has_keys(storage, actor.id):
        return "verify"
    return "enrol" if required_of(storage, actor) else None


def required_of(storage, actor) -> bool:
    """Whether the tenant requires a second step of one of `actor`'s roles."""
    required = required_roles(storage)
    return any(role in required for role in actor.all_roles)


def remove_key(storage, actor, key_id) -> dict:
    """Remove a security key of `actor`, never their last second step when their role
    requires one."""
    return security_keys.remove(storage, actor.id, key_id, keep_a_factor=required_of(storage, actor))


def second_steps(storage) -> dict[int, dict]:
    """Each user with a second step: {"app": enrolled in the app, "keys": how many keys}."""
    users = loom_table(storage.schema, "loom_users")
    with storage.connect() as conn:
        apps = conn.execute(select(users.c.id).where(users.c.totp_secret.is_not(None))).scalars().all()
    found = {user_id: {"app": False, "keys": count} for user_id, count in security_keys.counts(storage).items()}
    for user_id in apps:
        found.setdefault(user_id, {"app": False, "keys": 0})["app"] = True
    return found


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str, tenant_name: str) -> str:
    """The otpauth:// URI an authenticator app reads (from the QR code or pasted)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=f"{ISSUER} {tenant_name}")


def _code(code) -> str:
    return "".join(str(code or "").split())[:20]


def enrol(storage, user_id: int, secret: str, code) -> list[str]:
    """Keep `secret` once `code` proves the user's app has it; the recovery codes, shown once."""
    if not isinstance(secret, str) or len(secret) != 32 or not pyotp.TOTP(secret).verify(_code(code), valid_window=1):
        raise ValidationFailed("the code is not right: type the six digits your app shows now",
                               details=[{"field": "code", "message": "not the current code"}], code="bad_code")
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}" for _ in range(RECOVERY_CODES)]
    users = loom_table(storage.schema, "loom_users")
    recovery = loom_table(storage.schema, "loom_recovery_codes")
    with storage.begin() as conn:
        kept = mfa_secrets.seal(conn, storage.schema, secret, f"tenant {storage.slug}")  # encrypted at rest
        if conn.execute(users.update().where(users.c.id == user_id).values(
                totp_secret=kept, totp_enrolled_at=datetime.now(timezone.utc))).rowcount != 1:
            raise NotFound(f"no user {user_id} in this tenant", code="user_not_found")
        conn.execute(recovery.delete().where(recovery.c.user_id == user_id))
        conn.execute(recovery.insert(), [{"user_id": user_id, "code_hash": _hasher.hash(c)} for c in codes])
    return codes


def verify(storage, user_id: int, code) -> bool:
    """True for the current TOTP code of the user, or one of their unused recovery codes
    (which is used up)."""
    code, secret = _code(code), _secret(storage, user_id)
    if secret is None or not code:
        return False
    if code.isascii() and code.isdigit() and len(code) == 6:
        return pyotp.TOTP(secret).verify(code, valid_window=1)
    return _use_recovery_code(storage, user_id, code.lower())


def _use_recovery_code(storage, user_id, code) -> bool:
    recovery = loom_table(storage.schema, "loom_recovery_codes")
    with storage.begin() as conn:
        rows = conn.execute(select(recovery.c.id, recovery.c.code_hash)
                            .where(recovery.c.user_id == user_id, recovery.c.used_at.is_(None))).all()
        for row in rows:
            if _matches(row.code_hash, code):
                used = conn.execute(recovery.update().where(recovery.c.id == row.id, recovery.c.used_at.is_(None))
                                    .values(used_at=datetime.now(timezone.utc))).rowcount
                return used == 1
    return False


def _matches(hashed, code) -> bool:
    try:
        return _hasher.verify(hashed, code)
    except (VerificationError, InvalidHashError):
        return False


def remove(storage, user_id: int) -> None:
    """Forget a user's second steps — TOTP secret, recovery codes and security keys (a lost
    phone or key): they enrol again when their role requires it."""
    users = loom_table(storage.schema, "loom_users")
    recovery = loom_table(storage.schema, "loom_recovery_codes")
    with storage.begin() as conn:
        conn.execute(users.update().where(users.c.id == user_id).values(totp_secret=None, totp_enrolled_at=None))
        conn.execute(recovery.delete().where(recovery.c.user_id == user_id))
        security_keys.forget(conn, storage.schema, user_id)


def _secret(storage, user_id):
    users = loom_table(storage.schema, "loom_users")
    with storage.connect() as conn:
        stored = conn.execute(select(users.c.totp_secret).where(users.c.id == user_id)).scalar()
        return mfa_secrets.opened(conn, storage.schema, stored, f"tenant {storage.slug}")
