"""The form layout editor on the server, on SQLite and PostgreSQL (ScreenClient): every move
of a field, a section and a tab is a post that writes the admin's draft (the same post a
drag sends), bad input is refused with its reason and changes nothing, the draft's problems
show beside the section they concern, and the preview draws the DRAFT's form with the
engine's conditions judged on the values typed into it. The edits themselves (pure
functions) keep every field exactly once, whatever the moves."""
from __future__ import annotations

import copy
import html
import re

import pytest
from hypothesis import given, settings, strategies as st

from admin_ui.designer import edits_forms
from admin_ui.designer.edits import EditRefused
from engine.app import create_app
from engine.drafts import Drafts
from tests.conftest import crm_document
from tests.screens.conftest import ScreenClient, with_passwords

PEOPLE = {"ann@acme.example": "admin", "mo@acme.example": "member"}
FORM = "/designer/e/contact/form"


def document_with_form() -> dict:
    document = copy.deepcopy(crm_document())
    document["layouts"] = [{"name": "contact_form", "entity": "contact", "kind": "form",
                            "sections": [{"name": "main", "fields": ["full_name", "email", "tier"]}]}]
    return document


@pytest.fixture
def acme(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(document_with_form())
    with_passwords(install, "acme", PEOPLE)
    return create_app(install, {"TESTING": True})


@pytest.fixture
def ann(acme):
    return ScreenClient(acme, "acme", "ann@acme.example")


def draft(install) -> Drafts:
    from engine import auth

    storage = install.session("acme").storage
    return Drafts(install.session("acme", next(a for a in auth.list_users(storage) if a.email == "ann@acme.example")))


def form_of(install) -> dict:
    return next(layout for layout in draft(install).open().document["layouts"] if layout["name"] == "contact_form")


def sections_of(install) -> dict:
    return {s["name"]: s["fields"] for s in form_of(install)["sections"]}


def text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def preview_of(html: str) -> str:
    return html[html.index('id="form-preview"'):]


def test_the_editor_shows_the_sections_the_fields_off_the_form_and_the_preview(ann):
    page = ann.get(FORM)
    assert page.status_code == 200
    shown = text(page.text)
    assert "Section: main" in shown and "Fields not on the form" in shown
    unplaced = page.text[page.text.index('id="form-unplaced"'):]
    assert 'data-field="phone"' in unplaced and 'data-field="full_name"' not in unplaced
    preview = preview_of(page.text)
    assert 'id="f-full_name"' in preview and 'id="f-phone"' not in preview
    assert 'aria-label="Place on the form: Phone"' in unplaced


def test_placing_and_moving_fields_writes_the_draft_as_a_drag_would(ann, install):
    placed = ann.post(f"{FORM}/place", data={"field": "phone", "section": "main", "position": "1"})
    assert placed.status_code == 302 and placed.headers["Location"].endswith("focus=fld-phone#fld-phone")
    assert sections_of(install)["main"] == ["full_name", "phone", "email", "tier"]
    ann.post(f"{FORM}/fields/phone/move", data={"direction": "up"})
    assert sections_of(install)["main"] == ["phone", "full_name", "email", "tier"]
    ann.post(f"{FORM}/fields/phone/move", data={"direction": "up"})  # at the top it stays
    assert sections_of(install)["main"] == ["phone", "full_name", "email", "tier"]
    ann.post(f"{FORM}/place", data={"field": "birthday", "section": "main"})  # no position: at the end
    assert sections_of(install)["main"][-1] == "birthday"
    ann.post(f"{FORM}/fields/phone/off")
    assert "phone" not in sections_of(install)["main"]
    assert 'data-field="phone"' in ann.get(FORM).text.split('id="form-unplaced"')[1]
    assert not draft(install).open().problems


def test_sections_are_added_labelled_given_columns_moved_and_removed(ann, install):
    added = ann.post(f"{FORM}/sections", data={"name": "contact_ways", "label_en": "Reach", "label_zh": "联系方式",
                                               "columns": "3"})
    assert added.status_code == 302
    section = form_of(install)["sections"][1]
    assert section == {"name": "contact_ways", "label": {"en": "Reach", "zh-CN": "联系方式"}, "columns": 3,
                       "fields": []}
    assert draft(install).open().problems == [{"field": "/layouts/0/sections/1/fields", "code": "schema",
                                               "message": "must list at least 1 item"}]
    ann.post(f"{FORM}/place", data={"field": "email", "section": "contact_ways"})
    ann.post(f"{FORM}/sections/contact_ways", data={"label_en": "Reach us", "label_zh": "", "columns": "2"})
    assert form_of(install)["sections"][1] == {"name": "contact_ways", "label": {"en": "Reach us"},
                                               "columns": 2, "fields": ["email"]}
    assert not draft(install).open().problems
    ann.post(f"{FORM}/sections/contact_ways/move", data={"direction": "up"})
    assert list(sections_of(install)) == ["contact_ways", "main"]
    ann.post(f"{FORM}/sections/contact_ways/remove")
    assert list(sections_of(install)) == ["main"]
    assert 'data-field="email"' in ann.get(FORM).text.split('id="form-unplaced"')[1]


def test_tabs_take_the_sections_and_give_them_back(ann, install):
    ann.post(f"{FORM}/sections", data={"name": "more", "columns": "1"})
    ann.post(f"{FORM}/place", data={"field": "phone", "section": "more"})
    ann.post(f"{FORM}/tabs", data={"name": "profile", "label_en": "Profile", "label_zh": "资料"})
    assert form_of(install)["tabs"] == [{"name": "profile", "label": {"en": "Profile", "zh-CN": "资料"},
                                        "sections": ["main", "more"]}]
    ann.post(f"{FORM}/tabs", data={"name": "extra", "label_en": "Extra"})
    ann.post(f"{FORM}/sections/more/tab", data={"tab": "extra"})
    assert [t["sections"] for t in form_of(install)["tabs"]] == [["main"], ["more"]]
    assert not draft(install).open().problems
    ann.post(f"{FORM}/tabs/extra/move", data={"direction": "up"})
    assert [t["name"] for t in form_of(install)["tabs"]] == ["extra", "profile"]
    ann.post(f"{FORM}/tabs/extra", data={"label_en": "More", "label_zh": "更多"})
    assert form_of(install)["tabs"][0]["label"] == {"en": "More", "zh-CN": "更多"}
    preview = preview_of(ann.get(FORM).text)
    assert 'role="tab"' in preview and ">More<" in preview
    ann.post(f"{FORM}/tabs/extra/remove")  # the first tab's sections go to the next one
    assert form_of(install)["tabs"] == [{"name": "profile", "label": {"en": "Profile", "zh-CN": "资料"},
                                        "sections": ["main", "more"]}]
    ann.post(f"{FORM}/tabs/profile/remove")
    assert "tabs" not in form_of(install) and not draft(install).open().problems


@pytest.mark.parametrize("path, data, status, said", [
    (f"{FORM}/sections", {"name": "more", "columns": "7"}, 400, "A section has 1 to 4 columns."),
    (f"{FORM}/sections", {"name": "Bad Name"}, 400, "A name is lowercase letters"),
    (f"{FORM}/tabs", {"name": ""}, 400, "A name is lowercase letters"),
    (f"{FORM}/place", {"field": "phone", "section": "main", "position": "first"}, 400, "A position is a whole number."),
    (f"{FORM}/place", {"field": "phone"}, 400, "Choose where to move it."),
    (f"{FORM}/place", {"field": "nickname", "section": "main"}, 404, "has no field 'nickname'"),
    (f"{FORM}/place", {"field": "phone", "section": "nowhere"}, 404, "has no section 'nowhere'"),
    (f"{FORM}/fields/email/move", {"direction": "sideways"}, 400, "Move up or down."),
    (f"{FORM}/fields/phone/move", {"direction": "up"}, 404, "does not show the field 'phone'"),
    (f"{FORM}/sections/main/tab", {"tab": "nope"}, 404, "has no tab 'nope'"),
    ("/designer/e/nobody/form/place", {"field": "phone", "section": "main"}, 404, ""),
])
def test_bad_input_is_refused_with_its_reason_and_changes_nothing(ann, install, path, data, status, said):
    before = draft(install).open().document
    answer = ann.post(path, data=data)
    assert answer.status_code == status
    assert said in text(answer.text)
    assert draft(install).open().document == before
    if said:  # the editor page, its reason taking the focus after an htmx redraw
        assert 'data-focus="form-refusal"' in answer.text and 'id="form-refusal"' in answer.text


def test_a_member_gets_the_403_page(acme):
    mo = ScreenClient(acme, "acme", "mo@acme.example")
    assert mo.get(FORM).status_code == 403
    assert mo.post(f"{FORM}/place", data={"field": "phone", "section": "main"}).status_code == 403


def test_an_entity_without_a_form_layout_gets_one_holding_its_fields(ann, install):
    page = ann.get("/designer/e/account/form")
    assert "has no form layout" in text(page.text)
    assert ann.post("/designer/e/account/form/create").status_code == 302
    layout = next(item for item in draft(install).open().document["layouts"] if item["entity"] == "account")
    assert layout == {"name": "account_form", "entity": "account", "kind": "form",
                      "sections": [{"name": "main", "fields": ["name", "industry"]}]}
    assert not draft(install).open().problems


def test_the_preview_draws_the_draft_not_the_live_form(ann, install):
    ann.post("/designer/e/contact/fields", data={"name": "wechat_id", "type": "string", "label_en": "WeChat ID",
                                                 "label_zh": "微信号", "section": ""})
    ann.post(f"{FORM}/place", data={"field": "wechat_id", "section": "main", "position": "0"})
    preview = preview_of(ann.get(FORM).text)
    assert preview.index('id="f-wechat_id"') < preview.index('id="f-full_name"')
    assert "WeChat ID" in preview
    assert 'id="f-wechat_id"' not in ann.get("/e/contact/new").text  # the live form is unchanged


def test_the_preview_waits_while_the_draft_has_problems(ann, install):
    ann.post(f"{FORM}/sections", data={"name": "empty"})
    page = ann.get(FORM).text
    assert draft(install).open().problems
    assert "Problems in your draft: 1. The preview shows once they are corrected." in text(preview_of(page))
    box = page[page.index('id="sec-empty"'):]
    assert "/layouts/0/sections/1/fields must list at least 1 item" in text(box[:box.index("</ol>")])


def test_an_htmx_post_gets_the_editor_back_with_what_to_focus(ann, install):
    answer = ann.hx("POST", f"{FORM}/place", data={"field": "phone", "section": "main"}, follow_redirects=True)
    assert answer.status_code == 200
    assert 'id="form-designer"' in answer.text and 'data-focus="fld-phone"' in answer.text


# -- the edits, whatever the moves ----------------------------------------------------------
FIELDS = ["a", "b", "c", "d", "e"]
SECTIONS = ["one", "two", "three"]


def small_document() -> dict:
    return {"entities": [{"name": "thing", "fields": [{"name": n, "type": "string"} for n in FIELDS]}],
            "layouts": [{"name": "thing_form", "entity": "thing", "kind": "form",
                         "sections": [{"name": "one", "fields": ["a", "b"]}, {"name": "two", "fields": ["c"]},
                                      {"name": "three", "fields": ["d"]}]}]}


MOVES = st.one_of(
    st.tuples(st.just("place"), st.sampled_from(FIELDS), st.sampled_from(SECTIONS), st.none() | st.integers(-2, 6)),
    st.tuples(st.just("step"), st.sampled_from(FIELDS), st.sampled_from([-1, 1])),
    st.tuples(st.just("off"), st.sampled_from(FIELDS)),
    st.tuples(st.just("section"), st.sampled_from(SECTIONS), st.sampled_from([-1, 1])),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(MOVES, max_size=25))
def test_moves_keep_every_placed_field_exactly_once(moves):
    document = small_document()
    on_form = {"a", "b", "c", "d"}
    for move in moves:
        kind, *args = move
        try:
            if kind == "place":
                document = edits_forms.place_field(document, "thing", *args)
                on_form.add(args[0])
            elif kind == "step":
                document = edits_forms.step_field(document, "thing", *args)
            elif kind == "off":
                document = edits_forms.take_off(document, "thing", *args)
                on_form.discard(args[0])
            else:
                document = edits_forms.step_section(document, "thing", *args)
        except EditRefused:
            assert kind in ("step", "off") and args[0] not in on_form
    placed = edits_forms.placed(document["layouts"][0])
    assert sorted(placed) == sorted(on_form)
    assert sorted(s["name"] for s in document["layouts"][0]["sections"]) == sorted(SECTIONS)


def test_an_edit_never_changes_the_document_it_is_given():
    document = small_document()
    kept = copy.deepcopy(document)
    edits_forms.place_field(document, "thing", "e", "two", 0)
    edits_forms.add_tab(document, "thing", "t", None)
    edits_forms.remove_section(document, "thing", "one")
    assert document == kept


# -- conditions, written with the condition builder, judged in the preview -------------------
def rows(key: str, field: str, op: str, value: str) -> dict:
    return {"key": key, f"{key}-mode": "rows", f"{key}-match": "all", f"{key}-0-field": field,
            f"{key}-0-op": op, f"{key}-0-value": value}


def field_doc(install, name: str) -> dict:
    contact = next(e for e in draft(install).open().document["entities"] if e["name"] == "contact")
    return next(f for f in contact["fields"] if f["name"] == name)


def preview_for(ann, **values) -> str:
    shown = ["full_name", "email", "tier", "lifetime_value"]
    return ann.hx("POST", f"{FORM}/preview", data={"_shown": shown, **values}).text


def test_a_field_shows_in_the_preview_when_its_condition_holds(ann, install):
    ann.post(f"{FORM}/place", data={"field": "lifetime_value", "section": "main"})
    saved = ann.post(f"{FORM}/conditions/field/lifetime_value", data=rows("visible_if", "tier", "eq", "gold"))
    assert saved.status_code == 302 and saved.headers["Location"].endswith("#fld-lifetime_value")
    assert field_doc(install, "lifetime_value")["visible_if"] == {"field": "tier", "op": "eq", "value": "gold"}
    assert "Shown when Tier is gold" in text(ann.get(FORM).text)
    assert 'id="f-lifetime_value"' in preview_for(ann, tier="gold")
    assert 'id="f-lifetime_value"' not in preview_for(ann, tier="silver")
    assert 'hx-post="/t/acme/designer/e/contact/form/preview"' in preview_for(ann, tier="gold")  # tier redraws it


def test_a_field_is_required_in_the_preview_while_its_required_if_holds(ann, install):
    ann.post(f"{FORM}/conditions/field/email", data=rows("required_if", "tier", "eq", "diamond"))
    assert field_doc(install, "email")["required_if"] == {"field": "tier", "op": "eq", "value": "diamond"}
    required = preview_for(ann, tier="diamond")
    assert 'id="f-email"' in required and "Email (required)" in text(required)
    assert "Email (required)" not in text(preview_for(ann, tier="gold"))
    ann.post(f"{FORM}/conditions/field/email", data={"key": "required_if", "clear": "1"})
    assert "required_if" not in field_doc(install, "email")


def test_a_section_shows_only_while_its_condition_holds(ann, install):
    ann.post(f"{FORM}/sections", data={"name": "money", "label_en": "Money"})
    ann.post(f"{FORM}/place", data={"field": "lifetime_value", "section": "money"})
    ann.post(f"{FORM}/conditions/section/money", data=rows("visible_if", "tier", "in", "gold, diamond"))
    assert form_of(install)["sections"][1]["visible_if"] == {"field": "tier", "op": "in", "value": ["gold", "diamond"]}
    assert "Shown when Tier is one of gold, diamond" in text(ann.get(FORM).text)
    assert 'id="s-money"' in preview_for(ann, tier="diamond")
    assert 'id="s-money"' not in preview_for(ann, tier="regular")


def test_a_condition_the_engine_refuses_is_shown_in_the_builder_and_not_saved(ann, install):
    before = draft(install).open().document
    page = ann.post(f"{FORM}/conditions/field/email", data=rows("visible_if", "lifetime_value", "gt", "lots"))
    assert page.status_code == 400
    builder = page.text[page.text.index('id="visible_if-builder"'):]
    assert 'aria-invalid="true"' in builder and 'value="lots"' in builder
    assert draft(install).open().document == before
    assert ann.post(f"{FORM}/conditions/field/email", data={"key": "sometimes"}).status_code == 404
    assert ann.get(f"{FORM}/conditions/field/nickname").status_code == 404
    assert ann.get(f"{FORM}/conditions/section/nowhere").status_code == 404
    assert ann.get(f"{FORM}/conditions/tab/main").status_code == 404


def test_a_malformed_draft_is_shown_and_its_malformed_parts_are_not_edited(ann, install):
    document = document_with_form()
    document["layouts"][0]["sections"] = [{"name": "main", "fields": "full_name"}, "oops"]
    draft(install).save(document)
    page = ann.get(FORM)
    assert page.status_code == 200 and 'id="sec-main"' in page.text
    assert "Problems in your draft" in text(preview_of(page.text))
    refused = ann.post(f"{FORM}/place", data={"field": "phone", "section": "main"})
    assert refused.status_code == 409 and "is not a list" in text(refused.text)
    assert draft(install).open().document == document
