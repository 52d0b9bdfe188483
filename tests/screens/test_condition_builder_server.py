"""The designer's condition builder on the server: any condition the rows can show
survives being drawn and submitted (a property over generated conditions); its actions
add, remove and regroup rows; values are converted by field type and checked by the one
condition checker, the problems shown beside the row; the condition said in words; bad
requests refused with a page, never a 500."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from flask_babel import refresh
from hypothesis import HealthCheck, given, settings, strategies as st
from werkzeug.datastructures import MultiDict

from admin_ui.condition_words import describe
from admin_ui.designer.condition_builder import condition_from_form
from engine.app import create_app
from tests.conftest import crm_document
from tests.screens.conftest import ScreenClient, with_passwords

PEOPLE = {"ann@acme.example": "admin", "mo@acme.example": "member"}


@pytest.fixture
def site(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(crm_document())
    with_passwords(install, "acme", PEOPLE)
    app = create_app(install, {"TESTING": True})
    return app, ScreenClient(app, "acme", "ann@acme.example")


def contact() -> dict:
    return next(e for e in crm_document()["entities"] if e["name"] == "contact")


class Controls(HTMLParser):
    """The values a browser would submit from the drawn builder (buttons left out)."""

    def __init__(self):
        super().__init__()
        self.form, self.select, self.textarea = MultiDict(), None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.form.add(a["name"], a.get("value", ""))
        elif tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select and "selected" in a:
            self.form.add(self.select, a.get("value", ""))
        elif tag == "textarea":
            self.textarea = a.get("name")
            self.form.add(self.textarea, "")

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.form.setlist(self.textarea, [self.form.get(self.textarea, "") + data])


def controls(html: str) -> MultiDict:
    parser = Controls()
    parser.feed(html)
    return parser.form


def redraw(client, data: dict, prefix="cond", entity="contact"):
    return client.hx("POST", f"/designer/condition/{entity}?prefix={prefix}", data=data)


def drawn(client, condition) -> str:
    """The builder drawn for `condition` (given as JSON, turned into rows)."""
    page = redraw(client, {"cond-mode": "json", "cond-json": json.dumps(condition), "cond-action": "rows"})
    assert page.status_code == 200, page.text
    return page.text


def read_back(app, html: str):
    with app.test_request_context():
        return condition_from_form(controls(html), "cond", contact(), crm_document())


# -- generated conditions -------------------------------------------------------------

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=12)
item = text.map(str.strip).filter(lambda t: t and not re.search(r"[,，]", t))
TIERS = ["regular", "silver", "gold", "diamond"]


def leaves():
    return st.one_of(
        st.builds(lambda op, v: {"field": "full_name", "op": op, "value": v},
                  st.sampled_from(["eq", "ne", "contains"]), text),
        st.builds(lambda op, v: {"field": "full_name", "op": op, "value": v},
                  st.sampled_from(["in", "not_in"]), st.lists(item, min_size=1, max_size=3)),
        st.builds(lambda v: {"field": "full_name", "op": "matches", "value": v}, st.from_regex(r"\A\^?[a-z]{1,5}\Z")),
        st.builds(lambda op, v: {"field": "tier", "op": op, "value": v},
                  st.sampled_from(["eq", "ne"]), st.sampled_from(TIERS)),
        st.builds(lambda op, v: {"field": "tier", "op": op, "value": v},
                  st.sampled_from(["in", "not_in"]), st.lists(st.sampled_from(TIERS), min_size=1, max_size=4, unique=True)),
        st.builds(lambda op, v: {"field": "lifetime_value", "op": op, "value": v},
                  st.sampled_from(["eq", "gt", "gte", "lt", "lte"]),
                  st.decimals(min_value=-10**6, max_value=10**6, places=2).map(str)),
        st.builds(lambda op, v: {"field": "consent_marketing", "op": op, "value": v},
                  st.sampled_from(["eq", "ne"]), st.booleans()),
        st.builds(lambda v: {"field": "birthday", "op": "gte", "value": v.isoformat()}, st.dates()),
        st.builds(lambda v: {"field": "account", "op": "eq", "value": v}, st.integers(1, 10**9)),
        st.builds(lambda f, op: {"field": f, "op": op},
                  st.sampled_from(["full_name", "tier", "email", "birthday"]), st.sampled_from(["exists", "not_exists"])),
    )


def conditions():
    group = st.builds(lambda key, items: {key: items}, st.sampled_from(["all", "any"]),
                      st.lists(leaves(), min_size=1, max_size=3))
    top = st.builds(lambda key, items: {key: items}, st.sampled_from(["all", "any"]),
                    st.lists(st.one_of(leaves(), group), min_size=1, max_size=4))
    return st.one_of(leaves(), top)


def normal(condition, top=True):
    """The rows' own form: all-of-one-leaf is that leaf; the choices of "is one of" in the
    field's order (a list box submits them so)."""
    if top and "all" in condition and len(condition["all"]) == 1 and "field" in condition["all"][0]:
        return normal(condition["all"][0])
    key = next((k for k in ("all", "any") if k in condition), None)
    if key:
        return {key: [normal(c, top=False) for c in condition[key]]}
    if condition["field"] == "tier" and condition["op"] in ("in", "not_in"):
        return {**condition, "value": sorted(condition["value"], key=TIERS.index)}
    return condition


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(condition=conditions())
def test_any_condition_the_rows_can_show_comes_back_unchanged(site, condition):
    app, ann = site
    html = drawn(ann, condition)
    assert 'name="cond-mode" value="rows"' in html
    back, problems = read_back(app, html)
    assert problems == []
    assert back == normal(condition)


# -- actions --------------------------------------------------------------------------

def test_rows_are_added_grouped_and_removed(site):
    app, ann = site
    one = redraw(ann, {"cond-mode": "rows", "cond-match": "all", "cond-action": "add"}).text
    assert 'name="cond-0-field"' in one and "Remove condition 1" in one
    form = controls(one)
    form["cond-action"] = "add-group"
    two = redraw(ann, form).text
    assert 'name="cond-1-match"' in two and 'name="cond-1-0-field"' in two
    form = controls(two)
    form["cond-action"] = "add:1"
    three = redraw(ann, form).text
    assert 'name="cond-1-1-field"' in three and "Add a condition to group 2" in three
    form = controls(three)
    form["cond-action"] = "remove:0"
    four = redraw(ann, form).text
    assert 'name="cond-0-match"' in four and 'name="cond-1-' not in four, "the group moved up to the first place"
    form = controls(four)
    form["cond-action"] = "remove:0-0"
    form["cond-action"] = "remove:0-1"
    five = redraw(ann, form).text
    form = controls(five)
    form["cond-action"] = "remove:0-0"
    assert "No condition yet." in redraw(ann, form).text, "a group without rows goes away"


def test_changing_the_field_keeps_only_an_operator_it_allows(site):
    app, ann = site
    html = drawn(ann, {"field": "full_name", "op": "matches", "value": "^Z"})
    form = controls(html)
    form["cond-0-field"] = "tier"
    redrawn = redraw(ann, form).text
    assert '<option value="matches"' not in redrawn
    back, problems = read_back(app, redrawn)
    assert back["field"] == "tier" and back["op"] == "eq" and problems
    assert problems[0]["code"] == "missing_value" or problems[0]["code"] == "invalid_value"


def test_values_are_converted_by_type_and_checked_beside_their_row(site):
    app, ann = site
    form = MultiDict({"cond-mode": "rows", "cond-match": "any",
                      "cond-0-field": "account", "cond-0-op": "eq", "cond-0-value": " 42 ",
                      "cond-1-field": "consent_marketing", "cond-1-op": "eq", "cond-1-value": "true",
                      "cond-2-field": "lifetime_value", "cond-2-op": "gt", "cond-2-value": "a lot",
                      "cond-3-field": "email", "cond-3-op": "in", "cond-3-value": "a@x.cn, b@x.cn，c@x.cn"})
    with app.test_request_context():
        condition, problems = condition_from_form(form, "cond", contact(), crm_document())
    assert condition["any"][0]["value"] == 42 and condition["any"][1]["value"] is True
    assert condition["any"][3]["value"] == ["a@x.cn", "b@x.cn", "c@x.cn"]
    assert [p["field"] for p in problems] == ["/any/2/value"]
    html = redraw(ann, form).text
    row = html[html.index('id="cond-2"'):]
    row = row[:row.index('id="cond-3"')]
    assert 'aria-invalid="true"' in row and "cond-2-problems" in row
    assert 'aria-invalid="true"' not in html.replace(row, "")


def test_json_mode_keeps_what_rows_cannot_show(site):
    app, ann = site
    deep = {"not": {"any": [{"field": "tier", "op": "eq", "value": "gold"},
                            {"all": [{"any": [{"field": "full_name", "op": "exists"}]}]}]}}
    html = drawn(ann, deep)
    assert 'name="cond-mode" value="json"' in html
    assert "cannot be shown as rows" in html
    back, problems = read_back(app, html)
    assert back == deep and problems == []
    bad = redraw(ann, {"cond-mode": "json", "cond-json": "{not json", "cond-action": "rows"})
    assert bad.status_code == 200 and "This is not JSON" in bad.text


def test_the_condition_in_words(site):
    app, ann = site
    document = crm_document()
    entity = next(e for e in document["entities"] if e["name"] == "contact")
    entity["fields"][4]["options"] = [{"value": "gold", "label": {"en": "Gold", "zh-CN": "黄金"}}, "silver"]
    entity["fields"][4]["label"] = {"en": "Tier", "zh-CN": "等级"}
    condition = {"all": [{"field": "tier", "op": "in", "value": ["gold", "silver"]},
                         {"any": [{"field": "lifetime_value", "op": "gt", "value": "100"},
                                  {"field": "email", "op": "not_exists"}]}]}
    with app.test_request_context():
        assert describe(condition, entity) == "Tier is one of Gold, silver and (lifetime_value is greater than 100 " \
                                              "or email is empty)"
        assert describe(None, entity) == "always"
    with app.test_request_context(headers={"Cookie": "loom_lang=zh-CN"}):
        app.extensions["loom_catalogues"].as_default()  # as every screen request does
        refresh()
        words = describe(condition, entity)
    assert words.startswith("等级 是以下之一 黄金, silver")


def test_bad_requests_get_a_clear_refusal(site, install):
    app, ann = site
    assert redraw(ann, {}, prefix="Bad Prefix!").status_code == 400
    missing = redraw(ann, {}, entity="nothing")
    assert missing.status_code == 404 and "no entity nothing" in missing.text
    junk = redraw(ann, {"cond-mode": "rows", "cond-0-field": "nope", "cond-0-op": "zz", "cond-7-9-value": "x",
                        "cond-action": "remove:99-99"})
    assert junk.status_code == 200 and "unknown field" in junk.text
    mo = ScreenClient(app, "acme", "mo@acme.example")
    assert redraw(mo, {"cond-action": "add"}).status_code == 403


def test_a_redraw_keeps_the_legend_and_waits_for_a_value_before_asking_for_one(site):
    app, ann = site
    added = redraw(ann, {"cond-mode": "rows", "cond-legend": "Shown when", "cond-action": "add"}).text
    assert "<legend>Shown when</legend>" in added
    assert "aria-invalid" not in added, "a row just added is not yet wrong"
    form = controls(added)
    with app.test_request_context():
        _condition, problems = condition_from_form(form, "cond", contact(), crm_document())
    assert [p["code"] for p in problems] == ["invalid_value"], "saving it says a value is needed"
    form["cond-0-field"], form["cond-0-op"], form["cond-0-value"] = "lifetime_value", "gt", "lots"
    assert "aria-invalid" in redraw(ann, form).text, "a value typed and wrong is said at once"


def test_choices_are_offered_by_their_labels(site, install):
    app, ann = site
    document = crm_document()
    tier = next(f for e in document["entities"] if e["name"] == "contact" for f in e["fields"] if f["name"] == "tier")
    tier["options"] = [{"value": "gold", "label": {"en": "Gold card", "zh-CN": "金卡"}}, "silver", "regular"]
    install.session("acme").apply_metadata(document)
    html = drawn(ann, {"field": "tier", "op": "eq", "value": "gold"})
    assert '<option value="gold" selected>Gold card</option>' in html and '<option value="silver" >silver</option>' in html


def test_odd_digits_and_numbers_json_cannot_hold_are_refused_plainly(site):
    app, ann = site
    for action in ("add:²", "remove:²-1", "remove:" + "9" * 5000):
        page = redraw(ann, {"cond-mode": "rows", "cond-action": action})
        assert page.status_code == 200, action
    for text in ('{"field": "lifetime_value", "op": "gt", "value": NaN}', '{"field": "account", "op": "eq", "value": 1e999}'):
        page = redraw(ann, {"cond-mode": "json", "cond-json": text, "cond-action": "rows"})
        assert page.status_code == 200 and "This is not JSON" in page.text
