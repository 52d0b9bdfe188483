"""Workflows and rule sets across versions (diff_packages) and generated workflow documents."""

import copy
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metadata
from metadata import Change, Package, check_package, diff_packages, load_package
from tests.metadata.service_flow import (
    ACTIONS, FLOW, PACKAGE, S0, SERVICE, STATES, T0, WF, edited, set_in, status_field, workflow_of,
)


# --- diff -------------------------------------------------------------------------


def changes_after(edit):
    return diff_packages(PACKAGE, load_package(edited(edit)))


def kinds(changes):
    return [(c.kind, c.entity, c.field) for c in changes]


def test_a_new_package_adds_entities_then_workflows_then_rulesets():
    changes = diff_packages(None, PACKAGE)
    assert kinds(changes) == [("add_entity", "account", None), ("add_entity", "service_request", None),
                              ("add_workflow", "service_request", None), ("add_ruleset", "", None)]
    assert changes[2].new is FLOW and changes[3].new == SERVICE["rulesets"][0]
    assert [c.describe() for c in changes[2:]] == ["add workflow service_flow on service_request.status (5 states)",
                                                   "add rule set vip_rules"]
    assert diff_packages(PACKAGE, PACKAGE) == []


def test_removing_a_state_asks_for_a_state_map_but_destroys_nothing():
    def edit(d):
        workflow_of(d)["states"].pop(2)
        status_field(d)["options"].remove("waiting_customer")
        workflow_of(d)["transitions"][1]["from"] = ["in_progress"]
    changes = changes_after(edit)
    assert kinds(changes) == [("alter_options", "service_request", "status"),
                              ("alter_workflow", "service_request", None),
                              ("drop_state", "service_request", "status")]
    drop = changes[2]
    assert drop.old == "waiting_customer" and drop.needs_state_map
    assert not drop.destructive and not drop.needs_ddl
    assert drop.describe() == "drop state 'waiting_customer' of service_request.status; records in it need a new state"
    assert not any(c.needs_state_map for c in changes[:2])


@pytest.mark.parametrize("edit", [
    set_in(WF + ["label"], "Support"), set_in(T0 + ["roles"], ["admin"]), set_in(S0 + ["sla", "within"], "240m"),
    lambda d: workflow_of(d)["transitions"].pop(), lambda d: workflow_of(d)["states"].reverse(),
])
def test_other_workflow_edits_are_one_alter_workflow_without_ddl(edit):
    (change,) = changes_after(edit)
    assert (change.kind, change.entity, change.old, change.new.name) == ("alter_workflow", "service_request", FLOW,
                                                                         "service_flow")
    assert not change.needs_ddl and not change.destructive and not change.needs_state_map
    assert change.describe() == "change workflow service_flow on service_request.status"


def test_dropping_and_renaming_workflows():
    (drop,) = changes_after(lambda d: d.pop("workflows"))
    assert (drop.kind, drop.old, drop.describe()) == ("drop_workflow", FLOW,
                                                      "drop workflow service_flow from service_request.status")
    assert not drop.destructive and not drop.needs_ddl
    renamed = changes_after(set_in(WF + ["name"], "support_flow"))
    assert kinds(renamed) == [("drop_workflow", "service_request", None), ("add_workflow", "service_request", None)]


def test_rebinding_a_workflow_to_another_entity_is_a_drop_and_an_add():
    def edit(d):
        d["entities"][0]["fields"].append({"name": "status", "type": "choice", "options": STATES})
        d["workflows"][0]["entity"] = "account"
        d["workflows"][0]["transitions"][0]["requires"] = []
        d["workflows"][0]["transitions"][0].pop("guard")
        d["workflows"][0]["transitions"][0].pop("actions")
        d["workflows"][0]["states"][0].pop("sla")
    assert kinds(changes_after(edit)) == [("add_field", "account", "status"),
                                          ("drop_workflow", "service_request", None),
                                          ("add_workflow", "account", None)]


def test_ruleset_changes():
    def edit(d):
        d["rulesets"][0]["anything"] = 2
        d["rulesets"].insert(0, {"name": "loyalty"})
    changes = changes_after(edit)
    assert kinds(changes) == [("alter_ruleset", "", None), ("add_ruleset", "", None)]
    assert changes[0].new["anything"] == 2 and changes[0].describe() == "change rule set vip_rules"
    (drop,) = changes_after(lambda d: d.pop("rulesets"))
    assert (drop.kind, drop.describe(), drop.needs_ddl, drop.destructive) == (
        "drop_ruleset", "drop rule set vip_rules", False, False)


def test_workflow_changes_come_before_field_and_entity_drops():
    def edit(d):
        d["entities"][1]["fields"].pop()  # due
        d["entities"].pop(0)  # account
        d["entities"].append({"name": "note", "fields": []})
        d["rulesets"] = []
        workflow_of(d)["label"] = "Support"
    assert kinds(changes_after(edit)) == [
        ("add_entity", "note", None), ("alter_workflow", "service_request", None), ("drop_ruleset", "", None),
        ("drop_field", "service_request", "due"), ("drop_entity", "account", None)]


def test_change_kinds_are_listed():
    from metadata.diff import KINDS
    for kind in ("add_workflow", "drop_workflow", "alter_workflow", "drop_state",
                 "add_ruleset", "drop_ruleset", "alter_ruleset"):
        assert kind in KINDS and not Change(kind, "x").needs_ddl and not Change(kind, "x").destructive
    assert [k for k in KINDS if Change(k, "x").needs_state_map] == ["drop_state"]


# --- properties -------------------------------------------------------------------

SETTINGS = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
names = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6).filter(
    lambda n: metadata.identifiers.identifier_problem(n, "state") is None)
anything = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                      max_size=3), max_leaves=6)
_text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=5)
storable = st.recursive(st.none() | st.booleans() | st.integers() | _text,  # what a valid document may hold
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
                        max_leaves=8)
tricky = anything | st.sampled_from(STATES + ["*", "status", "service_request", "4h", "x", "set_field", "admin"])
actions = st.lists(st.fixed_dictionaries({"action": tricky}, optional={"params": tricky}) | tricky, max_size=2)
random_states = st.fixed_dictionaries({"name": tricky}, optional={
    "category": tricky, "on_enter": actions, "sla": st.fixed_dictionaries(
        {}, optional={"timer": tricky, "within": tricky, "escalate": actions}) | tricky})
random_transitions = st.fixed_dictionaries({"name": tricky}, optional={
    "from": tricky | st.lists(tricky, max_size=3), "to": tricky, "roles": st.lists(tricky, max_size=2) | tricky,
    "requires": st.lists(tricky, max_size=2), "guard": anything, "actions": actions,
    "approval": st.fixed_dictionaries({}, optional={"role": tricky, "count": tricky}) | tricky})
random_workflows = st.fixed_dictionaries({}, optional={
    "name": tricky, "entity": tricky, "field": tricky, "initial": tricky,
    "states": st.lists(random_states | tricky, max_size=4) | tricky,
    "transitions": st.lists(random_transitions | tricky, max_size=3) | tricky})


@SETTINGS
@given(st.lists(random_workflows | tricky, max_size=3) | tricky,
       st.lists(st.fixed_dictionaries({}, optional={"name": tricky}) | tricky, max_size=3) | tricky)
def test_random_workflow_documents_never_raise(workflows, rulesets):
    document = {"entities": copy.deepcopy(SERVICE["entities"]), "workflows": workflows, "rulesets": rulesets}
    problems = check_package(document, known_actions=ACTIONS)
    assert all(isinstance(p.path, str) and p.code and p.message for p in problems)


@st.composite
def valid_packages(draw):
    states = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    categories = st.sampled_from(["open", "active", "waiting", "done", "cancelled"])
    transitions = [
        {"name": f"t{k}", "to": draw(st.sampled_from(states)),
         "from": draw(st.just("*") | st.lists(st.sampled_from(states), min_size=1, unique=True)),
         **({"roles": ["admin"]} if draw(st.booleans()) else {}),
         **({"comment": draw(st.sampled_from(["none", "optional", "required"]))} if draw(st.booleans()) else {}),
         **({"approval": {"role": "member", "count": draw(st.integers(1, 3))}} if draw(st.booleans()) else {})}
        for k in range(draw(st.integers(0, 4)))]
    flow = {"name": "flow", "entity": "service_request", "field": "status", "initial": draw(st.sampled_from(states)),
            "states": [{"name": s, "category": draw(categories),
                        **({"sla": {"timer": f"timer_{s}", "within": draw(st.sampled_from(["5m", "2h", "3d"]))}}
                           if draw(st.booleans()) else {})} for s in states],
            "transitions": transitions}
    entity = {"name": "service_request", "fields": [{"name": "status", "type": "choice", "options": states}]}
    rulesets = [{"name": n, "body": draw(storable)} for n in draw(st.lists(names, max_size=2, unique=True))]
    return {"entities": [entity], "workflows": [flow], "rulesets": rulesets}


@SETTINGS
@given(valid_packages(), valid_packages())
def test_generated_workflows_load_round_trip_and_diff(doc_a, doc_b):
    assert check_package(doc_a) == []
    a, b = load_package(doc_a), load_package(doc_b)
    assert Package.from_document(a.to_dict()) == a and load_package(a.to_dict()).to_dict() == a.to_dict()
    assert diff_packages(a, a) == []
    changes = diff_packages(a, b)
    assert all(c.describe() and not c.needs_ddl for c in changes if c.field is None or c.kind == "drop_state")
    dropped = {c.old for c in changes if c.kind == "drop_state"}
    assert dropped == set(a.workflows[0].state_names()) - set(b.workflows[0].state_names())
    assert any(c.kind == "alter_workflow" for c in changes) is (a.workflows[0] != b.workflows[0])
