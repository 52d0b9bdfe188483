"""Sharing where duplicates are reported (issue 12): an import's dry run names a
matching record and why only when the importer may read it, as entry does; a merge's
losers reach the survivor's timeline only for a reader who could read them. As a member,
on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from engine.auth import create_user
from engine.imports import importer
from engine.imports.planning import Options
from tests.engine.test_dedup import document


@pytest.fixture
def private(install):
    """Persons a member reads only when they own them."""
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    doc = document()
    doc["entities"][0]["sharing"] = {"default": "none"}
    session.apply_metadata(doc)
    return session


def test_an_import_dry_run_names_only_the_matches_the_importer_may_read(install, private):
    hidden = private.records.create("person", {"name": "Hidden", "phone": "13800138001"})  # the system's
    member = install.session("acme", create_user(private.storage, "m@acme.example"))
    own = member.records.create("person", {"name": "Mine", "phone": "13900139002"})
    data = "name,phone\nNew One,+86 138 0013 8001\nNew Two,139 0013 9002\n".encode()
    dry = importer.dry_run(member.records, "person", importer.Source("p.csv", data),
                           options=Options(on_duplicate="skip"))
    first, second = dry.rows
    assert (first.action, first.record_id) == ("skip", None)
    assert [(m["record_id"], m["reasons"], m["rule"]) for m in first.duplicates] == [(None, [], "same_phone")]
    assert "record_id" not in first.to_dict()
    assert second.record_id == own["id"] and second.duplicates[0]["reasons"] == ["same phone"]
    admin = install.session("acme", create_user(private.storage, "boss@acme.example", "admin"))
    seen = importer.dry_run(admin.records, "person", importer.Source("p.csv", data)).rows[0]
    assert seen.duplicates[0]["record_id"] == hidden["id"]


def test_a_merges_losers_reach_the_timeline_only_of_a_reader_who_could_read_them(install, private):
    member = install.session("acme", create_user(private.storage, "m@acme.example"))
    survivor = member.records.create("person", {"name": "Wang Fang", "email": "wf@x.cn"}, allow_duplicates=True)
    mine = member.records.create("person", {"name": "Wang Fang 2", "id_number": "A1"})
    theirs = private.records.create("person", {"name": "Wang  Fang", "id_number": "SECRET-9"})
    boss = install.session("acme", create_user(private.storage, "boss@acme.example", "admin"))
    merge = boss.records.merge("person", survivor["id"], [mine["id"], theirs["id"]],
                               {"id_number": mine["id"]})
    [seen] = member.records.merged_into("person", survivor["id"])
    assert seen["id"] == merge["id"] and seen["hidden"] == 1
    assert [loser["id"] for loser in seen["losers"]] == [mine["id"]]
    assert "SECRET-9" not in str(seen)
    [whole] = boss.records.merged_into("person", survivor["id"])
    assert sorted(loser["id"] for loser in whole["losers"]) == sorted([mine["id"], theirs["id"]])
    assert whole["hidden"] == 0


def test_a_match_on_an_earlier_row_of_the_importer_s_own_file_keeps_its_reasons(install, private):
    """The file is the importer's own data: a member sees why its row 3 matches its row 2
    (spreadsheet numbering: the header is row 1) as an admin does, even where stored
    records are shared away from her."""
    member = install.session("acme", create_user(private.storage, "m@acme.example"))
    data = "name,phone\nNew One,+86 138 0013 8001\nNew Two,138 0013 8001\n".encode()
    dry = importer.dry_run(member.records, "person", importer.Source("p.csv", data),
                           options=Options(on_duplicate="skip"))
    first, second = dry.rows
    assert first.action == "create" and second.action == "skip"
    [match] = second.duplicates
    assert (match["row"], match["record_id"], match["reasons"]) == (2, None, ["same phone"])


def test_a_user_without_rights_on_a_referring_entity_still_merges(install):
    """A merge re-points every reference of every entity, whatever the merging user may
    read of them: an adjuster with no right on notes merges two claims, one with a note."""
    install.registry.create("acme")
    session = install.session("acme")
    session.apply_metadata({"entities": [
        {"name": "claim", "fields": [{"name": "title", "type": "string"}]},
        {"name": "note", "fields": [{"name": "text", "type": "string"},
                                    {"name": "claim", "type": "reference", "to": "claim"}]}],
        "roles": [{"name": "adjuster", "label": {"en": "Adjuster"}, "entities": {
            "claim": {"rights": ["read", "update", "delete", "create"]}}}]})
    a, b = (session.records.create("claim", {"title": t})["id"] for t in ("Hail", "Hail storm"))
    note = session.records.create("note", {"text": "x", "claim": b})
    adjuster = install.session("acme", create_user(session.storage, "adj@acme.test", roles=["adjuster"]))
    merge = adjuster.records.merge("claim", a, [b], {})
    assert session.records.get("note", note["id"])["claim"] == a
    history = session.records.history("note", note["id"])
    assert history[-1]["changes"]["claim"] == [b, a] and history[-1]["changes"]["_merge"] == [None, merge["id"]]
