"""The tenant's OpenAPI document against the app, on SQLite and PostgreSQL: every route
under `/api/v1/t/<tenant>/` is in it with the same methods, and schemathesis sends each
operation generated requests (valid and invalid ones) as an admin of a tenant with the
crm_core pack and its demo data: no answer is a 5xx, and every answer matches the schema
declared for its status.

Left out of the fuzzing: `PUT /metadata` and `POST /metadata/rollback/{version}`.
Generated documents and rollbacks replace the tenant's entities, so every later operation
would only meet 404s for entities that no longer exist and test nothing. Nor `DELETE
/tokens/{token_id}`: it would revoke the fuzzing admin's own token. Explicit cases
below check their answers against the document; tests/engine/test_api.py,
test_packs.py and test_people.py test what they do."""
from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from engine.app import create_app
from engine.auth import create_token, create_user
from engine.install import Install
from engine.packs.service import PackService
from engine.plugins import Plugins
from plugins.crm_core import plugin as crm_plugin

SLUG = "shop"
PREFIX = f"/api/v1/t/{SLUG}"
EXAMPLES_PER_OPERATION = int(os.environ.get("LOOM_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("LOOM_FUZZ_SEED", "8"))  # CI sends the same requests on every run
DEMO_IDS = 4
NOT_FUZZED = (("PUT", "/metadata"), ("POST", "/metadata/rollback/{version}"), ("DELETE", "/tokens/{token_id}"))


@pytest.fixture
def shop(settings):
    """The app, and an admin token of tenant `shop` (crm_core with its demo data)."""
    install = Install(settings, Plugins(load_entry_points=False, extra_plugins=[crm_plugin]))
    install.registry.create(SLUG, "Shop")
    PackService(install).install(SLUG, "crm_core", demo=True)
    storage = install.session(SLUG).storage
    create_user(storage, "admin@shop.example", "admin")
    yield create_app(install, {"TESTING": True}), create_token(storage, "admin@shop.example")
    install.dispose()


def document_of(app, token) -> dict:
    response = app.test_client().get(f"{PREFIX}/openapi.json", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _template(rule: str) -> re.Pattern:
    """A Flask rule under the tenant prefix as a pattern of document paths: each
    `<variable>` stands for one segment, written out (`contact`) or templated (`{id}`)."""
    parts = re.split(r"<[^>]+>", rule[len("/api/v1/t/<tenant>"):])
    return re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "$")


def test_every_route_of_the_tenant_api_is_in_the_document(shop, backend):
    app, token = shop
    document = document_of(app, token)
    validate(document)
    paths = document["paths"]
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/t/<tenant>/")]
    assert len(rules) > 20
    for rule in rules:
        methods = {m.lower() for m in rule.methods} - {"head", "options"}
        pattern = _template(rule.rule)
        described = [p for p in paths if pattern.match(p) and methods <= set(paths[p])]
        assert described, f"{sorted(methods)} {rule.rule} is not in the OpenAPI document"
    adapter = app.url_map.bind("localhost")
    for path, operations in paths.items():  # and the document invents no route
        concrete = PREFIX + re.sub(r"\{[^}]+\}", "1", path)
        for method in operations:
            endpoint, _ = adapter.match(concrete, method=method.upper())
            assert endpoint != "static", path


def loaded_schema(app, token):
    schema = schemathesis.openapi.from_dict(document_of(app, token))
    schema.app = app
    return schema


def test_the_metadata_changes_left_out_of_fuzzing_answer_as_documented(shop, backend):
    app, token = shop
    schema = loaded_schema(app, token)
    headers = {"Authorization": f"Bearer {token}"}
    checks = [not_a_server_error, response_schema_conformance]
    current = app.test_client().get(f"{PREFIX}/metadata", headers=headers).get_json()["document"]
    put = schema["/metadata"]["PUT"]
    rollback = schema["/metadata/rollback/{version}"]["POST"]
    calls = [put.Case(body=current, query={"dry_run": True}), put.Case(body={"entities": 3}),
             put.Case(body={"entities": [{"name": "x"}]}, query={"allow_drop": "maybe"}),
             rollback.Case(path_parameters={"version": 99}), rollback.Case(path_parameters={"version": 1})]
    statuses = [case.call_and_validate(headers=headers, checks=checks).status_code for case in calls]
    assert statuses[:4] == [200, 400, 400, 404] and statuses[4] in (200, 409), statuses


def test_revoking_a_token_left_out_of_fuzzing_answers_as_documented(shop, backend):
    app, token = shop
    schema = loaded_schema(app, token)
    headers = {"Authorization": f"Bearer {token}"}
    spare = app.test_client().post(f"{PREFIX}/tokens", json={"user": "admin@shop.example", "label": "spare"},
                                   headers=headers).get_json()["id"]
    revoke = schema["/tokens/{token_id}"]["DELETE"]
    checks = [not_a_server_error, response_schema_conformance]
    statuses = [revoke.Case(path_parameters={"token_id": n}).call_and_validate(headers=headers, checks=checks)
                .status_code for n in (spare, spare, 10 ** 9)]
    assert statuses == [200, 409, 404]


def test_no_operation_answers_5xx_or_off_its_schema(shop, backend):
    app, token = shop
    schema = loaded_schema(app, token)
    headers = {"Authorization": f"Bearer {token}"}
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in NOT_FUZZED:
            continue
        try:
            _fuzz(operation, headers)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all failures are reported together
            failures.append(f"{operation.label}: " + "\n".join(str(exc).splitlines()[:40]))
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)


def _fuzz(operation, headers) -> None:
    """EXAMPLES_PER_OPERATION requests, valid and invalid ones, the same for a SEED. Valid
    ones name the first records (which the demo data made), so they reach real records."""
    valid = operation.as_strategy(GenerationMode.POSITIVE)
    if "{id}" in operation.path:
        valid = st.integers(1, DEMO_IDS).flatmap(
            lambda n: operation.as_strategy(GenerationMode.POSITIVE, path_parameters={"id": n}))
    cases = st.one_of(valid, operation.as_strategy(GenerationMode.NEGATIVE))

    @seed(SEED)
    @settings(max_examples=EXAMPLES_PER_OPERATION, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(cases)
    def run(case):
        case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

    run()
