"""Layouts (forms and list views) and hidden fields: schema, semantic checks with paths,
the model, effective layouts, and diffs that need no DDL."""
import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metadata
from metadata import (
    Change, Package, check_package, diff_packages, effective_layout, effective_layouts, load_example, load_package,
)
from metadata.diff import KINDS
from metadata.layouts import hidden_fields
from tests.metadata.test_metadata_properties import assert_problem_list, json_values

FORM = {"name": "contact_form", "entity": "contact", "kind": "form", "label": {"en": "Contact", "zh-CN": "联系人"},
        "sections": [{"name": "who", "label": {"en": "Who", "zh-CN": "谁"}, "columns": 2,
                      "fields": ["full_name", "email", "phone", "birthday"]},
                     {"name": "value", "fields": ["tier", "lifetime_value", "account"]}]}
LIST = {"name": "contact_list", "entity": "contact", "kind": "list", "label": "Contacts",
        "columns": ["id", "full_name", "tier", "birthday", "created_at", "owner_id"],
        "sort": "-lifetime_value,full_name", "page_size": 25}
ACCOUNTS = {"name": "account_list", "entity": "account", "kind": "list", "columns": ["name"]}


def document(*layouts, hide=()):
    doc = load_example("crm_minimal")
    doc["layouts"] = copy.deepcopy(list(layouts))
    for entity in doc["entities"]:
        for field in entity["fields"]:
            if f"{entity['name']}.{field['name']}" in hide:
                field["hidden"] = True
    return doc


def paths(doc):
    return sorted((p.path, p.code) for p in check_package(doc))


# --- valid documents -----------------------------------------------------------------

def test_forms_and_lists_are_accepted_and_kept_verbatim():
    doc = document(FORM, LIST, ACCOUNTS, hide=("contact.birthday",))
    assert check_package(doc) == []
    package = load_package(doc)
    assert package.layouts == (FORM, LIST, ACCOUNTS)
    assert package.layout("contact_list") == LIST and package.layout("nope") is None
    assert [layout["name"] for layout in package.layouts_for("contact")] == ["contact_form", "contact_list"]
    assert package.layouts_for("nobody") == []
    assert package.to_dict()["layouts"] == [FORM, LIST, ACCOUNTS]
    assert Package.from_document(package.to_dict()) == package


def test_layout_copies_are_private():
    package = load_package(document(FORM))
    package.layout("contact_form")["sections"].clear()
    package.layouts_for("contact")[0]["label"] = "x"
    effective_layout(package, "contact_form")["sections"][0]["fields"].clear()
    assert package.layout("contact_form") == FORM


def test_packages_without_layouts_or_hidden_fields_keep_their_canonical_form():
    package = load_package(load_example("crm_minimal"))
    canonical = package.to_dict()
    assert "layouts" not in canonical and package.layouts == ()
    assert all("hidden" not in f for e in canonical["entities"] for f in e["fields"])


def test_hidden_is_a_field_property_written_only_when_true():
    doc = document(hide=("contact.birthday",))
    doc["entities"][1]["fields"][0]["hidden"] = False
    package = load_package(doc)
    contact = package.entity("contact")
    assert contact.field("birthday").hidden and not contact.field("full_name").hidden
    fields = {f["name"]: f for f in package.to_dict()["entities"][1]["fields"]}
    assert fields["birthday"]["hidden"] is True and "hidden" not in fields["full_name"]
    assert hidden_fields(package, "contact") == ("birthday",) and hidden_fields(package, "nope") == ()


def test_hidden_must_be_a_boolean():
    doc = document()
    doc["entities"][1]["fields"][0]["hidden"] = "yes"
    assert paths(doc) == [("/entities/1/fields/0/hidden", "schema")]


def test_minimal_layouts_need_only_name_entity_kind_and_content():
    doc = document({"name": "f", "entity": "account", "kind": "form", "sections": [{"name": "s", "fields": ["name"]}]},
                   {"name": "l", "entity": "account", "kind": "list", "columns": ["name"]})
    assert check_package(doc) == []


# --- effective layouts ---------------------------------------------------------------

def test_effective_layouts_leave_hidden_fields_out_and_fill_defaults():
    package = load_package(document(FORM, LIST, ACCOUNTS,
                                    hide=("contact.birthday", "contact.tier", "contact.lifetime_value",
                                          "contact.account")))
    form = effective_layout(package, "contact_form")
    assert form == {"name": "contact_form", "entity": "contact", "kind": "form",
                    "label": {"en": "Contact", "zh-CN": "联系人"},
                    "sections": [{"name": "who", "label": {"en": "Who", "zh-CN": "谁"}, "columns": 2,
                                  "fields": ["full_name", "email", "phone"]}]}  # "value" is all hidden
    listed = effective_layout(package, "contact_list")
    assert listed["columns"] == ["id", "full_name", "created_at", "owner_id"]
    assert listed["label"] == {"en": "Contacts"} and listed["page_size"] == 25
    assert listed["sort"] == "-lifetime_value,full_name"  # sorting by a hidden field still works
    accounts = effective_layout(package, "account_list")
    assert accounts["label"] == {"en": "Account list"} and accounts["page_size"] == 50
    assert effective_layout(package, "nope") is None


def test_effective_layouts_of_a_package_or_an_entity():
    package = load_package(document(FORM, LIST, ACCOUNTS))
    assert [x["name"] for x in effective_layouts(package)] == ["contact_form", "contact_list", "account_list"]
    assert [x["name"] for x in effective_layouts(package, "account")] == ["account_list"]
    assert effective_layouts(package, "nope") == []
    unhidden = effective_layout(package, "contact_form")
    assert unhidden["sections"][1] == {"name": "value", "label": {"en": "Value"}, "columns": 1,
                                       "fields": ["tier", "lifetime_value", "account"]}


# --- problems, each with its path ------------------------------------------------------

def test_schema_problems_have_paths():
    bad = [
        {"name": "a", "entity": "contact", "kind": "grid"},
        {"name": "b", "entity": "contact", "kind": "form"},
        {"name": "c", "entity": "contact", "kind": "list"},
        {"name": "d", "entity": "contact", "kind": "form", "sections": [{"name": "s", "columns": 5, "fields": []}]},
        {"name": "e", "entity": "contact", "kind": "list", "columns": [], "page_size": 201, "sort": ""},
        {"entity": "contact", "kind": "list", "columns": ["tier"], "colour": "red"},
        "not a layout",
    ]
    assert paths(document(*bad)) == [
        ("/layouts/0/kind", "schema"), ("/layouts/1/sections", "schema"), ("/layouts/2/columns", "schema"),
        ("/layouts/3/sections/0/columns", "schema"), ("/layouts/3/sections/0/fields", "schema"),
        ("/layouts/4/columns", "schema"), ("/layouts/4/page_size", "schema"), ("/layouts/4/sort", "schema"),
        ("/layouts/5/colour", "schema"), ("/layouts/5/name", "schema"), ("/layouts/6", "schema")]


def test_layout_names_are_safe_and_unique():
    assert paths(document(FORM, {**LIST, "name": "contact_form"}, {**ACCOUNTS, "name": "Account List"})) == [
        ("/layouts/1/name", "duplicate_name"), ("/layouts/2/name", "unsafe_identifier")]


def test_the_entity_must_exist():
    problems = check_package(document({**LIST, "entity": "contat"}))
    assert [(p.path, p.code) for p in problems] == [("/layouts/0/entity", "unknown_entity")]
    assert "entities: account, contact" in problems[0].message


def test_form_fields_must_exist_and_appear_once_in_uniquely_named_sections():
    form = copy.deepcopy(FORM)
    form["sections"][0]["fields"] += ["full_nam", "created_at", "email"]
    form["sections"][1]["name"] = "who"
    form["sections"][1]["fields"].append("phone")
    problems = check_package(document(form))
    assert [(p.path, p.code) for p in problems] == [
        ("/layouts/0/sections/0/fields/4", "unknown_field"), ("/layouts/0/sections/0/fields/5", "unknown_field"),
        ("/layouts/0/sections/0/fields/6", "duplicate_field"), ("/layouts/0/sections/1/fields/3", "duplicate_field"),
        ("/layouts/0/sections/1/name", "duplicate_name")]
    assert "did you mean 'full_name'?" in problems[0].message
    assert "/layouts/0/sections/0/fields/2" in problems[3].message


def test_section_names_are_safe_identifiers():
    form = copy.deepcopy(FORM)
    form["sections"][0]["name"] = "Who"
    assert paths(document(form)) == [("/layouts/0/sections/0/name", "unsafe_identifier")]


def test_list_columns_may_name_fields_and_some_system_columns_once():
    bad = {**LIST, "columns": ["full_name", "version", "created_by", "full_name", "nope"]}
    assert paths(document(bad)) == [
        ("/layouts/0/columns/1", "unknown_field"), ("/layouts/0/columns/2", "unknown_field"),
        ("/layouts/0/columns/3", "duplicate_field"), ("/layouts/0/columns/4", "unknown_field")]


@pytest.mark.parametrize("sort,code", [
    ("-lifetime_value,nope", "unknown_field"), ("version", "unknown_field"), ("tier,,id", "invalid_sort"),
    ("-", "invalid_sort"), ("tier,-tier", "invalid_sort"), ("a,b,c,d,e,f", "invalid_sort"),
])
def test_list_sort_is_checked_like_the_list_api(sort, code):
    assert paths(document({**LIST, "sort": sort})) == [("/layouts/0/sort", code)]


@pytest.mark.parametrize("sort", ["id", "-created_at,updated_at", "owner_id,-id", "-lifetime_value,full_name,id"])
def test_valid_sorts(sort):
    assert check_package(document({**LIST, "sort": sort})) == []


def test_json_and_multi_choice_fields_cannot_sort_a_list():
    doc = document({**LIST, "sort": "extra"})
    doc["entities"][1]["fields"].append({"name": "extra", "type": "json"})
    assert paths(doc) == [("/layouts/0/sort", "not_sortable")]


def test_keys_of_the_other_kind_are_refused():
    form = {**FORM, "columns": ["tier"], "sort": "tier", "page_size": 10}
    listed = {**LIST, "sections": FORM["sections"]}
    assert paths(document(form, listed)) == [
        ("/layouts/0/columns", "property_not_allowed"), ("/layouts/0/page_size", "property_not_allowed"),
        ("/layouts/0/sort", "property_not_allowed"), ("/layouts/1/sections", "property_not_allowed")]


def test_load_package_raises_with_every_problem():
    with pytest.raises(metadata.MetadataInvalid) as caught:
        load_package(document({**FORM, "entity": "account"}))
    assert len(caught.value.problems) == 7  # every contact field named on an account form
    assert {p.code for p in caught.value.problems} == {"unknown_field"}


def test_fields_of_an_unknown_entity_are_not_reported_twice():
    assert paths(document({**FORM, "entity": "nobody"})) == [("/layouts/0/entity", "unknown_entity")]


layout_keys = st.sampled_from(["name", "entity", "kind", "label", "sections", "columns", "sort", "page_size", "x"])
tricky = (json_values() | st.sampled_from(["form", "list", "contact", "tier", "-tier,id", ",", "-"])
          | st.lists(st.sampled_from(["tier", "id", "nope", 1, {"name": "s", "fields": ["tier", "tier"]},
                                      {"name": 3, "fields": "x"}]), max_size=4))


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(layout_keys, tricky, max_size=8) | tricky, max_size=4))
def test_random_layouts_never_raise(layouts):
    doc = load_example("crm_minimal")
    doc["layouts"] = layouts
    assert_problem_list(check_package(doc))


# --- diffs -----------------------------------------------------------------------------

def kinds(changes):
    return [(c.kind, c.entity, c.field) for c in changes]


def test_layout_changes_need_no_ddl_and_dropping_one_destroys_nothing():
    before = load_package(document(FORM, LIST))
    edited = copy.deepcopy(LIST)
    edited["columns"].remove("tier")
    after = load_package(document(edited, ACCOUNTS))
    changes = diff_packages(before, after)
    assert kinds(changes) == [("drop_layout", "contact", None), ("change_layout", "contact", None),
                              ("add_layout", "account", None)]
    assert not any(c.needs_ddl or c.destructive or c.needs_state_map for c in changes)
    assert [c.describe() for c in changes] == [
        "drop form layout contact_form of contact", "change list layout contact_list of contact",
        "add list layout account_list of account"]
    assert changes[1].old == LIST and changes[1].new == edited
    assert diff_packages(after, load_package(document(edited, ACCOUNTS))) == []


def test_a_plain_label_and_its_language_map_differ_as_written():
    before = load_package(document(LIST))
    after = load_package(document({**LIST, "label": {"en": "Contacts"}}))
    assert kinds(diff_packages(before, after)) == [("change_layout", "contact", None)]


def test_hiding_and_showing_a_field_is_a_no_ddl_field_change():
    shown = load_package(document(FORM))
    hidden = load_package(document(FORM, hide=("contact.birthday", "account.industry")))
    changes = diff_packages(shown, hidden)
    assert kinds(changes) == [("alter_hidden", "account", "industry"), ("alter_hidden", "contact", "birthday")]
    assert (changes[1].old, changes[1].new) == (False, True)
    assert not any(c.needs_ddl or c.destructive for c in changes)
    assert changes[1].describe() == "hide contact.birthday from layouts"
    assert diff_packages(hidden, shown)[1].describe() == "show contact.birthday in layouts again"


def test_layout_changes_come_before_field_and_entity_drops():
    doc = document(FORM)
    before = load_package(doc)
    doc["layouts"] = [ACCOUNTS]
    doc["entities"][1]["fields"].pop()  # account (the reference)
    after = load_package(doc)
    assert kinds(diff_packages(before, after)) == [
        ("drop_layout", "contact", None), ("add_layout", "account", None), ("drop_field", "contact", "account")]


def test_the_new_kinds_are_listed():
    for kind in ("add_layout", "change_layout", "drop_layout", "alter_hidden"):
        assert kind in KINDS and not Change(kind, "x").needs_ddl and not Change(kind, "x").destructive


def test_the_layout_schema_ships_and_is_referenced_by_the_package_schema():
    schema = metadata.load_schema("layout")
    assert schema["$id"] == "https://loom.dev/schemas/layout.schema.json"
    package = metadata.load_schema("package")
    assert package["properties"]["layouts"]["items"] == {"$ref": schema["$id"]}
    from jsonschema import Draft202012Validator
    Draft202012Validator.check_schema(schema)


def test_the_documented_example_renders_as_the_docs_say():
    import json
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "metadata.md").read_text(encoding="utf-8")
    section = text.split("## Layouts", 1)[1]
    body = re.search(r"<!-- doc-example: valid -->\s*```json\n(.*?)```", section, re.S).group(1)
    package = load_package(json.loads(body))
    form = effective_layout(package, "membership_form")
    assert [s["fields"] for s in form["sections"]] == [["number", "tier", "status", "joined"], ["points_balance"]]
    assert package.layout("membership_form")["sections"][1]["fields"] == ["points_balance", "legacy_code"]
    assert effective_layout(package, "membership_list")["sort"] == "-joined,number"
