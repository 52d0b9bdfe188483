"""check_ruleset: every problem of one rule set at once, each at the JSON Pointer of its spot.

The JSON Schema (ruleset.schema.json) checks the shape of the rules; this module turns
its errors into plain words and adds what a schema cannot know: the action registry,
events, correlation windows, schedules (``schedule_checks``) and durable-rules' limits
(nesting, expansion, one kind per field).  Every condition is checked by the one condition checker,
``metadata.conditions.check_condition``, as guards, sharing terms and list filters are:
the schema's errors inside a condition are left to it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from metadata.conditions import SYSTEM_FIELD_TYPES, check_condition
from metadata.jsoncopy import json_key

from .conditions import (
    NO_VALUE_OPS, OPS, OPS_BY_KIND, ORDERING, TYPE_KINDS, TooComplex, is_leaf, normalize, to_dnf, value_kind,
)
from .schedule_checks import schedule_problems
from .wording import problem as _problem, show as _show

SCHEMA_PATH = Path(__file__).with_name("ruleset.schema.json")
MAX_DEPTH = 8
MAX_VALUES = 100   # values of one in / not_in
MAX_FIELDS = 200   # durable-rules refuses facts with more than 255 properties
MAX_PATTERNS = 20  # each `matches` runs in Python for every event of its type


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator
    return Draft202012Validator(schema())


def _schema_found(doc) -> tuple[dict, ...]:
    """The schema's problems of the rule set `doc` (paths from the rule set itself), kept
    per rule set's JSON: a designer's edit changes one rule set of many, and the others
    are not checked against the schema again."""
    text = json_key(doc)  # in its own key order: the problems come in it
    return _schema_found_in(doc) if text is None else _schema_found_of(text)


@lru_cache(maxsize=1024)
def _schema_found_of(text: str) -> tuple[dict, ...]:
    return _schema_found_in(json.loads(text))


def _schema_found_in(doc) -> tuple[dict, ...]:
    return tuple(p for error in _validator().iter_errors(doc) for p in _schema_problems(error, ""))


# --- schema errors in plain words ------------------------------------------------------

_NOT_ALLOWED = {
    "actions": ("actions_not_allowed", "validation rules have no actions: they refuse the write with their message"),
    "message": ("message_not_allowed", "only validation rules have a message; automation rules have actions"),
    "correlate": ("correlate_not_allowed", "validation rules cannot correlate events"),
    "changed": ("changed_not_allowed", "'changed' applies to record.updated only (alone, or in a rule's list of events)"),
    "to": ("transition_not_allowed", "'to' applies to record.transitioned only (alone, or in a rule's list of events)"),
    "from": ("transition_not_allowed", "'from' applies to record.transitioned only (alone, or in a rule's list of events)"),
    "value": ("unexpected_value", "exists / not_exists take no value; remove it"),
    "schedule": ("schedule_not_allowed", "'schedule' applies to timer rules only"),
}
_NAME_RULE = "lower-case letters, digits and single underscores, starting with a letter, at most 48 characters"


def _schema_problems(error, prefix: str) -> list[dict]:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in error.absolute_path]
    path = prefix + "".join("/" + p for p in parts)
    last = parts[-1] if parts else ""
    kind, inst = error.validator, error.instance
    if kind == "required":
        name = error.message.split("'")[1]
        if name == "message":
            return [_problem(f"{path}/message", "missing_message",
                             "validation rules need a message: the refusal the user sees")]
        if name == "actions":
            return [_problem(f"{path}/actions", "missing_actions", "automation rules need at least one action")]
        if name == "schedule":
            return [_problem(f"{path}/schedule", "missing_schedule",
                             'timer rules need a schedule: {"field": "expiry_date", "offset": "-30d"} or '
                             '{"every": "year", "on": "01-01"}')]
        return [_problem(f"{path}/{name}", "missing", f"{name!r} is required")]
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return [_problem(f"{path}/{key}", "unknown_property",
                         f"unknown property {key!r}; expected one of: {', '.join(allowed)}")
                for key in inst if key not in allowed]
    if kind == "not":
        if error.validator_value == {"pattern": "__"}:
            return [_problem(path, "unsafe_name", f"{_show(inst)} contains '__'; {_NAME_RULE}")]
        keys = [k for k in _NOT_ALLOWED if isinstance(inst, dict) and k in inst]
        return [_problem(f"{path}/{k}", *_NOT_ALLOWED[k]) for k in keys
                if k in json.dumps(error.validator_value)] or [_problem(path, "invalid", error.message)]
    if kind == "enum":
        code = {"op": "unknown_op", "event": "unknown_event"}.get(
            "event" if len(parts) > 1 and parts[-2] == "event" else last, "invalid_value")
        return [_problem(path, code, f"{_show(inst)} is not allowed here; expected one of: "
                                     f"{', '.join(map(str, error.validator_value))}")]
    if kind == "pattern":
        if last == "name" or (len(parts) == 1 and last == "entity"):
            return [_problem(path, "unsafe_name", f"{_show(inst)} is not a safe name: {_NAME_RULE}")]
        if last == "within":
            return [_problem(path, "invalid_window", f"{_show(inst)} is not a window such as 90m, 12h or 30d")]
        if last == "offset":
            return [_problem(path, "invalid_offset", f"{_show(inst)} is not an offset in days such as -30d, 0d or 7d")]
        if last == "at":
            return [_problem(path, "invalid_time", f"{_show(inst)} is not a time of day as HH:MM (00:00-23:59)")]
        return [_problem(path, "invalid_value", f"{_show(inst)} is not a valid name here")]
    if kind == "type":
        return [_problem(path, "invalid_type", f"expected {error.validator_value}, got {_show(inst)}")]
    if kind == "maxProperties" and isinstance(inst, dict):
        return [_problem(path, "invalid_condition",
                         "all / any / not must stand alone; put the other conditions inside it")]
    if kind == "oneOf":
        what = "text or a language map such as {\"en\": \"...\"}" if last == "message" else \
            "a state name or a list of state names"
        return [_problem(path, "invalid_value", f"expected {what}, got {_show(inst)}")]
    return [_problem(path, "invalid_value", error.message)]


# --- what a schema cannot see ------------------------------------------------------------


def _leaves(node, path: str, depth: int = 0):
    """(path, leaf, depth) of every well-formed leaf; malformed parts are the schema's job."""
    if not isinstance(node, dict):
        return
    if is_leaf(node):
        yield path, node, depth
        return
    for key in ("all", "any"):
        if isinstance(node.get(key), list):
            for k, child in enumerate(node[key]):
                yield from _leaves(child, f"{path}/{key}/{k}", depth + 1)
    if "not" in node:
        yield from _leaves(node["not"], f"{path}/not", depth + 1)


def _conditions(doc, objects_only: bool = True):
    """(rule index, condition path, condition) of every rule with a condition (with
    ``objects_only=False`` also of a condition that is not an object)."""
    rules = doc.get("rules") if isinstance(doc, dict) else None
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        when = rule.get("when") if isinstance(rule, dict) else None
        if isinstance(when, dict) and "condition" in when and (isinstance(when["condition"], dict) or not objects_only):
            yield i, f"/rules/{i}/when/condition", when["condition"]


def _condition_problems(doc, typing, path_prefix: str) -> tuple[list[dict], tuple[str, ...]]:
    """(problems, condition pointers): every condition checked by the one condition checker."""
    problems, where = [], []
    for _, cpath, condition in _conditions(doc, objects_only=False):
        where.append(path_prefix + cpath)
        problems += [p.to_dict() for p in check_condition(condition, typing, path_prefix + cpath)]
    return problems, tuple(where)


def _inside(path: str, conditions: tuple[str, ...]) -> bool:
    return any(path == c or path.startswith(c + "/") for c in conditions)


def _typing(entity_fields):
    """(``{field: type}`` or None, what conditions are typed by) from the caller's entity:
    an Entity (options known), a ``{field: base type}`` mapping, or None."""
    if entity_fields is None or isinstance(entity_fields, Mapping):
        return entity_fields, entity_fields
    return {f.name: f.base_type or f.type for f in entity_fields.fields}, entity_fields


def _implied_kind(leaf: dict, ftype: str | None):
    """(kind, problem message) for one leaf; kind None when the leaf implies none."""
    op, value = leaf["op"], leaf.get("value")
    if ftype is not None:
        return TYPE_KINDS.get(ftype, "string"), None
    if op in NO_VALUE_OPS or op == "contains":
        return None, None
    if op == "matches":
        return "string", None
    values = value if isinstance(value, list) else [value]
    kinds = {value_kind(v) for v in values}
    if None in kinds or len(kinds) != 1:
        return None, f"{_show(value)} mixes kinds or holds a value rules cannot compare"
    return kinds.pop(), None


def analyze(doc, entity_fields: dict | None = None):
    """(kinds, problems): the kind each field is compared as, and what does not fit.

    Used by check_ruleset and by the compiler, so both agree on every field's kind.
    """
    kinds: dict[str, str] = {}
    where: dict[str, str] = {}
    problems: list[dict] = []
    fields = {**SYSTEM_FIELD_TYPES, **entity_fields} if entity_fields is not None else None
    for _, cpath, condition in _conditions(doc):
        for path, leaf, depth in _leaves(condition, cpath):
            if depth > MAX_DEPTH:
                problems.append(_problem(path, "too_deep", f"conditions may nest at most {MAX_DEPTH} levels"))
                continue
            name, op = leaf.get("field"), leaf.get("op")
            if not isinstance(name, str) or op not in OPS:
                continue
            if fields is not None and name not in fields:
                continue  # check_condition reports it
            ftype = fields.get(name) if fields is not None else None
            kind, why = _implied_kind(leaf, ftype)
            if why:
                problems.append(_problem(f"{path}/value", "type_mismatch", why))
                continue
            problems += _leaf_problems(leaf, kind, ftype, path)
            if kind is None or ftype is not None:
                kinds.setdefault(name, kind or "any")
                continue
            if kinds.get(name, "any") not in ("any", kind):
                problems.append(_problem(f"{path}/value", "type_conflict",
                                         f"{name!r} is compared as a {kinds[name]} at {where[name]} "
                                         f"and as a {kind} here; compare one field as one kind"))
                continue
            kinds[name], where[name] = kind, path
    if fields is not None:
        kinds.update({name: TYPE_KINDS.get(fields[name], "string") for name in kinds if name in fields})
    return kinds, problems


def _leaf_problems(leaf: dict, kind: str | None, ftype: str | None, path: str) -> list[dict]:
    """What durable-rules cannot compare in a leaf check_condition may accept: an operator
    its field's kind lacks, more than MAX_VALUES values, a value that does not fit the kind."""
    op, value = leaf["op"], leaf.get("value")
    typed = f"the {ftype} field {leaf['field']!r}" if ftype else f"{leaf['field']!r}"
    if kind in OPS_BY_KIND and op not in OPS_BY_KIND[kind]:
        usable = ", ".join(o for o in OPS if o in OPS_BY_KIND[kind])
        return [_problem(f"{path}/op", "op_not_allowed", f"{op!r} does not apply to {typed} ({kind}); use one of: {usable}")]
    if op in ORDERING and kind not in ("number", "moment"):
        return [_problem(f"{path}/op", "op_not_allowed", f"{op!r} compares numbers and dates, not {_show(value)}")]
    if op in ("in", "not_in") and isinstance(value, list) and len(value) > MAX_VALUES:
        return [_problem(f"{path}/value", "invalid_value", f"{op!r} takes at most {MAX_VALUES} values in a rule")]
    if op in NO_VALUE_OPS or op in ("matches", "contains") or kind is None:
        return []
    values = value if isinstance(value, list) else [value]
    suffix = (lambda k: f"/value/{k}") if isinstance(value, list) else (lambda k: "/value")
    out = []
    for k, item in enumerate(values):
        if item != "" and isinstance(item, (str, int, float, bool)) and normalize(kind, item) is None:
            out.append(_problem(path + suffix(k), "type_mismatch", f"{_show(item)} does not fit {typed} ({kind})"))
    return out


class _Names:
    """Stand-in for the compiler's property names, to measure a condition's expansion."""

    def field(self, name):
        return "f"

    def flag(self, kind, leaf):
        return "k"


def _rule_problems(doc, fields, known_actions) -> list[dict]:
    problems, seen = [], {}
    rules = doc.get("rules") if isinstance(doc.get("rules"), list) else []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        name = rule.get("name")
        if isinstance(name, str):
            if name in seen:
                problems.append(_problem(f"/rules/{i}/name", "duplicate_name",
                                         f"{name!r} is also the name of rule {seen[name]}"))
            seen.setdefault(name, i)
        when = rule.get("when") if isinstance(rule.get("when"), dict) else {}
        changed = when.get("changed") if isinstance(when.get("changed"), list) else []
        for k, field in enumerate(changed):
            if fields is not None and isinstance(field, str) and field not in fields:
                problems.append(_problem(f"/rules/{i}/when/changed/{k}", "unknown_field", f"unknown field {field!r}"))
        correlate = rule.get("correlate")
        if fields is not None and isinstance(correlate, dict) and isinstance(correlate.get("by"), str) \
                and correlate["by"] not in fields:
            problems.append(_problem(f"/rules/{i}/correlate/by", "unknown_field", f"unknown field {correlate['by']!r}"))
        if isinstance(when.get("schedule"), dict):
            problems += schedule_problems(when["schedule"], f"/rules/{i}/when/schedule", fields)
        actions = rule.get("actions") if isinstance(rule.get("actions"), list) else []
        for j, action in enumerate(actions):
            act = action.get("action") if isinstance(action, dict) else None
            if known_actions is not None and isinstance(act, str) and act not in known_actions:
                problems.append(_problem(f"/rules/{i}/actions/{j}/action", "unknown_action",
                                         f"unknown action {act!r}; known: {', '.join(sorted(known_actions)) or 'none'}"))
    return problems


def check_ruleset(doc, entity_fields=None, known_actions: set[str] | None = None,
                  path_prefix: str = "") -> list[dict]:
    """Every problem of the rule set ``doc`` as ``{"field": pointer, "code", "message"}``; [] if valid.

    ``entity_fields`` is the rules' entity: an Entity (choice values are checked against
    its options), or a mapping of its field names to their base types; unknown fields and
    type mismatches are reported only when it is given.  ``known_actions`` names the
    action registry; ``path_prefix`` is the rule set's own pointer, e.g. "/rulesets/0".
    """
    entity_fields, typing = _typing(entity_fields)
    condition_problems, condition_paths = _condition_problems(doc, typing, path_prefix)
    problems, seen = [], set()
    for found in _schema_found(doc):
        p = dict(found, field=path_prefix + found["field"])
        if (p["field"], p["code"]) not in seen and not _inside(p["field"], condition_paths):
            seen.add((p["field"], p["code"]))
            problems.append(p)
    problems += condition_problems
    if not isinstance(doc, dict):
        return problems
    fields = {**SYSTEM_FIELD_TYPES, **entity_fields} if entity_fields is not None else None
    _, found = analyze(doc, entity_fields)
    found += _rule_problems(doc, fields, known_actions)
    for _, cpath, condition in _conditions(doc):
        try:
            if all(depth <= MAX_DEPTH for _, _, depth in _leaves(condition, cpath)):
                to_dnf(condition, _Names())
        except TooComplex as exc:
            found.append(_problem(cpath, "too_complex", f"{exc}; split the rule or simplify its any / not"))
        except (KeyError, TypeError, AttributeError, IndexError):
            pass  # malformed: reported by the schema or check_condition
    used = {leaf.get("field") for _, c, cond in _conditions(doc) for _, leaf, _ in _leaves(cond, c)}
    if len(used) > MAX_FIELDS:
        found.append(_problem("/rules", "too_complex", f"the rules test {len(used)} fields; at most {MAX_FIELDS}"))
    patterns = sum(1 for _, c, cond in _conditions(doc) for _, leaf, _ in _leaves(cond, c) if leaf.get("op") == "matches")
    if patterns > MAX_PATTERNS:
        found.append(_problem("/rules", "too_complex", f"the rules use {patterns} 'matches'; at most {MAX_PATTERNS}"))
    reported = {p["field"] for p in problems}
    return problems + [dict(p, field=path_prefix + p["field"]) for p in found
                       if path_prefix + p["field"] not in reported]
