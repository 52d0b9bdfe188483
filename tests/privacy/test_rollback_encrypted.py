"""Rolling back to a version with an encrypted field that a later version dropped (issue
12), on SQLite and PostgreSQL, through the one publisher every caller uses (`loom metadata
rollback`, `POST /metadata/rollback/<v>`, the designer's history revert): the archived
ciphertext is decrypted with the tenant's data keys (kept across a rotation) and written
encrypted and hashed again, so the values come back and equality search finds them; when
the key they were encrypted with is gone, or a value was altered, the rollback is refused
with `archive_unreadable` and nothing changes."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, Table, delete, select, update

from engine.cli import cli
from engine.crypto.rotation import rotate
from engine.errors import MigrationRefused
from engine.migration import versions
from engine.systables import loom_table
from tests.engine.test_encryption import master, raw_rows  # noqa: F401 - the fixture

ID_NUMBER, OTHER = "110101199003078515", "310101198507214433"
KEEP = {"entities": [{"name": "customer", "fields": [
    {"name": "name", "type": "string"},
    {"name": "id_number", "type": "string", "max_length": 18, "pii": "identity"}]}]}
DROP = {"entities": [{"name": "customer", "fields": [{"name": "name", "type": "string"}]}]}
ALSO_ENCRYPTED = {"name": "diagnosis", "type": "text", "pii": "sensitive"}


def with_field(doc, field):
    return {"entities": [{**doc["entities"][0], "fields": doc["entities"][0]["fields"] + [field]}]}


@pytest.fixture
def shop(install, master):  # noqa: F811
    install.registry.create("shop", "Shop")
    session = install.session("shop")
    session.apply_metadata(KEEP)
    session.records.create("customer", {"name": "Wang", "id_number": ID_NUMBER})
    session.records.create("customer", {"name": "Li", "id_number": OTHER})
    session.records.create("customer", {"name": "Zhao"})
    session.apply_metadata(DROP, allow_drop=True)
    return install.session("shop")


def state(session) -> tuple:
    """What a refused rollback must leave as it was: the version, the rows, the archives, the keys."""
    storage = session.storage
    with storage.connect() as conn:
        archives = conn.execute(select(loom_table(storage.schema, "loom_archives"))).mappings().all()
        keys = conn.execute(select(loom_table(storage.schema, "loom_keys"))).mappings().all()
        return (versions.current_version(conn, storage.schema), [dict(a) for a in archives],
                [dict(k) for k in keys], raw_rows(session))


def test_a_rollback_restores_dropped_encrypted_values_encrypted_and_searchable(shop):
    result = shop.rollback_metadata(1)
    assert result.applied and {"kind": "restored_field", "entity": "customer", "field": "id_number"}.items() <= \
        result.archives[0].items()
    session = shop.install.session("shop")
    got = {r["name"]: r.get("id_number") for r in session.records.list("customer")["items"]}
    assert got == {"Wang": ID_NUMBER, "Li": OTHER, "Zhao": None}
    found = session.records.list("customer", [("id_number", OTHER)])["items"]
    assert [r["name"] for r in found] == ["Li"]
    stored = " ".join(str(r["id_number"]) for r in raw_rows(session))
    assert ID_NUMBER not in stored and OTHER not in stored and "v1:k1:" in stored


def test_a_rollback_after_a_key_rotation_still_restores_them(shop):
    shop.apply_metadata(with_field(DROP, ALSO_ENCRYPTED))  # the tenant encrypts again: a rotation has values
    shop = shop.install.session("shop")
    shop.records.create("customer", {"name": "Sun", "diagnosis": "asthma"})
    assert rotate(shop.storage, shop.metadata().package).key == 2
    result = shop.install.session("shop").rollback_metadata(1)
    assert result.applied
    session = shop.install.session("shop")
    assert session.records.list("customer", [("id_number", ID_NUMBER)])["items"][0]["name"] == "Wang"
    assert session.records.get("customer", 1)["id_number"] == ID_NUMBER


def test_a_rollback_whose_archived_values_lost_their_key_is_refused_and_changes_nothing(shop):
    storage = shop.storage
    with storage.begin() as conn:  # the data key the archive was encrypted with is gone
        conn.execute(delete(loom_table(storage.schema, "loom_keys")))
    before = state(shop)
    with pytest.raises(MigrationRefused) as refused:
        shop.rollback_metadata(1)
    assert refused.value.code == "archive_unreadable" and refused.value.status == 409
    assert "customer.id_number" in refused.value.message and "nothing was changed" in refused.value.message
    assert state(shop.install.session("shop")) == before


def test_an_altered_archived_value_is_refused_through_the_api_and_the_cli(shop, client):
    from tests.conftest import token_for

    storage = shop.storage
    with storage.connect() as conn:
        name = conn.execute(select(loom_table(storage.schema, "loom_archives").c.table_name)).scalar_one()
    archive = Table(name, MetaData(), autoload_with=storage.engine, schema=storage.schema)
    with storage.begin() as conn:
        token = conn.execute(select(archive.c.id_number).where(archive.c.id == 1)).scalar_one()
        conn.execute(update(archive).where(archive.c.id == 1).values(id_number=token[:-4] + "AAAA"))
    before = state(shop)
    headers = {"Authorization": f"Bearer {token_for(shop.install, 'shop', 'ann@shop.test', 'admin')}"}
    answer = client.post("/api/v1/t/shop/metadata/rollback/1", headers=headers)
    assert answer.status_code == 409, answer.get_data(as_text=True)
    assert answer.json["error"]["code"] == "archive_unreadable"
    assert ID_NUMBER not in answer.get_data(as_text=True)
    done = CliRunner().invoke(cli, ["metadata", "rollback", "shop", "1"], obj=shop.install)
    assert done.exit_code != 0 and "cannot be decrypted" in done.output and "Traceback" not in done.output
    assert state(shop.install.session("shop")) == before


def test_the_designers_revert_restores_them_or_says_why_not(shop, app):
    from tests.screens.conftest import ScreenClient, with_passwords

    with_passwords(shop.install, "shop", {"ann@shop.example": "admin"})
    ann = ScreenClient(app, "shop", "ann@shop.example")
    storage = shop.storage
    with storage.begin() as conn:
        keys = [dict(k) for k in conn.execute(select(loom_table(storage.schema, "loom_keys"))).mappings()]
        conn.execute(delete(loom_table(storage.schema, "loom_keys")))
    before = state(shop)
    refused = ann.post("/designer/revert/1")
    assert refused.status_code == 409 and "cannot be decrypted" in refused.get_data(as_text=True)
    assert state(shop.install.session("shop")) == before
    with storage.begin() as conn:  # the keys are back: the revert goes through
        conn.execute(loom_table(storage.schema, "loom_keys").insert(), keys)
    assert ann.post("/designer/revert/1").status_code == 302
    assert shop.install.session("shop").records.get("customer", 1)["id_number"] == ID_NUMBER
