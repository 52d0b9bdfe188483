"""The designer's drafts over REST (admins only): `/api/v1/t/<tenant>/drafts/…`, the
signed-in token's own draft at `/drafts/mine`."""
from __future__ import annotations

from flask import g, jsonify

from engine.api.body import json_body
from engine.api.params import accepts, flag, state_map
from engine.api.routes import api
from engine.drafts import Drafts
from engine.errors import NotFound, ValidationFailed
from engine.timefmt import iso_utc


def draft_json(drafts: Drafts, draft) -> dict:
    return {"id": draft.id, "owner": draft.owner_email, "based_on": draft.based_on,
            "created_at": iso_utc(draft.created_at), "updated_at": iso_utc(draft.updated_at),
            "status": _plain(drafts.status(draft)), "problems": draft.problems, "document": draft.document}


def _plain(status: dict) -> dict:
    return {**status, "others": [{**o, "updated_at": iso_utc(o["updated_at"])} for o in status["others"]]}


def _mine(drafts: Drafts):
    draft = drafts.mine()
    if draft is None:
        raise NotFound("you have no open draft; PUT /drafts/mine a document to start one", code="draft_not_found")
    return draft


@api.get("/drafts")
def list_drafts():
    """Every admin's open draft (who, on which version, when)."""
    drafts = Drafts(g.session)
    mine = drafts.mine()
    items = ([] if mine is None else [mine]) + drafts.others(changed_only=False)
    return jsonify({"items": [{**d.summary(), "updated_at": iso_utc(d.updated_at)} for d in items]})


@api.get("/drafts/mine")
def get_draft():
    drafts = Drafts(g.session)
    return jsonify(draft_json(drafts, _mine(drafts)))


@api.put("/drafts/mine")
def put_draft():
    """Save the body as the draft (made from the current version if there was none); an
    invalid document is kept with its problems."""
    drafts = Drafts(g.session)
    return jsonify(draft_json(drafts, drafts.save(json_body())))


@api.delete("/drafts/mine")
def delete_draft():
    drafts = Drafts(g.session)
    _mine(drafts)
    drafts.discard()
    return jsonify({"discarded": True})


@api.get("/drafts/mine/plan")
@accepts("map_state")
def draft_plan():
    drafts = Drafts(g.session)
    _mine(drafts)
    return jsonify(drafts.plan(state_map()).to_dict())


@api.post("/drafts/mine/rebase")
def rebase_draft():
    """Body (optional): {"keep_mine": [paths], "take_theirs": [paths]} resolving conflicts."""
    drafts = Drafts(g.session)
    _mine(drafts)
    body = json_body(keys=("keep_mine", "take_theirs"), optional=True)
    choices = {key: body.get(key, []) for key in ("keep_mine", "take_theirs")}
    for key, paths in choices.items():
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ValidationFailed(f"{key} must be a list of paths",
                                   details=[{"field": key, "code": "invalid", "message": "not a list of paths"}])
    return jsonify(draft_json(drafts, drafts.rebase(**choices)))


@api.post("/drafts/mine/publish")
@accepts("allow_drop", "map_state")
def publish_draft():
    drafts = Drafts(g.session)
    _mine(drafts)
    return jsonify(drafts.publish(allow_drop=flag("allow_drop"), state_map=state_map()).to_dict())
