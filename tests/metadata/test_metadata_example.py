"""The shipped example, schema files and packaging promises of the metadata package."""

import ast
import copy
import importlib.resources
import json
import pathlib
import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator

import metadata
from metadata import Package, load_package

ROOT = pathlib.Path(__file__).resolve().parents[2]

CRM_MINIMAL = {"entities": [
    {"name": "account", "label": {"en": "Account", "zh-CN": "客户单位"},
     "fields": [
         {"name": "name", "type": "string", "required": True, "max_length": 200},
         {"name": "industry", "type": "choice", "options": ["retail", "insurance", "automotive", "other"]},
     ]},
    {"name": "contact", "label": {"en": "Contact", "zh-CN": "联系人"},
     "fields": [
         {"name": "full_name", "type": "string", "required": True, "max_length": 120,
          "label": {"en": "Full name", "zh-CN": "姓名"}},
         {"name": "email", "type": "email", "unique": True, "pii": True},
         {"name": "phone", "type": "phone", "indexed": True, "pii": True},
         {"name": "birthday", "type": "date"},
         {"name": "tier", "type": "choice", "options": ["regular", "silver", "gold", "diamond"], "default": "regular"},
         {"name": "lifetime_value", "type": "decimal", "precision": 12, "scale": 2, "min": 0},
         {"name": "consent_marketing", "type": "boolean", "default": False},
         {"name": "account", "type": "reference", "to": "account", "on_delete": "set_null"},
     ]},
]}


def test_example_document_is_accepted_exactly_as_written():
    assert metadata.check_package(copy.deepcopy(CRM_MINIMAL)) == []
    package = load_package(copy.deepcopy(CRM_MINIMAL))
    assert package.entity_names() == ("account", "contact")


def test_shipped_example_file_equals_the_specified_document():
    assert metadata.load_example("crm_minimal") == CRM_MINIMAL
    assert json.loads(metadata.example_path("crm_minimal").read_text(encoding="utf-8")) == CRM_MINIMAL


def test_example_is_normalised_into_the_model():
    package = load_package(CRM_MINIMAL)
    contact = package.entity("contact")
    assert contact.label == {"en": "Contact", "zh-CN": "联系人"}
    assert contact.field("full_name").label == {"en": "Full name", "zh-CN": "姓名"}
    assert contact.field("lifetime_value").label == {"en": "Lifetime value"}
    assert contact.field("tier").option_values() == ("regular", "silver", "gold", "diamond")
    assert contact.field("tier").options[2] == metadata.Option("gold", {"en": "gold"})
    assert contact.field("tier").has_default and contact.field("tier").default == "regular"
    assert contact.field("consent_marketing").has_default and contact.field("consent_marketing").default is False
    assert not contact.field("birthday").has_default
    assert (contact.field("lifetime_value").precision, contact.field("lifetime_value").scale) == (12, 2)
    account = contact.field("account")
    assert (account.to, account.on_delete, account.base_type) == ("account", "set_null", "reference")
    assert contact.field("email").unique and contact.field("email").pii
    assert contact.field("nope") is None and package.entity("nope") is None


def test_package_to_dict_round_trips():
    package = load_package(CRM_MINIMAL)
    canonical = package.to_dict()
    assert Package.from_document(canonical) == package
    assert load_package(canonical) == package
    assert json.loads(json.dumps(canonical)) == canonical  # JSON-able
    assert Package.from_document(canonical).to_dict() == canonical  # canonical is a fixed point


def test_loading_does_not_alias_or_mutate_the_input_document():
    document = copy.deepcopy(CRM_MINIMAL)
    package = load_package(document)
    assert document == CRM_MINIMAL
    out = package.to_dict()
    out["entities"][0]["label"]["en"] = "changed"
    assert package.entity("account").label["en"] == "Account"


@pytest.mark.parametrize("name", ["entity", "workflow", "package"])
def test_schema_files_are_valid_draft_2020_12_with_loom_ids(name):
    schema = metadata.load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"https://loom.dev/schemas/{name}.schema.json"
    assert metadata.schema_path(name) == metadata.schema_path(f"{name}.schema.json")


def test_unknown_schema_name_is_refused():
    with pytest.raises(ValueError):
        metadata.schema_path("../../etc/passwd")


def test_load_schema_returns_a_private_copy():
    metadata.load_schema("entity")["title"] = "mutated"
    assert metadata.load_schema("entity")["title"] != "mutated"


def test_schema_and_example_files_ship_inside_the_package():
    root = importlib.resources.files("metadata")
    for rel in ("schemas/entity.schema.json", "schemas/workflow.schema.json", "schemas/package.schema.json",
                "examples/crm_minimal.json"):
        assert json.loads(root.joinpath(rel).read_text(encoding="utf-8"))


def test_package_schema_refs_the_entity_schema_without_network():
    schema = metadata.load_schema("package")
    assert schema["properties"]["entities"]["items"] == {"$ref": "https://loom.dev/schemas/entity.schema.json"}
    assert schema["additionalProperties"] is False
    assert metadata.check_package({"entities": [], "version": "1", "description": "x"}) == []


def test_importing_metadata_is_cheap_and_does_not_load_jsonschema():
    code = "import sys, metadata; print('jsonschema' in sys.modules, 'referencing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_metadata_imports_only_stdlib_and_jsonschema():
    sources = list((ROOT / "metadata").glob("*.py"))
    assert sources
    for source in sources:
        text = source.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                assert top in sys.stdlib_module_names or top in ("jsonschema", "referencing"), (source.name, module)
        assert len(text.splitlines()) < 400, source.name


def test_public_api_is_re_exported():
    for name in ("load_package", "check_package", "Package", "Entity", "Field", "Option", "Problem",
                 "MetadataInvalid", "diff_packages", "Change", "BUILTIN_FIELD_TYPES", "SYSTEM_COLUMNS",
                 "schema_path", "load_schema"):
        assert hasattr(metadata, name), name
    assert metadata.BUILTIN_FIELD_TYPES[0] == "string" and len(metadata.BUILTIN_FIELD_TYPES) == 15
    assert metadata.SYSTEM_COLUMNS == ("id", "created_at", "updated_at", "created_by", "updated_by",
                                       "owner_id", "version")
