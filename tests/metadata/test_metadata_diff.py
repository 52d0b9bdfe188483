"""diff_packages: which changes, of which kind, in which order, needing DDL or not."""

import copy

import pytest

from metadata import Change, diff_packages, load_example, load_package

BASE = load_example("crm_minimal")


def edited(edit):
    document = copy.deepcopy(BASE)
    edit(document)
    return load_package(document)


def fields_of(document, entity):
    return next(e for e in document["entities"] if e["name"] == entity)["fields"]


def field_of(document, entity, name):
    return next(f for f in fields_of(document, entity) if f["name"] == name)


OLD = load_package(BASE)


def kinds(changes):
    return [(c.kind, c.entity, c.field) for c in changes]


def test_identical_packages_diff_empty():
    assert diff_packages(OLD, OLD) == []
    assert diff_packages(OLD, load_package(copy.deepcopy(BASE))) == []


def test_diff_from_nothing_adds_every_entity_in_order():
    changes = diff_packages(None, OLD)
    assert kinds(changes) == [("add_entity", "account", None), ("add_entity", "contact", None)]
    assert changes[0].new == OLD.entity("account") and changes[0].needs_ddl and not changes[0].destructive


def test_add_and_drop_field():
    def edit(d):
        fields = fields_of(d, "contact")
        fields[:] = [f for f in fields if f["name"] != "phone"]
        fields.append({"name": "nickname", "type": "string"})
    changes = diff_packages(OLD, edited(edit))
    assert kinds(changes) == [("add_field", "contact", "nickname"), ("drop_field", "contact", "phone")]
    add, drop = changes
    assert add.new.name == "nickname" and drop.old == OLD.entity("contact").field("phone")
    assert drop.destructive and drop.needs_ddl and not add.destructive
    assert drop.describe() == "drop field contact.phone"
    assert add.describe() == "add field contact.nickname (string)"


@pytest.mark.parametrize("entity, name, changes, kind, old, new", [
    ("contact", "full_name", {"max_length": 80}, "alter_length", 120, 80),
    ("contact", "lifetime_value", {"precision": 14, "scale": 4}, "alter_precision", (12, 2), (14, 4)),
    ("contact", "birthday", {"required": True}, "alter_required", False, True),
    ("contact", "email", {"unique": False}, "alter_unique", True, False),
    ("contact", "phone", {"indexed": False}, "alter_indexed", True, False),
    ("contact", "account", {"on_delete": "cascade"}, "alter_reference", ("account", "set_null"),
     ("account", "cascade")),
    ("contact", "tier", {"default": "gold"}, "alter_default", "regular", "gold"),
    ("contact", "birthday", {"default": "2000-01-01"}, "alter_default", None, "2000-01-01"),
    ("contact", "full_name", {"label": {"en": "Name"}}, "alter_label", {"en": "Full name", "zh-CN": "姓名"},
     {"en": "Name"}),
    ("contact", "email", {"pii": False}, "alter_other", {"pii": True}, {"pii": False}),
    ("contact", "email", {"help": "work address"}, "alter_other", {"help": None}, {"help": {"en": "work address"}}),
    ("contact", "full_name", {"pattern": "[A-Z].*"}, "alter_other", {"pattern": None}, {"pattern": "[A-Z].*"}),
    ("contact", "lifetime_value", {"min": 1}, "alter_other", {"min": 0}, {"min": 1}),
    ("contact", "phone", {"readonly": True}, "alter_other", {"readonly": False}, {"readonly": True}),
])
def test_single_attribute_changes_have_their_own_kind(entity, name, changes, kind, old, new):
    result = diff_packages(OLD, edited(lambda d: field_of(d, entity, name).update(changes)))
    assert [(c.kind, c.entity, c.field, c.old, c.new) for c in result] == [(kind, entity, name, old, new)]
    expected_ddl = kind not in ("alter_label", "alter_default", "alter_options", "alter_other")
    assert result[0].needs_ddl is expected_ddl and not result[0].destructive


def test_reference_target_change_is_alter_reference():
    def edit(d):
        d["entities"].append({"name": "company", "fields": []})
        field_of(d, "contact", "account")["to"] = "company"
    changes = diff_packages(OLD, edited(edit))
    assert kinds(changes) == [("add_entity", "company", None), ("alter_reference", "contact", "account")]
    assert changes[1].new == ("company", "set_null")


def test_options_change_is_alter_options_without_ddl():
    changes = diff_packages(OLD, edited(lambda d: field_of(d, "contact", "tier")["options"].append("platinum")))
    (change,) = changes
    assert change.kind == "alter_options" and not change.needs_ddl
    assert change.new[-1].value == "platinum"
    assert change.describe() == ("change contact.tier options regular, silver, gold, diamond -> "
                                 "regular, silver, gold, diamond, platinum")


def test_type_change_reports_alter_type_only():
    def edit(d):
        field_of(d, "contact", "full_name").update(type="text", max_length=5000)
    (change,) = diff_packages(OLD, edited(edit))
    assert (change.kind, change.old, change.new) == ("alter_type", "string", "text") and change.needs_ddl
    assert change.describe() == "change contact.full_name type 'string' -> 'text'"


def test_label_only_changes_need_no_ddl():
    def edit(d):
        contact = d["entities"][1]
        contact["label"] = {"en": "Person"}
        contact["plural_label"] = "People"
        contact["description"] = "Someone we know"
        field_of(d, "contact", "full_name")["label"] = "Name"
        field_of(d, "contact", "email")["help"] = {"en": "Work address"}
    changes = diff_packages(OLD, edited(edit))
    assert {c.kind for c in changes} == {"alter_label", "alter_other"}
    assert not any(c.needs_ddl or c.destructive for c in changes)
    assert ("alter_label", "contact", None) in kinds(changes)


def test_field_order_change_is_reported_without_ddl():
    changes = diff_packages(OLD, edited(lambda d: fields_of(d, "contact").reverse()))
    (change,) = changes
    assert change.kind == "alter_other" and set(change.new) == {"field_order"} and not change.needs_ddl


def test_order_is_add_entities_then_field_changes_then_field_drops_then_entity_drops():
    def edit(d):
        d["entities"] = [
            {"name": "deal", "fields": [{"name": "title", "type": "string"}]},
            d["entities"][1],  # contact, account is dropped
            {"name": "note", "fields": []},
        ]
        fields = fields_of(d, "contact")
        fields[:] = [f for f in fields if f["name"] not in ("phone", "account")]
        fields.insert(0, {"name": "nickname", "type": "string"})
        field_of(d, "contact", "full_name")["max_length"] = 80
    changes = diff_packages(OLD, edited(edit))
    assert kinds(changes) == [
        ("add_entity", "deal", None), ("add_entity", "note", None),
        ("add_field", "contact", "nickname"), ("alter_length", "contact", "full_name"),
        ("drop_field", "contact", "phone"), ("drop_field", "contact", "account"),
        ("drop_entity", "account", None),
    ]
    assert [c.destructive for c in changes] == [False] * 4 + [True] * 3
    assert changes[-1].old == OLD.entity("account")
    assert changes[-1].describe() == "drop entity account"


@pytest.mark.parametrize("change, text", [
    (Change("alter_length", "contact", "full_name", 120, 80), "change contact.full_name max_length 120 -> 80"),
    (Change("alter_required", "contact", "email", False, True), "make contact.email required"),
    (Change("alter_required", "contact", "email", True, False), "make contact.email optional"),
    (Change("alter_unique", "contact", "email", False, True), "make contact.email unique"),
    (Change("alter_indexed", "contact", "phone", True, False), "drop the index on contact.phone"),
    (Change("alter_precision", "contact", "v", (12, 2), (14, 4)), "change contact.v precision,scale 12,2 -> 14,4"),
    (Change("alter_default", "contact", "tier", None, "gold"), "change contact.tier default none -> 'gold'"),
    (Change("alter_other", "contact", "email", {"pii": True}, {"pii": False}), "change contact.email pii true -> false"),
    (Change("alter_label", "contact", None, {"en": "A"}, {"en": "B"}),
     'change contact label {"en": "A"} -> {"en": "B"}'),
])
def test_describe_uses_plain_words(change, text):
    assert change.describe() == text
