"""The plugin manager: discovery through the `loom.plugins` entry points, and calling
hooks only for the plugins a tenant enabled."""
from __future__ import annotations

import logging
import threading

import pluggy

from engine import hookspecs

log = logging.getLogger("loom.plugins")
ENTRY_POINT_GROUP = "loom.plugins"


class Plugins:
    """All plugins installed on this install, and per-tenant views of them."""

    def __init__(self, extra_plugins=(), load_entry_points=True):
        self.pm = pluggy.PluginManager("loom")
        self.pm.add_hookspecs(hookspecs)
        if load_entry_points:
            self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        for plugin in extra_plugins:
            name = getattr(plugin, "LOOM_PLUGIN_NAME", None) or getattr(plugin, "__name__", None)
            self.pm.register(plugin, name=name)
        self._views: dict[frozenset, object] = {}
        self._lock = threading.Lock()
        self._field_types = None

    def names(self) -> list[str]:
        return sorted(name for name, _ in self.pm.list_name_plugin())

    def _installed(self, enabled) -> frozenset:
        return frozenset(enabled) & frozenset(self.names())

    def hook(self, name: str, enabled):
        """The hook caller for `name` that reaches only the `enabled` plugins."""
        enabled = self._installed(enabled)
        key = (name, enabled)
        with self._lock:
            caller = self._views.get(key)
            if caller is None:
                others = [p for n, p in self.pm.list_name_plugin() if n not in enabled]
                caller = self.pm.subset_hook_caller(name, remove_plugins=others)
                self._views[key] = caller
        return caller

    def per_plugin(self, hook_name: str) -> list[tuple[str, list]]:
        """(plugin name, its results) for a hook that describes what plugins offer."""
        results = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            results.append((impl.plugin_name, list(impl.function() or [])))
        return results

    def field_types(self) -> dict[str, tuple[str, object]]:
        """{type name: (plugin name, CustomFieldType)} over every installed plugin."""
        if self._field_types is None:
            found = {}
            for plugin_name, types in self.per_plugin("loom_field_types"):
                for field_type in types:
                    found[field_type.name] = (plugin_name, field_type)
            self._field_types = found
        return self._field_types

    def extra_types(self, enabled) -> dict[str, str]:
        """Field types a tenant may use in its metadata: {name: base type}."""
        enabled = set(enabled)
        return {name: ft.base for name, (plugin, ft) in self.field_types().items() if plugin in enabled}

    def validators(self, enabled) -> dict:
        enabled = set(enabled)
        return {name: ft.validate for name, (plugin, ft) in self.field_types().items() if plugin in enabled}

    def metadata_packages(self, enabled=None) -> list[dict]:
        packages = []
        for plugin_name, offered in self.per_plugin("loom_metadata_packages"):
            if enabled is not None and plugin_name not in enabled:
                continue
            packages += [dict(package, plugin=plugin_name) for package in offered]
        return packages
