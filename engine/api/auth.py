"""Bearer-token authentication of a tenant's API, shared by every blueprint under
`/api/v1/t/<tenant>/` (the engine's and the plugins').

Every request under that prefix, whatever follows it, first has its token checked
(`check_token`, before any view, plugin gate or 404): no token, or one that is invalid,
expired or revoked, answers 401 with a `WWW-Authenticate: Bearer` challenge, for existing
and unknown tenants alike, so the answer names no tenant. A valid token on another
tenant's URL (or an unknown one) answers 404, as does an unknown tenant. An address that
sent too many invalid tokens gets 429 with Retry-After until its window passes
(`engine.ratelimit`). A token names its
tenant's uid (`engine.auth.create_token`); one made before that is looked up in the
URL's tenant only."""
from __future__ import annotations

from flask import current_app, g, request

from engine.api.params import refuse_unknown_parameters
from engine.auth import token_grant, token_tenant
from engine.errors import NotFound, Unauthorized
from engine.install import TenantSession
from engine.ratelimit import TooManyAttempts
from engine.token_scopes import require_scope

TENANT_PATH = "/api/v1/t/"


class TokenRefused(Unauthorized):
    """A 401 with its Bearer challenge (RFC 6750): `error` is `invalid_token` for a token
    that is not valid, none when there was no token."""

    def __init__(self, message: str, error: str | None = None):
        super().__init__(message, code="invalid_token" if error else "unauthorized")
        self.headers = {"WWW-Authenticate": f'Bearer realm="loom", error="{error}"' if error
                        else 'Bearer realm="loom"'}


def hidden() -> NotFound:
    """The same answer for an unknown tenant and a token that is not valid there."""
    return NotFound("no such tenant, or the token is not valid for it", code="not_found")


def take_tenant(endpoint, values) -> None:
    """URL value preprocessor: the `<tenant>` variable goes to `g`, not to the views."""
    g.tenant_slug = values.pop("tenant", None) if values else None


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def check_token() -> None:
    """App-wide before-request: the token of any request under `/api/v1/t/`. Sets
    `g.token_grant` to `(tenant, grant)` when the token is valid for the URL's tenant."""
    if not request.path.startswith(TENANT_PATH):
        return
    token = bearer_token()
    if token is None:
        raise TokenRefused("send an API token: Authorization: Bearer <token>")
    limiter, address = current_app.extensions["loom_limiter"], f"address:{request.remote_addr}"
    wait = limiter.blocked(address)
    if wait is not None:
        raise TooManyAttempts(wait, "failed API tokens")
    install = current_app.extensions["loom"]
    slug = request.path[len(TENANT_PATH):].partition("/")[0]
    here = install.registry.get(slug)
    owner_uid = token_tenant(token)
    owner = here  # a token of the URL's tenant (the usual case) or one made before tokens named it
    if owner_uid and (here is None or here.uid != owner_uid):
        owner = install.registry.by_uid(owner_uid)
    grant = None
    if owner is not None and owner.status == "active":
        grant = token_grant(install.registry.storage_of(owner), token)
    if grant is None:
        limiter.fail(address)
        raise TokenRefused("the API token is not valid: unknown, expired or revoked", "invalid_token")
    if here is None or here.uid != owner.uid:
        raise hidden()
    g.token_grant = (owner, grant)


def authenticate_request() -> None:
    """Set `g.session` to the caller's session in the URL's tenant and refuse (403) what
    the token's scopes do not cover."""
    checked = g.get("token_grant")
    if checked is None:  # check_token runs first on every tenant URL; this is a guard
        raise TokenRefused("send an API token: Authorization: Bearer <token>")
    tenant, grant = checked
    require_scope(grant.scopes, request.method, (request.view_args or {}).get("entity"))
    # The session is of the tenant the token was checked in, not of whatever the slug
    # names a moment later (a tenant deleted and created again).
    g.session = TenantSession(current_app.extensions["loom"], tenant, grant.actor)


def tenant_api(blueprint) -> None:
    """Make `blueprint` (url_prefix `/api/v1/t/<tenant>`) an authenticated tenant API
    whose views refuse the query parameters they do not declare (`engine.api.params`)."""
    blueprint.url_value_preprocessor(take_tenant)
    blueprint.before_request(authenticate_request)
    blueprint.before_request(refuse_unknown_parameters)
