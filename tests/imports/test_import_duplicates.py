"""Duplicate rules among the rows of one file and the items of one batch: row 17 is a
duplicate of row 3 (rule, score, reasons), the rule's action applies to it as to a stored
record's match, and the dry run and the real run agree whatever the chunk size — a stored
record an earlier row updates included (later rows see it as that row leaves it), and
after a resume from checkpoints of the old shape. SQLite and PostgreSQL."""
from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, example, given, settings as hsettings
from hypothesis import strategies as st

from engine.errors import Conflict
from engine.imports import importer, runs
from engine.imports.planning import Options, Planner
from engine.imports.reading import read_table
from engine.imports.writing import write_chunk
from engine.systables import loom_table
from tests.engine.test_dedup import DOCUMENT

STRICT = [  # a blocking rule that may not be overridden, a warning, a fuzzy warning
    {"name": "same_id", "match": {"exact": ["id_number"]}, "action": "block", "overridable": False},
    {"name": "same_phone", "match": {"exact": ["phone"]}, "action": "block", "overridable": True},
    {"name": "same_email", "match": {"exact": ["email"]}, "action": "warn"},
    {"name": "similar_name", "match": {"fuzzy": "name", "threshold": 90, "within": ["city"]}, "action": "warn"},
]


@pytest.fixture
def people(install):
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    doc = copy.deepcopy(DOCUMENT)
    doc["entities"][0]["duplicate_rules"] = STRICT
    session.apply_metadata(doc)
    return session


def csv_of(rows) -> importer.Source:
    lines = ["name,phone,email,id_number,city"] + [",".join(r) for r in rows]
    return importer.Source("people.csv", ("\n".join(lines) + "\n").encode())


def test_row_17_is_reported_as_a_duplicate_of_row_3_and_skipped_as_its_rule_says(people):
    rows = [(f"Person {n:02d}", f"1380013{n:04d}", f"p{n}@x.cn", f"ID{n}", "Shanghai") for n in range(20)]
    rows[15] = ("Someone Else", "138 0013 0001", "other@x.cn", "ID-X", "Beijing")  # row 17: row 3's phone
    dry = importer.dry_run(people.records, "person", csv_of(rows), options=Options(chunk_size=4))
    plan = {r.row: r for r in dry.rows}[17]
    assert (plan.action, plan.reason, plan.record_id) == ("skip", "duplicate", None)
    [match] = plan.duplicates
    assert (match["row"], match["record_id"], match["rule"], match["score"], match["reasons"]) == (
        3, None, "same_phone", 100.0, ["same phone"])
    assert plan.to_dict()["duplicates"][0]["row"] == 3
    done = importer.commit(people.records, "person", csv_of(rows), options=Options(chunk_size=4))
    assert done.totals == dry.totals and done.totals["skipped"] == 1
    assert people.records.count("person") == 19


def test_update_changes_the_record_an_earlier_row_creates_and_create_anyway_keeps_both(people):
    rows = [("Wang Fang", "13800138001", "wf@x.cn", "", "Shanghai"),
            ("Li Lei", "13800138002", "", "", "Beijing"),
            ("Wang  Fang", "13800138001", "wang.fang@x.cn", "", "Shanghai")]
    options = Options(on_duplicate="update", chunk_size=1)
    dry = importer.dry_run(people.records, "person", csv_of(rows), options=options)
    plan = dry.rows[2]
    assert (plan.action, plan.of_row, plan.record_id) == ("update", 2, None)
    assert plan.data == {"name": "Wang  Fang", "email": "wang.fang@x.cn"}
    assert {m["rule"] for m in plan.duplicates} == {"same_phone", "similar_name"}
    done = importer.commit(people.records, "person", csv_of(rows), options=options)
    assert done.totals == dry.totals == {"read": 3, "created": 2, "updated": 1, "skipped": 0, "refused": 0,
                                         "balanced": True}
    [wang] = [p for p in people.records.list("person")["items"] if p["phone"] == "13800138001"]
    assert (wang["email"], wang["version"]) == ("wang.fang@x.cn", 2)

    anyway = importer.dry_run(people.records, "person", csv_of([(n + " Jr", "", "", "", "Xi'an") for n, *_ in rows]),
                              options=Options(on_duplicate="create"))
    assert [r.action for r in anyway.rows] == ["create", "create", "create"]
    assert anyway.rows[2].duplicates[0]["row"] == 2 and anyway.rows[2].duplicates[0]["action"] == "warn"


def test_a_rule_that_may_not_be_overridden_refuses_the_later_row_in_the_dry_run_and_the_real_run(people):
    rows = [("A", "", "", "ID-1", "X"), ("B", "", "", "ID-2", "Y"), ("C", "", "", "ID-1", "Z")]
    for size in (1, 2, 3):
        options = Options(on_duplicate="create", chunk_size=size)
        dry = importer.dry_run(people.records, "person", csv_of(rows), options=options)
        assert [r.action for r in dry.rows] == ["create", "create", "refuse"]
        assert "looks like row 2 of the file (same id_number)" in dry.rows[2].problems[0]["message"]
    done = importer.commit(people.records, "person", csv_of(rows), options=Options(on_duplicate="create",
                                                                                   chunk_size=2))
    assert [r["row"] for r in done.refused] == [4] and people.records.count("person") == 2


ROW = st.tuples(st.sampled_from(["Wang Fang", "Wang  Fang", "Li Lei", "Zhang Wei", "Zhang  Wei"]),
                st.sampled_from(["", "13800138001", "+86 138 0013 8001", "13900139002"]),
                st.sampled_from(["", "a@x.cn", "A@X.CN", "b@x.cn"]),
                st.sampled_from(["", "ID-1", "ID-2"]),
                st.sampled_from(["Shanghai", "Beijing"]))


@hsettings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(rows=[("Li Lei", "13900139002", "a@x.cn", "", "Shanghai"), ("Zhang Wei", "", "a@x.cn", "", "Beijing")],
         size=1, other=1, policy="update")  # row 2 gives the stored record the e-mail row 3 has
@given(rows=st.lists(ROW, min_size=1, max_size=12), size=st.integers(1, 13), other=st.integers(1, 13),
       policy=st.sampled_from([None, "skip", "create", "update"]))
def test_the_dry_run_and_the_real_run_agree_for_any_chunk_size(people, rows, size, other, policy):
    """`update` included: a row updating the stored record does not change what later
    rows are matched against, though the real run has written it when a later chunk is
    planned."""
    with people.storage.begin() as conn:  # each example starts from the same stored records
        conn.execute(people.metadata().tables["person"].delete())
    people.records.create("person", {"name": "Stored", "phone": "13900139002", "id_number": "ID-2"})
    dry = importer.dry_run(people.records, "person", csv_of(rows), options=Options(on_duplicate=policy,
                                                                                   chunk_size=size))
    again = importer.dry_run(people.records, "person", csv_of(rows), options=Options(on_duplicate=policy,
                                                                                     chunk_size=other))
    assert [r.to_dict() for r in again.rows] == [r.to_dict() for r in dry.rows]
    done = importer.commit(people.records, "person", csv_of(rows), options=Options(on_duplicate=policy,
                                                                                   chunk_size=other))
    assert done.totals == dry.totals
    assert done.refused == [{"row": r.row, "problems": r.problems} for r in dry.rows if r.action == "refuse"]
    assert people.records.count("person") == 1 + dry.totals["created"]


@pytest.mark.parametrize("size", [1, 2])
def test_a_later_row_sees_a_stored_record_an_earlier_row_updates_as_that_row_leaves_it(people, size):
    stored = people.records.create("person", {"name": "Stored", "phone": "13900139002"})
    rows = [("Stored", "13900139002", "s@x.cn", "", "Shanghai"),  # updates the stored record: its e-mail
            ("Someone Else", "13700137003", "s@x.cn", "", "Beijing")]  # that e-mail: the same record
    options = Options(on_duplicate="update", chunk_size=size)
    dry = importer.dry_run(people.records, "person", csv_of(rows), options=options)
    assert [(r.action, r.record_id) for r in dry.rows] == [("update", stored["id"])] * 2
    assert [(d["record_id"], d["rule"]) for d in dry.rows[1].duplicates] == [(stored["id"], "same_email")]
    done = importer.commit(people.records, "person", csv_of(rows), options=options)
    assert done.totals == dry.totals and done.totals["updated"] == 2
    now = people.records.get("person", stored["id"])
    assert (now["name"], now["phone"], now["email"]) == ("Someone Else", "13700137003", "s@x.cn")
    assert people.records.count("person") == 1


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_a_create_meets_the_values_an_earlier_update_gives_a_stored_record_not_those_it_gave_up(people, size):
    """Row 2 moves the stored record from phone P to phone Q (found by its e-mail, the
    key): row 3 with Q is its duplicate (a blocking rule), row 4 with P is new, and row 5
    — P again — is row 4's duplicate, in one chunk as in several."""
    stored = people.records.create("person", {"name": "Stored", "phone": "13900139002", "email": "s@x.cn"})
    rows = [("Stored", "13700137003", "s@x.cn", "", ""),  # the stored record gets phone Q
            ("Qian", "137 0013 7003", "q@x.cn", "", ""),  # Q: the stored record's phone now
            ("Pan", "13900139002", "p@x.cn", "", ""),  # P: nobody's since row 2
            ("Peng", "+86 139 0013 9002", "pp@x.cn", "", "")]  # P again: row 4's
    options = Options(key="email", chunk_size=size)
    dry = importer.dry_run(people.records, "person", csv_of(rows), options=options)
    assert [(r.action, r.reason) for r in dry.rows] == [("update", None), ("skip", "duplicate"), ("create", None),
                                                         ("skip", "duplicate")]
    assert [(d["record_id"], d.get("row"), d["rule"]) for d in dry.rows[1].duplicates] == [
        (stored["id"], None, "same_phone")]
    assert [(d["record_id"], d.get("row"), d["rule"]) for d in dry.rows[3].duplicates] == [(None, 4, "same_phone")]
    done = importer.commit(people.records, "person", csv_of(rows), options=options)
    assert done.totals == dry.totals
    assert sorted((p["name"], p["phone"]) for p in people.records.list("person")["items"]) == [
        ("Pan", "13900139002"), ("Stored", "13700137003")]


@pytest.mark.parametrize("size", [1, 2, 3])
def test_a_create_meets_the_values_an_earlier_update_gives_the_record_an_earlier_row_creates(people, size):
    """Row 2 creates a record with phone P, row 3 (its e-mail: a warning, updated) gives it
    phone Q: row 4 with Q is its duplicate, row 5 with P is new."""
    rows = [("Wang Fang", "13900139002", "w@x.cn", "", ""), ("Wang Fang", "13700137003", "w@x.cn", "", ""),
            ("Qian", "13700137003", "q@x.cn", "", ""), ("Pan", "13900139002", "p@x.cn", "", "")]
    options = Options(on_duplicate="update", chunk_size=size)
    dry = importer.dry_run(people.records, "person", csv_of(rows), options=options)
    assert [(r.action, r.of_row) for r in dry.rows] == [("create", None), ("update", 2), ("update", 2),
                                                         ("create", None)]
    assert [(d.get("row"), d["rule"]) for d in dry.rows[2].duplicates] == [(2, "same_phone")]
    done = importer.commit(people.records, "person", csv_of(rows), options=options)
    assert done.totals == dry.totals
    assert sorted((p["name"], p["phone"], p["email"]) for p in people.records.list("person")["items"]) == [
        ("Pan", "13900139002", "p@x.cn"), ("Qian", "13700137003", "q@x.cn")]


def test_the_key_an_earlier_row_took_from_a_stored_record_names_nothing_for_a_later_row(people):
    stored = people.records.create("person", {"name": "Stored", "phone": "13900139002", "email": "old@x.cn"})
    rows = [("Stored", "13900139002", "new@x.cn", "", ""),  # its phone: the stored record, with a new e-mail
            ("Other", "13700137003", "old@x.cn", "", "")]  # the key the stored record had before the run
    for size in (1, 2):
        options = Options(key="email", on_duplicate="update", chunk_size=size)
        dry = importer.dry_run(people.records, "person", csv_of(rows), options=options)
        assert [(r.action, r.record_id) for r in dry.rows] == [("update", stored["id"]), ("create", None)]
    done = importer.commit(people.records, "person", csv_of(rows), options=options)
    assert done.totals == dry.totals and people.records.count("person") == 2
    now = people.records.get("person", stored["id"])
    assert (now["name"], now["phone"], now["email"], now["version"]) == ("Stored", "13900139002", "new@x.cn", 2)


def test_a_resume_sees_the_stored_record_an_earlier_chunk_updated_as_that_chunk_left_it(people):
    stored = people.records.create("person", {"name": "Stored", "phone": "13900139002"})
    rows = [("Stored", "13900139002", "s@x.cn", "", "Shanghai"), ("Someone Else", "13700137003", "s@x.cn", "", "")]
    source, options = csv_of(rows), Options(on_duplicate="update", chunk_size=1)
    dry = importer.dry_run(people.records, "person", source, options=options)
    run_id = importer.keep(people.records, "person", source, options=options)
    planner = Planner(people.records, "person", read_table(source.data, "csv"),
                      runs.get(people.storage, run_id)["options"]["mapping"], options)
    first = write_chunk(people.records, planner, run_id, 0, planner.plan(0, 1))  # then the worker stopped
    assert first["before"] == {str(stored["id"]): {"email": None, "city": None}}
    assert people.records.get("person", stored["id"])["email"] == "s@x.cn"
    done = importer.resume(people.records, run_id)  # a new planner: what it knew comes from the checkpoint
    assert done.totals == dry.totals and done.totals["updated"] == 2


def test_a_resume_compares_later_creates_with_the_values_an_earlier_chunk_gave_a_stored_record(people):
    stored = people.records.create("person", {"name": "Stored", "phone": "13900139002", "email": "s@x.cn"})
    rows = [("Stored", "13700137003", "s@x.cn", "", ""), ("Qian", "13700137003", "q@x.cn", "", ""),
            ("Pan", "13900139002", "p@x.cn", "", "")]
    source, options = csv_of(rows), Options(key="email", chunk_size=1)
    dry = importer.dry_run(people.records, "person", source, options=options)
    assert [r.action for r in dry.rows] == ["update", "skip", "create"]
    run_id = importer.keep(people.records, "person", source, options=options)
    planner = Planner(people.records, "person", read_table(source.data, "csv"),
                      runs.get(people.storage, run_id)["options"]["mapping"], options)
    write_chunk(people.records, planner, run_id, 0, planner.plan(0, 1))  # then the worker stopped
    done = importer.resume(people.records, run_id)
    assert done.totals == dry.totals
    assert people.records.get("person", stored["id"])["phone"] == "13700137003"
    assert sorted(p["name"] for p in people.records.list("person")["items"]) == ["Pan", "Stored"]


def test_a_resume_compares_later_rows_with_the_records_of_chunks_written_before_checkpoints_kept_rows(people):
    rows = [("Wang Fang", "13800138001", "", "", "Shanghai"), ("Li Lei", "13900139003", "", "", "Beijing"),
            ("Zhang Wei", "+86 138 0013 8001", "", "", "Xi'an")]  # row 4: row 2's phone (a blocking rule)
    source, options = csv_of(rows), Options(chunk_size=2)
    dry = importer.dry_run(people.records, "person", source, options=options)
    assert [r.action for r in dry.rows] == ["create", "create", "skip"]
    run_id = importer.keep(people.records, "person", source, options=options)
    planner = Planner(people.records, "person", read_table(source.data, "csv"),
                      runs.get(people.storage, run_id)["options"]["mapping"], options)
    first = write_chunk(people.records, planner, run_id, 0, planner.plan(0, 2))  # then the worker stopped
    chunks = loom_table(people.storage.schema, "loom_import_chunks")
    old = {k: v for k, v in first.items() if k not in ("rows", "before")}  # a checkpoint of the old shape
    with people.storage.begin() as conn:
        conn.execute(chunks.update().where(chunks.c.run_id == run_id).values(outcome=old))
    done = importer.resume(people.records, run_id)
    assert done.totals == dry.totals and done.totals["skipped"] == 1
    assert sorted(p["name"] for p in people.records.list("person")["items"]) == ["Li Lei", "Wang Fang"]


def test_a_batch_compares_its_items_with_each_other(people):
    items = [{"name": "A", "phone": "13800138001"}, {"name": "B"}, {"name": "C", "phone": "+86 138-0013-8001"}]
    with pytest.raises(Conflict) as refused:
        people.records.create_many("person", items)
    [detail] = refused.value.details
    assert (detail["field"], detail["row"], detail.get("record_id")) == ("/2/same_phone", 0, None)
    assert "item 0 of the batch" in detail["message"] and people.records.count("person") == 0
    assert len(people.records.create_many("person", items, allow_duplicates=True)) == 3
    with pytest.raises(Conflict):  # a rule that may not be overridden, even with the override
        people.records.create_many("person", [{"name": "D", "id_number": "9"}, {"name": "E", "id_number": "9"}],
                                   allow_duplicates=True)


@pytest.mark.parametrize("size", [1, 2])
def test_a_second_update_of_a_stored_record_in_the_file_has_the_last_word(people, size):
    """Row 2 gives the stored record a new e-mail, row 3 gives it back its old one: row 3
    is an update (from what row 2 planned), not "unchanged", and the old e-mail stays."""
    stored = people.records.create("person", {"name": "Stored", "phone": "13900139002", "email": "a@x.cn"})
    rows = [("Stored", "13900139002", "b@x.cn", "", ""), ("Stored", "13900139002", "a@x.cn", "", "")]
    options = Options(on_duplicate="update", chunk_size=size)
    dry = importer.dry_run(people.records, "person", csv_of(rows), options=options)
    assert [(r.action, r.record_id, r.data) for r in dry.rows] == [
        ("update", stored["id"], {"email": "b@x.cn"}), ("update", stored["id"], {"email": "a@x.cn"})]
    done = importer.commit(people.records, "person", csv_of(rows), options=options)
    assert done.totals == dry.totals and people.records.get("person", stored["id"])["email"] == "a@x.cn"


def test_a_resumed_run_changes_a_stored_record_from_what_its_written_chunks_changed(people):
    stored = people.records.create("person", {"name": "Stored", "phone": "13900139002", "email": "a@x.cn"})
    rows = [("Stored", "13900139002", "b@x.cn", "", ""), ("Stored", "13900139002", "a@x.cn", "", "")]
    source, options = csv_of(rows), Options(on_duplicate="update", chunk_size=1)
    dry = importer.dry_run(people.records, "person", source, options=options)
    run_id = importer.keep(people.records, "person", source, options=options)
    planner = Planner(people.records, "person", read_table(source.data, "csv"),
                      runs.get(people.storage, run_id)["options"]["mapping"], options)
    write_chunk(people.records, planner, run_id, 0, planner.plan(0, 1))  # then the worker stopped
    assert people.records.get("person", stored["id"])["email"] == "b@x.cn"
    done = importer.resume(people.records, run_id)  # a new planner: what row 2 changed comes from the checkpoint
    assert done.totals == dry.totals and done.totals["updated"] == 2
    assert people.records.get("person", stored["id"])["email"] == "a@x.cn"
