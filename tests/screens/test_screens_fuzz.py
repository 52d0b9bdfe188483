"""Every screen answers bad input with a page, never a 5xx: each GET route of the screens'
blueprint is called, signed in as a member, with generated path values and query strings
(known parameter names with hostile values, field filters with every operator, unknown
names), and each POST route with generated forms (the names the screens' forms use and
the entity's fields, hostile values), with the page's CSRF token and without, as a member
and as an admin, on SQLite and PostgreSQL. The REST API has schemathesis (tests/test_api_fuzz.py);
the screens are HTML, so this drives them from Flask's URL map instead."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from werkzeug.datastructures import MultiDict

from engine.app import create_app
from engine.install import Install
from engine.plugins import Plugins
from engine.packs.service import PackService
from tests.screens.conftest import ScreenClient, with_passwords

PARAMS = ["q", "sort", "cursor", "limit", "fields", "by", "field", "month", "week", "view", "columns",
          "kind", "page", "next", "lang", "owner_id", "name", "status", "state", "before", "after"]
OPERATORS = ["", "__eq", "__ne", "__lt", "__gte", "__in", "__contains", "__isnull", "__any"]
HOSTILE = st.one_of(
    st.sampled_from(["", " ", "-", "0", "-1", "99999999999999999999", "1e309", "NaN", "true", "null",
                     "2024-13-45", "2024-W99", "2024-02", "王伟", "'; drop table party; --", "%", "_", "\\",
                     "\x00", "a" * 3000, "id", "-id", "name,,", "../..", "%ZZ", "+86 138-0013-8000", "²", "١٢", "-0", "+5", " 7 "]),
    st.text(max_size=40))


FORM_NAMES = ["id", "ids", "version", "to", "by", "filters", "asked", "comment", "action", "field", "value",
              "transition", "owner", "name", "query", "shared", "email", "password", "password2", "language",
              "next", "cursor", "back", "all", "show"]
SIGNED_OUT = ("/login", "/password-reset", "/password-reset/<secret>")
FORM_VALUES = ["on", "yes", "edit", "transition", "assign", "delete", "zh-CN", "en", "1", "CNY", "EUR",
               "2026-12-06T09:30", "2026-12-06", "12.50"]
ENTITY = "opportunity"  # a workflow (required fields, approvals), references, money, choices


def demo_install(settings):
    install = Install(settings, Plugins())
    install.registry.create("demo", "Demo")
    PackService(install).install("demo", "retail_loyalty", demo=True)
    with_passwords(install, "demo", {"fuzz@demo.example": "member", "boss@demo.example": "admin"})
    return install


def screen_routes(app, method: str) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if rule.endpoint.startswith("screens.") and method in rule.methods})


@pytest.fixture
def member(settings):
    install = demo_install(settings)
    app = create_app(install, {"TESTING": True})
    entities = [e.name for e in install.session("demo").metadata().package.entities]
    yield ScreenClient(app, "demo", "fuzz@demo.example"), screen_routes(app, "GET"), entities
    install.dispose()


def _fill(rule: str, data, entities, numbers=st.integers(-5, 10**12)) -> str:
    def value(match):
        name = match.group(2)
        if name == "tenant":
            return "demo"
        if name == "entity":
            return data.draw(st.one_of(st.sampled_from(entities), HOSTILE.filter(lambda s: "/" not in s)))
        return data.draw(st.one_of(numbers.map(str), HOSTILE.filter(lambda s: "/" not in s)))
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda match: quote(value(match), safe=""), rule)


def test_no_screen_answers_a_5xx_to_bad_input(member):
    client, routes, entities = member
    assert routes, "the screens' blueprint has no GET routes"

    @settings(max_examples=12 * len(routes), deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data):
        path = _fill(data.draw(st.sampled_from(routes)), data, entities)
        names = PARAMS + [f"{f}{op}" for f in ("name", "phone", "points_balance", "tier", "party", "joined_on",
                                               "zz") for op in OPERATORS]
        query = data.draw(st.lists(st.tuples(st.sampled_from(names), HOSTILE), max_size=4))
        response = client.client.get(path.replace("/t/demo", f"/t/{client.tenant}", 1), query_string=query,
                                     headers=data.draw(st.sampled_from([{}, {"HX-Request": "true"}])))
        assert response.status_code < 500, (path, query, response.text[:500])

    check()


@pytest.fixture
def posting(settings):
    """A member's and an admin's clients, the POST routes, the entities, and the field
    names a form may send (`opportunity`'s, with the move dialog's and money's variants)."""
    install = demo_install(settings)
    app = create_app(install, {"TESTING": True})
    package = install.session("demo").metadata().package
    entity = package.entity(ENTITY)
    fields = [f.name for f in entity.fields]
    names = FORM_NAMES + fields + [f"value.{f}" for f in fields] + [f"{f}__currency" for f in fields]
    words = sorted({o.value for f in entity.fields for o in f.options}
                   | {t.name for w in package.workflows for t in w.transitions} | set(FORM_VALUES))
    values = st.one_of(HOSTILE, st.integers(1, 40).map(str), st.sampled_from(words))
    clients = [ScreenClient(app, "demo", email) for email in ("fuzz@demo.example", "boss@demo.example")]
    visitor = app.test_client()  # the signed-out forms: signing in would sign the others out
    visitor.token = re.search(r'name="csrf_token" value="([^"]+)"', visitor.get("/t/demo/login").text).group(1)
    yield clients, visitor, screen_routes(app, "POST"), [e.name for e in package.entities], names, values
    install.dispose()


def test_no_screen_answers_a_5xx_to_a_bad_form(posting):
    clients, visitor, routes, entities, names, values = posting
    assert "/t/<tenant>/e/<entity>/kanban/move" in routes and "/t/<tenant>/login" in routes

    @settings(max_examples=15 * len(routes), deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data):
        rule = data.draw(st.sampled_from([r for r in routes if not r.endswith("/logout")]))
        signed_out = rule.endswith(SIGNED_OUT)
        client = visitor if signed_out else data.draw(st.sampled_from(clients))
        path = _fill(rule, data, [ENTITY] * 3 + entities, st.integers(1, 40))
        form = data.draw(st.lists(st.tuples(st.sampled_from(names), values), max_size=12))
        if data.draw(st.booleans()):
            form.append(("csrf_token", client.token))
        client = client if signed_out else client.client
        headers = data.draw(st.sampled_from([{}, {"HX-Request": "true"}]))
        response = client.post(path, data=MultiDict(form), headers=headers)
        assert response.status_code < 500, (path, form, response.text[:500])

    check()
    for client in clients:  # signing out with anything at all is a page too
        assert client.client.post("/t/demo/logout", data={"x": "\x00"}).status_code < 500
        assert client.post("logout").status_code < 500
