"""Exporting an entity's records to a file an import reads back (CSV, XLSX or JSON Lines),
optionally through a column mapping: then the columns are the mapping's, named as the
file to import names them, so an export and an import with the same mapping round-trip."""
from __future__ import annotations

from engine.errors import ValidationFailed
from engine.imports import mapping as mappings
from engine.imports.reading import FORMATS
from engine.records.export import as_csv, as_jsonl, as_xlsx, columns_of


def export_file(service, entity_name: str, fmt: str, given_mapping=None, params=()) -> bytes:
    """The file's bytes: every record the service's actor may export (`params`: list filters)."""
    if fmt not in FORMATS:
        raise ValidationFailed(f"format must be one of: {', '.join(FORMATS)}", code="bad_export_format",
                               details=[{"field": "format", "message": f"{str(fmt)[:40]!r} is not a format"}])
    entity = service.visible_entity(entity_name)
    records = service.export(entity_name, params)
    if given_mapping is None:
        header = columns_of(entity)
    else:
        fields = [f.name for f in entity.fields]
        if isinstance(given_mapping, str):
            given_mapping = mappings.load(service.storage, given_mapping, entity_name)
        columns = mappings.checked(entity, list(given_mapping), given_mapping)
        pairs = sorted(((c, f) for c, f in columns.items() if f), key=lambda cf: fields.index(cf[1]))
        header = [c for c, _ in pairs]
        records = ({c: r.get(f) for c, f in pairs} for r in records)
    if fmt == "xlsx":
        return as_xlsx(records, header)
    if fmt == "csv":
        return "".join(as_csv(records, header)).encode("utf-8")
    return "".join(as_jsonl({k: r.get(k) for k in header} for r in records)).encode("utf-8")
