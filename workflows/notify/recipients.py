"""Who a notification goes to: recipient specs resolved against a record and the
tenant's users.

Specs: `field:<email field>` (the record's e-mail; locale from its `locale` field),
`role:<role>` (every active user with that role, built-in or one of the tenant's they hold), `user:<e-mail>` (that user), `owner`
(the user in the record's `owner_id`) and `user_field:<field>` (the user whose id an
integer field holds). "Nobody to notify" is an ordinary outcome, so people who cannot be
found are skipped with a reason instead of failing the action."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from engine.auth import holding
from engine.fieldtypes import EMAIL_RE
from engine.systables import loom_table
from engine.whole import whole_number

FIELD_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
ROLE_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")
KINDS = ("field", "role", "user", "owner", "user_field")
NAME_FIELDS = ("full_name", "name", "display_name")


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str | None
    locale: str
    user_id: int | None = None


def parse_spec(spec) -> tuple[str, str | None]:
    """(kind, argument) of one spec; ValueError with a readable message if malformed."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"a recipient must be text like 'field:email', not {spec!r:.40}")
    if spec == "owner":
        return "owner", None
    kind, sep, arg = spec.partition(":")
    if not sep or kind not in KINDS or kind == "owner":
        raise ValueError(f"unknown recipient {spec[:60]!r}; use field:<field>, role:<role>, "
                         "user:<e-mail>, owner or user_field:<field>")
    if kind in ("field", "user_field") and not FIELD_RE.fullmatch(arg):
        raise ValueError(f"{spec[:60]!r}: {arg[:50]!r} is not a field name")
    if kind == "role" and not ROLE_RE.fullmatch(arg):
        raise ValueError(f"{spec[:60]!r}: {arg[:30]!r} is not a role name")
    if kind == "user" and not EMAIL_RE.fullmatch(arg.strip()):
        raise ValueError(f"{spec[:60]!r}: {arg[:60]!r} is not an e-mail address")
    return kind, arg


def resolve(storage, specs, record: dict) -> tuple[list[Recipient], list[str]]:
    """(recipients, reasons for everyone skipped); each person once, in spec order."""
    specs = [specs] if isinstance(specs, str) else list(specs or [])
    found, skipped, seen = [], [], set()
    with storage.connect() as conn:
        for spec in specs:
            try:
                kind, arg = parse_spec(spec)
            except ValueError as exc:
                skipped.append(str(exc))
                continue
            people, reason = _RESOLVERS[kind](conn, storage.schema, arg, record or {})
            if reason:
                skipped.append(f"{spec}: {reason}")
            for person in people:
                key = ("user", person.user_id) if person.user_id else ("email", person.email.lower())
                if key not in seen:
                    seen.add(key)
                    found.append(person)
    return found, skipped


def _from_field(conn, schema, field, record):
    if field not in record:
        return [], f"the record has no field {field!r}"
    value = record.get(field)
    if not value:
        return [], f"the record's {field!r} is empty"
    if not isinstance(value, str) or not EMAIL_RE.fullmatch(value.strip()):
        return [], f"the record's {field!r} is not an e-mail address"
    locale = record.get("locale")
    if not isinstance(locale, str) or not LOCALE_RE.fullmatch(locale):
        locale = "en"
    name = next((record[f] for f in NAME_FIELDS if isinstance(record.get(f), str) and record[f]), None)
    return [Recipient(value.strip(), name, locale, None)], None


def _users(conn, schema, where):
    users = loom_table(schema, "loom_users")
    rows = conn.execute(select(users.c.id, users.c.email, users.c.display_name, users.c.locale)
                        .where(users.c.active, where(users.c)).order_by(users.c.email)).all()
    return [Recipient(r.email, r.display_name or r.email, r.locale or "en", r.id) for r in rows]


def _by_role(conn, schema, role, record):
    people = _users(conn, schema, lambda c: holding(loom_table(schema, "loom_users"), role))
    return people, None if people else f"no active user has the role {role!r}"


def _by_email(conn, schema, email, record):
    email = email.strip().lower()
    people = _users(conn, schema, lambda c: c.email == email)
    return people, None if people else f"no active user {email}"


def _by_id(conn, schema, value, what):
    if isinstance(value, bool) or not isinstance(value, int):
        number = whole_number(value, lowest=1) if isinstance(value, str) else None
        if number is not None:
            value = number
        else:
            return [], f"{what} does not hold a user id"
    people = _users(conn, schema, lambda c: c.id == value)
    return people, None if people else f"no active user with id {value} ({what})"


def _owner(conn, schema, arg, record):
    if record.get("owner_id") is None:
        return [], "the record has no owner"
    return _by_id(conn, schema, record["owner_id"], "owner_id")


def _user_field(conn, schema, field, record):
    if field not in record:
        return [], f"the record has no field {field!r}"
    if record.get(field) is None:
        return [], f"the record's {field!r} is empty"
    return _by_id(conn, schema, record[field], repr(field))


_RESOLVERS = {"field": _from_field, "role": _by_role, "user": _by_email,
              "owner": _owner, "user_field": _user_field}
