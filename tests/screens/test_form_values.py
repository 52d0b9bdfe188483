"""One reading of form inputs for every screen (record form, bulk edit, kanban dialog): a
value rendered into its input and sent back unchanged is the same value, for every field
type; dates and times are typed in the tenant's time zone and stored in UTC."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from flask import g
from hypothesis import HealthCheck, given, settings, strategies as st
from werkzeug.datastructures import MultiDict

from admin_ui import form_values
from engine.app import create_app
from tests.conftest import crm_document
from tests.screens.conftest import ScreenClient, with_passwords
from workflows.calendar import save_calendar

BOSS = "boss@acme.example"
CHOICES = [{"value": v, "label": v.title()} for v in ("gold", "silver", "bronze")]
SHANGHAI = "Asia/Shanghai"


def field(base, **more) -> dict:
    return {"name": "f", "label": "F", "base_type": base, "type": base, **more}


def line(min_size=0):
    """A text as a one-line input sends it back: trimmed, no line breaks or NUL."""
    alphabet = st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"))
    return st.text(alphabet, min_size=min_size, max_size=30).map(str.strip).filter(lambda t: len(t) >= min_size)


def minutes():
    start = datetime(1900, 1, 2, tzinfo=timezone.utc)
    return st.integers(0, 200 * 365 * 24 * 60).map(
        lambda n: (start + timedelta(minutes=n)).isoformat().replace("+00:00", "Z"))


json_values = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | line(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(line(1), inner, max_size=3),
                           max_leaves=8)

CASES = {
    "string": (field("string"), line(1)),
    "text": (field("text"), st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\x00"),
                                    min_size=1, max_size=40).filter(lambda t: t.strip())),
    "email": (field("email"), st.emails()),
    "choice": (field("choice", choices=CHOICES), st.sampled_from(["gold", "silver", "bronze"])),
    "multi_choice": (field("multi_choice", choices=CHOICES),
                     st.lists(st.sampled_from(["gold", "silver", "bronze"]), min_size=1, unique=True)
                     .map(lambda vs: sorted(vs, key=["gold", "silver", "bronze"].index))),
    "integer": (field("integer"), st.integers(-2**63 + 1, 2**63 - 1)),
    "reference": (field("reference", to="account"), st.integers(1, 2**63 - 1)),
    "decimal": (field("decimal", scale=2), st.decimals(-10**9, 10**9, places=2).map(str)),
    "currency": (field("currency"), st.tuples(st.decimals(0, 10**9, places=2).map(str),
                                              st.sampled_from(["CNY", "EUR", "USD"]))
                 .map(lambda p: {"amount": p[0], "currency": p[1]})),
    "boolean": (field("boolean"), st.booleans()),
    "date": (field("date"), st.dates().map(lambda d: d.isoformat())),
    "datetime": (field("datetime"), minutes()),
    "json": (field("json"), json_values.filter(lambda v: v is not None)),
}


def as_browser_sends(spec: dict, shown) -> MultiDict:
    """The form a browser posts for an input showing `shown` that nobody touched."""
    name, base = spec["name"], spec["base_type"]
    if base == "boolean":
        return MultiDict([(name, "on")] if shown else [])
    if base == "multi_choice":
        return MultiDict([(name, v) for v in shown])
    if base == "currency":
        return MultiDict([(name, shown["amount"]), (f"{name}__currency", shown["currency"])])
    if base in ("text", "json"):
        return MultiDict([(name, shown.replace("\n", "\r\n"))])
    return MultiDict([(name, shown)])


@pytest.fixture
def shanghai(install):
    """A tenant whose times are shown in Shanghai (UTC+8), its system session in `g`."""
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    save_calendar(session, {"timezone": SHANGHAI})
    app = create_app(install, {"TESTING": True})
    with app.test_request_context("/t/acme/"):
        g.session = session
        yield session


@pytest.mark.parametrize("base", sorted(CASES))
def test_a_value_shown_in_its_input_and_sent_back_is_the_same_value(base, shanghai):
    spec, values = CASES[base]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(values)
    def round_trip(value):
        shown = form_values.input_value(spec, value)
        raw = form_values.submitted(spec, as_browser_sends(spec, shown))
        assert raw == shown
        back, problem = form_values.record_value(spec, raw)
        assert problem is None
        if base == "datetime":
            back = back.replace(":00Z", "Z") if back.count(":") == 3 else back
            value = value.replace(":00Z", "Z") if value.count(":") == 3 else value
        if base in ("decimal",):
            back, value = Decimal(back), Decimal(value)
        assert back == (value if base != "boolean" else value)

    round_trip()


def test_a_time_is_shown_and_typed_in_the_tenants_zone(shanghai):
    moment = field("datetime")
    assert form_values.input_value(moment, "2024-05-01T01:30:00Z") == "2024-05-01T09:30"
    assert form_values.record_value(moment, "2024-05-01T09:30") == ("2024-05-01T01:30:00Z", None)
    assert form_values.record_value(moment, "2024-05-01T07:00") == ("2024-04-30T23:00:00Z", None)
    assert form_values.record_value(moment, "soon") == ("soon", None)  # the engine says what is wrong


def test_a_dialog_without_a_currency_input_takes_the_fields_default_currency(shanghai):
    money = field("currency", default={"amount": "0", "currency": "EUR"})
    raw = form_values.submitted(money, MultiDict([("value.f", "12.5")]), "value.f")
    assert form_values.record_value(money, raw) == ({"amount": "12.5", "currency": "EUR"}, None)
    assert form_values.submitted(field("boolean"), MultiDict([("value", "true")]), "value") is True
    assert form_values.submitted(field("boolean"), MultiDict([("value", "false")]), "value") is False


def test_the_record_form_and_the_bulk_edit_read_a_time_in_the_tenants_zone(install):
    document = crm_document()
    contact = next(e for e in document["entities"] if e["name"] == "contact")
    contact["fields"].append({"name": "met_at", "type": "datetime", "label": "Met at"})
    install.registry.create("acme", "Acme")
    system = install.session("acme")
    system.apply_metadata(document)
    save_calendar(system, {"timezone": SHANGHAI})
    with_passwords(install, "acme", {BOSS: "admin"})
    boss = ScreenClient(create_app(install, {"TESTING": True}), "acme", BOSS)
    created = boss.post("e/contact/new", {"full_name": "Mei", "met_at": "2024-05-01T09:30"})
    assert created.status_code == 302, created.text
    record_id = int(re.search(r"/e/contact/(\d+)", created.headers["Location"]).group(1))
    assert system.records.get("contact", record_id)["met_at"] == "2024-05-01T01:30:00Z"
    form = boss.get(f"e/contact/{record_id}/edit").text
    assert 'value="2024-05-01T09:30"' in form and SHANGHAI in form
    bulk = boss.hx("POST", "e/contact/bulk", {"action": "edit", "field": "met_at", "value": "2024-06-01T08:00",
                                              "ids": [str(record_id)]})
    assert bulk.status_code == 200, bulk.text
    assert system.records.get("contact", record_id)["met_at"] == "2024-06-01T00:00:00Z"
