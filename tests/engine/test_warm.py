"""engine.warm: a server warmed before its first request has its templates compiled, each
tenant's metadata and tables compiled, and each admin's open draft's publishing plan kept
(the first review after a start makes no dry run). On SQLite and PostgreSQL."""
from __future__ import annotations

import gc

from engine import auth
from engine.app import create_app
from engine.drafts import Drafts
from engine.warm import warm
from tests.conftest import crm_document


def test_warming_compiles_templates_tenants_and_the_open_drafts_plans(install):
    install.registry.create("acme", "Acme")
    install.registry.create("bare", "Bare")
    install.session("acme").apply_metadata(crm_document())
    admin = auth.create_user(install.session("acme").storage, "ann@acme.example", "admin")
    drafts = Drafts(install.session("acme", admin))
    document = drafts.open().document
    document["entities"][0]["fields"].append({"name": "vat_id", "type": "string"})
    draft = drafts.save(document)
    app = create_app(install, {"TESTING": True})
    try:
        done = warm(app, max_tenants=5)
    finally:
        gc.unfreeze()  # the test process keeps collecting as before
    assert done["templates"] > 50 and done["tenants"] == ["acme", "bare"] and done["skipped"] == []
    compiled = install.session("acme").metadata()
    assert "account" in compiled.tables
    kept = compiled.memo(("draft_plans",), dict)
    assert kept[draft.id][1].plan["changes"][0]["kind"] == "add_field"
    assert Drafts(install.session("acme", admin)).plan() is kept[draft.id][1]  # the review reuses it

