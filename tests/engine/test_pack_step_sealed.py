"""A pack upgrade's `copy` step between a field kept in clear and one encrypted at rest
goes through the fields' types, on SQLite and PostgreSQL: the copied values read back as
they were, and the encrypted column holds no clear text."""
import base64
import secrets

import pytest
from sqlalchemy import MetaData, Table, select

from engine.errors import MigrationRefused
from engine.packs.service import PackService
from tests.engine.test_pack_step_keys import card_pack, upgraded_to
from tests.engine.test_packs import base_pack, install_with

NOTES = ["王伟 likes tea", "VIP since 2019"]


@pytest.fixture
def master(monkeypatch):
    monkeypatch.setenv("LOOM_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    monkeypatch.delenv("LOOM_MASTER_KEY_FILE", raising=False)


def raw_column(install, name) -> list:
    session = install.session("shop")
    with session.storage.connect() as conn:
        table = Table("card", MetaData(), autoload_with=conn, schema=session.storage.schema)
        return [row[0] for row in conn.execute(select(table.c[name]).order_by(table.c.id))]


def shop_with_notes(settings, old, blank=False):
    """Tenant `shop` with card_pack 1.0.0 whose cards keep a note (`old`); `blank`: and a
    card without one."""
    install = install_with(settings, base_pack(), card_pack("1.0.0", [old]))
    install.registry.create("shop")
    PackService(install).install("shop", "card_pack")
    records = install.session("shop").records
    for n, note in enumerate(NOTES):
        records.create("card", {"number": f"C{n}", "note": note})
    if blank:
        records.create("card", {"number": "C2"})
    install.dispose()


@pytest.mark.parametrize("sealed_from", [False, True], ids=["clear-to-sealed", "sealed-to-clear"])
def test_a_copy_step_between_clear_and_sealed_fields_keeps_every_value(settings, master, sealed_from):
    sealed = {"pii": "sensitive"}
    old = {"name": "note", "type": "string", **(sealed if sealed_from else {})}
    new = {"name": "remark", "type": "string", **({} if sealed_from else sealed)}
    shop_with_notes(settings, old, blank=True)
    steps = [{"copy": {"entity": "card", "from": "note", "to": "remark"}}]
    install = upgraded_to(settings, card_pack("2.0.0", [old, new],
                                              upgrades=[{"from": "1.0.0", "to": "2.0.0", "steps": steps}]))
    cards = install.session("shop").records.list("card", [("sort", "id")])["items"]
    assert [c["remark"] for c in cards] == [*NOTES, None]
    assert [c["note"] for c in cards] == [*NOTES, None]
    stored = raw_column(install, "note" if sealed_from else "remark")
    assert stored[2] is None and all(v and v not in NOTES and "王伟" not in v for v in stored[:2])
    assert raw_column(install, "remark" if sealed_from else "note") == [*NOTES, None]
    install.dispose()




@pytest.mark.parametrize("sealed_from,sealed_to", [(True, True), (False, False)], ids=["sealed", "clear"])
def test_a_renamed_field_copied_from_its_archive_keeps_its_values(settings, master, sealed_from, sealed_to):
    sealed = {"pii": "sensitive"}
    shop_with_notes(settings, {"name": "note", "type": "string", **(sealed if sealed_from else {})})
    steps = [{"copy": {"entity": "card", "from": "note", "to": "remark"}}]
    new = {"name": "remark", "type": "string", **(sealed if sealed_to else {})}
    install = upgraded_to(settings, card_pack("2.0.0", [new],
                                              upgrades=[{"from": "1.0.0", "to": "2.0.0", "steps": steps}]))
    cards = install.session("shop").records.list("card", [("sort", "id")])["items"]
    assert [c["remark"] for c in cards] == NOTES
    install.dispose()


@pytest.mark.parametrize("sealed_from", [False, True], ids=["clear-to-sealed", "sealed-to-clear"])
def test_a_copy_from_an_archive_across_encryption_is_refused_and_changes_nothing(settings, master, sealed_from):
    sealed = {"pii": "sensitive"}
    shop_with_notes(settings, {"name": "note", "type": "string", **(sealed if sealed_from else {})})
    steps = [{"copy": {"entity": "card", "from": "note", "to": "remark"}}]
    new = {"name": "remark", "type": "string", **({} if sealed_from else sealed)}
    install = install_with(settings, base_pack(), card_pack("2.0.0", [new], upgrades=[
        {"from": "1.0.0", "to": "2.0.0", "steps": steps}]))
    with pytest.raises(MigrationRefused, match=r"copies card\.note, archived .* into card\.remark.*Python step"):
        PackService(install).upgrade("shop", "card_pack")
    cards = install.session("shop").records.list("card", [("sort", "id")])["items"]
    assert [c["note"] for c in cards] == NOTES and all("remark" not in c for c in cards)
    assert {p.name: p.version for p in PackService(install).installed("shop")}["card_pack"] == "1.0.0"
    install.dispose()
