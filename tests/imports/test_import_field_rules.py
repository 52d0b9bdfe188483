"""An update a field rule decides (sharing `{"field": ..., "user": ...}`) is planned as
the record service writes it: the field's new value is compared, loaded, with the
importer's attribute values — a date, a decimal or a datetime as much as a string —, so
that the dry run and the real run update what the service lets the importer change and
refuse, `not_shared`, what it does not. SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from engine.imports import importer
from engine.imports.planning import Options
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
