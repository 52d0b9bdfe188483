"""Filtering by options through a tenant, on SQLite and PostgreSQL: a multi_choice field
by the options it holds (served by a GIN index on PostgreSQL when the field is indexed),
and a misspelt option of a choice, multi_choice or workflow state field is refused."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from engine.errors import BadQuery

DOC = {
    "entities": [{"name": "party", "fields": [
        {"name": "name", "type": "string", "required": True},
        {"name": "roles", "type": "multi_choice", "options": ["customer", "insurer", "broker"], "indexed": True},
        {"name": "stage", "type": "choice", "options": ["lead", "won", "lost"]}]}],
    "workflows": [{
        "name": "party_flow", "entity": "party", "field": "stage", "initial": "lead",
        "states": [{"name": "lead", "category": "open"}, {"name": "won", "category": "done"},
                   {"name": "lost", "category": "cancelled"}],
        "transitions": [{"name": "win", "from": ["lead"], "to": "won"}]}],
}
PARTIES = {"Ann": ["customer"], "Bob": ["customer", "insurer"], "Cy": ["broker"], "Di": [], "Ed": None}


@pytest.fixture
def crm(install):
    install.registry.create("acme", "Acme")
    session = install.session("acme")
    session.apply_metadata(DOC)
    for name, roles in PARTIES.items():
        session.records.create("party", {"name": name, "roles": roles})
    return session


def names(session, *params) -> list:
    return [r["name"] for r in session.records.list("party", params)["items"]]


def test_all_customers_and_other_option_filters(crm):
    assert names(crm, ("roles", "customer")) == ["Ann", "Bob"]
    assert names(crm, ("roles__any", "insurer,broker")) == ["Bob", "Cy"]
    assert names(crm, ("roles__all", "customer,insurer")) == ["Bob"]
    assert names(crm, ("roles__ne", "customer")) == ["Cy", "Di", "Ed"]
    assert names(crm, ("roles__isnull", "true")) == ["Ed"]


@pytest.mark.parametrize("key, value, wrong", [
    ("stage", "wonn", "wonn"), ("stage__in", "won,lots", "lots"), ("stage__ne", "Lead", "Lead"),
    ("roles", "custommer", "custommer"), ("roles__any", "customer,insurrer", "insurrer"),
    ("roles__all", "brokers", "brokers"),
])
def test_a_misspelt_option_is_refused_with_the_allowed_ones(crm, key, value, wrong):
    with pytest.raises(BadQuery) as caught:
        names(crm, (key, value))
    [detail] = caught.value.details
    assert detail["field"] == key and f"'{wrong}'" in detail["message"]
    assert ("lead, won, lost" if key.startswith("stage") else "customer, insurer, broker") in detail["message"]


def test_an_indexed_multi_choice_field_gets_an_index_that_serves_its_filters(crm):
    with crm.storage.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.execute(text("select 1 from sqlite_master where name = 'ix_party_roles'")).first()
            return
        schema = crm.storage.schema
        indexdef = conn.execute(text("select indexdef from pg_indexes where schemaname = :s and indexname = "
                                     "'ix_party_roles'"), {"s": schema}).scalar_one()
        assert "USING gin" in indexdef
        conn.execute(text("set local enable_seqscan = off"))
        for where in ("roles @> '[\"customer\"]'", "roles ?| array['insurer','broker']"):
            plan = "\n".join(conn.execute(text(f'explain select id from "{schema}".party where {where}')).scalars())
            assert "ix_party_roles" in plan, plan
