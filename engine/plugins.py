"""The plugin manager: discovery through the `loom.plugins` entry points, and calling
hooks only for the plugins a tenant enabled."""
from __future__ import annotations

import importlib.metadata
import logging
import threading

import pluggy

from engine import hookspecs

log = logging.getLogger("loom.plugins")
ENTRY_POINT_GROUP = "loom.plugins"
CORE_ENTRY_POINT_GROUP = "loom.core"


class Plugins:
    """All plugins installed on this install, and per-tenant views of them.

    Core plugins (entry-point group `loom.core`: Loom's own workflows and rules) act for
    every tenant; the others (`loom.plugins`) only for the tenants that enabled them."""

    def __init__(self, extra_plugins=(), load_entry_points=True, core_plugins=None):
        self.pm = pluggy.PluginManager("loom")
        self.pm.add_hookspecs(hookspecs)
        self.core: frozenset = frozenset()
        if core_plugins is None:
            before = set(self.pm.get_plugins())
            self.pm.load_setuptools_entrypoints(CORE_ENTRY_POINT_GROUP)
            self.core = frozenset(self.pm.get_name(p) for p in self.pm.get_plugins() - before)
        else:
            for plugin in core_plugins:
                self.pm.register(plugin, name=_name_of(plugin))
            self.core = frozenset(_name_of(p) for p in core_plugins)
        self.broken: dict[str, str] = {}  # entry point name -> why it could not be loaded
        if load_entry_points:
            self._load_entry_points(ENTRY_POINT_GROUP)
        for plugin in extra_plugins:
            self.pm.register(plugin, name=_name_of(plugin))
        self._views: dict[frozenset, object] = {}
        self._lock = threading.Lock()
        self._field_types = None

    def _load_entry_points(self, group: str) -> None:
        """Register every installed plugin of `group`. One that fails to import (a broken
        third-party pack) is left out and reported (`loom plugin list`), never taking the
        install down with it."""
        for entry_point in importlib.metadata.entry_points(group=group):
            if self.pm.has_plugin(entry_point.name) or self.pm.is_blocked(entry_point.name):
                continue
            try:
                plugin = entry_point.load()
                self.pm.register(plugin, name=entry_point.name)
            except Exception as exc:  # noqa: BLE001 - any failure of foreign code
                self.broken[entry_point.name] = f"{type(exc).__name__}: {exc}"
                log.warning("plugin %s (%s) could not be loaded: %s", entry_point.name,
                            entry_point.value, self.broken[entry_point.name])

    def names(self) -> list[str]:
        """The plugins a tenant may enable (core plugins are always on)."""
        return sorted(name for name, _ in self.pm.list_name_plugin() if name not in self.core)

    def active(self, enabled) -> frozenset:
        """What acts for a tenant: the core plugins and the installed ones it enabled."""
        return (frozenset(enabled) & frozenset(self.names())) | self.core

    def _installed(self, enabled) -> frozenset:
        return self.active(enabled)

    def hook(self, name: str, enabled):
        """The hook caller for `name` that reaches only the `enabled` plugins."""
        enabled = self._installed(enabled)
        # The number of registered plugins is part of the key: registering one later
        # must not leave a stale view that reaches (or misses) it.
        key = (name, enabled, len(self.pm.get_plugins()))
        with self._lock:
            caller = self._views.get(key)
            if caller is None:
                others = [p for n, p in self.pm.list_name_plugin() if n not in enabled]
                caller = self.pm.subset_hook_caller(name, remove_plugins=others)
                self._views[key] = caller
        return caller

    def core_hook(self, name: str):
        """The hook caller for `name` that reaches Loom's core plugins only."""
        return self.hook(name, ())

    def pack_hook(self, name: str, enabled):
        """The hook caller for `name` that reaches the `enabled` installed plugins, not the core."""
        key = ("pack", name, frozenset(enabled) & frozenset(self.names()), len(self.pm.get_plugins()))
        with self._lock:
            caller = self._views.get(key)
            if caller is None:
                others = [p for n, p in self.pm.list_name_plugin() if n not in key[2]]
                caller = self.pm.subset_hook_caller(name, remove_plugins=others)
                self._views[key] = caller
        return caller

    def per_plugin(self, hook_name: str) -> list[tuple[str, list]]:
        """(plugin name, its results) for a hook that describes what plugins offer."""
        results = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            results.append((impl.plugin_name, list(impl.function() or [])))
        return results

    def per_plugin_dict(self, hook_name: str) -> list[tuple[str, dict]]:
        """(plugin name, its result) for a hook that returns a dict."""
        return [(impl.plugin_name, dict(impl.function() or {}))
                for impl in getattr(self.pm.hook, hook_name).get_hookimpls()]

    def session_services(self) -> dict:
        """{name: factory(engine session)} of the services the core plugins give the plugin
        session (`loom_session_services`); an installed plugin's offers are not taken."""
        return {name: factory for impl in self.pm.hook.loom_session_services.get_hookimpls()
                if impl.plugin_name in self.core for name, factory in dict(impl.function() or {}).items()}

    def _offered_types(self) -> list[tuple[str, object]]:
        """(plugin name, CustomFieldType) of every installed plugin, in registration order.
        Two plugins may offer a type of the same name (a pack's `vin` and another
        plugin's): each tenant gets the one of the plugins it enabled."""
        count = len(self.pm.get_plugins())
        if self._field_types is None or self._field_types[0] != count:
            offered = [(plugin_name, field_type) for plugin_name, types in self.per_plugin("loom_field_types")
                       for field_type in types]
            self._field_types = (count, offered)
        return self._field_types[1]

    def field_types(self) -> dict[str, tuple[str, object]]:
        """{type name: (plugin name, CustomFieldType)} over every installed plugin."""
        return {field_type.name: (plugin_name, field_type) for plugin_name, field_type in self._offered_types()}

    def _enabled_types(self, enabled) -> dict:
        enabled = self.active(enabled)
        return {ft.name: ft for plugin, ft in self._offered_types() if plugin in enabled}

    def extra_types(self, enabled) -> dict[str, str]:
        """Field types a tenant may use in its metadata: {name: base type}."""
        return {name: ft.base for name, ft in self._enabled_types(enabled).items()}

    def validators(self, enabled) -> dict:
        return {name: ft.validate for name, ft in self._enabled_types(enabled).items()}

    def metadata_packages(self, enabled=None) -> list[dict]:
        packages = []
        for plugin_name, offered in self.per_plugin("loom_metadata_packages"):
            if enabled is not None and plugin_name not in self.active(enabled):
                continue
            packages += [dict(package, plugin=plugin_name) for package in offered]
        return packages


def _name_of(plugin) -> str:
    return getattr(plugin, "LOOM_PLUGIN_NAME", None) or getattr(plugin, "__name__", None)
