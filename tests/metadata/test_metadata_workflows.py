"""Workflows and rule sets in a package: schema, model and semantic checks."""

import copy
import json

import pytest
from jsonschema import Draft202012Validator

import metadata
from metadata import Approval, MetadataInvalid, Package, Sla, State, Transition, Workflow, check_package, load_package
from metadata.workflow import duration_minutes, format_minutes
from tests.metadata.service_flow import (
    ACTIONS, DELETE, FLOW, PACKAGE, S0, SERVICE, STATES, T0, W, WF, add_workflow, edited, found, set_in, status_field,
    workflow_of,
)


# --- the model ----------------------------------------------------------------------


def test_the_example_workflow_is_accepted_exactly_as_written():
    assert check_package(copy.deepcopy(SERVICE), known_actions=ACTIONS) == []


def test_a_workflow_is_normalised_into_the_model():
    assert (FLOW.name, FLOW.entity, FLOW.field, FLOW.initial) == ("service_flow", "service_request", "status", "new")
    assert FLOW.label == {"en": "Service process", "zh-CN": "服务流程"}
    assert FLOW.state_names() == tuple(STATES)
    new = FLOW.state("new")
    assert new.on_enter == ({"action": "notify", "params": {"template": "ack"}},) and new.on_leave == ()
    assert new.sla == Sla(timer="first_response", within_minutes=240, business_hours=True, within="4h",
                          escalate=({"action": "set_field", "params": {"field": "priority", "value": "high"}},
                                    {"action": "notify", "params": {"role": "admin"}}))
    assert FLOW.state("in_progress") == State("in_progress", {"en": "In progress"}, "active")
    assert FLOW.state("resolved").final and not FLOW.state("waiting_customer").final
    start = FLOW.transition("start")
    assert start == Transition(
        name="start", from_states=("new",), to="in_progress", label={"en": "Start work"},
        roles=("admin", "member"), requires=("assignee",), guard={"field": "priority", "op": "ne", "value": "blocked"},
        actions=({"action": "set_field", "params": {"field": "started", "value": True}},), comment="optional")
    cancel = FLOW.transition("cancel")
    assert cancel.from_states is None and cancel.approval == Approval("admin", 2, "any")
    assert cancel.label == {"en": "Cancel"} and cancel.roles == () and cancel.comment == "none"
    assert cancel.allows_role("anyone") and not start.allows_role("guest")
    assert FLOW.transition("resolve").comment == "required" and FLOW.transition("nope") is None
    assert FLOW.state("nope") is None


@pytest.mark.parametrize("state, names", [
    ("new", ("start", "cancel")), ("in_progress", ("resolve", "cancel")), ("waiting_customer", ("resolve", "cancel")),
    ("resolved", ("cancel",)), ("unknown", ("cancel",)),
])
def test_transitions_from_a_state_include_the_any_state_ones_in_order(state, names):
    assert tuple(t.name for t in FLOW.transitions_from(state)) == names


def test_package_finds_workflows_by_entity_and_keeps_rulesets():
    assert PACKAGE.workflow_for("service_request") is FLOW and PACKAGE.workflow_for("account") is None
    assert PACKAGE.workflow("service_flow") is FLOW and PACKAGE.workflow("nope") is None
    assert PACKAGE.rulesets == tuple(SERVICE["rulesets"])
    assert PACKAGE.ruleset("vip_rules") == SERVICE["rulesets"][0] and PACKAGE.ruleset("nope") is None


def test_actions_get_empty_params_and_escalation_defaults():
    def edit(d):
        state = workflow_of(d)["states"][1]
        state["on_leave"] = [{"action": "notify"}]
        state["sla"] = {"timer": "resolution", "within": "90m"}
    flow = load_package(edited(edit)).workflows[0]
    assert flow.state("in_progress").on_leave == ({"action": "notify", "params": {}},)
    assert flow.state("in_progress").sla == Sla("resolution", 90, False, (), "90m")


def test_package_to_dict_round_trips_with_workflows_and_rulesets():
    canonical = PACKAGE.to_dict()
    assert Package.from_document(canonical) == PACKAGE
    assert load_package(canonical, known_actions=ACTIONS) == PACKAGE
    assert Package.from_document(canonical).to_dict() == canonical
    assert json.loads(json.dumps(canonical)) == canonical
    assert canonical["rulesets"] == SERVICE["rulesets"]
    start = canonical["workflows"][0]["transitions"][0]
    assert canonical["workflows"][0]["transitions"][2]["from"] == "*"
    assert set(start) == {"name", "from", "to", "label", "roles", "requires", "guard", "actions", "comment"}
    assert canonical["workflows"][0]["states"][1] == {"name": "in_progress", "label": {"en": "In progress"},
                                                      "category": "active"}


@pytest.mark.parametrize("thing", [FLOW, FLOW.states[0], FLOW.states[0].sla, FLOW.transitions[0],
                                   FLOW.transitions[2], FLOW.transitions[2].approval])
def test_every_part_round_trips_through_to_dict(thing):
    assert type(thing).from_document(thing.to_dict()) == thing


def test_workflows_and_rulesets_are_optional_and_left_out_when_empty():
    bare = {"entities": SERVICE["entities"]}
    package = load_package(bare)
    assert package.workflows == () and package.rulesets == () and package.workflow_for("service_request") is None
    assert set(package.to_dict()) == {"entities"}
    assert load_package({**bare, "workflows": [], "rulesets": []}) == package


def test_the_model_does_not_alias_the_document():
    document = copy.deepcopy(SERVICE)
    package = load_package(document)
    package.to_dict()["workflows"][0]["transitions"][0]["guard"]["value"] = "changed"
    package.to_dict()["rulesets"][0]["rules"].clear()
    document["workflows"][0]["states"][0]["on_enter"][0]["params"]["template"] = "changed"
    document["rulesets"][0]["anything"] = 2
    assert package == PACKAGE


@pytest.mark.parametrize("text, minutes", [("1m", 1), ("90m", 90), ("4h", 240), ("2d", 2880), ("10080m", 10080)])
def test_durations_are_whole_minutes(text, minutes):
    assert duration_minutes(text) == minutes
    assert duration_minutes(format_minutes(minutes)) == minutes


def test_sla_without_the_original_text_writes_the_shortest_duration():
    assert Sla("t", 2880).to_dict() == {"timer": "t", "within": "2d"}
    assert Sla("t", 90).within == "90m"


# --- semantic checks ----------------------------------------------------------------


@pytest.mark.parametrize("edit, expected", [
    # the workflow itself
    (set_in(WF + ["name"], "Service Flow"), [(W + "/name", "unsafe_identifier")]),
    (lambda d: d["workflows"].append({"name": "service_flow", "entity": "account", "field": "name", "initial": "a",
                                      "states": [{"name": "a", "category": "open"}]}),
     [("/workflows/1/field", "not_a_choice_field"), ("/workflows/1/name", "duplicate_name")]),
    (add_workflow(name="other_flow"), [("/workflows/1/entity", "duplicate_workflow")]),
    (set_in(WF + ["entity"], "ticket"), [(W + "/entity", "unknown_entity")]),
    (set_in(WF + ["field"], "state"), [(W + "/field", "unknown_field")]),
    (set_in(WF + ["field"], "assignee"), [(W + "/field", "not_a_choice_field")]),
    (set_in(WF + ["colour"], "red"), [(W + "/colour", "schema")]),
    (set_in(WF + ["initial"], DELETE), [(W + "/initial", "schema")]),
    # the state field against the states
    (lambda d: status_field(d)["options"].remove("resolved"), [(W + "/field", "state_without_option")]),
    (lambda d: status_field(d)["options"].append("reopened"), [(W + "/field", "option_without_state")]),
    (lambda d: status_field(d).update(options=["new", "open"]),
     [(W + "/field", "option_without_state"), (W + "/field", "state_without_option")]),
    (lambda d: status_field(d).update(default="resolved"), [(W + "/initial", "initial_default_mismatch")]),
    (lambda d: status_field(d).update(default=None), [(W + "/initial", "initial_default_mismatch")]),
    (lambda d: status_field(d).pop("default"), []),
    (set_in(WF + ["initial"], "in_progress"), [(W + "/initial", "initial_default_mismatch")]),
    (set_in(WF + ["initial"], "open"), [(W + "/initial", "unknown_state")]),
    # states
    (set_in(WF + ["states"], []), [(W + "/states", "schema")]),
    (set_in(S0 + ["category"], "limbo"), [(W + "/states/0/category", "schema")]),
    (set_in(S0 + ["category"], DELETE), [(W + "/states/0/category", "schema")]),
    (lambda d: workflow_of(d)["states"].append({"name": "new", "category": "open"}),
     [(W + "/states/5/name", "duplicate_name")]),
    (lambda d: (workflow_of(d)["states"].append({"name": "Re Opened", "category": "open"}),
                status_field(d)["options"].append("Re Opened")), [(W + "/states/5/name", "unsafe_identifier")]),
    # sla
    (set_in(S0 + ["sla", "timer"], "First Response"), [(W + "/states/0/sla/timer", "unsafe_identifier")]),
    (set_in(S0 + ["sla", "within"], "four hours"), [(W + "/states/0/sla/within", "invalid_duration")]),
    (set_in(S0 + ["sla", "within"], 4), [(W + "/states/0/sla/within", "schema")]),
    (set_in(S0 + ["sla", "business_hours"], "yes"), [(W + "/states/0/sla/business_hours", "schema")]),
    (lambda d: workflow_of(d)["states"][3].update(sla={"timer": "first_response", "within": "1d"}),
     [(W + "/states/3/sla/timer", "duplicate_name")]),
    # transitions
    (set_in(T0 + ["name"], "Start!"), [(W + "/transitions/0/name", "unsafe_identifier")]),
    (set_in(T0 + ["name"], "cancel"), [(W + "/transitions/2/name", "duplicate_name")]),
    (set_in(T0 + ["from"], ["new", "opened", "in_progress", "closed"]),
     [(W + "/transitions/0/from/1", "unknown_state"), (W + "/transitions/0/from/3", "unknown_state")]),
    (set_in(T0 + ["from"], ["*"]), [(W + "/transitions/0/from/0", "unknown_state")]),
    (set_in(T0 + ["from"], "new"), [(W + "/transitions/0/from", "invalid_from")]),
    (set_in(T0 + ["from"], []), [(W + "/transitions/0/from", "schema")]),
    (set_in(T0 + ["from"], ["new", "new"]), [(W + "/transitions/0/from", "schema")]),
    (set_in(T0 + ["to"], "done"), [(W + "/transitions/0/to", "unknown_state")]),
    (set_in(T0 + ["to"], "new"), []),  # a self-loop is fine
    (set_in(T0 + ["requires"], ["assignee", "asignee"]), [(W + "/transitions/0/requires/1", "unknown_field")]),
    (set_in(T0 + ["requires"], ["owner_id"]), []),  # system columns count: an owner may be required
    (set_in(T0 + ["roles"], ["admin", "boss"]), [(W + "/transitions/0/roles/1", "unknown_role")]),
    (set_in(T0 + ["roles"], ["admin", "admin"]), [(W + "/transitions/0/roles", "schema")]),
    (set_in(T0 + ["comment"], "maybe"), [(W + "/transitions/0/comment", "schema")]),
    (set_in(T0 + ["approval"], {"role": "ceo"}), [(W + "/transitions/0/approval/role", "unknown_role")]),
    (set_in(T0 + ["approval"], {"role": "admin", "count": 0}), [(W + "/transitions/0/approval/count", "schema")]),
    (set_in(T0 + ["approval"], {"role": "admin", "mode": "most"}), [(W + "/transitions/0/approval/mode", "schema")]),
    (set_in(T0 + ["approval"], {"count": 1}), [(W + "/transitions/0/approval/role", "schema")]),
    (set_in(T0 + ["guard"], {"field": "priority", "op": "gt", "value": "high"}),
     [(W + "/transitions/0/guard/op", "op_not_allowed")]),
    (set_in(T0 + ["guard"], {"all": [{"field": "prio", "op": "eq", "value": "x"},
                                     {"field": "due", "op": "lt", "value": "soon"}]}),
     [(W + "/transitions/0/guard/all/0/field", "unknown_field"),
      (W + "/transitions/0/guard/all/1/value", "invalid_value")]),
    (set_in(T0 + ["guard"], {"field": "created_at", "op": "exists"}), []),
    (set_in(T0 + ["guard"], "priority != blocked"), [(W + "/transitions/0/guard", "schema")]),
    # actions, wherever they are
    (set_in(S0 + ["on_enter", 0, "action"], "email"), [(W + "/states/0/on_enter/0/action", "unknown_action")]),
    (set_in(S0 + ["on_leave"], [{"action": "email"}]), [(W + "/states/0/on_leave/0/action", "unknown_action")]),
    (set_in(S0 + ["sla", "escalate", 1, "action"], "page"),
     [(W + "/states/0/sla/escalate/1/action", "unknown_action")]),
    (set_in(T0 + ["actions", 0, "action"], "email"), [(W + "/transitions/0/actions/0/action", "unknown_action")]),
    (set_in(T0 + ["actions", 0, "extra"], 1), [(W + "/transitions/0/actions/0/extra", "schema")]),
    (set_in(T0 + ["actions", 0, "params"], []), [(W + "/transitions/0/actions/0/params", "schema")]),
    # the built-in set_field action
    (set_in(T0 + ["actions", 0, "params", "field"], "status"),
     [(W + "/transitions/0/actions/0/params/field", "state_field_not_settable")]),
    (set_in(T0 + ["actions", 0, "params", "field"], "stared"),
     [(W + "/transitions/0/actions/0/params/field", "unknown_field")]),
    (set_in(T0 + ["actions", 0, "params", "field"], "id"),
     [(W + "/transitions/0/actions/0/params/field", "unknown_field")]),
    (set_in(T0 + ["actions", 0, "params", "field"], DELETE),
     [(W + "/transitions/0/actions/0/params/field", "missing_param")]),
    (set_in(T0 + ["actions", 0, "params", "field"], 5),
     [(W + "/transitions/0/actions/0/params/field", "invalid_param")]),
    (set_in(T0 + ["actions", 0, "params", "value"], DELETE),
     [(W + "/transitions/0/actions/0/params/value", "missing_param")]),
    (set_in(T0 + ["actions", 0, "params", "value"], "yes"),
     [(W + "/transitions/0/actions/0/params/value", "invalid_value")]),
    (set_in(S0 + ["sla", "escalate", 0, "params", "value"], "urgent"),
     [(W + "/states/0/sla/escalate/0/params/value", "invalid_value")]),
    (set_in(T0 + ["actions", 0, "params"], DELETE), [(W + "/transitions/0/actions/0/params", "missing_param")]),
    (set_in(T0 + ["actions", 0, "params"], {"field": "title", "value": None}),
     [(W + "/transitions/0/actions/0/params/value", "invalid_value")]),  # title is required
    (set_in(T0 + ["actions", 0, "params"], {"field": "assignee", "value": None}), []),
    # rule sets
    (set_in(["rulesets", 0, "name"], "VIP rules"), [("/rulesets/0/name", "unsafe_identifier")]),
    (lambda d: d["rulesets"].append({"name": "vip_rules"}), [("/rulesets/1/name", "duplicate_name")]),
    (lambda d: d["rulesets"].append({"rules": []}), [("/rulesets/1/name", "schema")]),
    (lambda d: d["rulesets"].append("vip"), [("/rulesets/1", "schema")]),
    (set_in(["rulesets"], {}), [("/rulesets", "schema")]),
    (set_in(["workflows"], {}), [("/workflows", "schema")]),
])
def test_each_workflow_problem_is_reported_at_its_path(edit, expected):
    assert found(edited(edit)) == sorted(expected)


def test_every_problem_is_reported_at_once():
    def edit(d):
        flow = workflow_of(d)
        flow["initial"] = "opened"
        flow["states"][1]["name"] = "in progress"
        flow["transitions"][0].update(to="nowhere", roles=["guest"], requires=["owner"])
        flow["transitions"][1]["actions"] = [{"action": "set_field", "params": {"field": "status", "value": "new"}}]
        d["workflows"].append({"name": "ghost_flow", "entity": "ghost", "field": "state", "initial": "a",
                               "states": [{"name": "a", "category": "open"}], "transitions": [
                                   {"name": "go", "from": "*", "to": "b", "guard": {"op": "exists"}}]})
    problems = check_package(edited(edit), known_actions=ACTIONS)
    assert [(p.path, p.code) for p in problems] == [
        (W + "/field", "option_without_state"),
        (W + "/field", "state_without_option"),
        (W + "/initial", "unknown_state"),
        (W + "/states/1/name", "unsafe_identifier"),
        (W + "/transitions/0/requires/0", "unknown_field"),
        (W + "/transitions/0/roles/0", "unknown_role"),
        (W + "/transitions/0/to", "unknown_state"),
        (W + "/transitions/1/actions/0/params/field", "state_field_not_settable"),
        (W + "/transitions/1/from/0", "unknown_state"),
        ("/workflows/1/entity", "unknown_entity"),
        ("/workflows/1/transitions/0/guard/field", "invalid_condition"),
        ("/workflows/1/transitions/0/to", "unknown_state"),
    ]
    with pytest.raises(MetadataInvalid) as caught:
        load_package(edited(edit), known_actions=ACTIONS)
    assert caught.value.problems == problems


def test_messages_are_plain_words_naming_the_values():
    def message(edit, path):
        return next(p.message for p in check_package(edited(edit), known_actions=ACTIONS) if p.path == path)
    assert message(set_in(T0 + ["to"], "done"), W + "/transitions/0/to") == (
        "transition to nowhere: 'done' is not a state of this workflow; "
        "states: 'new', 'in_progress', 'waiting_customer', 'resolved', 'cancelled'")
    assert message(lambda d: status_field(d).update(options=["new", "open"]), W + "/field").startswith(
        "options of service_request.status without a state: 'open'")
    mismatch = message(lambda d: status_field(d).update(default="resolved"), W + "/initial")
    assert "initial state 'new'" in mismatch and "defaults to 'resolved'" in mismatch
    assert message(set_in(T0 + ["actions", 0, "action"], "email"), W + "/transitions/0/actions/0/action") == (
        "unknown action 'email'; known actions: notify, set_field")
    assert message(set_in(T0 + ["requires"], ["asignee"]), W + "/transitions/0/requires/0").endswith(
        "did you mean 'assignee'?")
    assert message(set_in(T0 + ["from"], ["*"]), W + "/transitions/0/from/0").endswith(
        "for any state write \"from\": \"*\" (not in a list)")


@pytest.mark.parametrize("within", ["4 hours", "0h", "04h", "4H", "4h ", "1w", "", "h", "-1d", "1.5h", "4h\n"])
def test_malformed_durations_are_refused(within):
    document = edited(set_in(S0 + ["sla", "within"], within))
    assert found(document) == [(W + "/states/0/sla/within", "invalid_duration")]


def test_action_names_are_only_checked_when_the_registry_is_given():
    document = edited(set_in(T0 + ["actions", 0, "action"], "anything"))
    assert found(document, known_actions=None) == []
    assert found(document, known_actions=["anything", "notify", "set_field"]) == []
    assert found(document, known_actions=[]) == [
        (W + "/states/0/on_enter/0/action", "unknown_action"),
        (W + "/states/0/sla/escalate/0/action", "unknown_action"),
        (W + "/states/0/sla/escalate/1/action", "unknown_action"),
        (W + "/transitions/0/actions/0/action", "unknown_action"),
    ]


def test_roles_come_from_the_known_roles_parameter():
    document = edited(set_in(T0 + ["roles"], ["agent"]))
    assert found(document) == [(W + "/transitions/0/roles/0", "unknown_role")]
    assert found(document, known_roles=("agent", "admin")) == []
    assert found(SERVICE, known_roles=("agent",)) == [
        (W + "/transitions/0/roles/0", "unknown_role"), (W + "/transitions/0/roles/1", "unknown_role"),
        (W + "/transitions/2/approval/role", "unknown_role")]


@pytest.mark.parametrize("kw", [{"known_actions": "notify"}, {"known_actions": [1]}, {"known_roles": 5},
                                {"known_roles": "admin"}])
def test_malformed_registries_are_a_programming_error(kw):
    with pytest.raises(ValueError):
        check_package(SERVICE, **kw)


def test_sql_words_are_fine_for_names_that_never_reach_sql():
    def edit(d):
        flow = workflow_of(d)
        flow["states"][3]["name"] = "end"
        flow["transitions"][1].update(name="delete", to="end")
        status_field(d)["options"][3] = "end"
        d["rulesets"][0]["name"] = "select"
    assert found(edited(edit)) == []
    assert found(edited(lambda d: d["workflows"][0].update(name="loom_flow"))) == [(W + "/name", "unsafe_identifier")]


def test_problems_in_entities_do_not_hide_or_crash_workflow_checks():
    def edit(d):
        fields = d["entities"][1]["fields"]
        fields[1]["default"] = "nope"  # the entity check reports it; the workflow check compares it
        fields.append({"name": "odd", "type": "strng"})
        fields.append(7)
        workflow_of(d)["transitions"][0]["requires"] = ["odd"]
    assert found(edited(edit)) == [
        ("/entities/1/fields/1/default", "invalid_default"), ("/entities/1/fields/6/type", "unknown_type"),
        ("/entities/1/fields/7", "schema"), (W + "/initial", "initial_default_mismatch")]


# --- schema files -----------------------------------------------------------------


def test_workflow_schema_is_valid_draft_2020_12_and_ships_with_the_package():
    schema = metadata.load_schema("workflow")
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "https://loom.dev/schemas/workflow.schema.json"
    assert metadata.schema_path("workflow.schema.json").is_file()
    package = metadata.load_schema("package")
    assert package["properties"]["workflows"]["items"] == {"$ref": "https://loom.dev/schemas/workflow.schema.json"}
    assert package["properties"]["rulesets"]["items"]["required"] == ["name"]


def test_workflow_dataclasses_are_frozen():
    with pytest.raises(AttributeError):
        FLOW.name = "x"
    assert isinstance(FLOW, Workflow) and isinstance(FLOW.states[0], State)


def test_set_field_in_a_workflow_may_take_now_or_another_field():
    from metadata import check_package

    def doc(value, field="closed_on"):
        return {"entities": [{"name": "deal", "fields": [
            {"name": "stage", "type": "choice", "options": ["open", "won"]},
            {"name": "closed_on", "type": "date"}, {"name": "note", "type": "string"}]}],
            "workflows": [{"name": "sales", "entity": "deal", "field": "stage", "initial": "open",
                           "states": [{"name": "open", "category": "open"}, {"name": "won", "category": "done"}],
                           "transitions": [{"name": "win", "from": ["open"], "to": "won", "actions": [
                               {"action": "set_field", "params": {"field": field, "value": value}}]}]}]}

    assert check_package(doc({"$now": True})) == []
    assert check_package(doc({"$record": "note"}, field="note")) == []
    [problem] = check_package(doc({"$now": True}, field="note"))
    assert "fills a date or datetime field" in problem.message
    [problem] = check_package(doc({"$record": "nothing"}))
    assert problem.code == "unknown_field"
