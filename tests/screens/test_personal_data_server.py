"""Personal data on the screens, through the Flask client on SQLite and PostgreSQL: a
member's record page and list export show masked values, the unmask dialog refuses an
empty reason (nothing logged) and gives the clear value with one, fields that are not
masked have no dialog, and the admin's record page and access log page show the unmask."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine import passwords
from engine.app import create_app
from engine.install import Install
from engine.packs.service import PackService
from engine.plugins import Plugins
from tests.conftest import drop_prefixed_schemas, make_settings, require_postgres
from tests.screens.conftest import PASSWORD, ScreenClient

ADMIN, AGENT = "liu.yang@insurer.example", "zhao.min@east-agency.example"  # both in English
PHONE, MASKED = "+86 138 0000 2002", "138****2002"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ins(request, tmp_path_factory):
    if request.param == "postgresql":
        require_postgres()
    settings = make_settings(request.param, tmp_path_factory.mktemp(f"pii_screens_{request.param}"))
    install = Install(settings, Plugins())
    try:
        install.registry.create("ins", "Insurer")
        PackService(install).install("ins", "insurance_agents", demo=True)
        storage = install.session("ins").storage
        for email in (ADMIN, AGENT):
            passwords.set_password(storage, email, PASSWORD)
        [party] = install.session("ins").records.list("party", [("name", "Zhang Wei")])["items"]
        app = create_app(install, {"TESTING": True})
        yield SimpleNamespace(app=app, party=party["id"], agent=ScreenClient(app, "ins", AGENT),
                              admin=ScreenClient(app, "ins", ADMIN))
    finally:
        install.dispose()
        if settings.database_url:
            drop_prefixed_schemas(settings.schema_prefix)


def test_the_member_sees_masked_values_and_unmask_buttons(ins):
    page = ins.agent.get(f"e/party/{ins.party}").text
    assert MASKED in page and PHONE not in page and "Unmask<span class=\"visually-hidden\"> Phone" in page
    exported = ins.agent.get("e/party/export.csv").text
    assert MASKED in exported and PHONE not in exported


def test_the_admin_sees_clear_values_and_no_unmask_button(ins):
    page = ins.admin.get(f"e/party/{ins.party}").text
    assert PHONE in page and "Unmask" not in page


def test_the_dialog_refuses_an_empty_reason_and_logs_nothing(ins):
    dialog = ins.agent.hx("GET", f"e/party/{ins.party}/unmask/phone")
    assert dialog.status_code == 200 and 'for="unmask-' in dialog.text and "<dialog open" in dialog.text
    refused = ins.agent.hx("POST", f"e/party/{ins.party}/unmask/phone", data={"reason": "  ", "key": "k1"})
    assert refused.status_code == 422 and refused.headers["HX-Retarget"] == "#unmask-k1"
    assert 'aria-invalid="true"' in refused.text and PHONE not in refused.text
    assert "Customer" not in ins.admin.get("designer/access-log").text


def test_a_field_that_is_not_masked_has_no_dialog(ins):
    assert ins.agent.hx("GET", f"e/party/{ins.party}/unmask/city").status_code == 404
    assert ins.agent.hx("POST", f"e/party/{ins.party}/unmask/nope", data={"reason": "x"}).status_code == 404
    assert ins.admin.hx("GET", f"e/party/{ins.party}/unmask/phone").status_code == 404  # the admin reads it


def test_an_unmask_shows_the_value_and_the_admin_finds_it(ins):
    shown = ins.agent.hx("POST", f"e/party/{ins.party}/unmask/phone",
                         data={"reason": "Customer wants a call about the claim"})
    assert shown.status_code == 200 and PHONE in shown.text
    plain = ins.agent.post(f"e/party/{ins.party}/unmask/phone", data={"reason": "Calling back"})
    assert plain.status_code == 200 and PHONE in plain.text
    record = ins.admin.get(f"e/party/{ins.party}").text
    assert "Access to this record" in record and "Customer wants a call about the claim" in record
    log = ins.admin.get("designer/access-log").text
    assert "Customer wants a call about the claim" in log and "unmasked phone" in log
    assert "Access to this record" not in ins.agent.get(f"e/party/{ins.party}").text
    assert ins.agent.get("designer/access-log").status_code == 403
    assert ins.admin.get("designer/access-log?since=yesterday").status_code == 400


def test_the_global_search_does_not_find_by_a_value_the_user_reads_masked(ins):
    """Searching a policyholder's phone number would tell the agent whose it is."""
    assert f"/e/party/{ins.party}" not in ins.agent.get("search", query_string={"q": "13800002002"}).text
    assert f"/e/party/{ins.party}" in ins.admin.get("search", query_string={"q": "13800002002"}).text
    by_name = ins.agent.get("search", query_string={"q": "Zhang Wei"}).text
    assert "Zhang Wei home bundle" in by_name  # a value the agent reads in clear is found
    assert f"/e/party/{ins.party}\"" not in by_name  # the party's name is read masked (W***) by agents
