"""Erasing a party (GDPR art. 17, PIPL art. 47): its personal data leaves every place
Loom keeps it, while the records themselves stay, so references, totals and business
history keep working.

The steps, in one transaction:
1. find the subject record and the records of other entities referencing it (one hop:
   a policy's policyholder, a survey's party…);
2. blank their personal fields: fields marked `pii` (a required one gets a pseudonym
   such as `erased-party-7`), and the free-text fields (`text`, where notes carry
   personal details) of records whose entity has no `privacy.retain_for` basis; records
   kept as evidence (consents) keep theirs;
3. collect the erased values, with the earlier values of those fields in the audit trail;
4. rewrite Loom's own tables (audit, outbox, notifications, rule traces, workflow
   comments, refusals, effect keys) and the archives of metadata migrations
   (`engine.privacy.scrub`), and the record's search terms; remove the copies kept whole
   (import files, merges' undo: `engine.privacy.kept_copies`);
5. record the erasure in the audit trail (field names only) and in `loom_dsr_log` with
   the reason and the legal basis of every record kept."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import MetaData, Table, inspect, select

from engine.errors import NotFound, ValidationFailed
from engine.in_lists import in_lists
from engine.privacy import log
from engine.privacy.kept_copies import forget_import_files, forget_merge_undos, merged_into
from engine.privacy.scrub import ERASED, Erased, replace_text, scrub_archives, scrub_loom_tables
from engine.records.search_index import reindex_record
from engine.records import redactions
from engine.records.writes import audit_row, utcnow, write_audit
from engine.systables import loom_table
from engine.whole import whole_number

IDENTIFIER_TYPES = ("email", "phone")
MAX_REASON = 2000


def erase(session, record_id, reason, entity_name: str = "party", kind: str = "erase") -> dict:
    """Erase the personal data of one record of `entity_name` (a party by default) and of
    the records referring to it; returns what was done (field names, never values)."""
    session.require_admin(to="erase personal data")
    reason = _reason(reason)
    metadata = session.metadata()
    entity = metadata.entity(entity_name)
    if entity is None:
        raise NotFound(f"no entity {entity_name!r}", code="entity_not_found")
    record_id = _id(record_id)
    storage, actor = session.storage, session.actor
    with storage.begin() as conn:
        erasure = _Erasure(conn, storage.schema, metadata, actor, entity_name)
        row = erasure.fetch(entity, record_id)
        if row is None:
            raise NotFound(f"no {entity_name} {record_id}", code="record_not_found")
        erasure.record(entity, row, own=True)
        for loser in merged_into(conn, storage.schema, entity_name, record_id):  # its history is the subject's
            erasure.erased.tie(entity_name, loser)
        hop = []
        for ref_entity, related in erasure.referring(entity_name, [record_id]):
            erasure.record(ref_entity, related)
            hop.append((ref_entity, related))
        for ref_entity, second in erasure.second_hop(hop):
            erasure.erased.tie(ref_entity.name, second["id"])
            hop.append((ref_entity, second))
        erasure.archived_fields()
        erasure.history()
        erasure.mentions(hop)
        since = utcnow()
        scrubbed = scrub_loom_tables(conn, storage.schema, erasure.erased)
        archived = scrub_archives(conn, storage.schema, erasure.erased)
        kept = forget_import_files(conn, storage.schema)
        kept["merges_no_longer_undoable"] = forget_merge_undos(conn, storage.schema, erasure.erased, since)
        erasure.audit()
        redactions.declare(conn, storage.schema, since, actor.id if actor else None, entity_name, record_id)
        detail = {"records": erasure.report, "rewritten": scrubbed, "archive_rows": archived, "kept_copies": kept}
        log_id = log.write(conn, storage.schema, kind, entity_name, record_id,
                           actor.email if actor else None, reason, detail)
    return {"erased": True, "entity": entity_name, "id": record_id, "log_id": log_id, **detail}


def _reason(reason) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed("an erasure needs a reason (the request it answers)",
                               details=[{"field": "reason", "message": "text expected"}], code="reason_required")
    if len(reason) > MAX_REASON:
        raise ValidationFailed(f"the reason is longer than {MAX_REASON} characters",
                               details=[{"field": "reason", "message": "too long"}], code="too_long")
    return reason.strip()


def _id(value) -> int:
    number = whole_number(value, lowest=1)
    if number is None:
        raise NotFound(f"no record {str(value)[:40]!r}", code="record_not_found")
    return number


class _Erasure:
    def __init__(self, conn, schema, metadata, actor, subject):
        self.conn, self.schema, self.metadata, self.actor = conn, schema, metadata, actor
        self.subject = subject
        self.erased = Erased()
        self.report, self.audits = [], []
        self.at = utcnow()

    def referring(self, entity_name, ids, skip=()):
        """(entity, row) of the records whose references point at `ids` of `entity_name`;
        another record of the subject's own entity (a subsidiary, a relative) is a
        subject of its own and is left out."""
        for ref_entity, ref_field in self.metadata.referrers(entity_name):
            if ref_entity.name in (self.subject, *skip):
                continue
            table = self.metadata.tables[ref_entity.name]
            for some in in_lists(ids):
                for row in self.conn.execute(select(table).where(table.c[ref_field.name].in_(some))
                                             .order_by(table.c.id)).mappings().all():
                    yield ref_entity, row

    def second_hop(self, first):
        """Records referring to the related ones (a claim on the subject's policy): they
        may quote the subject (a notification naming the policyholder)."""
        seen = {(e.name, r["id"]) for e, r in first}
        by_entity = {}
        for entity, row in first:
            by_entity.setdefault(entity.name, []).append(row["id"])
        for name, ids in by_entity.items():
            for ref_entity, row in self.referring(name, ids):
                if (ref_entity.name, row["id"]) not in seen:
                    seen.add((ref_entity.name, row["id"]))
                    yield ref_entity, row

    def mentions(self, records) -> None:
        """The erased values quoted in the related records' other text fields are erased too."""
        values = self.erased.values | self.erased.identifiers
        for entity, row in records:
            table = self.metadata.tables[entity.name]
            current = self.conn.execute(select(table).where(table.c.id == row["id"])).mappings().first()
            new = {}
            for f in entity.fields:
                if (f.base_type or f.type) in ("string", "text") and isinstance(current.get(f.name), str):
                    text = replace_text(current[f.name], values)
                    if text != current[f.name]:
                        new[f.name] = text
            if new:
                version = current["version"] + 1
                self.conn.execute(table.update().where(table.c.id == row["id"]).values(
                    {**self.metadata.shape(entity.name).to_columns(new), "version": version, "updated_at": self.at,
                     "updated_by": self.actor.id if self.actor else None}))
                reindex_record(self.conn, self.schema, entity, row["id"], {**current, **new})
                self.audits.append(audit_row(self.at, self.actor.id if self.actor else None, "erase", entity.name,
                                             row["id"], version, {k: [ERASED, ERASED] for k in new}))

    def fetch(self, entity, record_id):
        table = self.metadata.tables[entity.name]
        return self.conn.execute(select(table).where(table.c.id == record_id)).mappings().first()

    def record(self, entity, row, own=False) -> None:
        privacy = entity.privacy or {}
        basis = privacy.get("retain_for")
        evidence = bool(privacy.get("evidence"))
        names = [f for f in entity.fields if f.pii]
        if not evidence and (own or basis is None):
            names += [f for f in entity.fields if (f.base_type or f.type) == "text" and not f.pii]
        table = self.metadata.tables[entity.name]
        new = {f.name: _stand_in(f, entity.name, row["id"]) for f in names
               if f.name in table.c and row[f.name] is not None}
        if new:
            values = {**new, "version": row["version"] + 1, "updated_at": self.at,
                      "updated_by": self.actor.id if self.actor else None}
            # as columns: an encrypted field's keyed hash goes with it, a currency's code too
            columns = {**self.metadata.shape(entity.name).to_columns(new), **{k: v for k, v in values.items()
                                                                             if k not in new}}
            self.conn.execute(table.update().where(table.c.id == row["id"]).values(columns))
            reindex_record(self.conn, self.schema, entity, row["id"], {**row, **values})
            self.audits.append(audit_row(self.at, self.actor.id if self.actor else None, "erase", entity.name,
                                         row["id"], values["version"], {k: [ERASED, v] for k, v in new.items()}))
        identifiers = [row[f.name] for f in names if (f.base_type or f.type) in IDENTIFIER_TYPES]
        self.erased.add(entity.name, row["id"], [f.name for f in names],
                        [row[f.name] for f in names], identifiers)
        entry = {"entity": entity.name, "id": row["id"], "fields": sorted(new)}
        if basis is not None:
            entry["kept_for"] = basis
        if evidence:
            entry["kept_as_evidence"] = True
        self.report.append(entry)

    def archived_fields(self) -> None:
        """Personal fields dropped by a metadata migration: their archived values of the
        erased records are erased values too (and blanked in the archive)."""
        archives = loom_table(self.schema, "loom_archives")
        present = set(inspect(self.conn).get_table_names(schema=self.schema))
        for entry in self.conn.execute(select(archives).where(archives.c.kind == "field")).mappings().all():
            ids = self.erased.records.get(entry["entity"])
            definition = entry["definition"] or {}
            if not ids or not definition.get("pii") or entry["table_name"] not in present:
                continue
            table = Table(entry["table_name"], MetaData(), autoload_with=self.conn, schema=self.schema)
            if entry["field"] not in table.c:
                continue
            base = (definition.get("base_types") or {}).get(definition.get("type"), definition.get("type"))
            for row in self.conn.execute(select(table.c.id, table.c[entry["field"]])
                                         .where(table.c.id.in_(list(ids)))).all():
                value = row[1]
                self.erased.extend(entry["entity"], row[0], entry["field"], value,
                                   identifier=base in IDENTIFIER_TYPES)

    def history(self) -> None:
        """Earlier values of the erased fields (an e-mail changed last year) are erased too."""
        audit = loom_table(self.schema, "loom_audit")
        for entity_name, ids in self.erased.records.items():
            entity = self.metadata.entity(entity_name)
            types = {f.name: f.base_type or f.type for f in entity.fields}
            rows = self.conn.execute(select(audit.c.record_id, audit.c.changes).where(
                audit.c.entity == entity_name, audit.c.record_id.in_(list(ids)))).all()
            for row in rows:
                names = set(ids.get(row.record_id, ()))
                for name, pair in (row.changes or {}).items():
                    if name not in names:
                        continue
                    text = [v for v in (pair if isinstance(pair, list) else [pair])
                            if isinstance(v, str) and v != ERASED and len(v.strip()) >= 2]
                    self.erased.values |= set(text)
                    if types.get(name) in IDENTIFIER_TYPES:
                        self.erased.identifiers |= {v for v in text if len(v.strip()) >= 5}

    def audit(self) -> None:
        if self.audits:
            write_audit(self.conn, self.schema, self.audits)


STAND_INS = {"phone": "erased", "integer": 0, "decimal": Decimal(0), "boolean": False,
             "date": date(1900, 1, 1), "datetime": datetime(1900, 1, 1, tzinfo=timezone.utc)}


def _stand_in(field, entity_name, record_id):
    """What an erased value becomes: nothing, or for a required field a value that says
    nothing of the person (the column may not be empty)."""
    if not field.required:
        return None
    base = field.base_type or field.type
    if base == "email":
        return f"erased-{entity_name}-{record_id}@erased.invalid"
    if base in ("string", "text"):
        return f"erased-{entity_name}-{record_id}"[: field.max_length or 200]
    if base == "choice" and field.options:
        return field.options[0].value if hasattr(field.options[0], "value") else field.options[0]
    return STAND_INS.get(base)
