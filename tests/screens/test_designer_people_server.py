"""The designer's people, packs and audit pages on the server, on SQLite and PostgreSQL
(ScreenClient): an invitation mailed through a real SMTP server whose link sets the
password; role and manager changes, deactivation (the user can no longer sign in) and the
last-admin refusal shown beside its form; a token shown once and revoked; a pack upgrade
whose conflict is shown with both values and resolved on confirm; installing and removing
previewed first, changing nothing; the audit log filtered and paged; members get 403."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from engine import auth, passwords, people
from engine.app import create_app
from engine.install import Install
from engine.packs.layers import load_layers
from engine.packs.service import PackService
from tests.conftest import crm_document
from tests.engine.test_packs import base_pack, conflicting_pack, install_with, shop_pack
from tests.mail import running_smtp
from tests.screens.conftest import ScreenClient, with_passwords

PEOPLE = {"ann@acme.example": "admin", "mo@acme.example": "member"}
ANN, MO = "ann@acme.example", "mo@acme.example"


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def acme(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(crm_document())
    with_passwords(install, "acme", PEOPLE)
    return create_app(install, {"TESTING": True})


def user_id(install, email):
    return next(a.id for a in auth.list_users(install.session("acme").storage) if a.email == email)


def test_a_member_gets_the_403_page_on_every_people_packs_and_audit_page(acme):
    mo = ScreenClient(acme, "acme", MO)
    for path in ("designer/people", "designer/packs", "designer/audit", "designer/packs/crm_core/install"):
        answer = mo.get(path)
        assert answer.status_code == 403 and "Only a tenant admin may open this page." in answer.text
    for path in ("designer/people/invite", "designer/tokens", "designer/packs/crm_core/install"):
        assert mo.post(path, data={"email": "x@acme.example"}).status_code == 403
    assert len(auth.list_users(acme.extensions["loom"].session("acme").storage)) == 2


def test_an_invitation_is_mailed_and_its_link_sets_the_password(settings):
    with running_smtp() as smtp:
        install = Install(replace(settings, extra={"LOOM_SMTP_HOST": "127.0.0.1", "LOOM_SMTP_PORT": str(smtp.port),
                                                   "LOOM_SMTP_FROM": "crm@acme.example",
                                                   "LOOM_BASE_URL": "https://crm.acme.example/"}))
        try:
            install.registry.create("acme", "Acme")
            install.session("acme").apply_metadata(crm_document())
            with_passwords(install, "acme", PEOPLE)
            app = create_app(install, {"TESTING": True})
            ann = ScreenClient(app, "acme", ANN)
            page = text(ann.get("/designer/people").text)
            assert all(f"{role}" in page for role in people.roles())
            sent = ann.post("/designer/people/invite", data={"email": "Zoe@Acme.example", "display_name": "Zoe",
                                                             "role": "member", "manager": ANN})
            assert sent.status_code == 302
            [message] = smtp.messages
            assert message["To"] == "zoe@acme.example" and "Acme" in message["Subject"]
            link = re.search(r"https://crm\.acme\.example(/t/acme/password-reset/\S+)", message.get_content()).group(1)
            listed = text(ann.get("/designer/people").text)
            assert "Sent the link to zoe@acme.example." in listed and "Invited" in listed
            client = app.test_client()
            form = client.get(link)
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            done = client.post(link, data={"password": "zoe-chose-this", "password_again": "zoe-chose-this",
                                           "csrf_token": token})
            assert done.status_code == 302
            assert passwords.sign_in(install.session("acme").storage, "zoe@acme.example", "zoe-chose-this").actor
            refused = ann.post("/designer/people/invite", data={"email": "zoe@acme.example", "role": "member"})
            assert refused.status_code == 409 and "A user with this e-mail already exists." in refused.text and 'aria-invalid="true"' in refused.text
            assert len(smtp.messages) == 1
        finally:
            install.dispose()


def test_a_name_too_long_is_refused_saying_so(acme):
    ann = ScreenClient(acme, "acme", ANN)
    refused = ann.post("/designer/people/invite", data={"email": "long@acme.example", "role": "member",
                                                         "display_name": "n" * 201})
    assert refused.status_code == 400 and "At most 200 characters." in refused.text
    assert "Enter text." not in refused.text


def test_without_mail_the_admin_is_given_the_link(acme):
    ann = ScreenClient(acme, "acme", ANN)
    ann.post("/designer/people/invite", data={"email": "zoe@acme.example", "role": "member"})
    page = text(ann.get("/designer/people").text)
    assert "E-mail could not be sent. Give zoe@acme.example this link, which works once:" in page
    secret = re.search(r"/t/acme/password-reset/(\S+)", page).group(1)
    assert passwords.reset_user(acme.extensions["loom"].session("acme").storage, secret) == "zoe@acme.example"


def test_role_manager_and_deactivation_from_the_people_page(acme, install):
    ann = ScreenClient(acme, "acme", ANN)
    mo = user_id(install, MO)
    assert ann.post(f"/designer/people/{mo}", data={"role": "admin", "manager": ANN}).status_code == 302
    found = people.person(install.session("acme").storage, mo)
    assert (found.role, found.manager) == ("admin", ANN)
    assert ann.post(f"/designer/people/{mo}", data={"role": "member", "manager": ""}).status_code == 302
    assert ann.post(f"/designer/people/{mo}", data={"active": "no"}).status_code == 302
    assert "mo@acme.example is deactivated" in text(ann.get("/designer/people").text)
    signed = acme.test_client()
    page = signed.get("/t/acme/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = signed.post("/t/acme/login", data={"email": MO, "password": "correct-horse-1", "csrf_token": token})
    assert refused.status_code == 401
    assert ann.post(f"/designer/people/{mo}", data={"active": "yes"}).status_code == 302
    ScreenClient(acme, "acme", MO)  # signs in again


def test_the_last_admin_is_kept_and_the_refusal_shown_beside_its_form(acme, install):
    ann = ScreenClient(acme, "acme", ANN)
    me = user_id(install, ANN)
    refused = ann.post(f"/designer/people/{me}", data={"role": "member"})
    assert refused.status_code == 409
    row = refused.text[refused.text.index(f'id="refusal-user-{me}"') - 2000:]
    assert "This is the last active admin: make another user an admin first." in text(refused.text)
    assert 'aria-invalid="true"' in row
    assert people.person(install.session("acme").storage, me).role == "admin"
    ann.post("/language", data={"language": "zh-CN"})
    chinese = ann.post(f"/designer/people/{me}", data={"active": "no"})
    assert chinese.status_code == 409 and "你不能停用自己；可以由另一位管理员停用。" in chinese.text
    assert ann.post(f"/designer/people/{me}", data={"role": "boss"}).status_code == 400
    assert ann.post(f"/designer/people/{me}", data={"active": "no"}).status_code == 409
    assert ann.post("/designer/people/999999", data={"role": "member"}).status_code == 404


def test_a_token_is_shown_once_listed_with_its_name_and_revoked(acme, install):
    ann = ScreenClient(acme, "acme", ANN)
    made = ann.post("/designer/tokens", data={"user": MO, "label": "Nightly export"})
    assert made.status_code == 200
    secret = re.search(r'value="(loom_[^"]+)"', made.text).group(1)
    page = ann.get("/designer/people").text
    assert "Nightly export" in page and secret not in page and "never" in text(page)
    api = acme.test_client()
    assert api.get("/api/v1/t/acme/records/contact", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert "never" not in text(ann.get("/designer/people").text).split("Nightly export")[1][:200]
    token_id = people.tokens(install.session("acme").storage)[0]["id"]
    assert ann.post(f"/designer/tokens/{token_id}/revoke").status_code == 302
    assert api.get("/api/v1/t/acme/records/contact", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    again = ann.post(f"/designer/tokens/{token_id}/revoke")
    assert again.status_code == 409 and "The token is already revoked." in again.text
    unnamed = ann.post("/designer/tokens", data={"user": MO, "label": " "})
    assert unnamed.status_code == 400 and 'id="token-refusal"' in unnamed.text and "Name the token" in unnamed.text
    assert len(people.tokens(install.session("acme").storage)) == 1


# -- packs ---------------------------------------------------------------------------
@pytest.fixture
def shop(settings):
    """`shop` with shop_pack 1.0.0 whose member number the tenant relabelled, served by an
    install whose shop_pack 1.1.0 relabelled it too: an upgrade with a conflict."""
    first = install_with(settings, base_pack(), shop_pack())
    first.registry.create("shop")
    PackService(first).install("shop", "shop_pack")
    with_passwords(first, "shop", {ANN: "admin"})
    session = first.session("shop")
    document = session.metadata().package.to_dict()
    membership = next(e for e in document["entities"] if e["name"] == "membership")
    next(f for f in membership["fields"] if f["name"] == "number")["label"] = {"en": "Card number"}
    session.apply_metadata(document)
    first.dispose()
    upgraded = install_with(settings, base_pack(), conflicting_pack())
    yield upgraded
    upgraded.dispose()


def test_a_pack_upgrade_conflict_shows_both_values_and_applies_the_choice(shop):
    ann = ScreenClient(create_app(shop, {"TESTING": True}), "shop", ANN)
    listed = text(ann.get("/designer/packs").text)
    assert "shop_pack" in listed and "1.1.0 available" in listed
    version = shop.session("shop").metadata().version
    preview = ann.get("/designer/packs/shop_pack/upgrade")
    assert preview.status_code == 200
    words = text(preview.text)
    assert "/entities/membership/fields/number/label/en" in words
    assert 'Keep mine: "Card number"' in words and 'Take theirs: "Member no."' in words
    assert '"Number"' in words                                          # the pack's value before
    assert "Add the field membership.joined" in words
    assert "Relabel membership.number" not in words                    # the plan keeps mine, as checked
    change_id = next(c["id"] for c in load_layers(shop.session("shop")).overlay if c["op"] == "set")
    theirs = text(ann.get(f"/designer/packs/shop_pack/upgrade?resolve:{change_id}=theirs").text)
    assert "Relabel membership.number" in theirs and 'Take theirs: "Member no."' in theirs
    assert shop.session("shop").metadata().version == version          # a preview changes nothing
    bad = ann.post("/designer/packs/shop_pack/upgrade", data={f"resolve:{change_id}": "both"})
    assert bad.status_code == 400 and shop.session("shop").metadata().version == version
    done = ann.post("/designer/packs/shop_pack/upgrade", data={f"resolve:{change_id}": "theirs"})
    assert done.status_code == 302
    package = shop.session("shop").metadata().package
    assert package.entity("membership").field("number").label["en"] == "Member no."
    assert PackService(shop).installed("shop")[1].version == "1.1.0"
    assert "Upgraded shop_pack to 1.1.0" in text(ann.get("/designer/packs").text)


def test_a_conflict_left_without_a_choice_is_asked_again_and_changes_nothing(shop):
    ann = ScreenClient(create_app(shop, {"TESTING": True}), "shop", ANN)
    version = shop.session("shop").metadata().version
    again = ann.post("/designer/packs/shop_pack/upgrade", data={})
    assert again.status_code == 409 and "Choose, for each conflict, which value to keep." in again.text
    assert shop.session("shop").metadata().version == version
    assert PackService(shop).installed("shop")[1].version == "1.0.0"


def test_installing_and_removing_are_previewed_first_and_need_the_word_to_drop(settings):
    install = install_with(settings, base_pack(), shop_pack())
    try:
        install.registry.create("shop")
        PackService(install).install("shop", "base_pack")
        with_passwords(install, "shop", {ANN: "admin"})
        ann = ScreenClient(create_app(install, {"TESTING": True}), "shop", ANN)
        version = install.session("shop").metadata().version
        preview = text(ann.get("/designer/packs/shop_pack/install").text)
        assert "Add the entity membership" in preview and install.session("shop").metadata().version == version
        assert ann.post("/designer/packs/shop_pack/install").status_code == 302
        assert [p.name for p in PackService(install).installed("shop")] == ["base_pack", "shop_pack"]
        install.session("shop").records.create("membership", {"number": "M1"})
        purge = text(ann.get("/designer/packs/shop_pack/remove?purge=1").text)
        assert "Drop the entity membership" in purge and "Type shop to confirm" in purge
        refused = ann.post("/designer/packs/shop_pack/remove", data={"purge": "1", "confirm": "nope"})
        assert refused.status_code == 400 and len(PackService(install).installed("shop")) == 2
        kept = text(ann.get("/designer/packs/shop_pack/remove").text)
        assert "its entities, fields and data stay" in kept and "Type shop to confirm" not in kept
        assert ann.post("/designer/packs/shop_pack/remove").status_code == 302
        assert [p.name for p in PackService(install).installed("shop")] == ["base_pack"]
        assert install.session("shop").records.list("membership")["items"][0]["number"] == "M1"
        assert ann.get("/designer/packs/nothing_here/install").status_code == 404
        assert ann.get("/designer/packs/shop_pack/explode").status_code == 404
    finally:
        install.dispose()


# -- the audit log -------------------------------------------------------------------
def test_the_audit_log_page_filters_and_pages(acme, install):
    storage = install.session("acme").storage
    mo_session = install.session("acme", next(a for a in auth.list_users(storage) if a.email == MO))
    made = [mo_session.records.create("contact", {"full_name": f"Contact {n}"}) for n in range(55)]
    ann = ScreenClient(acme, "acme", ANN)
    first = ann.get("/designer/audit")
    assert first.status_code == 200 and first.text.count("<tr>") == 51   # the header and 50 rows
    older = re.search(r'href="([^"]+before=\d+[^"]*)"[^>]*>Older entries', first.text).group(1).replace("&amp;", "&")
    second = ann.client.get(older)
    assert second.text.count("<tr>") == 6 and "Older entries" not in second.text and "Newest entries" in second.text
    one = ann.get(f"/designer/audit?entity=contact&record={made[3]['id']}&user={user_id(install, MO)}")
    assert one.text.count("<tr>") == 2 and "Contact 3" in one.text
    assert ann.get(f"/designer/audit?user={user_id(install, ANN)}").text.count("<tr>") == 0
    bad = ann.get("/designer/audit?record=seven&since=yesterday")
    assert bad.status_code == 400 and 'id="record-problem"' in bad.text and 'id="since-problem"' in bad.text
