"""The record form's conditions and tabs in Chromium: choosing a value reveals a field and
makes another required (the server draws the form again, keeping what was typed and the
focus), saving without it shows the error beside the field in its tab, and the tabs work by
keyboard; the demo party form shows organisation-only fields for organisations."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from engine import auth, passwords
from tests.screens.conftest import ADMIN, PASSWORD, Site, assert_accessible, screenshot, sign_in
from tests.screens.test_conditional_form_server import DESK


@pytest.fixture(scope="module")
def desk(site):
    site.install.registry.create("desk", "Desk")
    session = site.install.session("desk")
    session.apply_metadata(DESK)
    auth.create_user(session.storage, ADMIN, "admin", display_name="Ada Admin", locale="en")
    passwords.set_password(session.storage, ADMIN, PASSWORD)
    return Site(site.install, site.url, "desk")


def test_choosing_a_value_reveals_a_field_and_makes_another_required(page, desk):
    sign_in(page, desk, path="e/ticket/new")
    expect(page.get_by_role("heading", name="New Ticket")).to_be_visible()
    expect(page.get_by_label("Amount")).to_have_count(0)
    assert_accessible(page)
    page.get_by_label("Subject (required)").fill("Cracked screen")
    kind = page.get_by_label("Kind")
    kind.focus()
    kind.select_option(label="Claim")
    amount = page.get_by_role("spinbutton", name="Amount (required)")
    expect(amount).to_be_visible()
    expect(amount).to_have_attribute("aria-required", "true")
    expect(page.get_by_label("Subject (required)")).to_have_value("Cracked screen")  # what was typed stays
    expect(page.get_by_label("Kind")).to_be_focused()
    amount.fill("120")
    page.get_by_label("Stage").select_option(label="Resolved")
    # The server draws the form again for Resolved, with the tab it was sent: a tab chosen
    # before that redraw lands would be closed again by it.
    expect(page.locator("#f-resolution")).to_have_attribute("aria-required", "true")
    closing = page.get_by_role("tab", name="Closing")
    closing.click()
    expect(page.get_by_role("textbox", name="Resolution (required)")).to_be_visible()
    page.get_by_role("tab", name="Details").click()
    page.get_by_role("button", name="Save").click()
    expect(closing).to_have_attribute("aria-selected", "true")  # the tab holding the error is open
    resolution = page.get_by_role("textbox", name="Resolution (required)")
    expect(resolution).to_have_attribute("aria-invalid", "true")
    expect(resolution).to_have_accessible_description("Required.")
    assert_accessible(page)
    screenshot(page, "record-conditions")
    resolution.fill("Replaced under warranty")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Created.")
    record = desk.session(ADMIN).records.list("ticket")["items"][0]
    assert (record["kind"], record["amount"], record["resolution"]) == ("claim", "120.00", "Replaced under warranty")
    assert_accessible(page)


def test_tabs_move_by_keyboard(page, desk):
    sign_in(page, desk, path="e/ticket/new")
    details, closing = page.get_by_role("tab", name="Details"), page.get_by_role("tab", name="Closing")
    expect(page.get_by_role("tablist", name="Ticket")).to_be_visible()
    details.focus()
    page.keyboard.press("ArrowRight")
    expect(closing).to_be_focused()
    expect(closing).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel", name="Closing")).to_be_visible()
    expect(page.get_by_role("tabpanel", name="Details")).to_be_hidden()
    page.keyboard.press("Home")
    expect(details).to_be_focused()
    expect(details).to_have_attribute("aria-selected", "true")
    page.keyboard.press("End")
    expect(closing).to_be_focused()
    page.keyboard.press("ArrowRight")  # wraps round
    expect(details).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(closing).to_have_attribute("aria-selected", "true")
    assert_accessible(page)


def test_the_demo_party_form_shows_organisation_fields_for_organisations(page, site):
    sign_in(page, site, path="e/party/new")
    expect(page.get_by_label("Birthday")).to_be_visible()
    expect(page.get_by_label("Industry")).to_have_count(0)
    page.get_by_label("Kind (required)").select_option(label="Organisation")
    expect(page.get_by_label("Industry")).to_be_visible()
    expect(page.get_by_label("Birthday")).to_have_count(0)
    assert_accessible(page)
