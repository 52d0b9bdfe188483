"""The draft's entities as the designer lists them: in the order the navigation will show
them (`admin_ui.shell`), each with its labels, whether it is hidden, its field count and
its problems."""
from __future__ import annotations

from admin_ui.designer.common import problems_at, shown
from admin_ui.designer.edits import indexed
from admin_ui.shell import in_navigation_order


def entity_rows(draft) -> list[dict]:
    rows = []
    for i, e in indexed(draft.document, "entities"):
        name = str(e.get("name"))
        order = e.get("order")
        singular = shown(e.get("label"), name)
        rows.append({"name": name, "singular": singular, "label": shown(e.get("plural_label"), "") or singular,
                     "order": order if isinstance(order, int) and not isinstance(order, bool) else None,
                     "hidden": e.get("hidden") is True, "fields": len(indexed(e, "fields")),
                     "problems": problems_at(draft.problems, f"/entities/{i}")})
    return in_navigation_order(rows)


def shown_order(draft) -> list[str]:
    """The draft's entity names in navigation order."""
    return [row["name"] for row in entity_rows(draft)]
