"""Loading a pack's demo data: users first with their managers (so a manager's records
may name what their reports own), then records through the record service (so
validation, sharing, hooks, rules and the audit trail all apply), then the users'
attributes (which may name demo records), then workflow transitions.

`"@entity:key"` names a demo record created earlier; `{"$date": "+30d"}` and
`{"$datetime": "-2h"}` are relative to the moment of loading."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from engine import auth
from engine.errors import Conflict, LoomError, ValidationFailed
from engine.systables import loom_table

REFERENCE = re.compile(r"^@([a-z][a-z0-9_]*):([A-Za-z0-9_.-]+)$")
OFFSET = re.compile(r"^([+-]?)(\d+)([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass
class DemoContext:
    """What a pack's Python demo loader gets."""

    session: object
    ids: dict = field(default_factory=dict)     # "entity:key" -> record id
    users: dict = field(default_factory=dict)   # user key -> Actor

    def session_as(self, user_key):
        return self.session.install.session(self.session.tenant.slug, self.users[user_key])

    def id(self, entity, key) -> int:
        return self.ids[f"{entity}:{key}"]


def load_demo(session, pack) -> dict:
    """Load `pack`'s demo data into the tenant once; returns what was created."""
    settings = loom_table(session.storage.schema, "loom_settings")
    marker = f"demo:{pack.name}"
    with session.storage.connect() as conn:
        if conn.execute(select(settings.c.key).where(settings.c.key == marker)).first():
            raise Conflict(f"the demo data of {pack.name} is already loaded for {session.tenant.slug}",
                           code="demo_loaded")
    demo = pack.demo or {}
    context = DemoContext(session)
    now = datetime.now(timezone.utc)
    try:
        for spec in demo.get("users", ()):
            context.users[spec["key"]] = auth.create_user(
                session.storage, spec["email"], spec.get("role", "member"), spec.get("display_name"),
                spec.get("locale", "en"), roles=tuple(spec.get("roles", ())))
        _managers(session, demo.get("users", ()), context)
        _reload_users(session, context)
        for n, spec in enumerate(demo.get("records", ())):
            actor_session = context.session_as(spec["owner"]) if spec.get("owner") else session
            values = resolve(spec.get("values", {}), context, now)
            try:
                record = actor_session.records.create(spec["entity"], values)
            except LoomError as exc:
                raise ValidationFailed(f"demo record {n} ({spec['entity']} {spec.get('key', '')}) of "
                                       f"{pack.name} was refused: {exc.message}", details=exc.details,
                                       code="demo_invalid") from None
            if spec.get("key"):
                context.ids[f"{spec['entity']}:{spec['key']}"] = record["id"]
        _user_links(session, demo.get("users", ()), context, now)
        _reload_users(session, context)
        for spec in demo.get("transitions", ()):
            _transition(session, spec, context, now)
        if pack.demo_loader is not None:
            pack.demo_loader(context)
    except KeyError as exc:
        raise ValidationFailed(f"the demo data of {pack.name} names {exc.args[0]!r}, which it does not define",
                               code="demo_invalid") from None
    with session.storage.begin() as conn:
        conn.execute(settings.insert().values(key=marker, value={"loaded_at": now.isoformat()}))
    counts: dict = {}
    for key in context.ids:
        entity = key.split(":", 1)[0]
        counts[entity] = counts.get(entity, 0) + 1
    return {"users": len(context.users), "records": counts}


def _managers(session, specs, context) -> None:
    for spec in specs:
        if spec.get("manager"):
            auth.update_user(session.storage, spec["email"], manager=context.users[spec["manager"]].email)


def _user_links(session, specs, context, now) -> None:
    """Attributes, once the records they name exist."""
    for spec in specs:
        if spec.get("attributes"):
            auth.update_user(session.storage, spec["email"],
                             attributes=resolve(spec["attributes"], context, now))


def _reload_users(session, context) -> None:
    """The demo users as they now are (manager and attributes set), for acting as them."""
    current = {actor.email: actor for actor in auth.list_users(session.storage)}
    for key, actor in list(context.users.items()):
        context.users[key] = current.get(actor.email, actor)


def _transition(session, spec, context, now) -> None:
    from engine.packs.transitions import take  # the workflow runtime is reached through a hook

    actor_session = context.session_as(spec["as"]) if spec.get("as") else session
    record_id = resolve(spec["record"], context, now)
    take(actor_session, spec["entity"], record_id, spec["transition"], spec.get("comment"))


def resolve(value, context, now):
    """Demo values with references and relative dates filled in."""
    if isinstance(value, str):
        match = REFERENCE.match(value)
        if match:
            return context.ids[f"{match.group(1)}:{match.group(2)}"]
        return value
    if isinstance(value, list):
        return [resolve(v, context, now) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$date"}:
            return (now + _offset(value["$date"])).date().isoformat()
        if set(value) == {"$datetime"}:
            return (now + _offset(value["$datetime"])).isoformat().replace("+00:00", "Z")
        return {k: resolve(v, context, now) for k, v in value.items()}
    return value


def _offset(text) -> timedelta:
    match = OFFSET.match(str(text))
    if not match:
        raise ValidationFailed(f"{text!r} is not a demo offset like +30d, -2h or 3w", code="demo_invalid")
    sign, amount, unit = match.groups()
    delta = timedelta(**{UNITS[unit]: int(amount)})
    return -delta if sign == "-" else delta


