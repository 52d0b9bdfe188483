"""The access bundle of a party (GDPR art. 15 and 20, PIPL art. 45): everything Loom holds
about it — its record, the records of every entity that references it (consents among
them), their audit trail, the consent refusals and notifications about them, and the
access-log entries when the tenant has an access log (`loom_access_log`) — as JSON, and
as a zip of that JSON with one CSV per entity."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timezone

from sqlalchemy import MetaData, Table, inspect, select

from engine.crypto.copies import Copies
from engine.errors import NotFound
from engine.privacy import log
from engine.privacy.erasure import _id
from engine.systables import loom_table
from engine.timefmt import iso_utc

ACCESS_LOG = "loom_access_log"


def bundle(session, record_id, entity_name: str = "party") -> dict:
    """The party's bundle; the export is written to the DSR log (without its content)."""
    session.require_admin(to="export a party's personal data")
    metadata = session.metadata()
    entity = metadata.entity(entity_name)
    if entity is None:
        raise NotFound(f"no entity {entity_name!r}", code="entity_not_found")
    record_id = _id(record_id)
    storage = session.storage
    with storage.begin() as conn:
        table = metadata.tables[entity_name]
        row = conn.execute(select(table).where(table.c.id == record_id)).mappings().first()
        if row is None:
            raise NotFound(f"no {entity_name} {record_id}", code="record_not_found")
        related: dict[str, list] = {}
        tied = [(entity_name, record_id)]
        for ref_entity, ref_field in metadata.referrers(entity_name):
            ref_table = metadata.tables[ref_entity.name]
            rows = conn.execute(select(ref_table).where(ref_table.c[ref_field.name] == record_id)
                                .order_by(ref_table.c.id)).mappings().all()
            shape = metadata.shape(ref_entity.name)
            for found in rows:
                if (ref_entity.name, found["id"]) not in tied:
                    related.setdefault(ref_entity.name, []).append(shape.dump(found))
                    tied.append((ref_entity.name, found["id"]))
        out = {"entity": entity_name, "id": record_id,
               "generated_at": iso_utc(datetime.now(timezone.utc)),
               "record": metadata.shape(entity_name).dump(row), "related": related,
               "audit": [{**r, "changes": Copies(metadata).opened_changes(r["changes"])}  # sealed values opened
                         for r in _tied_rows(conn, loom_table(storage.schema, "loom_audit"), tied)],
               "notifications": _tied_rows(conn, loom_table(storage.schema, "loom_notifications"), tied),
               "consent_refusals": _refusals(conn, storage.schema, record_id)}
        access = _access_log(conn, storage.schema, tied)
        if access is not None:
            out["access_log"] = access
        log.write(conn, storage.schema, "export", entity_name, record_id,
                  session.actor.email if session.actor else None, None,
                  {"records": len(tied), "entities": sorted(related)})
    return json.loads(json.dumps(out, default=_plain, ensure_ascii=False))


def _plain(value):
    if isinstance(value, datetime):
        return iso_utc(value)
    return str(value)


def _tied_rows(conn, table, tied) -> list[dict]:
    by_entity: dict[str, list] = {}
    for name, record_id in tied:
        by_entity.setdefault(name, []).append(record_id)
    rows = []
    for name, ids in by_entity.items():
        for start in range(0, len(ids), 500):
            rows += [dict(r) for r in conn.execute(select(table).where(
                table.c.entity == name, table.c.record_id.in_(ids[start:start + 500]))
                .order_by(table.c.id)).mappings().all()]
    return sorted(rows, key=lambda r: r["id"])


def _refusals(conn, schema, party_id) -> list[dict]:
    table = loom_table(schema, "loom_consent_refusals")
    rows = conn.execute(select(table).where(table.c.party_id == party_id).order_by(table.c.id)).mappings().all()
    return [dict(r) for r in rows]


def _access_log(conn, schema, tied):
    """The access-log entries of the records, when the tenant has an access log whose
    rows name an entity and a record id; None when it has none."""
    if ACCESS_LOG not in inspect(conn).get_table_names(schema=schema):
        return None
    table = Table(ACCESS_LOG, MetaData(), autoload_with=conn, schema=schema)
    if "entity" not in table.c or "record_id" not in table.c:
        return []
    return _tied_rows(conn, table, tied)


def as_zip(found: dict) -> bytes:
    """The bundle as a zip: `bundle.json` and one CSV per entity (the record's own first)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bundle.json", json.dumps(found, ensure_ascii=False, indent=2))
        archive.writestr(f"{found['entity']}.csv", _csv([found["record"]]))
        for name, records in sorted(found["related"].items()):
            archive.writestr(f"{name}.csv", _csv(records))
        for name in ("audit", "notifications", "consent_refusals", "access_log"):
            if found.get(name):
                archive.writestr(f"{name}.csv", _csv(found[name]))
    return buffer.getvalue()


def _csv(rows) -> str:
    names = []
    for row in rows:
        names += [k for k in row if k not in names]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
                         for k, v in row.items()})
    return out.getvalue()
