"""The import screen in Chromium with a file over the in-request limit
(`LOOM_IMPORT_IN_REQUEST_KB`, 1 KB here), in English and Chinese: "Run the dry run"
starts the import job and shows its progress (an accessible progressbar htmx polls),
then the report; "Import these rows" checks the plan in a job too, then writes; axe-core
clean throughout."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine import background
from tests.screens.conftest import ADMIN, assert_accessible, build_site, settled, sign_in

WORDS = {
    "en": {"import": "Import", "file": "File to import (CSV, XLSX or JSON Lines)",
           "upload": "Upload and map the columns", "dry": "Run the dry run", "planned": "Rows planned",
           "report": "Dry run: nothing written yet", "rows": "Every row of the dry run", "go": "Import these rows",
           "done": "Every row is accounted for."},
    "zh-CN": {"import": "导入", "file": "要导入的文件（CSV、XLSX 或 JSON Lines）", "upload": "上传并映射列",
              "dry": "试运行", "planned": "已规划的行", "report": "试运行：尚未写入任何数据",
              "rows": "试运行的每一行", "go": "导入这些行", "done": "每一行都已核对无误。"},
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo tenant on SQLite, planning only files up to 1 KB inside a request."""
    found, server, _settings = build_site("sqlite", tmp_path_factory.mktemp("site"),
                                          {"LOOM_IMPORT_IN_REQUEST_KB": "1"})
    yield found
    server.stop()
    found.install.dispose()


def follow(page, site, name: str, left: str):
    """The job the page follows (`?job=`) once it has left `left`, the page the click was on
    (which may follow an earlier job): its progressbar shown, then run as a worker would."""
    page.wait_for_url(lambda url: re.search(r"job=[0-9]+", url) is not None and url != left)
    settled(page)
    job_id = int(page.url.split("job=")[1])
    if background.get(site.session().storage, job_id)["status"] == "queued":  # no worker here: be it
        expect(page.get_by_role("progressbar", name=name)).to_be_visible()
        assert_accessible(page)
        background.execute(site.session(ADMIN), job_id)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_large_file_is_planned_by_a_job_whose_progress_leads_to_the_report(page, site, language):
    words = WORDS[language]
    tag = "e" if language == "en" else "z"
    csv = ("姓名,邮箱\n" + "".join(f"大{tag}{n},big.person{n}.{tag}@example.cn\n" for n in range(40))).encode()
    assert len(csv) > 1024
    sign_in(page, site, email=ADMIN)
    if language == "zh-CN":
        page.get_by_role("button", name="中文").click()
        expect(page.get_by_role("heading", name="我的工作")).to_be_visible()
    page.goto(site.screen("e/party"))
    page.get_by_role("link", name=words["import"], exact=True).click()
    page.get_by_label(words["file"]).set_input_files(files=[{"name": "big.csv", "mimeType": "text/csv",
                                                              "buffer": csv}])
    page.get_by_role("button", name=words["upload"]).click()
    mapping = page.url
    page.get_by_role("button", name=words["dry"]).click()
    follow(page, site, words["planned"], mapping)
    expect(page.get_by_role("heading", name=words["report"])).to_be_visible()  # the poll led to the report
    report = page.get_by_role("region", name=words["rows"])
    expect(report.get_by_role("rowheader", name="41", exact=True)).to_be_visible()  # the file's last line
    before = site.session().records.count("party")
    assert site.session().records.list("party", [("name", f"大{tag}0")])["items"] == []
    assert_accessible(page)
    report_url = page.url  # the dry run's job's
    page.get_by_role("button", name=words["go"]).click()
    follow(page, site, words["planned"], report_url)  # its plan checked first, by the job
    expect(page.get_by_text(words["done"])).to_be_visible()
    assert_accessible(page)
    assert site.session().records.count("party") == before + 40
