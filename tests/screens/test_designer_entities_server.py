"""Whole entities in the designer, on SQLite and PostgreSQL (ScreenClient): create with
labels checked at the door, relabel, reorder (buttons or a drag's whole order), hide and
show, retire with its records and usage shown — each saved into the draft and published
through the engine; the navigation and the search follow the published order and hiding."""
from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings, strategies as st

from admin_ui.designer import edits_entities
from admin_ui.designer.edits import EditRefused
from admin_ui.designer.usage import entity_usage
from engine.app import create_app
from tests.conftest import crm_document
from tests.screens.conftest import ScreenClient, with_passwords
from tests.screens.test_designer_server import document_with_form, draft_of, text

PEOPLE = {"ann@acme.example": "admin", "mo@acme.example": "member"}


@pytest.fixture
def acme(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(document_with_form())
    with_passwords(install, "acme", PEOPLE)
    return create_app(install, {"TESTING": True})


def mine(install) -> dict:
    return draft_of(install, "ann@acme.example").mine().document


def entity(document: dict, name: str) -> dict:
    return next(e for e in document["entities"] if e["name"] == name)


def nav(page: str) -> list[str]:
    """The entity names in the shell's navigation, in order."""
    part = page[page.index('x-ref="entities"'):]
    part = part[:part.index("</ul>")]
    found = []
    for chunk in part.split('href="/t/acme/e/')[1:]:
        name = chunk.split('"', 1)[0].rstrip("/")
        if name not in found and "/" not in name:
            found.append(name)
    return found


# -- the edits themselves ------------------------------------------------------------
NAMES = st.lists(st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True), min_size=1, max_size=6, unique=True)


@settings(deadline=None)  # no timing: the machine may be busy
@given(NAMES, st.data())
def test_reordering_numbers_every_entity_once_in_the_asked_order(names, data):
    document = {"entities": [{"name": n, "fields": []} for n in names]}
    asked = data.draw(st.permutations(names))
    out = edits_entities.reorder_entities(document, list(asked))
    assert [e["name"] for e in sorted(out["entities"], key=lambda e: e["order"])] == list(asked)
    assert [e["name"] for e in out["entities"]] == names  # the list itself is untouched
    assert document == {"entities": [{"name": n, "fields": []} for n in names]}


@settings(deadline=None)
@given(NAMES, st.data())
def test_a_move_swaps_with_the_neighbour_and_stays_at_either_end(names, data):
    document = {"entities": [{"name": n, "fields": []} for n in names]}
    name = data.draw(st.sampled_from(names))
    step = data.draw(st.sampled_from([-1, 1]))
    out = edits_entities.move_entity(document, names, name, step)
    order = [e["name"] for e in sorted(out["entities"], key=lambda e: e["order"])]
    index, target = names.index(name), names.index(name) + step
    expected = list(names)
    if 0 <= target < len(names):
        expected[index], expected[target] = expected[target], expected[index]
    assert order == expected


def test_an_edit_of_an_entity_the_draft_lacks_is_refused():
    document = {"entities": [{"name": "a", "fields": []}]}
    for edit in (lambda: edits_entities.relabel_entity(document, "b", {"en": "B"}, None),
                 lambda: edits_entities.reorder_entities(document, ["a", "b"]),
                 lambda: edits_entities.set_entity_hidden(document, "b", True),
                 lambda: edits_entities.retire_entity(document, "b")):
        with pytest.raises(EditRefused):
            edit()


def test_retiring_takes_the_entitys_own_definitions_and_keeps_what_others_say_of_it():
    document = document_with_form()
    document["layouts"].append({"name": "account_list", "entity": "account", "kind": "list", "columns": ["name"]})
    usage = entity_usage(document, "account")
    assert {(u["kind"], u["name"]) for u in usage} == {("reference", "contact.account"), ("list", "account_list")}
    out = edits_entities.retire_entity(document, "account")
    assert [e["name"] for e in out["entities"]] == ["contact"]
    assert [layout["name"] for layout in out["layouts"]] == ["contact_form"]
    assert entity(out, "contact")["fields"] == entity(document, "contact")["fields"]


# -- through the screens and the engine, on both backends -----------------------------
def test_an_entity_is_created_relabelled_reordered_hidden_and_published(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    added = ann.post("/designer/entities", data={"name": "store", "label_en": "Store", "label_zh": "门店",
                                                 "plural_en": "Stores", "plural_zh": "门店"})
    assert added.status_code == 302 and added.headers["Location"].endswith("/designer/#entity-store")
    assert ann.post("/designer/e/store/label", data={"label_en": "Shop", "label_zh": "商店",
                                                     "plural_en": "Shops", "plural_zh": ""}).status_code == 302
    assert entity(mine(install), "store")["label"] == {"en": "Shop", "zh-CN": "商店"}
    assert entity(mine(install), "store")["plural_label"] == {"en": "Shops"}
    # Shown by label: Accounts, Contacts, Shops; the shop moved to the top.
    assert ann.post("/designer/e/store/move", data={"direction": "up"}).status_code == 302
    assert ann.post("/designer/e/store/move", data={"direction": "up"}).status_code == 302
    assert {e["name"]: e["order"] for e in mine(install)["entities"]} == {"store": 1, "account": 2, "contact": 3}
    assert ann.post("/designer/e/account/hidden", data={"hidden": "1"}).status_code == 302
    review = text(ann.get("/designer/review").text)
    assert "Add the entity store" in review and "Type acme to confirm" not in review
    assert ann.post("/designer/publish").status_code == 302
    package = install.session("acme").renew_metadata().package
    assert package.entity("store").label == {"en": "Shop", "zh-CN": "商店"}
    assert (package.entity("store").order, package.entity("account").hidden) == (1, True)
    install.session("acme").records.create("account", {"name": "Kept Ltd"})
    mo = ScreenClient(acme, "acme", "mo@acme.example")
    assert nav(mo.get("/").text) == ["store", "contact"]
    assert mo.get("/e/account").status_code == 200  # hidden, not gone: its records stay
    assert "Kept Ltd" not in mo.get("/search?q=Kept").text
    assert ann.post("/designer/e/account/hidden", data={"hidden": "0"}).status_code == 302
    ann.post("/designer/publish")
    assert nav(mo.get("/").text) == ["store", "account", "contact"]
    assert "Kept Ltd" in mo.get("/search?q=Kept").text


def test_a_drag_sends_the_whole_order(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    assert ann.post("/designer/entities/order", data={"order": "contact,account"}).status_code == 302
    assert {e["name"]: e["order"] for e in mine(install)["entities"]} == {"contact": 1, "account": 2}
    assert ann.post("/designer/entities/order", data={"order": "contact,nothing"}).status_code == 404


@pytest.mark.parametrize("form, where, message", [
    ({"name": "contact", "label_en": "Contact again"}, "name", "Your draft already has an entity contact."),
    ({"name": "Service Visit", "label_en": "Visit"}, "name", "is not a safe identifier"),
    ({"name": "loom_x", "label_en": "X"}, "name", "reserved for Loom"),
    ({"name": "", "label_en": "X"}, "name", "Give the entity a name."),
    ({"name": "visit", "label_en": " ", "label_zh": ""}, "label", "Give the entity a label in English or Chinese"),
])
def test_a_bad_new_entity_is_refused_beside_its_input_and_changes_nothing(acme, install, form, where, message):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    refused = ann.post("/designer/entities", data=form)
    assert refused.status_code == 400
    problem_id = "entity-name-problem" if where == "name" else "entity-label-problem"
    page = refused.text
    assert f'aria-describedby="{problem_id}"' in page or f'{problem_id}"' in page
    shown = page[page.index(f'id="{problem_id}"'):]
    assert message in text(shown[:shown.index("</p>")])
    assert f'value="{form["name"]}"' in page  # what was typed is kept
    assert draft_of(install, "ann@acme.example").mine() is None  # no draft written


def test_an_empty_label_is_refused_on_relabelling_and_changes_nothing(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    refused = ann.post("/designer/e/contact/label", data={"label_en": "", "label_zh": " "})
    assert refused.status_code == 400
    assert "Give the entity a label in English or Chinese (or both)." in text(refused.text)
    assert draft_of(install, "ann@acme.example").mine() is None
    assert ann.post("/designer/e/nothing/label", data={"label_en": "X"}).status_code == 404
    assert ann.post("/designer/e/contact/move", data={"direction": "sideways"}).status_code == 400
    assert ann.post("/designer/e/contact/hidden", data={"hidden": "maybe"}).status_code == 400


def test_retiring_shows_records_and_usage_then_needs_the_typed_confirmation(acme, install):
    session = install.session("acme")
    document = document_with_form()
    document["entities"].append({"name": "visit", "label": {"en": "Visit"},
                                 "fields": [{"name": "name", "type": "string"},
                                            {"name": "contact", "type": "reference", "to": "contact"}]})
    document["layouts"].append({"name": "visit_list", "entity": "visit", "kind": "list", "columns": ["name"]})
    session.apply_metadata(document)
    session.records.create("visit", {"name": "First"})
    session.records.create("visit", {"name": "Second"})
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    page = text(ann.get("/designer/e/visit/retire").text)
    assert "2 records are archived and dropped when you publish" in page and "visit_list" in page
    contact = text(ann.get("/designer/e/contact/retire").text)
    assert "Reference field" in contact and "visit.contact" in contact
    assert ann.post("/designer/e/visit/retire").status_code == 302
    assert [e["name"] for e in mine(install)["entities"]] == ["account", "contact"]
    assert all(layout["entity"] != "visit" for layout in mine(install)["layouts"])
    review = ann.get("/designer/review")
    words = text(review.text)
    assert "Drop the entity visit" in words and "2 records archived and dropped" in words
    assert "visit_list" in words and "Type acme to confirm" in words
    refused = ann.post("/designer/publish", data={"confirm": "nope"})
    assert refused.status_code == 400 and session.renew_metadata().package.entity("visit") is not None
    assert ann.post("/designer/publish", data={"confirm": "acme"}).status_code == 302
    assert session.renew_metadata().package.entity("visit") is None


def test_retiring_a_referenced_entity_leaves_a_problem_naming_the_reference(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    ann.post("/designer/e/account/retire")
    problems = draft_of(install, "ann@acme.example").mine().problems
    assert any(p["field"].startswith("/entities/0/fields/") for p in problems), problems
    assert "Correct the problems before publishing" in text(ann.get("/designer/review").text)


def test_old_documents_without_order_keep_the_navigation_by_label(acme, install):
    document = copy.deepcopy(crm_document())
    assert all("order" not in e and "hidden" not in e for e in document["entities"])
    mo = ScreenClient(acme, "acme", "mo@acme.example")
    assert nav(mo.get("/").text) == ["account", "contact"]
