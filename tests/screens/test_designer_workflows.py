"""The designer's workflows editor in Chromium, on the demo tenant: removing a workflow
state that holds records asks for the state map (with the count) before publishing, and
a transition tested on a record (in zh-CN, then in English) changes nothing — axe on every state."""
from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import func, select

from admin_ui.i18n import compile_catalogues
from engine.systables import loom_table
from tests.screens.conftest import ADMIN, assert_accessible, screenshot, sign_in
from workflows import transitions

PUBLISHING = 30_000  # ms: a publish migrates the tenant, slow on a busy machine
ZH = compile_catalogues("zh_CN").gettext


def with_workflow(site, entity: str) -> None:
    """The tenant's own entity `entity` with a workflow new → open → waiting → closed."""
    session = site.session(ADMIN)
    document = session.metadata().package.to_dict()
    document["entities"].append({"name": entity, "label": {"en": entity.capitalize(), "zh-CN": "工单"}, "fields": [
        {"name": "subject", "type": "string", "required": True},
        {"name": "priority", "type": "choice", "options": ["low", "high"]},
        {"name": "resolution", "type": "text"},
        {"name": "status", "type": "choice", "options": ["new", "open", "waiting", "closed"]}]})
    document.setdefault("workflows", []).append({
        "name": f"{entity}_flow", "entity": entity, "field": "status", "initial": "new",
        "states": [{"name": "new", "category": "open"}, {"name": "open", "category": "active"},
                   {"name": "waiting", "category": "waiting"}, {"name": "closed", "category": "done"}],
        "transitions": [{"name": "start", "from": ["new"], "to": "open"},
                        {"name": "park", "from": ["open"], "to": "waiting"},
                        {"name": "close", "from": ["open", "waiting"], "to": "closed", "requires": ["resolution"],
                         "guard": {"field": "priority", "op": "ne", "value": "high"},
                         "actions": [{"action": "set_field", "params": {"field": "priority", "value": "low"}}]}]})
    session.apply_metadata(document)


def record_in(site, entity: str, state: str, subject: str) -> dict:
    session = site.session(ADMIN)
    record = session.records.create(entity, {"subject": subject, "priority": "high"})
    for step in {"open": ["start"], "waiting": ["start", "park"]}[state]:
        transitions.perform(session, entity, record["id"], step)
    return site.session(ADMIN).records.get(entity, record["id"])


def stored(site, entity: str) -> dict:
    session = site.session(ADMIN)
    storage = session.storage
    with storage.connect() as conn:
        counts = {name: conn.execute(select(func.count()).select_from(loom_table(storage.schema, name))).scalar_one()
                  for name in ("loom_audit", "loom_outbox", "loom_transitions", "loom_approvals", "loom_sla_timers")}
    return {"counts": counts, "records": session.records.list(entity, [])["items"]}


def published(site) -> int:
    return site.install.session(site.tenant).metadata_history()[-1]["version"]


def test_a_workflow_state_removal_asks_for_the_state_map(page, site):
    with_workflow(site, "ticket")
    held = [record_in(site, "ticket", "waiting", f"Waiting {i}") for i in range(2)]
    sign_in(page, site)
    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="Designer").click()
    page.get_by_role("navigation", name="Designer").get_by_role("link", name="Workflows").click()
    page.get_by_role("region", name="The workflows of your draft").get_by_role("link", name="Ticket").click()
    expect(page.get_by_role("heading", name="Workflow of Ticket", level=1)).to_be_visible()
    expect(page.get_by_role("img", name="Diagram of the workflow Ticket flow")).to_be_visible()
    page.get_by_role("link", name="Edit the state waiting").click()
    editor = page.get_by_role("region", name="State waiting")
    expect(editor).to_be_visible()
    assert_accessible(page)
    screenshot(page, "designer-workflow")
    editor.get_by_role("button", name="Remove the state").click()
    expect(page.get_by_role("link", name="Edit the state waiting")).to_have_count(0)
    page.get_by_role("link", name="Review and publish").click()
    moves = page.get_by_role("group", name="Records in removed states")
    expect(moves.get_by_role("row").filter(has_text="waiting")).to_contain_text("2")
    assert_accessible(page)
    before = published(site)
    page.get_by_role("button", name="Publish").click(timeout=PUBLISHING)
    expect(page.get_by_text("Choose the state the 2 records in waiting move to.")).to_be_visible()
    assert published(site) == before
    assert_accessible(page)
    screenshot(page, "designer-workflow-state-map")
    page.get_by_label("New state for the records in waiting").select_option("open")
    page.get_by_role("button", name="Publish").click(timeout=PUBLISHING)
    expect(page.get_by_role("status")).to_contain_text(f"Published version {before + 1}.", timeout=PUBLISHING)
    assert [site.session(ADMIN).records.get("ticket", r["id"])["status"] for r in held] == ["open", "open"]


def test_a_transition_tested_on_a_record_changes_nothing(page, site):
    with_workflow(site, "errand")
    record = record_in(site, "errand", "open", "Call back")
    before = stored(site, "errand")
    sign_in(page, site, path="designer/e/errand/workflow")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name=ZH("Workflow of %(name)s") % {"name": "工单"}, level=1)).to_be_visible()
    page.get_by_role("link", name=ZH("Edit the transition %(name)s") % {"name": "close"}).click()
    expect(page.get_by_role("region", name=ZH("Transition %(name)s") % {"name": "close"})).to_be_visible()
    assert_accessible(page)
    screenshot(page, "designer-workflow-zh")
    page.get_by_role("link", name=ZH("Test a transition on a record")).click()
    page.get_by_label(ZH("Transition"), exact=True).select_option("close")
    page.get_by_label(ZH("Record"), exact=True).select_option(str(record["id"]))
    page.get_by_role("button", name=ZH("Test on the record")).click()
    result = page.get_by_role("region", name=ZH("Result: %(transition)s on #%(id)s") % {
        "transition": "close", "id": record["id"]})
    expect(result.get_by_role("status")).to_contain_text(ZH("The transition would be refused."))
    expect(result.get_by_role("status")).to_contain_text(ZH("Nothing was changed."))
    expect(result.get_by_text(ZH("%(field)s must be filled first.") % {"field": "resolution"})).to_be_visible()
    expect(result.get_by_text(ZH("What the transition writes"))).to_be_visible()
    assert_accessible(page)
    screenshot(page, "designer-workflow-test-zh")
    assert stored(site, "errand") == before

    page.get_by_role("button", name="English").click()
    page.get_by_label("Transition", exact=True).select_option("park")
    page.get_by_label("Record", exact=True).select_option(str(record["id"]))
    page.get_by_role("button", name="Test on the record").click()
    result = page.get_by_role("region", name=f"Result: park on #{record['id']}")
    expect(result.get_by_role("status")).to_contain_text("The transition would be taken.")
    written = result.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Then"))
    expect(written.get_by_role("row", name="status")).to_contain_text("waiting")
    assert_accessible(page)
    screenshot(page, "designer-workflow-test")
    assert stored(site, "errand") == before, "the real step was taken in a transaction that was rolled back"
