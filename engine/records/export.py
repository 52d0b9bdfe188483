"""Exporting records: every record a caller may read that matches the list filters,
read in keyset batches (constant memory, no OFFSET) and written as JSON lines, CSV or
an XLSX workbook.

Export is a read path like list, so the same sharing condition is added to each batch."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import replace

from openpyxl import Workbook

from engine.errors import BadQuery
from engine.json_text import json_text
from engine.records import query as list_query
from engine.records.dump import SYSTEM_FIELDS

BATCH = 500
FORMATS = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
NOT_FOR_EXPORT = ("limit", "cursor")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET = "records"
NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def export_records(service, entity, table, shape, params, where=()):
    """The records as an iterator (also matching the SQL clauses `where`); the query is
    parsed (and refused) before it is returned."""
    params = list(params)
    given = sorted({key for key, _ in params if key in NOT_FOR_EXPORT})
    if given:
        raise BadQuery("an export has every matching record: it takes no limit or cursor",
                       details=[(key, "not accepted by export") for key in given])
    query = list_query.parse_list_query(service.permissions.visible(entity), table, params,
                                        *service.masking.unqueried(entity))
    clause = service.sharing.read_clause(entity)
    query = replace(query, limit=BATCH, where=query.where + tuple(where) + ((clause,) if clause is not None else ()),
                    columns=service.permissions.columns(entity, query.columns))
    return _batches(service.storage, table, shape, query)


def _batches(storage, table, shape, query):
    while True:
        with storage.connect() as conn:
            rows = conn.execute(list_query.build_select(table, query)).mappings().all()
        for row in rows[:query.limit]:
            yield shape.dump(row, query.columns)
        if len(rows) <= query.limit:
            return
        last = rows[query.limit - 1]
        query = replace(query, after=tuple(last[name] for name, _ in query.order))


def columns_of(entity, only=None) -> list[str]:
    """CSV header: system columns then fields, limited to ``fields=`` when given."""
    names = list(SYSTEM_FIELDS) + [f.name for f in entity.fields]
    return [n for n in names if only is None or n in only]


def as_jsonl(records):
    for record in records:
        yield json_text(record, separators=(",", ":")) + "\n"


def as_csv(records, header):
    """One header line, then a line per record; lists, objects and currencies as JSON text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for record in records:
        writer.writerow([_cell(record.get(name)) for name in header])
        if buffer.tell() > 64_000:
            yield _drain(buffer)
    yield _drain(buffer)


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json_text(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and needs_quote(value):
        return "'" + value  # a spreadsheet must show it, not run it (CSV formula injection)
    return value


def needs_quote(text: str) -> bool:
    """Whether a text cell is written with a quote before it: it looks like a formula, or
    it is such a quoted text itself (so that taking one quote off reads it back)."""
    text = text.lstrip("'")
    return text[:1] in FORMULA_STARTS and not NUMBER.fullmatch(text)


def as_xlsx(records, header) -> bytes:
    """A workbook of one sheet: the header row, then a row per record (cells as in CSV)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET)
    sheet.append(header)
    for record in records:
        sheet.append([_cell(record.get(name)) for name in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _drain(buffer) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
