"""The designer's rights matrix editor in Chromium: an admin adds a role, ticks its rights in
the matrix (a table with row and column headers, a labelled checkbox in every cell), hides
a field, reads the preview of what a holder could do, in English and Chinese, at desktop
and phone width, and publishes it; a user given the role then sees exactly that — axe on
every state."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine import auth, people
from engine.app import create_app
from engine.install import Install
from engine.plugins import Plugins
from tests.conftest import crm_document, make_settings
from tests.screens.conftest import ADMIN, LiveServer, Site, assert_accessible, screenshot, sign_in, with_passwords

CLERK = "clerk@acme.example"
PUBLISHING = 30_000  # ms: a publish migrates the tenant, slow on a busy machine


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    install = Install(make_settings("sqlite", tmp_path_factory.mktemp("rights")), Plugins())
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(crm_document())
    with_passwords(install, "acme", {ADMIN: "admin", CLERK: "member"})
    install.session("acme").records.create("contact", {"full_name": "Zhang Wei", "email": "zw@example.cn"})
    server = LiveServer(create_app(install, {"TESTING": False}))
    yield Site(install, server.url, tenant="acme")
    server.stop()
    install.dispose()


def test_an_admin_drafts_a_role_in_the_matrix_previews_and_publishes_it(page, site):
    sign_in(page, site)
    page.get_by_role("button", name="English").click()
    page.goto(site.screen("designer/people"))
    page.get_by_role("navigation", name="Administration").get_by_role("link", name="Roles and rights").click()
    adding = page.get_by_role("region", name="Add a role or permission set")
    adding.get_by_label("Name (letters, digits and _)").fill("desk_clerk")
    adding.get_by_label("Label (English)").fill("Desk clerk")
    adding.get_by_label("Label (Chinese)").fill("前台")
    adding.get_by_role("button", name="Add").click()

    expect(page.get_by_role("heading", name="Rights of Desk clerk", level=1)).to_be_visible()
    matrix = page.get_by_role("table", name="Rights of desk_clerk on each entity")
    expect(matrix.get_by_role("columnheader", name="Transfer ownership")).to_be_visible()
    expect(matrix.get_by_role("rowheader", name="Contact contact")).to_be_visible()
    matrix.get_by_role("checkbox", name="Read: Contact").check()
    matrix.get_by_role("checkbox", name="Update: Contact").check()
    page.get_by_role("group", name="May unmask").get_by_label("Contact details").check()
    page.get_by_role("button", name="Save the rights").click()
    expect(page.get_by_role("checkbox", name="Read: Contact")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Read: Account")).not_to_be_checked()
    preview = page.get_by_role("region", name="What a holder could do")
    expect(preview).to_contain_text("Contact: Read, Update")
    expect(preview).to_contain_text("Cannot use: Account")
    assert_accessible(page)

    page.get_by_role("link", name="Field rights: Contact").click()
    fields = page.get_by_role("table", name="Access to each field")
    fields.get_by_role("combobox", name="Access: Email").select_option("none")
    fields.get_by_role("combobox", name="Access: Full name").select_option("read")
    assert_accessible(page)
    page.get_by_role("button", name="Save the field rights").click()
    expect(preview).to_contain_text("Hidden: Email")
    expect(preview).to_contain_text("Read only: Full name")
    screenshot(page, "designer-rights")

    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="前台 的权限", level=1)).to_be_visible()
    expect(page.get_by_role("checkbox", name="读取：联系人")).to_be_checked()
    expect(page.get_by_role("region", name="持有者可以做什么")).to_contain_text("不能使用：客户单位")
    assert_accessible(page)
    screenshot(page, "designer-rights-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    assert_accessible(page)
    screenshot(page, "designer-rights-phone-zh")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="English").click()
    page.get_by_role("navigation", name="Designer").get_by_role("link", name="Review and publish").click()
    expect(page.get_by_text("add role desk_clerk")).to_be_visible()
    page.get_by_role("button", name="Publish").click(timeout=PUBLISHING)
    expect(page.get_by_role("status")).to_contain_text("Published version", timeout=PUBLISHING)
    package = site.install.session("acme").metadata().package
    assert [r["name"] for r in package.roles] == ["desk_clerk"]

    storage = site.install.session("acme").storage
    clerk_id = next(a.id for a in auth.list_users(storage) if a.email == CLERK)
    people.change(storage, clerk_id, roles=["desk_clerk"], package=package)
    clerk = next(a for a in auth.list_users(storage) if a.email == CLERK)
    [seen] = site.install.session("acme", clerk).records.list("contact", [])["items"]
    assert "email" not in seen and seen["full_name"] == "Zhang Wei"
