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

import pytest

from engine.app import create_app
from engine.drafts import Drafts
from tests.conftest import crm_document
from tests.screens.conftest import ScreenClient, with_passwords

PEOPLE = {"ann@acme.example": "admin", "mo@acme.example": "member"}


def document() -> dict:
    out = copy.deepcopy(crm_document())
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
                                                if a.email == "ann@acme.example"))).mine()


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
