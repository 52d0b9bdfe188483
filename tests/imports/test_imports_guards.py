"""An import's guards, as specifications on SQLite and PostgreSQL: a whole-number reference
cell names a record by its natural key before its id; upserting needs the update right;
a CSV the reader cannot read is a clear refusal; a run that stops on an internal error
keeps no database text in what the API shows; JSON Lines values that are no text are
refused rows, and lines the reader cannot take a refused file; a row is named by its
number in the file."""
import io

import pytest
from openpyxl import Workbook

from engine.errors import Forbidden, ValidationFailed
from engine.imports import importer, runs
from engine.imports.planning import Options
from engine.imports.reading import read_table
from engine.auth import create_user


def source(text, name="people.csv"):
    return importer.Source(name, text.encode("utf-8"))


def test_a_whole_number_cell_names_a_record_by_its_natural_key_before_its_id(acme):
    globex = acme.records.create("account", {"name": "Globex"})["id"]
    code = acme.records.create("account", {"name": str(globex)})["id"]   # an account named "1"
    result = importer.dry_run(acme.records, "contact", source(
        f"full_name,account\nBy name,{globex}\nBy id,{code}\n"))
    by_row = {r.row: r.data for r in result.rows}
    assert by_row[2]["account"] == code     # "1" is the name of the second account
    assert by_row[3]["account"] == code     # "2" names no account: it is the id 2


def test_upserting_needs_the_update_right(install):
    install.registry.create("shop")
    session = install.session("shop")
    session.apply_metadata({"entities": [{"name": "lead", "fields": [
        {"name": "email", "type": "email", "unique": True}, {"name": "name", "type": "string"}]}],
        "roles": [{"name": "loader", "label": {"en": "Loader"}, "entities": {
            "lead": {"rights": ["read", "create", "import"]}}}]})
    session.records.create("lead", {"email": "a@x.org", "name": "A"})
    actor = create_user(session.storage, "load@shop.test", roles=["loader"])
    service = install.session("shop", actor).records
    text = "email,name\na@x.org,Changed\nb@x.org,B\n"
    assert importer.dry_run(service, "lead", source(text)).totals["created"] == 1   # no key: creates only (a@ is taken)
    for options in (Options(key="email"), Options(on_duplicate="update")):
        with pytest.raises(Forbidden):
            importer.dry_run(service, "lead", source(text), options=options)
    assert session.records.list("lead", [])["items"][0]["name"] == "A"


def test_a_csv_the_reader_cannot_read_is_refused_with_its_reason(acme):
    huge = "x" * 200_000
    with pytest.raises(ValidationFailed) as refused:
        importer.dry_run(acme.records, "contact", source(f'full_name\n"{huge}\n'))
    assert "cannot be read" in refused.value.message or "CSV" in refused.value.message


def test_a_run_stopped_by_an_internal_error_keeps_no_database_text(acme, monkeypatch):
    run_id = importer.keep(acme.records, "contact", source("full_name\nAnn\n"), options=Options())

    def broken(*args, **kwargs):
        raise RuntimeError("INSERT INTO contact VALUES ('Ann', 'secret@x.org')")
    monkeypatch.setattr(importer, "write_all", broken)
    with pytest.raises(RuntimeError):
        importer.resume(acme.records, run_id)
    shown = runs.public(runs.get(acme.storage, run_id))
    assert shown["status"] == "failed" and "secret@x.org" not in str(shown)
    assert "internal error (RuntimeError)" in shown["totals"]["error"]


def test_a_json_lines_value_that_is_not_text_is_a_refused_row_and_its_file_reads_back(acme):
    text = ('{"full_name": "Good"}\n{"full_name": "S\\ud800x"}\n{"full_name": {"a": 1}}\n'
            '{"full_name": ["x", "y"]}\r\n{"full_name": "Ann\u2028Lee", "notes": "fine"}\n')
    given = importer.Source("people.jsonl", text.encode())
    dry = importer.dry_run(acme.records, "contact", given)
    assert {r.row: r.action for r in dry.rows} == {1: "create", 2: "refuse", 3: "refuse", 4: "refuse", 5: "create"}
    codes = {r.row: [p["code"] for p in r.problems] for r in dry.rows if r.problems}  # rows named by their lines
    assert codes == {2: ["unstorable_text"], 3: ["not_text"], 4: ["not_text"]}
    done = importer.commit(acme.records, "contact", given, None, Options())
    assert done.totals == {**done.totals, "created": 2, "refused": 3, "balanced": True}
    stored = sorted(r["full_name"] for r in acme.records.list("contact", [])["items"])
    assert stored == ["Ann\u2028Lee", "Good"]  # a line separator inside a value is text, not a new line
    back = read_table(done.refused_file, "jsonl")
    assert [row[0] for row in back.rows] == ["S\ud800x", {"a": 1}, ["x", "y"]]  # as the file had them


@pytest.mark.parametrize("line, said", [
    ('{"full_name": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    ('{"full_name": 1' + "0" * 5000 + "}", "a number of more than"),
    ('{"\\ud800": 1}', "unpaired surrogate"),
    ('{"full_name": "Ann", "email": "a@x.org", "full_name": "Bo"}', "line 1 names the key 'full_name' twice"),
    ('{"full_name": "Ann", "notes": {"a": 1, "a": 2}}', "line 1 names the key 'a' twice"),
    ('{"full_name": NaN}', "line 1 is not JSON: NaN is not a JSON number"),
    ('[{"full_name": "Ann"},\n {"full_name": "Bo"}]', "the file is a JSON array, not JSON Lines"),
    ('{"full_name": "Ann", "lifetime_value": 1e999}', "line 1 is not JSON: 1e999 is too large a number"),
])
def test_a_json_lines_file_the_reader_cannot_take_is_refused_with_its_line(acme, line, said):
    with pytest.raises(ValidationFailed) as refused:
        importer.dry_run(acme.records, "contact", importer.Source("p.jsonl", (line + "\n").encode()))
    assert said in refused.value.message


def test_a_row_is_named_by_its_number_in_the_file_blank_rows_and_long_cells_included(acme):
    text = 'full_name,email\n\nGood,g@x.org\n,\n"Two\nlines",t@x.org\nBad,not-an-email\nAgain,g@x.org\n'
    plan = importer.dry_run(acme.records, "contact", source(text), options=Options(key="email"))
    assert {r.row: r.action for r in plan.rows} == {3: "create", 5: "create", 7: "refuse", 8: "refuse"}
    assert "repeats row 3" in plan.rows[-1].problems[0]["message"]
    refused = read_table(importer.commit(acme.records, "contact", source(text), None, Options(key="email"))
                         .refused_file, "csv")
    assert [row[:2] for row in refused.rows] == [["Bad", "not-an-email"], ["Again", "g@x.org"]]

    book = Workbook()
    sheet = book.active
    for row, values in ((3, ["full_name", "email"]), (4, ["Xl", "xl@x.org"]), (6, ["Bad", "nope"])):
        for column, value in enumerate(values, 1):
            sheet.cell(row=row, column=column, value=value)
    data = io.BytesIO()
    book.save(data)
    plan = importer.dry_run(acme.records, "contact", importer.Source("p.xlsx", data.getvalue()))
    assert {r.row: r.action for r in plan.rows} == {4: "create", 6: "refuse"}  # the sheet's own row numbers


@pytest.mark.parametrize("text, said", [
    ('full_name,email\n"Alice,alice@example.cn\nBob,bob@example.cn\nCarol,carol@example.cn\n',
     "cannot be read from line 2 on: a quoted cell is never closed"),
    ('full_name,email\nGood,g@x.org\n"x"y,z@x.org\n', "cannot be read from line 3 on: text follows a quoted cell's"),
    ("full_name,email\nAlice,a@example.cn,EXTRA\n", "beyond the header's columns (row 2, cell 3: 'EXTRA')"),
    ("full_name,email\nGood,g@x.org\nLi, Lei,l@x.org\n", "(row 3, cell 3: 'l@x.org')"),
])
def test_a_csv_whose_cells_cannot_all_be_placed_is_refused_and_nothing_is_lost(acme, text, said):
    for run in (lambda: importer.dry_run(acme.records, "contact", source(text)),
                lambda: importer.commit(acme.records, "contact", source(text), None, Options())):
        with pytest.raises(ValidationFailed) as refused:
            run()
        assert said in refused.value.message
    assert acme.records.list("contact", [])["items"] == []


def test_quotes_inside_cells_and_empty_cells_past_the_header_are_read_as_written(acme):
    text = 'full_name,email\nBob "the builder",b@x.org,,\n"Ann ""Q"" Lee",a@x.org\n'
    assert read_table(text.encode(), "csv").rows == [['Bob "the builder"', "b@x.org"], ['Ann "Q" Lee', "a@x.org"]]


def test_an_xlsx_value_in_a_column_the_header_does_not_name_is_refused_naming_its_cell(acme):
    book = Workbook()
    sheet = book.active
    for row in (["full_name", "email"], ["Ann", "a@x.org"], ["Bo", "b@x.org", None, "LOST DATA"]):
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    with pytest.raises(ValidationFailed) as refused:
        importer.dry_run(acme.records, "contact", importer.Source("p.xlsx", data.getvalue()))
    assert "(row 3, cell D3: 'LOST DATA')" in refused.value.message


def test_a_western_file_that_only_happens_to_read_as_gb18030_is_refused_and_read_with_its_encoding(acme):
    data = "full_name,email\nMüller Jürgen,m@x.org\nBjörk Gómez,b@x.org\n".encode("cp1252")
    with pytest.raises(ValidationFailed) as refused:
        importer.dry_run(acme.records, "contact", importer.Source("p.csv", data))
    assert "such as Windows-1252 (cp1252)" in refused.value.message and "'M黮ler'" in refused.value.message
    plan = importer.dry_run(acme.records, "contact", importer.Source("p.csv", data, encoding="cp1252"))
    assert [r.action for r in plan.rows] == ["create", "create"]
    assert read_table(data, "csv", encoding="cp1252").rows[0][0] == "Müller Jürgen"


def test_chinese_text_with_rare_name_characters_still_reads_as_gb18030():
    text = ("姓名,地址\n徐喆,上海市浦东新区世纪大道100号\n孙堃,北京市朝阳区建国路88号\n马骉,广州市天河区体育西路\n"
            "朱珺,深圳市南山区科技园\n")
    assert read_table(text.encode("gb18030"), "csv").rows[0] == ["徐喆", "上海市浦东新区世纪大道100号"]


def test_a_mapping_name_another_entity_s_mapping_has_is_refused_and_that_one_kept(acme):
    from engine.errors import Conflict
    from engine.imports import mapping as mappings

    storage = acme.records.storage
    mappings.save(storage, "monthly", "contact", {"Name": "full_name"})
    for attempt in (lambda: mappings.check_name("monthly", storage, "account"),
                    lambda: mappings.save(storage, "monthly", "account", {"Name": "name"})):
        with pytest.raises(Conflict) as refused:
            attempt()
        assert refused.value.code == "mapping_name_taken" and "a saved mapping of contact" in refused.value.message
    assert mappings.names_for(storage, "contact") == ["monthly"] and mappings.names_for(storage, "account") == []
    mappings.save(storage, "monthly", "contact", {"Name": "full_name", "Mail": "email"})  # its own: replaced
    assert mappings.load(storage, "monthly", "contact") == {"Name": "full_name", "Mail": "email"}


@pytest.mark.parametrize("text", ["姓名,電話\n陳大文,+852 2123 4567\n黃志強,+852 2765 4321\n",
                                  "full_name,notes\nTea Shop,€5 • 新品™ 😀\n", "full_name\n张伟 iPhone手机\n"])
def test_traditional_chinese_and_symbols_read_as_gb18030_as_before(text):
    assert read_table(text.encode("gb18030"), "csv").rows[0] == text.split("\n")[1].split(",")


def test_a_mapping_s_columns_mapped_to_nothing_need_not_be_in_the_file_and_a_saved_one_wins_over_suggestions(acme):
    from engine.imports import mapping as mappings

    text = "Name,Contact Email\nP Q,pq@x.org\n"
    given = {"Name": "full_name", "Contact Email": "email", "Notes": None}  # as a dry run prints it
    plan = importer.dry_run(acme.records, "contact", source(text), given)
    assert [r.action for r in plan.rows] == ["create"]
    mappings.save(acme.records.storage, "mine", "contact", given)
    extra = "Name,Contact Email,email\nR S,rs@x.org,old@x.org\n"  # "email" would be suggested for email
    plan = importer.dry_run(acme.records, "contact", source(extra), "mine")
    assert plan.mapping == {"Name": "full_name", "Contact Email": "email", "email": None}
    assert [r.action for r in plan.rows] == ["create"]


@pytest.mark.parametrize("given, said", [
    ({"Name": "full_name", "Nope": "email"}, "the mapping names a column the file does not have: 'Nope'"),
    ({"Name": "full_name", 5: "email"}, "a mapping is a JSON object of column: field"),
])
def test_a_mapping_that_cannot_be_read_as_given_is_refused_saying_why(acme, given, said):
    with pytest.raises(ValidationFailed) as refused:
        importer.dry_run(acme.records, "contact", source("Name,Email\nA,a@x.org\n"), given)
    assert said in refused.value.message


@pytest.mark.parametrize("kind, cell, code", [
    ({"type": "json"}, '{"a": 1, "a": 2}', "not_json"),
    ({"type": "json"}, '{"a": 1234567890123456.78}', "not_json"),
    ({"type": "currency"}, '{"amount": 1, "amount": 2, "currency": "CNY"}', "not_money"),
])
def test_json_typed_into_a_cell_is_read_as_strictly_as_a_body(kind, cell, code):
    from engine.fieldtypes import FieldInvalid
    from engine.imports.converting import convert
    from metadata.model import Field

    field = Field.from_document({"name": "x", **kind})
    with pytest.raises(FieldInvalid) as refused:
        convert(field, cell)
    assert refused.value.code == code


@pytest.mark.parametrize("text", ["full_name,city\nÉlodie Lefèvre,Évry\n", "full_name,city\nÁngel Álvarez,Ávila\n"])
def test_western_text_whose_accents_start_words_is_not_read_as_gb18030_either(text):
    with pytest.raises(ValidationFailed) as refused:
        read_table(text.encode("cp1252"), "csv")
    assert "such as Windows-1252 (cp1252)" in refused.value.message
    assert read_table(text.encode("cp1252"), "csv", encoding="cp1252").rows[0] == text.split("\n")[1].split(",")


def test_utf_8_chosen_by_name_reads_a_bom_as_no_text():
    data = "\ufefffull_name,email\nAnn,a@x.org\n".encode("utf-8")
    for name in ("utf-8", "UTF8", "utf_8"):
        assert read_table(data, "csv", encoding=name).header == ["full_name", "email"]


def test_a_saved_mapping_s_field_whose_column_this_file_lacks_is_still_suggested(acme):
    from engine.imports import mapping as mappings

    mappings.save(acme.records.storage, "old-export", "contact", {"Name": "full_name", "Email": "email"})
    plan = importer.dry_run(acme.records, "contact", source("Name,E-mail\nAnn,a@x.org\n"), "old-export")
    assert plan.mapping == {"Name": "full_name", "E-mail": "email"}
