"""A list view's settings beyond its columns — a default filter (a condition), the kanban
and calendar fields, the record header's key fields — and a choice option's colour:
schema, semantic checks with their paths, and the model keeping them."""
import copy

from hypothesis import given
from hypothesis import strategies as st

from metadata import Package, check_package, load_example
from metadata.model import OPTION_COLORS

FIELDS = ("full_name", "email", "phone", "birthday", "tier", "lifetime_value", "consent_marketing", "account")
LIST = {"name": "contact_list", "entity": "contact", "kind": "list", "columns": ["full_name", "tier"],
        "filter": {"all": [{"field": "tier", "op": "in", "value": ["gold", "diamond"]},
                           {"field": "email", "op": "exists"}]},
        "kanban_field": "tier", "calendar_field": "birthday", "header_fields": ["email", "tier"]}


def document(**changes):
    doc = load_example("crm_minimal")
    layout = {**copy.deepcopy(LIST), **changes}
    doc["layouts"] = [{k: v for k, v in layout.items() if v is not None}]
    return doc


def paths(doc):
    return sorted((p.path, p.code) for p in check_package(doc))


def test_a_lists_settings_are_accepted_and_kept():
    doc = document()
    assert check_package(doc) == []
    assert Package.from_document(doc).layout("contact_list") == LIST


def test_each_setting_names_a_field_of_the_right_type():
    assert paths(document(kanban_field="email", calendar_field="tier")) == [
        ("/layouts/0/calendar_field", "wrong_field_type"), ("/layouts/0/kanban_field", "wrong_field_type")]
    assert paths(document(kanban_field="stage", calendar_field="bday")) == [
        ("/layouts/0/calendar_field", "unknown_field"), ("/layouts/0/kanban_field", "unknown_field")]


def test_the_default_filter_is_checked_by_the_condition_checker():
    found = paths(document(filter={"all": [{"field": "tier", "op": "gt", "value": "gold"},
                                           {"field": "nobody", "op": "eq", "value": 1}]}))
    assert [p for p, _code in found] == ["/layouts/0/filter/all/0/op", "/layouts/0/filter/all/1/field"]


def test_header_fields_are_known_distinct_and_at_most_four():
    assert paths(document(header_fields=["email", "email", "nobody"])) == [
        ("/layouts/0/header_fields/1", "duplicate_field"), ("/layouts/0/header_fields/2", "unknown_field")]
    assert [p for p, _c in paths(document(header_fields=list(FIELDS[:5])))] == ["/layouts/0/header_fields"]


@given(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=4, unique=True), st.data())
def test_any_header_of_known_fields_passes_and_one_unknown_name_is_named(header, data):
    assert check_package(document(header_fields=header)) == []
    at = data.draw(st.integers(0, len(header) - 1))
    broken = header[:at] + ["no_such_field"] + header[at + 1:]
    assert paths(document(header_fields=broken)) == [(f"/layouts/0/header_fields/{at}", "unknown_field")]


def test_list_settings_belong_to_list_layouts():
    doc = load_example("crm_minimal")
    doc["layouts"] = [{"name": "f", "entity": "contact", "kind": "form", "kanban_field": "tier",
                       "sections": [{"name": "main", "fields": ["full_name"]}]}]
    assert paths(doc) == [("/layouts/0/kanban_field", "property_not_allowed")]


@given(st.lists(st.sampled_from(OPTION_COLORS + (None,)), min_size=4, max_size=4))
def test_an_options_colour_is_kept_and_absent_means_none(colours):
    doc = load_example("crm_minimal")
    tier = doc["entities"][1]["fields"][4]
    tier["options"] = [{"value": v, **({"color": c} if c else {})}
                       for v, c in zip(("regular", "silver", "gold", "diamond"), colours)]
    assert check_package(doc) == []
    options = Package.from_document(doc).entity("contact").field("tier").options
    assert [o.color for o in options] == colours
    assert [o.to_dict().get("color") for o in options] == colours


def test_a_colour_outside_the_palette_is_refused_with_its_path():
    doc = load_example("crm_minimal")
    doc["entities"][1]["fields"][4]["options"][2] = {"value": "gold", "color": "#ffd700"}
    assert [p for p, _c in paths(doc)] == ["/entities/1/fields/4/options/2/color"]
