"""`loom tenant backup` and `loom tenant restore`, on SQLite and PostgreSQL: a tenant with
packs, demo records, a dropped field's archive, a metadata history and the worker's rows
is restored into a new tenant whose every table holds the same rows (counts and
checksums) and which works — its records read, its history rolls back, new records get
new ids; a backup is consistent while writes go on; bad files and names are refused with
a clear message and leave nothing behind."""
from __future__ import annotations

import json
import threading
import zipfile

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, func, select

from engine import backup
from engine.cli import cli
from engine.install import Install
from engine.packs.service import PackService
from engine.plugins import Plugins


@pytest.fixture
def install(settings):
    install = Install(settings, Plugins())
    yield install
    install.dispose()


@pytest.fixture
def shop(install):
    install.registry.create("shop", "Shop 商店", language="zh-CN")
    PackService(install).install("shop", "retail_loyalty", demo=True)
    session = install.session("shop")
    document = session.metadata().package.to_dict()
    party = next(e for e in document["entities"] if e["name"] == "party")
    party["fields"] = [f for f in party["fields"] if f["name"] != "wechat"] + [
        {"name": "wechat", "type": "string"}]
    session.apply_metadata(document)
    session.records.update("party", session.records.list("party", [("limit", "1")])["items"][0]["id"],
                           {"wechat": "zhang_88"})
    document["entities"] = [{**e, "fields": [f for f in e["fields"] if f["name"] != "wechat"]}
                            if e["name"] == "party" else e for e in document["entities"]]
    session.apply_metadata(document, allow_drop=True)  # an archive of the dropped field
    return session


def counts(install, slug) -> dict:
    storage = install.registry.storage_of(slug)
    reflected = MetaData()
    with storage.connect() as conn:
        reflected.reflect(conn, schema=storage.schema)
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in reflected.sorted_tables}


def run(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


def test_a_restored_tenant_holds_every_row_and_works(install, shop, tmp_path):
    file = tmp_path / "shop.zip"
    done = run(install, "tenant", "backup", "shop", str(file))
    assert done.exit_code == 0, done.output
    manifest = json.loads(zipfile.ZipFile(file).read("manifest.json"))
    assert any(name.startswith("loom_archive_v") for name in manifest["tables"])
    done = run(install, "tenant", "restore", str(file), "--as", "shop-copy")
    assert done.exit_code == 0 and "every checksum equal" in done.output, done.output
    restored_counts, original_counts = counts(install, "shop-copy"), counts(install, "shop")
    # the access log of the original may have grown since (reads logged in batches)
    assert restored_counts.pop("loom_access_log") == manifest["tables"]["loom_access_log"]["rows"]
    original_counts.pop("loom_access_log")
    assert restored_counts == original_counts
    copy = install.registry.get("shop-copy")
    assert (copy.name, copy.language, copy.plugins) == ("Shop 商店", "zh-CN", install.registry.get("shop").plugins)

    restored, original = install.session("shop-copy"), install.session("shop")
    assert restored.metadata().version == original.metadata().version
    assert restored.records.list("membership", [("limit", "200")]) == original.records.list(
        "membership", [("limit", "200")])
    made = restored.records.create("party", {"name": "新客户"})
    assert made["id"] > max(p["id"] for p in original.records.list("party", [("limit", "200")])["items"])


def test_a_backup_is_one_point_in_time_while_writes_go_on(install, shop, tmp_path):
    stop, failures = threading.Event(), []

    def writer():
        try:
            while not stop.is_set():
                shop.records.create("party", {"name": "写入中"})
        except Exception as exc:  # reported below
            failures.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        manifest = backup.backup(install.registry, "shop", tmp_path / "busy.zip")
    finally:
        stop.set()
        thread.join()
    assert failures == []
    tables = manifest["tables"]
    # every created party left one audit row and one outbox row in the same transaction
    parties = tables["party"]["rows"]
    created = [json.loads(line) for line in zipfile.ZipFile(tmp_path / "busy.zip").open("rows/loom_audit.jsonl")]
    columns = tables["loom_audit"]["columns"]
    audit_parties = {row[columns.index("record_id")] for row in created
                     if row[columns.index("entity")] == "party" and row[columns.index("action")] == "create"}
    assert len(audit_parties) == parties
    assert backup.restore(install, tmp_path / "busy.zip", "busy").rows == sum(t["rows"] for t in tables.values())


def test_bad_files_and_names_are_refused_and_leave_nothing_behind(install, shop, tmp_path):
    file = tmp_path / "shop.zip"
    assert run(install, "tenant", "backup", "shop", str(file)).exit_code == 0
    again = run(install, "tenant", "backup", "shop", str(file))
    assert again.exit_code == 2 and "exists" in again.output
    assert "no tenant 'nobody'" in run(install, "tenant", "backup", "nobody", str(tmp_path / "x.zip")).output
    before = [t.slug for t in install.registry.list()]

    refused = run(install, "tenant", "restore", str(file))
    assert refused.exit_code == 1 and "tenant 'shop' exists" in refused.output
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert "is not a Loom tenant backup" in run(install, "tenant", "restore", str(tmp_path / "junk.zip"), "--as", "j").output
    assert "there is no file" in run(install, "tenant", "restore", str(tmp_path / "none.zip"), "--as", "n").output

    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(file) as source, zipfile.ZipFile(newer, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            if item == "manifest.json":
                data = json.dumps({**json.loads(data), "revision": "9999"}).encode()
            target.writestr(item, data)
    said = run(install, "tenant", "restore", str(newer), "--as", "newer")
    assert said.exit_code == 1 and "made by a newer Loom" in said.output and "Traceback" not in said.output

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(file) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            if item == "rows/party.jsonl":
                data = b"\n".join(data.splitlines()[1:]) + b"\n"  # one party lost
            target.writestr(item, data)
    said = run(install, "tenant", "restore", str(tampered), "--as", "tampered")
    assert said.exit_code == 1 and "party" in said.output
    assert [t.slug for t in install.registry.list()] == before
