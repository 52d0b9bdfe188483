"""A draft replayed onto a newer published version: the changes the draft made to the
version it was based on (`metadata.layering.derive`) and the items it removed, applied
to the newer version, with the conflicts `metadata.rebase` finds (both changed the same
property, both added an item of the same name, or the newer version removed it)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from metadata.layering import MISSING, apply_changes, derive, item_key, split_path, value_at
from metadata.rebase import rebase


@dataclass
class Rebased:
    document: dict
    conflicts: list = field(default_factory=list)  # {path, kind, mine, before, now, message}


def rebase_draft(draft: dict, old_base: dict, new_base: dict, keep_mine=(), take_theirs=()) -> Rebased:
    """`keep_mine` / `take_theirs`: paths of conflicts resolved for the draft's value or
    the newer version's."""
    changes, removals = derive(old_base, draft)
    changes = [{**c, "id": n} for n, c in enumerate(changes, 1)]
    ids = {_where(c): c["id"] for c in changes}
    result = rebase(changes, old_base, new_base,
                    keep_tenant={ids[p] for p in keep_mine if p in ids},
                    take_pack={ids[p] for p in take_theirs if p in ids})
    document = apply_changes(new_base, [{k: v for k, v in c.items() if k != "id"} for c in result.changes])
    conflicts = [_conflict(c.where, c.kind, c.tenant, c.pack_before, c.pack_now) for c in result.conflicts]
    for removal in removals:
        path = removal["field"]
        before, now = value_at(old_base, path), value_at(new_base, path)
        if now is MISSING or path in take_theirs:
            continue
        if before != now and path not in keep_mine:
            conflicts.append(_conflict(path, "both_changed", None, before, now))
            continue
        _remove(document, path)
    return Rebased(document, conflicts)


def _where(change) -> str:
    return f"{change['path']}/{item_key(change['value'])}" if change["op"] == "add" else change["path"]


def _conflict(path, kind, mine, before, now) -> dict:
    shown = [None if v is MISSING else v for v in (mine, before, now)]
    if kind == "target_removed":
        message = f"{path}: your draft changes it, and the newer version removed it"
    elif kind == "both_added":
        message = f"{path}: your draft adds it as {_brief(shown[0])}; the newer version adds {_brief(shown[2])}"
    elif shown[0] is None:
        message = f"{path}: your draft removes it; the newer version changed it to {_brief(shown[2])}"
    else:
        message = (f"{path}: your draft sets it to {_brief(shown[0])}; the newer version changed it from "
                   f"{_brief(shown[1])} to {_brief(shown[2])}")
    return {"field": path, "code": f"rebase_{kind}", "message": message,
            "mine": shown[0], "before": shown[1], "now": shown[2]}


def _brief(value) -> str:
    if value is None:
        return "(nothing)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _remove(document, path) -> None:
    segments = split_path(path)
    parent = value_at(document, "/" + "/".join(segments[:-1])) if len(segments) > 1 else document
    if isinstance(parent, list):
        parent[:] = [i for i in parent if item_key(i) != segments[-1]]
    elif isinstance(parent, dict):
        parent.pop(segments[-1], None)
