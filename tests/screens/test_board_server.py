"""The kanban, the calendar and the global search on the server, on both backends: what
they show a user (and hide from a member), how a move is decided by the engine, and a
clear 4xx page for every bad input."""
from __future__ import annotations

import copy
import re

import pytest

from engine import auth
from engine.app import create_app
from tests.screens.conftest import ScreenClient, with_passwords

BOSS, REP = "boss@acme.example", "rep@acme.example"
DOC = {
    "entities": [
        {"name": "deal", "sharing": {"default": "none"}, "fields": [
            {"name": "title", "type": "string", "required": True},
            {"name": "stage", "type": "choice", "options": ["lead", "won", "lost", "held"]},
            {"name": "priority", "type": "choice", "options": ["low", "high"]},
            {"name": "lost_reason", "type": "string"},
            {"name": "close_on", "type": "date"},
            {"name": "phone", "type": "phone"}]},
        {"name": "note", "fields": [{"name": "body", "type": "string"}]},
    ],
    "workflows": [{
        "name": "deal_flow", "entity": "deal", "field": "stage", "initial": "lead",
        "states": [{"name": "lead", "category": "open"}, {"name": "won", "category": "done"},
                   {"name": "lost", "category": "cancelled"}, {"name": "held", "category": "active"}],
        "transitions": [
            {"name": "win", "from": ["lead"], "to": "won", "guard": {"field": "priority", "op": "eq", "value": "high"}},
            {"name": "lose", "from": ["lead"], "to": "lost", "requires": ["lost_reason"], "comment": "required"},
            {"name": "hold", "from": ["lead"], "to": "held", "approval": {"role": "admin", "count": 2, "mode": "any"}},
            {"name": "reopen", "from": ["won", "lost", "held"], "to": "lead"}]}],
}


@pytest.fixture
def acme_app(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(copy.deepcopy(DOC))
    with_passwords(install, "acme", {BOSS: "admin", REP: "member"})
    return create_app(install, {"TESTING": True})


@pytest.fixture
def boss(acme_app):
    return ScreenClient(acme_app, "acme", BOSS)


@pytest.fixture
def system(install, acme_app):
    return install.session("acme")


def deal(session, **values):
    return session.records.create("deal", {"title": "deal", **values})


def titles(html: str) -> list[str]:
    return re.findall(r'<li><a href="/t/acme/e/\w+/\d+">([^<]+)</a>', html)


def move(client, record, to, **form):
    return client.hx("POST", "e/deal/kanban/move", data={"id": record["id"], "version": record["version"],
                                                         "to": to, "by": "stage", **form})


# -- search ---------------------------------------------------------------------------

def test_search_ranks_an_exact_name_first_then_names_starting_with_it_then_names_holding_it(system, boss):
    for title in ("张王伟", "王伟东", "王伟", "王芳"):
        deal(system, title=title)
    page = boss.get("search?q=王伟")
    assert page.status_code == 200 and titles(page.text) == ["王伟", "王伟东", "张王伟"]
    one = titles(boss.get("search?q=王").text)
    assert set(one[:3]) == {"王伟", "王伟东", "王芳"} and one[3:] == ["张王伟"]  # a one-character name
    suggested = boss.hx("GET", "search/suggest?q=伟")
    assert set(titles(suggested.text)) == {"王伟", "王伟东", "张王伟"}


def test_a_phone_number_is_found_however_it_is_typed(system, boss):
    found = deal(system, title="Call me", phone="+86-138-0013-8000")
    for typed in ("138 0013 8000", "13800138000", "+86 138 0013 8000", "138-0013-8000"):
        page = boss.get(f"search?q={typed}")
        assert f'href="/t/acme/e/deal/{found["id"]}"' in page.text, typed


def test_a_member_never_finds_a_record_they_may_not_read(install, system, acme_app):
    deal(system, title="王伟 secret")  # owned by no one: closed to members
    rep = ScreenClient(acme_app, "acme", REP)
    rep_session = install.session("acme", next(a for a in _users(install) if a.email == REP))
    deal(rep_session, title="王伟 mine")
    assert titles(rep.get("search?q=王伟").text) == ["王伟 mine"]
    assert set(titles(ScreenClient(acme_app, "acme", BOSS).get("search?q=王伟").text)) == {"王伟 mine", "王伟 secret"}


def test_an_empty_or_odd_query_is_a_page_not_an_error(boss):
    assert boss.get("search").status_code == 200
    assert boss.get("search?q=" + "%" * 500).status_code == 200
    assert boss.get("search?q=%00_").status_code == 200


def _users(install):
    return auth.list_users(install.session("acme").storage)


# -- kanban ---------------------------------------------------------------------------

def test_the_board_has_a_column_per_state_and_cards_link_to_their_records(system, boss):
    record = deal(system, title="Big one", priority="high")
    page = boss.get("e/deal/kanban")
    assert page.status_code == 200
    assert [h for h in re.findall(r'<h2 id="column-\d+">(\w+)', page.text)] == ["Lead", "Won", "Lost", "Held"]
    assert f'href="/t/acme/e/deal/{record["id"]}"' in page.text and "Move<span" in page.text
    by_priority = boss.get("e/deal/kanban?by=priority&priority=high")
    assert re.findall(r'<h2 id="column-\d+">(\w+)', by_priority.text) == ["low", "high"]


@pytest.mark.parametrize("path, status", [
    ("e/nothing/kanban", 404), ("e/note/kanban", 400), ("e/deal/kanban?by=title", 400),
    ("e/deal/kanban?by=nope", 400), ("e/deal/kanban?priority__zz=1", 400),
    ("e/deal/kanban/more?by=stage&column=nope", 400),
])
def test_a_bad_board_request_is_a_clear_page(boss, path, status):
    page = boss.get(path)
    assert page.status_code == status and "<h1" in page.text


def test_a_column_pages_by_its_own_cursor(system, boss):
    system.records.create_many("deal", [{"title": f"d{i:02}"} for i in range(25)])
    page = boss.get("e/deal/kanban")
    more = re.search(r'hx-get="(/t/acme/e/deal/kanban/more\?[^"]+)"', page.text).group(1).replace("&amp;", "&")
    rest = boss.client.get(more, headers={"HX-Request": "true"})
    assert rest.status_code == 200 and len(re.findall(r'class="kanban-card[ "]', rest.text)) == 5


def card_menu(page: str, record) -> list[str] | None:
    """The columns a card's "Move to" menu offers; None when the card has no menu."""
    card = re.search(r'<li class="kanban-card[^"]*" data-id="%d"(.*?)(?=<li class="kanban-(?:card|more)|</ul>\s*</section>)'
                     % record["id"], page, re.S).group(1)
    return re.findall(r'name="to" value="(\w+)"', card) if 'role="menu"' in card else None


def test_the_move_menu_offers_only_the_columns_the_engine_lets_the_card_reach(install, system, acme_app, boss):
    small, big = deal(system, title="Small", priority="low"), deal(system, title="Big", priority="high")
    page = boss.get("e/deal/kanban").text
    assert card_menu(page, small) == ["lost", "held"]  # win's guard holds only for high priority
    assert card_menu(page, big) == ["won", "lost", "held"]  # lose asks for its fields in a dialog
    move(boss, big, "held")  # the boss's approval of hold is given: only another admin's is missing
    assert card_menu(boss.get("e/deal/kanban").text, big) == ["won", "lost"]
    rep = ScreenClient(acme_app, "acme", REP)
    mine = deal(install.session("acme", next(a for a in _users(install) if a.email == REP)), priority="high")
    assert card_menu(rep.get("e/deal/kanban").text, mine) == ["won", "lost"]  # hold is approved by admins
    by_priority = boss.get("e/deal/kanban?by=priority").text
    assert card_menu(by_priority, small) == ["high"] and card_menu(by_priority, big) == ["low"]


def test_a_card_the_member_may_only_read_has_no_move_menu(install, acme_app):
    document = copy.deepcopy(DOC)
    document["entities"][0]["sharing"] = {"default": "read"}
    install.registry.create("beta", "Beta")
    install.session("beta").apply_metadata(document)
    with_passwords(install, "beta", {REP: "member"})
    theirs = deal(install.session("beta"), title="Not mine", priority="high")
    rep = ScreenClient(acme_app, "beta", REP)
    mine = deal(install.session("beta", next(a for a in auth.list_users(install.session("beta").storage)
                                              if a.email == REP)), title="Mine", priority="high")
    for query in ("", "?by=priority"):
        page = rep.get("e/deal/kanban" + query).text
        assert card_menu(page, theirs) is None and card_menu(page, mine)
        assert 'class="kanban-card" data-id="%d"' % theirs["id"] in page  # not draggable either


def test_a_move_blocked_by_the_guard_is_refused_with_the_reason_and_changes_nothing(system, boss):
    record = deal(system, title="Small", priority="low")
    answer = move(boss, record, "won")
    assert answer.status_code == 409 and 'role="alert"' in answer.text and "must be high (it is low)." in answer.text
    assert system.records.get("deal", record["id"])["stage"] == "lead"


def test_a_move_with_no_step_leading_there_is_refused(system, boss):
    record = deal(system, title="Won already", priority="high")
    assert move(boss, record, "won").status_code == 200
    won = system.records.get("deal", record["id"])
    answer = move(boss, won, "lost")
    assert answer.status_code == 409 and "No step of the workflow leads from Won to Lost" in answer.text


def test_a_move_asks_for_the_required_fields_and_comment_then_takes_the_step(system, boss):
    record = deal(system, title="Maybe")
    asked = move(boss, record, "lost")
    assert asked.status_code == 200 and "<dialog open" in asked.text
    assert 'name="value.lost_reason"' in asked.text and 'name="comment"' in asked.text
    refused = move(boss, record, "lost", asked="1", comment="", **{"value.lost_reason": "Too pricey"})
    assert refused.status_code == 400 and 'role="alert"' in refused.text  # the comment is required
    assert system.records.get("deal", record["id"]) == record  # the filled field was not saved either
    done = move(boss, system.records.get("deal", record["id"]), "lost", asked="1", comment="Budget cut",
                **{"value.lost_reason": "Too pricey"})
    assert done.status_code == 200 and 'role="status"' in done.text
    assert system.records.get("deal", record["id"])["stage"] == "lost"


def test_a_card_changed_since_it_was_drawn_is_refused_before_its_dialog_asks_anything(system, boss):
    record = deal(system, title="Edited meanwhile")
    system.records.update("deal", record["id"], {"title": "Edited by someone else"})
    stale = move(boss, record, "lost")  # the card's version: the one drawn
    assert stale.status_code == 412 and "<dialog open" not in stale.text and 'role="alert"' in stale.text
    assert system.records.get("deal", record["id"])["stage"] == "lead"


def test_a_move_needing_approvals_records_the_approval_and_stays(system, boss):
    record = deal(system, title="Hold it")
    answer = move(boss, record, "held")
    assert answer.status_code == 200 and "(1 of 2)" in answer.text
    assert system.records.get("deal", record["id"])["stage"] == "lead"


def test_a_move_on_a_plain_choice_field_updates_it_at_the_card_version(system, boss):
    record = deal(system, title="Prio")
    answer = boss.hx("POST", "e/deal/kanban/move", data={"id": record["id"], "version": record["version"],
                                                         "to": "high", "by": "priority"})
    assert answer.status_code == 200 and system.records.get("deal", record["id"])["priority"] == "high"
    stale = boss.hx("POST", "e/deal/kanban/move", data={"id": record["id"], "version": record["version"],
                                                        "to": "low", "by": "priority"})
    assert stale.status_code == 412 and 'role="alert"' in stale.text


def test_a_move_of_a_deleted_card_or_to_an_unknown_column_is_refused(system, boss):
    record = deal(system, title="Gone")
    system.records.delete("deal", record["id"])
    assert move(boss, record, "won").status_code == 404
    assert move(boss, deal(system), "nowhere").status_code == 400


# -- calendar -------------------------------------------------------------------------

def test_the_calendar_places_records_on_their_day_and_pages_by_month_and_week(system, boss):
    record = deal(system, title="Signing", close_on="2026-03-17")
    march = boss.get("e/deal/calendar?month=2026-03")
    assert march.status_code == 200 and "March 2026" in march.text
    assert re.search(r'datetime="2026-03-17".*?href="/t/acme/e/deal/%d"' % record["id"], march.text, re.S)
    assert 'href="?field=close_on&amp;month=2026-02"' in march.text and "month=2026-04" in march.text
    assert "Signing" not in boss.get("e/deal/calendar?month=2026-04").text
    week = boss.get("e/deal/calendar?week=2026-W12")
    assert week.status_code == 200 and "Signing" in week.text and "week=2026-W13" in week.text


@pytest.mark.parametrize("path", ["e/deal/calendar?month=2026-13", "e/deal/calendar?month=march",
                                  "e/deal/calendar?week=2026-W60", "e/deal/calendar?field=title",
                                  "e/deal/calendar?month=9999-12", "e/deal/calendar?week=9999-W52",
                                  "e/deal/calendar?month=0001-01",
                                  "e/note/calendar"])
def test_a_bad_calendar_request_is_a_400_page(boss, path):
    assert boss.get(path).status_code == 400


def test_without_javascript_a_move_is_a_form_post_answered_with_the_board(system, boss):
    record = deal(system, title="Plain form")
    moved = boss.post("e/deal/kanban/move", {"id": record["id"], "version": record["version"], "to": "held",
                                             "by": "stage", "filters": "priority=low"})
    assert moved.status_code == 302 and moved.headers["Location"].endswith("/e/deal/kanban?priority=low&by=stage")
    asked = boss.post("e/deal/kanban/move", {"id": record["id"], "version": record["version"], "to": "lost",
                                             "by": "stage"})
    assert asked.status_code == 200 and "<dialog open" in asked.text and "<h1>" in asked.text


def test_the_list_links_to_a_kanban_and_calendar_that_keep_its_filters_and_read_them_alike(boss, system):
    """The list's own query string (its columns, saved view, a day bounding a date-and-time
    field) opens the kanban and the calendar with the same records, not a 400."""
    deal(system, title="Kept", close_on="2026-12-06")
    listed = boss.get("e/deal?columns=title&columns=stage&created_at__gte=2000-01-01&sort=title")
    assert listed.status_code == 200
    kanban = re.search(r'href="(/t/acme/e/deal/kanban\?[^"]+)"', listed.text).group(1).replace("&amp;", "&")
    assert "columns=title" in kanban
    board = boss.client.get(kanban)
    assert board.status_code == 200 and "Kept" in board.text
    calendar = boss.client.get(kanban.replace("/kanban?", "/calendar?") + "&month=2026-12")
    assert calendar.status_code == 200 and "Kept" in calendar.text
    empty = boss.get("e/deal/kanban?created_at__lte=2000-01-01&columns=title&view=")
    assert empty.status_code == 200 and "Kept" not in empty.text


def test_a_move_without_the_cards_version_changes_nothing(system, boss):
    record = deal(system, priority="high")
    answer = boss.hx("POST", "e/deal/kanban/move", data={"id": record["id"], "to": "won", "by": "stage"})
    assert answer.status_code == 400 and "version is missing" in answer.text
    assert system.records.get("deal", record["id"])["stage"] == "lead"
