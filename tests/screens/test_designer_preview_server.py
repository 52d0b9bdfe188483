"""The designer's preview on a record and its read-only pages, on SQLite and PostgreSQL
(ScreenClient): a draft drawn on a real record (its page, list row and kanban card) with
the fields it adds empty and those it drops gone, while the schema, the data and the draft
row stay exactly as they were; picking the record by search or id; the designer's GETs
writing nothing; the review's plan kept per draft revision; a layout change said once."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import MetaData, Table, inspect, select

from engine.records.access_log import flush
from tests.screens.conftest import ScreenClient, statements
from tests.screens.test_designer_server import acme, add_wechat, draft_of, text  # noqa: F401 (a fixture)

WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE)\b", re.IGNORECASE)


def snapshot(install) -> dict:
    """Every table of the tenant with its columns and rows, and the drafts and versions kept;
    the access log's rows apart, which a preview adds to (the admin read the record): they
    are written in batches, after the request (`engine.records.access_log`)."""
    storage = install.session("acme").storage
    flush(storage)
    found = {}
    with storage.connect() as conn:
        tables = inspect(conn).get_table_names(schema=storage.schema)
        for name in sorted(set(tables) - {"loom_access_log"}):
            table = Table(name, MetaData(), autoload_with=conn, schema=storage.schema)
            found[name] = ([c.name for c in table.columns], sorted(map(repr, conn.execute(select(table)).all())))
    return found


def writes(seen: list[str]) -> list[str]:
    """The statements that write, but the access log's batch (which may be flushed by its
    timer while the request runs: see `snapshot`)."""
    return [s for s in seen if WRITES.match(s) and "loom_access_log" not in s]


def contact_with_values(install) -> int:
    records = install.session("acme").records
    account = records.create("account", {"name": "Lotus Trading"})
    return records.create("contact", {"full_name": "Wu Lan", "email": "wu@lotus.example", "birthday": "1990-01-02",
                                      "tier": "gold", "account": account["id"]})["id"]


def draft_changes(ann, install) -> None:
    """WeChat ID added to the form, tier relabelled, birthday retired, the account placed."""
    assert add_wechat(ann).status_code == 302
    ann.post("/designer/e/contact/fields/tier/label", data={"label_en": "Level", "label_zh": "等级"})
    ann.post("/designer/e/contact/fields/birthday/retire")
    draft = draft_of(install, "ann@acme.example")
    document = draft.open().document
    document["layouts"][0]["sections"][0]["fields"].append("account")
    assert draft.save(document).problems == []


def test_the_preview_draws_the_record_with_the_draft_and_changes_nothing(acme, install):  # noqa: F811
    record_id = contact_with_values(install)
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    draft_changes(ann, install)
    before = snapshot(install)
    with statements() as seen:
        page = ann.get(f"/designer/preview/contact/{record_id}")
    assert page.status_code == 200 and writes(seen) == []
    assert snapshot(install) == before
    shown = text(page.text)
    assert "Wu Lan with your draft applied" in shown
    assert "Shown empty, as your draft adds them: WeChat ID." in shown
    assert "WeChat ID —" in shown          # on the form, empty
    assert "Level Gold" in shown or "Level gold" in shown  # relabelled, with the record's value
    assert "Birthday" not in shown and "1990" not in shown  # retired: gone
    assert "Lotus Trading" in shown        # the live reference's title
    board = shown[shown.index("Its card on the board"):]
    gold = board[board.lower().index("gold"):]
    assert gold.index("Wu Lan") < 40       # the card sits in its tier's column
    live = text(ann.get(f"/e/contact/{record_id}").text)
    assert "Birthday" in live and "WeChat ID" not in live and "Level" not in live


def test_the_preview_is_in_chinese_too(acme, install):  # noqa: F811
    record_id = contact_with_values(install)
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    draft_changes(ann, install)
    ann.post("/language", data={"language": "zh-CN"})
    page = ann.get(f"/designer/preview/contact/{record_id}")
    shown = text(page.text)
    assert page.status_code == 200
    assert "草稿预览" in shown and "微信号" in shown and "等级" in shown


def test_a_record_is_picked_by_search_or_id(acme, install):  # noqa: F811
    record_id = contact_with_values(install)
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    picker = ann.get("/designer/preview")
    assert picker.status_code == 200 and '<option value="contact"' in picker.text
    found = ann.get("/designer/preview?entity=contact&q=Wu")
    assert found.status_code == 200 and f"/designer/preview/contact/{record_id}" in found.text
    assert "Preview Wu Lan" in text(found.text)
    assert "No record matches." in text(ann.get("/designer/preview?entity=contact&q=Nobody").text)
    by_id = ann.get(f"/designer/preview?entity=contact&id={record_id}")
    assert by_id.status_code == 302 and by_id.headers["Location"].endswith(f"/designer/preview/contact/{record_id}")
    bad = ann.get("/designer/preview?entity=contact&id=twelve")
    assert bad.status_code == 400 and "A record&#39;s id is a whole number" in bad.text
    assert ann.get("/designer/preview?entity=nothing").status_code == 404
    assert ann.get("/designer/preview/contact/999999").status_code == 404
    assert ann.get("/designer/preview/contact/abc").status_code == 404
    assert ann.get("/designer/preview/nothing/1").status_code == 404
    mo = ScreenClient(acme, "acme", "mo@acme.example")
    assert mo.get(f"/designer/preview/contact/{record_id}").status_code == 403
    assert mo.get("/designer/preview").status_code == 403


def test_a_draft_with_problems_or_dropping_the_entity_is_said_so(acme, install):  # noqa: F811
    record_id = contact_with_values(install)
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    ann.post("/designer/e/contact/fields", data={"name": "Bad Name", "type": "string"})
    refused = ann.get(f"/designer/preview/contact/{record_id}")
    assert refused.status_code == 409 and "Correct the problems of your draft to preview it" in text(refused.text)
    ann.post("/designer/discard")
    draft = draft_of(install, "ann@acme.example")
    document = draft.open().document
    document["entities"] = [e for e in document["entities"] if e["name"] != "contact"]
    document["layouts"] = []
    assert draft.save(document).problems == []
    dropped = ann.get(f"/designer/preview/contact/{record_id}")
    assert dropped.status_code == 200 and "Your draft drops this entity" in text(dropped.text)


def test_the_designers_pages_write_nothing_until_the_first_edit(acme, install):  # noqa: F811
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    record_id = contact_with_values(install)
    for path in ("/designer/", "/designer/e/contact", "/designer/review", "/designer/history",
                 "/designer/preview", f"/designer/preview/contact/{record_id}", "/designer/export"):
        with statements() as seen:
            assert ann.get(path).status_code == 200, path
        assert writes(seen) == [], path
    assert draft_of(install, "ann@acme.example").mine() is None
    add_wechat(ann)
    made = draft_of(install, "ann@acme.example").mine()
    assert made is not None and any(f["name"] == "wechat_id" for f in made.document["entities"][1]["fields"])


def test_an_unchanged_draft_follows_a_newer_version_without_being_rewritten(acme, install):  # noqa: F811
    ann, ben = ScreenClient(acme, "acme", "ann@acme.example"), ScreenClient(acme, "acme", "ben@acme.example")
    ann.post("/designer/e/contact/fields/tier/label", data={"label_en": "Tier", "label_zh": "级别"})
    ann.post("/designer/e/contact/fields/tier/label", data={})  # back to no label: no change left
    kept = draft_of(install, "ann@acme.example").mine()
    add_wechat(ben)
    assert ben.post("/designer/publish").status_code == 302
    with statements() as seen:
        overview = text(ann.get("/designer/").text)
    assert writes(seen) == [] and "Based on version 2; the current version is 2." in overview
    assert draft_of(install, "ann@acme.example").mine() == kept


def test_the_plan_is_kept_per_draft_revision_and_the_dry_run_keeps_the_metadata(acme, install):  # noqa: F811
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    add_wechat(ann)
    compiled = install.session("acme").metadata()
    first = draft_of(install, "ann@acme.example").plan()
    assert install.session("acme").metadata() is compiled  # a dry run does not throw the metadata away
    assert draft_of(install, "ann@acme.example").plan() is first
    ann.post("/designer/e/contact/fields/tier/label", data={"label_en": "Level"})
    second = draft_of(install, "ann@acme.example").plan()
    assert second is not first and "alter_label" in {c["kind"] for c in second.plan["changes"]}


def test_a_layout_change_is_said_once(acme, install):  # noqa: F811
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    add_wechat(ann)
    review = text(ann.get("/designer/review").text)
    said = "change form layout contact_form of contact"
    assert review.count(said) == 1
    assert "Add the field contact.wechat_id (add field contact.wechat_id" in review


def test_a_field_whose_type_the_draft_changes_shows_empty_and_nothing_breaks(acme, install):  # noqa: F811
    record_id = contact_with_values(install)
    draft = draft_of(install, "ann@acme.example")
    document = draft.open().document
    tier = next(f for f in document["entities"][1]["fields"] if f["name"] == "tier")
    tier.clear()
    tier.update({"name": "tier", "type": "string", "label": {"en": "Tier text"}})
    document["entities"].append({"name": "region", "fields": [{"name": "name", "type": "string"}]})
    document["entities"][1]["fields"].append({"name": "region", "type": "reference", "to": "region"})
    assert draft.save(document).problems == []
    ann = ScreenClient(acme, "acme", "ann@acme.example")
    page = ann.get(f"/designer/preview/contact/{record_id}")
    shown = text(page.text)
    assert page.status_code == 200
    assert "Shown empty, as your draft changes their type (publishing converts their values): Tier text." in shown
    assert "Shown empty, as your draft adds them: Region." in shown
    assert "With your draft, this entity has no board" in shown  # its one choice field is text now
    picker = ann.get("/designer/preview")
    assert '<option value="region"' not in picker.text  # a new entity holds no record yet
