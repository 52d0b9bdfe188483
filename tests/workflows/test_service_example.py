"""The service process of examples/service/, end to end through the API, the job queue and
a real SMTP server: a request gets a ticket number, an acknowledgement, an assignee and a
service plan; it runs under SLA timers; resolving it sends a satisfaction survey."""
import json
from pathlib import Path

import pytest

from engine.auth import create_token, create_user
from tests.mail import running_smtp
from workflows.runtime import runtime_of

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "service" / "service.json"


@pytest.fixture
def smtp():
    with running_smtp() as collector:
        yield collector


@pytest.fixture
def desk(install, smtp, client):
    install.settings.extra.update(LOOM_SMTP_HOST="127.0.0.1", LOOM_SMTP_PORT=str(smtp.port),
                                  LOOM_SMTP_FROM="service@acme.example")
    install.registry.create("acme", "Acme Service")
    session = install.session("acme")
    session.apply_metadata(json.loads(EXAMPLE.read_text(encoding="utf-8")))
    people = {}
    for email, role in (("manager@acme.example", "admin"), ("wang@acme.example", "member"),
                        ("zhao@acme.example", "member")):
        people[email] = create_user(session.storage, email, role)
    tokens = {email: create_token(session.storage, email) for email in people}

    def call(method, path, email="wang@acme.example", body=None):
        response = client.open(f"/api/v1/t/acme{path}", method=method, json=body,
                               headers={"Authorization": f"Bearer {tokens[email]}"})
        return response.status_code, response.get_json()

    def work():
        return runtime_of(install).jobs.drain("acme")

    return call, work, people, smtp


def test_a_request_gets_ticket_ack_assignee_plan_and_after_resolving_a_survey(desk):
    call, work, people, smtp = desk
    status, request = call("POST", "/records/service_request", body={
        "subject": "洗衣机漏水", "channel": "phone", "request_type": "complaint",
        "requester_name": "李雷", "requester_email": "li.lei@example.cn", "locale": "zh-CN"})
    assert status == 201 and request["status"] == "new" and request["ticket_no"] is None
    assert work()["done"] >= 1

    status, request = call("GET", f"/records/service_request/{request['id']}")
    assert request["ticket_no"] == "SR-000001"
    assert request["assignee_id"] in {people["wang@acme.example"].id, people["zhao@acme.example"].id}
    _, tasks = call("GET", f"/records/service_task?request={request['id']}&sort=id")
    assert [t["title"] for t in tasks["items"]] == [
        "Call the customer back", "Find the cause and agree a remedy",
        "Review the complaint with the service manager"]
    assert tasks["items"][2]["assignee_id"] == people["manager@acme.example"].id
    assert all(t["due_at"] for t in tasks["items"])
    [ack] = smtp.messages
    assert ack["To"] == "li.lei@example.cn" and "SR-000001" in ack["Subject"] and "我们已收到" in ack["Subject"]
    _, timers = call("GET", f"/records/service_request/{request['id']}/sla")
    assert [(t["timer"], t["status"]) for t in timers["items"]] == [("first_response", "running")]

    assert call("POST", f"/records/service_request/{request['id']}/transitions/start")[0] == 200
    status, refused = call("POST", f"/records/service_request/{request['id']}/transitions/resolve")
    assert status == 409 and refused["error"]["details"][0]["field"] == "resolution"
    call("PATCH", f"/records/service_request/{request['id']}", body={"resolution": "更换了进水阀"})
    status, done = call("POST", f"/records/service_request/{request['id']}/transitions/resolve",
                        body={"comment": "customer confirmed"})
    assert status == 200 and done["record"]["status"] == "resolved"
    work()

    survey = smtp.messages[-1]
    assert survey["To"] == "li.lei@example.cn" and "SR-000001" in survey["Subject"]
    assert "更换了进水阀" in survey.get_content()
    _, trace = call("GET", f"/records/service_request/{request['id']}/rule-trace")
    assert [(t["rule"], t["outcome"]) for t in trace["items"]] == [("survey_on_resolve", "done")]
    _, timers = call("GET", f"/records/service_request/{request['id']}/sla")
    assert {t["timer"]: t["status"] for t in timers["items"]} == {"first_response": "met", "resolution": "met"}
    _, log = call("GET", f"/records/service_request/{request['id']}/workflow-history")
    assert [(h["from"], h["to"]) for h in log["items"]] == [("new", "in_progress"), ("in_progress", "resolved")]


def test_the_plan_follows_the_request_type_and_spreads_the_work(desk):
    call, work, people, _ = desk
    ids = [call("POST", "/records/service_request", body={
        "subject": f"repair {n}", "channel": "web", "request_type": "repair",
        "requester_phone": "+86 138 0000 000" + str(n)})[1]["id"] for n in range(4)]
    work()
    assignees = [call("GET", f"/records/service_request/{i}")[1]["assignee_id"] for i in ids]
    members = {people["wang@acme.example"].id, people["zhao@acme.example"].id}
    assert set(assignees) == members and assignees.count(assignees[0]) == 2
    _, tasks = call("GET", "/records/service_task?limit=200")
    assert len(tasks["items"]) == 8


def test_a_request_nobody_can_be_reached_for_is_refused_by_the_validation_rule(desk):
    call, _, _, _ = desk
    status, refused = call("POST", "/records/service_request", body={
        "subject": "no contact", "channel": "walk_in", "request_type": "inquiry"})
    assert status == 400 and refused["error"]["code"] == "rule_refused"
    assert refused["error"]["message"] == "Give the requester's e-mail or phone, so we can answer."
    assert call("GET", "/records/service_request")[1]["items"] == []


def test_cancelling_needs_a_managers_approval(desk):
    call, work, _, _ = desk
    request = call("POST", "/records/service_request", body={
        "subject": "duplicate", "channel": "email", "request_type": "inquiry",
        "requester_email": "x@example.org"})[1]
    path = f"/records/service_request/{request['id']}/transitions/cancel"
    assert call("POST", path, body={"comment": "duplicate"})[0] == 403
    status, pending = call("POST", path, email="manager@acme.example", body={"comment": "duplicate of SR-1"})
    assert status == 200 and pending["record"]["status"] == "cancelled"
