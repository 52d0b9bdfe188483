"""Exporting a tenant's whole storage to one JSON document, before anything is dropped."""
from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import os
from pathlib import Path

from sqlalchemy import MetaData, select


def _jsonable(value):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(f"cannot export {type(value).__name__}")


def export_tenant(tenant_storage, export_dir, name: str) -> Path:
    """Write every table of the tenant (rows as JSON objects) to
    `<export_dir>/<slug>-<UTC timestamp>.json` and return the path.

    The file is written beside its final name and renamed into place, so a partial
    export never looks complete."""
    export_dir = Path(export_dir)
    try:
        export_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportFailed(f"cannot write the export to {export_dir}: {exc.strerror or exc}") from None
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = export_dir / f"{tenant_storage.slug}-{stamp}.json"
    reflected = MetaData()
    with tenant_storage.connect() as conn:
        reflected.reflect(conn, schema=tenant_storage.schema)
        tables = {}
        for table in reflected.sorted_tables:
            rows = conn.execute(select(table)).mappings().all()
            tables[table.name] = [dict(r) for r in rows]
    document = {"tenant": tenant_storage.slug, "name": name, "exported_at": stamp, "tables": tables}
    partial = path.with_suffix(".json.partial")
    try:
        with open(partial, "w", encoding="utf-8") as fh:
            json.dump(document, fh, default=_jsonable, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        partial.rename(path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ExportFailed(f"cannot write the export to {export_dir}: {exc.strerror or exc}") from None
    return path


class ExportFailed(Exception):
    """The export could not be written (nothing was dropped): its message says where and why."""
