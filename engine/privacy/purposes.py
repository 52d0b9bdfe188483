"""Purposes of processing and the consent they need: one rule for the messages the
notifier sends and the exports the record service gives.

A purpose is one of `PURPOSES`; `service` (the default) rests on the contract and needs
no consent. For any other purpose a party takes part only with a *valid consent* for it:
a record of the tenant's `consent` entity with `party` naming it, that `purpose`,
`granted` true, no `withdrawn_at`, and `expires_at` (when the entity has it) empty or
in the future. A record is about the party it is (a `party` record) or the party it
references (its reference field to `party` named `party` first, else the first such
field); a record about no party (no such field, or the field empty) concerns nobody's
consent and is not held back."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import and_, exists, false, or_, select

from engine.errors import ValidationFailed

PURPOSES = ("service", "marketing", "analytics", "sharing", "profiling", "cross_border")
DEFAULT_PURPOSE = "service"
WITHOUT_CONSENT = frozenset({"service"})  # purposes resting on the contract, not on consent
CONSENT, PARTY = "consent", "party"


def needs_consent(purpose: str) -> bool:
    return purpose not in WITHOUT_CONSENT


def checked_purpose(value, field: str = "purpose") -> str:
    """A purpose given by a caller (None: `service`); ValidationFailed naming the choices."""
    if value is None or value == "":
        return DEFAULT_PURPOSE
    if value not in PURPOSES:
        raise ValidationFailed(f"purpose must be one of {', '.join(PURPOSES)}",
                               details=[{"field": field, "message": f"{str(value)[:40]!r} is not a purpose",
                                         "code": "unknown_purpose"}], code="unknown_purpose")
    return value


def valid_consent_where(metadata, party_id, purpose: str, at: datetime | None = None, table=None):
    """The SQL condition on the `consent` table (or `table`, an alias of it) that a valid
    consent of `party_id` (a value or a column) for `purpose` meets; None when the tenant
    keeps no consent records."""
    consent = metadata.entity(CONSENT)
    if consent is None:
        return None
    table = metadata.tables[CONSENT] if table is None else table
    at = at or datetime.now(timezone.utc)
    where = [table.c.party == party_id, table.c.purpose == purpose, table.c.granted.is_(True),
             table.c.withdrawn_at.is_(None)]
    if consent.field("expires_at") is not None:
        where.append(or_(table.c.expires_at.is_(None), table.c.expires_at > at))
    return and_(*where)


def party_field(entity):
    """The reference field of `entity` naming the party its records are about (None: none)."""
    refs = sorted((f for f in entity.fields if (f.base_type or f.type) == "reference" and f.to == PARTY),
                  key=lambda f: f.name != PARTY)
    return refs[0] if refs else None


def consented(metadata, entity, table, purpose: str):
    """The SQL condition that keeps the records of `entity` whose party holds a valid consent
    for `purpose` (and the records about no party); None when `purpose` needs no consent
    or the entity's records are about no party."""
    if not needs_consent(purpose):
        return None
    if entity.name == PARTY:
        party = table.c.id
    else:
        field = party_field(entity)
        if field is None:
            return None
        party = table.c[field.name]
    if metadata.entity(CONSENT) is None:  # no consent records at all: no party has consented
        return false() if entity.name == PARTY else party.is_(None)
    consents = metadata.tables[CONSENT].alias("held_consent")
    held = exists(select(consents.c.id).where(valid_consent_where(metadata, party, purpose, table=consents)))
    return held if entity.name == PARTY else or_(party.is_(None), held)
