"""People, API tokens and the audit log over REST (admins only):
`/api/v1/t/<tenant>/users`, `/tokens` and `/audit`; why a user sees what they see (admins
only); handing a user's records, or one of them, to another user (admins, or roles with
the `transfer` right)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import g, jsonify, request

from engine import auth, people, token_scopes
from engine.api.body import json_body
from engine.api.params import accepts
from engine.api.routes import api
from engine.auth import UNSET
from engine.errors import Conflict, Forbidden, ValidationFailed
from engine.install import TenantSession
from engine.crypto.copies import opened_audit
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
    package = g.session.metadata().package
    return jsonify({"items": [p.to_dict() for p in people.people(storage)], "roles": list(people.roles()),
                    "tenant_roles": [r["name"] for r in package.roles],
                    "permission_sets": [s["name"] for s in package.permission_sets]})


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
    """Body: any of {role, manager (an e-mail or null), display_name, active, roles,
    permission_sets} (the last two: lists of the tenant's role and permission-set names)."""
    storage = _admin("change users")
    keys = ("role", "manager", "display_name", "active", "roles", "permission_sets")
    body = json_body(keys=keys)
    changes = {key: body[key] for key in keys if key in body and key != "manager"}
    if "manager" in body:
        changes["manager"] = _text(body, "manager")
    return jsonify(people.change(storage, user_id, g.session.actor, package=g.session.metadata().package,
                                 **{key: changes.get(key, UNSET) for key in keys}).to_dict())


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
    expires = _no_wider_than_the_callers_token(body.get("expires"))
    entities = [entity.name for entity in g.session.metadata().package.entities]
    row, secret = people.new_token(g.session.storage, user, body.get("label"), expires,
                                   body.get("scopes"), entities)
    return jsonify({**people.token_json(row), "token": secret}), 201


def _no_wider_than_the_callers_token(expires):
    """A token that makes a token gives no more than it holds: it needs every right
    (`read-write`), and the new token expires no later than it does (asked for no
    lifetime, it gets the default or what the calling token has left, whichever is
    shorter). Returns the lifetime to give."""
    checked = g.get("token_grant")
    if checked is None:
        return expires
    grant = checked[1]
    if token_scopes.READ_WRITE not in grant.scopes:
        raise Forbidden("a token with narrower scopes cannot create tokens: use one with read-write, "
                        "or the screens", code="token_scope")
    if grant.expires_at is None:
        return expires
    left = grant.expires_at - datetime.now(timezone.utc)
    if expires is None:
        hours = int(left.total_seconds() // 3600)
        return token_scopes.DEFAULT_LIFETIME if left >= token_scopes.lifetime(token_scopes.DEFAULT_LIFETIME) \
            else f"{max(hours, 1)}h"
    if token_scopes.lifetime(expires) > left:
        raise ValidationFailed("a token cannot outlive the token that creates it: ask for an expiry before "
                               f"{grant.expires_at.isoformat(timespec='minutes')}",
                               details=[{"field": "expires", "code": "token_outlives",
                                         "message": "ends after the calling token"}])
    return expires


@api.delete("/tokens/<int:token_id>")
def revoke_token(token_id):
    """An admin revokes any token of the tenant; anyone else their own."""
    return jsonify(people.token_json(people.revoke(g.session.storage, token_id, _own_unless_admin())))


@api.get("/audit")
@accepts("user", "entity", "record", "since", "until", "before", "limit")
def audit_log():
    """The audit log, newest first, filtered; `next` is the `before` of the next page."""
    storage = _admin("read the audit log")
    return jsonify(opened_audit(g.session.metadata(), audit_page(storage, AuditQuery.parse(request.args))))


# -- why, and handing records over ------------------------------------------------------
def _user_actor(storage, user_id):
    """The user `user_id` as an Actor (404 when there is none)."""
    people.person(storage, user_id)
    return next(a for a in auth.list_users(storage) if a.id == user_id)


@api.get("/users/<int:user_id>/why")
@accepts("entity", "field", "record")
def why_user(user_id):
    """Why the user may (or may not) use an entity, a field of it, or one of its records:
    the roles, permission sets and sharing terms that decide it (admins only)."""
    storage = _admin("ask why a user sees what they see")
    entity = request.args.get("entity")
    if not entity:
        raise ValidationFailed("name the entity: ?entity=...", details=[{"field": "entity", "message": "required"}])
    actor = _user_actor(storage, user_id)
    records = TenantSession(g.session.install, g.session.tenant, actor).records
    answer = records.why(entity, request.args.get("field"), request.args.get("record"))
    return jsonify({"user": {"id": actor.id, "email": actor.email, "role": actor.role}, **answer})


@api.post("/users/<int:user_id>/transfer")
def transfer_records(user_id):
    """Body {to: a user id, entity: optional, record: optional (with entity)}: every record the
    user owns (of the entity, or of every entity you may transfer), or that one record of
    theirs, becomes `to`'s; one audit row per record."""
    body = json_body(keys=("to", "entity", "record"))
    entity = body.get("entity")
    if entity is not None and not isinstance(entity, str):
        raise ValidationFailed("entity must be an entity's name", details=[{"field": "entity", "message": "not text"}])
    records = g.session.records
    if body.get("record") is None:
        moved = records.transfer(user_id, body.get("to"), entity)
    elif entity is None:
        raise ValidationFailed("a record is named with its entity", details=[{"field": "entity", "message": "required"}])
    else:
        if records.get(entity, body["record"])["owner_id"] != user_id:
            raise Conflict(f"{entity} {body['record']} is not user {user_id}'s", code="not_owner")
        records.assign(entity, body["record"], body.get("to"))
        moved = {entity: 1}
    return jsonify({"transferred": moved, "total": sum(moved.values())})
