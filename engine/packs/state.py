"""A tenant's layers as stored in its own database: the packs it installed (each with
the bundle it was installed at, so an upgrade knows the base it replaces) and its
overlay of changes (`loom_packs`, `loom_overlay`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import delete, select

from engine.systables import loom_table


@dataclass
class InstalledPack:
    name: str
    version: str
    position: int
    base: dict              # the pack's bundle as installed (definitions and extends)
    installed_at: datetime | None = None
    upgraded_at: datetime | None = None


@dataclass
class Layers:
    """Installed packs in dependency order, and the overlay's changes in order."""

    packs: list = field(default_factory=list)
    overlay: list = field(default_factory=list)   # [{"id", "op", "path", "value", "after", ...}]

    def pack(self, name) -> InstalledPack | None:
        return next((p for p in self.packs if p.name == name), None)

    def bundles(self) -> list:
        return [(p.name, p.base) for p in self.packs]

    def to_dict(self) -> dict:
        """The JSON kept with every metadata version, so a rollback restores the layers."""
        return {"packs": [{"name": p.name, "version": p.version, "base": p.base} for p in self.packs],
                "overlay": [plain_change(c) for c in self.overlay]}

    @classmethod
    def from_dict(cls, data) -> "Layers":
        packs = [InstalledPack(p["name"], p["version"], n, p["base"]) for n, p in enumerate(data["packs"])]
        return cls(packs, [dict(c) for c in data.get("overlay", ())])


def plain_change(change) -> dict:
    """A stored change as JSON (its time as text)."""
    out = {k: change[k] for k in ("id", "op", "path") if k in change}
    for key in ("value", "after", "was", "created_by", "replace"):
        if key in change:
            out[key] = change[key]
    if change.get("created_at") is not None:
        out["created_at"] = str(change["created_at"])
    return out


def load(conn, schema) -> Layers:
    packs_t, overlay_t = loom_table(schema, "loom_packs"), loom_table(schema, "loom_overlay")
    packs = [InstalledPack(r.name, r.version, r.position, r.base, r.installed_at, r.upgraded_at)
             for r in conn.execute(select(packs_t).order_by(packs_t.c.position))]
    overlay = []
    for row in conn.execute(select(overlay_t).order_by(overlay_t.c.position, overlay_t.c.id)):
        change = {"id": row.id, "op": row.op, "path": row.path, "created_at": row.created_at,
                  "created_by": row.created_by}
        value = row.value or {}
        if row.op != "unset":
            change["value"] = value.get("value")
        if "after" in value:
            change["after"] = value["after"]
        if value.get("replace"):
            change["replace"] = True
        if row.was is not None:
            change["was"] = row.was.get("value")
        overlay.append(change)
    return Layers(packs, overlay)


def save(conn, schema, layers: Layers, actor=None) -> None:
    """Replace the stored layers with `layers`; unchanged overlay rows keep their id and
    creation time, new ones get ids the database assigns. The kept rows go in first, so
    that an id given to a new change can never be one a kept change still holds."""
    now = datetime.now(timezone.utc)
    packs_t, overlay_t = loom_table(schema, "loom_packs"), loom_table(schema, "loom_overlay")
    previous = {p.name: p for p in load(conn, schema).packs}
    conn.execute(delete(packs_t))
    for position, pack in enumerate(layers.packs):
        before = previous.get(pack.name)
        conn.execute(packs_t.insert().values(
            name=pack.name, version=pack.version, position=position, base=pack.base,
            installed_at=before.installed_at if before else now,
            upgraded_at=now if before and before.version != pack.version else (before.upgraded_at if before else None)))
    conn.execute(delete(overlay_t))
    rows = [_overlay_row(position, change, now, actor) for position, change in enumerate(layers.overlay)]
    kept, seen = [], set()
    for change, row in zip(layers.overlay, rows):
        if change.get("id") is not None and change["id"] not in seen:
            seen.add(change["id"])
            kept.append(row)
            row["id"] = change["id"]
    if kept:
        conn.execute(overlay_t.insert(), kept)
    for change, row in zip(layers.overlay, rows):  # new changes after the kept ones: ids above theirs
        if "id" in row:
            change["id"] = row["id"]
        else:
            change["id"] = conn.execute(overlay_t.insert().returning(overlay_t.c.id).values(row)).scalar_one()


def _overlay_row(position, change, now, actor) -> dict:
    value = {} if change["op"] == "unset" else {"value": change.get("value")}
    if "after" in change:
        value["after"] = change["after"]
    if change.get("replace"):
        value["replace"] = True
    return {"position": position, "op": change["op"], "path": change["path"], "value": value,
            "was": {"value": change["was"]} if "was" in change else None,
            "created_at": _when(change.get("created_at")) or now,
            "created_by": change.get("created_by", actor)}


def _when(value):
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
