"""The designer's packs page: the installed packs with their versions and the versions the
install offers; installing, upgrading and removing one, each previewed first as the
publisher's dry-run plan. An upgrade whose new version changed what the tenant changed
shows each conflict with both values (the tenant's, the pack's before and now) and the
choice of keeping the tenant's or taking the pack's, applied on confirm."""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.designer.common import shown
from admin_ui.designer.plan_words import GROUP_TITLES, in_words
from admin_ui.formats import moment
from admin_ui.web import admin_only, screens
from engine.packs.pack import version_key
from engine.packs.service import PackService, UpgradeConflicts

ACTIONS = ("install", "upgrade", "remove")


def _service() -> PackService:
    return PackService(current_app.extensions["loom"], g.session.actor)


@screens.get("/designer/packs")
@admin_only
def designer_packs():
    service = _service()
    catalog = service.catalog()
    installed = []
    for pack in service.installed(g.tenant_slug):
        offered = catalog.get(pack.name)
        newer = offered is not None and (version_key(offered.version) > version_key(pack.version)
                                         or (offered.version == pack.version and offered.bundle != pack.base))
        installed.append({"name": pack.name, "label": shown(offered.label if offered else None, pack.name),
                          "version": pack.version, "offered": offered.version if newer else None,
                          "since": moment(pack.upgraded_at or pack.installed_at) if pack.installed_at else ""})
    names = {p["name"] for p in installed}
    available = [{"name": p.name, "label": shown(p.label, p.name), "version": p.version,
                  "description": shown(p.description)} for p in catalog.values() if p.name not in names]
    return render_template("designer/packs.html", title=_("Packs"), installed=installed,
                           available=sorted(available, key=lambda p: p["name"]))


def _resolutions(form) -> tuple[list[int], list[int]]:
    """The conflicts' choices: `resolve:<change id>` = `mine` (keep the tenant's) or `theirs`."""
    keep, take = [], []
    for key, value in form.items():
        if not key.startswith("resolve:"):
            continue
        change_id = key.removeprefix("resolve:")
        if not (change_id.isascii() and change_id.isdigit()) or len(change_id) > 18 or value not in ("mine", "theirs"):
            abort(400, _("A conflict's choice is not one of keep mine and take theirs."))
        (keep if value == "mine" else take).append(int(change_id))
    return keep, take


def _run(action, name, dry_run, form, choices=None):
    service, slug = _service(), g.tenant_slug
    if action == "install":
        return service.install_pack(slug, name, dry_run=dry_run)
    if action == "remove":
        return service.remove(slug, name, purge=form.get("purge") == "1", dry_run=dry_run)
    keep, take = _resolutions(form) if choices is None else choices
    return service.upgrade(slug, name, dry_run=dry_run, keep_tenant=keep, take_pack=take)


def _planned(action, name, form) -> dict:
    """The dry run to show: for an upgrade, every conflict (as if none were resolved) with
    the plan of the choices made, a conflict without one counted as "keep mine" (the
    choice the page starts with)."""
    if action != "upgrade":
        return _run(action, name, True, form)
    found = _run(action, name, True, form, choices=([], []))
    if not found["conflicts"]:
        return found
    keep, take = _resolutions(form)
    keep += [c["id"] for c in found["conflicts"] if c["id"] not in keep + take]
    return {**_run(action, name, True, form, choices=(keep, take)), "conflicts": found["conflicts"]}


def _preview(action, name, form, status=200, **context):
    report = _planned(action, name, form)
    plan = in_words(report["plan"]) if report.get("plan") else None
    return render_template("designer/pack_plan.html", title=_("Preview: %(action)s %(pack)s",
                                                              action=_action_word(action), pack=name),
                           action=action, name=name, report=report, plan=plan, group_titles=GROUP_TITLES,
                           purge=form.get("purge") == "1", chosen=form, **context), status


def _action_word(action) -> str:
    return {"install": _("install"), "upgrade": _("upgrade"), "remove": _("remove")}[action]


@screens.get("/designer/packs/<name>/<action>")
@admin_only
def designer_pack_preview(name, action):
    if action not in ACTIONS:
        abort(404)
    return _preview(action, name, request.args)


@screens.post("/designer/packs/<name>/<action>")
@admin_only
def designer_pack_apply(name, action):
    if action not in ACTIONS:
        abort(404)
    form = request.form
    preview = _run(action, name, True, form)
    destructive = preview.get("plan") and any(c["destructive"] for c in preview["plan"]["changes"])
    if destructive and form.get("confirm", "").strip() != g.tenant_slug:
        return _preview(action, name, form, 400, confirm_problem=_(
            "Type %(word)s to confirm the changes that drop data.", word=g.tenant_slug))
    if preview.get("conflicts"):  # some left without a choice
        return _preview(action, name, form, 409, conflict_problem=_("Choose, for each conflict, which value to keep."))
    try:
        report = _run(action, name, False, form)
    except UpgradeConflicts:
        return _preview(action, name, form, 409, conflict_problem=_("Choose, for each conflict, which value to keep."))
    flash({"install": lambda: _("Installed %(pack)s as version %(version)s.", pack=name, version=report["version"]),
           "upgrade": lambda: _("Upgraded %(pack)s to %(to)s as version %(version)s.", pack=name,
                                to=report["to"], version=report["version"]),
           "remove": lambda: _("Removed %(pack)s as version %(version)s.", pack=name, version=report["version"]),
           }[action]())
    return redirect(url_for("screens.designer_packs"))
