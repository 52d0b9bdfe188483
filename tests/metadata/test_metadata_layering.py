"""Layering: composing pack bases, applying and deriving the tenant's overlay, and rebasing
it onto a new pack version with conflicts reported."""
import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metadata.rebase import rebase

from metadata.layering import (
    LayerError, apply_changes, compose, derive, layer_origins, value_at,
)

BASE = {"entities": [
    {"name": "party", "label": {"en": "Party"}, "fields": [
        {"name": "name", "type": "string", "label": {"en": "Name"}},
        {"name": "email", "type": "email", "label": {"en": "E-mail"}}]},
    {"name": "membership", "label": {"en": "Membership"}, "fields": [
        {"name": "number", "type": "string", "label": {"en": "Number"}},
        {"name": "tier", "type": "choice", "label": {"en": "Tier"},
         "options": [{"value": "a", "label": {"en": "a"}}]}]}]}


def test_compose_puts_packs_in_order_and_applies_extensions():
    core = {"entities": [BASE["entities"][0]]}
    shop = {"entities": [BASE["entities"][1]],
            "extends": [{"op": "add", "path": "/entities/party/fields",
                         "value": {"name": "loyalty_id", "type": "string"}, "after": "name"}]}
    document, origins = compose([("core", core), ("shop", shop)])
    assert [e["name"] for e in document["entities"]] == ["party", "membership"]
    assert [f["name"] for f in document["entities"][0]["fields"]] == ["name", "loyalty_id", "email"]
    assert origins["/entities/party"] == "core"
    assert origins["/entities/party/fields/loyalty_id"] == "shop"
    assert origins["/entities/membership/fields/tier"] == "shop"
    assert "extends" not in document


def test_two_packs_defining_the_same_entity_clash():
    with pytest.raises(LayerError, match="/entities/party is defined by both a and b"):
        compose([("a", {"entities": [BASE["entities"][0]]}), ("b", {"entities": [BASE["entities"][0]]})])


def test_extending_what_is_not_there_is_refused_with_the_pack_named():
    with pytest.raises(LayerError, match="pack shop extends what is not there"):
        compose([("shop", {"entities": [], "extends": [
            {"op": "set", "path": "/entities/nobody/label", "value": {"en": "x"}}]})])


def test_derive_keeps_additions_in_place_and_relabels_as_small_changes():
    desired = copy.deepcopy(BASE)
    fields = desired["entities"][1]["fields"]
    fields.insert(1, {"name": "nickname", "type": "string", "label": {"en": "Nickname"}})
    fields[0]["label"] = {"en": "Card number", "zh-CN": "卡号"}
    changes, problems = derive(BASE, desired)
    assert problems == []
    assert {(c["op"], c["path"]) for c in changes} == {
        ("set", "/entities/membership/fields/number/label/en"),
        ("set", "/entities/membership/fields/number/label/zh-CN"),
        ("add", "/entities/membership/fields")}
    add = next(c for c in changes if c["op"] == "add")
    assert add["after"] == "number"
    assert apply_changes(BASE, changes) == desired


def test_removing_a_base_field_is_a_problem_that_suggests_hiding_it():
    desired = copy.deepcopy(BASE)
    del desired["entities"][0]["fields"][1]
    changes, problems = derive(BASE, desired)
    assert [p["field"] for p in problems] == ["/entities/party/fields/email"]
    assert "hide it instead" in problems[0]["message"]


def test_rebase_keeps_untouched_changes_and_takes_the_packs_new_things():
    tenant = [{"id": 1, "op": "add", "path": "/entities/membership/fields",
               "value": {"name": "nickname", "type": "string"}},
              {"id": 2, "op": "set", "path": "/entities/membership/fields/number/label/en", "value": "Card no."}]
    new_base = copy.deepcopy(BASE)
    new_base["entities"][1]["fields"].append({"name": "joined", "type": "date", "label": {"en": "Joined"}})
    new_base["entities"][1]["fields"][1]["label"] = {"en": "Level"}
    rebased = rebase(tenant, BASE, new_base)
    assert rebased.conflicts == [] and rebased.changes == tenant
    result = apply_changes(new_base, rebased.changes)
    membership = result["entities"][1]
    assert [f["name"] for f in membership["fields"]] == ["number", "tier", "joined", "nickname"]
    assert value_at(result, "/entities/membership/fields/number/label/en") == "Card no."
    assert value_at(result, "/entities/membership/fields/tier/label/en") == "Level"


def test_rebase_reports_both_values_when_both_changed_the_same_label():
    tenant = [{"id": 7, "op": "set", "path": "/entities/membership/fields/tier/label/en", "value": "Grade"}]
    new_base = copy.deepcopy(BASE)
    new_base["entities"][1]["fields"][1]["label"] = {"en": "Level"}
    rebased = rebase(tenant, BASE, new_base)
    [conflict] = rebased.conflicts
    shown = conflict.to_dict()
    assert (shown["id"], shown["kind"], shown["tenant"], shown["pack_before"], shown["pack_now"]) == \
        (7, "both_changed", "Grade", "Tier", "Level")
    assert '"Grade"' in shown["message"] and '"Level"' in shown["message"]
    assert rebased.changes == []
    kept = rebase(tenant, BASE, new_base, keep_tenant={7})
    assert kept.conflicts == [] and kept.changes == tenant
    taken = rebase(tenant, BASE, new_base, take_pack={7})
    assert taken.conflicts == [] and taken.changes == [] and taken.dropped == tenant


def test_the_same_change_made_by_both_is_absorbed_not_conflicting():
    tenant = [{"id": 1, "op": "set", "path": "/entities/party/label/en", "value": "Customer"}]
    new_base = copy.deepcopy(BASE)
    new_base["entities"][0]["label"] = {"en": "Customer"}
    rebased = rebase(tenant, BASE, new_base)
    assert rebased.conflicts == [] and rebased.absorbed == tenant and rebased.changes == []


def test_both_adding_a_field_of_the_same_name_conflicts_and_keep_tenant_replaces():
    mine = {"name": "joined", "type": "string"}
    tenant = [{"id": 3, "op": "add", "path": "/entities/membership/fields", "value": mine}]
    new_base = copy.deepcopy(BASE)
    new_base["entities"][1]["fields"].append({"name": "joined", "type": "date"})
    rebased = rebase(tenant, BASE, new_base)
    assert [c.kind for c in rebased.conflicts] == ["both_added"]
    kept = rebase(tenant, BASE, new_base, keep_tenant={3})
    result = apply_changes(new_base, kept.changes, replace={3})
    assert value_at(result, "/entities/membership/fields/joined") == mine


def test_a_change_to_something_the_pack_removed_conflicts():
    tenant = [{"id": 4, "op": "set", "path": "/entities/membership/fields/tier/label/en", "value": "Grade"}]
    new_base = copy.deepcopy(BASE)
    del new_base["entities"][1]["fields"][1]
    [conflict] = rebase(tenant, BASE, new_base).conflicts
    assert conflict.kind == "target_removed"
    # keeping the tenant's version of something gone is impossible; taking the pack's is the way
    assert rebase(tenant, BASE, new_base, keep_tenant={4}).conflicts
    assert not rebase(tenant, BASE, new_base, take_pack={4}).conflicts


def test_origins_of_the_effective_document_name_the_tenant_for_its_changes():
    _, origins = compose([("core", {"entities": [BASE["entities"][0]]})])
    changes = [{"op": "add", "path": "/entities/party/fields", "value": {"name": "vip", "type": "boolean"}},
               {"op": "set", "path": "/entities/party/label/en", "value": "Customer"}]
    sources = layer_origins(origins, changes)
    assert sources["/entities/party/fields/vip"] == "tenant"
    assert sources["/entities/party/label/en"] == "tenant"
    assert sources["/entities/party/fields/name"] == "core"


def test_malformed_changes_are_refused_with_a_reason():
    for change, reason in [({"op": "move", "path": "/entities"}, "add, set or unset"),
                           ({"op": "set", "path": "entities"}, "must look like"),
                           ({"op": "add", "path": "/entities", "value": {"type": "x"}}, "with a name"),
                           ({"op": "set", "path": "/entities/nobody/label", "value": 1}, "nothing at")]:
        with pytest.raises(LayerError, match=reason):
            apply_changes(BASE, [change])


names = st.sampled_from(["alpha", "beta", "gamma", "delta", "omega"])
labels = st.text(alphabet="abcxyz 客户", min_size=1, max_size=8)


@st.composite
def tenant_documents(draw):
    """The base with random tenant edits: added fields and entities, relabels, hidden fields."""
    document = copy.deepcopy(BASE)
    for entity in document["entities"]:
        for field in entity["fields"]:
            if draw(st.booleans()):
                field["label"] = {"en": draw(labels)}
            if draw(st.booleans()):
                field["hidden"] = True
        for name in draw(st.lists(names, unique=True, max_size=3)):
            position = draw(st.integers(0, len(entity["fields"])))
            entity["fields"].insert(position, {"name": f"x_{name}", "type": "string"})
    if draw(st.booleans()):
        document["entities"].append({"name": "extra", "fields": [{"name": "n", "type": "integer"}]})
    return document


@settings(max_examples=150, deadline=None)
@given(tenant_documents())
def test_deriving_then_applying_the_overlay_gives_back_the_tenants_document(desired):
    changes, problems = derive(BASE, desired)
    assert problems == []
    assert apply_changes(BASE, changes) == desired
    # an upgrade that changes nothing keeps every change and reports no conflict
    rebased = rebase([dict(c, id=n) for n, c in enumerate(changes)], BASE, copy.deepcopy(BASE))
    assert rebased.conflicts == [] and len(rebased.changes) == len(changes)


def test_options_are_items_too_so_both_sides_can_add_states():
    """A tenant adds a choice option (an extra workflow state, say); the pack's next
    version adds another: both are kept, and the tenant may relabel but not remove one."""
    desired = copy.deepcopy(BASE)
    tier = desired["entities"][1]["fields"][1]
    tier["options"].append({"value": "vip", "label": {"en": "VIP"}})
    tier["options"][0]["label"] = {"en": "A-level"}
    changes, problems = derive(BASE, desired)
    assert problems == []
    assert {(c["op"], c["path"]) for c in changes} == {
        ("add", "/entities/membership/fields/tier/options"),
        ("set", "/entities/membership/fields/tier/options/a/label/en")}
    new_base = copy.deepcopy(BASE)
    new_base["entities"][1]["fields"][1]["options"].append({"value": "b", "label": {"en": "b"}})
    rebased = rebase([dict(c, id=n) for n, c in enumerate(changes)], BASE, new_base)
    assert rebased.conflicts == []
    merged = apply_changes(new_base, rebased.changes)
    assert [o["value"] for o in value_at(merged, "/entities/membership/fields/tier/options")] == ["a", "vip", "b"]
    del desired["entities"][1]["fields"][1]["options"][0]
    _, problems = derive(BASE, desired)
    assert [p["field"] for p in problems] == ["/entities/membership/fields/tier/options/a"]
    assert "relabel it instead" in problems[0]["message"]
