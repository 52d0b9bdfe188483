"""An import plans every row as what it becomes, so that its dry run and its real run
(any chunk size, resumed or not) decide the same: a row a duplicate rule (`on_duplicate`
update) turns into the update of a record is checked as that update, not as a create;
the key names what the earlier rows of the file leave it naming (a key a row took from a
record is free, a key a row gave a record finds it); an update the importer may not
write (a record shared with it to read only, a read-only field, a workflow's state) is
refused in the dry run as it is in the real run. SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from engine.auth import create_user
from engine.imports import importer, runs
from engine.imports.planning import Options, Planner
from engine.imports.reading import read_table
from engine.imports.writing import write_chunk
from tests.engine.test_dedup import document as person_document
from tests.imports.tenants import acme, member_of
from tests.imports.test_import_order import RULES

HEADER = ("name", "phone", "email", "member_no", "code", "badge")


def document(sharing=None) -> dict:
    """`person` with duplicate rules, a unique integer `member_no` (the key), a unique
    `code` and a read-only `badge`."""
    doc = person_document(RULES)
    doc["entities"][0]["fields"] += [{"name": "member_no", "type": "integer", "unique": True},
                                     {"name": "code", "type": "string", "unique": True},
                                     {"name": "badge", "type": "string", "readonly": True}]
    if sharing is not None:
        doc["entities"][0]["sharing"] = sharing
    return doc


@pytest.fixture
def people(install):
    return acme(install, document())


@pytest.fixture
def member(install, people):
    return member_of(install, people)


def csv_of(rows) -> importer.Source:
    lines = [",".join(HEADER)] + [",".join(r) for r in rows]
    return importer.Source("people.csv", ("\n".join(lines) + "\n").encode())


def everyone(session) -> list[tuple]:
    items = session.records.list("person", [("limit", "200")])["items"]
    return sorted(tuple(p[f] for f in HEADER) for p in items)


def agree(session, rows, options) -> importer.Result:
    """The dry run, then the real run: the same totals and the same refusals; the dry run."""
    dry = importer.dry_run(session.records, "person", csv_of(rows), options=options)
    done = importer.commit(session.records, "person", csv_of(rows), options=options)
    assert done.totals == dry.totals
    assert done.refused == [{"row": r.row, "problems": r.problems} for r in dry.rows if r.action == "refuse"]
    return dry


# -- 1. a row a duplicate rule turns into an update is checked as that update ----------------------

@pytest.mark.parametrize("size", [1, 2, 4])
def test_a_row_matching_the_record_an_earlier_row_creates_is_checked_as_its_update(people, size):
    rows = [("Wang Fang", "13800138001", "", "", "C-1", ""),
            ("Wang Fang", "13800138001", "w@x.cn", "", "C-1", ""),  # row 2's code again: its own record's
            ("", "13800138001", "v@x.cn", "", "", ""),  # no name (a create needs one): another e-mail
            ("", "13700137003", "", "", "", "")]  # no name, no match: a create, refused
    dry = agree(people, rows, Options(on_duplicate="update", chunk_size=size))
    assert [(r.action, r.of_row, r.data) for r in dry.rows] == [
        ("create", None, {"name": "Wang Fang", "phone": "13800138001", "code": "C-1"}),
        ("update", 2, {"email": "w@x.cn"}), ("update", 2, {"email": "v@x.cn"}), ("refuse", None, None)]
    assert [(p["column"], p["code"]) for p in dry.rows[3].problems] == [("name", "required")]
    assert everyone(people) == [("Wang Fang", "13800138001", "v@x.cn", None, "C-1", None)]


def test_a_row_matching_a_stored_record_is_checked_as_its_update(people):
    people.records.create("person", {"name": "Stored", "phone": "13900139002", "code": "C-9"})
    rows = [("", "13900139002", "s@x.cn", "", "C-9", "")]  # no name, the stored record's own code
    dry = agree(people, rows, Options(on_duplicate="update"))
    assert [(r.action, r.data) for r in dry.rows] == [("update", {"email": "s@x.cn"})]
    assert everyone(people) == [("Stored", "13900139002", "s@x.cn", None, "C-9", None)]


@pytest.mark.parametrize("size", [1, 2])
def test_a_change_to_a_read_only_field_is_refused_in_the_dry_run_as_it_is_written(people, member, size):
    """A create may set `badge`; an update of it (of a record a row creates, or of a
    stored one) is refused as the record service refuses it, where the real run used to
    stop on it."""
    people.records.create("person", {"name": "Stored", "phone": "13900139002", "badge": "B-0"})
    rows = [("Wang Fang", "13800138001", "", "", "", "B-1"),
            ("Wang Fang", "13800138001", "w@x.cn", "", "", "B-2"),  # changes row 2's badge
            ("Stored", "13900139002", "s@x.cn", "", "", "B-0")]  # leaves the stored one's as it is
    dry = agree(member, rows, Options(on_duplicate="update", chunk_size=size))
    assert [r.action for r in dry.rows] == ["create", "refuse", "update"]
    assert dry.rows[1].problems == [{"column": "badge", "field": "badge", "code": "read_only",
                                     "message": "is read-only"}]
    assert everyone(people) == [("Stored", "13900139002", "s@x.cn", None, None, "B-0"),
                                ("Wang Fang", "13800138001", None, None, None, "B-1")]


# -- 2. the key names what the earlier rows leave it naming ------------------------------------

KEYED = [("Stored", "13900139002", "", "8", "", ""),  # no member 8: its phone finds the stored 7, now 8
         ("Stored", "", "s@x.cn", "08", "", ""),  # member 8 (written otherwise): the stored record
         ("Li Lei", "", "", "7", "", ""),  # 7 is free now, but the stored record gave it up in this run
         ("Zhao Li", "", "", "20", "", ""),  # a new member 20
         ("Zhao Li", "", "z@x.cn", "020", "", "")]  # member 20: the record row 5 creates


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_a_key_finds_the_record_an_earlier_row_gave_it_and_not_the_one_that_gave_it_up(people, size):
    stored = people.records.create("person", {"name": "Stored", "phone": "13900139002", "member_no": 7})
    dry = agree(people, KEYED, Options(key="member_no", on_duplicate="update", chunk_size=size))
    assert [(r.action, r.record_id, r.of_row, r.data) for r in dry.rows] == [
        ("update", stored["id"], None, {"member_no": 8}), ("update", stored["id"], None, {"email": "s@x.cn"}),
        ("refuse", None, None, None), ("create", None, None, {"name": "Zhao Li", "member_no": 20}),
        ("update", None, 5, {"email": "z@x.cn"})]
    assert dry.rows[2].problems[0]["message"] == ("member_no 7 is given up by row 2: a new record cannot take it "
                                                  "in the same run")
    assert everyone(people) == [("Stored", "13900139002", "s@x.cn", 8, None, None),
                                ("Zhao Li", None, "z@x.cn", 20, None, None)]


def test_a_key_an_earlier_row_gave_up_is_free_for_a_create_when_the_key_is_not_unique(install):
    doc = document()
    doc["entities"][0]["fields"][-3]["unique"] = False
    people = acme(install, doc)
    people.records.create("person", {"name": "Stored", "phone": "13900139002", "member_no": 7})
    for size in (1, 3):
        dry = importer.dry_run(people.records, "person", csv_of(KEYED[:3]),
                               options=Options(key="member_no", on_duplicate="update", chunk_size=size))
        assert [(r.action, r.data) for r in dry.rows] == [
            ("update", {"member_no": 8}), ("update", {"email": "s@x.cn"}), ("create", {"name": "Li Lei", "member_no": 7})]
    agree(people, KEYED[:3], Options(key="member_no", on_duplicate="update", chunk_size=1))
    assert [(p[0], p[3]) for p in everyone(people)] == [("Li Lei", 7), ("Stored", 8)]


def test_a_resumed_run_finds_the_keys_its_written_chunks_gave(people):
    stored = people.records.create("person", {"name": "Stored", "phone": "13900139002", "member_no": 7})
    source, options = csv_of(KEYED), Options(key="member_no", on_duplicate="update", chunk_size=1)
    dry = importer.dry_run(people.records, "person", source, options=options)
    run_id = importer.keep(people.records, "person", source, options=options)
    planner = Planner(people.records, "person", read_table(source.data, "csv"),
                      runs.get(people.storage, run_id)["options"]["mapping"], options)
    for chunk in (0, 1, 2, 3):  # then the worker stopped, before row 6
        write_chunk(people.records, planner, run_id, chunk, planner.plan(chunk, chunk + 1))
    done = importer.resume(people.records, run_id)  # a new planner: the keys come from the checkpoints
    assert done.totals == dry.totals == {"read": 5, "created": 1, "updated": 3, "skipped": 0, "refused": 1,
                                         "balanced": True}
    assert people.records.get("person", stored["id"])["member_no"] == 8
    assert [(p[0], p[2], p[3]) for p in everyone(people)] == [("Stored", "s@x.cn", 8), ("Zhao Li", "z@x.cn", 20)]



def test_an_update_refused_as_it_is_written_keeps_its_key_for_the_later_chunks(shared):
    """Row 2's update moves the member's record from member 7 to 8, then the record is
    given to another user before the chunk is written, so the update is refused as it
    is written: the record keeps 7, and row 3's 8 names nothing — a create, not the
    update of the record (like the unique values, tests/imports/test_import_order.py)."""
    system, member = shared
    other = create_user(system.storage, "o@acme.example")
    given = member.records.create("person", {"name": "Xu", "phone": "13900139002", "member_no": 7})
    rows = [("Xu", "13900139002", "", "8", "", ""),  # its phone finds the record: 7 -> 8
            ("Zhao Li", "", "", "08", "", "")]
    source, options = csv_of(rows), Options(key="member_no", on_duplicate="update", chunk_size=1)
    run_id = importer.keep(member.records, "person", source, options=options)
    planner = Planner(member.records, "person", read_table(source.data, "csv"),
                      runs.get(system.storage, run_id)["options"]["mapping"], options)
    first = planner.plan(0, 1)
    assert [(r.action, r.record_id, r.data) for r in first] == [("update", given["id"], {"member_no": 8})]
    system.records.assign("person", given["id"], other.id)  # the member may only read it now
    outcomes = [write_chunk(member.records, planner, run_id, 0, first)]
    second = planner.plan(1, 2)
    assert [(r.action, r.record_id, r.data) for r in second] == [("create", None, {"name": "Zhao Li",
                                                                                  "member_no": 8})]
    outcomes.append(write_chunk(member.records, planner, run_id, 1, second))
    assert [(p["row"], p["problems"][0]["code"]) for o in outcomes for p in o["refused"]] == [(2, "read_only")]
    assert [(p[0], p[3]) for p in everyone(system)] == [("Xu", 7), ("Zhao Li", 8)]

# -- 3. a record the importer may read but not change ------------------------------------------

@pytest.fixture
def shared(install):
    """Every member may read every person, and change only her own."""
    system = acme(install, document(sharing={"default": "read"}))
    return system, member_of(install, system)


@pytest.mark.parametrize("size", [1, 2])
def test_an_update_of_a_record_shared_to_read_is_refused_in_the_dry_run_as_it_is_written(shared, size):
    system, member = shared
    theirs = system.records.create("person", {"name": "Xu", "member_no": 1, "code": "C-0"})
    mine = member.records.create("person", {"name": "Yang", "member_no": 2, "code": "C-1"})
    rows = [("Xu", "", "", "1", "C-5", ""),  # the system's record: read only
            ("Yang", "", "", "2", "C-0", ""),  # C-0 stays the system record's
            ("Yang", "", "y@x.cn", "02", "", "")]
    dry = agree(member, rows, Options(key="member_no", chunk_size=size))
    assert [r.action for r in dry.rows] == ["refuse", "refuse", "update"]
    assert dry.rows[0].problems == [{"column": "member_no", "field": "member_no", "code": "read_only",
                                     "message": f"person {theirs['id']} is shared with you to read, not to change"}]
    assert dry.rows[1].problems[0]["message"] == f"code 'C-0' is taken by record {theirs['id']}"
    assert [(p[3], p[2], p[4]) for p in everyone(system)] == [(1, None, "C-0"), (2, "y@x.cn", "C-1")]
    assert mine["id"] != theirs["id"]


def test_which_records_the_importer_may_change_is_asked_once_a_chunk(shared):
    system, member = shared
    system.records.create_many("person", [{"name": f"P{n}", "member_no": n} for n in range(1, 41)])

    def statements(count: int) -> int:
        rows = [(f"Q{n}", "", "", str(n), "", "") for n in range(1, count + 1)]
        seen = []
        listener = lambda *args, **kwargs: seen.append(1)  # noqa: E731
        event.listen(member.storage.engine, "before_cursor_execute", listener)
        try:
            dry = importer.dry_run(member.records, "person", csv_of(rows), options=Options(key="member_no"))
        finally:
            event.remove(member.storage.engine, "before_cursor_execute", listener)
        assert {r.action for r in dry.rows} == {"refuse"}
        assert {r.problems[0]["code"] for r in dry.rows} == {"read_only"}
        return len(seen)

    statements(1)  # the tenant's metadata, read once
    assert statements(40) == statements(2)


TICKETS = {"entities": [{"name": "ticket", "fields": [
    {"name": "title", "type": "string", "required": True},
    {"name": "status", "type": "choice", "options": ["open", "closed"]},
    {"name": "note", "type": "string"}]}],
    "workflows": [{"name": "ticket_flow", "entity": "ticket", "field": "status", "initial": "open",
                   "states": [{"name": "open", "category": "open"}, {"name": "closed", "category": "done"}],
                   "transitions": [{"name": "close", "from": ["open"], "to": "closed"}]}]}


@pytest.mark.parametrize("size", [1, 2])
def test_a_change_to_a_workflow_state_is_refused_in_the_dry_run_as_it_is_written(install, size):
    """The state field changes only through a transition: the real run used to stop on it."""
    desk = acme(install, TICKETS)
    desk.records.create("ticket", {"title": "T-1"})
    desk.records.create("ticket", {"title": "T-2"})
    source = importer.Source("t.csv", b"title,status,note\nT-1,closed,first\nT-2,open,second\n")
    options = Options(key="title", chunk_size=size)
    dry = importer.dry_run(desk.records, "ticket", source, options=options)
    assert [(r.action, r.data) for r in dry.rows] == [("refuse", None), ("update", {"note": "second"})]
    assert dry.rows[0].problems == [{"column": "status", "field": "status", "code": "set_by_workflow",
                                     "message": "set by the workflow"}]
    done = importer.commit(desk.records, "ticket", source, options=options)
    assert done.totals == dry.totals
    assert done.refused == [{"row": 2, "problems": dry.rows[0].problems}]
    tickets = desk.records.list("ticket")["items"]
    assert sorted((t["title"], t["status"], t["note"]) for t in tickets) == [("T-1", "open", None),
                                                                              ("T-2", "open", "second")]
