"""The record service on SQLite and PostgreSQL: create, get, update, delete, list and batch
create; optimistic locking; the audit trail; plugin hooks and the outbox; on_delete rules;
tenants side by side."""
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from sqlalchemy import bindparam, func, select

from engine.auth import create_user
from engine.errors import Conflict, LoomError, NotFound, StaleVersion, ValidationFailed
from engine.events import outbox_dict
from engine.hookspecs import hookimpl
from engine.systables import loom_table

ANN = {"full_name": "Ann Lee", "email": "ann@example.org", "tier": "gold", "lifetime_value": "120.50"}

RELATIONS = {"entities": [
    {"name": "company", "fields": [{"name": "name", "type": "string", "required": True}]},
    {"name": "person", "fields": [
        {"name": "name", "type": "string"},
        {"name": "company", "type": "reference", "to": "company", "on_delete": "cascade"}]},
    {"name": "note", "fields": [
        {"name": "text", "type": "text"},
        {"name": "person", "type": "reference", "to": "person", "on_delete": "cascade"},
        {"name": "about", "type": "reference", "to": "company", "on_delete": "set_null"},
        {"name": "also_about", "type": "reference", "to": "company", "on_delete": "set_null"}]},
    {"name": "invoice", "fields": [
        {"name": "number", "type": "string"},
        {"name": "company", "type": "reference", "to": "company", "on_delete": "restrict"}]},
    {"name": "node", "fields": [
        {"name": "name", "type": "string"},
        {"name": "parent", "type": "reference", "to": "node", "on_delete": "cascade"}]},
]}


def rows(session, table_name, **where):
    table = loom_table(session.storage.schema, table_name)
    stmt = select(table).order_by(table.c.id)
    for column, value in where.items():
        stmt = stmt.where(table.c[column] == value)
    with session.storage.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def count(session, entity) -> int:
    table = session.metadata().tables[entity]
    with session.storage.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def crm(install, acme):
    """`acme` acting as a tenant admin (so writes carry an actor)."""
    actor = create_user(acme.storage, "admin@acme.example", "admin")
    return install.session("acme", actor)


@pytest.fixture
def rel(install):
    install.registry.create("rel", "Relations")
    session = install.session("rel")
    session.apply_metadata(RELATIONS)
    return session


# -- create, get, update, delete, list ---------------------------------------------------------

def test_create_returns_the_record_with_id_version_and_system_fields(crm):
    record = crm.records.create("contact", ANN)
    assert record["id"] >= 1 and record["version"] == 1
    assert record["created_by"] == record["updated_by"] == record["owner_id"] == crm.actor.id
    assert record["created_at"] == record["updated_at"] and record["created_at"].endswith("Z")
    assert {k: record[k] for k in ANN} == ANN
    assert record["consent_marketing"] is False and record["phone"] is None


def test_get_returns_exactly_what_create_returned(crm):
    record = crm.records.create("contact", ANN)
    assert crm.records.get("contact", record["id"]) == record
    assert crm.records.get("contact", str(record["id"])) == record


@pytest.mark.parametrize("record_id", [999, 0, -1, "abc", "1_0", "１", " 1", 2**63, "9" * 30, None, 1.5, True])
def test_an_unknown_or_malformed_id_is_not_found(crm, record_id):
    crm.records.create("contact", ANN)
    for call in (lambda: crm.records.get("contact", record_id),
                 lambda: crm.records.update("contact", record_id, {"tier": "silver"}),
                 lambda: crm.records.delete("contact", record_id),
                 lambda: crm.records.history("contact", record_id)):
        with pytest.raises(NotFound) as exc:
            call()
        assert exc.value.status == 404 and exc.value.code == "record_not_found"


def test_an_unknown_entity_is_not_found(crm):
    for call in (lambda: crm.records.create("nope", {}), lambda: crm.records.get("nope", 1),
                 lambda: crm.records.list("nope"), lambda: crm.records.create_many("nope", [{}]),
                 lambda: crm.records.update("nope", 1, {}), lambda: crm.records.delete("nope", 1)):
        with pytest.raises(NotFound) as exc:
            call()
        assert exc.value.code == "entity_not_found"


def test_a_partial_update_changes_only_the_given_fields_and_bumps_the_version(crm):
    record = crm.records.create("contact", ANN)
    updated = crm.records.update("contact", record["id"], {"tier": "diamond", "phone": "+1 555 0100"})
    assert updated["version"] == 2 and updated["tier"] == "diamond" and updated["phone"] == "+1 555 0100"
    unchanged = {k: v for k, v in record.items() if k not in ("tier", "phone", "version", "updated_at")}
    assert {k: updated[k] for k in unchanged} == unchanged
    assert updated["updated_at"] >= record["updated_at"]
    assert crm.records.get("contact", record["id"]) == updated


def test_an_update_that_changes_nothing_keeps_the_version_and_writes_no_audit_row(crm):
    record = crm.records.create("contact", ANN)
    assert crm.records.update("contact", record["id"], {"tier": "gold", "lifetime_value": 120.5}) == record
    assert crm.records.update("contact", record["id"], {}) == record
    assert len(rows(crm, "loom_audit")) == 1


def test_fields_can_be_cleared_with_null(crm):
    record = crm.records.create("contact", ANN)
    updated = crm.records.update("contact", record["id"], {"email": None, "lifetime_value": None})
    assert (updated["email"], updated["lifetime_value"]) == (None, None)


def test_delete_removes_the_record(crm):
    record = crm.records.create("contact", ANN)
    assert crm.records.delete("contact", record["id"]) == {
        "deleted": True, "id": record["id"], "cascaded": 0, "cleared": 0}
    with pytest.raises(NotFound):
        crm.records.get("contact", record["id"])
    with pytest.raises(NotFound):
        crm.records.delete("contact", record["id"])


def test_list_filters_sorts_pages_and_selects_fields(crm):
    for i, tier in enumerate(["gold", "silver", "gold", "gold"]):
        crm.records.create("contact", {"full_name": f"C{i}", "tier": tier, "lifetime_value": i})
    first = crm.records.list("contact", [("tier", "gold"), ("sort", "-lifetime_value"), ("limit", "2"),
                                         ("fields", "full_name")])
    assert [r["full_name"] for r in first["items"]] == ["C3", "C2"]
    assert set(first["items"][0]) == {"id", "version", "full_name"}
    second = crm.records.list("contact", [("tier", "gold"), ("sort", "-lifetime_value"), ("limit", "2"),
                                          ("fields", "full_name"), ("cursor", first["next_cursor"])])
    assert [r["full_name"] for r in second["items"]] == ["C0"] and second["next_cursor"] is None
    assert [r["full_name"] for r in crm.records.list("contact", [("q", "c1")])["items"]] == ["C1"]
    assert crm.records.list("contact")["items"][0] == crm.records.get("contact", 1)


# -- batch create -----------------------------------------------------------------------------------

def test_create_many_writes_every_record_and_returns_their_ids_in_order(crm):
    account = crm.records.create("account", {"name": "Acme"})
    items = [{"full_name": f"P{i}", "email": f"p{i}@x.org", "account": account["id"]} for i in range(250)]
    ids = crm.records.create_many("contact", items)
    assert len(ids) == 250 and ids == sorted(ids)
    assert [crm.records.get("contact", i)["full_name"] for i in ids[:3]] == ["P0", "P1", "P2"]
    created = crm.records.get("contact", ids[-1])
    assert created["version"] == 1 and created["tier"] == "regular" and created["created_by"] == crm.actor.id
    assert len(rows(crm, "loom_audit", action="create", entity="contact")) == 250
    assert len(rows(crm, "loom_outbox", entity="contact")) == 250
    assert crm.records.create("contact", {"full_name": "after"})["id"] == ids[-1] + 1


def test_create_many_is_all_or_nothing_and_reports_every_invalid_record_by_index(crm):
    items = [{"full_name": "ok"}, {"full_name": 5, "tier": "platinum"}, {"full_name": "ok"},
             "not an object", {"colour": "red"}, {"full_name": "x", "id": 7}]
    with pytest.raises(ValidationFailed) as exc:
        crm.records.create_many("contact", items)
    assert exc.value.message.startswith("4 of 6 records are invalid")
    assert {(d["field"], d["message"]) for d in exc.value.details} == {
        ("/1/full_name", "must be a string"),
        ("/1/tier", "'platinum' is not one of: regular, silver, gold, diamond"),
        ("/3", "must be an object"),
        ("/4/colour", "unknown field 'colour'"),
        ("/4/full_name", "is required"),
        ("/5/id", "is read-only"),
    }
    assert count(crm, "contact") == 0 and rows(crm, "loom_audit") == [] and rows(crm, "loom_outbox") == []


def test_create_many_reports_duplicates_within_the_batch_and_against_stored_records(crm):
    crm.records.create("contact", {"full_name": "old", "email": "taken@x.org"})
    with pytest.raises(ValidationFailed) as within:
        crm.records.create_many("contact", [{"full_name": "a", "email": "a@x.org"},
                                            {"full_name": "b", "email": "a@x.org"}])
    assert [d["field"] for d in within.value.details] == ["/1/email"]
    with pytest.raises(Conflict) as stored:
        crm.records.create_many("contact", [{"full_name": "a", "email": "new@x.org"},
                                            {"full_name": "b", "email": "taken@x.org"}])
    assert stored.value.status == 409 and [d["field"] for d in stored.value.details] == ["/1/email"]
    assert count(crm, "contact") == 1


def test_create_many_reports_missing_references_by_index_together_with_other_problems(crm):
    account = crm.records.create("account", {"name": "Acme"})
    with pytest.raises(ValidationFailed) as exc:
        crm.records.create_many("contact", [{"full_name": "a", "account": account["id"]},
                                            {"full_name": "b", "account": 404},
                                            {"full_name": None}])
    assert {(d["field"], d["message"]) for d in exc.value.details} == {
        ("/1/account", "no account record with id 404"), ("/2/full_name", "is required and cannot be null")}
    assert count(crm, "contact") == 0


@pytest.mark.parametrize("items", [[], None, {"full_name": "x"}, "x"])
def test_create_many_needs_a_non_empty_list(crm, items):
    with pytest.raises(ValidationFailed):
        crm.records.create_many("contact", items)


# -- optimistic locking --------------------------------------------------------------------------------

def test_an_update_carrying_the_current_version_succeeds(crm):
    record = crm.records.create("contact", ANN)
    assert crm.records.update("contact", record["id"], {"tier": "silver", "version": 1})["version"] == 2
    assert crm.records.update("contact", record["id"], {"tier": "gold"}, expected_version='"2"')["version"] == 3
    assert crm.records.update("contact", record["id"], {"tier": "silver"}, expected_version='W/"3"')["version"] == 4
    assert crm.records.update("contact", record["id"], {"tier": "gold"}, expected_version="*")["version"] == 5


@pytest.mark.parametrize("how", ["body", "if_match"])
def test_an_update_with_a_stale_version_is_refused_with_412_and_changes_nothing(crm, how):
    record = crm.records.create("contact", ANN)
    current = crm.records.update("contact", record["id"], {"tier": "silver"})
    body, header = ({"tier": "diamond", "version": 1}, None) if how == "body" else ({"tier": "diamond"}, "1")
    with pytest.raises(StaleVersion) as exc:
        crm.records.update("contact", record["id"], body, expected_version=header)
    assert exc.value.status == 412
    assert crm.records.get("contact", record["id"]) == current
    assert len(rows(crm, "loom_audit")) == 2 and len(rows(crm, "loom_outbox")) == 2


def test_a_delete_with_a_stale_version_is_refused_with_412_and_deletes_nothing(crm):
    record = crm.records.create("contact", ANN)
    crm.records.update("contact", record["id"], {"tier": "silver"})
    with pytest.raises(StaleVersion):
        crm.records.delete("contact", record["id"], expected_version="1")
    assert crm.records.get("contact", record["id"])["version"] == 2
    assert crm.records.delete("contact", record["id"], expected_version="2")["deleted"] is True


def test_of_concurrent_updates_from_the_same_version_exactly_one_wins(install, crm):
    record = crm.records.create("contact", ANN)

    def update(tier):
        try:
            return install.session("acme").records.update("contact", record["id"], {"tier": tier, "version": 1})
        except StaleVersion as exc:
            return exc

    tiers = ["silver", "diamond", "regular"] * 3
    with ThreadPoolExecutor(max_workers=len(tiers)) as pool:
        results = list(pool.map(update, tiers))
    winners = [r for r in results if isinstance(r, dict)]
    assert len(winners) == 1 and sum(isinstance(r, StaleVersion) for r in results) == len(tiers) - 1
    assert crm.records.get("contact", record["id"]) == winners[0]
    assert [a["record_version"] for a in rows(crm, "loom_audit")] == [1, 2]


@pytest.mark.parametrize("body, header", [({"version": "x"}, None), ({"version": 0}, None),
                                          ({"version": True}, None), ({}, "abc"), ({}, "-1"),
                                          ({"version": 1}, "2")])
def test_a_malformed_or_contradictory_version_is_a_400(crm, body, header):
    record = crm.records.create("contact", ANN)
    with pytest.raises(ValidationFailed):
        crm.records.update("contact", record["id"], {**body, "tier": "silver"}, expected_version=header)
    assert crm.records.get("contact", record["id"]) == record


# -- audit ------------------------------------------------------------------------------------------------

def test_every_create_update_and_delete_writes_an_audit_row_with_who_when_and_what(crm):
    before = datetime.now(timezone.utc)
    record = crm.records.create("contact", ANN)
    crm.records.update("contact", record["id"], {"tier": "silver", "phone": "+1 555 0100"})
    crm.records.delete("contact", record["id"])
    audit = rows(crm, "loom_audit", entity="contact", record_id=record["id"])
    assert [(a["action"], a["record_version"], a["actor_id"]) for a in audit] == [
        ("create", 1, crm.actor.id), ("update", 2, crm.actor.id), ("delete", 2, crm.actor.id)]
    for row in audit:
        at = row["at"] if row["at"].tzinfo else row["at"].replace(tzinfo=timezone.utc)
        assert before <= at <= datetime.now(timezone.utc)
    assert audit[0]["changes"] == {"full_name": [None, "Ann Lee"], "email": [None, "ann@example.org"],
                                   "tier": [None, "gold"], "lifetime_value": [None, "120.50"],
                                   "consent_marketing": [None, False]}
    assert audit[1]["changes"] == {"tier": ["gold", "silver"], "phone": [None, "+1 555 0100"]}
    assert audit[2]["changes"] == {"full_name": ["Ann Lee", None], "email": ["ann@example.org", None],
                                   "phone": ["+1 555 0100", None], "tier": ["silver", None],
                                   "lifetime_value": ["120.50", None], "consent_marketing": [False, None]}
    history = crm.records.history("contact", record["id"])
    assert [(h["action"], h["version"], h["changes"]) for h in history] == [
        (a["action"], a["record_version"], a["changes"]) for a in audit]


def test_a_refused_write_leaves_no_audit_or_outbox_row(crm):
    crm.records.create("contact", {"full_name": "a", "email": "a@x.org"})
    with pytest.raises(Conflict):
        crm.records.create("contact", {"full_name": "b", "email": "a@x.org"})
    with pytest.raises(ValidationFailed):
        crm.records.create("contact", {"full_name": "b", "account": 9})
    assert len(rows(crm, "loom_audit")) == 1 and len(rows(crm, "loom_outbox")) == 1


# -- plugin hooks and the outbox ------------------------------------------------------------------------

class Recorder:
    """A test plugin: records every hook call; can refuse writes or fail after commit."""

    def __init__(self):
        self.before, self.after = [], []
        self.refuse_entity = None
        self.explode = False

    @hookimpl
    def loom_record_before_write(self, event):
        self.before.append(event)
        if event.entity == self.refuse_entity:
            raise ValidationFailed(f"the plugin refuses {event.name}",
                                   details=[{"field": "full_name", "message": "not today"}])

    @hookimpl
    def loom_record_after_commit(self, event):
        self.after.append(event)
        if self.explode:
            raise RuntimeError("the plugin broke after commit")


@pytest.fixture
def recorder(install, plugins, acme):
    recorder = Recorder()
    plugins.pm.register(recorder, name="x")
    install.registry.set_plugins("acme", ["x"])
    return recorder


def test_every_write_calls_both_hooks_with_the_event(install, recorder):
    records = install.session("acme").records
    record = records.create("contact", ANN)
    records.update("contact", record["id"], {"tier": "silver"})
    [second] = records.create_many("contact", [{"full_name": "Bo"}])
    records.delete("contact", record["id"])
    assert [(e.name, e.entity, e.record_id) for e in recorder.before] == [
        ("record.created", "contact", record["id"]), ("record.updated", "contact", record["id"]),
        ("record.created", "contact", second), ("record.deleted", "contact", record["id"])]
    assert recorder.after == recorder.before
    created, updated = recorder.before[0], recorder.before[1]
    assert created.tenant == "acme" and created.record == record
    assert updated.changes == {"tier": ["gold", "silver"]} and updated.record["version"] == 2
    assert recorder.before[2].record["full_name"] == "Bo"


def test_a_before_write_hook_may_refuse_and_then_nothing_is_written(install, recorder):
    records = install.session("acme").records
    kept = records.create("contact", ANN)
    recorder.refuse_entity = "contact"
    for call in (lambda: records.create("contact", {"full_name": "x"}),
                 lambda: records.create_many("contact", [{"full_name": "x"}, {"full_name": "y"}]),
                 lambda: records.update("contact", kept["id"], {"tier": "silver"}),
                 lambda: records.delete("contact", kept["id"])):
        with pytest.raises(LoomError) as exc:
            call()
        assert exc.value.status == 400 and "refuses" in exc.value.message
    session = install.session("acme")
    assert count(session, "contact") == 1 and records.get("contact", kept["id"]) == kept
    assert len(rows(session, "loom_audit")) == 1 and len(rows(session, "loom_outbox")) == 1
    assert len(recorder.after) == 1


def test_an_after_commit_hook_failure_never_fails_the_write(install, recorder):
    recorder.explode = True
    records = install.session("acme").records
    record = records.create("contact", ANN)
    assert records.update("contact", record["id"], {"tier": "silver"})["version"] == 2
    assert records.delete("contact", record["id"])["deleted"] is True
    assert len(recorder.after) == 3


def test_every_write_leaves_an_outbox_row_with_the_event(install, recorder):
    records = install.session("acme").records
    record = records.create("contact", ANN)
    records.update("contact", record["id"], {"tier": "silver"})
    records.delete("contact", record["id"])
    outbox = rows(install.session("acme"), "loom_outbox")
    assert [(o["event"], o["entity"], o["record_id"], o["processed_at"], o["attempts"]) for o in outbox] == [
        (name, "contact", record["id"], None, 0) for name in ("record.created", "record.updated", "record.deleted")]
    assert outbox_dict(outbox[0], "acme") == {**recorder.after[0].to_dict(), "id": outbox[0]["id"]}
    assert outbox_dict(outbox[1], "acme")["changes"] == {"tier": ["gold", "silver"]}
    assert outbox_dict(outbox[2], "acme")["changes"] == {
        **{k: [v, None] for k, v in ANN.items()}, "tier": ["silver", None], "consent_marketing": [False, None]}


def test_a_tenant_that_did_not_enable_the_plugin_does_not_see_its_hooks(install, recorder):
    install.registry.create("other", "Other")
    other = install.session("other")
    other.apply_metadata({"entities": [{"name": "contact", "fields": [{"name": "full_name", "type": "string"}]}]})
    recorder.refuse_entity = "contact"
    other.records.create("contact", {"full_name": "unseen"})
    assert recorder.before == [] and recorder.after == []
    assert len(rows(other, "loom_outbox")) == 1


def test_a_plugin_registered_after_a_tenants_first_write_stays_invisible_to_it(install, plugins, acme):
    acme.records.create("contact", {"full_name": "before"})
    recorder = Recorder()
    plugins.pm.register(recorder, name="late")
    install.session("acme").records.create("contact", {"full_name": "after"})
    assert recorder.before == []


# -- on_delete ---------------------------------------------------------------------------------------------

def test_delete_with_restricting_referrers_is_refused_with_409_listing_them(rel):
    company = rel.records.create("company", {"name": "C"})
    invoices = [rel.records.create("invoice", {"number": str(i), "company": company["id"]}) for i in range(2)]
    with pytest.raises(Conflict) as exc:
        rel.records.delete("company", company["id"])
    assert exc.value.status == 409 and exc.value.code == "referenced"
    assert exc.value.details == [{"field": "invoice.company", "code": "referenced",
                                  "message": f"ids {invoices[0]['id']}, {invoices[1]['id']}"}]
    assert rel.records.get("company", company["id"]) == company
    assert len(rows(rel, "loom_audit", action="delete")) == 0


def test_delete_clears_set_null_referrers_audits_them_and_bumps_their_version(rel):
    company = rel.records.create("company", {"name": "C"})
    note = rel.records.create("note", {"text": "n", "about": company["id"], "also_about": company["id"]})
    other = rel.records.create("note", {"text": "untouched"})
    result = rel.records.delete("company", company["id"])
    assert (result["cascaded"], result["cleared"]) == (0, 1)
    cleared = rel.records.get("note", note["id"])
    assert (cleared["about"], cleared["also_about"], cleared["version"]) == (None, None, 2)
    assert rel.records.get("note", other["id"]) == other
    [audit] = rows(rel, "loom_audit", entity="note", action="update")
    assert audit["record_id"] == note["id"] and audit["record_version"] == 2
    assert audit["changes"] == {"about": [company["id"], None], "also_about": [company["id"], None]}


def test_delete_cascades_recursively_and_audits_every_deleted_record(rel):
    company = rel.records.create("company", {"name": "C"})
    people = [rel.records.create("person", {"name": f"p{i}", "company": company["id"]}) for i in range(2)]
    notes = [rel.records.create("note", {"text": "n", "person": p["id"]}) for p in people]
    survivor = rel.records.create("person", {"name": "free"})
    result = rel.records.delete("company", company["id"])
    assert (result["cascaded"], result["cleared"]) == (4, 0)
    assert count(rel, "person") == 1 and count(rel, "note") == 0
    assert rel.records.get("person", survivor["id"]) == survivor
    deleted = {(a["entity"], a["record_id"]) for a in rows(rel, "loom_audit", action="delete")}
    assert deleted == {("company", company["id"])} | {("person", p["id"]) for p in people} | \
        {("note", n["id"]) for n in notes}
    assert len(rows(rel, "loom_outbox", event="record.deleted")) == 5


def test_a_restricting_referrer_anywhere_in_the_cascade_refuses_the_whole_delete(rel):
    company = rel.records.create("company", {"name": "C"})
    person = rel.records.create("person", {"name": "p", "company": company["id"]})
    rel.records.create("invoice", {"number": "1", "company": company["id"]})
    with pytest.raises(Conflict):
        rel.records.delete("company", company["id"])
    assert rel.records.get("person", person["id"]) == person


def test_a_long_self_referencing_cascade_chain_is_deleted_without_recursion_limits(rel):
    """1,500 nodes below the root, each the parent of the next (deeper than Python's
    recursion limit). They are created in one batch and linked by one UPDATE of the table:
    1,500 writes through the service would cost a transaction each and test nothing more."""
    ids = rel.records.create_many("node", [{"name": "root"}] + [{"name": f"n{i}"} for i in range(1500)])
    table = rel.metadata().tables["node"]
    with rel.storage.begin() as conn:
        conn.execute(table.update().where(table.c.id == bindparam("child")).values(parent=bindparam("above")),
                     [{"child": child, "above": above} for above, child in zip(ids, ids[1:])])
    assert rel.records.get("node", ids[-1])["parent"] == ids[-2]
    assert rel.records.delete("node", ids[0])["cascaded"] == 1500
    assert count(rel, "node") == 0


def test_a_cleared_referrer_that_is_also_deleted_is_only_deleted(rel):
    company = rel.records.create("company", {"name": "C"})
    person = rel.records.create("person", {"name": "p", "company": company["id"]})
    note = rel.records.create("note", {"person": person["id"], "about": company["id"]})
    result = rel.records.delete("company", company["id"])
    assert (result["cascaded"], result["cleared"]) == (2, 0)
    assert [a["action"] for a in rows(rel, "loom_audit", entity="note", record_id=note["id"])] == ["create", "delete"]


# -- tenants side by side -------------------------------------------------------------------------------

def test_two_tenants_with_different_contact_definitions_live_side_by_side(install, acme):
    install.registry.create("beta", "Beta")
    beta = install.session("beta")
    beta.apply_metadata({"entities": [{"name": "contact", "fields": [
        {"name": "nickname", "type": "string", "required": True},
        {"name": "score", "type": "integer"}]}]})
    ours = acme.records.create("contact", ANN)
    theirs = beta.records.create("contact", {"nickname": "bee", "score": 3})
    assert ours["id"] == theirs["id"] == 1
    assert acme.records.get("contact", 1)["full_name"] == "Ann Lee"
    assert beta.records.get("contact", 1) == theirs and "full_name" not in theirs
    with pytest.raises(ValidationFailed):
        beta.records.create("contact", {"full_name": "Ann"})
    with pytest.raises(ValidationFailed):
        acme.records.create("contact", {"nickname": "bee"})
    assert [r["id"] for r in beta.records.list("contact")["items"]] == [1]
    assert len(rows(acme, "loom_audit")) == 1 and len(rows(beta, "loom_audit")) == 1
