"""Retention offers a refused delete again (issue 12), on SQLite and PostgreSQL: a record
due for erasure that a `restrict` reference keeps is anonymised and reported refused; the
dry run counts it as a retry, each later run tries its delete again (without anonymising
it again), and once the reference is gone the record is deleted."""
from __future__ import annotations

from datetime import date, timedelta

from engine.privacy import retention

DOC = {"entities": [
    {"name": "visit", "privacy": {"retention": {"after_days": 30, "field": "visited_on", "action": "erase"}},
     "fields": [{"name": "visited_on", "type": "date"}, {"name": "ip_address", "type": "string", "pii": True}]},
    {"name": "finding", "fields": [{"name": "visit", "type": "reference", "to": "visit", "on_delete": "restrict"},
                                   {"name": "text", "type": "string"}]}]}


def test_a_refused_delete_is_offered_again_until_it_goes_through(install):
    install.registry.create("shop", "Shop")
    shop = install.session("shop")
    shop.apply_metadata(DOC)
    visit = shop.records.create("visit", {"visited_on": (date.today() - timedelta(days=40)).isoformat(),
                                          "ip_address": "10.1.1.1"})
    finding = shop.records.create("finding", {"visit": visit["id"], "text": "kept for now"})

    [first] = retention.run(shop)["entities"]
    assert (first["anonymised"], first["deleted"], first["retried"]) == (1, 0, 0)
    assert [r["id"] for r in first["refused"]] == [visit["id"]]
    assert shop.records.get("visit", visit["id"])["ip_address"] is None
    [planned] = retention.plan(shop)
    assert (planned["due"], planned["retry"]) == (0, 1)

    [second] = retention.run(shop)["entities"]  # still referred to: refused again, not anonymised again
    assert (second["anonymised"], second["deleted"], second["retried"], len(second["refused"])) == (0, 0, 1, 1)

    shop.records.delete("finding", finding["id"])
    [third] = retention.run(shop)["entities"]
    assert (third["deleted"], third["retried"], third["refused"]) == (1, 1, [])
    assert shop.records.list("visit")["items"] == []
    [after] = retention.plan(shop)
    assert (after["due"], after["retry"]) == (0, 0)
