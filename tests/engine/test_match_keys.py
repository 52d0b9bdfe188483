"""Match key columns (engine.matchkeys), on SQLite and PostgreSQL: `<field>__key` holds
the normalised key beside what was typed, on create, update and the batch path; an
encrypted field keeps only the keyed hash of its key; a publication adds, fills, drops
and recomputes the columns (a new option, a type change, a new region); a tenant made
before the columns existed gets them, filled, when it is first opened."""
import pytest
from sqlalchemy import MetaData, Table, select, text

from engine.errors import ValidationFailed
from engine.install import Install
from engine.migration.match_keys import MARK
from engine.normalise import phone_key
from tests.engine.test_encryption import master  # noqa: F401 (the fixture)

DOC = {"entities": [{"name": "party", "fields": [
    {"name": "name", "type": "string", "match": "name"},
    {"name": "phone", "type": "phone"},
    {"name": "email", "type": "email"},
    {"name": "note", "type": "string"},
    {"name": "id_number", "type": "string", "pii": "identity", "match": "id"},
]}]}


def raw(session, name="party") -> list[dict]:
    """The rows as the database holds them (reflected: no decrypting types)."""
    with session.storage.connect() as conn:
        table = Table(name, MetaData(), autoload_with=conn, schema=session.storage.schema)
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def doc(**changes):
    fields = [dict(f, **changes.get(f["name"], {})) for f in DOC["entities"][0]["fields"]]
    out = {"entities": [{"name": "party", "fields": [f for f in fields if not f.get("gone")]}]}
    if "settings" in changes:
        out["settings"] = changes["settings"]
    return out


@pytest.fixture
def tenant(install, master):  # noqa: F811
    install.registry.create("keys", "Keys")
    session = install.session("keys")
    session.apply_metadata(DOC)
    return install.session("keys")


def test_keys_are_written_beside_what_was_typed(tenant):
    one = tenant.records.create("party", {"name": "张 伟", "phone": "+86 138 0013 8001", "email": "Wang.Wei@Example.COM",
                                          "id_number": "1101 0519 9001 0112 3x"})
    tenant.records.create_many("party", [{"name": "Ａcme  Ltd", "phone": "0086 13800138002"}, {"note": "no keys"}])
    assert one["phone"] == "+86 138 0013 8001" and one["email"] == "Wang.Wei@Example.COM"  # as typed
    rows = raw(tenant)
    assert [(r["name__key"], r["phone__key"], r["email__key"]) for r in rows] == [
        ("张伟", "+8613800138001", "wang.wei@example.com"), ("acmeltd", "+8613800138002", None), (None, None, None)]
    secret = rows[0]["id_number__key"]
    assert secret and "11010519900101123X" not in secret and "1101" not in str(rows[0])  # a keyed hash only
    tenant.records.update("party", one["id"], {"phone": "138-0013-8009", "email": None, "version": 1})
    assert (raw(tenant)[0]["phone__key"], raw(tenant)[0]["email__key"]) == ("+8613800138009", None)
    assert raw(tenant)[0]["name__key"] == "张伟"  # untouched fields keep their keys


def test_a_publication_fills_changes_and_drops_key_columns(tenant):
    tenant.records.create_many("party", [{"note": "138 0013 8001", "phone": "020-8888 6666"}, {"note": "junk"}])
    tenant.apply_metadata(doc(note={"match": "phone"}))
    assert [r["note__key"] for r in raw(tenant)] == ["+8613800138001", None]  # backfilled; junk has no key
    tenant.apply_metadata(doc(note={"match": "phone"}, settings={"phone_region": "US"}))
    assert [r["phone__key"] for r in raw(tenant)] == [phone_key("020-8888 6666", "US"), None]  # re-read as US numbers
    tenant.apply_metadata(doc(note={"match": "phone", "region": "CN"}, settings={"phone_region": "US"}))
    assert raw(tenant)[0]["note__key"] == "+8613800138001"
    tenant.apply_metadata(doc(settings={"phone_region": "US"}, email={"gone": True}), allow_drop=True)
    assert not {"note__key", "email__key", "email"} & set(raw(tenant)[0])  # dropped with the option and the field
    fresh = tenant.install.session("keys")
    fresh.records.create("party", {"note": "+86 138 0013 8001", "phone": "202-555-0143"})  # the tables follow
    assert raw(fresh)[-1]["phone__key"] == "+12025550143"


def test_a_strict_phone_refuses_what_cannot_be_read(tenant):
    tenant.apply_metadata(doc(phone={"strict": True}))
    fresh = tenant.install.session("keys")
    with pytest.raises(ValidationFailed) as refused:
        fresh.records.create("party", {"phone": "123-45"})
    assert "is not a phone number in use in CN" in str(refused.value.details)
    assert fresh.records.create("party", {"phone": "+44 20 7946 0958"})["phone"] == "+44 20 7946 0958"


def test_a_tenant_from_before_match_keys_gets_them_filled_when_opened(tenant, settings, plugins):
    tenant.records.create("party", {"phone": "138 0013 8001", "email": "A@B.CN"})
    with tenant.storage.migration() as conn:  # as an older Loom left it: no key columns, no mark
        schema = f'"{tenant.storage.schema}".' if tenant.storage.schema else ""
        for column in ("name__key", "phone__key", "email__key", "id_number__key"):
            if conn.dialect.name == "sqlite":
                conn.execute(text(f"DROP INDEX IF EXISTS ix_party_{column}"))
            conn.execute(text(f"ALTER TABLE {schema}party DROP COLUMN {column}"))
        conn.execute(text(f"DELETE FROM {schema}loom_settings WHERE key = '{MARK}'"))
    later = Install(settings, plugins)  # another process of the new Loom
    try:
        session = later.session("keys")
        row = raw(session)[0]
        assert (row["phone__key"], row["email__key"]) == ("+8613800138001", "a@b.cn")
    finally:
        later.dispose()
