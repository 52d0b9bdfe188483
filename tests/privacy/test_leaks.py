"""No endpoint gives personal data away (issue 12): every GET route of the tenant's OpenAPI
document and every GET screen route docs/screens.md lists, requested as a member (who
reads every class of personal data masked) about a party holding known values — an
e-mail, a phone, a name and an ID number encrypted at rest, with a changed earlier
e-mail in its history and a deal referring to it — answers without any of the clear
values; the masked forms do appear (the test reaches the record). A rule's webhook to a
receiver that refuses the party's update quoting its values fails, so the rule trace and
the dead-letter texts are scanned too (also as an admin reads them)."""
from __future__ import annotations

import base64
import re
import secrets
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from engine.app import create_app
from engine.auth import create_token, create_user
from engine.install import Install
from engine.plugins import Plugins
from tests.conftest import drop_prefixed_schemas, make_settings, require_postgres
from tests.privacy.test_action_errors import Echo
from tests.screens.conftest import ScreenClient, with_passwords
from workflows.runtime import runtime_of

NAME, EMAIL, OLD_EMAIL = "Zhang Sanfeng", "zhang.sanfeng@customer.example", "zs.old@customer.example"
PHONE, ID_NUMBER = "+86 138 0013 8001", "110101199003078515"
CLEAR = (NAME, EMAIL, OLD_EMAIL, "0013 8001", "13800138001", ID_NUMBER)
MASKED = ("Z***", "z***@customer.example", "138****8001")
DOC = {"entities": [
    {"name": "party", "fields": [
        {"name": "name", "type": "string", "required": True, "pii": "contact"},
        {"name": "email", "type": "email", "pii": "contact"},
        {"name": "phone", "type": "phone", "pii": "contact"},
        {"name": "id_number", "type": "string", "max_length": 18, "pii": "identity"},
        {"name": "city", "type": "string"}]},
    {"name": "deal", "fields": [
        {"name": "title", "type": "string", "required": True},
        {"name": "party", "type": "reference", "to": "party"}]}]}
SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens.md"
UNFILLED = re.compile(r"[<{][^>}]+[>}]")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shop(request, tmp_path_factory):
    if request.param == "postgresql":
        require_postgres()
    echo = ThreadingHTTPServer(("127.0.0.1", 0), Echo)  # refuses every event, quoting its values
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    patch = pytest.MonkeyPatch()
    patch.setenv("LOOM_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    patch.delenv("LOOM_MASTER_KEY_FILE", raising=False)
    settings = make_settings(request.param, tmp_path_factory.mktemp(f"leaks_{request.param}"))
    settings.extra["LOOM_WEBHOOK_ALLOW_PRIVATE"] = "1"
    install = Install(settings, Plugins())
    try:
        install.registry.create("shop", "Shop")
        session = install.session("shop")
        url = f"http://127.0.0.1:{echo.server_address[1]}/hook"
        session.apply_metadata({**DOC, "rulesets": [{"name": "relay", "kind": "automation", "entity": "party", "rules": [
            {"name": "tell", "when": {"event": "record.updated"},
             "actions": [{"action": "webhook", "params": {"url": url, "role": "admin"}}]}]}]})
        with_passwords(install, "shop", {"clerk@shop.example": "member"})
        party = session.records.create("party", {"name": NAME, "email": OLD_EMAIL, "phone": PHONE,
                                                 "id_number": ID_NUMBER, "city": "Wudang"})
        session.records.update("party", party["id"], {"email": EMAIL})
        deal = session.records.create("deal", {"title": "Mountain retreat", "party": party["id"]})
        runtime_of(install).jobs.drain("shop")
        app = create_app(install, {"TESTING": True})
        token = create_token(session.storage, "clerk@shop.example")
        create_user(session.storage, "boss@shop.example", "admin")
        boss = create_token(session.storage, "boss@shop.example")
        yield {"app": app, "party": party["id"], "deal": deal["id"],
               "api": app.test_client(), "headers": {"Authorization": f"Bearer {token}"},
               "admin": {"Authorization": f"Bearer {boss}"},
               "screens": ScreenClient(app, "shop", "clerk@shop.example")}
    finally:
        echo.shutdown()
        echo.server_close()
        install.dispose()
        patch.undo()
        if settings.database_url:
            drop_prefixed_schemas(settings.schema_prefix)


def fill(path: str, shop) -> str | None:
    """A route with its variables filled for the party (None: a variable the test cannot fill)."""
    values = {"entity": "party", "record_id": shop["party"], "id": shop["party"], "party_id": shop["party"],
              "other": "deal", "field": "party", "tenant": "shop"}
    filled = re.sub(r"[<{](?:[a-z]+:)?([a-z_]+)[>}]", lambda m: str(values.get(m.group(1), m.group(0))), path)
    return None if UNFILLED.search(filled) else filled


def api_paths(shop) -> list[str]:
    document = shop["api"].get("/api/v1/t/shop/openapi.json", headers=shop["headers"])
    if document.status_code != 200:  # a member may not read the document: an admin's view of the routes
        document = shop["app"].test_client().get("/api/v1/t/shop/openapi.json")
    paths = [p for p, ops in document.get_json()["paths"].items() if "get" in ops]
    return sorted({"/api/v1/t/shop" + filled for p in paths if (filled := fill(p, shop))})


def screen_paths(shop) -> list[str]:
    routes = re.findall(r"^\| (GET[^|]*) \| `(/t/<tenant>/[^`]*)`", SCREENS.read_text(encoding="utf-8"), re.M)
    return sorted({filled for _, route in routes if (filled := fill(route, shop))})


def test_no_get_endpoint_or_screen_shows_a_member_the_clear_values(shop):
    api, screens = api_paths(shop), screen_paths(shop)
    assert len(api) > 20 and len(screens) > 10
    extra_api = ["/api/v1/t/shop/records/party?q=Zhang", "/api/v1/t/shop/search?q=Zhang",
                 f"/api/v1/t/shop/records/party/{shop['party']}/history"]
    extra_screens = ["/t/shop/search?q=Zhang", "/t/shop/search/suggest?q=Zhang", "/t/shop/e/party/export.csv"]
    leaks, seen = [], set()
    for path in api + extra_api:
        body = shop["api"].get(path, headers=shop["headers"]).get_data(as_text=True)
        leaks += [(path, v) for v in CLEAR if v in body]
        seen |= {m for m in MASKED if m in body}
    for path in screens + extra_screens:
        body = shop["screens"].client.get(path).get_data(as_text=True)
        leaks += [(path, v) for v in CLEAR if v in body]
        seen |= {m for m in MASKED if m in body}
    assert leaks == []
    assert seen == set(MASKED)


def test_a_failed_actions_texts_show_no_clear_value_to_anyone(shop):
    """The webhook failed quoting the party (name, e-mail, phone, ID number): the rule trace
    and the dead-letter list keep the failure, without the values, for an admin too."""
    trace = f"/api/v1/t/shop/records/party/{shop['party']}/rule-trace"
    seen_failure = False
    for path in (trace, "/api/v1/t/shop/jobs/failed"):
        for headers in (shop["headers"], shop["admin"]):
            body = shop["api"].get(path, headers=headers).get_data(as_text=True)
            assert [v for v in CLEAR if v in body] == [], (path, headers is shop["admin"])
            seen_failure |= "answered 422" in body and "[redacted]" in body
    assert seen_failure
