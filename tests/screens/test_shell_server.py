"""The shell on the server, on both backends: "my work" lists only what the user may read
(their own records, approvals their role may still give, overdue timers on readable
records), and the notifications page counts, lists and marks read the user's own."""
from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from admin_ui import formats
from engine import auth
from engine.app import create_app
from engine.systables import loom_table
from tests.screens.conftest import ScreenClient, statements, with_passwords
from workflows import transitions
from workflows.calendar import save_calendar
from workflows.notify import inapp
from workflows.runtime import runtime_of

DOC = {
    "entities": [{"name": "ticket", "label": {"en": "Ticket", "zh-CN": "工单"},
                  "plural_label": {"en": "Tickets", "zh-CN": "工单"},
                  "fields": [{"name": "subject", "type": "string", "required": True},
                             {"name": "status", "type": "choice", "options": ["open", "review", "done"]}],
                  "sharing": {"default": "none"}},
                 {"name": "note", "fields": [{"name": "title", "type": "string"}]}],
    "workflows": [{
        "name": "ticket_flow", "entity": "ticket", "field": "status", "initial": "open",
        "states": [{"name": "open", "category": "open",
                    "sla": {"timer": "first_response", "within": "1h"}},
                   {"name": "review", "category": "active"}, {"name": "done", "category": "done"}],
        "transitions": [{"name": "submit", "from": ["open"], "to": "review"},
                        {"name": "sign_off", "from": ["review"], "to": "done",
                         "label": {"en": "Sign off", "zh-CN": "签核"},
                         "approval": {"role": "member", "count": 2, "mode": "any"}}]}],
}
PEOPLE = {"boss@acme.example": "admin", "ann@acme.example": "member", "ben@acme.example": "member"}


@pytest.fixture
def acme(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(copy.deepcopy(DOC))
    with_passwords(install, "acme", PEOPLE)
    return create_app(install, {"TESTING": True})


def session_of(install, email):
    storage = install.session("acme").storage
    return install.session("acme", next(a for a in auth.list_users(storage) if a.email == email))


def overdue_all(install) -> None:
    """The workflow jobs run (starting the timers), then every running timer's deadline is
    an hour ago (as if the clock had moved on)."""
    runtime_of(install).jobs.drain("acme")
    storage = install.session("acme").storage
    timers = loom_table(storage.schema, "loom_sla_timers")
    with storage.begin() as conn:
        conn.execute(timers.update().values(due_at=datetime.now(timezone.utc) - timedelta(hours=1)))


def section(html: str, title: str) -> str:
    start = html.index(f">{title}</h2>")
    end = html.find("</section>", start)
    return html[start:end]


def test_my_work_lists_my_records_approvals_and_overdue_timers_i_may_read(acme, install):
    ann, ben = session_of(install, "ann@acme.example"), session_of(install, "ben@acme.example")
    ann.records.create("ticket", {"subject": "Ann's printer"})
    ben.records.create("ticket", {"subject": "Ben's secret"})
    review = ann.records.create("ticket", {"subject": "Ann's review"})
    install.session("acme").records.create("note", {"title": "Nobody's note"})
    transitions.perform(ann, "ticket", review["id"], "submit")
    overdue_all(install)

    page = ScreenClient(acme, "acme", "ann@acme.example").get("/").text
    mine = section(page, "Assigned to me")
    assert "Ann&#39;s printer" in mine and "Ann&#39;s review" in mine and "Ben" not in mine
    assert f'e/ticket?owner_id={ann.actor.id}' in mine and "Nobody" not in mine
    approvals = section(page, "Approvals waiting for me")
    assert "Ann&#39;s review" in approvals and "Sign off" in approvals and "0 of 2 approvals" in approvals
    overdue = section(page, "Overdue")
    assert "Ann&#39;s printer" in overdue and "Ben" not in overdue and "first response" in overdue

    boss = ScreenClient(acme, "acme", "boss@acme.example").get("/").text
    assert "Nothing is assigned to you." in section(boss, "Assigned to me")
    assert "No approvals are waiting for you." in section(boss, "Approvals waiting for me")
    assert "Ben&#39;s secret" in section(boss, "Overdue")  # an admin reads every ticket


def test_an_approval_i_gave_is_no_longer_waiting_for_me(acme, install):
    ann = session_of(install, "ann@acme.example")
    record = ann.records.create("ticket", {"subject": "Two signatures"})
    transitions.perform(ann, "ticket", record["id"], "submit")
    transitions.perform(ann, "ticket", record["id"], "sign_off")  # 1 of 2
    assert "No approvals are waiting for you." in section(
        ScreenClient(acme, "acme", "ann@acme.example").get("/").text, "Approvals waiting for me")
    # ben cannot read ann's ticket (sharing "none"): nothing waits for him either
    assert "Two signatures" not in ScreenClient(acme, "acme", "ben@acme.example").get("/").text


def test_approvals_waiting_for_me_read_the_approvals_of_all_candidates_at_once(acme, install):
    ann, ben = session_of(install, "ann@acme.example"), session_of(install, "ben@acme.example")
    for number in range(4):
        record = ann.records.create("ticket", {"subject": f"Review {number}"})
        transitions.perform(ann, "ticket", record["id"], "submit")
    transitions.perform(ann, "ticket", record["id"], "sign_off")  # ann gave hers on the last one
    client = ScreenClient(acme, "acme", "ann@acme.example")
    with statements() as seen:
        page = client.get("/").text
    approvals = section(page, "Approvals waiting for me")
    assert [f"Review {n}" in approvals for n in range(4)] == [True, True, True, False]
    assert len([s for s in seen if "loom_approvals" in s]) == 1


def test_the_navigation_lists_the_entities_by_label_and_the_badge_counts_unread(acme, install):
    ann = session_of(install, "ann@acme.example")
    for n in range(3):
        inapp.create(ann.storage, ann.actor.id, f"Ticket {n} needs you", "body", "ticket", 1)
    inapp.create(ann.storage, session_of(install, "ben@acme.example").actor.id, "For Ben", "")
    page = ScreenClient(acme, "acme", "ann@acme.example").get("/").text
    assert 'aria-label="Notifications, 3 unread"' in page
    nav = page[page.index('<nav class="side"'):page.index("</nav>")]
    assert nav.index(">Note<") < nav.index(">Tickets<")


def test_the_notifications_page_marks_one_and_then_all_read(acme, install):
    ann = session_of(install, "ann@acme.example")
    ids = [inapp.create(ann.storage, ann.actor.id, f"Ticket {n} needs you", "body", "ticket", 7)
           for n in range(3)]
    bens = inapp.create(ann.storage, session_of(install, "ben@acme.example").actor.id, "For Ben", "")
    client = ScreenClient(acme, "acme", "ann@acme.example")
    page = client.get("/notifications").text
    assert page.count("Mark as read:") == 3 and "For Ben" not in page
    assert 'href="/t/acme/e/ticket/7"' in page

    assert client.post("/notifications/read", data={"id": str(ids[0])}).status_code == 302
    assert inapp.unread_count(ann.storage, ann.actor.id) == 2
    assert client.post("/notifications/read", data={"id": str(bens)}).status_code == 302
    assert inapp.unread_count(ann.storage, session_of(install, "ben@acme.example").actor.id) == 1
    unread = client.get("/notifications?show=unread").text
    assert unread.count("Mark as read:") == 2 and 'aria-label="Notifications, 2 unread"' in unread

    assert client.post("/notifications/read", data={"all": "1", "show": "unread"}).status_code == 302
    assert inapp.unread_count(ann.storage, ann.actor.id) == 0
    assert "No unread notifications." in client.get("/notifications?show=unread").text


@pytest.mark.parametrize("data", [{"id": "x"}, {"id": ""}, {"id": "-1"}, {"id": "99999999999999999999"}])
def test_a_bad_notification_id_is_a_400_page(acme, data):
    client = ScreenClient(acme, "acme", "ann@acme.example")
    assert client.post("/notifications/read", data=data).status_code == 400
    assert client.get("/notifications?show=nonsense").status_code == 400


def test_dates_and_numbers_follow_the_language_and_a_visitor_gets_the_tenant_language(acme, install):
    ann = session_of(install, "ann@acme.example")
    inapp.create(ann.storage, ann.actor.id, "Hello", "")
    client = ScreenClient(acme, "acme", "ann@acme.example")
    assert re.search(r"<time [^>]*>\w{3} \d{1,2}, \d{4}", client.get("/notifications").text)
    client.post("/language", data={"language": "zh-CN"})
    page = client.get("/notifications").text
    assert '<html lang="zh-CN">' in page and re.search(r"<time [^>]*>\d{4}年\d{1,2}月\d{1,2}日", page)
    install.registry.create("china", "华东", language="zh-CN")
    visitor = acme.test_client().get("/t/china/login").text
    assert '<html lang="zh-CN">' in visitor and "登录" in visitor


def test_every_url_in_docs_screens_is_a_screen(acme):
    """docs/screens.md's URL map names every screen route, with its methods, and no other."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "screens.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- screens-urls:start -->(.*?)<!-- screens-urls:end -->", text, re.S).group(1)
    rows = re.findall(r"^\| ([A-Z, ]+) \| `([^`]+)` \|", table, re.M)
    assert len(rows) >= 8
    routes: dict[str, set] = {}
    for rule in acme.url_map.iter_rules():  # a path's GET and POST may be two views
        routes.setdefault(rule.rule, set()).update(rule.methods)
    for methods, path in rows:
        assert path in routes, path
        assert {m.strip() for m in methods.split(",")} <= routes[path], path
    screens = {rule.rule for rule in acme.url_map.iter_rules() if rule.endpoint.startswith("screens.")}
    assert screens - {path for _methods, path in rows} == set()


def test_times_are_shown_in_the_tenant_time_zone_and_amounts_per_language(acme, install):
    ann = session_of(install, "ann@acme.example")
    inapp.create(ann.storage, ann.actor.id, "Hello", "")
    at = inapp.list_for(ann.storage, ann.actor.id)[0]["at"]
    save_calendar(install.session("acme"), {"timezone": "Asia/Shanghai"})
    client = ScreenClient(acme, "acme", "ann@acme.example")
    client.post("/language", data={"language": "zh-CN"})
    shown = re.search(r"<time [^>]*>([^<]+)</time>", client.get("/notifications").text).group(1)
    local = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Shanghai"))
    assert shown.endswith(local.strftime("%H:%M:%S"))
    with acme.test_request_context("/t/acme/", headers={"Cookie": "loom_lang=zh-CN"}):
        assert formats.money("1234.5", "CNY") == "¥1,234.50" and formats.number("1234567.5") == "1,234,567.5"
        assert formats.day("2026-12-06") == "2026年12月6日"
    with acme.test_request_context("/t/acme/", headers={"Cookie": "loom_lang=en"}):
        assert formats.money("1234.5", "CNY") == "CN¥1,234.50" and formats.day("2026-12-06") == "Dec 6, 2026"


def test_every_screen_links_an_icon_the_server_serves(acme):
    client = ScreenClient(acme, "acme", "ann@acme.example")
    for path in ("/", "notifications", "e/ticket", "e/ticket/999"):
        icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', client.get(path).text)
        assert icon, path
    served = client.client.get(icon.group(1))
    assert served.status_code == 200 and served.mimetype == "image/svg+xml"
    assert b"<svg" in served.data and b"<script" not in served.data
    signed_out = client.client.application.test_client().get("/t/acme/login").text
    assert icon.group(1) in signed_out
