"""Reading an import file into a header and rows of cells: CSV in any common encoding
(UTF-8 with or without a BOM, GB18030 from a Chinese Excel), the first (or a named) sheet
of an XLSX workbook, and JSON Lines (one object per line; the header is every key in
the order first seen).

An XLSX cell is read as the value the workbook keeps for it: a formula's is the value a
spreadsheet last computed. A workbook written by a program and never opened in a
spreadsheet can keep none; such a cell, and one holding a spreadsheet error (`#N/A`), is
read as `Unreadable`, which the import refuses, never as empty or as text."""
from __future__ import annotations

import csv
import io
import sys
from itertools import islice
from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime

from openpyxl import load_workbook
from openpyxl.utils.cell import get_column_letter

from engine.errors import ValidationFailed
from engine.fieldtypes import UNSTORABLE
from engine.imports.file_refusal import refuse
from engine.imports.text_encoding import decode
from engine.imports.xlsx_cells import Unreadable, unreadable_cells, unreadable_text
from engine.jsontext import RepeatedKey, TooDeep, TooPrecise, strict_loads
from metadata.fieldtypes import show

FORMATS = ("csv", "xlsx", "jsonl")
MAX_COLUMNS = 500
DELIMITERS = (",", ";", "\t")  # the first wins a tie


@dataclass(frozen=True)
class Table:
    """A file's header and its rows (each row a list of cells, as long as the header:
    text, or for JSON Lines and XLSX any JSON value), its format, and the number each row
    has in the file (`numbers`: a CSV row's first line, an XLSX row's, a JSON Lines
    line's), which reports name it by — blank rows are left out, not renumbered."""

    header: list
    rows: list
    format: str
    numbers: list

    def index_of(self, number: int) -> int:
        """The index in `rows` of the row the file numbers `number`."""
        return self._indexes[number]

    @cached_property
    def _indexes(self) -> dict:
        return {number: index for index, number in enumerate(self.numbers)}


def format_of(filename: str, given: str | None = None) -> str:
    name = (given or filename.rsplit(".", 1)[-1] if given or "." in filename else "").lower()
    if name in ("ndjson", "json"):
        name = "jsonl"
    if name not in FORMATS:
        raise ValidationFailed(f"cannot tell the format of {filename!r}: give one of {', '.join(FORMATS)}",
                               code="bad_import_format",
                               details=[{"field": "format", "message": f"must be one of {', '.join(FORMATS)}"}])
    return name


def read_table(data: bytes, fmt: str, encoding: str | None = None, sheet: str | None = None) -> Table:
    """The file's table; a file that cannot be read is refused with what is wrong."""
    if fmt == "csv":
        return _csv(decode(data, encoding))
    if fmt == "xlsx":
        return _xlsx(data, sheet)
    return _jsonl(decode(data, encoding))


def check_sheet(fmt: str, sheet: str | None) -> None:
    """A sheet named for a file of another format than XLSX is refused (not ignored)."""
    if sheet is not None and fmt != "xlsx":
        raise refuse(f"a sheet is named, but a {fmt.upper()} file has no sheets: only an XLSX workbook does",
                     "sheet")


def _csv(text: str) -> Table:
    first = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=first.count)  # by the header line: the values may hold anything
    # strict: a quote never closed, or text after a closing quote, is refused — read leniently,
    # the first would swallow every line after it into one cell
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    lines, numbers, read = [], [], 0
    try:
        for line in reader:
            if any(cell.strip() for cell in line):
                lines.append(line)
                numbers.append(read + 1)  # the line it starts on: a quoted cell may span lines
            read = reader.line_num
    except csv.Error as exc:  # a quote misplaced, a field longer than the reader takes, a NUL byte…
        raise refuse(f"the CSV file cannot be read from line {read + 1} on: {_csv_error(exc)}") from None
    if not lines:
        raise refuse("the file is empty: it needs a header line")
    header = [cell.strip() for cell in lines[0]]
    _check_header(header)
    width = len(header)
    _refuse_overflow((number, f"cell {index + 1}", cell) for number, line in zip(numbers[1:], lines[1:])
                     for index, cell in enumerate(line[width:], width) if cell.strip())
    return Table(header, [(line + [""] * width)[:width] for line in lines[1:]], "csv", numbers[1:])


def _csv_error(exc: csv.Error) -> str:
    said = str(exc)
    if said == "unexpected end of data":
        return "a quoted cell is never closed (a quote opens it and none ends it)"
    if "expected after" in said:
        return "text follows a quoted cell's closing quote (a quote inside a quoted cell is written twice: \"\")"
    return said


def _refuse_overflow(cells) -> None:
    """Refuse the file when a row holds a value beyond the header's columns (`cells`: the
    row's number, the cell's name, its value): it would have no column to go to, and be
    lost — most often a value holding the delimiter without quotes, which moved the
    row's other values too."""
    found = list(islice(cells, 3))
    if found:
        named = "; ".join(f"row {number}, {name}: {show(value, 40)}" for number, name, value in found)
        raise refuse(f"a row holds a value beyond the header's columns ({named}): name its column in the "
                     "header, or quote a value that holds the delimiter")


def _check_header(header) -> None:
    if len(header) > MAX_COLUMNS:
        raise refuse(f"the file has {len(header)} columns: at most {MAX_COLUMNS}")
    blank = [i + 1 for i, name in enumerate(header) if not name]
    if blank:
        raise refuse(f"column {blank[0]} of the header has no name")
    unstorable = [i + 1 for i, name in enumerate(header) if UNSTORABLE.search(name)]
    if unstorable:
        raise refuse(f"the name of column {unstorable[0]} holds a NUL character or an unpaired surrogate")
    seen = set()
    for name in header:
        if name in seen:
            raise refuse(f"the header names column {name!r} twice")
        seen.add(name)


def _xlsx(data: bytes, sheet: str | None) -> Table:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise refuse(f"the file is not an XLSX workbook ({type(exc).__name__})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise refuse(f"the workbook has no sheet {sheet!r} (it has {', '.join(book.sheetnames)})", "sheet")
        chosen = book[sheet or book.sheetnames[0]]
        chosen.reset_dimensions()  # every row there is, not only those the sheet's own <dimension> claims
        numbered = [(number, list(r)) for number, r in  # the sheet's row numbers, blank rows included
                    enumerate(chosen.iter_rows(values_only=True), 1)]
        unreadable = unreadable_cells(io.BytesIO(data), chosen)
    except ValidationFailed:
        raise
    except Exception as exc:  # a sheet its reader cannot take (a cell named "A0", a row "x"…)
        raise refuse(f"the sheet cannot be read ({type(exc).__name__})") from None
    finally:
        book.close()
    for (number, column), cell in unreadable.items():
        numbered += [(n, []) for n in range(len(numbered) + 1, number + 1)]
        row = numbered[number - 1][1]
        row += [None] * (column - len(row))
        row[column - 1] = cell
    numbered = [(n, r) for n, r in numbered if any(c is not None and str(c).strip() for c in r)]
    if not numbered:
        raise refuse("the sheet is empty: it needs a header row")
    cell = next((c for c in numbered[0][1] if isinstance(c, Unreadable)), None)
    if cell is not None:
        raise refuse(f"the header's cell {cell.cell} {unreadable_text(cell)}: type the column's name there")
    header = [("" if c is None else str(c)).strip() for c in numbered[0][1]]
    while header and not header[-1]:
        header.pop()
    _check_header(header)
    width = len(header)
    _refuse_overflow((number, f"cell {get_column_letter(index + 1)}{number}", cell) for number, r in numbered[1:]
                     for index, cell in enumerate(r[width:], width) if cell is not None and str(cell).strip())
    return Table(header, [[_xlsx_cell(c) for c in (r + [None] * width)[:width]] for _, r in numbered[1:]], "xlsx",
                 [n for n, _ in numbered[1:]])


def _xlsx_cell(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _TooLong(Exception):
    """A whole number with more digits than Python reads from text."""


def _whole(text: str) -> int:
    limit = sys.get_int_max_str_digits()
    if limit and len(text) - (text[:1] == "-") > limit:
        raise _TooLong()
    return int(text)


def _jsonl(text: str) -> Table:
    if text.lstrip("\ufeff \t\r\n")[:1] == "[":  # a JSON array, as many programs export JSON
        raise refuse("the file is a JSON array, not JSON Lines: an import takes one JSON object per line "
                     "(jq -c '.[]' writes an array so)")
    header, objects, numbers = [], [], []
    seen = set()
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines: a value may hold U+2028
        if not line.strip():
            continue
        try:
            value = strict_loads(line, parse_int=_whole)
        except RepeatedKey as exc:
            raise refuse(f"line {number} names the key {exc.key[:100]!r} twice: which value is meant?") from None
        except TooPrecise as exc:
            raise refuse(f"line {number}: {exc}") from None
        except TooDeep:
            raise refuse(f"line {number} is nested too deeply to read") from None
        except _TooLong:
            raise refuse(f"line {number} holds a number of more than {sys.get_int_max_str_digits()} digits") \
                from None
        except ValueError as exc:
            raise refuse(f"line {number} is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise refuse(f"line {number} is not a JSON object")
        for key in value:
            if key not in seen:
                seen.add(key)
                header.append(key)
        objects.append(value)
        numbers.append(number)
    if not objects:
        raise refuse("the file has no JSON objects")
    _check_header(header)
    return Table(header, [[o.get(name, "") for name in header] for o in objects], "jsonl", numbers)
