"""XLSX cells without a value to import: a formula the workbook keeps no computed value
for (a program wrote it and no spreadsheet calculated it) and a spreadsheet error are
refused rows naming the cell, never read as empty or as text; every row of the sheet is
read, whatever its `<dimension>` claims. The sheets are written as the XML programs and
spreadsheets write (SQLite and PostgreSQL for the imports)."""
import copy
import io
import pickle
import re
import zipfile

import pytest
from openpyxl import Workbook

from engine.errors import ValidationFailed
from engine.imports import importer
from engine.imports.planning import Options
from engine.imports.reading import read_table
from engine.imports.xlsx_cells import Unreadable


def workbook(sheet_data: str, dimension: str = "A1") -> bytes:
    """A workbook whose first sheet's `<sheetData>` is `sheet_data` (cells as XML)."""
    book = Workbook()
    book.active["A1"] = "placeholder"
    out = io.BytesIO()
    book.save(out)
    source, target = zipfile.ZipFile(io.BytesIO(out.getvalue())), io.BytesIO()
    with zipfile.ZipFile(target, "w") as written:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<sheetData>.*</sheetData>", f"<sheetData>{sheet_data}</sheetData>".encode(), data)
                data = re.sub(rb'<dimension ref="[^"]*" ?/>', f'<dimension ref="{dimension}"/>'.encode(), data)
            written.writestr(item, data)
    return target.getvalue()


def text(cell: str, value: str) -> str:
    return f'<c r="{cell}" t="inlineStr"><is><t>{value}</t></is></c>'


HEADER = f'<row r="1">{text("A1", "full_name")}{text("B1", "lifetime_value")}</row>'


def one_row(value_cell: str) -> bytes:
    return workbook(HEADER + f'<row r="2">{text("A2", "Ann")}{value_cell}</row>')


@pytest.mark.parametrize("cell, read", [
    ('<c r="B2"><f>1+1</f><v>2</v></c>', 2),  # computed by a spreadsheet
    ('<c r="B2" t="str"><f>IF(TRUE,"","x")</f><v></v></c>', ""),  # computed: an empty text
    ('<c r="B2"><f>1+1</f><v/></c>', Unreadable("=1+1", "B2", "formula_not_computed")),  # as openpyxl writes one
    ('<c r="B2"><f>1+1</f></c>', Unreadable("=1+1", "B2", "formula_not_computed")),
    ('<c r="B2" t="e"><v>#DIV/0!</v></c>', Unreadable("#DIV/0!", "B2", "spreadsheet_error")),
    ('<c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c>', Unreadable("#DIV/0!", "B2", "spreadsheet_error")),
])
def test_a_formula_cell_reads_as_its_computed_value_or_as_unreadable(cell, read):
    [row] = read_table(one_row(cell), "xlsx").rows
    assert row == ["Ann", read] and type(row[1]) is type(read)
    if isinstance(read, Unreadable):
        assert (row[1].cell, row[1].code) == (read.cell, read.code)


def test_a_shared_formula_is_moved_to_each_cell_that_shares_it():
    data = workbook(HEADER + "".join(
        f'<row r="{n}">{text(f"A{n}", f"P{n}")}<c r="B{n}"><f t="shared" si="0"{body}</c></row>'
        for n, body in ((2, ' ref="B2:B4">A2*2</f>'), (3, "/>"), (4, "/>"))))
    assert [row[1] for row in read_table(data, "xlsx").rows] == ["=A2*2", "=A3*2", "=A4*2"]


def test_an_array_formula_with_no_computed_value_marks_every_cell_of_its_range():
    """As a program writes one (openpyxl's ArrayFormula): the formula in its first cell, its
    other cells absent — a spreadsheet would fill them all with its result."""
    rows = "".join(f'<row r="{n}">{text(f"A{n}", f"P{n}")}</row>' for n in (3, 4))
    data = workbook(HEADER + f'<row r="2">{text("A2", "P2")}<c r="B2"><f t="array" ref="B2:B4">A2:A4&amp;"x"</f>'
                    "</c></row>" + rows)
    cells = [row[1] for row in read_table(data, "xlsx").rows]
    assert [(c, c.cell, c.code) for c in cells] == [
        ('=A2:A4&"x"', "B2", "formula_not_computed"), ('{=A2:A4&"x"}', "B3", "formula_not_computed"),
        ('{=A2:A4&"x"}', "B4", "formula_not_computed")]
    computed = workbook(HEADER + f'<row r="2">{text("A2", "P2")}<c r="B2"><f t="array" ref="B2:B3">A2:A3</f>'
                        f'<v>1</v></c></row><row r="3">{text("A3", "P3")}<c r="B3"><v>2</v></c></row>')
    assert [row[1] for row in read_table(computed, "xlsx").rows] == [1, 2]
    whole_column = workbook(HEADER + f'<row r="2">{text("A2", "P2")}<c r="B2"><f t="array" ref="B2:B1048576">A2:A9'
                            "</f></c></row>" + rows)
    with pytest.raises(ValidationFailed) as refused:
        read_table(whole_column, "xlsx")
    assert "cell B2 holds an array formula over B2:B1048576 with no computed value" in refused.value.message


def test_every_row_is_read_whatever_the_sheets_dimension_claims_and_cells_may_be_unnamed():
    def bare(value):  # a cell without its `r`: the one after the last
        return f'<c t="inlineStr"><is><t>{value}</t></is></c>'
    rows = "".join(f"<row>{bare(f'P{n}')}<c><v>{n}</v></c></row>" for n in range(2, 6))
    table = read_table(workbook(f"<row>{bare('full_name')}{bare('n')}</row>" + rows
                                + "<row><c/><c><f>1+1</f></c></row>", dimension="A1:B2"), "xlsx")
    assert table.rows == [["P2", 2], ["P3", 3], ["P4", 4], ["P5", 5], ["", "=1+1"]]
    assert table.numbers == [2, 3, 4, 5, 6] and table.rows[-1][1].cell == "B6"


@pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")
def test_empty_rows_and_a_data_validations_formula_after_the_cells_are_no_cells():
    """As Excel writes them: a row with a height but no cell, a list validation naming another
    sheet (`<xm:f>` in `<extLst>`, after `<sheetData>`), an error written with single quotes."""
    data = workbook(HEADER + f'<row r="2">{text("A2", "Ann")}<c r="B2"><f>1+1</f><v>2</v></c></row>'
                    '<row r="3" ht="30" customHeight="1"/>'
                    f"<row r=\"4\">{text('A4', 'Bo')}<c r='B4' t='e'><v>#REF!</v></c></row>")
    data = _with_extension(data, '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
                                 'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
                                 '<x14:dataValidations xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main" '
                                 'count="1"><x14:dataValidation type="list"><x14:formula1><xm:f>Lists!$A$1:$A$3</xm:f>'
                                 '</x14:formula1><xm:sqref>B2:B9</xm:sqref></x14:dataValidation></x14:dataValidations>'
                                 '</ext></extLst>')
    table = read_table(data, "xlsx")
    assert table.rows == [["Ann", 2], ["Bo", "#REF!"]] and table.numbers == [2, 4]
    assert (table.rows[1][1].cell, table.rows[1][1].code) == ("B4", "spreadsheet_error")


def _with_extension(data: bytes, extension: str) -> bytes:
    """The workbook with `extension` at the end of its first sheet."""
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w") as written:
        for item in source.infolist():
            part = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                part = part.replace(b"</worksheet>", extension.encode() + b"</worksheet>")
            written.writestr(item, part)
    return target.getvalue()


def test_an_unreadable_cell_is_copied_and_pickled_as_itself():
    cell = Unreadable("=A1", "B2", "formula_not_computed")
    for made in (copy.copy(cell), copy.deepcopy(cell), pickle.loads(pickle.dumps(cell))):
        assert (type(made), made, made.cell, made.code) == (Unreadable, "=A1", "B2", "formula_not_computed")


def test_a_header_cell_without_a_value_is_a_refused_file():
    data = workbook(f'<row r="1">{text("A1", "full_name")}<c r="B1"><f>"e"&amp;"mail"</f><v/></c></row>'
                    f'<row r="2">{text("A2", "Ann")}</row>')
    with pytest.raises(ValidationFailed) as refused:
        read_table(data, "xlsx")
    assert "the header's cell B1 holds the formula" in refused.value.message


def test_rows_with_such_cells_are_refused_naming_the_cell_and_the_others_imported(acme):
    acme.records.create("account", {"name": "Globex"})
    header = f'<row r="1">{text("A1", "full_name")}{text("B1", "lifetime_value")}{text("C1", "account")}' \
             f'{text("D1", "note")}</row>'
    rows = [
        f'<row r="2">{text("A2", "Ann")}<c r="B2"><f>10*2</f><v>20</v></c>{text("C2", "Globex")}'
        f'<c r="D2"><f>A2</f><v/></c></row>',  # an unmapped column's formula does not matter
        f'<row r="3">{text("A3", "Bo")}<c r="B3"><f>B2*2</f><v/></c></row>',
        f'<row r="4">{text("A4", "Cy")}<c r="B4" t="e"><v>#N/A</v></c></row>',
        f'<row r="5">{text("A5", "Di")}<c r="C5"><f>"Glo"&amp;"bex"</f></c></row>',  # a reference never computed
        f'<row r="6"><c r="B6"><f>SUM(B2:B5)</f><v/></c></row>',  # its only cell: not a blank row
    ]
    given = importer.Source("people.xlsx", workbook(header + "".join(rows), dimension="A1:D2"))
    plan = importer.dry_run(acme.records, "contact", given)
    assert {r.row: r.action for r in plan.rows} == {2: "create", 3: "refuse", 4: "refuse", 5: "refuse", 6: "refuse"}
    problems = {r.row: [(p["column"], p["code"], p["message"]) for p in r.problems] for r in plan.rows if r.problems}
    assert problems[3] == [("lifetime_value", "formula_not_computed",
                            "cell B3 holds the formula =B2*2 with no computed value (a program wrote the workbook "
                            "and no spreadsheet has calculated it): open the workbook in a spreadsheet and save it, "
                            "or type the value")]
    assert problems[4] == [("lifetime_value", "spreadsheet_error", "cell B4 holds the spreadsheet error #N/A")]
    assert [(c, code) for c, code, _ in problems[5]] == [("account", "formula_not_computed")]
    assert any(message.startswith("cell B6 holds the formula =SUM(B2:B5)") for _, _, message in problems[6])
    done = importer.commit(acme.records, "contact", given, None, Options())
    assert done.totals == {**done.totals, "read": 5, "created": 1, "refused": 4, "balanced": True}
    [ann] = acme.records.list("contact", [])["items"]
    assert (ann["full_name"], ann["lifetime_value"]) == ("Ann", "20.00")
    back = read_table(done.refused_file, "xlsx")  # formulas as text: the rows moved, their references did not
    assert [row[:3] for row in back.rows] == [["Bo", "=B2*2", ""], ["Cy", "#N/A", ""], ["Di", "", '="Glo"&"bex"'],
                                              ["", "=SUM(B2:B5)", ""]]
    kinds = [[getattr(cell, "code", None) for cell in row[:3]] for row in back.rows]
    assert kinds == [[None] * 3, [None, "spreadsheet_error", None], [None] * 3, [None] * 3]  # an error stays one


@pytest.mark.parametrize("rows", [
    f'<row r="x">{text("A2", "Ann")}</row>',
    '<row r="2"><c r="A0"><f>1+1</f></c></row>',
    '<row r="2"><c r="B2"><f t="shared" si="0" ref="B2:B3">SUM(</f></c></row><row r="3"><c r="B3"><f t="shared" si="0"/></c></row>',
])
def test_a_sheet_its_reader_cannot_take_is_a_refused_file_not_an_error(rows):
    """Refused plainly, or read (a formula that is no formula is still one never computed):
    never another exception, which the API would answer with a 500."""
    try:
        read_table(workbook(HEADER + rows), "xlsx")
    except ValidationFailed as refused:
        assert "the sheet cannot be read" in refused.message or "formula" in refused.message
