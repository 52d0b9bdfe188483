"""The Flask app factory."""
from __future__ import annotations

from flask import Flask, g, request

from engine.api.errors import register_error_handlers
from engine.api.routes import api
from engine.errors import NotFound
from engine.install import Install

MAX_BODY_BYTES = 64 * 1024 * 1024


def create_app(install: Install | None = None, config: dict | None = None) -> Flask:
    """Build the app for an install (read from the environment when not given)."""
    app = Flask("loom")
    app.url_map.merge_slashes = False  # a redirect would answer bad paths with HTML, not a JSON 404
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False)
    app.config.update(config or {})
    install = install or Install()
    app.extensions["loom"] = install
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    register_error_handlers(app)
    app.register_blueprint(api)
    _register_plugin_blueprints(app, install)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    return app


def _register_plugin_blueprints(app, install) -> None:
    for plugin_name, blueprints in install.plugins.per_plugin("loom_blueprints"):
        for blueprint in blueprints:
            def only_enabled(plugin_name=plugin_name):
                slug = (request.view_args or {}).get("tenant")
                if slug is None:
                    return None
                tenant = install.registry.get(slug)
                if tenant is None or plugin_name not in tenant.plugins:
                    raise NotFound("no such tenant, or the token is not valid for it", code="not_found")
                g.loom_tenant = tenant
                return None
            blueprint.before_request(only_enabled)
            app.register_blueprint(blueprint)
