"""The kanban: an entity's records in one column per value of a workflow-state or choice
field, filtered as in its list, each column paged by its own keyset cursor. Moving a card
(`admin_ui.kanban_moves`) answers with the whole board as the server now sees it, so a
refused move puts the card back where it was."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from urllib.parse import parse_qsl

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.board_common import cards, entity_or_404, filters_of, key_fields, query_string
from admin_ui.list_filters import engine_filters
from admin_ui.list_state import list_layout
from admin_ui.kanban_moves import move_card, reachable
from admin_ui.view import screen_view
from admin_ui.web import screens

OWN = ("by", "column")
PAGE = 20


@dataclass
class Board:
    entity: dict
    field: dict
    columns: list  # [{"value", "label"}]
    filters: list = dataclass_field(default_factory=list)
    workflow: dict | None = None

    @property
    def query(self) -> str:
        return query_string(self.filters, by=self.field["name"])

    def load(self) -> list[dict]:
        """Every column with its first page of cards."""
        return [self.column(c["value"]) for c in self.columns]

    def column(self, value, cursor=None) -> dict:
        params = engine_filters(self.entity, self.filters) + [(self.field["name"], value), ("limit", str(PAGE))]
        if cursor:
            params.append(("cursor", cursor))
        page = g.session.records.list(self.entity["name"], params)
        shown = key_fields(self.entity, leave_out=(self.field["name"],))
        label, color = next((c["label"], c.get("color")) for c in self.columns if c["value"] == value)
        shown_cards, targets = cards(self.entity, page["items"], shown), reachable(self, page["items"])
        for card in shown_cards:
            card["targets"] = targets.get(card["id"], [])
        return {"value": value, "label": label, "color": color, "cards": shown_cards, "cursor": page["next_cursor"]}


def board_of(entity_name: str, by: str | None, filters) -> Board:
    """The board of `entity_name` grouped by field `by` (default: its workflow's state
    field, else its list layout's `kanban_field`, else its workflow's state field, else its
    first choice field); a 400 page when it has no such field."""
    entity = entity_or_404(entity_name)
    workflow = screen_view()["workflow_by_entity"].get(entity_name)
    choices = [f for f in entity["fields"] if f["base_type"] == "choice"]
    chosen = (list_layout(screen_view(), entity) or {}).get("kanban_field")
    if by is None and chosen in entity["field_by_name"]:
        by = chosen
    if by is None:
        by = workflow["field"] if workflow else (choices[0]["name"] if choices else None)
    if by is None:
        abort(400, description=_("%(entity)s has no choice or workflow field to group a board by.",
                                 entity=entity["label"]))
    field = entity["field_by_name"].get(by)
    if field is None or field["base_type"] != "choice":
        abort(400, description=_("%(field)s is not a choice or workflow field of %(entity)s.",
                                 field=by, entity=entity["label"]))
    if workflow and workflow["field"] == by:
        columns = [{"value": s["name"], "label": s["label"] or s["name"]} for s in workflow["states"]]
    else:
        workflow = None
        columns = [{"value": c["value"], "label": c["label"] or c["value"], "color": c.get("color")}
                   for c in field.get("choices", ())]
    return Board(entity, field, columns, filters, workflow)


@screens.get("/e/<entity>/kanban")
def entity_kanban(entity):
    board = board_of(entity, request.args.get("by"), filters_of(request.args, OWN))
    return _page(board)


def _page(board: Board, outcome=None, status=200):
    title = _("%(entity)s board", entity=board.entity["plural_label"] or board.entity["label"])
    return render_template("screens/kanban.html", board=board, columns=board.load(), outcome=outcome,
                           nav_entity=board.entity["name"], title=title), status


@screens.get("/e/<entity>/kanban/more")
def kanban_more(entity):
    """The next cards of one column (htmx), after the column's keyset cursor."""
    board = board_of(entity, request.args.get("by"), filters_of(request.args, OWN))
    value = request.args.get("column")
    if value not in {c["value"] for c in board.columns}:
        abort(400, description=_("There is no such column on this board."))
    column = board.column(value, request.args.get("cursor"))
    return render_template("screens/_kanban_cards.html", board=board, column=column, columns=board.columns)


@screens.post("/e/<entity>/kanban/move")
def kanban_move(entity):
    """Move a card to a column: a workflow transition or a field update, run by the engine."""
    filters = [(k, v) for k, v in parse_qsl(request.form.get("filters", ""), keep_blank_values=True)
               if k not in OWN + ("cursor", "limit")]
    board = board_of(entity, request.form.get("by"), filters)
    outcome = move_card(board, request.form)
    if request.headers.get("HX-Request"):
        return render_template("screens/_kanban_board.html", board=board, columns=board.load(),
                               outcome=outcome), outcome.status
    if outcome.kind == "ask":
        return _page(board, outcome, outcome.status)
    flash(outcome.message)
    return redirect(url_for("screens.entity_kanban", entity=entity) + "?" + board.query)
