"""XLSX cells without a value to import, which openpyxl would read as empty or as text: a
formula the workbook keeps no computed value for (a program wrote it and no spreadsheet
calculated it), an array formula's other cells, and a spreadsheet error. Found in the
sheet's own XML."""
from __future__ import annotations

import io
import re
import zipfile

from openpyxl.formula.translate import Translator
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter, \
    range_boundaries
from openpyxl.xml.functions import iterparse

from engine.imports.file_refusal import refuse

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


def unreadable_cells(data, sheet) -> dict:
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
        raise refuse(f"cell {get_column_letter(master[1])}{master[0]} holds an array formula over {ref} with no "
                     "computed value: open the workbook in a spreadsheet and save it, then import it again")
    return [(r, c) for r in range(low_row, high_row + 1) for c in range(low_column, high_column + 1)
            if (r, c) != master]


def unreadable_text(cell: Unreadable) -> str:
    """What is wrong with the cell, for a problem's message."""
    if cell.code == "spreadsheet_error":
        return f"holds the spreadsheet error {cell}"
    return (f"holds the formula {cell} with no computed value (a program wrote the workbook and no "
            "spreadsheet has calculated it): open the workbook in a spreadsheet and save it, or type the value")
