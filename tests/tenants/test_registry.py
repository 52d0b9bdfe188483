"""The tenant registry: provisioning, isolation, listing and deletion with an export."""
import json

import pytest
from sqlalchemy import inspect

from tenants import Registry, Storage, TenantError
from tenants.tables import tenant_tables


def test_create_list_and_get(install):
    install.registry.create("acme", "Acme Retail")
    install.registry.create("beta-motors")
    assert [t.slug for t in install.registry.list()] == ["acme", "beta-motors"]
    assert install.registry.get("acme").name == "Acme Retail"
    assert install.registry.get("beta-motors").name == "beta-motors"
    assert install.registry.get("nobody") is None


@pytest.mark.parametrize("slug", ["A", "a", "acme_x", "-acme", "acme-", "1acme", "a" * 41, "ac me", ""])
def test_invalid_slug_is_refused(install, slug):
    with pytest.raises(TenantError) as refused:
        install.registry.create(slug)
    assert refused.value.code == "invalid_slug"
    assert install.registry.list() == []


def test_duplicate_slug_is_refused_and_keeps_the_first(install):
    install.registry.create("acme", "First")
    with pytest.raises(TenantError) as refused:
        install.registry.create("acme", "Second")
    assert refused.value.code == "tenant_exists"
    assert install.registry.get("acme").name == "First"


def test_each_tenant_has_its_own_storage(install, backend):
    install.registry.create("acme")
    install.registry.create("beta")
    acme, beta = install.registry.storage_of("acme"), install.registry.storage_of("beta")
    if backend == "sqlite":
        assert acme.engine.url.database != beta.engine.url.database
    else:
        assert acme.schema != beta.schema and acme.schema.endswith("tenant_acme")
    with acme.connect() as conn:
        assert "loom_users" in inspect(conn).get_table_names(schema=acme.schema)


def test_loom_tables_match_the_migrated_database(install):
    """tenants/tables.py describes the head revision: same tables, same columns."""
    install.registry.create("acme")
    storage = install.registry.storage_of("acme")
    with storage.connect() as conn:
        inspector = inspect(conn)
        for table in tenant_tables(storage.schema).sorted_tables:
            live = {c["name"]: c["nullable"] for c in inspector.get_columns(table.name, schema=storage.schema)}
            declared = {c.name: c.nullable for c in table.columns}
            assert live == declared, table.name


def test_failed_provisioning_leaves_nothing_behind(install, monkeypatch):
    from tenants import migrations
    from tenants.migrations import recorded

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    install.registry.ensure_ready()
    monkeypatch.setattr(migrations, "upgrade", explode)
    monkeypatch.setattr(recorded, "replay", explode)  # a new storage gets the recorded head
    with pytest.raises(RuntimeError):
        install.registry.create("acme")
    monkeypatch.undo()
    assert install.registry.get("acme") is None
    install.registry.create("acme")  # the slug is free again: no storage was left over
    assert install.registry.get("acme") is not None


def test_delete_exports_every_row_first(acme, install, tmp_path):
    acme.records.create("contact", {"full_name": "Li Lei", "email": "li@example.cn"})
    path = install.registry.delete("acme", tmp_path / "exports")
    exported = json.loads(open(path, encoding="utf-8").read())
    assert exported["tenant"] == "acme"
    assert [r["full_name"] for r in exported["tables"]["contact"]] == ["Li Lei"]
    assert len(exported["tables"]["loom_metadata_versions"]) == 1
    assert install.registry.get("acme") is None
    install.registry.create("acme")
    assert install.session("acme").metadata().version == 0


def test_registry_is_lazy(tmp_path):
    """Constructing the registry opens no database (no import-time side effects)."""
    from tenants import Settings

    Registry(Storage(Settings(data_dir=tmp_path / "lazy")))
    assert not (tmp_path / "lazy").exists()


def test_a_tenant_made_by_an_older_loom_gets_the_new_loom_tables_on_first_use(settings):
    """Loom's own tables in a tenant created before a new tenant-table revision are
    migrated the first time a process opens the tenant (here: back to 0003, before the
    screens' tables; a new Install is a new process)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from engine.install import Install
    from engine.plugins import Plugins
    from tenants import migrations

    old = Install(settings, Plugins(load_entry_points=False))
    old.registry.create("legacy", "Legacy")
    storage = old.registry.storage_of("legacy")
    with storage.migration() as conn:
        config = Config()
        config.set_main_option("script_location", str(migrations.HERE / "tenant"))
        config.attributes["connection"] = conn
        config.attributes["schema"] = storage.schema
        command.downgrade(config, "0003")
    assert migrations.current(storage.engine, storage.schema) == "0003"
    old.dispose()

    new = Install(settings, Plugins(load_entry_points=False))
    storage = new.registry.storage_of("legacy")
    assert migrations.current(storage.engine, storage.schema) == migrations.heads("tenant")
    with storage.engine.connect() as conn:
        assert inspect(conn).has_table("loom_saved_views", schema=storage.schema)
    new.dispose()
