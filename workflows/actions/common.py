"""What the built-in actions share: parameter checks, value expressions, and engine
errors turned into `ActionFailed` with the action's name in front."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timezone

from engine.plugin_api import ActionFailed, LoomError
from metadata.workflow import DURATION

NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
EXPRESSIONS = '{"$record": "field"} or {"$now": true}'


def params_problems(action: str, params, required=(), optional=()) -> tuple[list[str], dict]:
    """Problems with the shape of `params` (a dict with the required keys and no others)
    and the params to check further ({} when they are not a dict)."""
    if not isinstance(params, dict):
        keys = ", ".join(required) or "none"
        return [f"{action}: params must be an object (required keys: {keys})"], {}
    problems = [f"{action}: unknown parameter {k!r}"
                for k in sorted(set(params) - set(required) - set(optional), key=str)]
    problems += [f"{action}: {k} is required" for k in required if k not in params]
    return problems, params


def name_problem(action: str, key: str, value, required=True) -> list[str]:
    """An entity or field name: lower-case letters, digits and _, starting with a letter."""
    if value is None and not required:
        return []
    if not isinstance(value, str) or not NAME.fullmatch(value):
        return [f"{action}: {key} must be an entity or field name (like 'assignee_id'), "
                f"not {str(value)[:40]!r}"]
    return []


def duration_problem(action: str, key: str, value) -> list[str]:
    if not isinstance(value, str) or not DURATION.fullmatch(value):
        return [f"{action}: {key} must be a duration like '30m', '4h' or '2d', not {str(value)[:20]!r}"]
    return []


def value_problem(action: str, key: str, value) -> list[str]:
    """A value is JSON; an object with a `$` key is an expression and must be one we know."""
    if isinstance(value, dict) and any(isinstance(k, str) and k.startswith("$") for k in value):
        if set(value) == {"$record"}:
            return name_problem(action, f"{key} $record", value["$record"])
        if is_now(value):
            return []
        return [f"{action}: {key} is not a value expression; use {EXPRESSIONS} or a plain value"]
    return []


def is_now(value) -> bool:
    return isinstance(value, dict) and set(value) == {"$now"} and value["$now"] is True


def copies_record(value) -> bool:
    """Whether a param value is `{"$record": name}`: the only one `resolve` reads the record for."""
    return isinstance(value, dict) and set(value) == {"$record"}


def resolve(value, record: dict, base_type: str | None = None):
    """A param value with its expression worked out against the triggering record."""
    if copies_record(value):
        name = value["$record"]
        if name not in record:
            raise ActionFailed(f"the triggering record has no field {name!r} to copy")
        return record[name]
    if is_now(value):
        now = datetime.now(timezone.utc)
        return now.date().isoformat() if base_type == "date" else now.isoformat()
    return value


def field_of(metadata, action: str, entity_name: str, field_name: str, types=None):
    """The metadata Field `entity_name.field_name` (of one of `types` when given);
    `metadata` is what has `entity(name)`: a plugin session's metadata or a package."""
    entity = metadata.entity(entity_name)
    if entity is None:
        raise ActionFailed(f"{action}: there is no entity {entity_name!r}")
    field = entity.field(field_name)
    if field is None:
        raise ActionFailed(f"{action}: {entity_name} has no field {field_name!r}")
    base = field.base_type or field.type
    if types and base not in types:
        raise ActionFailed(f"{action}: {entity_name}.{field_name} is a {base} field; "
                           f"it must be {' or '.join(types)}")
    return field


def base_type(field) -> str:
    return field.base_type or field.type


@contextmanager
def engine_errors(action: str):
    """A refused write (validation, conflict, missing record) as an ActionFailed."""
    try:
        yield
    except LoomError as exc:
        raise ActionFailed(f"{action}: {exc}") from None


def record_id(context, action: str) -> int:
    """The triggering record's id: known without reading the record when the context
    tells it (`RecordOnUse.known_record_id`), else the id of `context.record`."""
    value = getattr(context, "known_record_id", None)
    if value is None:
        value = (context.record or {}).get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise ActionFailed(f"{action}: the triggering {context.entity} record has no id")
    return value


def sub_key(effect_key: str, suffix) -> str | None:
    """An effect key for one of several writes of an action (None without a key)."""
    return f"{effect_key}/{suffix}" if effect_key else None
