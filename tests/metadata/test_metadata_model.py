"""Normalisation rules of the frozen model and its canonical to_dict form."""

import dataclasses

import pytest

from metadata import Entity, Field, Option, Package, load_package


def load_one(field, **kw):
    package = load_package({"entities": [
        {"name": "account", "fields": []},
        {"name": "sales_order", "fields": [field]},
    ]}, **kw)
    return package.entity("sales_order").field(field["name"])


def test_plain_string_labels_become_english_maps_and_missing_labels_are_derived():
    package = load_package({"entities": [{"name": "sales_order", "plural_label": "Orders",
                                          "description": "What was sold",
                                          "fields": [{"name": "order_no", "type": "string", "help": "printed"}]}]})
    entity = package.entity("sales_order")
    assert entity.label == {"en": "Sales order"}
    assert entity.plural_label == {"en": "Orders"}
    assert entity.description == {"en": "What was sold"}
    assert entity.field("order_no").label == {"en": "Order no"}
    assert entity.field("order_no").help == {"en": "printed"}


def test_decimal_and_currency_default_to_precision_18_scale_2():
    for type_name in ("decimal", "currency"):
        field = load_one({"name": "amount", "type": type_name})
        assert (field.precision, field.scale) == (18, 2)
        assert "precision" not in field.to_dict() and "scale" not in field.to_dict()
    assert load_one({"name": "amount", "type": "integer"}).precision is None


def test_plugin_type_on_decimal_base_gets_decimal_defaults():
    field = load_one({"name": "amount", "type": "money"}, extra_types={"money": "decimal"})
    assert (field.base_type, field.precision, field.scale) == ("decimal", 18, 2)


def test_reference_on_delete_defaults_to_restrict():
    field = load_one({"name": "account", "type": "reference", "to": "account"})
    assert field.on_delete == "restrict"
    assert "on_delete" not in field.to_dict()


def test_options_are_normalised_to_value_and_label():
    field = load_one({"name": "tier", "type": "choice",
                      "options": ["gold", {"value": "vip", "label": {"en": "VIP", "zh-CN": "贵宾"}}, {"value": "x"}]})
    assert field.options == (Option("gold", {"en": "gold"}), Option("vip", {"en": "VIP", "zh-CN": "贵宾"}),
                             Option("x", {"en": "x"}))
    assert field.option_values() == ("gold", "vip", "x")
    assert field.to_dict()["options"][1] == {"value": "vip", "label": {"en": "VIP", "zh-CN": "贵宾"}}


def test_default_presence_is_tracked_separately_from_its_value():
    assert load_one({"name": "data", "type": "json", "default": None}).has_default
    assert not load_one({"name": "data", "type": "json"}).has_default
    assert load_one({"name": "data", "type": "json", "default": None}).to_dict()["default"] is None
    assert "default" not in load_one({"name": "data", "type": "json"}).to_dict()


def test_field_to_dict_keeps_only_non_default_keys():
    field = load_one({"name": "code", "type": "string"})
    assert field.to_dict() == {"name": "code", "type": "string", "label": {"en": "Code"}}
    full = {"name": "code", "type": "string", "label": {"en": "Code", "de": "Kennung"}, "help": {"en": "h"},
            "required": True, "unique": True, "indexed": True, "pii": True, "readonly": True,
            "default": "ab", "max_length": 8, "pattern": "[a-z]+"}
    assert load_one(full).to_dict() == full


def test_models_are_frozen_and_compare_by_value():
    field = load_one({"name": "code", "type": "string"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        field.name = "other"
    assert field == Field(name="code", type="string", label={"en": "Code"}, base_type="string")
    assert dataclasses.replace(field, required=True) != field


def test_entity_and_package_lookups_use_a_prebuilt_index():
    fields = [Field(name=f"f{i}", type="string", label={"en": "F"}, base_type="string") for i in range(300)]
    entity = Entity(name="big", label={"en": "Big"}, fields=fields)  # a list is accepted, stored as tuple
    assert isinstance(entity.fields, tuple)
    assert entity.field("f299") is fields[299] and entity.field("missing") is None
    assert entity._by_name["f0"] is fields[0]
    package = Package([entity])
    assert package.entity("big") is entity and package.entities == (entity,)
    assert dataclasses.replace(entity, fields=fields[:1]).field("f299") is None  # index rebuilt on replace
    assert "_by_name" not in repr(entity)


def test_from_document_ignores_package_version_and_description():
    document = {"version": "3", "description": "demo", "entities": []}
    assert load_package(document) == Package(())
    assert Package(()).to_dict() == {"entities": []}
