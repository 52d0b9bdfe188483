"""Match key columns (engine.matchkeys), on SQLite and PostgreSQL: `<field>__key` holds
the normalised key beside what was typed, on create, update and the batch path; an
encrypted field keeps only the keyed hash of its key; a publication adds, fills, drops
and recomputes the columns (a new option, a type change, a new region); a tenant made
before the columns existed gets them, filled, when it is first opened."""
import os

import phonenumbers
import pytest
from hypothesis import given, settings as hsettings, strategies as st
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
    {"name": "secret_phone", "type": "phone", "pii": "sensitive"},
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
    hidden = tenant.records.create("party", {"secret_phone": "+86 139 0000 0005"})
    stored = raw(tenant)[-1]["secret_phone__key"]
    assert stored and "13900000005" not in stored  # the keyed hash of the key, not the key
    assert [r["id"] for r in tenant.records.list("party", [("phone", "139-0000-0005")])["items"]] == [hidden["id"]]
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


def _as_an_older_loom_left_it(session) -> None:
    """No key columns and no mark, as a tenant made before match keys."""
    with session.storage.migration() as conn:
        schema = f'"{session.storage.schema}".' if session.storage.schema else ""
        for column in ("name__key", "phone__key", "email__key", "id_number__key", "secret_phone__key"):
            if conn.dialect.name == "sqlite":
                conn.execute(text(f"DROP INDEX IF EXISTS ix_party_{column}"))
            conn.execute(text(f"ALTER TABLE {schema}party DROP COLUMN {column}"))
        conn.execute(text(f"DELETE FROM {schema}loom_settings WHERE key = '{MARK}'"))


def _marked(session) -> bool:
    with session.storage.connect() as conn:
        schema = f'"{session.storage.schema}".' if session.storage.schema else ""
        return conn.execute(text(f"SELECT 1 FROM {schema}loom_settings WHERE key = '{MARK}'")).first() is not None


def test_a_tenant_from_before_match_keys_gets_them_filled_when_opened(tenant, settings, plugins, monkeypatch):
    tenant.records.create("party", {"phone": "138 0013 8001", "email": "A@B.CN", "secret_phone": "13900000005"})
    _as_an_older_loom_left_it(tenant)
    key = os.environ["LOOM_MASTER_KEY"]
    monkeypatch.delenv("LOOM_MASTER_KEY")
    without_key = Install(settings, plugins)  # a process without the master key: the clear keys only
    try:
        row = raw(without_key.session("keys"))[0]
        assert (row["phone__key"], row["email__key"], row["secret_phone__key"]) == ("+8613800138001", "a@b.cn", None)
        assert not _marked(without_key.session("keys"))  # tried again by the next process
    finally:
        without_key.dispose()
    monkeypatch.setenv("LOOM_MASTER_KEY", key)
    later = Install(settings, plugins)  # another process of the new Loom, with the key
    try:
        session = later.session("keys")
        row = raw(session)[0]
        assert (row["phone__key"], row["email__key"]) == ("+8613800138001", "a@b.cn") and row["secret_phone__key"]
        assert _marked(session)
        assert len(session.records.list("party", [("phone", "139-0000-0005")])["items"]) == 1
    finally:
        later.dispose()


def test_the_metadata_knows_the_countries_phonenumbers_reads():
    from metadata.match_checks import PHONE_REGIONS

    assert PHONE_REGIONS == phonenumbers.SUPPORTED_REGIONS


@given(mobile=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
       form=st.sampled_from(["{}", "+86{}", "0086{}", "+86 {} ", "{}-", "0086-{}"]),
       region=st.sampled_from(["CN", "US", "GB", "HK"]))
@hsettings(max_examples=50, deadline=None)
def test_the_fast_path_for_chinese_mobiles_keys_as_the_parser_does(mobile, form, region):
    written = form.format(f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}").strip(" -")
    number = None
    try:
        parsed = phonenumbers.parse(written, region)
        if phonenumbers.is_possible_number(parsed):
            number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    assert phone_key(written, region) == number


@given(code=st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
       national=st.from_regex(r"[0-9]{2,15}", fullmatch=True), region=st.sampled_from(["CN", "US", "DE"]),
       separator=st.sampled_from([" ", "-", ".", ""]))
@hsettings(max_examples=300, deadline=None)
def test_international_numbers_are_keyed_as_the_parser_keys_them(code, national, region, separator):
    written = f"+{code}{separator}{national[:3]}{separator}{national[3:]}".rstrip(separator)
    number = None
    try:
        parsed = phonenumbers.parse(written, region)
        if phonenumbers.is_possible_number(parsed):
            number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    assert phone_key(written, region) == number


def _parser_key(written, region):
    """The key the parser alone gives (what the fast paths must match)."""
    text = written.strip()
    if not text or sum(ch.isdigit() for ch in text) < 3:
        return None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@given(lead=st.sampled_from(["", "+", "+1", "+44", "+86", "0086", "+49", "00", "+7", "+880"]),
       parts=st.lists(st.from_regex(r"[0-9]{1,5}", fullmatch=True), min_size=1, max_size=5),
       separators=st.lists(st.sampled_from([" ", "", "-", ".", "  ", " - "]), min_size=5, max_size=5),
       region=st.sampled_from(["CN", "US", "GB", "DE"]))
@hsettings(max_examples=500, deadline=None)
def test_numbers_written_with_any_spacing_are_keyed_as_the_parser_keys_them(lead, parts, separators, region):
    written = lead + "".join(sep + part for sep, part in zip(separators, parts))
    assert phone_key(written, region) == _parser_key(written, region)
