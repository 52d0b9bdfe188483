"""Replaying a tenant's changes onto a new version of its packs' base, and the
conflicts that stop it: both changed the same property, both added an item of the same
name, or the upgrade removed what the tenant changed."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from .jsoncopy import json_copy
from .layering import MISSING, LayerError, apply_change, item_key, split_path, value_at


@dataclass
class Conflict:
    """A tenant change whose target a pack upgrade also changed."""

    change: dict
    kind: str          # "both_changed" | "both_added" | "target_removed"
    tenant: object     # the tenant's value
    pack_before: object
    pack_now: object

    def to_dict(self) -> dict:
        return {"id": self.change.get("id"), "op": self.change["op"], "path": self.where,
                "kind": self.kind, "tenant": _shown(self.tenant),
                "pack_before": _shown(self.pack_before), "pack_now": _shown(self.pack_now),
                "message": self.message()}

    @property
    def where(self) -> str:
        """The path of what both changed (for an add, the item's own path)."""
        if self.change["op"] == "add":
            return f"{self.change['path']}/{item_key(self.change['value'])}"
        return self.change["path"]

    def message(self) -> str:
        cid = self.change.get("id")
        mine = f"tenant change {cid}" if cid is not None else "the tenant's change"
        if self.kind == "target_removed":
            return f"{mine} modifies it, and the new pack version removes it"
        if self.kind == "both_added":
            return (f"{mine} adds it as {_brief(self.tenant)}; the new pack version adds "
                    f"{_brief(self.pack_now)}")
        return (f"{mine} set it to {_brief(self.tenant)}; the new pack version changes it from "
                f"{_brief(self.pack_before)} to {_brief(self.pack_now)}")


@dataclass
class Rebased:
    """The tenant's changes replayed onto a new base."""

    changes: list = field(default_factory=list)    # kept (possibly resolved) changes
    conflicts: list = field(default_factory=list)  # Conflict, unresolved
    absorbed: list = field(default_factory=list)   # changes the new base now makes itself
    dropped: list = field(default_factory=list)    # changes given up for the pack's version


def _shown(value):
    return None if value is MISSING else value


def _brief(value) -> str:
    if value is MISSING:
        return "(nothing)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def rebase(changes, old_base: dict, new_base: dict, keep_tenant=(), take_pack=()) -> Rebased:
    """Replay the tenant's `changes` (each with an `id`) onto `new_base`.

    A change conflicts when the upgrade changed its target too: both set the same
    property to different values, both added an item of the same name, or the upgrade
    removed what the change modifies. `keep_tenant` / `take_pack` hold change ids whose
    conflict is resolved for the tenant's value or the pack's."""
    out = Rebased()
    current = json_copy(new_base)
    for change in changes:
        conflict = _conflict(change, old_base, new_base, current)
        cid = change.get("id")
        if conflict == "absorbed":
            out.absorbed.append(change)
            continue
        if conflict is not None:
            if cid in take_pack:
                out.dropped.append(change)
                continue
            if cid not in keep_tenant or conflict.kind == "target_removed":
                out.conflicts.append(conflict)
                continue
        if conflict is not None and change["op"] == "add":
            change = {**change, "replace": True}  # the tenant's item stands in for the pack's
        try:
            apply_change(current, change, replace=conflict is not None)
        except LayerError:
            out.conflicts.append(Conflict(change, "target_removed", change.get("value", MISSING),
                                          value_at(old_base, change["path"]), MISSING))
            continue
        out.changes.append(change)
    return out


def _conflict(change, old_base, new_base, current):
    op, path = change["op"], change["path"]
    if op == "add":
        name = item_key(change["value"])
        mine = change["value"]
        before = _item(old_base, path, name)
        now = _item(new_base, path, name)
        if value_at(current, path) is MISSING and _container_missing(current, path):
            return Conflict(change, "target_removed", mine, before, MISSING)
        if now is MISSING:
            return None
        if now == mine:
            return "absorbed"
        return Conflict(change, "both_added", mine, before, now)
    mine = change.get("value", MISSING) if op == "set" else MISSING
    before, now = value_at(old_base, path), value_at(new_base, path)
    if _container_missing(current, path):
        return Conflict(change, "target_removed", mine, before, MISSING)
    if before == now:
        return None
    if now == mine:
        return "absorbed"
    return Conflict(change, "both_changed", mine, before, now)


def _item(document, path, name):
    items = value_at(document, path)
    if not isinstance(items, list):
        return MISSING
    return next((json_copy(i) for i in items if item_key(i) == name), MISSING)


def _container_missing(document, path) -> bool:
    segments = split_path(path)
    if len(segments) == 1:
        return False
    return value_at(document, "/" + "/".join(segments[:-1])) is MISSING
