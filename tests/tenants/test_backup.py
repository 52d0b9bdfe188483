"""`loom tenant backup` and `loom tenant restore`, on SQLite and PostgreSQL: a tenant with
packs, demo records, a dropped field's archive, a metadata history and the worker's rows
is restored into a new tenant whose every table holds the same rows (counts and
checksums) and which works — its records read, its history rolls back, new records get
new ids; a backup is consistent while writes go on; bad files and names are refused with
a clear message and leave nothing behind."""
from __future__ import annotations

import hashlib
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


def _rewritten(source_path, target_path, change) -> None:
    """A copy of the backup at `source_path` whose members `change(name, data, manifest)`
    rewrites (returning the new data; it may change the manifest, written last)."""
    with zipfile.ZipFile(source_path) as source:
        manifest = json.loads(source.read("manifest.json"))
        members = {name: source.read(name) for name in source.namelist() if name != "manifest.json"}
    with zipfile.ZipFile(target_path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            data = change(name, data, manifest)
            if data is not None:
                target.writestr(name, data)
        target.writestr("manifest.json", json.dumps(change("manifest.json", None, manifest) or manifest))


def _by_hand(lines):
    """A change giving the party table `lines` (a list of bytes), its manifest entry made to agree."""
    def change(name, data, manifest):
        if name == "rows/party.jsonl":
            listed = manifest["tables"]["party"]
            listed["rows"], listed["sha256"] = len(lines(data)), hashlib.sha256(b"".join(lines(data))).hexdigest()
            return b"".join(line + b"\n" for line in lines(data))
        return data
    return change


def _manifest(**changes):
    def change(name, data, manifest):
        if name == "manifest.json":
            manifest.update(changes)
            return manifest
        return data
    return change


def _flipped(source_path, target_path) -> None:
    """A copy of the backup with one byte of the party rows' compressed data changed."""
    data = bytearray(source_path.read_bytes())
    with zipfile.ZipFile(source_path) as archive:
        info = archive.getinfo("rows/party.jsonl")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    target_path.write_bytes(bytes(data))


def test_a_damaged_or_hand_made_backup_is_refused_with_what_is_wrong_and_leaves_nothing(install, shop, tmp_path):
    file = tmp_path / "shop.zip"
    assert run(install, "tenant", "backup", "shop", str(file)).exit_code == 0
    before = [t.slug for t in install.registry.list()]
    tables = json.loads(zipfile.ZipFile(file).read("manifest.json"))["tables"]
    damaged = {
        "no party rows": (lambda n, d, m: None if n == "rows/party.jsonl" else d, "holds no rows of table party"),
        "a line that is not JSON": (lambda n, d, m: d + b"{oops\n" if n == "rows/party.jsonl" else d,
                                    "are not the ones it was backed up with"),
        "party left out of the manifest": (_manifest(tables={k: v for k, v in tables.items() if k != "party"}),
                                           "has no rows of party"),
        "a table entry that is text": (_manifest(tables={**tables, "party": "x"}), "entry of table 'party'"),
        "plugins as text": (_manifest(plugins="crm_core"), "plugins are not a list of names"),
        "an unknown plugin": (_manifest(plugins=["crm_core", "nosuchplugin"]), "does not have: nosuchplugin"),
        "a row by hand": (_by_hand(lambda d: [b"[1,2,3]"] + d.splitlines()[1:]), "do not fit its columns"),
        "not JSON by hand": (_by_hand(lambda d: [b"{oops"] + d.splitlines()[1:]), "line is not JSON"),
        "a row twice by hand": (_by_hand(lambda d: d.splitlines()[:1] * 2 + d.splitlines()[1:]),
                                "the database refused the backup's rows"),
    }
    for number, (case, (change, said)) in enumerate(damaged.items()):
        target = tmp_path / f"damaged{number}.zip"
        _rewritten(file, target, change)
        result = run(install, "tenant", "restore", str(target), "--as", f"damaged{number}")
        assert result.exit_code == 1 and said in result.output and "Traceback" not in result.output, (case, result.output)
    _flipped(file, tmp_path / "flipped.zip")
    result = run(install, "tenant", "restore", str(tmp_path / "flipped.zip"), "--as", "flipped")
    assert result.exit_code == 1 and "is damaged" in result.output, result.output
    assert "invalid tenant slug ''" in run(install, "tenant", "restore", str(file), "--as", "").output
    assert [t.slug for t in install.registry.list()] == before


def test_a_backup_is_written_only_where_it_can_be_and_never_over_another(install, shop, tmp_path):
    missing = run(install, "tenant", "backup", "shop", str(tmp_path / "nodir" / "b.zip"))
    assert missing.exit_code == 2 and "there is no folder" in missing.output and "Traceback" not in missing.output
    assert "must be a file name" in run(install, "tenant", "backup", "shop", "").output
    (tmp_path / "b.zip.partial").write_bytes(b"another backup's")
    busy = run(install, "tenant", "backup", "shop", str(tmp_path / "b.zip"))
    assert busy.exit_code == 1 and "b.zip.partial exists" in busy.output
    assert (tmp_path / "b.zip.partial").read_bytes() == b"another backup's" and not (tmp_path / "b.zip").exists()
