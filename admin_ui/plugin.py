"""The screens as Loom's core plugin (entry-point group `loom.core`): active for every
tenant, wired to the app through the `loom_blueprints` hook only."""
from __future__ import annotations

from engine.hookspecs import hookimpl

LOOM_PLUGIN_NAME = "screens"


@hookimpl
def loom_blueprints():
    from admin_ui import screen_modules  # noqa: F401  (each module adds its views to the blueprint)
    from admin_ui.web import assets, screens

    return [screens, assets]
