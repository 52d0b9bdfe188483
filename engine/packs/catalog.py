"""The packs installed on this install (every plugin's `loom_packs`), and putting a set
of them in dependency order."""
from __future__ import annotations

import logging

from engine.errors import LoomError, NotFound
from engine.packs.pack import Pack

log = logging.getLogger("loom.packs")


def catalog(plugins) -> dict[str, Pack]:
    """{name: Pack} of every installed pack; a pack must be shipped by the plugin of
    the same name (installing it enables that plugin for the tenant)."""
    found: dict[str, Pack] = {}
    for impl in plugins.pm.hook.loom_packs.get_hookimpls():
        plugin_name = impl.plugin_name
        try:
            packs = list(impl.function() or ())
        except Exception as exc:  # noqa: BLE001 - a broken pack must not hide the others
            log.warning("plugin %s failed to list its packs: %s", plugin_name, exc)
            continue
        for pack in packs:
            if not isinstance(pack, Pack):
                log.warning("plugin %s returned %r from loom_packs, not a Pack", plugin_name, pack)
                continue
            if pack.name != plugin_name:
                log.warning("plugin %s ships pack %s: a pack's name must be its plugin's; ignored",
                            plugin_name, pack.name)
                continue
            found[pack.name] = pack
    return found


def require(packs: dict, name: str) -> Pack:
    pack = packs.get(name)
    if pack is None:
        raise NotFound(f"no installed pack named {name!r} (installed: {', '.join(sorted(packs)) or 'none'})",
                       code="pack_not_found")
    return pack


def with_dependencies(packs: dict, names) -> list[str]:
    """`names` and everything they depend on, dependencies first; refuses unknown
    dependencies and cycles."""
    order: list[str] = []
    visiting: list[str] = []

    def visit(name, wanted_by=None):
        if name in order:
            return
        if name in visiting:
            cycle = " -> ".join(visiting[visiting.index(name):] + [name])
            raise LoomError(f"packs depend on each other in a cycle: {cycle}", code="pack_cycle")
        pack = packs.get(name)
        if pack is None:
            needed = f" (needed by {wanted_by})" if wanted_by else ""
            raise NotFound(f"no installed pack named {name!r}{needed}", code="pack_not_found")
        visiting.append(name)
        for dependency in pack.depends:
            visit(dependency, name)
        visiting.pop()
        order.append(name)

    for name in names:
        visit(name)
    return order
