"""The import screen, on both backends: an admin uploads a file, changes the suggested
mapping, runs the dry run (every row with its problems by column), imports the rows as a
job whose progress is polled, and downloads the refused rows; a member without the
import right gets no link and a 403; a commit whose plan no longer holds shows the new
dry run; a bad file is refused on the upload form."""
from __future__ import annotations

import io
import re

import pytest

from engine import auth, background, passwords
from engine.app import create_app
from tests.conftest import crm_document
from tests.screens.conftest import PASSWORD, ScreenClient, with_passwords

BOSS, REP = "boss@acme.example", "rep@acme.example"
CSV = "姓名,邮箱,电话,备注\n张伟,zw@x.org,138 0013 8001,x\n李,bad,1,y\n".encode()


@pytest.fixture
def screens_app(install):
    install.registry.create("acme", "Acme")
    install.session("acme").apply_metadata(crm_document())
    with_passwords(install, "acme", {BOSS: "admin", REP: "member"})
    return create_app(install, {"TESTING": True})


def upload(client, data=CSV, name="people.csv"):
    return client.post("/e/contact/import", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def selects(page: str) -> dict:
    """{column label: chosen field} of the mapping form."""
    found = {}
    for i, label in re.findall(r'<label for="column-(\d+)">([^<]*)</label>', page):
        select = re.search(rf'<select id="column-{i}" name="column-{i}">(.*?)</select>', page, re.S).group(1)
        found[label] = re.search(r'<option value="([^"]*)" selected', select).group(1)
    return found


def test_upload_map_dry_run_import_and_the_refused_rows(screens_app, install):
    boss = ScreenClient(screens_app, "acme", BOSS)
    assert 'href="/t/acme/e/contact/import"' in boss.get("/e/contact").text
    assert 'href="/t/acme/import"' in boss.get("/").text
    sent = upload(boss)
    assert sent.status_code == 302, sent.text
    run_page = boss.get(sent.headers["Location"].split("/t/acme")[1])
    assert selects(run_page.text) == {"姓名": "full_name", "邮箱": "email", "电话": "phone", "备注": "-"}
    run_id = int(sent.headers["Location"].rstrip("/").split("/")[-1])
    planned = boss.post(f"/e/contact/import/{run_id}/plan", data={
        "column-0": "full_name", "column-1": "email", "column-2": "-", "column-3": "-", "key": "email",
        "save_as": "people"})
    assert planned.status_code == 200, planned.text
    assert "Dry run: nothing written yet" in planned.text and "Column 邮箱: &#39;bad&#39; is not a valid e-mail" \
        in planned.text
    assert install.session("acme").records.list("contact")["items"] == []
    assert selects(planned.text)["电话"] == "-"
    committed = boss.post(f"/e/contact/import/{run_id}/commit")
    assert committed.status_code == 302
    job_id = int(committed.headers["Location"].split("job=")[1])
    progress = boss.get(committed.headers["Location"].split("/t/acme")[1]).text
    assert 'role="progressbar"' in progress and 'hx-trigger="every 1s"' in progress
    background.execute(install.session("acme"), job_id)  # the worker
    done = boss.hx("GET", f"/e/contact/import/{run_id}/progress?job={job_id}").text
    assert "hx-trigger" not in done and "Every row is accounted for." in done
    assert re.search(r"<dt>Created</dt><dd>1</dd>", done) and re.search(r"<dt>Refused</dt><dd>1</dd>", done)
    refused = boss.get(f"/e/contact/import/{run_id}/refused")
    assert refused.status_code == 200 and refused.data.decode("utf-8-sig").splitlines()[1].startswith("李,bad,1,y,")
    names = [r["full_name"] for r in install.session("acme").records.list("contact")["items"]]
    assert names == ["张伟"]
    assert 'value="people"' in boss.get("/e/contact/import").text  # the saved mapping, offered


def test_row_problems_are_worded_in_the_user_s_language(screens_app, install):
    storage = install.session("acme").storage
    auth.create_user(storage, "wang@acme.example", "admin", locale="zh-CN")
    passwords.set_password(storage, "wang@acme.example", PASSWORD)
    boss = ScreenClient(screens_app, "acme", "wang@acme.example")
    csv = "姓名,邮箱\n张伟,zw@x.org\n李,bad\n王芳,zw@x.org\n".encode()
    run_id = int(upload(boss, csv).headers["Location"].rstrip("/").split("/")[-1])
    planned = boss.post(f"/e/contact/import/{run_id}/plan", data={"column-0": "full_name", "column-1": "email",
                                                                  "key": "email"})
    assert planned.status_code == 200, planned.text
    assert "列 邮箱：请输入电子邮箱，例如 name@example.com。" in planned.text
    assert "列 邮箱：文件第 2 行的键与此相同：请只保留其中一行。" in planned.text  # the import's own code
    assert "is not a valid e-mail" not in planned.text and "repeats row" not in planned.text


def test_a_file_in_another_encoding_is_refused_on_the_form_and_read_in_the_one_chosen(screens_app, install):
    boss = ScreenClient(screens_app, "acme", BOSS)
    data = "full_name,email\nMüller Jürgen,m@x.org\n".encode("cp1252")
    refused = upload(boss, data)
    assert refused.status_code == 400 and "cannot be read in this encoding" in refused.text
    assert '<select name="encoding">' in refused.text and "Windows-1252 (Western European)" in refused.text
    sent = boss.post("/e/contact/import", data={"file": (io.BytesIO(data), "people.csv"), "encoding": "cp1252"},
                     content_type="multipart/form-data")
    assert sent.status_code == 302, sent.text
    run_id = int(sent.headers["Location"].rstrip("/").split("/")[-1])
    from engine.imports import runs
    assert runs.get(install.session("acme").storage, run_id)["options"]["encoding"] == "cp1252"
    odd = boss.post("/e/contact/import", data={"file": (io.BytesIO(data), "people.csv"), "encoding": "rot13"},
                    content_type="multipart/form-data")
    assert odd.status_code == 400 and "Choose one of the text encodings offered." in odd.text


def test_a_member_without_the_import_right_gets_no_link_and_a_403(screens_app, install):
    document = crm_document()
    document["roles"] = [{"name": "clerk", "entities": {"contact": {"rights": ["read", "create", "update"]}}}]
    install.session("acme").apply_metadata(document)
    storage = install.session("acme").storage
    auth.create_user(storage, "clerk@acme.example", "member", roles=("clerk",))
    passwords.set_password(storage, "clerk@acme.example", PASSWORD)
    boss = ScreenClient(screens_app, "acme", BOSS)
    run_id = int(upload(boss).headers["Location"].rstrip("/").split("/")[-1])
    rep = ScreenClient(screens_app, "acme", REP)  # may import, but not follow the boss's run
    assert rep.get(f"/e/contact/import/{run_id}").status_code == 403
    assert rep.post(f"/e/contact/import/{run_id}/commit").status_code == 403
    rep = ScreenClient(screens_app, "acme", "clerk@acme.example")
    assert "/e/contact/import" not in rep.get("/e/contact").text
    assert rep.get("/e/contact/import").status_code == 403
    assert upload(rep).status_code == 403


def test_a_bad_file_is_refused_on_the_upload_form_and_keeps_nothing(screens_app, install):
    boss = ScreenClient(screens_app, "acme", BOSS)
    for data, name in ((b"", "empty.csv"), (b"x", "notes.doc")):
        answer = upload(boss, data, name)
        assert answer.status_code == 400 and 'role="alert"' in answer.text, answer.text
    assert boss.post("/e/contact/import", data={}).status_code == 400
    runs = install.session("acme").storage
    from engine.systables import loom_table
    with runs.connect() as conn:
        assert conn.execute(loom_table(runs.schema, "loom_import_runs").select()).first() is None


def test_a_commit_whose_plan_no_longer_holds_shows_the_new_dry_run(screens_app, install):
    boss = ScreenClient(screens_app, "acme", BOSS)
    run_id = int(upload(boss).headers["Location"].rstrip("/").split("/")[-1])
    boss.post(f"/e/contact/import/{run_id}/plan", data={"column-0": "full_name", "column-1": "email",
                                                        "column-2": "phone", "column-3": "-", "key": "email"})
    install.session("acme").records.create("contact", {"full_name": "张伟", "email": "zw@x.org"})
    answer = boss.post(f"/e/contact/import/{run_id}/commit")
    assert answer.status_code == 409 and "its plan no longer holds" in answer.text
    assert re.search(r"<dt>To update</dt><dd>1</dd>", answer.text)
    assert boss.post(f"/e/contact/import/{run_id}/commit").status_code == 302  # the plan shown now holds


def test_a_mapping_that_does_not_fit_is_refused_with_what_is_wrong(screens_app):
    boss = ScreenClient(screens_app, "acme", BOSS)
    run_id = int(upload(boss).headers["Location"].rstrip("/").split("/")[-1])
    twice = boss.post(f"/e/contact/import/{run_id}/plan", data={"column-0": "email", "column-1": "email"})
    assert twice.status_code == 400 and "mapped from more than one column" in twice.text
    assert boss.post(f"/e/contact/import/{run_id}/plan", data={"key": "nope"}).status_code == 400
    assert boss.get(f"/e/contact/import/{run_id + 1}").status_code == 404
