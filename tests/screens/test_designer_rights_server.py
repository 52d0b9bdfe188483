"""The designer's rights matrix editor on the server, on SQLite and PostgreSQL (ScreenClient):
a role added, its rights ticked in the matrix and its fields set hidden / read only, all in
the admin's draft (the same role document `loom metadata apply` takes), previewed in
words, published, and then obeyed by the record service for a user holding it; a reserved
name shown as the engine's problem; bad posts refused with nothing changed; members get
403 everywhere."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine import auth, people
from engine.app import create_app
from engine.drafts import Drafts
from engine.errors import LoomError
from tests.conftest import crm_document
from tests.screens.conftest import ScreenClient, with_passwords

ANN, MO, CLERK = "ann@acme.example", "mo@acme.example", "clerk@acme.example"
ROLE = "roles/roles/desk_clerk"


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def acme(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(crm_document())
    with_passwords(install, "acme", {ANN: "admin", MO: "member", CLERK: "member"})
    return create_app(install, {"TESTING": True})


def documented_role() -> dict:
    text = (Path(__file__).resolve().parents[2] / "docs" / "designer.md").read_text(encoding="utf-8")
    return json.loads(re.search(r"<!-- designer-rights-example -->\s*```json\n(.*?)```", text, re.S).group(1))


def draft_of(install, email=ANN):
    admin = next(a for a in auth.list_users(install.session("acme").storage) if a.email == email)
    return Drafts(install.session("acme", admin))


def test_a_role_is_drafted_in_the_matrix_previewed_published_and_obeyed(acme, install):
    ann = ScreenClient(acme, "acme", ANN)
    added = ann.post("/designer/roles", data={"kind": "roles", "name": "desk_clerk", "label_en": "Desk clerk",
                                              "label_zh": "前台"})
    assert added.status_code == 302 and added.headers["Location"].endswith(f"/designer/{ROLE}")
    page = ann.get(f"/designer/{ROLE}")
    assert page.status_code == 200
    assert 'aria-label="Read: Contact"' in page.text and 'aria-label="Transfer ownership: Account"' in page.text
    assert "Cannot use: Account, Contact" in text(page.text)          # a new role may do nothing yet

    saved = ann.post(f"/designer/{ROLE}/rights", data={
        "entity": ["account", "contact"], "right": ["contact:read", "contact:update", "contact:create"],
        "unmask": ["contact"]})
    assert saved.status_code == 302
    fields = ann.post(f"/designer/{ROLE}/e/contact", data={
        "field:email": "none", "field:full_name": "read", "field:phone": "", "other_fields": "edit"})
    assert fields.status_code == 302
    [role] = draft_of(install).open().document["roles"]
    assert role == documented_role()  # docs/designer.md's example is what the matrix writes

    page = text(ann.get(f"/designer/{ROLE}").text)
    preview = page[page.index("What a holder could do"):]
    assert re.search(r"Contact : Create, Read, Update\. Hidden: e-?mail\. Read only: Full name", preview, re.I), preview
    assert "Cannot use: Account" in page and "1 hidden, 1 read only" in page
    assert 'value="read" selected' in ann.get(f"/designer/{ROLE}/e/contact").text
    assert "desk_clerk" not in str(install.session("acme").metadata().package.roles)  # only drafted
    ann.post("/designer/roles", data={"kind": "permission_sets", "name": "exporter"})
    ann.post("/designer/roles/permission_sets/exporter/rights", data={"entity": ["contact"], "right": ["contact:export"]})
    shown = text(ann.get("/designer/roles/permission_sets/exporter").text)
    assert "Contact : Export" in shown and "Cannot use: Account" in shown  # the set alone, no member role

    draft_of(install).publish()
    storage = install.session("acme").storage
    clerk_id = next(a.id for a in auth.list_users(storage) if a.email == CLERK)
    people.change(storage, clerk_id, roles=["desk_clerk"], package=install.session("acme").metadata().package)
    clerk = next(a for a in auth.list_users(storage) if a.email == CLERK)
    records = install.session("acme", clerk).records
    made = install.session("acme").records.create("contact", {"full_name": "Zhang Wei", "email": "zw@example.cn"})
    seen = records.get("contact", made["id"])
    assert "email" not in seen and seen["full_name"] == "Zhang Wei"
    with pytest.raises(LoomError) as refused:
        records.update("contact", made["id"], {"full_name": "Someone else"})
    assert refused.value.code == "field_not_editable"
    with pytest.raises(LoomError) as hidden:
        records.list("account", [])
    assert hidden.value.code == "entity_not_found"


def test_the_engines_problems_show_and_bad_posts_change_nothing(acme, install):
    ann = ScreenClient(acme, "acme", ANN)
    assert ann.post("/designer/roles", data={"kind": "roles", "name": "admin"}).status_code == 302
    page = ann.get("/designer/roles/roles/admin")
    assert "is a built-in role; name the role otherwise" in page.text and "/roles/0/name" in page.text
    assert "correct it to see this preview" in text(page.text)
    assert "1 problem" in text(ann.get("/designer/roles").text)
    before = draft_of(install).open().document
    refused = {
        "/designer/roles": {"kind": "roles", "name": ""},
        "/designer/roles/roles/admin/rights": {"entity": ["contact"], "right": ["contact:fly"]},
        "/designer/roles/roles/admin/e/contact": {"field:email": "secret"},
    }
    for path, data in refused.items():
        assert ann.post(path, data=data).status_code == 400, path
    assert ann.post("/designer/roles", data={"kind": "groups", "name": "x"}).status_code == 400
    assert ann.post("/designer/roles/roles/admin/rights", data={"entity": ["nothing"]}).status_code == 404
    assert ann.post("/designer/roles/roles/nobody/rights", data={"entity": ["contact"]}).status_code == 404
    assert ann.post("/designer/roles/roles/admin/e/nothing", data={"other_fields": "read"}).status_code == 404
    assert ann.post("/designer/roles/roles/admin/rights", data={"unmask": ["everything"]}).status_code == 400
    assert ann.get("/designer/roles/roles/nobody").status_code == 404
    assert ann.get("/designer/roles/teams/admin").status_code == 404
    assert draft_of(install).open().document == before
    assert ann.post("/designer/roles/roles/admin/remove").status_code == 302
    assert "roles" not in draft_of(install).open().document


def test_a_member_gets_the_403_page_on_every_rights_page(acme, install):
    mo = ScreenClient(acme, "acme", MO)
    for path in ("designer/roles", f"designer/{ROLE}", f"designer/{ROLE}/e/contact"):
        assert mo.get(path).status_code == 403
    for path in ("designer/roles", f"designer/{ROLE}/rights", f"designer/{ROLE}/e/contact", f"designer/{ROLE}/remove"):
        assert mo.post(path, data={"kind": "roles", "name": "x"}).status_code == 403
