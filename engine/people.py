"""A tenant admin's side of people: who the users are, inviting one, changing a user's
role, manager and name, deactivating and reactivating, and the API tokens with their
names, last use and revocation.

A deactivated user stays (their records keep their owner) but can neither sign in nor use
a token, and their browser sessions end: every one of those paths reads `active`. The
tenant always keeps an active admin: deactivating or demoting the last one is refused, and
so is deactivating yourself. An invitation is a set-password link valid for
`INVITE_HOURS`, made by the same one-time secrets as a password reset."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from engine import auth, passwords, token_scopes
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.records.inputs import INT64, refuse_unstorable
from engine.systables import loom_table
from engine.timefmt import iso_utc

INVITE_HOURS = 72
MAX_NAME = auth.MAX_NAME  # a token's label, as a person's name


@dataclass(frozen=True)
class Person:
    """A user as the admin's list shows it."""

    id: int
    email: str
    display_name: str | None
    role: str
    active: bool
    manager: str | None          # the manager's e-mail
    has_password: bool
    created_at: datetime
    roles: tuple = ()            # the tenant's roles the user holds
    permission_sets: tuple = ()  # and the permission sets on top

    def to_dict(self) -> dict:
        return {"id": self.id, "email": self.email, "display_name": self.display_name, "role": self.role,
                "active": self.active, "manager": self.manager, "has_password": self.has_password,
                "created_at": iso_utc(self.created_at), "roles": list(self.roles),
                "permission_sets": list(self.permission_sets)}


def roles() -> tuple[str, ...]:
    """The roles a user may have, as the engine knows them."""
    return auth.ROLES


def check_held(package, roles=auth.UNSET, permission_sets=auth.UNSET) -> None:
    """Refuse role or permission-set names the tenant's metadata (`package`) does not define."""
    details = []
    for key, given, defined in (("roles", roles, package.roles), ("permission_sets", permission_sets,
                                                                  package.permission_sets)):
        if given is auth.UNSET:
            continue
        names = auth.check_names(given, key)
        known = [item["name"] for item in defined]
        details += [{"field": f"{key}/{i}", "message": f"no {key[:-1].replace('_', ' ')} {name!r} in this "
                     f"tenant; defined: {', '.join(known) or 'none'}", "code": "unknown_role"}
                    for i, name in enumerate(names) if name not in known]
    if details:
        raise ValidationFailed("unknown roles or permission sets", details=details, code="unknown_role")


def people(storage, user_id=None) -> list[Person]:
    """Every user of the tenant (or the one with `user_id`), by e-mail."""
    users = loom_table(storage.schema, "loom_users")
    managers = users.alias("managers")
    stmt = (select(users.c.id, users.c.email, users.c.display_name, users.c.role, users.c.active,
                   managers.c.email.label("manager"), users.c.password_hash.is_not(None).label("has_password"),
                   users.c.created_at, users.c.roles, users.c.permission_sets)
            .outerjoin(managers, managers.c.id == users.c.manager_id).order_by(users.c.email))
    if user_id is not None:
        stmt = stmt.where(users.c.id == user_id)
    with storage.connect() as conn:
        return [Person(**{**row, "roles": tuple(row["roles"] or ()),
                          "permission_sets": tuple(row["permission_sets"] or ())})
                for row in conn.execute(stmt).mappings()]


def _an_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= INT64


def person(storage, user_id) -> Person:
    found = next(iter(people(storage, user_id)), None) if _an_id(user_id) else None
    if found is None:
        raise NotFound(f"no user {user_id} in this tenant", code="user_not_found")
    return found


def _stored_text(value, field: str) -> None:
    refuse_unstorable(value, field, field)


def _display_name(name) -> str | None:
    _stored_text(name, "display_name")  # said as such first
    return auth.display_name_of(name)


def invite(storage, email, role="member", display_name=None, manager=None) -> tuple[Person, str]:
    """A new user without a password and the secret of their set-password link."""
    name = _display_name(display_name)
    _stored_text(email, "email")
    _stored_text(manager, "manager")
    actor = auth.create_user(storage, email, role, display_name=name, manager=manager or None)
    secret, _ = passwords.start_reset(storage, actor.email, hours=INVITE_HOURS)
    return person(storage, actor.id), secret


def reset_link(storage, user_id) -> tuple[Person, str]:
    """A one-time set-password secret for an active user (the admin's "reset password")."""
    found = person(storage, user_id)
    if not found.active:
        raise Conflict(f"{found.email} is deactivated; reactivate the user first", code="user_inactive")
    secret, _ = passwords.start_reset(storage, found.email)
    return found, secret


def change(storage, user_id, by=None, *, role=auth.UNSET, manager=auth.UNSET, display_name=auth.UNSET,
           active=auth.UNSET, roles=auth.UNSET, permission_sets=auth.UNSET, package=None) -> Person:
    """Change a user's role, manager (an e-mail or None), name, `active`, or the tenant's
    roles and permission sets they hold (checked against `package`, the tenant's metadata);
    `by` is the acting admin (who may not deactivate themselves). The tenant keeps an
    active admin."""
    if package is not None:
        check_held(package, roles, permission_sets)
    found = person(storage, user_id)
    if manager is not auth.UNSET:
        _stored_text(manager, "manager")
    built_in = auth.ROLES  # `roles` here is the tenant roles given
    if role is not auth.UNSET and role not in built_in:
        raise ValidationFailed(f"unknown role {role!r}; use one of: {', '.join(built_in)}",
                               details=[{"field": "role", "message": f"not one of {', '.join(built_in)}"}])
    if active is not auth.UNSET and not isinstance(active, bool):
        raise ValidationFailed("active is true or false", details=[{"field": "active", "message": "not a boolean"}])
    if active is False and by is not None and by.id == found.id:
        raise Conflict("you cannot deactivate yourself; another admin can", code="self_deactivation")
    stays_admin = (found.role == "admin" and found.active and role in (auth.UNSET, "admin")
                   and active is not False)
    name = auth.UNSET if display_name is auth.UNSET else _display_name(display_name)
    values = {k: v for k, v in (("display_name", name), ("active", active)) if v is not auth.UNSET}
    users = loom_table(storage.schema, "loom_users")
    with storage.begin() as conn:  # one transaction: the check and every change, or nothing
        if found.role == "admin" and found.active and not stays_admin and auth.active_admins(conn, users) <= 1:
            raise Conflict(f"{found.email} is the tenant's last active admin; make another admin first",
                           code="last_admin")
        if any(v is not auth.UNSET for v in (role, manager, roles, permission_sets)):
            auth.update_user_in(conn, storage.schema, found.email, role=role, manager=manager, roles=roles,
                                permission_sets=permission_sets)
        if values:
            conn.execute(users.update().where(users.c.id == found.id).values(values))
    return person(storage, user_id)


# -- tokens -----------------------------------------------------------------------
def tokens(storage, user_id=None) -> list[dict]:
    """The tenant's API tokens (or one user's), newest first: never the secret, which is
    not kept."""
    users = loom_table(storage.schema, "loom_users")
    table = loom_table(storage.schema, "loom_tokens")
    stmt = (select(table.c.id, table.c.label, users.c.email.label("user"), table.c.created_at,
                   table.c.last_used_at, table.c.revoked_at, table.c.expires_at, table.c.scopes)
            .join(users, users.c.id == table.c.user_id).order_by(table.c.id.desc()))
    if user_id is not None:
        stmt = stmt.where(table.c.user_id == user_id)
    with storage.connect() as conn:
        return [{**row, "scopes": list(row["scopes"] or token_scopes.DEFAULT_SCOPES)}
                for row in conn.execute(stmt).mappings()]


WHENS = ("created_at", "last_used_at", "revoked_at", "expires_at")


def token_json(row: dict) -> dict:
    return {**row, **{k: iso_utc(row[k]) if row[k] else None for k in WHENS}}


def new_token(storage, email, label, expires=None, scopes=None, entities=()) -> tuple[dict, str]:
    """A named token for the active user `email`: its row and the secret, shown this once.
    `expires` is a lifetime such as `30d` (`token_scopes.DEFAULT_LIFETIME` when None);
    `scopes` a list (or comma-separated text) checked against the tenant's `entities`."""
    if not isinstance(label, str) or not label.strip() or len(label.strip()) > MAX_NAME:
        raise ValidationFailed(f"name the token (what it is for), in at most {MAX_NAME} characters",
                               details=[{"field": "label", "code": "token_label",
                                         "message": "required, at most 200 characters"}])
    _stored_text(label, "label")
    _stored_text(email, "user")
    span = token_scopes.lifetime(token_scopes.DEFAULT_LIFETIME if expires is None else expires)
    checked = token_scopes.check_scopes(scopes, set(entities))
    secret = auth.create_token(storage, email, label.strip(), lifetime=span, scopes=checked)
    owner = (email or "").strip().lower()
    return next(t for t in tokens(storage) if t["user"] == owner), secret


def revoke(storage, token_id, owner_id=None) -> dict:
    """Revoke a token (one of user `owner_id`'s when given): it is refused from the next
    request on."""
    table = loom_table(storage.schema, "loom_tokens")
    if not _an_id(token_id):
        raise NotFound(f"no token {str(token_id)[:40]} in this tenant", code="token_not_found")
    with storage.begin() as conn:
        row = conn.execute(select(table.c.revoked_at, table.c.user_id).where(table.c.id == token_id)).first()
        if row is None or (owner_id is not None and row.user_id != owner_id):
            raise NotFound(f"no token {token_id} in this tenant", code="token_not_found")
        if row.revoked_at is not None:
            raise Conflict(f"token {token_id} is already revoked", code="token_revoked")
        conn.execute(table.update().where(table.c.id == token_id).values(revoked_at=datetime.now(timezone.utc)))
    return next(t for t in tokens(storage) if t["id"] == token_id)
