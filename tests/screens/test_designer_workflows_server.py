"""The designer's workflows editor on the server, on SQLite and PostgreSQL (ScreenClient):
the states and transitions as tables with a diagram drawn from them, every edit saved
into the draft (a state's choice with it), bad input refused changing nothing, removing
a state that holds records asks for the state map before publishing, and a transition
tested on a record changes nothing."""
from __future__ import annotations

import copy
import html
import io
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from admin_ui.designer import edits_workflows as wf
from engine import auth
from engine.app import create_app
from engine.systables import loom_table
from tests.screens.conftest import ScreenClient, with_passwords
from workflows import transitions

PEOPLE = {"ann@acme.example": "admin", "mo@acme.example": "member"}
TICKETS = {
    "entities": [{"name": "ticket", "label": {"en": "Ticket", "zh-CN": "工单"}, "fields": [
        {"name": "subject", "type": "string", "required": True},
        {"name": "priority", "type": "choice", "options": ["low", "high"]},
        {"name": "resolution", "type": "text"},
        {"name": "status", "type": "choice", "options": ["new", "open", "waiting", "closed"]}]}],
    "workflows": [{"name": "ticket_flow", "entity": "ticket", "field": "status", "initial": "new",
                   "states": [{"name": "new", "category": "open"}, {"name": "open", "category": "active"},
                              {"name": "waiting", "category": "waiting"}, {"name": "closed", "category": "done"}],
                   "transitions": [
                       {"name": "start", "from": ["new"], "to": "open"},
                       {"name": "park", "from": ["open"], "to": "waiting"},
                       {"name": "close", "from": ["open", "waiting"], "to": "closed", "requires": ["resolution"],
                        "comment": "required", "guard": {"field": "priority", "op": "ne", "value": "high"},
                        "approval": {"role": "admin", "count": 2},
                        "actions": [{"action": "set_field", "params": {"field": "priority", "value": "low"}}]}]}]}
LOOM_TABLES = ("loom_audit", "loom_outbox", "loom_transitions", "loom_approvals", "loom_sla_timers")


@pytest.fixture
def acme(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(copy.deepcopy(TICKETS))
    with_passwords(install, "acme", PEOPLE)
    return create_app(install, {"TESTING": True})


@pytest.fixture
def ann(acme):
    return ScreenClient(acme, "acme", "ann@acme.example")


def text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def choices(entity: dict) -> list:
    return [wf.option_value(o) for o in entity["fields"][3]["options"]]


def draft_workflow(ann) -> dict:
    """The draft's workflow as the designer's JSON export gives it."""
    document = ann.get("/designer/export").get_json()
    return document["workflows"][0], document["entities"][0]


def tickets(install, *states) -> list[dict]:
    session = install.session("acme")
    made = []
    for i, state in enumerate(states):
        record = session.records.create("ticket", {"subject": f"T{i}", "priority": "high"})
        for step in {"new": [], "open": ["start"], "waiting": ["start", "park"]}[state]:
            transitions.perform(session, "ticket", record["id"], step)
        made.append(session.records.get("ticket", record["id"]))
    return made


def stored(install) -> dict:
    """Every row count that a transition would change, and the tickets as stored."""
    storage = install.session("acme").storage
    with storage.connect() as conn:
        counts = {name: conn.execute(select(func.count()).select_from(loom_table(storage.schema, name))).scalar_one()
                  for name in LOOM_TABLES}
    return {"counts": counts, "tickets": install.session("acme").records.list("ticket", [])["items"]}


def test_the_states_and_transitions_are_tables_beside_a_diagram_that_highlights_the_selection(ann):
    page = ann.get("/designer/e/ticket/workflow")
    assert page.status_code == 200
    svg = page.text[page.text.index("<svg"):page.text.index("</svg>")]
    assert 'role="img"' in svg and "<title" in svg
    assert "Close: from Open, Waiting to Closed." in svg  # the description says every transition
    assert 'class="selected"' not in svg
    assert [re.sub(r"\s+", " ", m) for m in re.findall(r'<tr id="(state-[a-z]+)"', page.text)] == [
        "state-new", "state-open", "state-waiting", "state-closed"]
    chosen = ann.get("/designer/e/ticket/workflow?select=transition:close").text
    svg = chosen[chosen.index("<svg"):chosen.index("</svg>")]
    assert svg.count('class="selected"') == 5  # close's two arcs, its two sources and its target
    assert 'id="transition-close" class="selected" aria-current="true"' in chosen
    assert "Transition close" in text(chosen) and 'name="approval_count"' in chosen
    state = ann.get("/designer/e/ticket/workflow?select=state:waiting").text
    assert 'id="state-waiting" class="selected" aria-current="true"' in state and "Rename the state" in state


def test_a_rename_to_a_name_already_used_is_refused_and_changes_nothing(ann):
    before = draft_workflow(ann)
    for path, name in (("states/waiting/rename", "open"), ("transitions/park/rename", "close")):
        refused = ann.post(f"/designer/e/ticket/workflow/{path}", data={"name": name})
        assert refused.status_code == 409 and f"The name {name} is already used here" in refused.text
    assert draft_workflow(ann) == before
    assert ann.post("/designer/e/ticket/workflow/states/waiting/rename", data={"name": "waiting"}).status_code == 302


def test_a_state_added_renamed_and_removed_changes_the_state_fields_choices_with_it(ann):
    assert ann.post("/designer/e/ticket/workflow/states", data={
        "name": "review", "category": "waiting", "label_en": "In review", "label_zh": "审核中"}).status_code == 302
    workflow, entity = draft_workflow(ann)
    assert workflow["states"][-1] == {"name": "review", "category": "waiting",
                                      "label": {"en": "In review", "zh-CN": "审核中"}}
    assert choices(entity) == ["new", "open", "waiting", "closed", "review"]
    assert ann.post("/designer/e/ticket/workflow/states/waiting/rename", data={"name": "on_hold"}).status_code == 302
    workflow, entity = draft_workflow(ann)
    assert [t["from"] for t in workflow["transitions"]] == [["new"], ["open"], ["open", "on_hold"]]
    assert workflow["transitions"][1]["to"] == "on_hold"
    assert choices(entity) == ["new", "open", "on_hold", "closed", "review"]
    assert ann.post("/designer/e/ticket/workflow/states/on_hold/remove").status_code == 302
    workflow, entity = draft_workflow(ann)
    assert [t["name"] for t in workflow["transitions"]] == ["start", "close"]  # park went into on_hold
    assert workflow["transitions"][1]["from"] == ["open"]
    assert choices(entity) == ["new", "open", "closed", "review"]
    assert "Correct" not in ann.get("/designer/review").text  # the draft is valid


def test_a_transition_is_edited_whole_from_its_form(ann):
    response = ann.post("/designer/e/ticket/workflow/transitions/park", data={
        "from": ["new", "open"], "to": "waiting", "label_en": "Park", "label_zh": "搁置", "roles": ["member"],
        "requires": ["resolution"], "comment": "optional", "approval_role": "admin", "approval_mode": "all",
        "approval_count": "1", "guard-match": "all", "guard-0-field": "priority", "guard-0-op": "eq",
        "guard-0-value": "low", "actions": "[]"})
    assert response.status_code == 302 and response.headers["Location"].endswith("select=transition:park#editor")
    workflow, _entity = draft_workflow(ann)
    assert workflow["transitions"][1] == {
        "name": "park", "from": ["new", "open"], "to": "waiting", "label": {"en": "Park", "zh-CN": "搁置"},
        "roles": ["member"], "requires": ["resolution"], "comment": "optional",
        "approval": {"role": "admin", "count": 1, "mode": "all"}, "guard": {"field": "priority", "op": "eq", "value": "low"}}
    assert ann.post("/designer/e/ticket/workflow/transitions", data={
        "name": "reopen", "from_any": "on", "to": "open"}).status_code == 302
    workflow, _entity = draft_workflow(ann)
    assert workflow["transitions"][-1] == {"name": "reopen", "from": "*", "to": "open", "label": {"en": "Reopen"}}
    assert "any state" in ann.get("/designer/e/ticket/workflow").text


@pytest.mark.parametrize("field, value, said", [
    ("guard-json", "{not json", "This is not JSON"),
    ("actions", '{"action": "notify"}', "Write the actions as a JSON list"),
    ("approval_count", "two", "The number of approvals is a whole number"),
])
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(ann, field, value, said):
    before = ann.get("/designer/export").get_json()
    form = {"from": ["open"], "to": "waiting", "approval_role": "admin", "comment": "none", "guard-mode": "json",
            field: value}
    refused = ann.post("/designer/e/ticket/workflow/transitions/park", data=form)
    assert refused.status_code == 400 and said in text(refused.text)
    assert ann.get("/designer/export").get_json() == before


def test_an_edit_of_what_the_draft_lacks_is_a_404_page_and_a_member_gets_a_403_page(acme, ann):
    assert ann.post("/designer/e/ticket/workflow/states/nowhere/remove").status_code == 404
    assert ann.post("/designer/e/ticket/workflow/transitions/nowhere/rename", data={"name": "x"}).status_code == 404
    assert ann.get("/designer/e/nothing/workflow").status_code == 404
    mo = ScreenClient(acme, "acme", "mo@acme.example")
    assert mo.get("/designer/e/ticket/workflow").status_code == 403
    assert mo.get("/designer/e/ticket/workflow/test").status_code == 403
    assert mo.post("/designer/e/ticket/workflow/states/new/remove").status_code == 403


def test_the_guard_is_written_with_the_condition_builder_and_its_problem_shown_beside_its_row(ann):
    page = ann.get("/designer/e/ticket/workflow?select=transition:close").text
    assert 'name="guard-0-field"' in page and "Priority is not high" in text(page)
    assert ann.post("/designer/e/ticket/workflow/transitions/close", data={
        "from": ["open"], "to": "closed", "comment": "required", "approval_role": "admin", "approval_count": "2",
        "guard-match": "any", "guard-0-field": "priority", "guard-0-op": "eq", "guard-0-value": "low",
        "guard-1-field": "resolution", "guard-1-op": "exists"}).status_code == 302
    workflow, _entity = draft_workflow(ann)
    assert workflow["transitions"][2]["guard"] == {"any": [{"field": "priority", "op": "eq", "value": "low"},
                                                           {"field": "resolution", "op": "exists"}]}
    assert "Priority is low or Resolution has a value" in text(ann.get("/designer/e/ticket/workflow").text)
    ann.post("/designer/e/ticket/workflow/transitions/close", data={
        "from": ["open"], "to": "closed", "guard-match": "all", "guard-0-field": "priority", "guard-0-op": "gt",
        "guard-0-value": "low"})
    page = ann.get("/designer/e/ticket/workflow?select=transition:close").text
    editor = page[page.index('id="editor"'):]
    assert 'id="guard-0-problems"' in editor and 'aria-describedby="guard-0-problems"' in editor
    assert ann.post("/designer/e/ticket/workflow/transitions/close", data={}).status_code == 302
    workflow, _entity = draft_workflow(ann)
    assert "guard" not in workflow["transitions"][2]


def test_a_problem_is_shown_beside_the_state_that_caused_it(ann):
    assert ann.post("/designer/e/ticket/workflow/states/open", data={
        "category": "active", "sla_timer": "first_response", "sla_within": "4 hours",
        "sla_business_hours": "on", "sla_escalate": '[{"action": "set_field", "params": {"field": "priority", '
                                                    '"value": "high"}}]'}).status_code == 302
    workflow, _entity = draft_workflow(ann)
    assert workflow["states"][1]["sla"] == {"timer": "first_response", "within": "4 hours", "business_hours": True,
                                            "escalate": [{"action": "set_field",
                                                          "params": {"field": "priority", "value": "high"}}]}
    page = ann.get("/designer/e/ticket/workflow?select=state:open").text
    editor = page[page.index('id="editor"'):]
    assert "/workflows/0/states/1/sla/within" in editor
    row = page[page.index('id="state-open"'):page.index('id="state-waiting"')]
    assert "/workflows/0/states/1/sla/within" in row


def test_a_workflow_is_added_to_an_entity_from_its_choice_field(install, ann):
    install.session("acme").apply_metadata({**copy.deepcopy(TICKETS), "workflows": []})
    page = ann.get("/designer/e/ticket/workflow")
    assert "Add a workflow" in page.text
    assert ann.post("/designer/e/ticket/workflow", data={"name": "ticket_flow", "field": "status"}).status_code == 302
    workflow, _entity = draft_workflow(ann)
    assert workflow == {"name": "ticket_flow", "entity": "ticket", "field": "status", "initial": "new",
                        "label": {"en": "Ticket flow"}, "transitions": [],
                        "states": [{"name": s, "category": "open", "label": {"en": s.capitalize()}}
                                   for s in ("new", "open", "waiting", "closed")]}


def test_removing_a_state_that_holds_records_asks_for_the_state_map_before_publishing(install, ann):
    waiting = tickets(install, "waiting", "waiting", "open")
    page = ann.get("/designer/e/ticket/workflow?select=state:waiting").text
    row = text(page[page.index('<tr id="state-waiting"'):page.index('<tr id="state-closed"')])
    assert row.split()[:4] == ["waiting", "Waiting", "Waiting", "2"]  # name, label, category, records now
    assert "2 records are in this state now." in text(page)
    assert ann.post("/designer/e/ticket/workflow/states/waiting/remove").status_code == 302
    review = ann.get("/designer/review")
    said = text(review.text)
    assert "Records in removed states" in said and "waiting 2" in said  # the state and its records
    assert 'name="map_state:ticket.waiting"' in review.text and "--map-state" not in said
    assert "Publishing would be refused" not in said and "still used" not in said  # the map answers both
    version = install.session("acme").metadata().version
    refused = ann.post("/designer/publish")
    assert refused.status_code == 400
    assert "Choose the state the 2 records in waiting move to." in text(refused.text)
    assert 'aria-invalid="true" aria-describedby="map-problem-1"' in refused.text
    assert install.session("acme").metadata().version == version
    assert [t["status"] for t in stored(install)["tickets"]] == ["waiting", "waiting", "open"]
    assert ann.post("/designer/publish", data={"map_state:ticket.waiting": "nowhere"}).status_code == 400
    assert install.session("acme").metadata().version == version
    published = ann.post("/designer/publish", data={"map_state:ticket.waiting": "open"})
    assert published.status_code == 302
    assert install.session("acme").metadata().version == version + 1
    assert [t["status"] for t in stored(install)["tickets"]] == ["open", "open", "open"]
    moved = transitions.history(install.session("acme"), "ticket", waiting[0]["id"])[-1]
    assert (moved["transition"], moved["from"], moved["to"]) == ("state_map", "waiting", "open")


def test_a_transition_tested_on_a_record_shows_what_it_would_do_and_changes_nothing(install, ann):
    (record,) = tickets(install, "open")
    before = stored(install)
    page = ann.get(f"/designer/e/ticket/workflow/test?transition=close&record={record['id']}&role=admin")
    assert page.status_code == 200
    said = text(page.text)
    assert "The transition would be refused." in said and "Nothing was changed." in said
    assert "✓ It leaves the record's state open." in said
    assert "✗ resolution must be filled first." in said
    assert "✗ A comment is required." in said
    assert "✗ The guard does not hold." in said
    assert 'Priority is not high' in said  # the guard in words
    assert 'priority ne "high" "high" false' in said  # its leaf with what the record holds
    assert "2 approvals by the role admin. 0 given so far." in said
    assert "What the transition writes Nothing." in said, "a refused step writes nothing"
    assert "Actions that would run" in said and "so none of them ran. None." in said
    assert stored(install) == before
    fixed = install.session("acme").records.update("ticket", record["id"], {"priority": "low", "resolution": "done"})
    before = stored(install)
    page = ann.get(f"/designer/e/ticket/workflow/test?transition=close&record={record['id']}&role=admin&comment=ok")
    assert "The transition would wait for 2 approvals by the role admin." in text(page.text)
    assert stored(install) == before and fixed["version"] == before["tickets"][0]["version"]
    as_member = text(ann.get(f"/designer/e/ticket/workflow/test?transition=close&record={record['id']}"
                             f"&role=member&comment=ok").text)
    assert "It needs approval by the role admin; as member you cannot give it." in as_member, \
        "as the engine refuses a step whose approval the role cannot give (403 approver_role)"


def test_a_transition_of_the_draft_is_what_is_tested(install, ann):
    (record,) = tickets(install, "open")
    ann.post("/designer/e/ticket/workflow/transitions/park", data={"from": ["open"], "to": "waiting",
                                                                   "roles": ["member"], "comment": "none"})
    said = text(ann.get(f"/designer/e/ticket/workflow/test?transition=park&record={record['id']}&role=admin").text)
    assert "✗ Only the roles member may take it, not admin." in said
    said = text(ann.get(f"/designer/e/ticket/workflow/test?transition=park&record={record['id']}&role=member").text)
    assert "The transition would be taken." in said


def test_a_transition_taken_in_the_test_shows_what_it_writes_and_the_actions_that_would_run(install, ann):
    (record,) = tickets(install, "open")
    ann.post("/designer/e/ticket/workflow/transitions/park", data={
        "from": ["open"], "to": "waiting", "comment": "none",
        "actions": json.dumps([{"action": "set_field", "params": {"field": "priority", "value": "low"}}])})
    before = stored(install)
    page = ann.get(f"/designer/e/ticket/workflow/test?transition=park&record={record['id']}&role=member")
    said = text(page.text)
    assert page.status_code == 200 and "The transition would be taken." in said
    assert "What the transition writes Field Now Then status open waiting" in said
    assert 'the workflow set_field {"field": "priority", "value": "low"}' in said
    assert stored(install) == before, "the real step ran in a transaction that was rolled back"


def test_a_draft_that_changes_the_tables_is_not_tried_and_the_admin_is_told_what_to_publish(install, ann):
    (record,) = tickets(install, "open")
    document = ann.get("/designer/export").get_json()
    document["entities"][0]["fields"].append({"name": "wechat_id", "type": "string"})
    ann.post("/designer/import", data={"document": (io.BytesIO(json.dumps(document).encode()), "d.json")},
             content_type="multipart/form-data")
    before = stored(install)
    page = ann.get(f"/designer/e/ticket/workflow/test?transition=park&record={record['id']}&role=admin")
    said = text(page.text)
    assert page.status_code == 409
    assert "This transition cannot be tried on a real record yet" in said
    assert "Your draft adds the field ticket.wechat_id." in said
    assert stored(install) == before


def test_the_test_speaks_chinese_from_the_engines_codes(install, acme):
    (record,) = tickets(install, "open")
    storage = install.session("acme").storage
    auth.set_locale(storage, next(u.id for u in auth.list_users(storage) if u.email == "ann@acme.example"), "zh-CN")
    zh = ScreenClient(acme, "acme", "ann@acme.example")
    said = text(zh.get(f"/designer/e/ticket/workflow/test?transition=close&record={record['id']}&role=member").text)
    assert "必须先填写 resolution。" in said
    missing = text(zh.get("/designer/e/ticket/workflow/test?transition=close&record=99999&role=admin").text)
    assert "no ticket record" not in missing and "没有这样的记录" in missing


@pytest.mark.parametrize("query, status", [
    ("transition=close&record=abc&role=admin", 404),
    ("transition=close&record=99999&role=admin", 404),
    ("transition=fly&record=1&role=admin", 404),
    ("transition=close&record=1&role=owner", 400),
])
def test_a_test_with_bad_input_is_refused_with_a_clear_message(install, ann, query, status):
    tickets(install, "open")
    before = stored(install)
    page = ann.get(f"/designer/e/ticket/workflow/test?{query}")
    assert page.status_code == status and 'role="alert"' in page.text and "Traceback" not in page.text
    assert stored(install) == before


STATES = ["new", "open", "waiting", "closed"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["remove", "rename"]), st.sampled_from(STATES)), max_size=4))
def test_state_edits_leave_no_transition_or_choice_naming_a_state_that_is_gone(steps):
    document = copy.deepcopy(TICKETS)
    for kind, name in steps:
        names = [s["name"] for s in document["workflows"][0]["states"]]
        if name not in names or (kind == "remove" and len(names) == 1):
            continue
        document = (wf.remove_state(document, "ticket", name) if kind == "remove"
                    else wf.rename_state(document, "ticket", name, name + "_x"))
    workflow = document["workflows"][0]
    names = [s["name"] for s in workflow["states"]]
    assert document["entities"][0]["fields"][3]["options"] == names
    assert workflow["initial"] in names
    for transition in workflow["transitions"]:
        assert transition["to"] in names and transition["from"] and set(transition["from"]) <= set(names)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)
NAMES = st.sampled_from(STATES + ["*"]) | JSON


@settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({"initial": NAMES, "states": st.lists(
    st.fixed_dictionaries({"name": NAMES, "category": NAMES}) | JSON, max_size=4), "transitions": st.lists(
    st.fixed_dictionaries({"name": NAMES, "from": NAMES | st.lists(NAMES, max_size=3), "to": NAMES}) | JSON,
    max_size=4)}) | JSON)
def test_the_diagram_draws_any_draft_even_a_malformed_one(workflow):
    from admin_ui.designer.workflow_diagram import Words, diagram

    words = Words(title="Diagram", any_state="any", initial="initial", transition="%(name)s: %(from)s to %(to)s",
                  selected="selected")
    picture = diagram(workflow if isinstance(workflow, dict) else {}, {}, words, ("state", "open"))
    assert picture.startswith("<svg") and picture.endswith("</svg>") and "<title" in picture


def test_a_malformed_workflow_in_the_draft_is_shown_with_its_problems_not_a_5xx(ann):
    document = ann.get("/designer/export").get_json()
    document["workflows"][0]["states"][1] = {"name": ["open"], "category": {"x": 1}}
    document["workflows"][0]["transitions"][0]["to"] = ["open"]
    document["workflows"][0]["transitions"][1]["from"] = 7
    uploaded = ann.post("/designer/import", data={"document": (io.BytesIO(json.dumps(document).encode()), "d.json")},
                        content_type="multipart/form-data")
    assert uploaded.status_code == 302
    page = ann.get("/designer/e/ticket/workflow")
    assert page.status_code == 200 and "/workflows/0/states/1/name" in page.text
    assert ann.get("/designer/e/ticket/workflow?select=transition:park").status_code == 200
    assert ann.get("/designer/e/ticket/workflow/test?transition=start&record=1").status_code == 200
