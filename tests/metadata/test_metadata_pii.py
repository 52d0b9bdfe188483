"""A field's PII class: `"pii": true` (contact) or `contact`, `identity`, `financial`,
`sensitive`; identity and sensitive mean encrypted at rest, which only some types can be;
a change between encrypted and not is a change of its own in the diff."""
import pytest

from admin_ui.designer.edits_fields import replace_properties
from metadata import diff_packages, load_package
from tests.metadata.test_metadata_validation import F, doc_with, found


@pytest.mark.parametrize("pii, cls, encrypted", [(True, "contact", False), (False, None, False),
                                                 ("contact", "contact", False), ("identity", "identity", True),
                                                 ("financial", "financial", False), ("sensitive", "sensitive", True)])
def test_the_class_of_each_pii_value(pii, cls, encrypted):
    package = load_package(doc_with({"name": "x", "type": "string", "pii": pii}))
    field = package.entity("thing").field("x")
    assert (field.pii_class, field.encrypted) == (cls, encrypted)
    assert field.to_dict().get("pii", False) == pii  # kept as written


def test_an_unknown_class_is_refused_by_the_schema():
    assert any(path == F + "/pii" for path, _ in found(doc_with({"name": "x", "type": "string", "pii": "secret"})))


@pytest.mark.parametrize("type_", ["boolean", "multi_choice", "json", "currency"])
def test_an_encrypted_class_on_a_type_that_cannot_be_encrypted_is_refused(type_):
    field = {"name": "x", "type": type_, "pii": "sensitive"}
    if type_ == "multi_choice":
        field["options"] = ["a"]
    assert (F + "/pii", "not_encryptable") in found(doc_with(field))
    assert (F + "/pii", "not_encryptable") not in found(doc_with({**field, "pii": "financial"}))


def test_an_encrypted_field_cannot_be_in_a_composite_index():
    doc = doc_with({"name": "x", "type": "string", "pii": "identity"}, {"name": "y", "type": "string"})
    doc["entities"][1]["indexes"] = [{"fields": ["y", "x"]}]
    assert ("/entities/1/indexes/0/fields/1", "not_indexable") in found(doc)


def test_the_diff_says_when_a_field_becomes_encrypted_or_stops_being():
    def package(pii):
        return load_package(doc_with({"name": "x", "type": "string", "pii": pii}))

    kinds = {c.kind: c for c in diff_packages(package(True), package("identity"))}
    assert kinds["alter_encryption"].describe().startswith("encrypt thing.x at rest (pii identity)")
    assert kinds["alter_encryption"].needs_ddl
    back = {c.kind: c for c in diff_packages(package("sensitive"), package("financial"))}
    assert back["alter_encryption"].describe().startswith("decrypt thing.x")
    assert "alter_encryption" not in {c.kind for c in diff_packages(package("identity"), package("sensitive"))}
    assert "alter_encryption" not in {c.kind for c in diff_packages(package(True), package("financial"))}


def test_the_designers_pii_box_keeps_a_fields_class():
    doc = {"entities": [{"name": "t", "fields": [{"name": "x", "type": "string", "pii": "identity"}]}]}
    kept = replace_properties(doc, "t", "x", {"type": "string", "pii": True})
    assert kept["entities"][0]["fields"][0]["pii"] == "identity"
    cleared = replace_properties(doc, "t", "x", {"type": "string", "pii": False})
    assert "pii" not in cleared["entities"][0]["fields"][0]
