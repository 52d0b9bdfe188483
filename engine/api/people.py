"""People, API tokens and the audit log over REST (admins only):
`/api/v1/t/<tenant>/users`, `/tokens` and `/audit`."""
from __future__ import annotations

from flask import g, jsonify, request

from engine import people
from engine.api.body import json_body
from engine.api.params import accepts
from engine.api.routes import api
from engine.auth import UNSET
from engine.errors import Forbidden, ValidationFailed
from engine.records.audit_log import AuditQuery, audit_page


def _admin(to: str):
    g.session.require_admin(to=to)
    return g.session.storage


def _text(body, key, required=False):
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{key} must be text", details=[{"field": key, "message": "text expected"}])
    return value


def set_password_path(secret: str) -> str:
    """Where the invitee (or a user whose password was reset) chooses a password."""
    return f"/t/{g.session.tenant.slug}/password-reset/{secret}"


@api.get("/users")
def list_people():
    storage = _admin("list the users")
    return jsonify({"items": [p.to_dict() for p in people.people(storage)], "roles": list(people.roles())})


@api.post("/users")
def invite_user():
    """Invite a user: body {email, role, display_name, manager}; the answer carries the
    set-password link (valid for three days) to send them."""
    storage = _admin("invite users")
    body = json_body(keys=("email", "role", "display_name", "manager"))
    found, secret = people.invite(storage, _text(body, "email", required=True), body.get("role", "member"),
                                  body.get("display_name"), _text(body, "manager"))
    return jsonify({"user": found.to_dict(), "set_password": set_password_path(secret)}), 201


@api.patch("/users/<int:user_id>")
def change_user(user_id):
    """Body: any of {role, manager (an e-mail or null), display_name, active}."""
    storage = _admin("change users")
    body = json_body(keys=("role", "manager", "display_name", "active"))
    changes = {key: body[key] for key in ("role", "display_name", "active") if key in body}
    if "manager" in body:
        changes["manager"] = _text(body, "manager")
    return jsonify(people.change(storage, user_id, g.session.actor, **{
        key: changes.get(key, UNSET) for key in ("role", "manager", "display_name", "active")}).to_dict())


@api.post("/users/<int:user_id>/password-reset")
def reset_user_password(user_id):
    """A one-time set-password link for the user (their password stays until it is used)."""
    found, secret = people.reset_link(_admin("reset passwords"), user_id)
    return jsonify({"user": found.to_dict(), "set_password": set_password_path(secret)})


def _own_unless_admin():
    """The acting user's id when they are not an admin (their own tokens only), else None."""
    actor = g.session.actor
    return None if actor is None or actor.is_admin else actor.id


@api.get("/tokens")
def list_tokens():
    """An admin sees every token of the tenant; anyone else their own."""
    return jsonify({"items": [people.token_json(t) for t in people.tokens(g.session.storage, _own_unless_admin())]})


@api.post("/tokens")
def create_api_token():
    """Body {user: e-mail (an admin's choice; yourself when left out), label, expires: "30d",
    scopes: [...]}: the token is in the answer, this once."""
    body = json_body(keys=("user", "label", "expires", "scopes"))
    actor = g.session.actor
    user = _text(body, "user") or actor.email
    if _own_unless_admin() is not None and user.strip().lower() != actor.email:
        raise Forbidden("only a tenant admin may create API tokens for someone else", code="admin_only")
    entities = [entity.name for entity in g.session.metadata().package.entities]
    row, secret = people.new_token(g.session.storage, user, body.get("label"), body.get("expires"),
                                   body.get("scopes"), entities)
    return jsonify({**people.token_json(row), "token": secret}), 201


@api.delete("/tokens/<int:token_id>")
def revoke_token(token_id):
    """An admin revokes any token of the tenant; anyone else their own."""
    return jsonify(people.token_json(people.revoke(g.session.storage, token_id, _own_unless_admin())))


@api.get("/audit")
@accepts("user", "entity", "record", "since", "until", "before", "limit")
def audit_log():
    """The audit log, newest first, filtered; `next` is the `before` of the next page."""
    storage = _admin("read the audit log")
    return jsonify(audit_page(storage, AuditQuery.parse(request.args)))
