"""Moving a kanban card, decided by the engine: on a workflow's state field, the
transition from the card's state to the column's (its role, guard, required fields,
comment and approvals checked by `workflows.transitions`); on a plain choice field, an
update of the field at the card's version.

Fields a transition requires and a comment it requires are asked for in a dialog the
server renders; the filled fields go to the transition, which checks the step on them and
writes them with it, in one transaction (a refused step changes nothing). Every refusal
comes back as a message and the card stays where the server has it."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field

from flask import g
from flask_babel import gettext as _

from admin_ui import problems
from admin_ui.form_values import record_value, submitted
from engine.records.inputs import stale_version
from engine.whole import whole_number
from admin_ui.formats import record_title
from engine.errors import LoomError, ValidationFailed
from metadata.errors import Problem
from workflows import transitions

VALUE = "value."  # the form name of an asked field: value.<field>


@dataclass
class Outcome:
    kind: str  # done, pending, refused, ask
    message: str = ""
    status: int = 200
    card: int | None = None
    ask: dict = dataclass_field(default_factory=dict)  # transition, fields, comment, errors, to, version


def reachable(board, records) -> dict:
    """`{card id: [column values]}`, the columns each card may move to, as the engine
    answers for this user: none on a card they may only read; on a workflow's state field
    the targets of the transitions from the card's state they may take (a step that only
    wants fields filled counts: the dialog asks for them); on a plain choice field every
    other column. One query for the cards' rights, one for their approvals."""
    ids = [r["id"] for r in records]
    editable = g.session.records.editable_among(board.entity["name"], ids) if ids else set()
    mine = [r for r in records if r["id"] in editable]
    state = board.field["name"]
    if board.workflow is None:
        return {r["id"]: [c["value"] for c in board.columns if c["value"] != r.get(state)] for r in mine}
    offered = transitions.available_for(g.session, board.entity["name"], mine) if mine else {}
    declared = {t["name"]: t for t in board.workflow["transitions"]}
    out = {}
    for record in mine:
        targets = {item["to"] for item in offered[record["id"]]["items"]
                   if _missing_fields(item, declared[item["name"]]) is not None}
        out[record["id"]] = [c["value"] for c in board.columns if c["value"] in targets]
    return out


def move_card(board, form) -> Outcome:
    to = form.get("to")
    if to not in {c["value"] for c in board.columns}:
        return Outcome("refused", _("There is no such column on this board."), 400)
    shown = whole_number(form.get("version"), 1)  # a move is of the card as it was shown
    if shown is None:
        return Outcome("refused", _("Reload the board: this card's version is missing."), 400)
    try:
        record = g.session.records.get(board.entity["name"], form.get("id"))
        if record.get(board.field["name"]) == to:
            return Outcome("done", _("%(title)s is already there.", title=_title(board, record)), card=record["id"])
        if record["version"] != shown:  # changed since the card was drawn (a step's dialog would hide it)
            raise stale_version(board.entity["name"], record["id"], record["version"], shown)
        if board.workflow is None:
            return _update(board, record, to, form)
        return _transition(board, record, to, form)
    except LoomError as refused:
        return Outcome("refused", _refusal_text(board, refused), 409 if refused.status >= 500 else refused.status,
                       card=_int(form.get("id")))


def _update(board, record, to, form) -> Outcome:
    g.session.records.update(board.entity["name"], record["id"], {board.field["name"]: to},
                             expected_version=form.get("version"))
    return Outcome("done", _moved(board, record, to), card=record["id"])


def _transition(board, record, to, form) -> Outcome:
    entity = board.entity["name"]
    offered = [t for t in transitions.available(g.session, entity, record["id"])["items"] if t["to"] == to]
    if not offered:
        return Outcome("refused", _("No step of the workflow leads from %(here)s to %(there)s that you may take.",
                                    here=_label(board, record.get(board.field["name"])), there=_label(board, to)),
                       409, card=record["id"])
    item = next((t for t in offered if t["allowed"]), offered[0])
    declared = next(t for t in board.workflow["transitions"] if t["name"] == item["name"])
    missing = _missing_fields(item, declared)
    if missing is None:
        return Outcome("refused", _refusal_message(board, item), item["refused"]["status"], card=record["id"])
    wants_comment = item["comment"] == "required"
    if (missing or wants_comment) and not form.get("asked"):
        return _ask(board, record, to, declared, missing, wants_comment)
    values, unreadable = _values(board, missing, form)
    if unreadable:
        return _ask(board, record, to, declared, missing, wants_comment, form, unreadable)
    try:  # the fields are written with the step, in its transaction, or not at all
        status, body = transitions.perform(g.session, entity, record["id"], item["name"], form.get("comment"),
                                           form.get("version"), values=values or None)
    except ValidationFailed as invalid:
        fields = board.entity["field_by_name"]
        errors = {p.path: problems.text(p, fields) for p in invalid.problems if p.path in missing}
        if not errors:
            raise
        return _ask(board, record, to, declared, missing, wants_comment, form, errors)
    if status == 202:
        return Outcome("pending", _("Your approval of %(step)s is recorded (%(given)s of %(needed)s); "
                                    "%(title)s moves when enough people approved.",
                                    step=declared["label"] or declared["name"], given=body["approvals"],
                                    needed=body["needed"], title=_title(board, record)), card=record["id"])
    return Outcome("done", _moved(board, record, to), card=record["id"])


def _missing_fields(item, declared) -> list[str] | None:
    """The required fields still empty when they alone block the step; None when
    something else refuses it (a guard, the role, an approval)."""
    if item["allowed"]:
        return []
    if item["refused"]["code"] != "transition_blocked":
        return None
    if any(b["code"] != "required_for_step" for b in item["blocked_by"]):
        return None
    return [b["field"] for b in item["blocked_by"]]


def _ask(board, record, to, declared, missing, wants_comment, form=None, errors=None) -> Outcome:
    fields = [{**board.entity["field_by_name"][name], "form_name": VALUE + name,
               "value": (form or {}).get(VALUE + name, ""), "error": (errors or {}).get(name)}
              for name in missing if name in board.entity["field_by_name"]]
    return Outcome("ask", _("%(step)s needs a few details.", step=declared["label"] or declared["name"]),
                   422 if errors else 200, card=record["id"],
                   ask={"step": declared["label"] or declared["name"], "title": _title(board, record),
                        "fields": fields, "comment": wants_comment, "to": to, "version": record["version"],
                        "comment_error": (errors or {}).get("comment")})


def _values(board, names, form) -> tuple[dict, dict]:
    """The asked fields' record values as the dialog sent them, and the problems of those
    that cannot be read."""
    values, problems = {}, {}
    for name in names:
        field = board.entity["field_by_name"][name]
        values[name], problem = record_value(field, submitted(field, form, VALUE + name))
        if problem:
            problems[name] = problem
    return values, problems


def _refusal_message(board, item) -> str:
    """Why the step is refused, in the user's language: its problems (a guard explained)."""
    refused = item["refused"]
    found = [Problem.from_dict(d) for d in refused.get("details") or ()]
    fields = board.entity["field_by_name"]
    return " ".join([problems.text(p, fields) for p in found] or
                    [problems.headline(refused["code"], refused["message"])])


def _refusal_text(board, error: LoomError) -> str:
    return " ".join(problems.texts(error, board.entity["field_by_name"]))


def _title(board, record) -> str:
    return record_title(board.entity, record)


def _label(board, value) -> str:
    return next((c["label"] for c in board.columns if c["value"] == value), str(value))


def _moved(board, record, to) -> str:
    return _("%(title)s moved to %(column)s.", title=_title(board, record), column=_label(board, to))


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
