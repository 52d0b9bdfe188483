"""Importing files into records, as an operator does it with `loom import` and as the
engine does it for the API: a dry run reports every row and writes nothing; the real run
writes what the dry run said, in checkpointed chunks that a resume finishes after a
crash; the refused rows come back in a file to fix and import again. SQLite and PostgreSQL."""
import gc
import io
import json
import re
from datetime import datetime

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from engine.cli import cli
from engine.errors import NotFound, PluginFailed, ValidationFailed
from engine.hookspecs import hookimpl
from engine.imports import importer, mapping as mappings, runs
from engine.imports.planning import Options, Planner
from engine.imports.reading import read_table
from engine.imports.writing import write_chunk
from engine.systables import loom_table

CSV = ("姓名,邮箱,电话,生日,公司,lifetime_value,consent_marketing,tier,备注\n"
       "张伟,zw@x.org,138 0013 8001,2024年1月5日,Globex,\"1,234.50\",是,Gold,a\n"
       "Bad,bad-email,12,2024/13/1,Nope,abc,maybe,platinum,b\n"
       "Old Two,old@x.org,,2024/1/5,1,,否,,c\n"
       "Same,old@x.org,,,,,,,d\n")


def count(session, table_name) -> int:
    storage = session.storage
    table = loom_table(storage.schema, table_name) if table_name.startswith("loom_") else \
        session.metadata().tables[table_name]
    with storage.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def crm(acme):
    acme.records.create("account", {"name": "Globex"})
    acme.records.create("contact", {"full_name": "Old", "email": "old@x.org", "tier": "silver"})
    return acme


def source(text, name="people.csv", encoding="utf-8"):
    return importer.Source(name, text.encode(encoding))


def test_the_dry_run_reports_every_row_with_every_problem_and_its_column_and_writes_nothing(crm):
    audits = count(crm, "loom_audit")
    result = importer.dry_run(crm.records, "contact", source(CSV, encoding="gb18030"), options=Options(key="email"))
    assert result.mapping == {"姓名": "full_name", "邮箱": "email", "电话": "phone", "生日": "birthday",
                              "公司": "account", "lifetime_value": "lifetime_value",
                              "consent_marketing": "consent_marketing", "tier": "tier", "备注": None}
    assert result.unmapped == ["备注"]
    rows = {r.row: r for r in result.rows}
    assert [rows[n].action for n in (2, 3, 4, 5)] == ["create", "refuse", "update", "refuse"]
    assert rows[2].data == {"full_name": "张伟", "email": "zw@x.org", "phone": "138 0013 8001",
                            "birthday": "2024-01-05", "account": 1, "lifetime_value": "1234.50",
                            "consent_marketing": True, "tier": "gold"}
    assert [(p["column"], p["code"]) for p in rows[3].problems] == [
        ("邮箱", "not_email"), ("电话", "not_phone"), ("生日", "not_date"), ("公司", "reference_not_found"),
        ("lifetime_value", "not_number"), ("consent_marketing", "not_boolean"), ("tier", "not_option")]
    assert rows[4].record_id == 1 and rows[4].data == {"full_name": "Old Two", "birthday": "2024-01-05",
                                                       "account": 1}  # consent_marketing was false
    assert rows[5].problems[0]["code"] == "repeated_key" and "repeats row 4" in rows[5].problems[0]["message"]
    assert result.totals == {"read": 4, "created": 1, "updated": 1, "skipped": 0, "refused": 2, "balanced": True}
    assert count(crm, "contact") == 1 and count(crm, "loom_audit") == audits


def test_the_real_run_writes_what_the_dry_run_said_and_the_refused_rows_import_after_fixing(crm):
    dry = importer.dry_run(crm.records, "contact", source(CSV), options=Options(key="email"))
    done = importer.commit(crm.records, "contact", source(CSV), options=Options(key="email", chunk_size=2))
    assert done.totals == dry.totals and done.committed and done.run_id
    assert [r["row"] for r in done.refused] == [3, 5]
    contacts = {c["email"]: c for c in crm.records.list("contact")["items"]}
    assert contacts["old@x.org"]["tier"] == "silver" and contacts["old@x.org"]["version"] == 2
    assert contacts["zw@x.org"]["account"] == 1
    history = crm.records.history("contact", 1)
    assert set(history[-1]["changes"]) == {"full_name", "birthday", "account"}
    fixed = done.refused_file.decode("utf-8-sig").replace("bad-email", "bad@x.org").replace(",12,", ",12345,") \
        .replace("2024/13/1", "2024/12/1").replace("Nope", "Globex").replace("abc", "12").replace("maybe", "no") \
        .replace("platinum", "gold").replace("old@x.org", "same@x.org")
    again = importer.commit(crm.records, "contact", importer.Source("fixed.csv", fixed.encode()),
                            options=Options(key="email"))
    assert again.totals == {"read": 2, "created": 2, "updated": 0, "skipped": 0, "refused": 0, "balanced": True}
    assert again.unmapped == ["备注", "problems"]
    unchanged = importer.dry_run(crm.records, "contact", importer.Source("fixed.csv", fixed.encode()),
                                 options=Options(key="email"))
    assert unchanged.totals["skipped"] == 2 and {r.reason for r in unchanged.rows} == {"unchanged"}


class Crash:
    """A test plugin: the process dies (an error that is not Loom's) writing the record
    named `at`, inside the chunk's transaction."""

    at = None

    @hookimpl
    def loom_record_before_write(self, event):
        if event.record.get("full_name") == self.at:
            raise RuntimeError("the worker died")


def test_a_run_that_crashed_resumes_without_writing_a_row_twice_or_losing_one(install, plugins, crm):
    crash = Crash()
    plugins.pm.register(crash, name="crash")
    install.registry.set_plugins("acme", ["crash"])
    lines = "\n".join(f"P{n},p{n}@x.org" for n in range(23))
    data = "full_name,email\n" + lines + "\nOld,old@x.org\n"
    crash.at = "P13"
    service = install.session("acme").records
    with pytest.raises(PluginFailed):
        importer.commit(service, "contact", source(data), options=Options(key="email", chunk_size=5))
    assert count(crm, "contact") == 1 + 10  # chunks 1 and 2 committed, chunk 3 rolled back
    run = loom_table(crm.storage.schema, "loom_import_runs")
    with crm.storage.connect() as conn:
        run_id, status = conn.execute(select(run.c.id, run.c.status)).one()
    assert status == "failed"
    crash.at = None
    result = importer.resume(service, run_id)
    assert result.totals == {"read": 24, "created": 23, "updated": 0, "skipped": 1, "refused": 0, "balanced": True}
    emails = [c["email"] for c in service.list("contact", [("limit", "100")])["items"]]
    assert len(emails) == len(set(emails)) == 24
    assert count(crm, "loom_outbox") - count(crm, "loom_audit") == 0
    assert importer.resume(service, run_id).totals == result.totals  # a finished run is only reported


def test_xlsx_and_json_lines_import_and_a_saved_mapping_is_reused(crm):
    book = Workbook()
    sheet = book.active
    sheet.append(["Full name", "E-mail", "Birthday", "Tier"])
    sheet.append(["Ann", "ann@x.org", None, "Silver"])
    sheet.append(["Bo", "bo@x.org", datetime(2024, 1, 5), "gold"])
    out = io.BytesIO()
    book.save(out)
    result = importer.commit(crm.records, "contact", importer.Source("a.xlsx", out.getvalue()),
                             options=Options(key="email"))
    assert result.totals["created"] == 2
    mappings.save(crm.storage, "people", "contact", {"who": "full_name", "mail": "email"})
    lines = json.dumps({"who": "Cy", "mail": "cy@x.org", "extra": 1}) + "\n"
    done = importer.commit(crm.records, "contact", importer.Source("b.jsonl", lines.encode()), "people")
    assert done.totals["created"] == 1 and done.unmapped == ["extra"]
    found = {c["email"]: c for c in crm.records.list("contact")["items"]}
    assert found["bo@x.org"]["birthday"] == "2024-01-05" and found["ann@x.org"]["tier"] == "silver"
    with pytest.raises(NotFound):
        importer.dry_run(crm.records, "contact", importer.Source("b.jsonl", lines.encode()), "nope")


@pytest.mark.parametrize("name, data, message", [
    ("a.csv", b"", "empty"),
    ("a.csv", b"\xff\xfe\x00bad", "neither UTF-8 nor GB18030"),
    ("a.xlsx", b"not a workbook", "not an XLSX workbook"),
    ("a.jsonl", b'{"a": 1}\n[1]\n', "line 2 is not a JSON object"),
    ("a.txt", b"a\n1\n", "cannot tell the format"),
    ("a.csv", b"full_name,full_name\nx,y\n", "twice"),
])
def test_a_file_that_cannot_be_read_is_refused_plainly(acme, name, data, message):
    with pytest.raises(ValidationFailed) as refused:
        importer.dry_run(acme.records, "contact", importer.Source(name, data))
    assert message in str(refused.value)


def test_bad_options_and_mappings_are_refused_before_anything_is_read(acme):
    data = source("full_name,email\nA,a@x.org\n")
    for options, given, field in [(Options(key="nope"), None, "key"), (Options(key="phone"), None, "key"),
                                  (Options(on_duplicate="merge"), None, "on_duplicate"),
                                  (Options(), {"full_name": "nope"}, "mapping/full_name"),
                                  (Options(), {"full_name": "email", "email": "email"}, "mapping"),
                                  (Options(), {"full_name": "full_name", "Name": "email"}, "mapping/Name")]:
        with pytest.raises(ValidationFailed) as refused:
            importer.commit(acme.records, "contact", data, given, options)
        assert field in [d["field"] for d in refused.value.details]
    assert count(acme, "contact") == 0 and count(acme, "loom_import_runs") == 0


def run(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


class Interrupt(Crash):
    """As Crash, but the operator presses Ctrl-C."""

    @hookimpl
    def loom_record_before_write(self, event):
        if event.record.get("full_name") == self.at:
            raise KeyboardInterrupt


@pytest.mark.parametrize("stop", [Crash, Interrupt])
def test_a_cli_run_that_stops_names_itself_and_finishes_with_the_line_it_gives(install, plugins, crm, tmp_path,
                                                                               stop):
    stopper = stop()
    plugins.pm.register(stopper, name="stopper")
    install.registry.set_plugins("acme", ["stopper"])
    path = tmp_path / "people.csv"
    path.write_text("full_name,email\n" + "\n".join(f"P{n},p{n}@x.org" for n in range(12)) + "\n", encoding="utf-8")
    stopper.at, before = "P7", count(crm, "contact")
    stopped = run(install, "import", "acme", "contact", str(path), "--commit", "--chunk-size", "5")
    assert stopped.exit_code != 0 and count(crm, "contact") == before + 5
    [line] = [x for x in stopped.stderr.splitlines() if "stopped; finish it with:" in x]
    run_id = int(re.search(r"import run (\d+) stopped", line).group(1))
    assert line.endswith(f"loom import acme contact {path} --resume {run_id}")
    assert runs.get(crm.storage, run_id)["status"] == "failed"
    stopper.at = None
    done = run(install, *line.split("finish it with: loom ")[1].split())
    assert done.exit_code == 0, done.output
    assert count(crm, "contact") == before + 12 and "created 12" in done.output


def test_a_kept_dry_run_is_not_written_by_resume_past_its_plan_check(install, crm, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("full_name,email\nKeep One,k3@x.org\n", encoding="utf-8")
    kept = run(install, "import", "acme", "contact", str(path), "--key", "email", "--keep")
    run_id = int(kept.output.split("kept as run ")[1].split(":")[0])
    refused = run(install, "import", "acme", "contact", str(path), "--resume", str(run_id))
    assert refused.exit_code == 1 and f"import run {run_id} is a kept dry run: commit it with `loom import-commit`" \
        in refused.stderr and "stopped; finish it" not in refused.stderr
    assert runs.get(crm.storage, run_id)["status"] == "planned" and not crm.records.list(
        "contact", [("email", "k3@x.org")])["items"]


def test_the_cli_dry_run_commit_export_and_reimport(install, crm, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(CSV.encode("gb18030"))
    dry = run(install, "import", "acme", "contact", str(path), "--key", "email")
    assert dry.exit_code == 0, dry.output
    assert "row 3\trefuse\t邮箱: 'bad-email' is not a valid e-mail address" in dry.output
    assert "column 备注 (unmapped)" in dry.output
    [updated] = [line for line in dry.output.splitlines() if line.startswith("row 4\tupdate\trecord ")]
    assert "\tchanges full_name, birthday" in updated and "Old Two" not in updated  # names, not values
    assert "dry run, nothing written: read 4, created 1, updated 1, skipped 0, refused 2" in dry.output
    done = run(install, "import", "acme", "contact", str(path), "--key", "email", "--commit",
               "--save-mapping", "people")
    assert done.exit_code == 0, done.output
    assert "read 4, created 1, updated 1, skipped 0, refused 2" in done.output
    assert gc.get_freeze_count() == 0  # the import's frozen heap was given back (engine.heap.settled)
    assert (tmp_path / "people.refused.csv").read_bytes().decode("utf-8-sig").count("\n") == 3
    out = tmp_path / "out.xlsx"
    assert run(install, "export", "acme", "contact", str(out), "--mapping", "people").exit_code == 0
    assert [c.value for c in next(load_workbook(out).active.iter_rows(max_row=1))][:2] == ["姓名", "邮箱"]
    back = run(install, "import", "acme", "contact", str(out), "--mapping", "people", "--key", "email", "--json")
    assert json.loads(back.output)["totals"]["skipped"] == 2
    bad = run(install, "import", "acme", "contact", str(path), "--resume", "99")
    assert bad.exit_code == 1 and "no import run 99" in bad.output


def test_the_refused_rows_file_is_checked_before_anything_is_imported_and_never_written_over(
        install, crm, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(CSV.encode("gb18030"))
    kept = tmp_path / "people.refused.csv"
    kept.write_text("rows I am fixing\n")
    count = len(install.session("acme").records.list("contact", [])["items"])
    for extra, said in [(("--refused", str(kept)), "people.refused.csv exists"),  # an earlier run's
                        (("--refused", str(path)), "people.csv exists"),  # the imported file itself
                        (("--refused", str(tmp_path / "nodir" / "r.csv")), "there is no folder"),
                        (("--refused", " "), "--refused wants a file name"),
                        (("--save-mapping", "bad name"), "is not a mapping name")]:
        refused = run(install, "import", "acme", "contact", str(path), "--key", "email", "--commit", *extra)
        assert refused.exit_code == 1 and said in refused.output and "Traceback" not in refused.output, refused.output
    assert len(install.session("acme").records.list("contact", [])["items"]) == count  # nothing imported
    assert kept.read_text() == "rows I am fixing\n" and path.read_bytes() == CSV.encode("gb18030")
    long = tmp_path / ("x" * 300 + ".csv")  # a name no file system takes: found only as it is written
    done = run(install, "import", "acme", "contact", str(path), "--key", "email", "--commit", "--refused", str(long))
    assert done.exit_code == 1 and "cannot write" in done.output, done.output
    run_id = re.search(r"imported \(run (\d+)\): read 4, created 1, updated 1, skipped 0, refused 2",
                       done.output).group(1)  # the result, shown before the error
    again = run(install, "import", "acme", "contact", str(path), "--resume", run_id, "--refused",
                str(tmp_path / "new.csv"))
    assert again.exit_code == 0 and f"refused rows written to {tmp_path / 'new.csv'}" in again.output
    assert (tmp_path / "new.csv").read_bytes().decode("utf-8-sig").count("\n") == 3
    assert run(install, "import", "acme", "contact", str(path), "--key", "email", "--commit").exit_code == 0
    assert kept.read_text() == "rows I am fixing\n"  # the default name moved on:
    assert (tmp_path / "people.refused-2.csv").exists()
    over = run(install, "export", "acme", "contact", str(path))
    assert over.exit_code == 1 and "an export is never written over a file" in over.output
    assert path.read_bytes() == CSV.encode("gb18030")
    for extra, said in [(("--sheet", "Sheet1"), "a CSV file has no sheets"),
                        (("--mapping", str(tmp_path / "nodir" / "m.json")), "there is no file")]:
        refused = run(install, "import", "acme", "contact", str(path), *extra)
        assert refused.exit_code == 1 and said in refused.output, refused.output


VEHICLES = {"entities": [
    {"name": "dealer", "label": "Dealer", "natural_key": "code", "fields": [
        {"name": "code", "type": "string", "required": True, "unique": True},
        {"name": "name", "type": "string"}]},
    {"name": "vehicle", "label": "Vehicle", "natural_key": "vin", "fields": [
        {"name": "vin", "type": "string", "required": True, "unique": True},
        {"name": "model", "type": "string"},
        {"name": "dealer", "type": "reference", "to": "dealer"}]}]}


def test_an_entity_s_natural_key_is_the_import_s_key_and_names_references(install):
    install.registry.create("cars", "Cars")
    cars = install.session("cars")
    cars.apply_metadata(VEHICLES)
    cars.records.create("dealer", {"code": "D7", "name": "D7"})  # its name is a code too: the key wins
    cars.records.create("dealer", {"code": "BJ-01", "name": "D7"})
    cars.records.create("vehicle", {"vin": "LSV123", "model": "A"})
    data = source("vin,model,dealer\nLSV123,B,D7\nLSV999,C,BJ-01\n")
    result = importer.commit(cars.records, "vehicle", data)
    assert result.totals == {"read": 2, "created": 1, "updated": 1, "skipped": 0, "refused": 0, "balanced": True}
    assert {v["vin"]: (v["model"], v["dealer"]) for v in cars.records.list("vehicle")["items"]} == {
        "LSV123": ("B", 1), "LSV999": ("C", 2)}


def test_a_natural_key_that_names_no_comparable_field_is_refused_with_its_path(acme):
    document = {"entities": [{"name": "thing", "natural_key": "nope", "fields": [
        {"name": "data", "type": "json"}]}, {"name": "other", "natural_key": "data", "fields": [
        {"name": "data", "type": "json"}]}]}
    with pytest.raises(ValidationFailed) as refused:
        acme.check_document(document)
    found = {(d["field"], d["code"]) for d in refused.value.details}
    assert {("/entities/0/natural_key", "unknown_field"), ("/entities/1/natural_key", "not_matchable")} <= found


def test_a_row_a_concurrent_write_made_invalid_after_planning_is_refused_and_the_rest_written(acme):
    data = b"full_name,email\nA,a@x.org\nB,b@x.org\n"
    table = read_table(data, "csv")
    planner = Planner(acme.records, "contact", table, {"full_name": "full_name", "email": "email"}, Options())
    plans = planner.plan(0, 2)
    acme.records.create("contact", {"full_name": "Early", "email": "b@x.org"})  # after the plan, before the write
    run_id = runs.create(acme.storage, "contact", "a.csv", data, {}, None)
    outcome = write_chunk(acme.records, planner, run_id, 0, plans)
    assert (outcome["created"], [r["row"] for r in outcome["refused"]]) == (1, [3])
    assert outcome["refused"][0]["problems"][0]["field"] == "email"
    assert sorted(c["full_name"] for c in acme.records.list("contact")["items"]) == ["A", "Early"]
