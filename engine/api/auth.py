"""Bearer-token authentication of a tenant's API, shared by every blueprint under
`/api/v1/t/<tenant>/` (the engine's and the plugins')."""
from __future__ import annotations

from flask import current_app, g, request

from engine.api.params import refuse_unknown_parameters
from engine.auth import authenticate
from engine.errors import NotFound, Unauthorized
from engine.install import TenantSession


def hidden() -> NotFound:
    """The same answer for an unknown tenant and a token that is not valid there."""
    return NotFound("no such tenant, or the token is not valid for it", code="not_found")


def take_tenant(endpoint, values) -> None:
    """URL value preprocessor: the `<tenant>` variable goes to `g`, not to the views."""
    g.tenant_slug = values.pop("tenant", None) if values else None


def authenticate_request() -> None:
    """Set `g.session` to the caller's session in the URL's tenant: 401 without a
    token, one 404 for an unknown tenant or a token of another tenant."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send an API token: Authorization: Bearer <token>")
    install = current_app.extensions["loom"]
    tenant = install.registry.get(g.tenant_slug)
    if tenant is None or tenant.status != "active":
        raise hidden()
    actor = authenticate(install.registry.storage_of(tenant), token.strip())
    if actor is None:
        raise hidden()
    # The session is of the tenant the token was checked in, not of whatever the slug
    # names a moment later (a tenant deleted and created again).
    g.session = TenantSession(install, tenant, actor)


def tenant_api(blueprint) -> None:
    """Make `blueprint` (url_prefix `/api/v1/t/<tenant>`) an authenticated tenant API
    whose views refuse the query parameters they do not declare (`engine.api.params`)."""
    blueprint.url_value_preprocessor(take_tenant)
    blueprint.before_request(authenticate_request)
    blueprint.before_request(refuse_unknown_parameters)
