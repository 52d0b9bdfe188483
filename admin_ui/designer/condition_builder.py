"""The designer's condition builder: a condition of the one condition language
(`metadata.conditions`) edited as rows of field, operator and value, matched all or
any, with one level of groups (said in words by `admin_ui.condition_words`).

The builder only translates between a submitted form and a condition; whether the
condition is valid is `check_condition`'s answer, whose problems are shown beside the
row they concern. A condition the rows cannot show (a `not`, groups inside groups) is
edited as JSON text instead, so nothing a document holds is lost by opening it here.

Form names under a prefix `p`: `p-match` (all/any), `p-<i>-field|op|value` for a row,
`p-<i>-match` and `p-<i>-<j>-field|op|value` for a group, `p-mode` (`rows`/`json`) and
`p-json`. The rows are redrawn by `POST …/designer/condition/<entity>` (htmx) with
`p-action`: `add`, `add-group`, `add:<i>` (a row in group i), `remove:<i>` or
`remove:<i>-<j>`, `json`, `rows`, or none (a field changed: its operators and value
input follow)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field as dataclass_field

from flask import g, render_template, request
from flask_babel import gettext as _

from admin_ui.condition_words import op_words
from admin_ui.designer import edits
from admin_ui.designer.common import drafts, shown
from engine.whole import whole_number
from admin_ui.web import admin_only, screens
from engine.jsontext import strict_loads
from metadata.conditions import NO_VALUE_OPS, check_condition, condition_field, ops_for
from metadata.fieldtypes import known_types
from metadata.workflow_checks import typed_entities

MATCHES = ("all", "any")
LIST_OPS = ("in", "not_in")
_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


@dataclass
class Row:
    """One leaf: field, operator and value as typed (a list for `in`/`not_in` of a choice)."""
    path: str  # the row's form name, e.g. "p-0" or "p-1-2"
    field: str = ""
    op: str = "eq"
    value: object = ""
    problems: list = dataclass_field(default_factory=list)


@dataclass
class Group:
    path: str
    match: str = "all"
    rows: list = dataclass_field(default_factory=list)


@dataclass
class Builder:
    """What the macro `designer/_condition_builder.html` draws."""
    prefix: str
    entity: str
    fields: list  # [{"name", "label", "base", "options": [(value, label)]}]
    match: str = "all"
    items: list = dataclass_field(default_factory=list)  # Row | Group
    mode: str = "rows"
    text: str = ""  # the JSON text, in json mode
    problems: list = dataclass_field(default_factory=list)  # problems of the whole condition
    legend: str = ""  # the caller's legend, kept across redraws

    def field_named(self, name: str) -> dict | None:
        return next((f for f in self.fields if f["name"] == name), None)

    def ops_of(self, name: str) -> list[tuple[str, str]]:
        found = self.field_named(name)
        words = op_words()
        return [(op, words[op]) for op in ops_for(found["base"] if found else "")]

    def no_value(self, op: str) -> bool:
        return op in NO_VALUE_OPS


# --- the fields a condition may name ---------------------------------------------------


def _typed(entity_doc: dict, document: dict):
    types = known_types(getattr(g.get("session"), "extra_types", None) if g else None)
    return typed_entities([entity_doc], types).get(entity_doc.get("name"))


def fields_of(entity_doc: dict, document: dict) -> list[dict]:
    """The entity's fields a condition can test, with their labels and choices."""
    typed = _typed(entity_doc, document)
    out = []
    for doc in edits.dicts(entity_doc, "fields"):
        model = typed.field(doc.get("name")) if typed is not None else None
        if model is None or model.base_type in ("", "json"):
            continue
        options = [(o["value"], shown(o.get("label"), str(o["value"]))) if isinstance(o, dict) else (o, str(o))
                   for o in doc.get("options") or [] if not isinstance(o, dict) or "value" in o]
        out.append({"name": model.name, "label": shown(doc.get("label"), model.name),
                    "base": model.base_type, "options": options})
    return out


# --- condition -> builder ------------------------------------------------------------


def builder_for(condition, entity_doc: dict, document: dict, prefix: str, problems: list | None = None) -> Builder:
    """The builder showing `condition` (None for none yet) of an entity of the draft."""
    builder = Builder(prefix=prefix, entity=str(entity_doc.get("name")), fields=fields_of(entity_doc, document))
    shape = _shape(condition)
    if shape is None:
        builder.mode, builder.text = "json", json.dumps(condition, ensure_ascii=False, indent=1)
    else:
        builder.match, items = shape
        builder.items = [_item(item, f"{prefix}-{i}") for i, item in enumerate(items)]
    if problems:
        _place(builder, problems)
    return builder


def _shape(condition):
    """(match, items) when the rows can show `condition`, else None."""
    if condition is None:
        return "all", []
    if _leaf(condition):
        return "all", [condition]
    key = _combinator(condition)
    if key is None or not all(_leaf(c) or _group(c) for c in condition[key]):
        return None
    return key, condition[key]


def _combinator(condition):
    if isinstance(condition, dict) and len(condition) == 1:
        key = next(iter(condition))
        if key in MATCHES and isinstance(condition[key], list) and condition[key]:
            return key
    return None


def _leaf(condition) -> bool:
    return isinstance(condition, dict) and isinstance(condition.get("field"), str) \
        and isinstance(condition.get("op"), str) and set(condition) <= {"field", "op", "value"}


def _group(condition) -> bool:
    key = _combinator(condition)
    return key is not None and all(_leaf(c) for c in condition[key])


def _item(condition: dict, path: str):
    if _leaf(condition):
        value = condition.get("value", "")
        if isinstance(value, list) and condition["op"] not in LIST_OPS:
            value = json.dumps(value, ensure_ascii=False)
        return Row(path=path, field=condition["field"], op=condition["op"],
                   value=value if isinstance(value, list) else _text(value))
    key = _combinator(condition)
    return Group(path=path, match=key, rows=[_item(c, f"{path}-{j}") for j, c in enumerate(condition[key])])


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return str(value.get("amount", json.dumps(value, ensure_ascii=False)))
    return "" if value is None else str(value)


def _place(builder: Builder, problems: list, blank_ok: bool = False) -> None:
    """Each problem (paths of the condition, e.g. /any/1/all/0/value) beside its row;
    with `blank_ok`, none about a value not typed yet (a row just added or redrawn)."""
    rows = {}
    for i, item in enumerate(builder.items):
        if isinstance(item, Group):
            for j, row in enumerate(item.rows):
                rows[(i, j)] = row
        else:
            rows[(i,)] = item
    for problem in problems:
        steps = [int(s) for s in re.findall(r"/(\d+)(?=/|$)", str(problem.get("field", "")))]
        key = tuple(steps[:2]) if tuple(steps[:2]) in rows else tuple(steps[:1])
        if builder.mode == "rows" and len(builder.items) == 1 and not steps and (0,) in rows:
            key = (0,)  # a lone leaf has no index in its path
        if blank_ok and key in rows and rows[key].value in ("", []) and str(problem.get("field", "")).endswith("/value"):
            continue
        if builder.mode == "rows" and key in rows:
            rows[key].problems.append(problem)
        else:
            builder.problems.append(problem)


# --- form -> builder -> condition ----------------------------------------------------


def builder_from_form(form, prefix: str, entity_doc: dict, document: dict) -> Builder:
    """The builder as submitted (before any action)."""
    builder = Builder(prefix=prefix, entity=str(entity_doc.get("name")), fields=fields_of(entity_doc, document))
    builder.mode = "json" if form.get(f"{prefix}-mode") == "json" else "rows"
    builder.text = form.get(f"{prefix}-json", "")
    builder.legend = form.get(f"{prefix}-legend", "")[:200]
    builder.match = form.get(f"{prefix}-match") if form.get(f"{prefix}-match") in MATCHES else "all"
    for i in _indexes(form, prefix):
        path = f"{prefix}-{i}"
        if f"{path}-match" in form:
            group = Group(path=path, match=form.get(f"{path}-match") if form.get(f"{path}-match") in MATCHES else "all")
            group.rows = [_row_from(form, f"{path}-{j}") for j in _indexes(form, path)]
            builder.items.append(group)
        else:
            builder.items.append(_row_from(form, path))
    return builder


def _indexes(form, path: str) -> list[int]:
    found = {int(m.group(1)) for key in form for m in [re.match(rf"^{re.escape(path)}-(\d+)-", key)] if m}
    return sorted(found)


def _row_from(form, path: str) -> Row:
    values = [v for v in form.getlist(f"{path}-value")]
    value = values if len(values) > 1 or form.get(f"{path}-multi") else (values[0] if values else "")
    return Row(path=path, field=form.get(f"{path}-field", ""), op=form.get(f"{path}-op", "eq"), value=value)


def condition_from_form(form, prefix: str, entity_doc: dict, document: dict):
    """(condition or None, problems) from a submitted builder; problems as the engine's
    check gives them, paths under the condition."""
    builder = builder_from_form(form, prefix, entity_doc, document)
    return condition_of(builder, entity_doc, document)


def condition_of(builder: Builder, entity_doc: dict, document: dict):
    if builder.mode == "json":
        if not builder.text.strip():
            return None, []
        try:
            condition = strict_loads(builder.text)
        except ValueError as exc:
            return None, [{"field": "", "code": "invalid_json", "message": _("This is not JSON: %(error)s", error=exc)}]
    else:
        condition = _condition_of_rows(builder)
    if condition is None:
        return None, []
    typed = _typed(entity_doc, document)
    return condition, [p.to_dict() for p in check_condition(condition, typed)]


def _condition_of_rows(builder: Builder):
    items = []
    for item in builder.items:
        if isinstance(item, Group):
            rows = [_leaf_of(row, builder) for row in item.rows if row.field]
            if rows:
                items.append({item.match: rows})
        elif item.field:
            items.append(_leaf_of(item, builder))
    if not items:
        return None
    return items[0] if len(items) == 1 and builder.match == "all" and "field" in items[0] else {builder.match: items}


def _leaf_of(row: Row, builder: Builder) -> dict:
    leaf = {"field": row.field, "op": row.op}
    if row.op in NO_VALUE_OPS:
        return leaf
    found = builder.field_named(row.field)
    base = found["base"] if found else ""
    if row.op in LIST_OPS:
        raw = row.value if isinstance(row.value, list) else re.split(r"[,\n，]", str(row.value))
        leaf["value"] = [converted(base, v.strip()) for v in raw if v.strip()]
    elif row.op in ("contains", "matches"):
        leaf["value"] = row.value if isinstance(row.value, str) else ",".join(row.value)
    else:
        leaf["value"] = converted(base, row.value if isinstance(row.value, str) else ",".join(row.value))
    return leaf


def converted(base: str, text):
    """A value as typed, converted to its field type's JSON: numbers and ids without the
    spaces around them, yes/no as true/false; text stays exactly as typed. What does not
    convert is left as typed, so the check says why."""
    if not isinstance(text, str):
        return text
    bare = text.strip()
    if base in ("integer", "reference"):
        return int(bare) if re.fullmatch(r"[+-]?\d{1,18}", bare) else text
    if base in ("decimal", "currency", "date", "datetime"):
        return bare
    if base == "boolean":
        return {"true": True, "false": False}.get(bare.lower(), text)
    if base == "multi_choice" and bare.startswith("["):
        try:
            return strict_loads(bare)
        except ValueError:
            return text
    return text


# --- actions (the redraw) ------------------------------------------------------------


def apply_action(builder: Builder, action: str, entity_doc: dict, document: dict) -> Builder:
    """The builder after a row was added or removed, or the mode switched."""
    first = builder.fields[0]["name"] if builder.fields else ""
    if action == "add":
        builder.items.append(Row(path=f"{builder.prefix}-{len(builder.items)}", field=first))
    elif action == "add-group":
        path = f"{builder.prefix}-{len(builder.items)}"
        builder.items.append(Group(path=path, match="any", rows=[Row(path=f"{path}-0", field=first)]))
    elif action.startswith("add:") and (whole_number(action[4:], 0) or 0) < len(builder.items) \
            and whole_number(action[4:], 0) is not None:
        group = builder.items[whole_number(action[4:], 0)]
        if isinstance(group, Group):
            group.rows.append(Row(path=f"{group.path}-{len(group.rows)}", field=first))
    elif action.startswith("remove:"):
        _remove(builder, action[7:])
    elif action == "json":
        condition, _problems = condition_of(builder, entity_doc, document)
        builder.mode, builder.text = "json", json.dumps(condition, ensure_ascii=False, indent=1) if condition else ""
    elif action == "rows":
        condition, problems = condition_of(builder, entity_doc, document)
        if any(p.get("code") == "invalid_json" for p in problems):
            return builder  # the JSON's own problem is shown
        if _shape(condition) is not None:
            return builder_for(condition, entity_doc, document, builder.prefix)
        builder.problems.append({"field": "", "code": "too_deep",
                                 "message": _("This condition cannot be shown as rows; keep editing it as JSON.")})
    return _renumbered(builder, entity_doc, document)


def _remove(builder: Builder, where: str) -> None:
    steps = [n for s in where.split("-") if (n := whole_number(s, 0)) is not None]
    if len(steps) == 1 and steps[0] < len(builder.items):
        del builder.items[steps[0]]
    elif len(steps) == 2 and steps[0] < len(builder.items) and isinstance(builder.items[steps[0]], Group):
        rows = builder.items[steps[0]].rows
        if steps[1] < len(rows):
            del rows[steps[1]]
        if not rows:
            del builder.items[steps[0]]


def _renumbered(builder: Builder, entity_doc: dict, document: dict) -> Builder:
    """Paths follow positions again; a row's operator and value fit its field."""
    for i, item in enumerate(builder.items):
        item.path = f"{builder.prefix}-{i}"
        for j, row in enumerate(item.rows if isinstance(item, Group) else []):
            row.path = f"{item.path}-{j}"
        for row in (item.rows if isinstance(item, Group) else [item]):
            ops = [op for op, _w in builder.ops_of(row.field)]
            if ops and row.op not in ops:
                row.op, row.value = ops[0], ""
    return builder


# --- the redraw route ----------------------------------------------------------------


@screens.post("/designer/condition/<entity>")
@admin_only
def designer_condition(entity):
    """The builder drawn again after an action (htmx); nothing is saved."""
    prefix = request.args.get("prefix", "")
    if not _PREFIX.match(prefix):
        return render_template("designer/_condition_refused.html",
                               message=_("The condition builder's prefix must be a safe name.")), 400
    found_drafts = drafts()
    mine = found_drafts.mine()
    document = mine.document if mine is not None else found_drafts.published()[1]
    found = [e for e in edits.dicts(document, "entities") if e.get("name") == entity]
    if not found:
        return render_template("designer/_condition_refused.html",
                               message=_("Your draft has no entity %(name)s.", name=entity)), 404
    builder = builder_from_form(request.form, prefix, found[0], document)
    builder = apply_action(builder, request.form.get(f"{prefix}-action", ""), found[0], document)
    _condition, problems = condition_of(builder, found[0], document)
    _place(builder, problems, blank_ok=True)  # "a value is needed" waits for the save
    return render_template("designer/_condition_builder_fragment.html", builder=builder)
