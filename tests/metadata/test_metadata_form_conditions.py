"""Conditional fields (visible_if, required_if) and form tabs: schema, semantic checks with
paths, the model, effective layouts and diffs (a changed condition needs no DDL)."""
import copy

from hypothesis import given
from hypothesis import strategies as st

from metadata import Package, check_package, diff_packages, effective_layout, load_example, load_package
from metadata.condition_checks import leaves
from tests.metadata.test_metadata_properties import SETTINGS, assert_problem_list, json_values

GOLD = {"field": "tier", "op": "in", "value": ["gold", "diamond"]}
FORM = {"name": "contact_form", "entity": "contact", "kind": "form",
        "tabs": [{"name": "profile", "label": {"en": "Profile", "zh-CN": "资料"}, "sections": ["who"]},
                 {"name": "value", "sections": ["value", "vip"]}],
        "sections": [{"name": "who", "fields": ["full_name", "email", "phone", "birthday"]},
                     {"name": "value", "fields": ["tier", "lifetime_value"]},
                     {"name": "vip", "visible_if": GOLD, "fields": ["account", "consent_marketing"]}]}


def document(layouts=(FORM,), **conditions):
    """crm_minimal with `conditions` ({"contact.field": {"visible_if": ...}}) on its fields."""
    doc = load_example("crm_minimal")
    doc["layouts"] = copy.deepcopy(list(layouts))
    for entity in doc["entities"]:
        for field in entity["fields"]:
            field.update(copy.deepcopy(conditions.get(f"{entity['name']}__{field['name']}", {})))
    return doc


def problems(doc):
    return sorted((p.path, p.code) for p in check_package(doc))


def test_conditions_and_tabs_are_accepted_kept_and_round_trip():
    doc = document(contact__lifetime_value={"visible_if": GOLD, "required_if": {"field": "tier", "op": "eq",
                                                                                 "value": "diamond"}},
                   contact__birthday={"required_if": {"field": "consent_marketing", "op": "eq", "value": True}})
    assert check_package(doc) == []
    package = load_package(doc)
    field = package.entity("contact").field("lifetime_value")
    assert field.visible_if == GOLD and field.required_if["value"] == "diamond"
    assert package.entity("contact").field("email").visible_if is None
    assert field.to_dict()["visible_if"] == GOLD and "visible_if" not in package.entity("contact").field("email").to_dict()
    assert Package.from_document(package.to_dict()) == package


def test_wrong_conditions_are_reported_at_their_paths():
    doc = document(contact__email={"visible_if": {"field": "teir", "op": "eq", "value": "gold"}},
                   contact__phone={"required_if": {"field": "tier", "op": "gt", "value": "gold"}},
                   contact__birthday={"visible_if": "gold"},
                   contact__tier={"visible_if": {"any": [{"field": "email", "op": "exists"},
                                                          {"field": "tier", "op": "eq", "value": "gold"}]}},
                   contact__full_name={"visible_if": {"field": "email", "op": "exists"}})
    assert problems(doc) == [
        ("/entities/1/fields/0/visible_if", "contradictory"),  # full_name is required: true
        ("/entities/1/fields/1/visible_if/field", "unknown_field"),
        ("/entities/1/fields/2/required_if/op", "op_not_allowed"),
        ("/entities/1/fields/3/visible_if", "schema"),
        ("/entities/1/fields/4/visible_if/any/1/field", "self_reference"),
    ]
    contradiction = next(p for p in check_package(doc) if p.code == "contradictory")
    assert "use required_if" in contradiction.message


def test_tabs_name_known_sections_once_and_hold_every_section():
    form = copy.deepcopy(FORM)
    form["tabs"] = [{"name": "profile", "sections": ["who", "valeu"]},
                    {"name": "profile", "sections": ["who"]}]
    form["sections"][2]["visible_if"] = {"field": "tier", "op": "eq", "value": "platinum"}
    found = problems(document([form]))
    assert found == [
        ("/layouts/0/sections/1/name", "section_not_in_tab"),
        ("/layouts/0/sections/2/name", "section_not_in_tab"),
        ("/layouts/0/sections/2/visible_if/value", "invalid_value"),
        ("/layouts/0/tabs/0/sections/1", "unknown_section"),
        ("/layouts/0/tabs/1/name", "duplicate_name"),
        ("/layouts/0/tabs/1/sections/0", "duplicate_section"),
    ]
    messages = {p.path: p.message for p in check_package(document([form]))}
    assert "in no tab" in messages["/layouts/0/sections/1/name"]
    assert "did you mean 'value'" in messages["/layouts/0/tabs/0/sections/1"]


def test_a_list_has_no_tabs():
    listing = {"name": "contact_list", "entity": "contact", "kind": "list", "columns": ["full_name"],
               "tabs": [{"name": "x", "sections": ["y"]}]}
    assert problems(document([listing])) == [("/layouts/0/tabs", "property_not_allowed")]


def test_the_effective_form_carries_tabs_and_section_conditions():
    doc = document()
    doc["entities"][1]["fields"][5]["hidden"] = True  # lifetime_value
    doc["entities"][1]["fields"][4]["hidden"] = True  # tier: the value section is left empty
    form = effective_layout(load_package(doc), "contact_form")
    assert [s["name"] for s in form["sections"]] == ["who", "vip"]
    assert form["sections"][1]["visible_if"] == GOLD
    assert form["tabs"] == [{"name": "profile", "label": {"en": "Profile", "zh-CN": "资料"}, "sections": ["who"]},
                            {"name": "value", "label": {"en": "Value"}, "sections": ["vip"]}]
    plain = copy.deepcopy(FORM)
    del plain["tabs"]
    assert "tabs" not in effective_layout(load_package(document([plain])), "contact_form")


def test_changing_a_condition_is_a_change_without_ddl():
    before = load_package(document())
    after = load_package(document(contact__email={"visible_if": GOLD}))
    [change] = diff_packages(before, after)
    assert (change.kind, change.target, change.needs_ddl, change.destructive) == (
        "alter_other", "contact.email", False, False)
    assert change.old == {"visible_if": None} and change.new == {"visible_if": GOLD}
    assert "visible_if" in change.describe()


def test_leaves_walk_any_shape():
    condition = {"all": [{"field": "a", "op": "exists"}, {"not": {"field": "b", "op": "exists"}}, 3,
                         {"any": "x"}]}
    assert leaves(condition, "/c") == [("/c/all/0", "a"), ("/c/all/1/not", "b")]
    assert leaves([1]) == []


@SETTINGS
@given(json_values(), json_values())
def test_random_conditions_never_raise(visible_if, required_if):
    doc = document(contact__email={"visible_if": visible_if, "required_if": required_if})
    doc["layouts"][0]["sections"][2]["visible_if"] = visible_if
    doc["layouts"][0]["tabs"][0]["sections"] = [visible_if, "who"]
    assert_problem_list(check_package(doc))


@SETTINGS
@given(st.sampled_from(["contact__email", "contact__tier", "account__name"]), json_values())
def test_random_json_in_a_condition_is_reported_not_raised(target, condition):
    assert_problem_list(check_package(document(**{target: {"required_if": condition}})))
