"""Saved list views are the engine's: stored in the tenant's `loom_saved_views` and changed
only by who may change them, on SQLite and PostgreSQL, with no screen involved."""
from __future__ import annotations

import pytest

from engine import auth
from engine.errors import Forbidden, NotFound, ValidationFailed
from engine.records import saved_views


def users(acme):
    storage = acme.storage
    auth.create_user(acme.storage, "rep@acme.example", "member")
    auth.create_user(acme.storage, "boss@acme.example", "admin")
    by_email = {a.email: a for a in auth.list_users(storage)}
    return by_email["rep@acme.example"], by_email["boss@acme.example"]


def test_a_private_view_is_its_owners_and_a_shared_one_is_an_admins_to_change(acme):
    rep, boss = users(acme)
    storage = acme.storage
    mine = saved_views.save_view(storage, "contact", " Gold ", {"columns": ["full_name"]}, rep)
    shared = saved_views.save_view(storage, "contact", "Everyone", {"mode": "kanban"}, boss, shared=True)
    assert mine.name == "Gold" and mine.owner_id == rep.id and shared.owner_id is None
    assert [v.name for v in saved_views.views_for(storage, "contact", rep)] == ["Everyone", "Gold"]
    assert [v.name for v in saved_views.views_for(storage, "contact", boss)] == ["Everyone"]
    assert saved_views.get_view(storage, "contact", str(mine.id), rep).definition == {"columns": ["full_name"]}
    with pytest.raises(NotFound):
        saved_views.get_view(storage, "contact", mine.id, boss)
    with pytest.raises(Forbidden):
        saved_views.rename_view(storage, "contact", shared.id, "Mine", rep)
    with pytest.raises(Forbidden):
        saved_views.save_view(storage, "contact", "x", {}, rep, shared=True)
    with pytest.raises(ValidationFailed):
        saved_views.rename_view(storage, "contact", mine.id, "  ", rep)
    assert saved_views.rename_view(storage, "contact", mine.id, "Golden", rep).name == "Golden"
    saved_views.delete_view(storage, "contact", mine.id, rep)
    assert [v.name for v in saved_views.views_for(storage, "contact", rep)] == ["Everyone"]


def test_a_definition_keeps_only_the_fields_the_user_sees():
    cleaned, dropped = saved_views.clean_definition(
        {"columns": ["full_name", "secret", 3], "sort": "-secret,full_name", "filters": [["tier__in", "gold"],
                                                                                         ["secret", "x"], "bad"],
         "q": 5, "mode": "grid"}, {"full_name", "tier"})
    assert cleaned == {"columns": ["full_name"], "sort": "full_name", "q": "", "filters": [["tier__in", "gold"]],
                       "mode": "list"}
    assert dropped == ["3", "secret"]
