"""Rolling a tenant back to an earlier metadata version restores the layers behind it
too: the packs installed then (and the plugins they enable) and the tenant's overlay."""
from __future__ import annotations

from engine import migration
from engine.errors import NotFound
from engine.migration import versions
from engine.packs import state
from metadata.layering import derive


def rollback_layers(session, version: int, state_map=None):
    with session.storage.connect() as conn:
        row = versions.load_version(conn, session.storage.schema, version)
        current = state.load(conn, session.storage.schema)
    if row is None:
        raise NotFound(f"no metadata version {version}", code="version_not_found")
    if row["layers"]:
        layers = state.Layers.from_dict(row["layers"])
    else:  # a version from before layers were recorded: its document was all the tenant's
        layers = state.Layers(overlay=derive({"entities": []}, row["document"])[0])
    packs_now = {p.name for p in current.packs}
    packs_then = {p.name for p in layers.packs}
    enabled = (set(session.enabled) - packs_now) | packs_then
    actor = session.actor.email if session.actor else "cli"
    result = migration.apply_document(
        session.storage, row["document"], allow_drop=True, actor=actor,
        extra_types=session.install.plugins.extra_types(enabled), action=f"rollback to {version}",
        restoring=True, state_map=state_map, layers=layers.to_dict(),
        on_commit=lambda conn: state.save(conn, session.storage.schema, layers, actor))
    if enabled != set(session.enabled):
        session.install.registry.set_plugins(session.tenant.slug, enabled)
        session.enabled = tuple(sorted(enabled))
    session.install.cache.forget(session.tenant.slug)
    session._compiled = None
    return result
