"""The designer's people, packs and audit pages in Chromium, on a tenant of its own whose
pack has a newer version that relabelled what the tenant relabelled: the upgrade's
conflict is shown with both values (in Chinese, then applied in English with the pack's
value taken); an admin invites a user, creates a token shown once and revokes it, and
reads the audit log in Chinese — axe on every state."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine.app import create_app
from engine.packs.service import PackService
from tests.conftest import make_settings
from tests.engine.test_packs import base_pack, conflicting_pack, install_with, shop_pack
from tests.screens.conftest import ADMIN, LiveServer, Site, assert_accessible, screenshot, sign_in, with_passwords


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Tenant `shop` with shop_pack 1.0.0, its member number relabelled by the tenant and
    a member, served by an install that offers shop_pack 1.1.0 (which relabelled it too)."""
    settings = make_settings("sqlite", tmp_path_factory.mktemp("people"))
    first = install_with(settings, base_pack(), shop_pack())
    first.registry.create("shop", "Shop")
    PackService(first).install("shop", "shop_pack")
    with_passwords(first, "shop", {ADMIN: "admin", "clerk@shop.example": "member"})
    session = first.session("shop")
    document = session.metadata().package.to_dict()
    membership = next(e for e in document["entities"] if e["name"] == "membership")
    next(f for f in membership["fields"] if f["name"] == "number")["label"] = {"en": "Card number"}
    session.apply_metadata(document)
    session.records.create("party", {"name": "Ann"})
    first.dispose()
    install = install_with(settings, base_pack(), conflicting_pack())
    server = LiveServer(create_app(install, {"TESTING": False}))
    yield Site(install, server.url, tenant="shop")
    server.stop()
    install.dispose()


def test_a_pack_upgrade_with_a_conflict_shows_both_values(page, site):
    sign_in(page, site)
    page.get_by_role("button", name="中文").click()
    page.goto(site.screen("designer/"))
    page.get_by_role("link", name="人员、扩展包和审计").click()
    page.get_by_role("navigation", name="管理").get_by_role("link", name="扩展包").click()
    expect(page.get_by_text("可升级到 1.1.0")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="预览升级：shop_pack 到 1.1.0").click()
    conflicts = page.get_by_role("region", name="与你的更改冲突")
    expect(conflicts.get_by_role("group", name="/entities/membership/fields/number/label/en")).to_be_visible()
    expect(conflicts.get_by_label('保留我的："Card number"')).to_be_checked()
    expect(conflicts.get_by_label('采用对方的："Member no."')).not_to_be_checked()
    expect(conflicts.get_by_text('"Number"')).to_be_visible()                 # the pack's value before
    assert_accessible(page)
    screenshot(page, "designer-pack-conflict-zh")

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    conflicts = page.get_by_role("region", name="Conflicts with your changes")
    expect(conflicts.get_by_text("Yours")).to_be_visible()
    conflicts.get_by_label('Take theirs: "Member no."').check()
    assert_accessible(page)
    screenshot(page, "designer-pack-conflict")
    page.get_by_role("button", name="Upgrade shop_pack to 1.1.0").click()
    expect(page.get_by_role("status")).to_contain_text("Upgraded shop_pack to 1.1.0")
    assert PackService(site.install).installed("shop")[1].version == "1.1.0"
    label = site.install.session("shop").metadata().package.entity("membership").field("number").label
    assert label["en"] == "Member no."
    assert_accessible(page)


def test_an_admin_invites_a_user_makes_a_token_revokes_it_and_reads_the_audit_log(page, site):
    sign_in(page, site)
    page.get_by_role("button", name="English").click()
    page.goto(site.screen("designer/people"))
    invite = page.get_by_role("region", name="Invite a user")
    invite.get_by_label("E-mail").fill("new.clerk@shop.example")
    invite.get_by_label("Name", exact=True).fill("New Clerk")
    invite.get_by_label("Role").select_option("member")
    invite.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Give new.clerk@shop.example this link")
    users = page.get_by_role("region", name="Users")
    expect(users.get_by_role("row", name="New Clerk")).to_contain_text("Invited")
    assert_accessible(page)

    tokens = page.get_by_role("region", name="API tokens")
    tokens.get_by_label("Token user").select_option("clerk@shop.example")
    tokens.get_by_label("Token name").fill("Till export")
    tokens.get_by_role("button", name="Create the token").click()
    secret = page.get_by_label("Token for clerk@shop.example")
    assert secret.input_value().startswith("loom_")
    assert_accessible(page)
    screenshot(page, "designer-people")
    page.get_by_role("button", name="Revoke: Till export").click()
    expect(page.get_by_role("status")).to_contain_text("Revoked the token Till export")
    expect(page.get_by_role("row", name="Till export")).to_contain_text("Revoked")

    page.get_by_role("button", name="中文").click()
    page.get_by_role("navigation", name="管理").get_by_role("link", name="审计日志").click()
    expect(page.get_by_role("heading", name="审计日志", level=1)).to_be_visible()
    page.get_by_label("按用户").select_option(label=ADMIN)
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_text("没有符合条件的记录变更。")).to_be_visible()
    page.get_by_label("按用户").select_option("")
    page.get_by_role("button", name="筛选").click()
    expect(page.get_by_role("link", name="Party #1").or_(page.get_by_role("link", name="客户 #1"))).to_be_visible()
    assert_accessible(page)
    screenshot(page, "designer-audit-zh")
