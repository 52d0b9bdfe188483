"""An entity's `sharing`: validated (schema and semantic checks, each at its JSON Pointer),
kept in the model in one canonical shape, and diffed as a change that needs no DDL."""

import copy

from metadata import Package, check_package, load_package
from metadata.diff import diff_packages

SHARING = {"default": "none", "managers": True,
           "rules": [{"field": "agent", "user": "agent", "access": "edit"},
                     {"field": "region", "user": "regions", "access": "read"},
                     {"parent": "holder", "access": "read"}]}


def doc(sharing=SHARING):
    policy = {"name": "policy", "fields": [
        {"name": "agent", "type": "integer"},
        {"name": "region", "type": "choice", "options": ["north", "south"]},
        {"name": "holder", "type": "reference", "to": "holder"},
        {"name": "tags", "type": "multi_choice", "options": ["a", "b"]},
    ]}
    if sharing is not None:
        policy["sharing"] = copy.deepcopy(sharing)
    return {"entities": [{"name": "holder", "fields": [{"name": "name", "type": "string"}]}, policy]}


def problems(sharing):
    return {(p.path, p.code) for p in check_package(doc(sharing))}


R = "/entities/1/sharing"


def test_a_valid_sharing_loads_in_canonical_form_and_round_trips():
    package = load_package(doc())
    assert package.entity("policy").sharing == SHARING
    assert package.entity("holder").sharing is None
    assert "sharing" not in package.entity("holder").to_dict()
    assert Package.from_document(package.to_dict()) == package
    minimal = load_package(doc({"rules": [{"parent": "holder", "access": "edit"}]})).entity("policy")
    assert minimal.sharing == {"default": "none", "managers": False,
                               "rules": [{"parent": "holder", "access": "edit"}]}
    assert load_package(doc({})).entity("policy").to_dict()["sharing"] == {
        "default": "none", "managers": False, "rules": []}


def test_schema_problems_each_at_their_path():
    assert problems({"default": "all", "managers": "yes", "extra": 1}) == {
        (f"{R}/default", "schema"), (f"{R}/managers", "schema"), (f"{R}/extra", "schema")}
    assert problems({"rules": [{"field": "agent", "user": "agent"}]}) == {(f"{R}/rules/0/access", "schema")}
    assert problems({"rules": [{"field": "agent", "user": "agent", "access": "write"}]}) == {
        (f"{R}/rules/0/access", "schema")}
    assert problems({"rules": "all"}) == {(f"{R}/rules", "schema")}


def test_semantic_problems_each_at_their_path():
    assert problems({"rules": [
        {"field": "agnet", "user": "agent", "access": "read"},
        {"field": "tags", "user": "tags", "access": "read"},
        {"field": "agent", "user": "Agent Id", "access": "read"},
        {"parent": "region", "access": "read"},
        {"parent": "nothing", "access": "read"},
        {"parent": "holder", "field": "agent", "access": "read"},
        {"field": "agent", "access": "read"},
        {"access": "read"},
    ]}) == {
        (f"{R}/rules/0/field", "unknown_field"), (f"{R}/rules/1/field", "bad_rule"),
        (f"{R}/rules/2/user", "unsafe_identifier"), (f"{R}/rules/3/parent", "bad_rule"),
        (f"{R}/rules/4/parent", "bad_rule"), (f"{R}/rules/5", "bad_rule"),
        (f"{R}/rules/6/user", "schema"), (f"{R}/rules/7/field", "schema"), (f"{R}/rules/7/user", "schema"),
    }


def test_a_sharing_change_is_a_no_ddl_change():
    before, after = load_package(doc(None)), load_package(doc())
    [change] = diff_packages(before, after)
    assert (change.kind, change.entity, change.needs_ddl, change.destructive) == (
        "change_sharing", "policy", False, False)
    assert change.old is None and change.new == SHARING
    assert "everyone" in change.describe() and "3 rules" in change.describe()
    tighter = copy.deepcopy(SHARING)
    tighter["default"] = "read"
    [change] = diff_packages(after, load_package(doc(tighter)))
    assert change.kind == "change_sharing" and "default read" in change.describe()
    assert diff_packages(after, load_package(doc())) == []


def holder_doc(*rules):
    """`holder` shared through the policies that reference it (a referrer rule)."""
    document = doc(None)
    document["entities"][0]["sharing"] = {"rules": list(rules)}
    return document


def test_a_referrer_rule_names_a_reference_field_that_points_at_the_entity():
    rule = {"referenced_by": "policy.holder", "access": "read"}
    package = load_package(holder_doc(rule))
    assert package.entity("holder").sharing["rules"] == [rule]
    assert Package.from_document(package.to_dict()) == package
    H = "/entities/0/sharing/rules"
    found = {(p.path, p.code): p.message for p in check_package(holder_doc(
        {"referenced_by": "policy.agent", "access": "read"},        # not a reference
        {"referenced_by": "claim.holder", "access": "read"},        # no such entity
        {"referenced_by": "policy", "access": "read"},              # no field
        {"referenced_by": "policy.holder", "parent": "x", "access": "read"},
        {"referenced_by": 3, "access": "read"},
    ))}
    assert set(found) == {(f"{H}/0/referenced_by", "bad_rule"), (f"{H}/1/referenced_by", "bad_rule"),
                          (f"{H}/2/referenced_by", "bad_rule"), (f"{H}/3", "bad_rule"),
                          (f"{H}/4/referenced_by", "schema")}
    assert "references to it: policy.holder" in found[(f"{H}/0/referenced_by", "bad_rule")]
