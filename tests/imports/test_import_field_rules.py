"""An update a field rule decides (sharing `{"field": ..., "user": ...}`) is planned as
the record service writes it: the field's new value is compared, loaded, with the
importer's attribute values — a date, a decimal or a datetime as much as a string —, so
that the dry run and the real run update what the service lets the importer change and
refuse, `not_shared`, what it does not. A create is planned as `create_many` judges it:
a field-rule field left empty filled from the importer's one attribute value, a value
outside the rules refused (`not_shared`, on the field's column) in the dry run and the
real run alike, and a create the write still refuses refused alone. SQLite and PostgreSQL."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st

from engine.imports import importer, runs
from engine.imports.planning import Options, Planner
from engine.imports.reading import read_table
from engine.imports.writing import write_chunk
from engine.records.sharing import NotShared
from tests.imports.tenants import acme, member_of

KINDS = {  # field type: (its definition, the member's two values, a value outside them)
    "string": ({"type": "string"}, ["north", "east"], "south"),
    "date": ({"type": "date"}, ["2026-01-05", "2026-02-07"], "2026-03-09"),
    "decimal": ({"type": "decimal", "precision": 10, "scale": 2}, ["2.50", "3.75"], "4.10"),
    "datetime": ({"type": "datetime"}, ["2026-01-05T10:00:00Z", "2026-02-07T11:30:00Z"], "2026-03-09T08:00:00Z"),
}


def visits(kind: str) -> dict:
    field = {"name": "day", **KINDS[kind][0]}
    return {"entities": [{"name": "visit", "fields": [
        {"name": "code", "type": "string", "required": True, "unique": True}, field, {"name": "note", "type": "string"}],
        "sharing": {"default": "none", "rules": [{"field": "day", "user": "day", "access": "edit"}]}}]}


@pytest.mark.parametrize("allowed", [True, False], ids=["allowed", "refused"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_update_of_a_field_rule_field_is_planned_as_the_service_writes_it(install, kind, allowed):
    system = acme(install, visits(kind))
    first, second = KINDS[kind][1]
    member = member_of(install, system, day=[first, second])
    v1 = member.records.create("visit", {"code": "V1", "day": first})
    given = second if allowed else KINDS[kind][2]
    source = importer.Source("visits.csv", f"code,day,note\nV1,{given},x\n".encode())
    options = Options(key="code")
    dry = importer.dry_run(member.records, "visit", source, options=options)
    done = importer.commit(member.records, "visit", source, options=options)
    assert done.totals == dry.totals
    stored = member.records.get("visit", v1["id"])
    service = member.records.update("visit", v1["id"], {"day": given, "note": "x"}) if allowed else None
    if allowed:
        assert [(r.action, r.record_id, r.problems) for r in dry.rows] == [("update", v1["id"], [])]
        assert (stored["day"], stored["note"]) == (service["day"], "x")
        assert stored["day"] != v1["day"]
    else:
        assert [(r.action, r.problems) for r in dry.rows] == [("refuse", [{
            "column": "code", "field": "code", "code": "not_shared",
            "message": "you may not create or move a visit record outside what is shared with you"}])]
        assert done.refused == [{"row": 2, "problems": dry.rows[0].problems}]
        assert (stored["day"], stored["note"], stored["version"]) == (v1["day"], None, v1["version"])


# -- creates -----------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 3])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_create_meets_the_field_rules_in_the_plan_as_create_many_judges_it(install, kind, size):
    system = acme(install, visits(kind))
    mine, outside_value = KINDS[kind][1][0], KINDS[kind][2]
    member = member_of(install, system, day=[mine])
    source = importer.Source("visits.csv", f"code,day,note\nV2,{outside_value},x\nV3,{mine},y\nV4,,z\n".encode())
    options = Options(chunk_size=size)
    dry = importer.dry_run(member.records, "visit", source, options=options)
    done = importer.commit(member.records, "visit", source, options=options)  # never stops as a whole
    with pytest.raises(NotShared) as refused:
        member.records.create_many("visit", [{"code": "W2", "day": outside_value}])
    problem = {"column": "day", "field": "day", "code": refused.value.code, "message": refused.value.message}
    assert problem["code"] == "not_shared"
    assert [(r.action, r.problems) for r in dry.rows] == [("refuse", [problem]), ("create", []), ("create", [])]
    assert done.totals == dry.totals
    assert done.refused == [{"row": 2, "problems": [problem]}]
    ids = member.records.create_many("visit", [{"code": "W3", "day": mine}, {"code": "W4"}])
    given = [member.records.get("visit", i)["day"] for i in ids]
    stored = {r["code"]: r["day"] for r in system.records.list("visit")["items"]}
    assert ([stored["V3"], stored["V4"]], "V2" in stored) == (given, False)
    assert given[1] is not None


def test_a_create_the_importer_may_no_longer_make_is_refused_as_it_is_written_and_the_rest_written(install):
    system = acme(install, visits("string"))
    wide = member_of(install, system, day=["north", "east"])
    narrow = member_of(install, system, "n@acme.example", day=["north"])  # the importer, as it is when written
    data = b"code,day,note\nV2,east,x\nV3,north,y\n"
    planner = Planner(wide.records, "visit", read_table(data, "csv"),
                      {"code": "code", "day": "day", "note": "note"}, Options())
    plans = planner.plan(0, 2)
    assert [p.action for p in plans] == ["create", "create"]
    run_id = runs.create(system.storage, "visit", "visits.csv", data, {}, None)
    outcome = write_chunk(narrow.records, planner, run_id, 0, plans)
    assert (outcome["created"], outcome["refused"]) == (1, [{"row": 2, "problems": [{
        "column": "day", "field": "day", "code": "not_shared",
        "message": "you may not create or move a visit record outside what is shared with you"}]}])
    assert [r["code"] for r in system.records.list("visit")["items"]] == ["V3"]


def test_a_field_rule_field_left_empty_is_filled_in_the_plan_before_its_required_check(install):
    document = visits("string")
    document["entities"][0]["fields"][1]["required"] = True
    system = acme(install, document)
    member = member_of(install, system, day=["north"])
    source = importer.Source("visits.csv", b"code,day,note\nV4,,z\n")
    dry = importer.dry_run(member.records, "visit", source)
    done = importer.commit(member.records, "visit", source)
    assert [(r.action, r.data, r.problems) for r in dry.rows] == [("create", {"code": "V4", "day": "north",
                                                                             "note": "z"}, [])]
    assert (done.totals, [r["day"] for r in system.records.list("visit")["items"]]) == (dry.totals, ["north"])


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(days=st.lists(st.sampled_from(["north", "east", "south", ""]), min_size=1, max_size=5),
       size=st.integers(1, 3), values=st.sampled_from([["north"], ["north", "east"]]))
def test_any_file_of_creates_is_planned_and_written_as_create_many_judges_each_row(install, days, size, values):
    system, run = _tenant(install), next(_runs)
    member = member_of(install, system, f"m{run}@acme.example", day=values)
    lines = "".join(f"R{run}-{i},{day},x\n" for i, day in enumerate(days))
    source, options = importer.Source("visits.csv", f"code,day,note\n{lines}".encode()), Options(chunk_size=size)
    dry = importer.dry_run(member.records, "visit", source, options=options)
    done = importer.commit(member.records, "visit", source, options=options)
    expected = []  # each row as create_many judges it alone: (action, the day it is created with, its problems)
    for i, day in enumerate(days):
        try:
            [made] = member.records.create_many("visit", [{"code": f"C{run}-{i}", **({"day": day} if day else {})}])
        except NotShared as exc:
            expected.append(("refuse", None, [{"column": "day", "field": "day", "code": exc.code,
                                               "message": exc.message}]))
        else:
            expected.append(("create", member.records.get("visit", made)["day"], []))
    assert [(r.action, (r.data or {}).get("day"), r.problems) for r in dry.rows] == expected
    assert done.totals == dry.totals
    assert done.refused == [{"row": r.row, "problems": r.problems} for r in dry.rows if r.action == "refuse"]
    stored = {r["code"]: r["day"] for r in system.records.list("visit", [("limit", "200")])["items"]}
    assert [stored.get(f"R{run}-{i}") for i in range(len(days))] == [e[1] for e in expected]


_runs = itertools.count()  # each example's codes and member are new
_tenants: dict = {}  # id(install) -> (install, its acme): one tenant for the examples of one test


def _tenant(install):
    if id(install) not in _tenants:
        _tenants.clear()
        _tenants[id(install)] = (install, acme(install, visits("string")))
    return _tenants[id(install)][1]
