"""An action's parameters as a form: what each action of the registry declares it takes
(its `ActionSpec.params`: name, kind of input, choices, label), the inputs drawn from a
draft's entity, templates and people, the params read back from a submitted form, and
each problem of the action's own `check` placed beside the parameter it names. An action
that declares none gets one JSON input for its params; its `check` still judges them."""
from __future__ import annotations

import json
import math

from flask_babel import gettext as _

from admin_ui.designer.edits import dicts
from admin_ui.i18n import shown
from engine.whole import INT64, whole_number
from engine.actions import ActionParam
from engine.auth import ROLES
from engine.jsontext import strict_loads
from engine.roster import People
from metadata.model import DECIMAL_TYPES, base_type_of

MAX_PEOPLE = 200


JSON_PARAMS = (ActionParam("params", "json"),)


def params_of(spec) -> tuple[ActionParam, ...]:
    """The parameters an action (`spec`, an ActionSpec, or None for one the registry
    lacks) declares, or one JSON input for them all when it declares none."""
    return tuple(spec.params) if spec is not None and spec.params else JSON_PARAMS


def action_title(action: str) -> str:
    """A built-in action in words (a plugin's action by its name)."""
    return {"set_field": _("Set a field"), "notify": _("Send a notification"), "create_record": _("Create a record"),
            "number": _("Give the next number"), "assign": _("Assign to someone"),
            "create_plan": _("Create a service plan"), "webhook": _("Call a web address"),
            "transition": _("Take a workflow transition")}.get(action, action)


def param_label(param: ActionParam) -> str:
    """A parameter's label: its own (a pack's action), else the built-in words by its name."""
    if param.label:
        return shown(param.label, param.name)
    name = param.name
    return {"field": _("Field"), "value": _("Value"), "template": _("Message template"), "to": _("Send to"),
            "channel": _("Channel"), "entity": _("Entity"), "values": _("Values (one field = value per line)"),
            "prefix": _("Prefix"), "width": _("Digits"), "strategy": _("How to choose"), "role": _("Role"),
            "users": _("Users (one e-mail per line)"), "territory_field": _("Territory field"),
            "segment_field": _("Segment field"), "reassign": _("Reassign when already assigned"),
            "url": _("Web address"), "method": _("Method"), "headers": _("Headers (one name: value per line)"),
            "timeout": _("Timeout in seconds"), "name": _("Transition name"), "comment": _("Comment"),
            "params": _("Parameters (JSON)")}.get(name, name)


def choice_label(value: str) -> str:
    return {"email": _("E-mail"), "in_app": _("In the app"), "both": _("E-mail and in the app"),
            "": _("(any)")}.get(value, value)


# -- reading a submitted form --------------------------------------------------------------

def params_from_form(spec, form, prefix: str, field_types: dict, path: str) -> tuple[dict, list[dict]]:
    """(params, problems of inputs that could not be read — a number that is not one, JSON
    that does not parse — each at `path/<param>`, the input named `prefix-<param>`).
    Empty inputs are left out."""
    params, problems = {}, []
    for param in params_of(spec):
        key = f"{prefix}-{param.name}"
        try:
            value = _read(param, form, key, field_types, form.get(f"{prefix}-field"))
        except ValueError as exc:
            problems.append({"field": f"{path}/{param.name}", "code": "invalid_input", "message": str(exc)})
            continue
        if param.kind == "json":
            return (value if value is not None else {}), problems
        if value is not None:
            params[param.name] = value
    return params, problems


def _read(param: ActionParam, form, key: str, field_types: dict, field: str | None):
    if param.kind == "bool":
        return True if form.get(key) == "on" else None
    if param.kind == "recipients":
        chosen = [v for v in form.getlist(key) if v]
        return (chosen[0] if len(chosen) == 1 else chosen) or None
    text = (form.get(key) or "").strip()
    if not text:
        return None
    if param.kind == "integer":
        return _number(text, int)
    if param.kind == "number":
        return _number(text, float)
    if param.kind == "value":
        return typed_value(text, field_types.get(field or ""))
    if param.kind == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if param.kind == "pairs":
        return _pairs(text, field_types)
    if param.kind == "json":
        try:
            return strict_loads(text)
        except ValueError:
            raise ValueError("this is not JSON") from None
    return text


def _number(text: str, kind):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{text[:30]!r} is not a number")
    return int(value) if kind is int and value.is_integer() and abs(value) <= INT64 else value


def typed_value(text: str, base_type: str | None):
    """A typed-in value as the field's type stores it (a number for numbers, true/false for
    yes/no fields, a list for multiple choices); as text when it does not read so — the
    action's check then says what is wrong."""
    if base_type == "integer":
        number = whole_number(text)
        return text if number is None else number
    if base_type in DECIMAL_TYPES:  # kept as text: exact, as the engine reads decimals
        return text.strip()
    if base_type == "boolean" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if base_type == "multi_choice":
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _pairs(text: str, field_types: dict) -> dict:
    out = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep:
            name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"write one name = value per line, not {line.strip()[:40]!r}")
        out[name.strip()] = typed_value(value.strip(), field_types.get(name.strip()))
    return out


# -- drawing the inputs --------------------------------------------------------------------

def field_types_of(entity: dict | None, extra_types=None) -> dict:
    """{field name: base type} of an entity of the draft document."""
    return {f.get("name"): base_type_of(str(f.get("type")), extra_types) for f in dicts(entity or {}, "fields")}


def shown_value(param: ActionParam, params: dict) -> str | list:
    """The input's current text (recipients: the chosen specs) from the saved params."""
    if param.kind == "json":
        return json.dumps(params, ensure_ascii=False, indent=1) if params else ""
    value = params.get(param.name) if isinstance(params, dict) else None
    if param.kind == "recipients":
        return [value] if isinstance(value, str) else [v for v in value or [] if isinstance(v, str)]
    if value is None:
        return ""
    if param.kind == "pairs" and isinstance(value, dict):
        return "\n".join(f"{k} = {_text(v)}" for k, v in value.items())
    if param.kind == "lines" and isinstance(value, list):
        return "\n".join(map(str, value))
    return _text(value)


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, (dict,)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def recipients(session, entity: dict | None, document: dict | None = None) -> list[tuple[str, str, str]]:
    """`(spec, kind, who)` a notification can go to: the record's owner, each e-mail and
    user field of the entity, each built-in role and each of the draft `document`'s roles
    (by label), and each active user (by name)."""
    found = [("owner", "owner", "")]
    for field in dicts(entity or {}, "fields"):
        if field.get("type") == "email":
            found.append((f"field:{field['name']}", "field", field["name"]))
        elif field.get("type") == "integer" and str(field.get("name", "")).endswith("_id"):
            found.append((f"user_field:{field['name']}", "user_field", field["name"]))
    found += [(f"role:{role}", "role", role) for role in ROLES]
    found += [(f"role:{role['name']}", "role", shown(role.get("label"), role["name"]))
              for role in dicts(document or {}, "roles") if isinstance(role.get("name"), str)]
    people = sorted(People(session.storage).active(), key=lambda p: (p.name, p.email))[:MAX_PEOPLE]
    found += [(f"user:{person.email}", "user", person.name) for person in people]
    return found


def problems_by_param(spec, action: str, problems: list[dict], params_path: str, params) -> tuple[dict, list[dict]]:
    """({param: [problem]}, the rest): a problem sits at its parameter's own path, or the
    action's check names the parameter after the action's name (`notify: template is
    required`, `set_field: field must be …`), or quotes the parameter's value."""
    declared = params_of(spec)
    names = [p.name for p in declared]
    by_param, rest = {}, []
    for problem in problems:
        at = str(problem.get("field", ""))
        named = at.removeprefix(params_path + "/").split("/")[0] if at.startswith(params_path + "/") else None
        if declared == JSON_PARAMS:
            named = "params"  # one input holds them all
        elif named not in names:
            named = _named(problem.get("message", ""), action, names) or _quoting(problem.get("message", ""), params)
        if named:
            by_param.setdefault(named, []).append(problem)
        else:
            rest.append(problem)
    return by_param, rest


def _named(message: str, action: str, names: list[str]) -> str | None:
    words = message.removeprefix(f"{action}: ")
    first = words.split(" ", 1)[0].strip("'\":,")
    if first in names:
        return first
    return "to" if "to" in names and "recipient" in words else None


def _quoting(message: str, params) -> str | None:
    """The parameter whose text value (or one of whose listed values) the message quotes."""
    for name, value in (params.items() if isinstance(params, dict) else ()):
        for one in ([value] if isinstance(value, str) else value if isinstance(value, list) else []):
            if isinstance(one, str) and one and repr(one[:60]) in message:
                return name
    return None
