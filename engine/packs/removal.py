"""What a tenant keeps when a pack is removed.

Without purge the data stays: the pack's entities and fields become the tenant's own
(plugin field types fall back to the built-in type they are stored as), while what
only the pack's code can run — its workflows, rule sets and templates — goes with it.
With purge, everything the pack defined goes (its data archived by the migration)."""
from __future__ import annotations

from engine.errors import Conflict
from metadata.jsoncopy import json_copy

CODE_LISTS = ("workflows", "rulesets", "templates")
ALL_LISTS = ("entities", "workflows", "rulesets", "templates", "layouts", "roles", "permission_sets")
SYSTEM_FIELDS = ("id", "created_at", "updated_at", "owner_id")


def detached_document(document, origins, pack, purge, field_types, extra_types) -> tuple[dict, list]:
    """(the tenant's document without `pack`, the paths of what was removed)."""
    out = json_copy(document)
    removed = []
    for key in (ALL_LISTS if purge else CODE_LISTS):
        kept = []
        for item in out.get(key, ()):
            path = f"/{key}/{item['name']}"
            if origins.get(path) == pack:
                removed.append(path)
            else:
                kept.append(item)
        if key in out:
            out[key] = kept
    for entity in out.get("entities", ()):
        fields = []
        for field in entity["fields"]:
            path = f"/entities/{entity['name']}/fields/{field['name']}"
            if purge and origins.get(path) == pack:
                removed.append(path)
                continue
            if field["type"] in field_types and field["type"] not in extra_types:
                field["type"] = field_types[field["type"]][1].base
            fields.append(field)
        entity["fields"] = fields
    if purge:
        removed += _drop_dangling_layouts(out)
        _refuse_dangling_references(out, pack)
    return {k: v for k, v in out.items() if v or k == "entities"}, removed


def _refuse_dangling_references(document, pack) -> None:
    names = {e["name"] for e in document.get("entities", ())}
    dangling = [f"{e['name']}.{f['name']}" for e in document.get("entities", ()) for f in e["fields"]
                if f.get("to") and f["to"] not in names]
    if dangling:
        raise Conflict(f"purging {pack} would leave {', '.join(dangling)} pointing at entities it removes; "
                       f"drop or change {'that field' if len(dangling) == 1 else 'those fields'} first",
                       code="pack_referenced")


def _drop_dangling_layouts(document) -> list:
    """Layouts of other layers that show a purged entity go too (they could not render)."""
    entities = {e["name"]: {f["name"] for f in e["fields"]} for e in document.get("entities", ())}
    kept, removed = [], []
    for layout in document.get("layouts", ()):
        fields = entities.get(layout.get("entity"))
        if fields is None:
            removed.append(f"/layouts/{layout['name']}")
            continue
        known = fields | set(SYSTEM_FIELDS)
        if "sections" in layout:
            for section in layout["sections"]:
                section["fields"] = [f for f in section.get("fields", ()) if f in fields]
            layout["sections"] = [s for s in layout["sections"] if s["fields"]]
        if "columns" in layout:
            layout["columns"] = [c for c in layout["columns"] if c in known]
        if layout.get("sort"):
            keys = [k for k in layout["sort"].split(",") if k.strip().lstrip("-") in known]
            if keys:
                layout["sort"] = ",".join(keys)
            else:
                del layout["sort"]
        if layout.get("sections") == [] or layout.get("columns") == []:
            removed.append(f"/layouts/{layout['name']}")  # nothing of it is left to show
            continue
        kept.append(layout)
    if "layouts" in document:
        document["layouts"] = kept
    return removed
