"""GET /openapi.json: an OpenAPI 3 document generated from the tenant's own metadata."""
import copy
import itertools

import pytest
from openapi_spec_validator import validate

from tests.conftest import crm_document, token_for

ALL_TYPES = {"entities": [
    {"name": "owner", "fields": [{"name": "name", "type": "string", "required": True, "max_length": 40}]},
    {"name": "sample_item", "label": {"en": "Sample item", "de": "Probe"}, "fields": [
        {"name": "code", "type": "string", "max_length": 8, "pattern": "[A-Z]{2}-[0-9]+", "unique": True},
        {"name": "notes", "type": "text", "help": "free text"},
        {"name": "count", "type": "integer", "min": 0, "max": 1000, "required": True},
        {"name": "price", "type": "decimal", "precision": 8, "scale": 2},
        {"name": "active", "type": "boolean", "default": True},
        {"name": "born", "type": "date"},
        {"name": "seen_at", "type": "datetime"},
        {"name": "email", "type": "email"},
        {"name": "phone", "type": "phone"},
        {"name": "site", "type": "url"},
        {"name": "size", "type": "choice", "options": ["s", "m", "l"], "required": True},
        {"name": "colour", "type": "choice", "options": ["red", "blue"]},
        {"name": "tags", "type": "multi_choice", "options": ["red", "green"]},
        {"name": "owner", "type": "reference", "to": "owner"},
        {"name": "budget", "type": "currency"},
        {"name": "extra", "type": "json"},
        {"name": "serial", "type": "string", "readonly": True},
    ]},
]}


@pytest.fixture
def spec_of(install, client):
    users = itertools.count()

    def spec_of(slug, document):
        if install.registry.get(slug) is None:
            install.registry.create(slug, slug)
        if document is not None:
            install.session(slug).apply_metadata(document)
        token = token_for(install, slug, f"user{next(users)}@{slug}.example")
        response = client.get(f"/api/v1/t/{slug}/openapi.json", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.is_json
        return response.get_json()
    return spec_of


def test_the_document_is_valid_openapi_3_for_the_example_metadata(spec_of):
    spec = spec_of("acme", crm_document())
    validate(spec)
    assert spec["openapi"].startswith("3.") and spec["servers"] == [{"url": "/api/v1/t/acme"}]
    assert spec["security"] == [{"bearer": []}]
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_every_entity_has_its_paths_and_schemas(spec_of):
    spec = spec_of("lab", ALL_TYPES)
    validate(spec)
    for entity in ("owner", "sample_item"):
        title = entity.title().replace("_", "")
        assert set(spec["paths"][f"/records/{entity}"]) == {"get", "post"}
        assert set(spec["paths"][f"/records/{entity}/{{id}}"]) == {"get", "patch", "delete"}
        assert set(spec["paths"][f"/records/{entity}/batch"]) == {"post"}
        assert set(spec["paths"][f"/records/{entity}/{{id}}/history"]) == {"get"}
        assert {f"{title}Create", f"{title}Update", f"{title}Record"} <= set(spec["components"]["schemas"])
    post = spec["paths"]["/records/sample_item"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SampleItemCreate"}
    assert set(post["responses"]) >= {"201", "400", "401", "404", "409"}
    assert set(spec["paths"]["/records/sample_item/{id}"]["patch"]["responses"]) >= {"200", "412"}
    headers = [p["name"] for p in spec["paths"]["/records/sample_item/{id}"]["delete"]["parameters"]]
    assert "If-Match" in headers


def test_the_schemas_carry_the_field_rules(spec_of):
    schemas = spec_of("lab", ALL_TYPES)["components"]["schemas"]
    create, update, record = (schemas[f"SampleItem{kind}"] for kind in ("Create", "Update", "Record"))
    assert create["required"] == ["count", "size"]
    assert "required" not in update
    assert create["additionalProperties"] is False
    props = create["properties"]
    assert props["size"]["enum"] == ["s", "m", "l"] and "nullable" not in props["size"]
    assert props["colour"]["enum"] == ["red", "blue", None] and props["colour"]["nullable"] is True
    assert props["tags"]["items"]["enum"] == ["red", "green"]
    assert props["code"]["maxLength"] == 8 and props["code"]["pattern"] == "^(?:[A-Z]{2}-[0-9]+)$"
    assert (props["count"]["minimum"], props["count"]["maximum"]) == (0, 1000)
    assert props["email"]["format"] == "email" and props["born"]["format"] == "date"
    assert props["seen_at"]["format"] == "date-time" and props["owner"]["type"] == "integer"
    assert props["budget"]["required"] == ["amount", "currency"]
    assert props["notes"]["description"] == "free text"
    assert "serial" in props and "serial" not in update["properties"]
    assert update["properties"]["version"]["type"] == "integer" and "version" not in props  # PATCH may name it
    assert record["required"] == ["id", "version"]
    assert record["properties"]["price"]["type"] == "string"
    assert set(record["properties"]) >= {"id", "version", "created_at", "updated_at", "owner_id", "serial"}


def test_the_document_follows_the_tenants_metadata_version(spec_of):
    before = spec_of("acme", crm_document())
    document = copy.deepcopy(crm_document())
    document["entities"].append({"name": "deal", "fields": [{"name": "title", "type": "string"}]})
    after = spec_of("acme", document)
    validate(after)
    assert "/records/deal" not in before["paths"] and "/records/deal" in after["paths"]
    assert int(after["info"]["version"]) == int(before["info"]["version"]) + 1


def test_a_tenant_without_metadata_has_a_valid_document_without_record_paths(spec_of):
    spec = spec_of("empty", None)
    validate(spec)
    assert not [p for p in spec["paths"] if p.startswith("/records/")]


def test_each_tenant_sees_only_its_own_entities(spec_of):
    acme = spec_of("acme", crm_document())
    lab = spec_of("lab", ALL_TYPES)
    assert "/records/contact" in acme["paths"] and "/records/contact" not in lab["paths"]
    assert "/records/sample_item" in lab["paths"] and "/records/sample_item" not in acme["paths"]
