"""Designer drafts in the engine, on SQLite and PostgreSQL: one open draft per admin,
checked as saved and kept when invalid, other admins' drafts shown, an outdated draft
refused with a rebase offer, publishing through the one publisher (who published is
recorded) — and a member has none."""
from __future__ import annotations

import copy
import json

import pytest

from engine import auth
from engine.drafts import DraftOutdated, Drafts
from engine.errors import Conflict, Forbidden, MigrationRefused, ValidationFailed
from engine.install import Install
from engine.packs.service import PackService
from engine.plugins import Plugins
from plugins.crm_core import plugin as crm_plugin


def admin(install, email, slug="acme"):
    storage = install.session(slug).storage
    found = next((a for a in auth.list_users(storage) if a.email == email), None)
    if found is None:
        auth.create_user(storage, email, "admin")
        found = next(a for a in auth.list_users(storage) if a.email == email)
    return install.session(slug, found)


def with_field(document, entity, field):
    document = copy.deepcopy(document)
    next(e for e in document["entities"] if e["name"] == entity)["fields"].append(field)
    return document


def stored(install, email):
    """The admin's draft as stored (read through a new Drafts: nothing remembered)."""
    return Drafts(admin(install, email)).mine()


WECHAT = {"name": "wechat_id", "type": "string", "label": {"en": "WeChat ID", "zh-CN": "微信号"}}


def test_an_admin_has_one_open_draft_made_from_the_current_version(acme, install):
    drafts = Drafts(admin(install, "ann@acme.example"))
    first = drafts.open()
    assert first.based_on == 1 and first.document == drafts.published()[1]
    assert drafts.open().id == first.id
    assert drafts.status(first) == {"based_on": 1, "current": 1, "outdated": False, "changed": False,
                                    "problems": 0, "others": []}


def test_saving_keeps_an_invalid_draft_with_the_paths_of_its_problems(acme, install):
    drafts = Drafts(admin(install, "ann@acme.example"))
    document = with_field(drafts.open().document, "contact", {"name": "Bad Name", "type": "nope"})
    saved = drafts.save(document)
    assert saved.document == document
    paths = {(p["field"], p["code"]) for p in saved.problems}
    assert ("/entities/1/fields/8/type", "unknown_type") in paths
    assert ("/entities/1/fields/8/name", "unsafe_identifier") in paths
    with pytest.raises(ValidationFailed) as refused:
        drafts.publish()
    assert refused.value.code == "invalid_metadata" and len(refused.value.problems) == len(saved.problems)
    assert drafts.published()[0] == 1


def test_the_problems_are_those_of_metadata_apply(acme, install):
    session = admin(install, "ann@acme.example")
    document = with_field(acme.check_document(acme.metadata().package.to_dict()).to_dict(), "account",
                          {"name": "owner_ref", "type": "reference", "to": "nowhere"})
    with pytest.raises(ValidationFailed) as applied:
        session.apply_metadata(document, dry_run=True)
    assert Drafts(session).save(document).problems == applied.value.details


def test_a_document_that_is_not_an_object_is_refused_and_nothing_kept(acme, install):
    drafts = Drafts(admin(install, "ann@acme.example"))
    with pytest.raises(ValidationFailed, match="JSON object"):
        drafts.save(["entities"])
    assert stored(install, "ann@acme.example") is None


def test_publishing_goes_through_the_publisher_and_records_who(acme, install):
    session = admin(install, "ann@acme.example")
    drafts = Drafts(session)
    drafts.save(with_field(drafts.open().document, "contact", WECHAT))
    plan = drafts.plan().plan
    assert [c["kind"] for c in plan["changes"]] == ["add_field"] and plan["destructive"] == []
    result = drafts.publish()
    assert result.applied and result.version == 2
    last = session.metadata_history()[-1]
    assert last["applied_by"] == "ann@acme.example" and last["action"] == "apply"
    assert stored(install, "ann@acme.example") is None
    assert session.records.create("contact", {"full_name": "Wu", "wechat_id": "wu88"})["wechat_id"] == "wu88"


def test_an_unchanged_draft_is_not_published(acme, install):
    drafts = Drafts(admin(install, "ann@acme.example"))
    drafts.open()
    with pytest.raises(ValidationFailed, match="changes nothing"):
        drafts.publish()


def test_two_admins_see_each_others_drafts_and_the_second_to_publish_is_asked_to_rebase(acme, install):
    ann, ben = Drafts(admin(install, "ann@acme.example")), Drafts(admin(install, "ben@acme.example"))
    ann.save(with_field(ann.open().document, "contact", WECHAT))
    ben_draft = ben.save(with_field(ben.open().document, "account", {"name": "website", "type": "url"}))
    assert [d.owner_email for d in ann.others()] == ["ben@acme.example"]
    assert ann.status(ann.mine())["others"][0]["owner"] == "ben@acme.example"
    ann.publish()
    with pytest.raises(DraftOutdated) as refused:
        ben.publish()
    assert refused.value.status == 409 and refused.value.problems[0].details["current"] == 2
    assert stored(install, "ben@acme.example") == ben_draft  # refused: nothing changed
    rebased = ben.rebase()
    assert rebased.based_on == 2
    names = {f["name"] for e in rebased.document["entities"] for f in e["fields"]}
    assert {"wechat_id", "website"} <= names
    assert ben.publish().version == 3


def test_a_rebase_conflict_shows_both_values_and_changes_nothing(acme, install):
    ann, ben = Drafts(admin(install, "ann@acme.example")), Drafts(admin(install, "ben@acme.example"))
    for drafts, text in ((ann, "Firm"), (ben, "Company")):
        document = drafts.open().document
        document["entities"][0]["label"] = {"en": text}
        drafts.save(document)
    ann.publish()
    before = ben.mine()
    with pytest.raises(Conflict) as refused:
        ben.rebase()
    conflict = refused.value.problems[0]
    assert refused.value.code == "rebase_conflicts" and conflict.path == "/entities/account/label/en"
    assert conflict.details["mine"] == "Company" and conflict.details["now"] == "Firm"
    assert stored(install, "ben@acme.example") == before
    kept = ben.rebase(keep_mine=[conflict.path])
    assert kept.based_on == 2 and kept.document["entities"][0]["label"] == {"en": "Company"}


def test_a_drop_in_a_draft_is_refused_until_confirmed_and_archived(acme, install):
    session = admin(install, "ann@acme.example")
    session.records.create("contact", {"full_name": "Wu", "birthday": "1990-01-02"})
    drafts = Drafts(session)
    document = drafts.open().document
    document["entities"][1]["fields"] = [f for f in document["entities"][1]["fields"] if f["name"] != "birthday"]
    drafts.save(document)
    change = next(c for c in drafts.plan().plan["changes"] if c["field"] == "birthday")
    assert change["destructive"] and change["values"] == 1
    with pytest.raises(MigrationRefused):
        drafts.publish()
    assert drafts.publish(allow_drop=True).archives


def test_a_draft_without_changes_follows_the_current_version(acme, install):
    ann, ben = Drafts(admin(install, "ann@acme.example")), Drafts(admin(install, "ben@acme.example"))
    ann.open()
    ben.save(with_field(ben.open().document, "contact", WECHAT))
    ben.publish()
    moved = ann.open()
    assert moved.based_on == 2 and moved.document == ann.published()[1]


def test_discarding_closes_the_draft(acme, install):
    drafts = Drafts(admin(install, "ann@acme.example"))
    first = drafts.save(drafts.open().document)
    drafts.discard()
    assert drafts.mine() is None and drafts.open().id is None and first.id is not None


def test_removing_a_packs_choice_is_a_problem_of_the_draft(settings):
    install = Install(settings, Plugins(load_entry_points=False, extra_plugins=[crm_plugin]))
    install.registry.create("shop", "Shop")
    PackService(install).install("shop", "crm_core")
    drafts = Drafts(admin(install, "ann@shop.example", "shop"))
    document = drafts.open().document
    option = document["entities"][0]["fields"]
    text = json.dumps(document, ensure_ascii=False)
    # an option nothing else names (a condition or a rule naming it has problems of its own)
    field, removed = next((f, o) for f in option if f["type"] == "choice" for o in f["options"]
                          if text.count(json.dumps(o if isinstance(o, str) else o["value"])) == 1)
    field["options"].remove(removed)
    problems = drafts.save(document).problems
    assert [(p["field"], p["code"]) for p in problems] == [(f"/entities/0/fields/{option.index(field)}/options",
                                                            "pack_item_removed")]
    assert (removed if isinstance(removed, str) else removed["value"]) in problems[0]["message"]
    field["options"].append(removed)
    fields = document["entities"][0]["fields"]
    fields.insert(0, fields.pop(1))  # a pack's field moved: the tenant's layer cannot keep it
    assert [(p["field"], p["code"]) for p in drafts.save(document).problems] == [
        ("/entities/0/fields", "pack_field_order")]
    fields.insert(1, fields.pop(0))
    fields.insert(1, {"name": "loyalty_code", "type": "string"})  # one's own field goes anywhere
    assert drafts.save(document).problems == []
    install.dispose()


def test_a_member_and_the_system_have_no_drafts(acme, install):
    auth.create_user(acme.storage, "mo@acme.example", "member")
    member = next(a for a in auth.list_users(acme.storage) if a.email == "mo@acme.example")
    for session in (install.session("acme", member), acme):
        with pytest.raises(Forbidden):
            Drafts(session)
