"""The list views editor and the full field editor on the server, on SQLite and PostgreSQL
(ScreenClient): columns added, moved, dragged and removed; a list's settings (sort, page
size, kanban and calendar fields, the record header's key fields, a default filter) saved
into the draft with their problems beside their controls and honoured by the generated
screens once published; every property of a field, choices with their labels and
colours (badges on the screens); a field's usage; how a type change's values convert;
composite indexes; and bad input refused without a change."""
from __future__ import annotations

import copy
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.app import create_app
from engine.drafts import Drafts
from tests.conftest import crm_document
from metadata.model import OPTION_COLORS
from tests.screens.conftest import ScreenClient, with_passwords

PEOPLE = {"ann@acme.example": "admin", "mo@acme.example": "member"}


def document() -> dict:
    """The example CRM with a choice and a date field before `tier` and `birthday` (so a
    board and a calendar would pick those first) and a form and a list view of contacts."""
    out = copy.deepcopy(crm_document())
    contact = next(e for e in out["entities"] if e["name"] == "contact")
    contact["fields"][:0] = [{"name": "source", "type": "choice", "options": ["web", "shop"]},
                             {"name": "first_visit", "type": "date"}]
    out["layouts"] = [{"name": "contact_form", "entity": "contact", "kind": "form",
                       "sections": [{"name": "main", "fields": ["full_name", "email", "tier"]}]},
                      {"name": "contact_list", "entity": "contact", "kind": "list",
                       "columns": ["full_name", "email", "tier"], "sort": "full_name"}]
    return out


@pytest.fixture
def acme(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(document())
    with_passwords(install, "acme", PEOPLE)
    return create_app(install, {"TESTING": True})


def draft(install):
    from engine import auth

    storage = install.session("acme").storage
    return Drafts(install.session("acme", next(a for a in auth.list_users(storage)
                                                if a.email == "ann@acme.example"))).open()


def layout(install, name="contact_list"):
    return next(x for x in draft(install).document["layouts"] if x["name"] == name)


def field(install, name, entity="contact"):
    found = next(e for e in draft(install).document["entities"] if e["name"] == entity)
    return next(f for f in found["fields"] if f["name"] == name)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def columns(ann, **data):
    return ann.post("/designer/e/contact/lists/contact_list/columns", data=data)


def test_columns_are_added_moved_dragged_and_removed_in_the_draft(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    page = ann.get("/designer/e/contact/lists")
    assert page.status_code == 200 and "contact_list" in page.text
    assert columns(ann, column="phone", action="add").headers["Location"].endswith("/designer/e/contact/lists#list-contact_list")
    columns(ann, column="phone", action="left")
    assert layout(install)["columns"] == ["full_name", "email", "phone", "tier"]
    columns(ann, column="full_name", action="left")  # at the end already: stays
    columns(ann, column="email", action="remove")
    assert layout(install)["columns"] == ["full_name", "phone", "tier"]
    columns(ann, order="tier,full_name,phone")  # a drag
    assert layout(install)["columns"] == ["tier", "full_name", "phone"]


def test_a_new_list_view_is_named_after_its_entity_and_numbered_when_taken(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    ann.post("/designer/e/contact/lists", data={})
    ann.post("/designer/e/contact/lists", data={})
    views = [x for x in draft(install).document["layouts"] if x["kind"] == "list"]
    assert [x["name"] for x in views] == ["contact_list", "contact_list_2", "contact_list_3"]
    assert views[1]["columns"] == ["source", "first_visit", "full_name", "email", "phone"]


def list_settings(ann, **data):
    return ann.post("/designer/e/contact/lists/contact_list/settings", data=data)


def test_a_lists_settings_are_saved_and_a_bad_one_is_shown_beside_its_control(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    list_settings(ann, sort_1="tier", direction_1="descending", sort_2="full_name", page_size="25",
             kanban_field="tier", calendar_field="birthday", header_1="email", header_2="tier")
    saved = layout(install)
    assert {k: saved.get(k) for k in ("sort", "page_size", "kanban_field", "calendar_field", "header_fields")} == {
        "sort": "-tier,full_name", "page_size": 25, "kanban_field": "tier", "calendar_field": "birthday",
        "header_fields": ["email", "tier"]}
    assert draft(install).problems == []
    list_settings(ann, page_size="many", kanban_field="email")
    problems = {p["field"]: p["message"] for p in draft(install).problems}
    assert set(problems) == {"/layouts/1/page_size", "/layouts/1/kanban_field"}
    assert "must be a choice field" in problems["/layouts/1/kanban_field"]
    page = ann.get("/designer/e/contact/lists").text
    select = page[page.index('name="kanban_field"') - 200:page.index('name="kanban_field"') + 200]
    assert 'aria-invalid="true"' in select and "kanban-problems-1" in select
    assert 'id="size-problems-1"' in page and 'id="kanban-problems-1"' in page
    assert "sort" not in layout(install)  # left empty: the key is removed, the list sorts by id


def test_published_settings_drive_the_kanban_calendar_record_header_and_default_filter(acme, install):
    session = install.session("acme")
    changed = document()
    changed["layouts"][1].update({"kanban_field": "tier", "calendar_field": "birthday",
                                  "header_fields": ["phone"],
                                  "filter": {"field": "tier", "op": "eq", "value": "gold"}})
    session.apply_metadata(changed)
    gold = session.records.create("contact", {"full_name": "Gao Gold", "tier": "gold", "phone": "+86 10 1234 5678",
                                              "birthday": "1990-05-04"})
    session.records.create("contact", {"full_name": "Bai Regular", "tier": "regular", "birthday": "1990-05-05"})
    mo = ScreenClient(acme, "acme", "mo@acme.example")
    listed = mo.get("/e/contact")
    assert "Gao Gold" in listed.text and "Bai Regular" not in listed.text
    assert "This list shows only" in text(listed.text)
    everyone = mo.get("/e/contact?default_filter=off")
    assert "Gao Gold" in everyone.text and "Bai Regular" in everyone.text
    assert "2 records" in text(mo.get("/e/contact/count?default_filter=off").text)
    assert "1 records" in text(mo.get("/e/contact/count").text)
    assert mo.get("/e/contact/export.csv").text.count("\n") == 2  # the header and Gao
    assert '<option value="tier" selected>' in mo.get("/e/contact/kanban").text
    calendar = mo.get("/e/contact/calendar?month=1990-05")
    assert '<option value="birthday" selected>' in calendar.text and "Gao Gold" in calendar.text
    header = mo.get(f"/e/contact/{gold['id']}").text
    keys = header[header.index('class="key-fields"'):]
    keys = keys[:keys.index("</dl>")]
    # the key field is there, masked for a member (personal data): its last digits show
    assert "***5678" in keys and "+86 10 1234 5678" not in keys and "gold" not in keys.lower()


def tier_form(**extra) -> dict:
    """The field editor's form of `tier` as an admin fills it in: labels, help, flags,
    choices with their own labels and colours (one removed, one added)."""
    return {"type": "choice", "label_en": "Tier", "label_zh": "等级", "help_en": "The card's level",
            "help_zh": "", "required": "on", "pii": "on", "default": "silver",
            "option_value_0": "regular", "option_en_0": "Regular", "option_zh_0": "普通", "option_color_0": "grey",
            "option_value_1": "silver", "option_en_1": "Silver", "option_zh_1": "银卡", "option_color_1": "blue",
            "option_value_2": "gold", "option_en_2": "Gold", "option_zh_2": "金卡", "option_color_2": "yellow",
            "option_value_3": "diamond", "option_remove_3": "on",
            "option_value_4": "platinum", "option_en_4": "Platinum", "option_zh_4": "白金卡", "option_color_4": "purple",
            "option_value_5": "", **extra}


def test_the_field_editor_writes_every_property_and_colours_show_as_badges(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    page = ann.get("/designer/e/contact/f/tier")
    assert page.status_code == 200 and 'name="option_color_0"' in page.text
    saved = ann.post("/designer/e/contact/f/tier", data=tier_form())
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/designer/e/contact/f/tier")
    assert field(install, "tier") == {
        "name": "tier", "type": "choice", "label": {"en": "Tier", "zh-CN": "等级"}, "help": {"en": "The card's level"},
        "required": True, "pii": True, "default": "silver",
        "options": [{"value": "regular", "label": {"en": "Regular", "zh-CN": "普通"}, "color": "grey"},
                    {"value": "silver", "label": {"en": "Silver", "zh-CN": "银卡"}, "color": "blue"},
                    {"value": "gold", "label": {"en": "Gold", "zh-CN": "金卡"}, "color": "yellow"},
                    {"value": "platinum", "label": {"en": "Platinum", "zh-CN": "白金卡"}, "color": "purple"}]}
    assert draft(install).problems == []
    assert ann.post("/designer/publish").status_code == 302
    session = install.session("acme")
    record = session.records.create("contact", {"full_name": "Gao", "tier": "gold"})
    listed = ann.get("/e/contact").text
    assert '<span class="badge badge-yellow">Gold</span>' in listed
    assert '<span class="badge badge-yellow">Gold</span>' in ann.get(f"/e/contact/{record['id']}").text
    board = ann.get("/e/contact/kanban?by=tier").text
    assert '<span class="badge badge-purple">Platinum</span>' in board  # a column's heading


class _Form(HTMLParser):
    """What a browser sends for the page's form posting to `action`: its inputs (a checkbox
    when ticked), text areas and selects' chosen options."""

    def __init__(self, action):
        super().__init__()
        self.action, self.inside, self.data, self._area, self._select = action, False, {}, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action", "").endswith(self.action) and a.get("method", "").lower() == "post"
        elif not self.inside:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.data[a["name"]] = a.get("value", "on" if a.get("type") == "checkbox" else "")
        elif tag == "textarea":
            self._area = a.get("name")
            self.data[self._area] = ""
        elif tag == "select":
            self._select = a.get("name")
            self.data.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._area = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self.inside and self._area:
            self.data[self._area] += data


def form_of(html: str, action: str) -> dict:
    parser = _Form(action)
    parser.feed(html)
    return parser.data


def test_a_field_editor_saved_unchanged_changes_nothing(acme, install):
    """A boolean's default of false, a decimal's bounds and default written as numbers, every
    field of the entity: saving the form as drawn leaves each field as it was."""
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    document = copy.deepcopy(draft(install).document)
    contact = next(e for e in document["entities"] if e["name"] == "contact")
    contact["fields"] += [{"name": "vip", "type": "boolean", "default": False},
                          {"name": "discount", "type": "decimal", "precision": 5, "scale": 2, "min": 0,
                           "max": 100, "default": 0.5}]
    install.session("acme").apply_metadata(document)
    for name in [f["name"] for f in contact["fields"]]:
        before = field(install, name)
        path = f"/designer/e/contact/f/{name}"
        sent = form_of(ann.get(path).text, path)
        assert sent["type"] == before["type"], (name, sent)
        saved = ann.post(path, data=sent)
        assert saved.status_code == 302, (name, saved.text)
        assert field(install, name) == before, name


def test_a_type_change_shows_how_many_values_convert_and_which_would_not(acme, install):
    session = install.session("acme")
    kept = session.records.create("contact", {"full_name": "A", "phone": "12345"})
    bad = session.records.create("contact", {"full_name": "B", "phone": "+86 10 1234"})
    session.records.create("contact", {"full_name": "C"})
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    assert "conversion-title" not in ann.get("/designer/e/contact/f/phone").text
    ann.post("/designer/e/contact/f/phone", data={"type": "integer", "label_en": "Phone"})
    assert field(install, "phone") == {"name": "phone", "type": "integer", "label": {"en": "Phone"}}
    page = text(ann.get("/designer/e/contact/f/phone").text)
    assert "Changing phone to integer" in page
    assert "1 stored value converts." in page and "1 record has no value." in page
    assert "1 value would not convert" in page and f"#{bad['id']}" in page and f"#{kept['id']}" not in page
    assert "'+86 10 1234'" in page or "+86 10 1234" in page


def test_the_usage_panel_names_the_layouts_lists_rules_and_conditions_that_use_a_field(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    list_settings(ann, sort_1="tier", kanban_field="tier", page_size="50")
    ann.post("/designer/e/contact/f/email", data={"type": "email", "label_en": "Email"})
    page = ann.get("/designer/e/contact/f/tier").text
    usage = text(page[page.index('id="usage"'):])
    for where in ("/layouts/0/sections/0/fields/2", "/layouts/1/columns/2", "/layouts/1/sort", "/layouts/1/kanban_field"):
        assert where in usage
    assert "Form contact_form" in usage and "List view contact_list" in usage
    assert "Nothing else in the draft names this field" in text(ann.get("/designer/e/contact/f/birthday").text)


def test_composite_indexes_are_added_and_removed(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    ann.post("/designer/e/contact/indexes", data={"field_1": "tier", "field_2": "full_name", "unique": "on"})
    entity = next(e for e in draft(install).document["entities"] if e["name"] == "contact")
    assert entity["indexes"] == [{"fields": ["tier", "full_name"], "unique": True}]
    ann.post("/designer/e/contact/indexes", data={"field_1": "tier", "field_2": "tier"})
    assert any(p["field"].startswith("/entities/1/indexes/1") for p in draft(install).problems)
    assert "index-problems-2" in ann.get("/designer/e/contact/indexes").text
    ann.post("/designer/e/contact/indexes/1/remove")
    ann.post("/designer/e/contact/indexes/0/remove")
    entity = next(e for e in draft(install).document["entities"] if e["name"] == "contact")
    assert "indexes" not in entity and draft(install).problems == []


@pytest.mark.parametrize("method,url,data,status", [
    ("get", "/designer/e/nobody/lists", None, 404),
    ("get", "/designer/e/contact/f/nothing", None, 404),
    ("post", "/designer/e/contact/lists/no_such_list/columns", {"column": "email", "action": "add"}, 404),
    ("post", "/designer/e/contact/lists/contact_list/columns", {"column": "nothing", "action": "remove"}, 404),
    ("post", "/designer/e/contact/lists/contact_list/columns", {"column": "email", "action": "jump"}, 400),
    ("post", "/designer/e/contact/lists/contact_list/columns", {"action": "add"}, 400),
    ("post", "/designer/e/contact/f/nothing", {"type": "string"}, 404),
    ("post", "/designer/e/contact/indexes", {}, 400),
    ("post", "/designer/e/contact/indexes/7/remove", None, 404),
])
def test_bad_input_is_refused_and_changes_nothing(acme, install, method, url, data, status):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    ann.get("/designer/")  # opens the draft
    before = draft(install).document
    answer = getattr(ann, method)(url, data=data) if data is not None else getattr(ann, method)(url)
    assert answer.status_code == status
    assert draft(install).document == before


def test_a_member_gets_the_403_page(acme):
    mo = ScreenClient(acme, "acme", "mo@acme.example")
    for url in ("/designer/e/contact/lists", "/designer/e/contact/f/tier", "/designer/e/contact/indexes"):
        assert mo.get(url).status_code == 403
    assert mo.post("/designer/e/contact/lists/contact_list/columns", data={"column": "phone", "action": "add"}).status_code == 403


def test_a_default_filter_is_written_with_the_condition_builder_and_said_in_words(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    page = ann.get("/designer/e/contact/lists").text
    assert 'name="filter_1-match"' in page and "No default filter" in text(page)
    url = "/designer/e/contact/lists/contact_list/filter"
    ann.post(url, data={"prefix": "filter_1", "filter_1-match": "all", "filter_1-0-field": "tier",
                        "filter_1-0-op": "in", "filter_1-0-value": ["gold", "diamond"], "filter_1-0-multi": "1"})
    assert layout(install)["filter"] == {"field": "tier", "op": "in", "value": ["gold", "diamond"]}
    assert "The list shows only: Tier is one of gold, diamond." in text(ann.get("/designer/e/contact/lists").text)
    ann.post(url, data={"prefix": "filter_1", "filter_1-match": "all", "filter_1-0-field": "lifetime_value",
                        "filter_1-0-op": "gt", "filter_1-0-value": "lots"})
    assert [p["field"] for p in draft(install).problems] == ["/layouts/1/filter/value"]
    page = ann.get("/designer/e/contact/lists").text
    row = page[page.index('name="filter_1-0-value"') - 300:page.index('name="filter_1-0-value"') + 300]
    assert 'aria-invalid="true"' in row
    before = layout(install)
    assert ann.post(url, data={"prefix": "filter_1", "filter_1-mode": "json", "filter_1-json": "{nope"}).status_code == 400
    assert ann.post(url, data={"prefix": "other", "other-match": "all"}).status_code == 400
    assert layout(install) == before
    ann.post(url, data={"prefix": "filter_1", "filter_1-match": "all"})  # no rows: no filter
    assert "filter" not in layout(install) and draft(install).problems == []


OPTION = st.fixed_dictionaries({
    "value": st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True),
    "en": st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    "zh": st.sampled_from(["", "金卡", "普通会员", "钻石"]),
    "color": st.sampled_from(("",) + OPTION_COLORS)})


def shown_options(html: str) -> list[dict]:
    """The choices' rows as the field editor's page fills them in (what a browser would send back)."""
    def value(name):
        found = re.search(rf'name="{name}"[^>]*?value="([^"]*)"', html)
        return unescape(found.group(1)) if found else ""

    rows, n = [], 0
    while f'name="option_value_{n}"' in html:
        colour = re.search(rf'name="option_color_{n}".*?</select>', html, re.S).group(0)
        chosen = re.search(r'<option value="([a-z]*)" selected', colour)
        rows.append({"value": value(f"option_value_{n}"), "en": value(f"option_en_{n}"),
                     "zh": value(f"option_zh_{n}"), "color": chosen.group(1) if chosen else ""})
        n += 1
    return [row for row in rows if row["value"]]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(options=st.lists(OPTION, min_size=1, max_size=5, unique_by=lambda o: o["value"]))
def test_the_choices_an_admin_saves_are_the_choices_the_editor_shows_again(acme, install, options):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    form = {"type": "choice", "label_en": "Tier"}
    for n, option in enumerate(options):
        form.update({f"option_value_{n}": option["value"], f"option_en_{n}": option["en"],
                     f"option_zh_{n}": option["zh"], f"option_color_{n}": option["color"]})
    ann.post("/designer/e/contact/f/tier", data=form)
    saved = field(install, "tier")["options"]
    assert [o["value"] for o in saved] == [o["value"] for o in options]
    assert [o.get("color", "") for o in saved] == [o["color"] for o in options]
    assert [o.get("label", {}).get("zh-CN", "") for o in saved] == [o["zh"] for o in options]
    # an option without labels reads as labelled by its value (the model's default)
    assert shown_options(ann.get("/designer/e/contact/f/tier").text) == [
        {**o, "en": o["en"].strip() or ("" if o["zh"] else o["value"])} for o in options]
