"""Record pages on the server, on both backends: the same 404 for a missing record, a bad
id, an unknown entity and a record shared away from the user; related lists, the
timeline and the reference type-ahead hold only what the user may read; validation
problems beside their fields; a stale edit that overwrites nothing."""
from __future__ import annotations

import re
from html import unescape

import pytest
from werkzeug.datastructures import MultiDict

from engine import auth
from engine.app import create_app
from engine.install import Install
from engine.packs.service import PackService
from engine.plugins import Plugins
from plugins.crm_core import plugin as crm_core_plugin
from tests.conftest import crm_document
from tests.screens.conftest import ScreenClient, statements, with_passwords

BOSS, REP = "boss@acme.example", "rep@acme.example"
NOT_FOUND = "There is no such page or record, or you may not see it."


@pytest.fixture
def acme(install):
    """Accounts everyone reads; contacts only their owner (or an admin) reads. The rep owns
    Rita; the boss owns Bob and the account Secret Ltd's only contact."""
    document = crm_document()
    for entity in document["entities"]:
        entity["sharing"] = {"default": "read" if entity["name"] == "account" else "none", "rules": []}
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(document)
    with_passwords(install, "acme", {BOSS: "admin", REP: "member"})
    users = {a.email: a for a in auth.list_users(install.session("acme").storage)}
    boss, rep = install.session("acme", users[BOSS]), install.session("acme", users[REP])
    account = boss.records.create("account", {"name": "Globex"})
    rita = rep.records.create("contact", {"full_name": "Rita Rep", "account": account["id"]})
    bob = boss.records.create("contact", {"full_name": "Bob Boss", "account": account["id"]})
    return {"app": create_app(install, {"TESTING": True}), "account": account, "rita": rita, "bob": bob,
            "boss": boss, "rep": rep}


def test_a_missing_a_malformed_an_unknown_and_a_shared_away_record_get_the_same_404(acme):
    rep = ScreenClient(acme["app"], "acme", REP)
    for path in ("e/contact/abc", "e/contact/999999", "e/nope/1", f"e/contact/{acme['bob']['id']}",
                 f"e/contact/{acme['bob']['id']}/edit", f"e/contact/{acme['bob']['id']}/timeline",
                 "e/contact/-1", "e/contact/99999999999999999999999"):
        page = rep.get(path)
        assert page.status_code == 404, path
        assert NOT_FOUND in page.text and "Bob" not in page.text
    assert rep.get(f"e/contact/{acme['rita']['id']}").status_code == 200
    boss = ScreenClient(acme["app"], "acme", BOSS)
    assert "Bob Boss" in boss.get(f"e/contact/{acme['bob']['id']}").text


def test_related_lists_the_timeline_and_the_type_ahead_leave_out_what_the_member_cannot_read(acme):
    rep = ScreenClient(acme["app"], "acme", REP)
    page = rep.get(f"e/account/{acme['account']['id']}").text
    assert "Rita Rep" in page and "Bob Boss" not in page
    timeline = rep.get(f"e/account/{acme['account']['id']}/timeline?kind=change").text
    assert "Rita Rep" in timeline and "Bob Boss" not in timeline
    assert "Bob Boss" not in rep.get("e/contact/lookup?q=B").text
    assert "Rita Rep" in rep.get("e/contact/lookup?q=Rita").text
    boss = ScreenClient(acme["app"], "acme", BOSS)
    page = boss.get(f"e/account/{acme['account']['id']}").text
    assert "Rita Rep" in page and "Bob Boss" in page


def test_related_lists_page_with_a_cursor_and_new_prefills_the_reference(acme):
    for number in range(6):
        acme["rep"].records.create("contact", {"full_name": f"Extra {number}", "account": acme["account"]["id"]})
    rep = ScreenClient(acme["app"], "acme", REP)
    page = rep.get(f"e/account/{acme['account']['id']}").text
    more = re.search(r'hx-get="([^"]*/related/contact/account\?cursor=[^"]+)"', page)
    assert more, "a More button for the contacts"
    rest = rep.hx("GET", more.group(1).replace("&amp;", "&").removeprefix("/t/acme"))
    assert rest.status_code == 200 and "Rita Rep" in rest.text
    assert rep.get(f"e/account/{acme['account']['id']}/related/contact/full_name").status_code == 404
    assert rep.get(f"e/account/{acme['account']['id']}/related/contact/account?cursor=zzz").status_code == 400
    form = rep.get(f"e/contact/new?account={acme['account']['id']}").text
    assert re.search(rf'<option value="{acme["account"]["id"]}" selected>Globex</option>', form)


def test_the_record_page_reads_each_related_list_once_for_the_lists_and_the_timeline(acme):
    boss = ScreenClient(acme["app"], "acme", BOSS)
    contacts = acme["boss"].metadata().tables["contact"].name
    with statements() as seen:
        page = boss.get(f"e/account/{acme['account']['id']}").text
    assert "Rita Rep" in page and "Bob Boss" in page
    reading = [s for s in seen if re.search(rf'FROM "?(\w+"?\.)?"?{contacts}"?\b', s)]
    assert len(reading) == 1, reading


@pytest.fixture
def crm_install(settings):
    """An install with the crm_core pack's plugin (its activities link records by
    related_entity and related_id)."""
    install = Install(settings, Plugins(load_entry_points=False, extra_plugins=[crm_core_plugin]))
    yield install
    install.dispose()


def test_an_activity_logged_on_a_record_by_related_entity_and_id_is_on_its_timeline(crm_install):
    install = crm_install
    install.registry.create("shop", "Shop")
    PackService(install).install("shop", "crm_core")
    with_passwords(install, "shop", {BOSS: "admin"})
    system = install.session("shop")
    party = system.records.create("party", {"kind": "organisation", "name": "Globex"})
    deal = system.records.create("opportunity", {"name": "Big deal", "party": party["id"]})
    system.records.create("activity", {"type": "call", "subject": "Called about the deal",
                                       "related_entity": "opportunity", "related_id": deal["id"]})
    system.records.create("activity", {"type": "call", "subject": "About a quote",
                                       "related_entity": "quote", "related_id": deal["id"]})
    boss = ScreenClient(create_app(install, {"TESTING": True}), "shop", BOSS)
    timeline = boss.get(f"e/opportunity/{deal['id']}/timeline?kind=activity").text
    assert "Called about the deal" in timeline and "About a quote" not in timeline
    page = boss.get(f"e/opportunity/{deal['id']}").text
    assert "Called about the deal" in page and "About a quote" not in page


def test_validation_problems_are_shown_beside_their_fields_and_nothing_is_saved(acme):
    rep = ScreenClient(acme["app"], "acme", REP)
    page = rep.post("e/contact/new", {"full_name": "", "email": "not-an-address", "lifetime_value": "abc"})
    assert page.status_code == 422
    assert re.search(r'id="f-full_name"[^>]*aria-invalid="true"[^>]*aria-describedby="f-full_name-error"', page.text)
    assert 'id="f-full_name-error">Required.' in page.text
    assert 'id="f-email-error">Enter an e-mail address such as name@example.com.' in page.text
    assert 'value="not-an-address"' in page.text
    assert rep.get("e/contact/lookup?q=not-an").status_code == 200
    assert [c["full_name"] for c in acme["rep"].records.list("contact")["items"]] == ["Rita Rep"]


def test_an_edit_sends_only_what_changed_and_a_stale_one_overwrites_nothing(acme):
    rita = acme["rita"]
    rep = ScreenClient(acme["app"], "acme", REP)
    form = {"version": str(rita["version"]), "full_name": "Rita Rep", "email": "rita@acme.example",
            "tier": "regular", "account": str(acme["account"]["id"])}
    saved = rep.post(f"e/contact/{rita['id']}/edit", form)
    assert saved.status_code == 302
    history = acme["boss"].records.history("contact", rita["id"])
    assert history[-1]["changes"] == {"email": [None, "rita@acme.example"]}
    assert acme["rep"].records.history("contact", rita["id"])[-1]["changes"] == {
        "email": [None, "r***@acme.example"]}  # a member reads personal data masked (issue 12)
    again = rep.post(f"e/contact/{rita['id']}/edit", {**form, "version": str(history[-1]["version"])})
    assert again.status_code == 302 and len(acme["boss"].records.history("contact", rita["id"])) == len(history)
    acme["boss"].records.update("contact", rita["id"], {"phone": "+86 21 5555 0000"})
    stale = rep.post(f"e/contact/{rita['id']}/edit", {**form, "full_name": "Rita R."})
    assert stale.status_code == 409
    assert "Someone else saved this record" in stale.text and "215***0000" in stale.text
    assert "+86 21 5555 0000" not in stale.text
    current = acme["boss"].records.get("contact", rita["id"])
    assert current["full_name"] == "Rita Rep" and current["phone"] == "+86 21 5555 0000"
    assert f'name="version" value="{current["version"]}"' in stale.text
    assert rep.post(f"e/contact/{rita['id']}/edit", {**form, "version": "x"}).status_code == 400


def browser_form(html: str) -> MultiDict:
    """The edit form's fields as a browser sends them: text inputs' values (their line breaks
    dropped), a text area's text without the one line break after its tag, its line breaks
    as CR LF."""
    sent = MultiDict()
    for tag in re.findall(r"<input[^>]*>", html):
        name, value = re.search(r'name="([^"]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and (' type="checkbox"' not in tag or " checked" in tag):
            sent.add(name.group(1), unescape(value.group(1) if value else "on").replace("\r", "").replace("\n", ""))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        sent.add(name, unescape(chosen.group(1)) if chosen else "")
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        text = unescape(text)
        text = text[1:] if text.startswith("\n") else text
        sent[name] = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")
    return sent


def test_an_edit_leaves_text_the_user_did_not_touch_as_it_was(acme):
    """Outer spaces, a first line left blank, a lone CR: what the engine stored stays, and
    the history holds only the field the user changed."""
    document = crm_document()
    for entity in document["entities"]:
        entity["sharing"] = {"default": "read" if entity["name"] == "account" else "none", "rules": []}
    next(e for e in document["entities"] if e["name"] == "contact")["fields"].append({"name": "notes", "type": "text"})
    acme["boss"].apply_metadata(document)
    made = acme["boss"].records.create("contact", {"full_name": " Padded Name ", "notes": "\nfirst line blank\r"})
    boss = ScreenClient(acme["app"], "acme", BOSS)
    form = browser_form(boss.get(f"e/contact/{made['id']}/edit").text)
    assert form["notes"] == "\r\nfirst line blank\r\n" and form["full_name"] == " Padded Name "
    form["email"] = "p@acme.example"
    form["csrf_token"] = boss.token
    saved = boss.client.post(boss.path(f"e/contact/{made['id']}/edit"), data=form)  # every _shown input kept
    assert saved.status_code == 302, saved.text
    assert acme["boss"].records.history("contact", made["id"])[-1]["changes"] == {"email": [None, "p@acme.example"]}
    assert acme["boss"].records.get("contact", made["id"])["notes"] == "\nfirst line blank\r"


def test_a_form_whose_text_spells_no_characters_is_refused_and_nothing_is_saved(acme):
    boss = ScreenClient(acme["app"], "acme", BOSS)
    before = acme["boss"].records.list("contact", [])["items"]
    sent = boss.client.post(boss.path("e/contact/new"), data=f"csrf_token={boss.token}&full_name=Li%ED%A0%80Lei",
                            content_type="application/x-www-form-urlencoded")
    assert sent.status_code == 400 and "not UTF-8" in sent.text
    assert acme["boss"].records.list("contact", [])["items"] == before


def test_a_bad_timeline_kind_is_a_clear_400(acme):
    rep = ScreenClient(acme["app"], "acme", REP)
    page = rep.get(f"e/account/{acme['account']['id']}/timeline?kind=nonsense")
    assert page.status_code == 400 and "There is no such kind of timeline entry." in page.text


def test_engine_problems_read_in_chinese_for_a_chinese_user(acme, install):
    rep_id = acme["rep"].actor.id
    auth.set_locale(install.session("acme").storage, rep_id, "zh-CN")
    rep = ScreenClient(acme["app"], "acme", REP)
    page = rep.post("e/contact/new", {"full_name": "", "account": "999999"})
    assert page.status_code == 422
    assert 'id="f-full_name-error">必填。' in page.text
    assert 'id="f-account-error">请从列表中选择一条记录。' in page.text


def test_the_timeline_pages_through_every_entry_once_newest_first(acme):
    rita = acme["rita"]
    for number in range(20):
        acme["rep"].records.update("contact", rita["id"], {"phone": f"+86 21 5555 {number:04d}"})
    acme["boss"].records.update("contact", acme["bob"]["id"], {"phone": "+86 21 5555 9999"})
    rep = ScreenClient(acme["app"], "acme", REP)
    page = rep.get(f"e/account/{acme['account']['id']}").text
    phones = re.findall(r"Phone: (?:—|215\*\*\*\d{4}) → (215\*\*\*\d{4})", page)  # masked for a member
    seen = len(re.findall(r'class="entry ', page))
    assert seen == 15 and phones[0] == "215***0019"
    while (more := re.search(r'hx-get="/t/acme/([^"]*/timeline\?[^"]*cursor=[^"]+)"', page)):
        page = rep.hx("GET", more.group(1).replace("&amp;", "&")).text
        seen += len(re.findall(r'class="entry ', page))
        phones += re.findall(r"Phone: (?:—|215\*\*\*\d{4}) → (215\*\*\*\d{4})", page)
    assert seen == 22  # the account's creation, Rita's and her 20 changes; nothing of Bob
    assert phones == [f"215***{n:04d}" for n in reversed(range(20))]
    assert rep.get(f"e/account/{acme['account']['id']}/timeline?cursor=bad").status_code == 400


def test_a_record_shared_to_read_offers_no_edit_and_its_edit_page_refuses_before_any_typing(acme):
    rep, boss = ScreenClient(acme["app"], "acme", REP), ScreenClient(acme["app"], "acme", BOSS)
    account = acme["account"]["id"]
    page = rep.get(f"e/account/{account}")
    assert page.status_code == 200 and "You may read this record, not change it." in page.text
    assert f"/e/account/{account}/edit" not in page.text
    refused = rep.get(f"e/account/{account}/edit")
    assert refused.status_code == 403 and 'name="name"' not in refused.text
    assert f"/e/account/{account}/edit" in boss.get(f"e/account/{account}").text
    assert boss.get(f"e/account/{account}/edit").status_code == 200
    mine = acme["rita"]["id"]
    assert f"/e/contact/{mine}/edit" in rep.get(f"e/contact/{mine}").text


def test_a_merge_s_losers_the_member_may_not_read_are_left_out_of_the_timeline_and_said_so(acme):
    """Bob (the boss's) merged into Rita (the rep's): the rep's timeline of Rita tells of
    one merged record she may not read, and shows nothing of Bob; the boss sees no note."""
    acme["boss"].records.merge("contact", acme["rita"]["id"], [acme["bob"]["id"]], {"full_name": acme["rita"]["id"]})
    rep = ScreenClient(acme["app"], "acme", REP)
    timeline = rep.get(f"e/contact/{acme['rita']['id']}/timeline").text
    assert "1 merged record you may not read is left out of this timeline." in timeline
    assert "Bob Boss" not in timeline
    boss = ScreenClient(acme["app"], "acme", BOSS).get(f"e/contact/{acme['rita']['id']}/timeline").text
    assert "may not read" not in boss and "Bob Boss" in boss
