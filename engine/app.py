"""The Flask app factory."""
from __future__ import annotations

from flask import Flask, g, request

from engine.api import access as _access  # noqa: F401  (adds unmasking and the access log)
from engine.api import drafts as _drafts  # noqa: F401  (adds the drafts' routes to the API)
from engine.api import merges as _merges  # noqa: F401  (adds merging records and its undo)
from engine.api import people as _people  # noqa: F401  (adds the people's, tokens' and audit routes)
from engine.api import privacy as _privacy  # noqa: F401  (adds the data-subject requests' routes)
from engine.api import dedup as _dedup  # noqa: F401  (adds the duplicate report's route)
from engine.api.auth import check_token, hidden
from engine.api.errors import register_error_handlers
from engine.request_text import refuse_undecodable
from engine.api.json_provider import JsonText
from engine.api.routes import api
from engine.install import Install
from engine.ratelimit import Limiter
from engine.security_headers import security_headers

def create_app(install: Install | None = None, config: dict | None = None) -> Flask:
    """Build the app for an install (read from the environment when not given)."""
    app = Flask("loom")
    app.json = JsonText(app)  # Chinese text unescaped; a response holding a lone surrogate still sent
    app.url_map.merge_slashes = False  # a redirect would answer bad paths with HTML, not a JSON 404
    install = install or Install()
    # the one upload limit (LOOM_MAX_UPLOAD_MB): a bigger body is a 413 (engine.api.errors)
    app.config.update(MAX_CONTENT_LENGTH=install.settings.max_upload_bytes)
    app.config.update(config or {})
    app.extensions["loom"] = install
    register_error_handlers(app)
    app.extensions["loom_limiter"] = Limiter.from_settings(
        {**install.settings.extra, **{k: v for k, v in app.config.items() if k.startswith("LOOM_")}},
        install.settings.redis_url)
    app.before_request(check_token)  # first: a bad token is a 401 before any 404 (engine.api.auth)
    app.before_request(refuse_undecodable)  # then text that spells no characters, never kept as escapes
    app.after_request(security_headers)
    app.register_blueprint(api)
    _register_plugin_blueprints(app, install)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    return app


def _register_plugin_blueprints(app, install) -> None:
    """Plugin routes under a `<tenant>` answer only for tenants whose active plugins
    include the blueprint's plugin; for the others, the same 404 as an unknown tenant."""
    owners = {}
    for plugin_name, blueprints in install.plugins.per_plugin("loom_blueprints"):
        for blueprint in blueprints:
            owners[blueprint.name] = plugin_name
            app.register_blueprint(blueprint)

    @app.before_request
    def only_where_enabled():
        plugin_name = owners.get(request.blueprint)
        slug = (request.view_args or {}).get("tenant") or g.get("tenant_slug")
        if plugin_name is None or slug is None or plugin_name in install.plugins.core:
            return None  # a core plugin acts for every tenant; its views answer for unknown ones
        tenant = install.registry.get(slug)
        if tenant is None or plugin_name not in install.plugins.active(tenant.plugins):
            raise hidden()
        g.loom_tenant = tenant
        return None
