"""The import screen in Chromium, in English and Chinese: the admin opens it from the
list, uploads a CSV, changes a column's field with its labelled select, runs the dry run
(a refused row with its problem and column), imports the rows and follows the job's
progressbar (htmx polling) to the reconciliation and the refused-rows link; axe-core
clean throughout, and a phone-width screenshot."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from engine import background
from tests.screens.conftest import ADMIN, assert_accessible, screenshot, settled, sign_in

WORDS = {
    "en": {"import": "Import", "file": "File to import (CSV, XLSX or JSON Lines)",
           "upload": "Upload and map the columns", "region": "Region", "dry": "Run the dry run",
           "report": "Dry run: nothing written yet", "rows": "Every row of the dry run", "problem": "Column 邮箱:", "go": "Import these rows",
           "bar": "Rows imported", "done": "Every row is accounted for.",
           "refused": "Download the refused rows, with their problems"},
    "zh-CN": {"import": "导入", "file": "要导入的文件（CSV、XLSX 或 JSON Lines）", "upload": "上传并映射列",
              "region": "地区", "dry": "试运行", "report": "试运行：尚未写入任何数据", "rows": "试运行的每一行", "problem": "列 邮箱：",
              "go": "导入这些行", "bar": "已导入的行", "done": "每一行都已核对无误。",
              "refused": "下载被拒绝的行（附问题说明）"},
}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_upload_map_dry_run_and_import_with_its_progress(page, site, language):
    words = WORDS[language]
    tag = "e" if language == "en" else "z"
    csv = f"姓名,邮箱,所在城市,备注\n钱七{tag},qian.{tag}@x.cn,华东,a\n孙八{tag},bad-email,苏州,b\n".encode()
    sign_in(page, site, email=ADMIN)
    if language == "zh-CN":
        page.get_by_role("button", name="中文").click()
        expect(page.get_by_role("heading", name="我的工作")).to_be_visible()
    page.goto(site.screen("e/party"))
    page.get_by_role("link", name=words["import"], exact=True).click()
    page.get_by_label(words["file"]).set_input_files(files=[{"name": "people.csv", "mimeType": "text/csv",
                                                              "buffer": csv}])
    page.get_by_role("button", name=words["upload"]).click()
    expect(page.get_by_label("姓名", exact=True)).to_have_value("name")
    expect(page.get_by_label("所在城市", exact=True)).to_have_value("city")
    page.get_by_label("所在城市", exact=True).select_option(label=words["region"])
    assert_accessible(page)
    page.get_by_role("button", name=words["dry"]).click()
    report = page.get_by_role("region", name=words["rows"])
    expect(page.get_by_role("heading", name=words["report"])).to_be_visible()
    expect(report).to_contain_text(words["problem"])
    expect(report).to_contain_text("bad-email" if language == "en" else "请输入电子邮箱")  # zh: the screens' words
    expect(page.get_by_label("所在城市", exact=True)).to_have_value("region")  # the choice stays
    assert site.session().records.list("party", [("name", f"钱七{tag}")])["items"] == []
    assert_accessible(page)
    screenshot(page, f"import-dry-run-{language}")
    page.get_by_role("button", name=words["go"]).click()
    page.wait_for_url(re.compile(r"job=[0-9]+"))
    settled(page)
    job_id = int(page.url.split("job=")[1])
    bar = page.get_by_role("progressbar", name=words["bar"])
    if background.get(site.session().storage, job_id)["status"] == "queued":  # no worker here: be it
        expect(bar).to_be_visible()
        assert_accessible(page)
        background.execute(site.session(ADMIN), job_id)
    expect(page.get_by_text(words["done"])).to_be_visible()  # the poll found the end
    expect(bar).to_have_count(0)
    expect(page.get_by_role("link", name=words["refused"])).to_be_visible()
    assert_accessible(page)
    made = site.session().records.list("party", [("name", f"钱七{tag}")])["items"]
    assert [(m["name"], m["region"]) for m in made] == [(f"钱七{tag}", "华东")]
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, f"import-done-phone-{language}")
