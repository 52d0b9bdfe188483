"""Users and API tokens of a tenant, kept in the tenant's own storage.

Tokens are random 256-bit secrets shown once and stored as SHA-256 digests (a slow
password hash buys nothing for secrets of that strength and would cost every request).
Passwords (argon2) arrive with the web UI, which is the first thing that needs them.

A user may have a manager (another user of the tenant; chains never loop) and
attributes (``{"agent": 12, "region": ["north", "east"]}``): record sharing reads them."""
from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import String, bindparam, cast, or_, select

from engine import token_scopes
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.fieldtypes import EMAIL_RE
from engine.systables import loom_table
from metadata.identifiers import identifier_problem
from metadata.language import is_language_tag
from tenants.registry import CONTROL  # control characters, NUL, unpaired surrogates: as a tenant's name

ROLES = ("admin", "member")
TOKEN_PREFIX = "loom_"
TENANT_UID = re.compile(r"[0-9a-f]{32}")
UNSET = object()  # update_user: "leave as it is"
MAX_ATTRIBUTES = 50
MAX_VALUES = 100
MAX_TEXT = 200
USE_GRAIN = timedelta(minutes=1)  # how finely a token's last use is kept


@dataclass(frozen=True)
class Actor:
    """Who is acting.  ``attributes`` maps a name to a scalar or a list of scalars."""

    id: int
    email: str
    role: str
    locale: str = "en"
    manager_id: int | None = None
    attributes: dict = field(default_factory=dict, hash=False)
    roles: tuple = ()            # the tenant's roles the user holds (none: the built-in role only)
    permission_sets: tuple = ()  # named extra rights on top of the roles
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def holds(self, role: str) -> bool:
        """Whether the user has `role`: their built-in role (admin, member) or one of the
        tenant's roles they hold."""
        return role == self.role or role in self.roles

    @property
    def all_roles(self) -> tuple:
        """The built-in role, then the tenant's roles the user holds."""
        return (self.role, *self.roles)

    def may_unmask(self, pii_class: str) -> bool:
        """Whether the user's roles let them see values of `pii_class` unmasked (decided by
        the permissions a record service bound to this Actor; an admin until one has)."""
        permissions = self._cache.get("permissions")
        return permissions.may_unmask(pii_class) if permissions is not None else self.is_admin

    def may_export_pii(self, pii_class: str) -> bool:
        """Whether the user's roles let them export values of `pii_class` (as `may_unmask`)."""
        permissions = self._cache.get("permissions")
        return permissions.may_export_pii(pii_class) if permissions is not None else self.is_admin

    def reports(self, storage) -> frozenset:
        """Ids of the users whose manager chain reaches this user (not the user itself).

        One recursive query over the user's subtree, kept on this Actor: an Actor lives for one
        request, job or command, so the answer is as fresh as the request."""
        found = self._cache.get("reports")
        if found is None:
            found = self._cache["reports"] = frozenset(_reports_of(storage, self.id))
        return found

    def attribute_values(self, name: str) -> list | None:
        """The attribute as a list ("any of"), or None when the user does not have it."""
        value = self.attributes.get(name) if self.attributes else None
        if value is None:
            return None
        return list(value) if isinstance(value, list) else [value]


def _reports_of(storage, manager_id: int) -> set:
    """Everyone below `manager_id` in the manager tree, by one recursive query that
    reads only that subtree (indexed by manager_id); UNION stops at a cycle."""
    with storage.connect() as conn:
        return set(conn.execute(_reports_query(storage.schema), {"manager": manager_id}).scalars()) - {manager_id}


@functools.lru_cache(maxsize=1024)
def _reports_query(schema: str | None):
    """The statement of `_reports_of`, the manager a parameter: built once per tenant
    schema (building it costs more than running it), so each request only runs it."""
    users = loom_table(schema, "loom_users")
    tree = select(users.c.id).where(users.c.manager_id == bindparam("manager")).cte("reports", recursive=True)
    tree = tree.union(select(users.c.id).join(tree, users.c.manager_id == tree.c.id))
    return select(tree.c.id)


def _actor(row) -> Actor:
    return Actor(row["id"], row["email"], row["role"], row["locale"], row["manager_id"],
                 dict(row["attributes"] or {}), tuple(row.get("roles") or ()),
                 tuple(row.get("permission_sets") or ()))


def check_names(names, field: str) -> list:
    """A list of role or permission-set names: safe names, each once."""
    if not isinstance(names, (list, tuple)) or len(names) > MAX_ATTRIBUTES:
        raise ValidationFailed(f"{field} must be a list of at most {MAX_ATTRIBUTES} names",
                               details=[{"field": field, "message": "not a list of names"}])
    details = [{"field": f"{field}/{i}", "message": identifier_problem(n, "role") if isinstance(n, str) else "must be text"}
               for i, n in enumerate(names) if not isinstance(n, str) or identifier_problem(n, "role")]
    if details:
        raise ValidationFailed(f"invalid {field}", details=details)
    return list(dict.fromkeys(names))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _email(email) -> str:
    email = (email or "").strip().lower()
    if len(email) > MAX_EMAIL or not EMAIL_RE.fullmatch(email):
        raise ValidationFailed(f"{email!r} is not a valid e-mail address",
                               details=[{"field": "email", "code": "not_email", "message": "not an e-mail address"}])
    return email


MAX_EMAIL = 254  # an address's longest (RFC 5321's path, less its brackets)
MAX_NAME = 200


def display_name_of(name) -> str | None:
    """A person's display name as kept (trimmed; None for none); text of at most `MAX_NAME`
    characters without control characters (a line break would split a listing's line),
    NUL or unpaired surrogates."""
    if name is None:
        return None
    if isinstance(name, str) and len(name.strip()) > MAX_NAME:
        raise ValidationFailed(f"a name is text of at most {MAX_NAME} characters",
                               details=[{"field": "display_name", "code": "too_long", "max": MAX_NAME,
                                         "length": len(name.strip()),
                                         "message": f"at most {MAX_NAME} characters (got {len(name.strip())})"}])
    if not isinstance(name, str) or CONTROL.search(name):
        raise ValidationFailed("a name is text without control characters",
                               details=[{"field": "display_name", "code": "not_text",
                                         "message": "not text, or holding control characters"}])
    return name.strip() or None


def _locale(locale) -> str:
    if not is_language_tag(locale):
        raise ValidationFailed(f"invalid locale {str(locale)[:40]!r}: use a language tag such as en or zh-CN",
                               details=[{"field": "locale", "message": "not a language tag"}])
    return locale


def _role(role) -> str:
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}; use one of: {', '.join(ROLES)}",
                               details=[{"field": "role", "code": "not_role",
                                         "message": f"not one of {', '.join(ROLES)}"}])
    return role


def check_attributes(attributes) -> dict:
    """A private copy of valid attributes: identifier names, scalar or list-of-scalar values."""
    if not isinstance(attributes, dict):
        raise ValidationFailed("attributes must be an object of name: value")
    if len(attributes) > MAX_ATTRIBUTES:
        raise ValidationFailed(f"at most {MAX_ATTRIBUTES} attributes per user")
    details = []
    for name, value in attributes.items():
        problem = identifier_problem(name, "attribute") if isinstance(name, str) else "must be text"
        values = value if isinstance(value, list) else [value]
        if problem is None and not (values and len(values) <= MAX_VALUES and all(map(_scalar, values))):
            problem = (f"the value must be text, a number, true/false or a list of at most "
                       f"{MAX_VALUES} of those, got {str(value)[:60]!r}")
        if problem:
            details.append({"field": f"attributes.{name}", "message": problem})
    if details:
        raise ValidationFailed("invalid user attributes", details=details)
    return {name: list(value) if isinstance(value, list) else value for name, value in attributes.items()}


def _scalar(value) -> bool:
    if isinstance(value, str):
        return 0 < len(value) <= MAX_TEXT
    return isinstance(value, (bool, int, float)) and value == value  # no NaN


def _manager_id(conn, users, manager_email, user_id=None):
    """The id of the manager e-mail (None for none); refuses unknown users and loops."""
    if manager_email is None:
        return None
    email = (manager_email or "").strip().lower()
    manager_id = conn.execute(select(users.c.id).where(users.c.email == email)).scalar()
    if manager_id is None:
        raise NotFound(f"no user {email} in this tenant to be the manager", code="user_not_found",
                       details=[{"field": "manager", "message": "no such user"}])
    if user_id is not None:
        links = dict(conn.execute(select(users.c.id, users.c.manager_id)
                                  .where(users.c.manager_id.is_not(None))).all())
        seen, current = set(), manager_id
        while current is not None and current not in seen:
            if current == user_id:
                raise ValidationFailed(f"{email} cannot be the manager: the manager chain would loop",
                                       details=[{"field": "manager", "message": "makes a cycle"}],
                                       code="manager_cycle")
            seen.add(current)
            current = links.get(current)
    return manager_id


def create_user(storage, email: str, role: str = "member", display_name=None, locale="en",
                manager: str | None = None, attributes: dict | None = None, roles=(),
                permission_sets=()) -> Actor:
    """A new user; ``manager`` is an existing user's e-mail; ``roles`` and
    ``permission_sets`` name the tenant's roles and permission sets the user holds."""
    email, role, locale = _email(email), _role(role), _locale(locale)
    display_name = display_name_of(display_name)
    attributes = check_attributes(attributes or {})
    roles, permission_sets = check_names(roles, "roles"), check_names(permission_sets, "permission_sets")
    users = loom_table(storage.schema, "loom_users")
    with storage.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.email == email)).first():
            raise Conflict(f"user {email} already exists in this tenant", code="user_exists")
        manager_id = _manager_id(conn, users, manager)
        user_id = conn.execute(users.insert().returning(users.c.id).values(
            email=email, role=role, display_name=display_name, locale=locale, active=True,
            created_at=datetime.now(timezone.utc), manager_id=manager_id,
            attributes=attributes or None, roles=roles or None,
            permission_sets=permission_sets or None)).scalar_one()
    return Actor(user_id, email, role, locale, manager_id, attributes, tuple(roles), tuple(permission_sets))


def update_user(storage, email: str, role=UNSET, manager=UNSET, attributes=None, clear=(), roles=UNSET,
                permission_sets=UNSET) -> Actor:
    """Change a user: ``role``; ``manager`` (an e-mail, or None for no manager);
    ``attributes`` set (replacing those names' values); ``clear`` removes names;
    ``roles`` and ``permission_sets`` replace the lists the user holds."""
    with storage.begin() as conn:
        return update_user_in(conn, storage.schema, email, role, manager, attributes, clear, roles, permission_sets)


def update_user_in(conn, schema, email: str, role=UNSET, manager=UNSET, attributes=None, clear=(),
                   roles=UNSET, permission_sets=UNSET) -> Actor:
    """`update_user` inside the caller's write transaction `conn`."""
    email = (email or "").strip().lower()
    users = loom_table(schema, "loom_users")
    row = conn.execute(select(users).where(users.c.email == email)).mappings().first()
    if row is None:
        raise NotFound(f"no user {email} in this tenant", code="user_not_found")
    values = {}
    if role is not UNSET:
        values["role"] = _role(role)
        if values["role"] != "admin" and row["role"] == "admin" and row["active"] and active_admins(conn, users) <= 1:
            raise Conflict(f"{email} is the tenant's last active admin; make another admin first", code="last_admin")
    if manager is not UNSET:
        values["manager_id"] = _manager_id(conn, users, manager, row["id"])
    if roles is not UNSET:
        values["roles"] = check_names(roles, "roles") or None
    if permission_sets is not UNSET:
        values["permission_sets"] = check_names(permission_sets, "permission_sets") or None
    if attributes or clear:
        merged = {**(row["attributes"] or {}), **check_attributes(attributes or {})}
        unknown = [name for name in clear if name not in merged]
        if unknown:
            raise ValidationFailed(f"{email} has no attribute {unknown[0]!r} to clear",
                                   details=[{"field": f"attributes.{n}", "message": "not set"} for n in unknown])
        values["attributes"] = {k: v for k, v in merged.items() if k not in clear} or None
    if values:
        conn.execute(users.update().where(users.c.id == row["id"]).values(values))
    return _actor({**row, **values})


def active_admins(conn, users) -> int:
    """The active admins, their rows locked until the transaction ends (on SQLite the write
    transaction holds the database's write lock already): two admins demoting each other
    at once cannot both pass."""
    admins = select(users.c.id).where(users.c.role == "admin", users.c.active)
    if conn.dialect.name == "postgresql":
        admins = admins.with_for_update()
    return len(conn.execute(admins).all())


def actor_by_id(storage, user_id: int) -> Actor | None:
    """The active user `user_id` as an actor (a job runs as the user who started it)."""
    users = loom_table(storage.schema, "loom_users")
    with storage.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id, users.c.active.is_(True))).mappings().first()
    return _actor(row) if row is not None else None


def list_users(storage) -> list[Actor]:
    users = loom_table(storage.schema, "loom_users")
    with storage.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.email)).mappings().all()
    return [_actor(r) for r in rows]


def create_token(storage, email: str, label: str | None = None, *, lifetime: timedelta | None = None,
                 scopes=None) -> str:
    """A new token for the user, valid for `lifetime` (`DEFAULT_LIFETIME` when not given) with
    `scopes` (checked by `token_scopes.check_scopes`; read-write when not given). Only its
    digest is kept, so this is the one chance to see it.

    A token reads `loom_<tenant uid>.<secret>`: the tenant's never-reused uid lets a request
    on any tenant's URL tell a token of another tenant (404) from no valid token (401)."""
    users = loom_table(storage.schema, "loom_users")
    tokens = loom_table(storage.schema, "loom_tokens")
    email = (email or "").strip().lower()
    token = f"{TOKEN_PREFIX}{storage.uid}.{secrets.token_urlsafe(32)}"
    moment = datetime.now(timezone.utc)
    span = token_scopes.lifetime(token_scopes.DEFAULT_LIFETIME) if lifetime is None else lifetime
    with storage.begin() as conn:
        found = conn.execute(select(users.c.id, users.c.active).where(users.c.email == email)).first()
        if found is None:
            raise NotFound(f"no user {email} in tenant {storage.slug}", code="user_not_found")
        if not found.active:
            raise Conflict(f"{email} is deactivated in tenant {storage.slug}: reactivate the user first",
                           code="user_inactive")
        user_id = found.id
        conn.execute(tokens.insert().values(user_id=user_id, token_hash=_digest(token), label=label,
                                            created_at=moment, expires_at=moment + span,
                                            scopes=list(scopes or token_scopes.DEFAULT_SCOPES)))
    return token


def token_tenant(token) -> str | None:
    """The uid of the tenant a token names (tokens made before scopes name none), or None."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    uid, dot, _ = token[len(TOKEN_PREFIX):].partition(".")
    return uid if dot and TENANT_UID.fullmatch(uid) else None


@dataclass(frozen=True)
class Grant:
    """A valid token: its user, its scopes and when it expires (None: never)."""

    actor: Actor
    scopes: tuple
    expires_at: datetime | None = None


def authenticate(storage, token: str) -> Actor | None:
    """The active user a valid token belongs to in this tenant, or None."""
    grant = token_grant(storage, token)
    return None if grant is None else grant.actor


def token_grant(storage, token: str) -> Grant | None:
    """The user and scopes of a token valid in this tenant (not revoked, not expired, its
    user active), or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    users = loom_table(storage.schema, "loom_users")
    tokens = loom_table(storage.schema, "loom_tokens")
    stmt = (select(users.c.id, users.c.email, users.c.role, users.c.locale, users.c.manager_id,
                   users.c.attributes, users.c.roles, users.c.permission_sets,
                   tokens.c.id.label("token_id"), tokens.c.last_used_at, tokens.c.expires_at, tokens.c.scopes)
            .join(tokens, tokens.c.user_id == users.c.id)
            .where(tokens.c.token_hash == _digest(token), tokens.c.revoked_at.is_(None), users.c.active))
    with storage.connect() as conn:
        row = conn.execute(stmt).mappings().first()
    if row is None or _expired(row["expires_at"]):
        return None
    _note_use(storage, tokens, row["token_id"], row["last_used_at"])
    expires_at = row["expires_at"]
    if expires_at is not None and expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=timezone.utc)
    return Grant(_actor(row), tuple(row["scopes"] or token_scopes.DEFAULT_SCOPES), expires_at)


def _expired(expires_at) -> bool:
    if expires_at is None:
        return False
    moment = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=timezone.utc)
    return moment <= datetime.now(timezone.utc)


def _note_use(storage, tokens, token_id, last_used_at) -> None:
    """Record when a token was last used, to the minute: one write a minute per token, not
    one per request."""
    moment = datetime.now(timezone.utc)
    if last_used_at is not None:
        last = last_used_at if last_used_at.tzinfo else last_used_at.replace(tzinfo=timezone.utc)
        if moment - last < USE_GRAIN:
            return
    with storage.begin() as conn:
        conn.execute(tokens.update().where(tokens.c.id == token_id).values(last_used_at=moment))


def set_locale(storage, user_id: int, locale: str) -> None:
    """Remember the language the user reads the screens in (`en`, `zh-CN`)."""
    users = loom_table(storage.schema, "loom_users")
    with storage.begin() as conn:
        conn.execute(users.update().where(users.c.id == user_id).values(locale=locale))


def holding(users, role: str):
    """The SQL condition on `loom_users` of users who have `role`, built-in or held (a
    role name is a safe name, so its quoted form matches one element of the JSON list)."""
    return or_(users.c.role == role, cast(users.c.roles, String).contains(f'"{role}"'))
