"""Composite indexes in entity metadata: schema and semantic checks (with paths), the
model's round trip, and the add_index / drop_index changes of the diff."""
import copy

import pytest

from metadata import Package, check_package, diff_packages, load_package
from metadata.model import Index


def document(*indexes, extra_fields=()) -> dict:
    return {"entities": [
        {"name": "account", "fields": [{"name": "name", "type": "string"}]},
        {"name": "contact", "fields": [
            {"name": "full_name", "type": "string", "required": True},
            {"name": "tier", "type": "choice", "options": ["gold", "silver"], "indexed": True},
            {"name": "lifetime_value", "type": "decimal"},
            {"name": "tags", "type": "multi_choice", "options": ["a", "b"]},
            {"name": "extra", "type": "json"},
            {"name": "account", "type": "reference", "to": "account"},
            *extra_fields,
        ], **({"indexes": list(indexes)} if indexes else {})},
    ]}


def problems(doc) -> list:
    return [(p.path, p.code) for p in check_package(doc)]


def test_a_valid_composite_index_loads_into_the_model():
    package = load_package(document({"fields": ["tier", "lifetime_value"]},
                                     {"fields": ["owner_id", "created_at"], "unique": True, "name": "ux_mine"}))
    assert package.entity("contact").indexes == (
        Index(("tier", "lifetime_value"), False, None), Index(("owner_id", "created_at"), True, "ux_mine"))
    assert package.entity("account").indexes == ()


def test_round_trip_and_canonical_form():
    doc = document({"fields": ["tier", "lifetime_value"], "unique": False},
                   {"fields": ["updated_at"], "unique": True, "name": "ux_contact_upd"})
    package = load_package(doc)
    canonical = package.to_dict()
    assert canonical["entities"][1]["indexes"] == [
        {"fields": ["tier", "lifetime_value"]},
        {"fields": ["updated_at"], "unique": True, "name": "ux_contact_upd"}]
    assert Package.from_document(canonical) == package
    assert "indexes" not in canonical["entities"][0]  # omitted when there are none


def test_documents_without_indexes_keep_their_canonical_form():
    doc = document()
    canonical = load_package(doc).to_dict()
    assert all("indexes" not in e for e in canonical["entities"])
    assert load_package(canonical).to_dict() == canonical


@pytest.mark.parametrize("index, expected", [
    ({"fields": []}, ("/entities/1/indexes/0/fields", "schema")),
    ({"fields": [f"f{i}" for i in range(9)]}, ("/entities/1/indexes/0/fields", "schema")),
    ({"fields": ["full_name"], "where": "x"}, ("/entities/1/indexes/0/where", "schema")),
    ({"fields": ["full_name", 3]}, ("/entities/1/indexes/0/fields/1", "schema")),
    ({"fields": ["full_name"], "unique": "yes"}, ("/entities/1/indexes/0/unique", "schema")),
    ({}, ("/entities/1/indexes/0/fields", "schema")),
    ({"fields": ["tier", "nope"]}, ("/entities/1/indexes/0/fields/1", "unknown_field")),
    ({"fields": ["tier", "id"]}, ("/entities/1/indexes/0/fields/1", "unknown_field")),
    ({"fields": ["tier", "version"]}, ("/entities/1/indexes/0/fields/1", "unknown_field")),
    ({"fields": ["tier", "tags"]}, ("/entities/1/indexes/0/fields/1", "not_indexable")),
    ({"fields": ["extra"]}, ("/entities/1/indexes/0/fields/0", "not_indexable")),
    ({"fields": ["tier", "lifetime_value", "tier"]}, ("/entities/1/indexes/0/fields/2", "duplicate_name")),
    ({"fields": ["tier", "full_name"], "name": "Bad Name"}, ("/entities/1/indexes/0/name", "unsafe_identifier")),
])
def test_bad_indexes_are_reported_at_their_path(index, expected):
    assert problems(document(index)) == [expected]


def test_two_indexes_on_the_same_field_list_are_refused():
    doc = document({"fields": ["tier", "lifetime_value"]}, {"fields": ["full_name"]},
                   {"fields": ["tier", "lifetime_value"], "unique": True})
    found = check_package(doc)
    assert [(p.path, p.code) for p in found] == [("/entities/1/indexes/2/fields", "duplicate_index")]
    assert "/entities/1/indexes/0" in found[0].message


def test_the_same_fields_in_another_order_are_a_different_index():
    assert problems(document({"fields": ["tier", "lifetime_value"]}, {"fields": ["lifetime_value", "tier"]})) == []


def test_index_names_must_not_collide():
    # A one-field index on an `indexed` field would get the field index's name.
    found = check_package(document({"fields": ["tier"]}))
    assert [(p.path, p.code) for p in found] == [("/entities/1/indexes/0/fields", "duplicate_name")]
    assert "ix_contact_tier" in found[0].message and '"name"' in found[0].message
    assert problems(document({"fields": ["tier"], "name": "ix_contact_tier_only"})) == []
    # Explicit names are unique package-wide, and differ from table names.
    assert problems(document({"fields": ["tier", "full_name"], "name": "ix_same"},
                             {"fields": ["full_name", "tier"], "name": "ix_same"})) == \
        [("/entities/1/indexes/1/name", "duplicate_name")]
    assert problems(document({"fields": ["full_name", "tier"], "name": "account"})) == \
        [("/entities/1/indexes/0/name", "duplicate_name")]


def test_malformed_indexes_never_crash_the_semantic_checks():
    for bad in (None, 3, "x", [1], {"fields": None}, {"fields": "tier"}):
        doc = document()
        doc["entities"][1]["indexes"] = bad if not isinstance(bad, dict) else [bad]
        assert problems(doc)  # reported by the schema, without an exception


# -- diff ------------------------------------------------------------------------------

def test_diff_adds_and_drops_indexes():
    old = load_package(document({"fields": ["full_name", "tier"]}))
    new = load_package(document({"fields": ["tier", "lifetime_value"]}))
    changes = diff_packages(old, new)
    assert [(c.kind, c.entity, c.field) for c in changes] == [
        ("drop_index", "contact", None), ("add_index", "contact", None)]
    drop, add = changes
    assert drop.old == Index(("full_name", "tier")) and add.new == Index(("tier", "lifetime_value"))
    assert add.describe() == "add index on contact (tier, lifetime_value)"
    assert drop.describe() == "drop index on contact (full_name, tier)"
    assert all(c.needs_ddl and not c.destructive and not c.needs_state_map for c in changes)


def test_changing_uniqueness_or_name_is_a_drop_and_an_add():
    old = load_package(document({"fields": ["tier", "lifetime_value"]}))
    unique = load_package(document({"fields": ["tier", "lifetime_value"], "unique": True}))
    assert [c.describe() for c in diff_packages(old, unique)] == [
        "drop index on contact (tier, lifetime_value)", "add unique index on contact (tier, lifetime_value)"]
    named = load_package(document({"fields": ["tier", "lifetime_value"], "name": "ix_tv"}))
    assert [c.kind for c in diff_packages(old, named)] == ["drop_index", "add_index"]
    assert diff_packages(old, load_package(document({"fields": ["tier", "lifetime_value"], "unique": False}))) == []


def test_index_changes_follow_the_entity_field_changes_and_precede_drops():
    old = load_package(document({"fields": ["full_name", "lifetime_value"]}))
    doc = document({"fields": ["tier", "score"]}, extra_fields=[{"name": "score", "type": "integer"}])
    doc["entities"][1]["fields"] = [f for f in doc["entities"][1]["fields"] if f["name"] != "lifetime_value"]
    changes = diff_packages(old, load_package(doc))
    assert [(c.kind, c.field) for c in changes] == [
        ("add_field", "score"), ("drop_index", None), ("add_index", None), ("drop_field", "lifetime_value")]


def test_a_new_entity_carries_its_indexes_without_separate_changes():
    new = load_package(document({"fields": ["tier", "lifetime_value"]}))
    assert [c.kind for c in diff_packages(None, new)] == ["add_entity", "add_entity"]
    assert diff_packages(new, copy.deepcopy(new)) == []
