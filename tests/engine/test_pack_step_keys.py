"""A pack upgrade's data steps keep match keys (engine.matchkeys) in step, on SQLite and
PostgreSQL: a field a `copy` step or a Python step fills is keyed as if the records had
been written through the API, so `?phone=` lookups (on every phone-keyed field) and
duplicate rules find them in any written form."""
import pytest
from sqlalchemy import update

from engine.dedup import find_duplicates
from engine.packs import Pack
from engine.packs.service import PackService
from tests.engine.test_packs import base_pack, install_with

PHONES = ["+86 138 0013 8001", "13900000002"]
FORMS = {0: ["138-0013-8001", "0086 13800138001", "+86 (138) 0013 8001"], 1: ["+86 139 0000 0002", "139 0000 0002"]}
SAME_MOBILE = {"name": "same_mobile", "match": {"exact": ["mobile"]}, "action": "block"}


def card_pack(version, fields, upgrades=(), upgrade_steps=None, rules=()) -> Pack:
    entity = {"name": "card", "fields": [{"name": "number", "type": "string"}, *fields]}
    if rules:
        entity["duplicate_rules"] = list(rules)
    return Pack(name="card_pack", version=version, label={"en": "Cards"}, depends=["base_pack"],
                bundle={"entities": [entity]}, upgrades=upgrades, upgrade_steps=upgrade_steps or {})


@pytest.fixture
def cards(settings):
    """Tenant `shop` with card_pack 1.0.0, whose cards keep a phone number as plain text (`tel`)."""
    install = install_with(settings, base_pack(), card_pack("1.0.0", [{"name": "tel", "type": "string"}]))
    install.registry.create("shop")
    PackService(install).install("shop", "card_pack")
    records = install.session("shop").records
    for n, phone in enumerate(PHONES):
        records.create("card", {"number": f"C{n}", "tel": phone})
    records.create("card", {"number": "C2"})
    yield install
    install.dispose()


def upgraded_to(settings, pack):
    install = install_with(settings, base_pack(), pack)
    PackService(install).upgrade("shop", "card_pack")
    return install


def assert_found_by_any_form(install):
    """Every other written form of a card's mobile finds it, as a lookup and by the rule."""
    session = install.session("shop")
    cards = session.records.list("card", [("sort", "id")])["items"]
    assert [c["mobile"] for c in cards] == [*PHONES, None]
    meta = session.metadata()
    for n, forms in FORMS.items():
        for form in forms:
            assert [c["id"] for c in session.records.list("card", [("phone", form)])["items"]] == [cards[n]["id"]]
            with session.storage.connect() as conn:
                [found] = find_duplicates(conn, meta, "card", [{"mobile": form}])
            assert [(m.record_id, m.rule) for m in found] == [(cards[n]["id"], "same_mobile")]


@pytest.mark.parametrize("fields", [
    [{"name": "tel", "type": "string"}, {"name": "mobile", "type": "phone"}],   # a new field beside the old
    [{"name": "mobile", "type": "phone"}],                                        # renamed: read from the archive
], ids=["beside", "renamed"])
def test_a_copy_step_into_a_phone_field_keys_what_it_copied(cards, settings, fields):
    steps = [{"copy": {"entity": "card", "from": "tel", "to": "mobile"}}]
    install = upgraded_to(settings, card_pack("2.0.0", fields, rules=[SAME_MOBILE],
                                              upgrades=[{"from": "1.0.0", "to": "2.0.0", "steps": steps}]))
    assert_found_by_any_form(install)
    install.dispose()


def test_a_python_step_writing_a_phone_field_gets_its_values_keyed(cards, settings):
    def phones_to_mobile(context):
        card = context.tables["card"]
        for n, phone in enumerate(PHONES):
            context.conn.execute(update(card).where(card.c.number == f"C{n}").values(mobile=phone))

    fields = [{"name": "tel", "type": "string"}, {"name": "mobile", "type": "phone"}]
    install = upgraded_to(settings, card_pack("2.0.0", fields, rules=[SAME_MOBILE],
                                              upgrade_steps={"2.0.0": phones_to_mobile}))
    assert_found_by_any_form(install)
    install.dispose()


def test_a_fill_after_a_copy_into_the_same_field_keeps_both_keyed(cards, settings):
    """`fill` writes its key with the value; the copied values are keyed after every step."""
    fields = [{"name": "tel", "type": "string"}, {"name": "mobile", "type": "phone"}]
    steps = [{"copy": {"entity": "card", "from": "tel", "to": "mobile"}},
             {"fill": {"entity": "card", "field": "mobile", "value": "+86 138 0013 8003"}}]
    install = install_with(settings, base_pack(), card_pack("2.0.0", fields, rules=[SAME_MOBILE], upgrades=[
        {"from": "1.0.0", "to": "2.0.0", "steps": steps}]))
    report = PackService(install).upgrade("shop", "card_pack")
    assert [m["rows"] for m in report["moved"]] == [3, 1]
    session = install.session("shop")
    for form, number in [("138 0013 8003", "C2"), ("0086 138 0013 8001", "C0"), ("+86 139-0000-0002", "C1")]:
        assert [c["number"] for c in session.records.list("card", [("phone", form)])["items"]] == [number]
    install.dispose()
