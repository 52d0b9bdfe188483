"""check_package / load_package: every problem at once, each at its exact JSON Pointer."""

import pickle

import pytest

from metadata import MetadataInvalid, Problem, check_package, load_package

F = "/entities/1/fields/0"  # where doc_with() puts the field under test


def doc_with(*fields, entity="thing"):
    """A package whose second entity holds ``fields``; 'account' exists as a reference target."""
    return {"entities": [
        {"name": "account", "fields": [{"name": "name", "type": "string"}]},
        {"name": entity, "fields": list(fields)},
    ]}


def found(document, **kw):
    return {(p.path, p.code) for p in check_package(document, **kw)}


def test_all_errors_are_reported_at_once_each_with_its_exact_path():
    document = {"entities": [
        {"name": "contact", "fields": [
            {"name": "Full Name", "type": "string"},
            {"name": "select", "type": "string"},
            {"name": "a__b", "type": "strng"},
            {"name": "id", "type": "integer"},
            {"name": "company", "type": "reference", "to": "company"},
            {"name": "email", "type": "email"},
            {"name": "email", "type": "email"},
        ]},
    ]}
    problems = check_package(document)
    assert [(p.path, p.code) for p in problems] == [
        ("/entities/0/fields/0/name", "unsafe_identifier"),
        ("/entities/0/fields/1/name", "unsafe_identifier"),
        ("/entities/0/fields/2/name", "unsafe_identifier"),
        ("/entities/0/fields/2/type", "unknown_type"),
        ("/entities/0/fields/3/name", "unsafe_identifier"),
        ("/entities/0/fields/4/to", "missing_reference_target"),
        ("/entities/0/fields/6/name", "duplicate_name"),
    ]
    with pytest.raises(MetadataInvalid) as caught:
        load_package(document)
    assert caught.value.problems == problems
    assert str(caught.value).startswith("7 problems:\n  /entities/0/fields/0/name: field name 'Full Name'")


def test_reference_to_missing_entity_is_reported_with_path():
    problems = check_package(doc_with({"name": "owner", "type": "reference", "to": "acount"}))
    assert [(p.path, p.code) for p in problems] == [(F + "/to", "missing_reference_target")]
    assert "'acount'" in problems[0].message and "account" in problems[0].message


def test_unknown_type_message_names_the_value_and_lists_known_types():
    (problem,) = check_package(doc_with({"name": "x", "type": "strng"}))
    assert (problem.path, problem.code) == (F + "/type", "unknown_type")
    assert problem.message.startswith("unknown field type 'strng'; expected one of: string, text, integer")


UNSAFE_NAMES = ["Full Name", "Name", "1st", "_x", "a-b", "naïve", "", "select", "user", "order", "table",
                "a__b", "a_", "loom_owner", "x" * 49, "rowid", "xmin"]


@pytest.mark.parametrize("name", UNSAFE_NAMES + ["id", "created_at", "owner_id", "version"])
def test_unsafe_field_names_are_refused(name):
    problems = [p for p in check_package(doc_with({"name": name, "type": "string"})) if p.code != "schema"]
    assert [(p.path, p.code) for p in problems] == [(F + "/name", "unsafe_identifier")]
    assert repr(name)[1:-1][:20] in problems[0].message


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_unsafe_entity_names_are_refused(name):
    assert ("/entities/1/name", "unsafe_identifier") in found(doc_with(entity=name))


@pytest.mark.parametrize("name", ["name", "email", "status", "date", "type", "value", "a1", "x" * 48,
                                  "full_name", "owner", "ids", "versions", "looms"])
def test_safe_names_are_accepted(name):
    assert check_package(doc_with({"name": name, "type": "string"}, entity=name)) == []


def test_system_columns_are_allowed_as_entity_names_but_not_field_names():
    assert check_package(doc_with(entity="version")) == []
    assert found(doc_with({"name": "version", "type": "integer"})) == {(F + "/name", "unsafe_identifier")}


def test_duplicate_field_is_reported_at_the_second_occurrence():
    document = doc_with({"name": "a", "type": "string"}, {"name": "b", "type": "string"},
                        {"name": "a", "type": "integer"})
    (problem,) = check_package(document)
    assert (problem.path, problem.code) == ("/entities/1/fields/2/name", "duplicate_name")
    assert "/entities/1/fields/0" in problem.message


def test_duplicate_entity_is_reported_at_the_second_occurrence():
    document = {"entities": [{"name": "a", "fields": []}, {"name": "b", "fields": []}, {"name": "a", "fields": []}]}
    assert found(document) == {("/entities/2/name", "duplicate_name")}


@pytest.mark.parametrize("field, key", [
    ({"name": "x", "type": "integer", "options": ["a"]}, "options"),
    ({"name": "x", "type": "string", "to": "account"}, "to"),
    ({"name": "x", "type": "string", "precision": 10}, "precision"),
    ({"name": "x", "type": "string", "scale": 1}, "scale"),
    ({"name": "x", "type": "boolean", "max_length": 3}, "max_length"),
    ({"name": "x", "type": "string", "min": 1}, "min"),
    ({"name": "x", "type": "text", "max": 1}, "max"),
    ({"name": "x", "type": "integer", "pattern": "[0-9]+"}, "pattern"),
    ({"name": "x", "type": "integer", "max_length": 3}, "max_length"),
    ({"name": "x", "type": "choice", "options": ["a"], "on_delete": "cascade"}, "on_delete"),
    ({"name": "x", "type": "reference", "to": "account", "max_length": 3}, "max_length"),
    ({"name": "x", "type": "json", "pattern": "x"}, "pattern"),
    ({"name": "x", "type": "date", "precision": 3}, "precision"),
    ({"name": "x", "type": "vin", "precision": 3}, "precision"),  # plugin type, base string
])
def test_properties_that_do_not_belong_to_the_type_are_refused(field, key):
    problems = check_package(doc_with(field), extra_types={"vin": "string"})
    assert [(p.path, p.code) for p in problems] == [(f"{F}/{key}", "property_not_allowed")]
    assert f"'{key}'" in problems[0].message


@pytest.mark.parametrize("field", [
    {"name": "x", "type": "string", "max_length": 10, "pattern": "[a-z]+"},
    {"name": "x", "type": "text", "max_length": 10000},
    {"name": "x", "type": "email", "max_length": 254},
    {"name": "x", "type": "phone", "pattern": r"\+?[0-9 ]+"},
    {"name": "x", "type": "url", "max_length": 2000},
    {"name": "x", "type": "integer", "min": 0, "max": 10},
    {"name": "x", "type": "decimal", "precision": 10, "scale": 4, "min": "-1.5", "max": 2},
    {"name": "x", "type": "currency", "precision": 14, "scale": 2},
    {"name": "x", "type": "date", "min": "2000-01-01", "max": "2100-12-31"},
    {"name": "x", "type": "datetime", "min": "2000-01-01T00:00:00Z", "max": "2100-01-01 00:00"},
    {"name": "x", "type": "choice", "options": [{"value": "a", "label": {"en": "A"}}, "b"]},
    {"name": "x", "type": "multi_choice", "options": ["a", "b"], "default": ["a"]},
    {"name": "x", "type": "reference", "to": "account", "on_delete": "cascade", "required": True},
    {"name": "x", "type": "reference", "to": "thing"},  # self reference
    {"name": "x", "type": "boolean", "required": True, "unique": False, "indexed": True, "pii": False,
     "readonly": True, "label": "X", "help": {"en": "Why", "zh-CN": "为什么"}},
    {"name": "x", "type": "json", "default": {"any": [1, None, "thing"]}},
    {"name": "x", "type": "vin", "max_length": 17, "default": "WVWZZZ1JZXW000001"},
])
def test_well_formed_fields_are_accepted(field):
    assert check_package(doc_with(field), extra_types={"vin": "string"}) == []


@pytest.mark.parametrize("field, key", [
    ({"name": "x", "type": "choice"}, "options"),
    ({"name": "x", "type": "multi_choice"}, "options"),
    ({"name": "x", "type": "reference"}, "to"),
])
def test_required_type_properties_must_be_present(field, key):
    assert found(doc_with(field)) == {(f"{F}/{key}", "missing_property")}


def test_set_null_on_a_required_reference_is_contradictory():
    field = {"name": "x", "type": "reference", "to": "account", "on_delete": "set_null", "required": True}
    assert found(doc_with(field)) == {(F + "/on_delete", "contradictory")}


def test_a_reference_cannot_have_a_default():
    field = {"name": "x", "type": "reference", "to": "account", "default": 1}
    assert found(doc_with(field)) == {(F + "/default", "invalid_default")}


@pytest.mark.parametrize("field", [
    {"type": "string", "default": 5},
    {"type": "string", "max_length": 3, "default": "abcd"},
    {"type": "string", "pattern": "[a-z]+", "default": "ABC"},
    {"type": "text", "default": ["a"]},
    {"type": "email", "default": "not-an-email"},
    {"type": "email", "default": "a@b"},
    {"type": "integer", "default": True},
    {"type": "integer", "default": 1.5},
    {"type": "integer", "default": "1"},
    {"type": "integer", "default": 2**63},
    {"type": "integer", "min": 0, "default": -1},
    {"type": "integer", "max": 10, "default": 11},
    {"type": "decimal", "default": "abc"},
    {"type": "decimal", "default": "1e5"},
    {"type": "decimal", "default": True},
    {"type": "decimal", "precision": 5, "scale": 2, "default": "1234.5"},
    {"type": "decimal", "precision": 5, "scale": 2, "default": 1.234},
    {"type": "currency", "min": "0", "default": {"amount": "-0.01", "currency": "CNY"}},
    {"type": "currency", "default": 0},
    {"type": "currency", "default": {"amount": 1, "currency": "cny"}},
    {"type": "phone", "default": "call me"},
    {"type": "url", "default": "ftp://example.com"},
    {"type": "boolean", "default": "true"},
    {"type": "boolean", "default": 0},
    {"type": "date", "default": "2024-02-30"},
    {"type": "date", "default": "24-01-01"},
    {"type": "date", "default": "2024-01-01T10:00:00"},
    {"type": "date", "min": "2024-01-01", "default": "2023-12-31"},
    {"type": "datetime", "default": "2024-01-01"},
    {"type": "datetime", "default": "yesterday"},
    {"type": "datetime", "max": "2024-01-01T00:00:00Z", "default": "2024-01-01T00:00:01Z"},
    {"type": "choice", "options": ["a", "b"], "default": "c"},
    {"type": "choice", "options": ["a", "b"], "default": ["a"]},
    {"type": "multi_choice", "options": ["a", "b"], "default": "a"},
    {"type": "multi_choice", "options": ["a", "b"], "default": ["a", "c"]},
    {"type": "multi_choice", "options": ["a", "b"], "default": ["a", "a"]},
    {"type": "string", "required": True, "default": None},
])
def test_defaults_that_do_not_fit_the_field_are_refused(field):
    problems = check_package(doc_with({"name": "x", **field}))
    assert [(p.path, p.code) for p in problems] == [(F + "/default", "invalid_default")]


@pytest.mark.parametrize("field", [
    {"type": "string", "max_length": 3, "pattern": "[a-z]+", "default": "abc"},
    {"type": "text", "default": ""},
    {"type": "email", "default": "ops@example.com"},
    {"type": "phone", "default": "+86 10 1234 5678"},
    {"type": "url", "default": "https://loom.dev"},
    {"type": "integer", "min": 0, "max": 10, "default": 10},
    {"type": "decimal", "precision": 5, "scale": 2, "default": "123.45"},
    {"type": "decimal", "precision": 5, "scale": 2, "default": 123.4},
    {"type": "decimal", "precision": 5, "scale": 2, "default": "-0.50"},
    {"type": "currency", "default": {"amount": 0, "currency": "CNY"}},
    {"type": "boolean", "default": True},
    {"type": "date", "min": "2024-01-01", "default": "2024-02-29"},
    {"type": "datetime", "default": "2024-05-01T09:30:00+08:00"},
    {"type": "datetime", "min": "2024-05-01T00:00:00Z", "default": "2024-05-01T09:30:00+08:00"},
    {"type": "choice", "options": [{"value": "a"}, "b"], "default": "a"},
    {"type": "multi_choice", "options": ["a", "b"], "default": []},
    {"type": "json", "default": None},
    {"type": "string", "default": None},
])
def test_defaults_that_fit_the_field_are_accepted(field):
    assert check_package(doc_with({"name": "x", **field})) == []


@pytest.mark.parametrize("field, key, code", [
    ({"type": "decimal", "precision": 4, "scale": 5}, "scale", "invalid_precision"),
    ({"type": "currency", "precision": 1}, "precision", "invalid_precision"),  # default scale 2
    ({"type": "decimal", "scale": 20}, "scale", "invalid_precision"),  # default precision 18
    ({"type": "integer", "min": 10, "max": 5}, "max", "invalid_range"),
    ({"type": "decimal", "min": "10.5", "max": 10}, "max", "invalid_range"),
    ({"type": "date", "min": "2024-02-01", "max": "2024-01-31"}, "max", "invalid_range"),
    ({"type": "datetime", "min": "2024-01-01T12:00:00+02:00", "max": "2024-01-01T09:00:00Z"}, "max",
     "invalid_range"),
    ({"type": "integer", "min": "1"}, "min", "invalid_bound"),
    ({"type": "integer", "max": 1.5}, "max", "invalid_bound"),
    ({"type": "date", "min": 5}, "min", "invalid_bound"),
    ({"type": "date", "max": "2024-13-01"}, "max", "invalid_bound"),
    ({"type": "datetime", "min": "2024-01-01"}, "min", "invalid_bound"),
    ({"type": "decimal", "min": "ten"}, "min", "invalid_bound"),
    ({"type": "string", "pattern": "(unclosed"}, "pattern", "invalid_pattern"),
    ({"type": "choice", "options": ["a", "b", "a"]}, "options/2", "duplicate_option"),
    ({"type": "choice", "options": ["a", {"value": "a", "label": "A"}]}, "options/1/value", "duplicate_option"),
    ({"type": "multi_choice", "options": ["a", ""]}, "options/1", "invalid_option"),
    ({"type": "choice", "options": [{"value": " "}]}, "options/0/value", "invalid_option"),
    ({"type": "choice", "options": ["a", 5]}, "options/1", "schema"),  # option values must be strings
    ({"type": "choice", "options": [{"value": 5}]}, "options/0/value", "schema"),
    ({"type": "choice", "options": []}, "options", "schema"),
    ({"type": "string", "default": "x\x00y"}, "default", "unstorable_text"),
    ({"type": "choice", "options": ["a\x00", "b"]}, "options/0", "unstorable_text"),
    ({"type": "choice", "options": [{"value": "a", "label": {"en": "A\ud800"}}]}, "options/0/label/en",
     "unstorable_text"),
    ({"type": "string", "help": "\udfffhelp"}, "help", "unstorable_text"),
])
def test_semantic_check_is_reported_at_its_path(field, key, code):
    problems = check_package(doc_with({"name": "x", **field}))
    assert [(p.path, p.code) for p in problems] == [(f"{F}/{key}", code)]


def test_invalid_pattern_message_includes_the_regex_error():
    (problem,) = check_package(doc_with({"name": "x", "type": "string", "pattern": "(unclosed"}))
    assert "'(unclosed'" in problem.message and "unbalanced (" in problem.message


def test_more_than_500_fields_is_refused():
    fields = [{"name": f"f{i}", "type": "string"} for i in range(501)]
    assert found(doc_with(*fields)) == {("/entities/1/fields", "too_many_fields")}
    assert check_package(doc_with(*fields[:500])) == []


@pytest.mark.parametrize("document, expected", [
    (None, {("", "schema")}),
    ([], {("", "schema")}),
    ({}, {("/entities", "schema")}),
    ({"entities": {}}, {("/entities", "schema")}),
    ({"entities": [], "colour": "red"}, {("/colour", "schema")}),
    ({"entities": [], "version": 2}, {("/version", "schema")}),
    ({"entities": [{"name": "a"}]}, {("/entities/0/fields", "schema")}),
    ({"entities": [{"name": "a", "fields": [], "extra": 1}]}, {("/entities/0/extra", "schema")}),
    (doc_with({"name": "x", "type": "string", "colour": "red"}), {(F + "/colour", "schema")}),
    (doc_with({"name": "x"}), {(F + "/type", "schema")}),
    (doc_with({"name": "x", "type": "string", "max_length": 0}), {(F + "/max_length", "schema")}),
    (doc_with({"name": "x", "type": "decimal", "precision": 39}), {(F + "/precision", "schema")}),
    (doc_with({"name": "x", "type": "reference", "to": "account", "on_delete": "nullify"}),
     {(F + "/on_delete", "schema")}),
    (doc_with({"name": "x", "type": "string", "required": "yes"}), {(F + "/required", "schema")}),
    (doc_with({"name": "x", "type": "string", "label": {"EN": "X"}}), {(F + "/label", "schema")}),
    (doc_with({"name": "x", "type": "string", "label": {"en": ""}}), {(F + "/label/en", "schema")}),
    (doc_with({"name": "x", "type": "string", "label": {}}), {(F + "/label", "schema")}),
    (doc_with({"name": "x", "type": "string", "label": ""}), {(F + "/label", "schema")}),
    (doc_with({"name": "x", "type": "string", "help": 5}), {(F + "/help", "schema")}),
])
def test_schema_problems_carry_json_pointer_paths(document, expected):
    assert found(document) == expected


def test_schema_messages_are_plain_words():
    problems = check_package({"entities": [{"name": "a", "fields": [
        {"name": "x", "type": "string", "colour": "red", "label": {"EN": "X"}, "max_length": 0}]}], "v": 1})
    messages = {p.path: p.message for p in problems}
    assert messages["/v"] == "unknown property 'v'; allowed: description, entities, layouts, permission_sets, roles, rulesets, settings, templates, version, workflows"
    assert messages["/entities/0/fields/0/colour"].startswith("unknown property 'colour'")
    assert messages["/entities/0/fields/0/label"] == "'EN' is not a language tag; use tags such as 'en' or 'zh-CN'"
    assert messages["/entities/0/fields/0/max_length"] == "must be at least 1, got 0"
    (option,) = check_package(doc_with({"name": "x", "type": "choice", "options": [5]}))
    assert option.message.startswith("expected option text or an object such as {\"value\": \"gold\"")
    (label,) = check_package(doc_with({"name": "x", "type": "string", "label": 5}))
    assert label.message.startswith("expected non-empty text or a language map such as {\"en\": ")


SPEC_RESERVED = """select from where table order group user index primary references default check column
constraint create drop insert update delete and or not null true false limit offset union join having as by
case when then else end in is like between distinct all any some exists foreign key unique grant to into values
set on with desc asc cast current_date current_time current_timestamp current_user session_user fetch for only
analyse analyze array both collate do except intersect leading trailing placing returning symmetric using
variadic window authorization binary cross full inner left right natural outer verbose freeze ilike isnull
notnull overlaps similar tablesample lateral concurrently initially deferrable localtime localtimestamp abort
transaction commit rollback pragma vacuum trigger view""".split()


@pytest.mark.parametrize("word", SPEC_RESERVED)
def test_sql_reserved_words_are_refused_as_names(word):
    assert found(doc_with({"name": word, "type": "string"})) == {(F + "/name", "unsafe_identifier")}


def test_problems_are_sorted_numerically_by_path_then_code_and_deduplicated():
    entities = [{"name": f"e{i}", "fields": [{"name": "Bad", "type": "nope"}]} for i in range(12)]
    problems = check_package({"entities": entities})
    paths = [p.path for p in problems]
    assert paths[:4] == ["/entities/0/fields/0/name", "/entities/0/fields/0/type",
                         "/entities/1/fields/0/name", "/entities/1/fields/0/type"]
    assert paths[-2:] == ["/entities/11/fields/0/name", "/entities/11/fields/0/type"]
    assert len(set(problems)) == len(problems) == 24


def test_semantic_checks_still_run_beside_schema_problems():
    document = {"entities": [{"name": "a", "colour": 1, "fields": [
        {"name": "select", "type": "string", "extra": True}, 7, {"name": "b", "type": "strng"}]}]}
    assert found(document) == {
        ("/entities/0/colour", "schema"), ("/entities/0/fields/0/extra", "schema"),
        ("/entities/0/fields/0/name", "unsafe_identifier"), ("/entities/0/fields/1", "schema"),
        ("/entities/0/fields/2/type", "unknown_type"),
    }


def test_plugin_types_validate_as_their_base_type_and_set_base_type():
    field = {"name": "vin", "type": "vin", "max_length": 17}
    assert found(doc_with(field)) == {(F + "/type", "unknown_type")}
    package = load_package(doc_with(field), extra_types={"vin": "string"})
    assert package.entity("thing").field("vin").base_type == "string"
    assert package.entity("thing").field("vin").type == "vin"
    money = {"name": "amount", "type": "money", "default": "1.234"}
    assert found(doc_with(money), extra_types={"money": "decimal"}) == {(F + "/default", "invalid_default")}
    unknown = check_package(doc_with({"name": "x", "type": "nope"}), extra_types={"vin": "string"})
    assert unknown[0].message.endswith("currency, json, vin")


@pytest.mark.parametrize("extra_types", [{"vin": "varchar"}, {"string": "text"}, {5: "string"}])
def test_malformed_plugin_type_mapping_is_a_programming_error(extra_types):
    with pytest.raises(ValueError):
        check_package(doc_with(), extra_types=extra_types)


def test_value_problem_lets_the_engine_reuse_the_default_rules():
    from metadata.fieldtypes import value_problem
    field = load_package(doc_with({"name": "x", "type": "decimal", "precision": 5, "scale": 2, "min": 0,
                                   "required": True})).entity("thing").field("x")
    assert value_problem(field, "123.45") is None
    assert "scale allows 2" in value_problem(field, "1.234")
    assert "less than min 0" in value_problem(field, -1)
    assert value_problem(field, None) == "a value is required"


def test_problem_to_dict_uses_the_http_details_shape():
    problem = Problem("/entities/0/name", "unsafe_identifier", "bad")
    assert problem.to_dict() == {"field": "/entities/0/name", "code": "unsafe_identifier", "message": "bad"}


def test_metadata_invalid_summarises_and_pickles():
    problems = [Problem("", "schema", "expected an object, got null")]
    exc = MetadataInvalid(problems)
    assert str(exc) == "1 problem:\n  /: expected an object, got null"
    assert exc.to_dict() == [{"field": "", "code": "schema", "message": "expected an object, got null"}]
    assert pickle.loads(pickle.dumps(exc)).problems == problems
    with pytest.raises(MetadataInvalid):
        load_package(None)


def test_a_key_no_database_stores_is_reported_escaped_at_its_path():
    document = doc_with({"name": "x", "type": "json", "default": {"a\x00b": 1}})
    problems = [(p.path, p.code) for p in check_package(document) if p.code == "unstorable_text"]
    assert problems == [(f"{F}/default/a\\x00b", "unstorable_text")]


@pytest.mark.parametrize("entity", [
    {"name": "x", "fields": [{"name": "a", "type": "string", "pii": {"class": "identity"}}]},
    {"name": "x", "natural_key": "a", "fields": [{"name": ["a"], "type": "string"}]},
    {"name": "x", "duplicate_rules": [], "fields": [{"name": ["a"], "type": "string"}]},
    {"name": "x", "privacy": {"retention": {"field": "a"}}, "fields": [{"name": {"a": 1}, "type": "string"}]},
    {"name": "x", "indexes": [{"fields": ["a"]}], "fields": [{"name": "a", "type": "string", "pii": ["identity"]}]},
])
def test_a_field_whose_name_or_pii_has_another_shape_is_a_problem_not_a_crash(entity):
    problems = check_package({"entities": [entity]})
    assert problems and all(isinstance(p, Problem) for p in problems)
