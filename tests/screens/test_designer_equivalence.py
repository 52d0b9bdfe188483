"""A designer session and the equivalent `loom metadata apply` produce identical versions
(document, changes and the tenant's layer of changes over the pack), on SQLite and
PostgreSQL: what the designer writes is the document the CLI accepts."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from engine.app import create_app
from engine.cli import cli
from engine.install import Install
from engine.packs import state
from engine.packs.service import PackService
from engine.plugins import Plugins
from plugins.crm_core import plugin as crm_plugin
from tests.screens.conftest import ScreenClient, with_passwords


@pytest.fixture
def twins(settings):
    """Tenants `one` and `two`, each with the crm_core pack; an admin of `one` with a password."""
    install = Install(settings, Plugins(load_entry_points=False, extra_plugins=[crm_plugin]))
    for slug in ("one", "two"):
        install.registry.create(slug, slug.title())
        PackService(install).install(slug, "crm_core")
    with_passwords(install, "one", {"boss@one.example": "admin"})
    yield install
    install.dispose()


def last_version(install, slug) -> dict:
    session = install.session(slug)
    row = session.metadata_history()[-1]
    with session.storage.connect() as conn:
        overlay = state.load(conn, session.storage.schema).overlay
    return {"version": row["version"], "document": row["document"], "changes": row["changes"],
            "action": row["action"],
            "overlay": [{k: c.get(k) for k in ("op", "path", "value", "after")} for c in overlay]}


def test_a_designer_session_and_metadata_apply_make_identical_versions(twins, tmp_path):
    boss = ScreenClient(create_app(twins, {"TESTING": True}), "one", "boss@one.example")
    boss.post("/designer/e/contact/fields", data={
        "name": "wechat_id", "type": "string", "label_en": "WeChat ID", "label_zh": "微信号",
        "help_en": "As shown in WeChat", "section": ""})
    boss.post("/designer/e/contact/fields", data={
        "name": "channel_pref", "type": "choice", "options": "wechat\nphone\nemail", "required": "on"})
    boss.post("/designer/e/contact/fields/wechat_id/label", data={"label_en": "WeChat", "label_zh": "微信"})
    boss.post("/designer/e/contact/fields/wechat_id/move", data={"direction": "down"})
    draft = tmp_path / "draft.json"
    draft.write_bytes(boss.get("/designer/export").data)
    assert boss.post("/designer/publish").status_code == 302

    applied = CliRunner().invoke(cli, ["metadata", "apply", "two", str(draft)], obj=twins)
    assert applied.exit_code == 0, applied.output
    one, two = last_version(twins, "one"), last_version(twins, "two")
    assert one["version"] == two["version"] == 2
    assert one == two
    fields = {f["name"]: f for e in one["document"]["entities"] if e["name"] == "contact" for f in e["fields"]}
    assert fields["wechat_id"]["label"] == {"en": "WeChat", "zh-CN": "微信"}
    assert fields["channel_pref"]["required"] is True
