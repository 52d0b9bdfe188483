"""The designer's edits of an entity's workflow in a draft document: plain functions from
a document to a new one (add, rename or remove a state or a transition, and set their
properties). A workflow's states are its state field's options, so a state added,
renamed or removed is the same change to the field's options; whether the result is
valid is the engine's check, shown next to the control (`engine.drafts`)."""
from __future__ import annotations

import copy

from admin_ui.designer.edits import EditRefused, NameTaken, dicts, editable_list, entity_of, field_index, named

ANY = "*"


def workflow_of(document: dict, entity_name: str) -> dict:
    """The draft's workflow of the entity (to edit in place)."""
    found = next((w for w in dicts(document, "workflows") if w.get("entity") == entity_name), None)
    if found is None:
        raise EditRefused(f"the draft has no workflow of {entity_name!r}")
    return found


def state_of(workflow: dict, name: str) -> dict:
    return named(workflow, "states", name, f"workflow {workflow.get('name')!r} has no state {name!r}")


def transition_of(workflow: dict, name: str) -> dict:
    return named(workflow, "transitions", name, f"workflow {workflow.get('name')!r} has no transition {name!r}")


def option_value(option):
    """An option's value (an option is a value, or an object with its `value`)."""
    return option.get("value") if isinstance(option, dict) else option


def _state_field(document: dict, workflow: dict) -> dict | None:
    """The workflow's state field in the draft (None when the draft names no such field:
    the draft's problems say so)."""
    try:
        entity = entity_of(document, workflow.get("entity"))
        return entity["fields"][field_index(entity, workflow.get("field"))]
    except (EditRefused, TypeError):
        return None


def _set(container: dict, key: str, value) -> None:
    """`container[key] = value`, or removed when the value is None, empty or False."""
    if value is None or value is False or value == [] or value == {}:
        container.pop(key, None)
    else:
        container[key] = value


def add_workflow(document: dict, entity_name: str, name: str, field_name: str) -> dict:
    """A workflow over the entity's choice field `field_name`: one state per option (all
    `open`, the first initial), no transitions yet."""
    out = copy.deepcopy(document)
    entity = entity_of(out, entity_name)
    field = entity["fields"][field_index(entity, field_name)]
    options = field.get("options") if isinstance(field.get("options"), list) else []
    states = [{"name": option_value(o), "category": "open"} for o in options if isinstance(option_value(o), str)]
    workflow = {"name": name, "entity": entity_name, "field": field_name,
                "initial": states[0]["name"] if states else "", "states": states, "transitions": []}
    editable_list(out, "workflows").append(workflow)
    return out


def add_state(document: dict, entity_name: str, name: str, category: str, label: dict | None) -> dict:
    """A state appended to the workflow, and its value to the state field's options."""
    out = copy.deepcopy(document)
    workflow = workflow_of(out, entity_name)
    state = {"name": name, "category": category}
    _set(state, "label", label)
    editable_list(workflow, "states").append(state)
    field = _state_field(out, workflow)
    if field is not None and name not in [option_value(o) for o in editable_list(field, "options")]:
        field["options"].append(name)
    return out


def set_state(document: dict, entity_name: str, name: str, label: dict | None, category: str,
              sla: dict | None) -> dict:
    """The state's label, category and SLA timer (None: no timer)."""
    out = copy.deepcopy(document)
    state = state_of(workflow_of(out, entity_name), name)
    _set(state, "label", label)
    state["category"] = category
    _set(state, "sla", sla)
    return out


def set_initial(document: dict, entity_name: str, name: str) -> dict:
    out = copy.deepcopy(document)
    workflow = workflow_of(out, entity_name)
    state_of(workflow, name)
    workflow["initial"] = name
    return out


def rename_state(document: dict, entity_name: str, old: str, new: str) -> dict:
    """The state renamed everywhere the workflow names it (initial, transitions' from and
    to) and in the state field's options (its default too). Records in the old state need
    the state map when the draft is published."""
    out = copy.deepcopy(document)
    workflow = workflow_of(out, entity_name)
    state = state_of(workflow, old)
    if new != old and any(s.get("name") == new for s in dicts(workflow, "states")):
        raise NameTaken(new)
    state["name"] = new
    if workflow.get("initial") == old:
        workflow["initial"] = new
    for transition in dicts(workflow, "transitions"):
        if isinstance(transition.get("from"), list):
            transition["from"] = [new if s == old else s for s in transition["from"]]
        if transition.get("to") == old:
            transition["to"] = new
    field = _state_field(out, workflow)
    if field is not None:
        field["options"] = [_renamed(o, old, new) for o in editable_list(field, "options")]
        if field.get("default") == old:
            field["default"] = new
    return out


def _renamed(option, old: str, new: str):
    if option_value(option) != old:
        return option
    return {**option, "value": new} if isinstance(option, dict) else new


def remove_state(document: dict, entity_name: str, name: str) -> dict:
    """The state removed with the transitions into it, from the other transitions' `from`
    (one left leaving from nothing is removed too) and from the state field's options;
    when it was the initial state, the first state left is. Records in it need the state
    map when the draft is published."""
    out = copy.deepcopy(document)
    workflow = workflow_of(out, entity_name)
    state_of(workflow, name)
    workflow["states"] = [s for s in workflow["states"] if not (isinstance(s, dict) and s.get("name") == name)]
    kept = []
    for transition in editable_list(workflow, "transitions"):
        if isinstance(transition, dict):
            if transition.get("to") == name:
                continue
            if isinstance(transition.get("from"), list):
                transition["from"] = [s for s in transition["from"] if s != name]
                if not transition["from"]:
                    continue
        kept.append(transition)
    workflow["transitions"] = kept
    if workflow.get("initial") == name:
        workflow["initial"] = next((s.get("name") for s in dicts(workflow, "states")), "")
    field = _state_field(out, workflow)
    if field is not None:
        field["options"] = [o for o in editable_list(field, "options") if option_value(o) != name]
        if field.get("default") == name:
            del field["default"]
    return out


def add_transition(document: dict, entity_name: str, name: str, sources, to: str, label: dict | None) -> dict:
    """A transition from `sources` (a list of states, or "*" for any) to `to`."""
    out = copy.deepcopy(document)
    transition = {"name": name, "from": sources, "to": to}
    _set(transition, "label", label)
    editable_list(workflow_of(out, entity_name), "transitions").append(transition)
    return out


def set_transition(document: dict, entity_name: str, name: str, properties: dict) -> dict:
    """The transition's properties (from, to, label, roles, requires, comment, approval,
    guard, actions) set from `properties`; a None or empty one is removed."""
    out = copy.deepcopy(document)
    transition = transition_of(workflow_of(out, entity_name), name)
    for key, value in properties.items():
        _set(transition, key, value)
    return out


def rename_transition(document: dict, entity_name: str, old: str, new: str) -> dict:
    out = copy.deepcopy(document)
    workflow = workflow_of(out, entity_name)
    transition = transition_of(workflow, old)
    if new != old and any(t.get("name") == new for t in dicts(workflow, "transitions")):
        raise NameTaken(new)
    transition["name"] = new
    return out


def remove_transition(document: dict, entity_name: str, name: str) -> dict:
    out = copy.deepcopy(document)
    workflow = workflow_of(out, entity_name)
    transition_of(workflow, name)
    workflow["transitions"] = [t for t in workflow["transitions"]
                               if not (isinstance(t, dict) and t.get("name") == name)]
    return out
