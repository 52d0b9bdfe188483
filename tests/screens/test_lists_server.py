"""The list screen on the server, on SQLite and PostgreSQL: keyset pages that never repeat
or skip a row, a count that stops at "1,000+", sharing on every path (rows, count, CSV,
type-ahead), CSV of the visible columns only, saved views with their owners' rules, bulk
actions with a result per row, and a clear 4xx page for every bad input."""
from __future__ import annotations

import copy
import csv
import io
import re

import pytest

from engine import auth
from engine.app import create_app
from tests.conftest import crm_document
from tests.screens.conftest import ScreenClient, with_passwords

BOSS, REP, OTHER = "boss@acme.example", "rep@acme.example", "other@acme.example"
ROW_IDS = re.compile(r'name="ids" value="(\d+)"')
NEXT = re.compile(r'<a class="button" href="[^"]*" hx-get="([^"]+)"[^>]*>Next page')


def document() -> dict:
    """crm_minimal with sharing: contacts are private to their owner, accounts readable by
    all and changed by their owner; contacts keep a hidden field."""
    doc = copy.deepcopy(crm_document())
    account, contact = doc["entities"]
    account["sharing"] = {"default": "read", "managers": False, "rules": []}
    contact["sharing"] = {"default": "none", "managers": False, "rules": []}
    contact["fields"].append({"name": "secret_code", "type": "string", "hidden": True})
    account["fields"].append({"name": "primary_contact", "type": "reference", "to": "contact"})
    doc["layouts"] = [{"name": "contact_list", "entity": "contact", "kind": "list",
                       "columns": ["full_name", "tier", "lifetime_value"], "sort": "tier", "page_size": 20}]
    return doc


@pytest.fixture
def acme(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(document())
    with_passwords(install, "acme", {BOSS: "admin", REP: "member", OTHER: "member"})
    return install


@pytest.fixture
def app(acme):
    return create_app(acme, {"TESTING": True})


def session_of(install, email):
    storage = install.session("acme").storage
    actor = next(a for a in auth.list_users(storage) if a.email == email)
    return install.session("acme", actor)


def contacts(install, email, count, start=0):
    tiers = ["regular", "silver", "gold", None]
    items = [{"full_name": f"Person {start + i:04d}", "tier": tiers[i % 4], "secret_code": "s3cret"}
             for i in range(count)]
    return session_of(install, email).records.create_many("contact", items)


def test_pages_follow_the_cursor_and_never_repeat_or_skip_a_row(acme, app):
    made = contacts(acme, BOSS, 47)
    boss = ScreenClient(app, "acme", BOSS)
    seen, url = [], "e/contact?sort=tier"
    while url:
        page = boss.hx("GET", url, headers={"HX-Target": "list-rows"})
        assert page.status_code == 200 and "<table" in page.text and "<html" not in page.text
        seen += [int(i) for i in ROW_IDS.findall(page.text)]
        found = NEXT.search(page.text)
        url = found.group(1).replace("&amp;", "&").split("/t/acme/", 1)[1] if found else None
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen)) == 47
    first = boss.get("e/contact?sort=tier")
    assert first.status_code == 200 and 'aria-sort="ascending"' in first.text


def test_the_count_is_exact_up_to_a_thousand_then_says_a_thousand_plus(acme, app):
    contacts(acme, BOSS, 1005)
    boss = ScreenClient(app, "acme", BOSS)
    assert "1,000+ records" in boss.get("e/contact/count").text
    assert "251 records" in boss.get("e/contact/count?tier__in=gold").text
    assert session_of(acme, BOSS).records.count("contact", [("tier", "gold")], cap=1001) == 251
    assert session_of(acme, BOSS).records.count("contact", [], cap=1001) == 1001


def test_a_member_sees_only_their_own_private_records_everywhere(acme, app):
    contacts(acme, BOSS, 5)
    mine = contacts(acme, REP, 3, start=100)
    rep = ScreenClient(app, "acme", REP)
    page = rep.get("e/contact")
    assert sorted(int(i) for i in ROW_IDS.findall(page.text)) == sorted(mine)
    assert "3 records" in rep.get("e/contact/count").text
    rows = list(csv.reader(io.StringIO(rep.get("e/contact/export.csv").text)))
    assert sorted(int(r[0]) for r in rows[1:]) == sorted(mine)
    boss = ScreenClient(app, "acme", BOSS)
    assert "8 records" in boss.get("e/contact/count").text


def test_csv_has_only_the_visible_columns_and_never_a_hidden_field(acme, app):
    contacts(acme, BOSS, 3)
    boss = ScreenClient(app, "acme", BOSS)
    answer = boss.get("e/contact/export.csv?columns=full_name&columns=tier&tier__in=regular")
    assert answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["id", "full_name", "tier"] and len(rows) == 2
    assert "s3cret" not in boss.get("e/contact/export.csv").text
    assert boss.get("e/contact/export.csv?columns=secret_code").status_code == 400


@pytest.mark.parametrize("path, status", [
    ("e/nothing", 404), ("e/contact?columns=nope", 400), ("e/contact?sort=-nope", 400),
    ("e/contact?tier__in=platinum", 400), ("e/contact?cursor=garbage", 400),
    ("e/contact?lifetime_value__gte=lots", 400), ("e/contact?secret_code=x", 400),
    ("e/contact?view=999", 404), ("e/contact/count?birthday__gte=yesterday", 400),
    ("e/contact/choose/tier", 404), ("e/contact?full_name__bogus=1", 400),
])
def test_a_bad_address_is_a_clear_page_never_a_500(acme, app, path, status):
    boss = ScreenClient(app, "acme", BOSS)
    answer = boss.get(path)
    assert answer.status_code == status and "<h1>" in answer.text


def test_a_bad_filter_keeps_the_user_on_the_list_saying_what_was_wrong_in_their_language(acme, app):
    contacts(acme, BOSS, 2)
    boss = ScreenClient(app, "acme", BOSS)
    page = boss.get("e/contact?lifetime_value__gte=lots")
    assert page.status_code == 400 and 'role="alert"' in page.text
    assert "Lifetime value: Enter a number." in page.text
    assert len(ROW_IDS.findall(page.text)) == 2  # the list as it starts, not a dead end
    boss.post("language", {"language": "zh-CN"})
    assert "请输入数字。" in boss.get("e/contact?lifetime_value__gte=lots").text


def test_saved_views_are_private_shared_by_admins_and_changed_only_by_their_owners(acme, app):
    rep, other, boss = (ScreenClient(app, "acme", e) for e in (REP, OTHER, BOSS))
    saved = rep.post("e/contact/views", {"name": "Gold ones", "query": "columns=full_name&tier__in=gold&sort=-full_name"})
    assert saved.status_code == 302
    view_id = re.search(r"view=(\d+)", saved.headers["Location"]).group(1)
    opened = rep.get(f"e/contact?view={view_id}")
    assert opened.status_code == 200 and 'value="gold" checked' in opened.text and "Gold ones" in opened.text
    assert other.get(f"e/contact?view={view_id}").status_code == 404
    assert rep.post("e/contact/views", {"name": "x", "query": "", "shared": "yes"}).status_code == 403
    shared = boss.post("e/contact/views", {"name": "Everyone", "query": "columns=tier", "shared": "yes"})
    shared_id = re.search(r"view=(\d+)", shared.headers["Location"]).group(1)
    assert "Everyone" in other.get("e/contact").text
    assert other.post(f"e/contact/views/{shared_id}/delete").status_code == 403
    assert other.post(f"e/contact/views/{shared_id}/rename", {"name": "Mine"}).status_code == 403
    assert rep.post(f"e/contact/views/{view_id}/rename", {"name": "Golden"}).status_code == 302
    assert "Golden" in rep.get("e/contact").text
    assert rep.post(f"e/contact/views/{view_id}/rename", {"name": " "}).status_code == 400
    assert rep.post(f"e/contact/views/{view_id}/delete").status_code == 302
    assert rep.get(f"e/contact?view={view_id}").status_code == 404
    assert rep.post("e/contact/views", {"name": "bad", "query": "columns=nope"}).status_code == 400


@pytest.mark.parametrize("query", ["tier__in=platinum", "lifetime_value__gte=abc", "q=a%00b", "full_name=a%00b",
                                   "q=" + "x" * 5000])
def test_a_view_the_list_would_refuse_is_refused_when_saved_and_nothing_is_kept(acme, app, query):
    rep = ScreenClient(app, "acme", REP)
    assert rep.get(f"e/contact?{query}").status_code == 400  # the list refuses it…
    assert rep.post("e/contact/views", {"name": "Bad", "query": query}).status_code == 400  # …so saving does
    assert "Bad" not in rep.get("e/contact").text


@pytest.mark.parametrize("name", ["a\x00b", "\x00"])  # a form's UTF-8 carries no lone surrogate
def test_a_views_name_no_database_stores_is_refused_on_saving_and_renaming(acme, app, name):
    rep = ScreenClient(app, "acme", REP)
    assert rep.post("e/contact/views", {"name": name, "query": "columns=full_name"}).status_code == 400
    saved = rep.post("e/contact/views", {"name": "Fine", "query": "columns=full_name"})
    view_id = re.search(r"view=(\d+)", saved.headers["Location"]).group(1)
    assert rep.post(f"e/contact/views/{view_id}/rename", {"name": name}).status_code == 400
    assert "Fine" in rep.get("e/contact").text


def test_a_view_of_a_field_hidden_later_drops_it_with_a_notice(acme, app):
    rep = ScreenClient(app, "acme", REP)
    saved = rep.post("e/contact/views", {"name": "By birthday",
                                         "query": "columns=full_name&columns=birthday&birthday__gte=2000-01-01"})
    view_id = re.search(r"view=(\d+)", saved.headers["Location"]).group(1)
    doc = document()
    next(f for f in doc["entities"][1]["fields"] if f["name"] == "birthday")["hidden"] = True
    acme.session("acme").apply_metadata(doc)
    opened = rep.get(f"e/contact?view={view_id}")
    assert opened.status_code == 200 and "no longer shows birthday" in opened.text


def test_bulk_actions_answer_row_by_row_with_the_engines_reason(acme, app):
    boss_session, rep_session = session_of(acme, BOSS), session_of(acme, REP)
    theirs = boss_session.records.create("account", {"name": "Boss account"})["id"]
    mine = rep_session.records.create("account", {"name": "Rep account"})["id"]
    rep = ScreenClient(app, "acme", REP)
    edited = rep.hx("POST", "e/account/bulk", {"action": "edit", "field": "industry", "value": "retail",
                                               "ids": [str(theirs), str(mine)]})
    assert edited.status_code == 200 and edited.headers["HX-Trigger"] == "loom-list-changed"
    assert "Rep account</strong>:\n    done" in edited.text
    assert "Boss account</strong>:\n    refused" in edited.text and "not to change" in edited.text
    assert boss_session.records.get("account", mine)["industry"] == "retail"
    deleted = rep.hx("POST", "e/account/bulk", {"action": "delete", "ids": [str(mine), str(theirs), "999"]})
    assert deleted.text.count('class="refused"') == 2 and deleted.text.count('class="done"') == 1
    assert boss_session.records.count("account", []) == 1
    assert rep.hx("POST", "e/account/bulk", {"action": "edit", "field": "nope", "ids": [str(theirs)]}).status_code == 400
    assert rep.hx("POST", "e/account/bulk", {"action": "delete"}).status_code == 400


def test_an_admin_gives_selected_rows_to_another_owner_and_a_member_cannot(acme, app):
    boss_session, rep_session = session_of(acme, BOSS), session_of(acme, REP)
    ids = [str(i) for i in contacts(acme, BOSS, 2)]
    boss, rep = ScreenClient(app, "acme", BOSS), ScreenClient(app, "acme", REP)
    assert "Give to another owner" in boss.get("e/contact").text
    assert "Give to another owner" not in rep.get("e/contact").text
    given = boss.hx("POST", "e/contact/bulk", {"action": "assign", "owner": str(rep_session.actor.id),
                                               "ids": ids + ["999"]})
    assert given.text.count('class="done"') == 2 and given.text.count('class="refused"') == 1
    assert sorted(str(r["id"]) for r in rep_session.records.list("contact")["items"]) == sorted(ids)
    assert boss_session.records.history("contact", ids[0])[-1]["action"] == "assign"
    refused = rep.hx("POST", "e/contact/bulk", {"action": "assign", "owner": str(boss_session.actor.id),
                                                "ids": ids})
    assert refused.status_code == 400
    assert boss.hx("POST", "e/contact/bulk", {"action": "assign", "owner": "0", "ids": ids}).status_code == 400
    assert all(r["owner_id"] == rep_session.actor.id for r in rep_session.records.list("contact")["items"])


def test_the_type_ahead_offers_only_records_the_user_may_read(acme, app):
    session_of(acme, BOSS).records.create("contact", {"full_name": "Zeta Boss"})
    session_of(acme, REP).records.create("contact", {"full_name": "Zeta Rep"})
    rep = ScreenClient(app, "acme", REP)
    offered = rep.get("e/account/choose/primary_contact?term=zeta")
    assert offered.status_code == 200 and "Zeta Rep" in offered.text and "Zeta Boss" not in offered.text
    assert "Zeta Boss" in ScreenClient(app, "acme", BOSS).get("e/account/choose/primary_contact?term=zeta").text


def test_rows_link_to_record_pages_and_the_kanban_keeps_the_filters_when_those_screens_exist(acme):
    app = create_app(acme, {"TESTING": True})
    for rule, endpoint in (("/t/<tenant>/e/<entity>/<int:record_id>", "screens.record_page"),
                           ("/t/<tenant>/e/<entity>/new", "screens.record_new"),
                           ("/t/<tenant>/e/<entity>/kanban", "screens.entity_kanban")):
        if endpoint not in app.view_functions:  # a screen not built (yet) in this checkout
            app.add_url_rule(rule, endpoint=endpoint, view_func=lambda **kwargs: "elsewhere")
    made = contacts(acme, BOSS, 2)
    page = ScreenClient(app, "acme", BOSS).get("e/contact?tier__in=regular&sort=-full_name")
    assert f'href="/t/acme/e/contact/{made[0]}"' in page.text
    assert 'href="/t/acme/e/contact/new"' in page.text
    assert re.search(r'href="/t/acme/e/contact/kanban\?[^"]*tier__in=regular', page.text)


def test_date_ranges_filter_dates_and_instants_and_a_bad_bulk_value_is_refused_whole(acme, app):
    contacts(acme, BOSS, 3)
    boss = ScreenClient(app, "acme", BOSS)
    assert len(ROW_IDS.findall(boss.get("e/contact?created_at__gte=2000-01-01&created_at__lte=2999-12-31").text)) == 3
    assert len(ROW_IDS.findall(boss.get("e/contact?created_at__lte=2000-01-01").text)) == 0
    refused = boss.hx("POST", "e/contact/bulk", {"action": "edit", "field": "lifetime_value", "value": "lots",
                                                 "ids": ["1"]})
    assert refused.status_code == 200 and "refused" in refused.text
    refused = boss.hx("POST", "e/account/bulk", {"action": "edit", "field": "primary_contact", "value": "x",
                                                 "ids": ["1"]})
    assert refused.status_code == 400 and "is not a value for" in refused.text


def test_the_column_chooser_keeps_the_users_column_order(acme, app):
    page = ScreenClient(app, "acme", BOSS).get("e/contact?columns=tier&columns=full_name")
    chooser = re.findall(r'name="columns" value="(\w+)"', page.text)
    assert chooser[:2] == ["tier", "full_name"] and "secret_code" not in chooser
    headers = re.findall(r'<th scope="col"[^>]*>\s*<a href="[^"]*">([^<]+)<', page.text)
    assert headers == ["Tier", "Full name"]


def test_digits_that_are_not_ascii_are_refused_as_numbers_everywhere_a_form_posts_one(acme, app):
    """`"²".isdigit()` is true but `int("²")` fails: every form value read as a number
    goes through one reader, so these answer a page, not a 500."""
    made = contacts(acme, BOSS, 1)[0]
    boss = ScreenClient(app, "acme", BOSS)
    for path, data in (("notifications/read", {"id": "²"}),
                       (f"e/contact/{made}/edit", {"version": "²", "full_name": "X"}),
                       ("e/contact/bulk", {"action": "delete", "ids": ["²", "١٢"]}),
                       ("e/account/new", {"name": "A", "primary_contact": "²"})):
        answer = boss.post(path, data)
        assert answer.status_code < 500, (path, answer.text[:300])
    assert session_of(acme, BOSS).records.count("contact", []) == 1
