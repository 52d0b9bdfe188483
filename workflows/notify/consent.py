"""Consent per purpose, checked where every outgoing message passes: the notifier asks
`ConsentGate.refusal(person)` for each recipient just before sending, so a consent
withdrawn while a message waited in the queue stops it.

A message declares its purpose (`PURPOSES`; `service` when it says nothing). A
`service` message — an acknowledgement, a safety recall, a reminder a contract requires —
rests on the contract, not on consent, and is not checked. For every other purpose a
recipient who is not a user of the tenant (a party, reached through a record's e-mail
field) gets the message only with a valid consent of that party for that purpose:
granted, not withdrawn, not expired. A party is an address held in a field marked `pii`
(a requester's, a vehicle owner's e-mail); an address in a field that is not personal
data (a dealer's office address) is a business contact and is not checked. The consents are the records of the tenant's
`consent` entity (the core CRM pack's: `party`, `purpose`, `granted`, `withdrawn_at`,
and `expires_at` when the entity has it). Each refusal is one row in
`loom_consent_refusals`, which admins read (`GET /consent-refusals`,
`loom dsr refusals TENANT`)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, or_, select

from engine.privacy.purposes import (CONSENT, DEFAULT_PURPOSE, PARTY, PURPOSES, WITHOUT_CONSENT,  # noqa: F401
                                     needs_consent, valid_consent_where)
from engine.systables import loom_table


class ConsentGate:
    """Whether each recipient of one message may get it; refusals are logged as they are found."""

    def __init__(self, session, purpose: str, template: str, entity: str, record: dict):
        self.storage = session.storage
        self.metadata = session.metadata()
        self.purpose, self.template, self.entity, self.record = purpose, template, entity, record or {}

    def refusal(self, person) -> str | None:
        """None when `person` may get the message; else why not (and the refusal is logged)."""
        if not needs_consent(self.purpose) or person.user_id is not None:
            return None
        if not self._personal(person.email):
            return None
        party_id = self.party_of(person.email)
        reason = self._why_not(party_id)
        if reason:
            self._log(person.email, party_id, reason)
        return reason

    def _personal(self, address: str) -> bool:
        entity = self.metadata.entity(self.entity)
        if entity is None:
            return True
        held = {str(self.record.get(f.name) or "").strip().lower()
                for f in entity.fields if f.pii and (f.base_type or f.type) == "email"}
        return address.strip().lower() in held

    def _why_not(self, party_id) -> str | None:
        if self.metadata.entity(CONSENT) is None:
            return f"no consent for {self.purpose}: the tenant keeps no consent records"
        if party_id is None:
            return f"no consent for {self.purpose}: the address belongs to no known party"
        if not valid_consent(self.storage, self.metadata, party_id, self.purpose):
            return f"no valid consent of party {party_id} for {self.purpose}"
        return None

    def party_of(self, address: str):
        """The party a message to `address` about this record reaches: the record itself
        when it is a party, the party it references (`party` first), else the party whose
        e-mail it is."""
        if self.entity == PARTY and isinstance(self.record.get("id"), int):
            return self.record["id"]
        entity = self.metadata.entity(self.entity)
        if entity is not None:
            refs = sorted((f for f in entity.fields if f.type == "reference" and f.to == PARTY),
                          key=lambda f: f.name != PARTY)
            for field in refs:
                value = self.record.get(field.name)
                if isinstance(value, int) and not isinstance(value, bool):
                    return value
        return party_by_email(self.storage, self.metadata, address)

    def _log(self, address, party_id, reason) -> None:
        table = loom_table(self.storage.schema, "loom_consent_refusals")
        record_id = self.record.get("id")
        with self.storage.begin() as conn:
            conn.execute(table.insert().values(
                at=datetime.now(timezone.utc), purpose=self.purpose, template=self.template[:100],
                entity=self.entity, record_id=record_id if isinstance(record_id, int) else None,
                party_id=party_id, recipient=address[:254], reason=reason[:300]))


def party_by_email(storage, metadata, address: str):
    party = metadata.entity(PARTY)
    if party is None:
        return None
    table = metadata.tables[PARTY]
    columns = [table.c[f.name] for f in party.fields if (f.base_type or f.type) == "email"]
    if not columns:
        return None
    wanted = address.strip().lower()
    with storage.connect() as conn:
        return conn.execute(select(table.c.id).where(or_(*[func.lower(c) == wanted for c in columns]))
                            .order_by(table.c.id).limit(1)).scalar()


def valid_consent(storage, metadata, party_id: int, purpose: str, at: datetime | None = None) -> bool:
    """Whether the party holds a granted, not withdrawn, not expired consent for `purpose`."""
    where = valid_consent_where(metadata, party_id, purpose, at)
    if where is None:
        return False
    table = metadata.tables[CONSENT]
    with storage.connect() as conn:
        return conn.execute(select(table.c.id).where(where).limit(1)).first() is not None
