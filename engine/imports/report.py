"""An import's reconciliation and its refused-rows file: rows read = created + updated +
skipped + refused, and the refused rows in the file's own format with a `problems`
column, to fix and import again."""
from __future__ import annotations

import csv
import hashlib
import io
import json

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from engine.json_text import json_text

PROBLEMS = "problems"


def totals(read: int, outcomes) -> dict:
    """The sums of the chunks' outcomes, checked against the rows read."""
    sums = {"read": read, "created": 0, "updated": 0, "skipped": 0, "refused": 0}
    for outcome in outcomes:
        for name in ("created", "updated", "skipped"):
            sums[name] += outcome[name]
        sums["refused"] += len(outcome["refused"])
    sums["balanced"] = read == sums["created"] + sums["updated"] + sums["skipped"] + sums["refused"]
    return sums


def plan_digest(rows) -> str:
    """A dry run's plan in one value: each row's action, record, problems and duplicates
    (a kept dry run commits only while its plan still holds: `engine.imports.kept`)."""
    digest = hashlib.sha256()
    for r in rows:
        digest.update(json.dumps([r.row, r.action, r.record_id, [p.get("code") for p in r.problems],
                                  [d.get("record_id") for d in r.duplicates]]).encode())
    return digest.hexdigest()


def problems_text(problems) -> str:
    return "; ".join(f"{p['column'] or p['field']}: {p['message']}" for p in problems)


def refused_file(table, refused) -> bytes:
    """The refused rows (`[{"row", "problems"}]`) of `table` in its format, with a problems column."""
    header = [c for c in table.header if c != PROBLEMS] + [PROBLEMS]
    keep = [i for i, c in enumerate(table.header) if c != PROBLEMS]
    lines = [[table.rows[table.index_of(r["row"])][i] for i in keep] + [problems_text(r["problems"])]
             for r in sorted(refused, key=lambda r: r["row"])]
    if table.format == "xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(header)
        for line in lines:
            sheet.append([_as_text(sheet, c) if isinstance(c, str) and c[:1] == "=" else c for c in line])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    if table.format == "jsonl":
        return b"".join(_jsonl_line(dict(zip(header, line))) for line in lines)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(lines)
    return buffer.getvalue().encode("utf-8-sig")


def _as_text(sheet, cell: str) -> WriteOnlyCell:
    """A cell starting with "=" written back as the text it was, never as a formula: a
    formula never computed (`Unreadable`) would reckon with other rows once its row moved,
    and a text would become one."""
    text = WriteOnlyCell(sheet, value=str(cell))
    text.data_type = "s"
    return text


def _jsonl_line(values: dict) -> bytes:
    """One object as a line of JSON Lines in UTF-8 (an unpaired surrogate the file escaped,
    refused as a value, escaped again: `engine.json_text`)."""
    return (json_text(values) + "\n").encode()
