"""A tenant's default language on SQLite and PostgreSQL: set by `loom tenant create
--language`, changed by `loom tenant update`, and the language its OpenAPI document
titles and describes the entities and fields in."""
import itertools
import json

import pytest
from click.testing import CliRunner
from openapi_spec_validator import validate

from engine.cli import cli
from tests.conftest import crm_document, token_for

DOCUMENT = crm_document()
DOCUMENT["entities"][1]["description"] = {"en": "A person we deal with", "zh-CN": "与我们往来的人"}
DOCUMENT["entities"][1]["fields"][0]["help"] = {"en": "as on their ID card", "zh-CN": "与身份证一致"}


def run(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


USERS = itertools.count()


def spec(install, client, slug, query=""):
    token = token_for(install, slug, f"member{next(USERS)}@{slug}.example")
    response = client.get(f"/api/v1/t/{slug}/openapi.json{query}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    document = response.get_json()
    validate(document)
    return document


def test_the_openapi_document_speaks_the_tenant_s_default_language(install, client):
    created = run(install, "tenant", "create", "beijing", "--language", "zh-CN")
    assert created.exit_code == 0, created.output
    install.session("beijing").apply_metadata(DOCUMENT)
    document = spec(install, client, "beijing")
    assert document["info"]["x-language"] == "zh-CN"
    contact = document["components"]["schemas"]["ContactRecord"]
    assert contact["title"] == "联系人" and contact["description"] == "与我们往来的人"
    full_name = contact["properties"]["full_name"]
    assert full_name["title"] == "姓名" and full_name["description"] == "与身份证一致"
    assert contact["properties"]["email"]["title"] == "Email"  # no zh-CN label: English
    assert document["components"]["schemas"]["ContactCreate"]["properties"]["full_name"]["title"] == "姓名"
    assert document["paths"]["/records/contact"]["get"]["summary"] == "List 联系人 records"
    assert {"name": "contact", "description": "联系人"} in document["tags"]

    english = spec(install, client, "beijing", "?lang=en")["components"]["schemas"]["ContactRecord"]
    assert english["title"] == "Contact" and english["properties"]["full_name"]["title"] == "Full name"


def test_a_tenant_speaks_english_until_its_language_is_changed(install, client):
    install.registry.create("acme")
    install.session("acme").apply_metadata(DOCUMENT)
    assert spec(install, client, "acme")["components"]["schemas"]["ContactRecord"]["title"] == "Contact"
    changed = run(install, "tenant", "update", "acme", "--language", "zh-CN")
    assert changed.exit_code == 0 and "language zh-CN" in changed.output
    assert spec(install, client, "acme")["components"]["schemas"]["ContactRecord"]["title"] == "联系人"
    listed = json.loads(run(install, "tenant", "list", "--json").output)
    assert [(t["slug"], t["language"]) for t in listed] == [("acme", "zh-CN")]


@pytest.mark.parametrize("language", ["Chinese", "zh_CN", "", "x" * 40])
def test_a_bad_language_is_refused_and_changes_nothing(install, language):
    refused = run(install, "tenant", "create", "nowhere", "--language", language)
    assert refused.exit_code == 1 and "invalid language" in refused.stderr
    assert install.registry.get("nowhere") is None
    install.registry.create("acme")
    refused = run(install, "tenant", "update", "acme", "--language", language)
    assert refused.exit_code == 1 and "invalid language" in refused.stderr
    assert install.registry.get("acme").language == "en"


def test_a_bad_lang_on_the_openapi_document_is_a_400(install, client):
    install.registry.create("acme")
    token = token_for(install, "acme", "m@acme.example")
    response = client.get("/api/v1/t/acme/openapi.json?lang=Chinese", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400 and response.get_json()["error"]["details"][0]["field"] == "lang"
