"""The rules editor: the draft's rule sets and rules; a rule's trigger and condition (the
condition builder), correlation, schedule or message; its actions picked from the
tenant's action registry, each with its parameters as a form checked by the action's own
`check` (problems beside the parameter) — every change an edit of the admin's draft.
"Test on a record" and "Replay history" try the draft rule without side effects."""
from __future__ import annotations

from flask import abort, g, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui import problems as problem_words
from admin_ui.condition_words import describe
from admin_ui.designer import action_forms, edits, edits_rules, rule_checks
from admin_ui.designer.common import drafts, problems_at, save_edit, shown
from admin_ui.designer.condition_builder import builder_for, builder_from_form, condition_from_form
from admin_ui.designer.rule_forms import trigger_in_words, trigger_view, when_from_form
from admin_ui.formats import record_title, reference_labels
from admin_ui.i18n import language_of_request
from engine.whole import whole_number
from admin_ui.view import entity_view
from admin_ui.web import admin_only, screens
from engine.errors import LoomError, NotFound
from engine.records.inputs import record_id_of

KINDS = ("automation", "validation")
BUILDER = "condition"
SHOWN = 100  # firings of a replay listed with their records


def _rules_url(ruleset=None) -> str:
    url = url_for("screens.designer_rules")
    return f"{url}#ruleset-{ruleset}" if ruleset else url


def _rule_url(ruleset, rule, anchor="") -> str:
    url = url_for("screens.designer_rule", ruleset=ruleset, rule=rule)
    return f"{url}#{anchor}" if anchor else url


@screens.get("/designer/rules")
@admin_only
def designer_rules():
    draft = drafts().open()
    document = draft.document
    entities = {e.get("name"): e for e in edits.dicts(document, "entities")}
    rulesets = []
    for i, ruleset in edits.indexed(document, "rulesets"):
        entity = entities.get(ruleset.get("entity"))
        rules = [{"name": r.get("name"), "trigger": trigger_in_words(r, entity),
                  "problems": len(problems_at(draft.problems, f"/rulesets/{i}/rules/{j}"))}
                 for j, r in edits.indexed(ruleset, "rules")]
        own = [p for p in problems_at(draft.problems, f"/rulesets/{i}")
               if not str(p["field"]).startswith(f"/rulesets/{i}/rules/")]
        rulesets.append({"name": ruleset.get("name"), "kind": ruleset.get("kind"), "entity": ruleset.get("entity"),
                         "entity_label": shown((entity or {}).get("label"), str(ruleset.get("entity"))),
                         "rules": rules, "problems": own})
    return render_template("designer/rules.html", title=_("Rules"), rulesets=rulesets, kinds=KINDS,
                           entities=[(name, shown(e.get("label"), str(name))) for name, e in entities.items()],
                           problems=problems_at(draft.problems, "/rulesets", exact=True))


def _named(*names) -> None:
    """A name the rule's pages can be reached by again: refused (400, nothing changed)
    when empty or holding a slash; any other wrong name is kept, its problem shown."""
    if any(not name or "/" in name for name in names):
        abort(400, _("Give a name of lowercase letters, digits and underscores, e.g. store_alerts."))


@screens.post("/designer/rules")
@admin_only
def designer_add_ruleset():
    form = request.form
    name, rule = form.get("name", "").strip(), form.get("rule", "").strip()
    _named(name, rule)
    kind = form.get("kind") if form.get("kind") in KINDS else "automation"
    return save_edit(edits_rules.add_ruleset, name, form.get("entity", "").strip(), kind, rule,
                     back=_rule_url(name, rule))


@screens.post("/designer/rules/<ruleset>/rules")
@admin_only
def designer_add_rule(ruleset):
    rule = request.form.get("name", "").strip()
    _named(rule)
    return save_edit(edits_rules.add_rule, ruleset, rule, back=_rule_url(ruleset, rule))


def _found(draft, ruleset_name, rule_name):
    """(ruleset index, ruleset, rule index, rule, entity) of the draft, or a 404 page."""
    document = draft.document
    found = next(((i, r) for i, r in edits.indexed(document, "rulesets") if r.get("name") == ruleset_name), None)
    rule = next(((j, r) for j, r in edits.indexed(found[1], "rules") if r.get("name") == rule_name), None) \
        if found else None
    if rule is None:
        abort(404, _("Your draft has no rule %(name)s.", name=ruleset_name + "." + rule_name))
    entity = next((e for e in edits.dicts(document, "entities") if e.get("name") == found[1].get("entity")), None)
    return found[0], found[1], rule[0], rule[1], entity


def _page(ruleset_name, rule_name, status=200, input_problems=(), builder=None, **extra):
    """The rule editor, with what `extra` adds (a test's or a replay's outcome); the draft's
    problems of the condition are shown beside its rows."""
    draft = drafts().open()
    i, ruleset, j, rule, entity = _found(draft, ruleset_name, rule_name)
    at = f"/rulesets/{i}/rules/{j}"
    problems = problems_at(draft.problems, at)
    when = rule.get("when") if isinstance(rule.get("when"), dict) else {}
    in_condition = problems_at(problems, f"{at}/when/condition")
    if builder is None:
        builder = builder_for(when.get("condition"), entity or {}, draft.document, BUILDER,
                              [{**p, "field": str(p["field"]).removeprefix(f"{at}/when/condition")} for p in in_condition])
    registry = g.session.actions()
    actions = [_action_view(k, a, f"{at}/actions/{k}", problems, entity, draft.document, input_problems, registry)
               for k, a in edits.indexed(rule, "actions")]
    picked = {p["field"] for a in actions for p in a["all_problems"]}
    at_trigger = [p for p in problems if p["field"] not in picked and p not in in_condition
                  and p not in problems_at(problems, f"{at}/actions")]
    context = {"ruleset": ruleset_name, "rule": rule_name, "kind": ruleset.get("kind"),
               "entity": (entity or {}).get("name"), "entity_label": shown((entity or {}).get("label"), ""),
               "trigger": trigger_view(rule, entity, draft.document), "builder": builder,
               "condition_words": describe(when.get("condition"), entity, language_of_request())
               if when.get("condition") else "",
               "problems": at_trigger,
               "path": at, "actions": actions, "registry": sorted(registry, key=lambda n: (not registry[n].params, n)), "descriptions":
               {name: spec.description for name, spec in registry.items()},
               "action_problems": problems_at(problems, f"{at}/actions", exact=True),
               "records": _recent(entity), "action_title": action_forms.action_title,
               "param_label": action_forms.param_label, "choice_label": action_forms.choice_label, "test": None, "replay": None, "days": 30, **extra}
    return render_template("designer/rule.html", title=_("Rule %(name)s", name=rule_name), **context), status


def _action_view(index, action, path, problems, entity, document, input_problems, registry) -> dict:
    """An action's parameter inputs, each with its problems: the draft's (the action's own
    check) and, after a refused post, the inputs that could not be read."""
    name = str(action.get("action", ""))
    params = action.get("params") if isinstance(action.get("params"), dict) else {}
    mine = problems_at(problems, path)
    spec = registry.get(name)
    by_param, rest = action_forms.problems_by_param(
        spec, name, problems_at(mine, f"{path}/params") + problems_at(list(input_problems), f"{path}/params"), f"{path}/params",
        params)
    inputs = [{"param": p, "value": action_forms.shown_value(p, params), "problems": by_param.get(p.name, []),
               "choices": _choices(p, entity, document)} for p in action_forms.params_of(spec)]
    return {"index": index, "name": name, "inputs": inputs, "all_problems": mine,
            "problems": rest + [p for p in mine if not str(p["field"]).startswith(f"{path}/params")]}


def _choices(param, entity, document) -> list[tuple[str, str]]:
    """(value, label) of a parameter drawn as a choice."""
    if param.kind == "field":
        return [(f.get("name"), shown(f.get("label"), str(f.get("name")))) for f in edits.dicts(entity or {}, "fields")]
    if param.kind == "entity":
        return [(e.get("name"), shown(e.get("label"), str(e.get("name")))) for e in edits.dicts(document, "entities")]
    if param.kind == "template":
        return [(t.get("name"), str(t.get("name"))) for t in edits.dicts(document, "templates")]
    if param.kind == "recipients":
        return [(spec, _recipient_label(kind, who)) for spec, kind, who in action_forms.recipients(g.session, entity, document)]
    return [(c, c) for c in param.choices]


def _recipient_label(kind, who) -> str:
    return {"owner": lambda: _("The record's owner"), "field": lambda: _("The e-mail in field %(field)s", field=who),
            "user_field": lambda: _("The user in field %(field)s", field=who),
            "role": lambda: _("Everyone with the role %(role)s", role=who)}.get(kind, lambda: who)()


def _recent(entity) -> list[tuple[int, str]]:
    """(id, title) of the entity's recently changed records, each with the title of its
    first reference ("M00000002 — Wang Wei"), for the record picker."""
    view = entity_view(entity["name"]) if entity else None
    if view is None:
        return []
    ids = rule_checks.recent_records(g.session, entity["name"])
    if not ids:
        return []
    found = g.session.records.list(entity["name"], [("id__in", ",".join(map(str, ids))), ("limit", str(len(ids)))])
    by_id = {r["id"]: r for r in found["items"]}
    labels = reference_labels(list(by_id.values()), view)
    references = [f for f in view["fields"] if f["base_type"] == "reference"]
    out = []
    for record_id in ids:
        record = by_id.get(record_id)
        if record is not None:
            named = next((labels[(f["to"], record.get(f["name"]))] for f in references
                          if (f["to"], record.get(f["name"])) in labels), None)
            out.append((record_id, " — ".join(filter(None, (record_title(view, record), named)))))
    return out


@screens.get("/designer/rules/<ruleset>/<rule>")
@admin_only
def designer_rule(ruleset, rule):
    return _page(ruleset, rule)


@screens.post("/designer/rules/<ruleset>/<rule>/when")
@admin_only
def designer_rule_when(ruleset, rule):
    draft = drafts().open()
    _i, found, _j, _rule, entity = _found(draft, ruleset, rule)
    condition, problems = condition_from_form(request.form, BUILDER, entity or {}, draft.document)
    if condition is None and problems:  # JSON that does not parse: nothing to keep yet
        builder = builder_from_form(request.form, BUILDER, entity or {}, draft.document)
        builder.problems = problems
        return _page(ruleset, rule, status=400, builder=builder)
    when, extra = when_from_form(request.form, condition, found.get("kind") == "validation")
    return save_edit(edits_rules.set_trigger, ruleset, rule, when, extra, back=_rule_url(ruleset, rule, "trigger"))


@screens.post("/designer/rules/<ruleset>/<rule>/remove")
@admin_only
def designer_remove_rule(ruleset, rule):
    return save_edit(edits_rules.remove_rule, ruleset, rule, back=_rules_url())


@screens.post("/designer/rules/<ruleset>/<rule>/actions")
@admin_only
def designer_add_action(ruleset, rule):
    action = request.form.get("action", "")
    if action not in g.session.actions():
        abort(400, _("Choose an action from the list."))
    return save_edit(edits_rules.add_action, ruleset, rule, action, back=_rule_url(ruleset, rule, "actions"))


@screens.post("/designer/rules/<ruleset>/<rule>/actions/<int:index>")
@admin_only
def designer_action_params(ruleset, rule, index):
    draft = drafts().open()
    i, _found_set, j, found, entity = _found(draft, ruleset, rule)
    listed = edits.dicts(found, "actions")
    if index >= len(listed):
        abort(404, _("This rule has no action %(number)s.", number=index + 1))
    params, problems = action_forms.params_from_form(
        g.session.actions().get(str(listed[index].get("action"))), request.form, f"a{index}",
        action_forms.field_types_of(entity, g.session.extra_types), f"/rulesets/{i}/rules/{j}/actions/{index}/params")
    if problems:
        return _page(ruleset, rule, status=400, input_problems=problems)
    return save_edit(edits_rules.set_params, ruleset, rule, index, params,
                     back=_rule_url(ruleset, rule, f"action-{index}"))


@screens.post("/designer/rules/<ruleset>/<rule>/actions/<int:index>/remove")
@admin_only
def designer_remove_action(ruleset, rule, index):
    return save_edit(edits_rules.remove_action, ruleset, rule, index, back=_rule_url(ruleset, rule, "actions"))


@screens.get("/designer/rules/<ruleset>/<rule>/test")
@admin_only
def designer_rule_test(ruleset, rule):
    """Whether the draft rule fires on one of a chosen record's recorded events, and why."""
    draft = drafts().open()
    i, _found_set, j, found, entity = _found(draft, ruleset, rule)
    if _unready(draft, i, j):
        return _page(ruleset, rule, status=409, test={"error": _unready(draft, i, j)})
    try:
        record_id = record_id_of(request.args.get("record", ""), (entity or {}).get("name", ""))
        record = g.session.records.get(entity["name"], record_id) if entity else None
    except LoomError:
        record = None
    if record is None:
        return _page(ruleset, rule, status=404, test={"error": _("Choose a record of this rule's entity.")})
    events = rule_checks.record_events(g.session, entity["name"], record["id"])
    if not events:
        return _page(ruleset, rule, test={"record": record, "events": [],
                                          "error": _("This record has no recorded event to test the rule on.")})
    event_id = request.args.get("event", "")
    try:
        outcome = rule_checks.try_on_record(g.session, draft.document, ruleset, rule, events,
                                            whole_number(event_id, 0))
    except LoomError as exc:
        return _page(ruleset, rule, status=409, test={"record": record, "events": events,
                                                      "error": problem_words.headline(exc.code, exc.message),
                                                      "details": _in_draft(exc.details, i, j)})
    condition = (found.get("when") or {}).get("condition") if isinstance(found.get("when"), dict) else None
    outcome["reasons"] = [{"words": words, "actual": _value_words(entity, leaf, r["value"]), "passed": r["passed"]}
                          for r in outcome.get("reasons", []) for leaf, words in [_leaf_words(condition, r, entity)]]
    view = entity_view(entity["name"])
    return _page(ruleset, rule, test={"record": record, "events": events, "outcome": outcome,
                                      "title": record_title(view, record) if view else f"#{record['id']}"})


def _unready(draft, i: int, j: int) -> str | None:
    """Why the draft rule cannot be tried yet: its own problems, or its rule set's."""
    at = f"/rulesets/{i}"
    others = [p for p in problems_at(draft.problems, f"{at}/rules") if p not in problems_at(draft.problems, f"{at}/rules/{j}")]
    own = [p for p in problems_at(draft.problems, at) if p not in others]
    return _("Correct the problems of this rule first; they are shown beside its controls.") if own else None


def _in_draft(details, i: int, j: int) -> list:
    """The engine's problems of the rule tried alone (rule set 0, rule 0) at the draft's paths."""
    out = []
    for problem in details or []:
        path = str(problem.get("field", ""))
        for alone, real in (("/rulesets/0/rules/0", f"/rulesets/{i}/rules/{j}"), ("/rulesets/0", f"/rulesets/{i}")):
            if path == alone or path.startswith(alone + "/"):
                path = real + path[len(alone):]
                break
        out.append({**problem, "field": path})
    return out


def _leaf_words(condition, reason: dict, entity) -> str:
    """(leaf, words) of one explained condition ("Card tier is Diamond card"): the leaf at
    the reason's path inside the rule's condition; the engine's own text when none is there."""
    leaf = condition
    for step in [s for s in str(reason.get("path", "")).split("/") if s]:
        at = whole_number(step, 0)
        leaf = leaf[at] if isinstance(leaf, list) and at is not None and at < len(leaf) \
            else leaf.get(step) if isinstance(leaf, dict) else None
    if not isinstance(leaf, dict) or "field" not in leaf:
        return None, str(reason.get("condition", ""))
    return leaf, describe(leaf, entity, language_of_request())


def _value_words(entity, leaf, value):
    """A record's value as the screens say it: a choice by its label (None: empty)."""
    field = next((f for f in edits.dicts(entity or {}, "fields") if leaf and f.get("name") == leaf.get("field")), {})
    for option in field.get("options") or []:
        if isinstance(option, dict) and option.get("value") == value:
            return shown(option.get("label"), str(value))
    return value


@screens.get("/designer/rules/<ruleset>/<rule>/replay")
@admin_only
def designer_rule_replay(ruleset, rule):
    """`loom rules simulate` of the draft rule over the last N days: nothing is written."""
    draft = drafts().open()
    i, _found_set, j, _rule, _entity = _found(draft, ruleset, rule)
    if _unready(draft, i, j):
        return _page(ruleset, rule, status=409, replay={"error": _unready(draft, i, j)})
    days = request.args.get("days", "30")
    if not 1 <= (whole_number(days, 0) or 0) <= rule_checks.MAX_DAYS:
        return _page(ruleset, rule, status=400, days=days[:10], replay={
            "error": _("Give a number of days from 1 to %(most)s.", most=rule_checks.MAX_DAYS)})
    try:
        outcome = rule_checks.replay(g.session, draft.document, ruleset, rule, int(days))
    except LoomError as exc:
        return _page(ruleset, rule, status=409, days=int(days),
                     replay={"error": problem_words.headline(exc.code, exc.message),
                             "details": _in_draft(exc.details, i, j)})
    return _page(ruleset, rule, days=int(days), replay={**outcome, "shown": _titled(outcome["items"][:SHOWN])})


def _titled(items: list[dict]) -> list[dict]:
    """The firings with their records' titles (a record since deleted keeps its number)."""
    out = []
    for item in items:
        view = entity_view(item["entity"])
        try:
            record = g.session.records.get(item["entity"], item["record_id"]) if view else None
        except NotFound:
            record = None
        out.append({**item, "title": record_title(view, record) if record else f"#{item['record_id']}",
                    "exists": record is not None})
    return out
