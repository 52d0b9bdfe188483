"""Semantic checks of workflows and rule sets that JSON Schema cannot express.

Like ``semantic.py``, every check inspects only values of the right JSON type and
skips the rest (the schema layer reports those), so it never raises on any JSON.
Entities are read leniently: a field with a name and a known type counts even
when its other properties have problems (those are reported by the entity checks).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from functools import lru_cache
from typing import Mapping

from .conditions import check_condition
from .errors import Problem, pointer
from .fieldtypes import COMMON_PROPERTIES, TYPE_PROPERTIES, show, value_problem
from .identifiers import identifier_problem
from .jsoncopy import json_key
from .model import SYSTEM_COLUMNS, Entity, Field
from .semantic import _a, _sanitised_field
from .workflow import ANY_STATE, duration_minutes

DEFAULT_ROLES = ("admin", "member")
SET_FIELD = "set_field"  # the built-in action whose params this module checks


@dataclasses.dataclass(frozen=True)
class _Scope:
    """What one workflow's checks need to know."""

    entity: Entity | None
    state_field: str | None
    known_actions: tuple | None
    known_roles: tuple


def names_option(value, what: str) -> tuple | None:
    """Normalise a ``known_actions`` / ``known_roles`` argument (a programming error raises)."""
    if value is None:
        return None
    names = tuple(value) if not isinstance(value, (str, bytes)) and hasattr(value, "__iter__") else None
    if names is None or not all(isinstance(v, str) for v in names):
        raise ValueError(f"{what} must be a collection of names, got {value!r}")
    return names


def workflow_problems(document, types: Mapping[str, str], known_actions=None, known_roles=None) -> list[Problem]:
    """All semantic problems of the workflows and rule sets of a (possibly malformed) package."""
    if not isinstance(document, dict):
        return []
    problems = _named_list(document.get("rulesets"), "ruleset", "rulesets")
    problems += _named_list(document.get("templates"), "template", "templates")
    workflows = document.get("workflows")
    if not isinstance(workflows, list):
        return problems
    actions = names_option(known_actions, "known_actions")
    roles = (names_option(known_roles, "known_roles") or DEFAULT_ROLES) + tuple(
        role["name"] for role in (document.get("roles") if isinstance(document.get("roles"), list) else ())
        if isinstance(role, dict) and isinstance(role.get("name"), str))  # and the tenant's own roles
    entity_docs = document.get("entities")
    entities = typed_entities(entity_docs if isinstance(entity_docs, list) else [], types)
    names: dict = {}
    bound: dict = {}
    for i, workflow in enumerate(workflows):
        if not isinstance(workflow, dict):
            continue
        path = pointer("workflows", i)
        problems += _unique_name(workflow.get("name"), "workflow", path, names)
        entity_name, entity = workflow.get("entity"), None
        if isinstance(entity_name, str):
            entity = entities.get(entity_name)
            if entity is None:
                known = ", ".join(entities) or "none"
                problems.append(Problem(f"{path}/entity", "unknown_entity",
                                        f"{show(entity_name)} is not an entity in this package; entities: {known}"))
            elif entity_name in bound:
                problems.append(Problem(f"{path}/entity", "duplicate_workflow",
                                        f"entity {show(entity_name)} already has a workflow ({bound[entity_name]}); "
                                        f"an entity has at most one workflow"))
            else:
                bound[entity_name] = path
        field = workflow.get("field")
        scope = _Scope(entity, field if isinstance(field, str) else None, actions, roles)
        problems += _workflow(workflow, path, scope)
    return problems


def _unique_name(name, kind: str, path: str, seen: dict) -> list[Problem]:
    """Safe-identifier and uniqueness problems of ``path``/name; ``seen`` maps name -> first path."""
    if not isinstance(name, str):
        return []
    problems = []
    message = identifier_problem(name, kind)
    if message:
        problems.append(Problem(f"{path}/name", "unsafe_identifier", message))
    if name in seen:
        problems.append(Problem(f"{path}/name", "duplicate_name",
                                f"{kind} name {show(name)} is already used by {seen[name]}"))
    else:
        seen[name] = path
    return problems


def _named_list(items, kind: str, key: str) -> list[Problem]:
    """Safe, unique names for the verbatim lists (rule sets, templates)."""
    if not isinstance(items, list):
        return []
    problems: list[Problem] = []
    seen: dict = {}
    for i, item in enumerate(items):
        if isinstance(item, dict):
            problems += _unique_name(item.get("name"), kind, pointer(key, i), seen)
    return problems


def typed_entities(docs: list, types) -> dict[str, Entity]:
    """Entity models built leniently from entity documents (the first of a name wins)."""
    entities: dict[str, Entity] = {}
    types_key = tuple(sorted(types.items()))
    for doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("name"), str) and doc["name"] not in entities:
            fields = doc.get("fields") if isinstance(doc.get("fields"), list) else []
            built = [f for f in (_kept_field(f, types, types_key) for f in fields if isinstance(f, dict))
                     if f is not None]
            entities[doc["name"]] = Entity(name=doc["name"], label={}, fields=tuple(built))
    return entities


def _kept_field(doc: dict, types, types_key) -> Field | None:
    """`_field`, kept per field's JSON: every check of a document builds its entities
    three times, and a designer's edit changes one field of hundreds."""
    text = json_key(doc)
    return _field(doc, types) if text is None else _field_of(text, types_key)


@lru_cache(maxsize=4096)
def _field_of(text: str, types_key: tuple) -> Field | None:
    return _field(json.loads(text), dict(types_key))


def _field(doc: dict, types) -> Field | None:
    name, type_name = doc.get("name"), doc.get("type")
    if not isinstance(name, str) or not isinstance(type_name, str):
        return None
    base = types.get(type_name)
    if base is None:
        return Field(name=name, type=type_name, label={})  # base_type "" : nothing to check against
    spec = {k: v for k, v in doc.items() if k in COMMON_PROPERTIES | TYPE_PROPERTIES[base]}
    return dataclasses.replace(_sanitised_field(spec, base, type_name), name=name,
                               has_default="default" in spec, default=spec.get("default"))


def _states_listing(names) -> str:
    return ", ".join(show(n) for n in names) or "none"


def _unknown_field(entity: Entity, name: str, what: str = "field") -> str:
    close = difflib.get_close_matches(name, entity.field_names(), n=1)
    hint = f"; did you mean {show(close[0])}?" if close else ""
    return f"{what} {show(name)} is not a field of {entity.name}{hint}"


def _workflow(doc: dict, path: str, scope: _Scope) -> list[Problem]:
    problems: list[Problem] = []
    states = doc.get("states")
    states = states if isinstance(states, list) and states else None  # none: the schema says so
    state_names = list(dict.fromkeys(s["name"] for s in states or () if isinstance(s, dict)
                                     and isinstance(s.get("name"), str)))
    seen: dict = {}
    timers: dict = {}
    for j, state in enumerate(states or ()):
        if not isinstance(state, dict):
            continue
        state_path = f"{path}/states/{j}"
        problems += _unique_name(state.get("name"), "state", state_path, seen)
        for key in ("on_enter", "on_leave"):
            problems += _actions(state.get(key), f"{state_path}/{key}", scope)
        if isinstance(state.get("sla"), dict):
            problems += _sla(state["sla"], f"{state_path}/sla", timers, scope)
    initial = doc.get("initial")
    if states is not None and isinstance(initial, str) and initial not in state_names:
        problems.append(Problem(f"{path}/initial", "unknown_state",
                                f"initial state {show(initial)} is not a state of this workflow; "
                                f"states: {_states_listing(state_names)}"))
    problems += _state_field(path, scope, state_names if states is not None else None,
                             initial if isinstance(initial, str) and initial in state_names else None)
    transitions = doc.get("transitions")
    seen = {}
    for j, transition in enumerate(transitions if isinstance(transitions, list) else ()):
        if isinstance(transition, dict):
            t_path = f"{path}/transitions/{j}"
            problems += _unique_name(transition.get("name"), "transition", t_path, seen)
            problems += _transition(transition, t_path, state_names if states is not None else None, scope)
    return problems


def _state_field(path: str, scope: _Scope, states: list | None, initial) -> list[Problem]:
    entity, name = scope.entity, scope.state_field
    if entity is None or name is None:
        return []
    field = entity.field(name)
    where = f"{path}/field"
    if field is None:
        return [Problem(where, "unknown_field", _unknown_field(entity, name, "state field"))]
    target = f"{entity.name}.{name}"
    if field.base_type != "choice":
        return [Problem(where, "not_a_choice_field",
                        f"the state field {target} is {_a(field.type)} field; a workflow needs a choice "
                        f"field whose options are its states")]
    problems = []
    if states is not None:
        options = field.option_values()
        missing = [s for s in states if s not in options]
        extra = [o for o in dict.fromkeys(options) if o not in states]
        if missing:
            problems.append(Problem(where, "state_without_option",
                                    f"states without an option in {target}: {_states_listing(missing)}; "
                                    f"the field's options must be exactly the states"))
        if extra:
            problems.append(Problem(where, "option_without_state",
                                    f"options of {target} without a state: {_states_listing(extra)}; "
                                    f"the field's options must be exactly the states"))
    if field.has_default and initial is not None and field.default != initial:
        problems.append(Problem(f"{path}/initial", "initial_default_mismatch",
                                f"new records start in the initial state {show(initial)}, but {target} "
                                f"defaults to {show(field.default)}; remove the default or make it {show(initial)}"))
    return problems


def _sla(sla: dict, path: str, timers: dict, scope: _Scope) -> list[Problem]:
    problems = []
    timer = sla.get("timer")
    if isinstance(timer, str):
        message = identifier_problem(timer, "timer")
        if message:
            problems.append(Problem(f"{path}/timer", "unsafe_identifier", message))
        if timer in timers:
            problems.append(Problem(f"{path}/timer", "duplicate_name",
                                    f"timer {show(timer)} is already used by {timers[timer]}"))
        else:
            timers[timer] = path
    within = sla.get("within")
    if isinstance(within, str) and duration_minutes(within) is None:
        problems.append(Problem(f"{path}/within", "invalid_duration",
                                f"{show(within)} is not a duration; write a whole number followed by "
                                f"m, h or d, such as '30m', '4h' or '2d'"))
    return problems + _actions(sla.get("escalate"), f"{path}/escalate", scope)


def _transition(doc: dict, path: str, states: list | None, scope: _Scope) -> list[Problem]:
    problems: list[Problem] = []
    source, target = doc.get("from"), doc.get("to")
    if isinstance(source, str) and source != ANY_STATE:
        problems.append(Problem(f"{path}/from", "invalid_from",
                                f"expected a list of state names, or '*' for any state, got {show(source)}"))
    if states is not None and isinstance(source, list):
        for k, state in enumerate(source):
            if isinstance(state, str) and state not in states:
                hint = "; for any state write \"from\": \"*\" (not in a list)" if state == ANY_STATE else ""
                problems.append(Problem(f"{path}/from/{k}", "unknown_state",
                                        f"transition from an unknown state: {show(state)} is not a state of "
                                        f"this workflow; states: {_states_listing(states)}{hint}"))
    if states is not None and isinstance(target, str) and target not in states:
        problems.append(Problem(f"{path}/to", "unknown_state",
                                f"transition to nowhere: {show(target)} is not a state of this workflow; "
                                f"states: {_states_listing(states)}"))
    requires = doc.get("requires")
    if scope.entity is not None and isinstance(requires, list):
        problems += [Problem(f"{path}/requires/{k}", "unknown_field",
                             _unknown_field(scope.entity, name, "required field"))
                     for k, name in enumerate(requires)
                     if isinstance(name, str) and scope.entity.field(name) is None and name not in SYSTEM_COLUMNS]
    roles = doc.get("roles")
    if isinstance(roles, list):
        problems += [_unknown_role(role, f"{path}/roles/{k}", scope) for k, role in enumerate(roles)
                     if isinstance(role, str) and role not in scope.known_roles]
    approval = doc.get("approval")
    if isinstance(approval, dict) and isinstance(approval.get("role"), str):
        if approval["role"] not in scope.known_roles:
            problems.append(_unknown_role(approval["role"], f"{path}/approval/role", scope))
    if isinstance(doc.get("guard"), dict):
        problems += check_condition(doc["guard"], scope.entity, f"{path}/guard")
    return problems + _actions(doc.get("actions"), f"{path}/actions", scope)


def _unknown_role(role: str, path: str, scope: _Scope) -> Problem:
    return Problem(path, "unknown_role", f"unknown role {show(role)}; roles: {', '.join(scope.known_roles)}")


def _actions(actions, path: str, scope: _Scope) -> list[Problem]:
    if not isinstance(actions, list):
        return []
    problems: list[Problem] = []
    for k, action in enumerate(actions):
        if not isinstance(action, dict):
            continue
        name = action.get("action")
        if isinstance(name, str) and scope.known_actions is not None and name not in scope.known_actions:
            known = ", ".join(sorted(scope.known_actions)) or "none are registered"
            problems.append(Problem(f"{path}/{k}/action", "unknown_action",
                                    f"unknown action {show(name)}; known actions: {known}"))
        if name == SET_FIELD:
            problems += _set_field(action, f"{path}/{k}", scope)
    return problems


def _set_field(action: dict, path: str, scope: _Scope) -> list[Problem]:
    example = 'such as {"field": "priority", "value": "high"}'
    if "params" not in action:
        return [Problem(f"{path}/params", "missing_param", f"set_field needs params {example}")]
    params = action["params"]
    if not isinstance(params, dict):
        return []  # reported by the schema
    problems = []
    name = params.get("field")
    if "value" not in params:
        problems.append(Problem(f"{path}/params/value", "missing_param",
                                "set_field needs params.value (null empties the field)"))
    if not isinstance(name, str):
        message = (f"set_field needs params.field {example}" if name is None
                   else f"params.field must be a field name, got {show(name)}")
        return problems + [Problem(f"{path}/params/field", "missing_param" if name is None else "invalid_param",
                                   message)]
    if name == scope.state_field:
        return problems + [Problem(f"{path}/params/field", "state_field_not_settable",
                                   f"set_field cannot change the state field {show(name)}; "
                                   f"the state changes only through transitions")]
    if scope.entity is None:
        return problems
    field = scope.entity.field(name)
    if field is None:
        return problems + [Problem(f"{path}/params/field", "unknown_field", _unknown_field(scope.entity, name))]
    value = params.get("value")
    if isinstance(value, dict) and set(value) == {"$now"}:
        if value["$now"] is not True or field.base_type not in ("date", "datetime"):
            problems.append(Problem(f"{path}/params/value", "invalid_value",
                                    f'{{"$now": true}} fills a date or datetime field; '
                                    f"{scope.entity.name}.{name} is {field.base_type}"))
        return problems
    if isinstance(value, dict) and set(value) == {"$record"}:
        if not isinstance(value["$record"], str) or (
                scope.entity.field(value["$record"]) is None and value["$record"] != "id"):
            problems.append(Problem(f"{path}/params/value/$record", "unknown_field",
                                    _unknown_field(scope.entity, str(value["$record"]))))
        return problems
    if "value" in params:
        message = value_problem(field, params["value"])
        if message:
            problems.append(Problem(f"{path}/params/value", "invalid_value",
                                    f"the value does not fit {scope.entity.name}.{name}: {message}"))
    return problems
