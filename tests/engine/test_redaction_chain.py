"""Redactions are part of the audit chain (issue 12), on SQLite and PostgreSQL: a row an
erasure rewrote verifies because a sealed `redact` row declares its new content and time;
marking another row redacted, or changing a redacted row or its `redacted_at`
afterwards, is found; redactions made before they were declared are declared once when
the tenant is opened (tenant revision 0017), so those chains still verify."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from engine.records import redactions
from engine.records.chain import seal_and_verify, verify
from engine.systables import loom_table


def audit_ids(acme) -> list[int]:
    audit = loom_table(acme.storage.schema, "loom_audit")
    with acme.storage.connect() as conn:
        return conn.execute(select(audit.c.id).order_by(audit.c.id)).scalars().all()


def redact(acme, row_id, declare=True, changes=None):
    audit = loom_table(acme.storage.schema, "loom_audit")
    with acme.storage.begin() as conn:
        since = datetime.now(timezone.utc)
        conn.execute(update(audit).where(audit.c.id == row_id).values(
            changes=changes or {"email": [None, "(erased)"]}, redacted_at=datetime.now(timezone.utc)))
        if declare:
            redactions.declare(conn, acme.storage.schema, since, None, "contact", 1)


def test_a_declared_redaction_verifies_and_any_other_marking_is_found(acme):
    for n in range(3):
        acme.records.create("contact", {"full_name": f"Person {n}", "email": f"p{n}@example.com"})
    assert seal_and_verify(acme.storage) == []
    first, second, third = audit_ids(acme)
    redact(acme, first)
    assert seal_and_verify(acme.storage) == []

    audit = loom_table(acme.storage.schema, "loom_audit")
    with acme.storage.begin() as conn:  # the redacted row changed again, behind Loom's back
        conn.execute(update(audit).where(audit.c.id == first).values(changes={"email": [None, "forged"]}))
    broken = verify(acme.storage, "audit")
    assert broken.row_id == first and "no redaction in the audit chain" in broken.reason
    redact(acme, first, changes={"email": [None, "(erased)", "again"]})  # a later erasure: declared anew
    assert verify(acme.storage, "audit") is None

    with acme.storage.begin() as conn:  # its redaction time moved
        conn.execute(update(audit).where(audit.c.id == first).values(
            redacted_at=datetime.now(timezone.utc) - timedelta(days=30)))
    assert verify(acme.storage, "audit").row_id == first
    redact(acme, first)
    redact(acme, second, declare=False)  # someone marks a row redacted to hide a change
    assert verify(acme.storage, "audit").row_id == second
    redact(acme, third)  # a declaration of another row does not cover it
    assert verify(acme.storage, "audit").row_id == second


def test_redactions_made_before_declarations_are_declared_once_when_the_tenant_opens(acme):
    acme.records.create("contact", {"full_name": "Person", "email": "p@example.com"})
    seal_and_verify(acme.storage)
    [first] = audit_ids(acme)
    redact(acme, first, declare=False)  # as an erasure did before revision 0017
    assert verify(acme.storage, "audit").row_id == first
    settings = loom_table(acme.storage.schema, "loom_settings")
    with acme.storage.begin() as conn:  # what revision 0017 leaves in such a tenant
        conn.execute(settings.insert().values(key=redactions.UNDECLARED, value=True))
    assert redactions.catch_up(acme.storage) == 1
    assert redactions.catch_up(acme.storage) == 0
    assert seal_and_verify(acme.storage) == []
