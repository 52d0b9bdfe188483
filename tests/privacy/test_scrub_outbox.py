"""An erasure rewrites the events still waiting in the outbox: a field named like one of
the payload's own keys (`v`, `actor`, `extra`) is blanked inside the record and its
changes, and the payload's own keys are kept — the row still reads as the event it was,
on SQLite and PostgreSQL."""
from __future__ import annotations

import json

from sqlalchemy import select

from engine.events import outbox_dict
from engine.privacy.erasure import erase
from engine.privacy.scrub import ERASED
from engine.systables import loom_table

DOCUMENT = {"entities": [{"name": "party", "label": "Party", "fields": [
    {"name": "name", "type": "string", "pii": "contact"},
    {"name": "v", "type": "string", "pii": "contact"},
    {"name": "actor", "type": "string", "pii": "contact"},
    {"name": "extra", "type": "string", "pii": "contact"},
    {"name": "city", "type": "string"}]}]}
SECRETS = ("Huang Xiaoming", "vee-secret", "act-secret", "ext-secret")


def test_fields_named_like_the_payload_s_keys_are_blanked_and_the_events_still_read(install):
    install.registry.create("shop", "Shop")
    shop = install.session("shop")
    shop.apply_metadata(DOCUMENT)
    values = dict(zip(("name", "v", "actor", "extra"), SECRETS), city="Shanghai")
    single = shop.records.create("party", values)["id"]
    shop.records.update("party", single, {"city": "Beijing"})
    batch = shop.records.create_many("party", [{**values, "name": f"Huang {n}"} for n in range(100)])
    erase(shop, single, "request by letter")
    erase(shop, batch[0], "request by letter")

    outbox = loom_table(shop.storage.schema, "loom_outbox")
    with shop.storage.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.record_id.in_([single, batch[0]]))
                            .order_by(outbox.c.id)).mappings().all()
    events = [outbox_dict(dict(row), "shop") for row in rows]
    assert [(e["event"], e["record_id"]) for e in events] == [
        ("record.created", single), ("record.updated", single), ("record.created", batch[0])]
    for event in events:
        assert event["tenant"] == "shop" and event["entity"] == "party" and event["actor"] is None
        assert event["extra"] == {}  # the payload's own `extra`, not the field's value
        assert {event["record"][name] for name in ("name", "v", "actor", "extra")} == {ERASED}
        assert not any(secret in json.dumps(event, ensure_ascii=False) for secret in SECRETS)
    assert events[0]["changes"]["v"] == [None, ERASED] and events[1]["changes"] == {"city": ["Shanghai", "Beijing"]}
    untouched = outbox_dict(dict(_row(shop, outbox, batch[1])), "shop")
    assert untouched["record"]["v"] == "vee-secret"  # another person's event: nothing erased


def _row(session, outbox, record_id):
    with session.storage.connect() as conn:
        return conn.execute(select(outbox).where(outbox.c.record_id == record_id)).mappings().one()
