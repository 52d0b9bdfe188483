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
import re
import sys
import zipfile
from itertools import islice
from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime

from openpyxl import load_workbook
from openpyxl.formula.translate import Translator
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter, \
    range_boundaries
from openpyxl.xml.functions import iterparse

from engine.errors import ValidationFailed
from engine.fieldtypes import UNSTORABLE
from engine.jsontext import RepeatedKey, TooDeep, TooPrecise, strict_loads

FORMATS = ("csv", "xlsx", "jsonl")
ENCODINGS = ("utf-8-sig", "gb18030")  # tried in this order when none is given
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


_FORMULA_OR_ERROR = re.compile(rb"<(?:\w+:)?f[ >/]|\st=[\"']e[\"']")


class Unreadable(str):
    """An XLSX cell without a value to import: a formula the workbook keeps no computed
    value (`code` "formula_not_computed", the text its formula), or a spreadsheet error such
    as `#DIV/0!` (`code` "spreadsheet_error", the text the error); `cell` names it (`C5`)."""

    __slots__ = ("cell", "code")

    def __new__(cls, text: str, cell: str, code: str):
        made = super().__new__(cls, text)
        made.cell, made.code = cell, code
        return made

    def __reduce__(self):  # copied and pickled as itself
        return Unreadable, (str(self), self.cell, self.code)


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
        return _csv(_decode(data, encoding))
    if fmt == "xlsx":
        return _xlsx(data, sheet)
    return _jsonl(_decode(data, encoding))


def check_sheet(fmt: str, sheet: str | None) -> None:
    """A sheet named for a file of another format than XLSX is refused (not ignored)."""
    if sheet is not None and fmt != "xlsx":
        raise _refuse(f"a sheet is named, but a {fmt.upper()} file has no sheets: only an XLSX workbook does",
                      "sheet")


def _refuse(message: str, field: str = "file"):
    return ValidationFailed(message, code="bad_import_file", details=[{"field": field, "message": message}])


def _decode(data: bytes, encoding: str | None) -> str:
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise _refuse(f"unknown encoding {encoding!r}", "encoding") from None
        except UnicodeDecodeError as exc:
            raise _refuse(f"the file is not {encoding}: byte {exc.start} cannot be read", "encoding") from None
    for name in ENCODINGS:
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if name == "gb18030" and not _reads_as_chinese(text):
            raise _refuse("the file is not UTF-8, and read as GB18030 it holds mostly rare characters "
                          f"({_rare_sample(text)}): it is likely in another encoding, such as Windows-1252 "
                          "(cp1252) for Western European text; give its encoding (--encoding; in the API, the "
                          "encoding field) — gb18030 too, if the text really is so", "encoding")
        return text
    raise _refuse("the file's encoding is neither UTF-8 nor GB18030: give its encoding (--encoding; in the API, "
                  "the encoding field)", "encoding")


SAMPLE = 100_000  # characters of a file GB18030's reading is judged by


_INSIDE_LATIN = re.compile(r"(?<=[A-Za-z])[^\x00-\x7f](?=[A-Za-z])")


def _reads_as_chinese(text: str) -> bool:
    """Whether `text`, read as GB18030, reads as Chinese rather than as Western text in
    another encoding: refused only on both signs of the latter. Read as GB18030, cp1252's
    "Müller" is "M黮ler" — an accented letter and the letter after it make one character
    GB2312's common ones do not have, inside a Latin word. Chinese text holds mostly common
    characters (traditional Chinese does not, but never inside Latin words); symbols and emoji
    count for neither."""
    sample = text[:SAMPLE]
    letters = [c for c in sample if not c.isascii() and c.isalpha()]
    if not letters:
        return True
    common = len("".join(letters).encode("gb2312", "ignore")) // 2
    inside = len(_INSIDE_LATIN.findall(sample))
    return common * 2 >= len(letters) or inside * 4 < len(letters)


def _rare_sample(text: str) -> str:
    words = [w for w in text[:SAMPLE].split() if not w.isascii()][:3]
    return ", ".join(_short(w[:30]) for w in words)


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
        raise _refuse(f"the CSV file cannot be read from line {read + 1} on: {_csv_error(exc)}") from None
    if not lines:
        raise _refuse("the file is empty: it needs a header line")
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


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _refuse_overflow(cells) -> None:
    """Refuse the file when a row holds a value beyond the header's columns (`cells`: the
    row's number, the cell's name, its value): it would have no column to go to, and be
    lost — most often a value holding the delimiter without quotes, which moved the
    row's other values too."""
    found = list(islice(cells, 3))
    if found:
        named = "; ".join(f"row {number}, {name}: {_short(value)}" for number, name, value in found)
        raise _refuse(f"a row holds a value beyond the header's columns ({named}): name its column in the "
                      "header, or quote a value that holds the delimiter")


def _check_header(header) -> None:
    if len(header) > MAX_COLUMNS:
        raise _refuse(f"the file has {len(header)} columns: at most {MAX_COLUMNS}")
    blank = [i + 1 for i, name in enumerate(header) if not name]
    if blank:
        raise _refuse(f"column {blank[0]} of the header has no name")
    unstorable = [i + 1 for i, name in enumerate(header) if UNSTORABLE.search(name)]
    if unstorable:
        raise _refuse(f"the name of column {unstorable[0]} holds a NUL character or an unpaired surrogate")
    seen = set()
    for name in header:
        if name in seen:
            raise _refuse(f"the header names column {name!r} twice")
        seen.add(name)


def _xlsx(data: bytes, sheet: str | None) -> Table:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise _refuse(f"the file is not an XLSX workbook ({type(exc).__name__})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise _refuse(f"the workbook has no sheet {sheet!r} (it has {', '.join(book.sheetnames)})", "sheet")
        chosen = book[sheet or book.sheetnames[0]]
        chosen.reset_dimensions()  # every row there is, not only those the sheet's own <dimension> claims
        numbered = [(number, list(r)) for number, r in  # the sheet's row numbers, blank rows included
                    enumerate(chosen.iter_rows(values_only=True), 1)]
        unreadable = _unreadable(io.BytesIO(data), chosen)
    except ValidationFailed:
        raise
    except Exception as exc:  # a sheet its reader cannot take (a cell named "A0", a row "x"…)
        raise _refuse(f"the sheet cannot be read ({type(exc).__name__})") from None
    finally:
        book.close()
    for (number, column), cell in unreadable.items():
        numbered += [(n, []) for n in range(len(numbered) + 1, number + 1)]
        row = numbered[number - 1][1]
        row += [None] * (column - len(row))
        row[column - 1] = cell
    numbered = [(n, r) for n, r in numbered if any(c is not None and str(c).strip() for c in r)]
    if not numbered:
        raise _refuse("the sheet is empty: it needs a header row")
    cell = next((c for c in numbered[0][1] if isinstance(c, Unreadable)), None)
    if cell is not None:
        raise _refuse(f"the header's cell {cell.cell} {unreadable_text(cell)}: type the column's name there")
    header = [("" if c is None else str(c)).strip() for c in numbered[0][1]]
    while header and not header[-1]:
        header.pop()
    _check_header(header)
    width = len(header)
    _refuse_overflow((number, f"cell {get_column_letter(index + 1)}{number}", cell) for number, r in numbered[1:]
                     for index, cell in enumerate(r[width:], width) if cell is not None and str(cell).strip())
    return Table(header, [[_xlsx_cell(c) for c in (r + [None] * width)[:width]] for _, r in numbered[1:]], "xlsx",
                 [n for n, _ in numbered[1:]])


def _unreadable(data, sheet) -> dict:
    """{(row, column): Unreadable} of the sheet's cells holding a formula and no computed
    value, or an error. openpyxl reads a formula without its value as empty, and an error as
    its text; the sheet's own XML tells them apart (read only when it holds either): a
    formula's `<v>` is missing, or empty while the cell is not of text (`t="str"`: the
    computed value is an empty text), and an error's cell is `t="e"`. A cell sharing another's
    formula gets that formula moved to it, as a spreadsheet shows it; an array formula with no
    computed value marks every cell of its range (its result's cells). Only the `<f>` of a
    cell counts (a data validation's, after the cells, does not)."""
    with zipfile.ZipFile(data) as archive:
        part = archive.read(sheet._worksheet_path)  # the part openpyxl read the sheet from
    if not _FORMULA_OR_ERROR.search(part):
        return {}
    found, shared, pending, row, count = {}, {}, [], 0, 0
    for _, element in iterparse(io.BytesIO(part)):  # each element once it is whole
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "c":
            count += 1
            kind, formula, value = element.get("t"), None, None
            for child in element:
                name = child.tag.rsplit("}", 1)[-1]
                if name == "f":
                    formula = child
                elif name == "v":
                    value = child.text or ""
            if formula is not None or kind == "e":
                name = element.get("r")
                column = column_index_from_string(coordinate_from_string(name)[0]) if name else count
                pending.append((column, kind, value, formula if formula is None else
                                (formula.text, formula.get("si") if formula.get("t") == "shared" else None,
                                 formula.get("ref") if formula.get("t") == "array" else None)))
            element.clear()
        elif tag == "row":
            row, count = int(element.get("r") or row + 1), 0
            for column, kind, value, formula in pending:
                cell = f"{get_column_letter(column)}{row}"
                spread = None
                if formula is not None:
                    text, group, spread = formula
                    if group is not None and text:
                        shared[group] = ("=" + text, cell)
                    text = Translator(*shared[group]).translate_formula(cell) \
                        if group in shared and not text else "=" + (text or "")
                if kind == "e":
                    found[(row, column)] = Unreadable(value or "#VALUE!", cell, "spreadsheet_error")
                elif formula is not None and (value is None or (not value and kind != "str")):
                    found[(row, column)] = Unreadable(text, cell, "formula_not_computed")
                    for at in _array_cells(spread, (row, column)):  # the cells its result would fill
                        found[at] = Unreadable("{" + text + "}", f"{get_column_letter(at[1])}{at[0]}",
                                               "formula_not_computed")
            pending = []
            element.clear()
    return found


ARRAY_CELLS = 10_000  # an uncomputed array formula over more cells refuses the file


def _array_cells(ref, master) -> list:
    """The (row, column) cells besides `master` that the array formula over `ref` ("B2:B9")
    fills: without its computed values they hold nothing openpyxl reads, and would be read as
    empty. Over more than `ARRAY_CELLS` cells (a whole column's), the file is refused."""
    if not ref:
        return []
    try:
        low_column, low_row, high_column, high_row = range_boundaries(ref)
    except (TypeError, ValueError):
        return []
    if (high_row - low_row + 1) * (high_column - low_column + 1) > ARRAY_CELLS:
        raise _refuse(f"cell {get_column_letter(master[1])}{master[0]} holds an array formula over {ref} with no "
                      "computed value: open the workbook in a spreadsheet and save it, then import it again")
    return [(r, c) for r in range(low_row, high_row + 1) for c in range(low_column, high_column + 1)
            if (r, c) != master]


def unreadable_text(cell: Unreadable) -> str:
    """What is wrong with the cell, for a problem's message."""
    if cell.code == "spreadsheet_error":
        return f"holds the spreadsheet error {cell}"
    return (f"holds the formula {cell} with no computed value (a program wrote the workbook and no "
            "spreadsheet has calculated it): open the workbook in a spreadsheet and save it, or type the value")


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
    header, objects, numbers = [], [], []
    seen = set()
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines: a value may hold U+2028
        if not line.strip():
            continue
        try:
            value = strict_loads(line, parse_int=_whole)
        except RepeatedKey as exc:
            raise _refuse(f"line {number} names the key {exc.key[:100]!r} twice: which value is meant?") from None
        except TooPrecise as exc:
            raise _refuse(f"line {number} holds {exc}") from None
        except TooDeep:
            raise _refuse(f"line {number} is nested too deeply to read") from None
        except _TooLong:
            raise _refuse(f"line {number} holds a number of more than {sys.get_int_max_str_digits()} digits") \
                from None
        except ValueError as exc:
            raise _refuse(f"line {number} is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise _refuse(f"line {number} is not a JSON object")
        for key in value:
            if key not in seen:
                seen.add(key)
                header.append(key)
        objects.append(value)
        numbers.append(number)
    if not objects:
        raise _refuse("the file has no JSON objects")
    _check_header(header)
    return Table(header, [[o.get(name, "") for name in header] for o in objects], "jsonl", numbers)
