"""Version history: every published version with who, when and what; the changes between
any two versions; and a revert to a version in one step (the publisher's rollback,
recorded as a new version, archived values restored)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin_ui.designer.common import drafts
from admin_ui.formats import moment
from admin_ui.web import admin_only, screens
from engine.errors import NotFound
from metadata import Package, diff_packages
from engine.whole import whole_number


@screens.get("/designer/history")
@admin_only
def designer_history():
    rows = [{**row, "when": moment(row["applied_at"])} for row in reversed(g.session.metadata_history())]
    return render_template("designer/history.html", title=_("Version history"), versions=rows,
                           latest=rows[0]["version"] if rows else 0)


@screens.get("/designer/diff")
@admin_only
def designer_diff():
    """The changes from one version (`from`) to another (`to`), as the publisher diffs them."""
    found = drafts()
    current = found.published()[0]
    numbers = []
    for key in ("from", "to"):
        text = request.args.get(key, "")
        number = whole_number(text, 1, current)
        if number is None:
            raise NotFound(_("There is no version %(version)s.", version=text[:20] or "?"))
        numbers.append(number)
    packages = [Package.from_document(found.published(n)[1], extra_types=g.session.extra_types) for n in numbers]
    changes = [c.describe() for c in diff_packages(*packages)]
    return render_template("designer/diff.html", title=_("Changes between versions"), changes=changes,
                           older=numbers[0], newer=numbers[1], latest=current)


@screens.post("/designer/revert/<int:version>")
@admin_only
def designer_revert(version):
    result = g.session.rollback_metadata(version)
    flash(_("Reverted to version %(old)s as version %(new)s.", old=version, new=result.version))
    return redirect(url_for("screens.designer_history"))
