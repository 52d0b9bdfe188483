"""Every screen answers bad input with a page, never a 5xx: each GET route of the screens'
blueprint is called, signed in as a member, with generated path values and query strings
(known parameter names with hostile values, field filters with every operator, unknown
names), on SQLite and PostgreSQL. The REST API has schemathesis (tests/test_api_fuzz.py);
the screens are HTML, so this drives them from Flask's URL map instead."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


@pytest.fixture
def member(settings):
    install = Install(settings, Plugins())
    install.registry.create("demo", "Demo")
    PackService(install).install("demo", "retail_loyalty", demo=True)
    with_passwords(install, "demo", {"fuzz@demo.example": "member"})
    app = create_app(install, {"TESTING": True})
    routes = sorted({rule.rule for rule in app.url_map.iter_rules()
                     if rule.endpoint.startswith("screens.") and "GET" in rule.methods})
    entities = [e.name for e in install.session("demo").metadata().package.entities]
    yield ScreenClient(app, "demo", "fuzz@demo.example"), routes, entities
    install.dispose()


def _fill(rule: str, data, entities) -> str:
    def value(match):
        name = match.group(2)
        if name == "tenant":
            return "demo"
        if name == "entity":
            return data.draw(st.one_of(st.sampled_from(entities), HOSTILE.filter(lambda s: "/" not in s)))
        return data.draw(st.one_of(st.integers(-5, 10**12).map(str), HOSTILE.filter(lambda s: "/" not in s)))
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
