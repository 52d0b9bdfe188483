"""The designer on the server, on SQLite and PostgreSQL (ScreenClient): a draft's life
from the screens — edits saved into the draft with their problems beside the field,
review in words, a destructive publish only with the typed confirmation, history, diff,
revert, export and import — and a member gets the 403 page."""
from __future__ import annotations

import copy
import io
import json
import re

import pytest

from engine.app import create_app
from engine.drafts import Drafts
from tests.conftest import crm_document
from tests.screens.conftest import ScreenClient, with_passwords

PEOPLE = {"ann@acme.example": "admin", "ben@acme.example": "admin", "mo@acme.example": "member"}


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


def draft_of(install, email):
    from engine import auth

    storage = install.session("acme").storage
    return Drafts(install.session("acme", next(a for a in auth.list_users(storage) if a.email == email)))


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def add_wechat(client, **extra):
    return client.post("/designer/e/contact/fields", data={
        "name": "wechat_id", "type": "string", "label_en": "WeChat ID", "label_zh": "微信号",
        "help_en": "Without the @", "help_zh": "不带 @", "section": "main", **extra})


def test_an_admin_adds_a_field_reviews_and_publishes_it(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    overview = ann.get("/designer/")
    assert overview.status_code == 200
    assert "Based on version 1; the current version is 1." in text(overview.text)
    added = add_wechat(ann)
    assert added.status_code == 302 and added.headers["Location"].endswith("/designer/e/contact#field-wechat_id")
    field = next(f for f in draft_of(install, "ann@acme.example").mine().document["entities"][1]["fields"]
                 if f["name"] == "wechat_id")
    assert field == {"name": "wechat_id", "type": "string", "label": {"en": "WeChat ID", "zh-CN": "微信号"},
                     "help": {"en": "Without the @", "zh-CN": "不带 @"}}
    review = text(ann.get("/designer/review").text)
    assert "Add the field contact.wechat_id" in review and "Type acme to confirm" not in review
    assert ann.post("/designer/publish").status_code == 302
    history = install.session("acme").metadata_history()
    assert history[-1]["applied_by"] == "ann@acme.example"
    assert "wechat_id" in history[-1]["document"]["layouts"][0]["sections"][0]["fields"]
    mo = ScreenClient(acme, "acme", "mo@acme.example")
    assert "微信号" not in mo.get("/e/contact/new").text and "WeChat ID" in mo.get("/e/contact/new").text


def test_a_problem_is_shown_beside_the_field_and_kept_in_the_draft(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    ann.post("/designer/e/contact/fields", data={"name": "Bad Name", "type": "string"})
    page = ann.get("/designer/e/contact").text
    row = page[page.index('id="field-Bad Name"'):]
    row = row[:row.index("</form>")]
    assert "/entities/1/fields/8/name" in row and "not a safe identifier" in row
    problems_id = re.search(r'<ul class="problems field-error" id="([^"]+)"', row).group(1)
    assert f'aria-describedby="{problems_id}" aria-invalid="true"' in row
    assert draft_of(install, "ann@acme.example").mine().problems
    review = ann.get("/designer/review")
    assert "Correct the problems before publishing" in text(review.text)


def test_moving_hiding_relabelling_and_retiring_edit_the_draft(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    ann.post("/designer/e/contact/fields/email/move", data={"direction": "up"})
    ann.post("/designer/e/contact/fields/phone/hide", data={"hidden": "1"})
    ann.post("/designer/e/contact/fields/tier/label", data={"label_en": "Level", "label_zh": "等级"})
    ann.post("/designer/e/contact/fields/birthday/retire")
    fields = draft_of(install, "ann@acme.example").mine().document["entities"][1]["fields"]
    names = [f["name"] for f in fields]
    assert names[:3] == ["email", "full_name", "phone"] and "birthday" not in names
    by_name = {f["name"]: f for f in fields}
    assert by_name["phone"]["hidden"] is True and by_name["tier"]["label"] == {"en": "Level", "zh-CN": "等级"}
    assert ann.post("/designer/e/contact/fields/nope/move", data={"direction": "up"}).status_code == 404
    assert ann.post("/designer/e/contact/fields/email/move", data={"direction": "sideways"}).status_code == 400
    assert ann.get("/designer/e/nothing").status_code == 404


def test_a_destructive_publish_needs_the_typed_confirmation_and_reverts_with_its_values(acme, install):
    install.session("acme").records.create("contact", {"full_name": "Wu", "birthday": "1990-01-02"})
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    ann.post("/designer/e/contact/fields/birthday/retire")
    review = text(ann.get("/designer/review").text)
    assert "Drop the field contact.birthday — 1 value in 1 record" in review and "Type acme to confirm" in review
    refused = ann.post("/designer/publish", data={"confirm": "yes"})
    assert refused.status_code == 400 and "Type acme to confirm the changes that drop data." in text(refused.text)
    assert install.session("acme").metadata_history()[-1]["version"] == 1
    assert ann.post("/designer/publish", data={"confirm": "acme"}).status_code == 302
    history = text(ann.get("/designer/history").text)
    assert "Revert to version 1" in history and "drop field contact.birthday" in history
    diff = text(ann.get("/designer/diff?from=1&to=2").text)
    assert "drop field contact.birthday" in diff
    assert ann.post("/designer/revert/1").status_code == 302
    record = install.session("acme").records.list("contact", [])["items"][0]
    assert record["birthday"] == "1990-01-02"


def test_export_and_import_round_trip_the_json(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    exported = ann.get("/designer/export?version=1")
    assert exported.status_code == 200 and exported.mimetype == "application/json"
    document = json.loads(exported.text)
    document["entities"][0]["label"] = {"en": "Firm", "zh-CN": "公司"}
    imported = ann.post("/designer/import", data={"document": (io.BytesIO(json.dumps(document).encode()), "d.json")},
                        content_type="multipart/form-data")
    assert imported.status_code == 302
    assert json.loads(ann.get("/designer/export").text)["entities"][0]["label"] == {"en": "Firm", "zh-CN": "公司"}
    bad = ann.post("/designer/import", data={"document": (io.BytesIO(b"[1]"), "d.json")},
                   content_type="multipart/form-data")
    assert bad.status_code == 400 and "metadata document" in bad.text
    for path in ("/designer/export?version=9", "/designer/export?version=x", "/designer/diff?from=1&to=7",
                 "/designer/diff?from=a"):
        assert ann.get(path).status_code == 404, path


def test_the_second_admin_is_told_of_the_first_and_asked_to_rebase(acme, install):
    ann, ben = ScreenClient(acme, "acme", "ann@acme.example"), ScreenClient(acme, "acme", "ben@acme.example")
    add_wechat(ann)
    ben.post("/designer/e/account/fields/industry/label", data={"label_en": "Sector", "label_zh": "行业"})
    assert "ben@acme.example has a draft based on version 1." in text(ann.get("/designer/").text)
    ann.post("/designer/publish")
    review = text(ben.get("/designer/review").text)
    assert "Rebase on version 2" in review
    assert ben.post("/designer/publish").status_code == 302
    assert install.session("acme").metadata_history()[-1]["version"] == 2
    assert ben.post("/designer/rebase").status_code == 302
    assert ben.post("/designer/publish").status_code == 302
    last = install.session("acme").metadata_history()[-1]
    assert last["version"] == 3 and last["applied_by"] == "ben@acme.example"


def test_a_member_gets_the_403_page_and_no_designer_link(acme):
    mo = ScreenClient(acme, "acme", "mo@acme.example")
    for method, path in (("GET", "/designer/"), ("GET", "/designer/review"), ("POST", "/designer/publish"),
                         ("POST", "/designer/e/contact/fields"), ("GET", "/designer/history")):
        response = mo.get(path) if method == "GET" else mo.post(path)
        assert response.status_code == 403 and "Only a tenant admin may open this page." in response.text
    assert "/designer/" not in mo.get("/").text
    assert "/t/acme/designer/" in ScreenClient(acme, "acme", "ann@acme.example").get("/").text


def test_an_entity_added_in_the_designer_is_published_with_its_labels(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    added = ann.post("/designer/entities", data={"name": "store", "label_en": "Store", "label_zh": "门店",
                                                 "plural_en": "Stores", "plural_zh": "门店"})
    assert added.status_code == 302
    assert "Add the entity store" in text(ann.get("/designer/review").text)
    ann.post("/designer/publish")
    store = install.session("acme").renew_metadata().package.entity("store")
    assert store.label == {"en": "Store", "zh-CN": "门店"} and store.field_names() == ("name",)
    assert install.session("acme").records.create("store", {"name": "Nanjing Road"})["id"] == 1


def test_discarding_the_draft_starts_again_from_the_current_version(acme, install):
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    add_wechat(ann)
    assert ann.post("/designer/discard").status_code == 302
    assert "It has no changes yet." in text(ann.get("/designer/").text)


def test_a_malformed_draft_is_shown_and_refused_as_such_never_a_server_error(acme, install):
    # A draft is kept even when invalid (an imported JSON file): every screen reads it.
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    document = document_with_form()
    next(e for e in document["entities"] if e["name"] == "contact")["fields"] = 5
    document["layouts"][0]["sections"] = ["main"]
    document["entities"].append("not an entity")
    draft = draft_of(install, "ann@acme.example")
    draft.open()
    assert draft.save(document).problems  # kept, with what is wrong
    for path in ("/designer/", "/designer/e/contact", "/designer/review", "/designer/history"):
        assert ann.get(path).status_code == 200, path
    refused = add_wechat(ann)
    assert refused.status_code == 409 and "is not a list" in text(refused.text)
    document["entities"] = 5
    draft.save(document)
    assert ann.get("/designer/").status_code == 200
    assert ann.get("/designer/e/contact").status_code == 404
