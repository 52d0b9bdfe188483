"""Acceptance 1 of issue 13, as a newcomer tries it (SQLite with 10,000 rows, PostgreSQL
with 2,000): a CSV exported from a spreadsheet — Chinese headers, phones in mixed formats,
200 near-duplicates of existing parties, 100 rows for existing e-mails, 50 bad rows. The
dry run reports every bad row with its column and the duplicates with their reasons; the
real run creates and updates exactly as the dry run said; the refused-rows file imports
after fixing."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from engine.imports import importer
from engine.imports.planning import Options

PARTY = json.loads((Path(__file__).parents[2] / "plugins/crm_core/entities/party.json").read_text("utf-8"))
HEADER = ["姓名", "手机", "城市", "邮箱", "生日", "类型", "价值等级", "旧系统编号"]
EXISTING = 500
BAD = {"手机": "12", "生日": "2024/13/1", "姓名": "", "价值等级": "钻石级", "邮箱": "not-an-email"}
FIXED = {"手机": lambda n: f"137{n:08d}", "生日": lambda n: "2024-01-01", "姓名": lambda n: f"补名{n}",
         "价值等级": lambda n: "gold", "邮箱": lambda n: f"fixed{n}@x.cn"}


def phone(n: int) -> str:
    digits = f"138{n:08d}"
    return [digits, f"{digits[:3]} {digits[3:7]} {digits[7:]}", f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}",
            f"+86{digits}"][n % 4]


def spreadsheet(rows: int) -> tuple[str, dict]:
    """The file and what each range of its rows is."""
    lines, kinds = [], {}
    for n in range(rows):
        row = {"姓名": f"新客户{n:05d}", "手机": phone(n), "城市": f"城市{n % 40}", "邮箱": f"new{n}@x.cn",
               "生日": ["2024年1月5日", "2024/1/5", "1990-12-31", ""][n % 4], "类型": ["个人", "组织", "person"][n % 3],
               "价值等级": ["黄金", "gold", "白银", ""][n % 4], "旧系统编号": f"OLD-{n}"}
        if n < 100:  # the same mobile as an existing party: a blocking rule, skipped
            row.update({"姓名": f"Dup {n}", "手机": f"139{n:08d}", "城市": "上海"})
            kinds[n + 2] = "same_mobile"
        elif n < 200:  # a name alike in the same city: a warning, created
            row.update({"姓名": f"老客户 {n:05d}", "城市": "北京"})
            kinds[n + 2] = "similar_name"
        elif n < 300:  # an existing e-mail: the natural key, updated
            row.update({"邮箱": f"old{n}@x.cn", "城市": "广州", "手机": f"139{n:08d}", "姓名": f"老客户{n:05d}"})
            kinds[n + 2] = "update"
        elif (n - 300) % ((rows - 300) // 50) == 0 and n < 300 + 50 * ((rows - 300) // 50):  # 50 bad rows
            column = list(BAD)[len([k for k in kinds.values() if k.startswith("bad")]) % len(BAD)]
            row[column] = BAD[column]
            kinds[n + 2] = f"bad {column}"
        lines.append(row)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, HEADER)
    writer.writeheader()
    writer.writerows(lines)
    return buffer.getvalue(), kinds


@pytest.fixture
def crm(install):
    install.registry.create("crm", "CRM")
    session = install.session("crm")
    session.apply_metadata({"entities": [PARTY]})
    session.records.create_many("party", [{"kind": "person", "name": f"老客户{n:05d}", "mobile": f"139{n:08d}",
                                           "city": "北京", "email": f"old{n}@x.cn"} for n in range(EXISTING)])
    return session


def test_a_spreadsheet_of_customers_imports_as_its_dry_run_said(crm, backend):
    rows = 10_000 if backend == "sqlite" else 2_000
    text, kinds = spreadsheet(rows)
    data = text.encode("gb18030")  # as a Chinese Excel saves it
    service = crm.records
    dry = importer.dry_run(service, "party", importer.Source("客户.csv", data), options=Options(key="email"))
    assert dry.mapping == {"姓名": "name", "手机": "mobile", "城市": "city", "邮箱": "email", "生日": "birthday",
                           "类型": "kind", "价值等级": "value_tier", "旧系统编号": None}
    plans = {r.row: r for r in dry.rows}
    bad = {row: kind for row, kind in kinds.items() if kind.startswith("bad")}
    assert len(bad) == 50 and {r.row for r in dry.rows if r.action == "refuse"} == set(bad)
    for row, kind in bad.items():
        assert [p["column"] for p in plans[row].problems] == [kind.split()[1]], plans[row].problems
    for row, kind in kinds.items():
        plan = plans[row]
        if kind == "same_mobile":
            assert plan.action == "skip" and plan.reason == "duplicate"
            assert plan.duplicates[0]["rule"] == "same_mobile" and plan.duplicates[0]["reasons"] == ["same mobile"]
        elif kind == "similar_name":
            assert plan.action == "create"
            [match] = plan.duplicates
            assert match["rule"] == "similar_name_same_city" and match["action"] == "warn"
            assert match["reasons"][-1] == "same city" and match["score"] >= 90
        elif kind == "update":
            assert plan.action == "update" and plan.data["city"] == "广州"
            assert not {"name", "mobile", "email"} & set(plan.data)  # unchanged: left out
    created = rows - 50 - 100 - 100
    assert dry.totals == {"read": rows, "created": created, "updated": 100, "skipped": 100, "refused": 50,
                          "balanced": True}
    assert service.list("party", [("limit", "1")])["items"][0]["id"] == 1 and _count(service) == EXISTING

    done = importer.commit(service, "party", importer.Source("客户.csv", data), options=Options(key="email"))
    assert done.totals == dry.totals
    assert _count(service) == EXISTING + created
    assert [r["row"] for r in done.refused] == sorted(bad)
    assert {p["city"] for p in service.list("party", [("email", "old250@x.cn")])["items"]} == {"广州"}

    refused = list(csv.DictReader(io.StringIO(done.refused_file.decode("utf-8-sig"))))
    assert len(refused) == 50 and all(r["problems"] for r in refused)
    for n, line in enumerate(refused):
        for column, fix in FIXED.items():
            if line["problems"].startswith(column + ":"):
                line[column] = fix(n)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, HEADER + ["problems"])
    writer.writeheader()
    writer.writerows(refused)
    again = importer.commit(service, "party", importer.Source("fixed.csv", buffer.getvalue().encode()),
                            options=Options(key="email"))
    assert again.totals == {"read": 50, "created": 50, "updated": 0, "skipped": 0, "refused": 0, "balanced": True}
    assert _count(service) == EXISTING + created + 50


def _count(service) -> int:
    return service.count("party", cap=100_000)
