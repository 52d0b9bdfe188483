"""The problems of a draft document: those `loom metadata apply` reports (the whole
document checked for the tenant, each problem with its JSON path), and what a tenant's
layer cannot do over its installed packs (remove a pack's definition)."""
from __future__ import annotations

from engine.errors import LoomError
from engine.packs.layers import canonical_base, load_layers
from metadata.layering import LayerError, apply_changes, derive, item_key, split_path


def problems_of(session, document) -> tuple[list[dict], dict | None]:
    """(every problem of `document`, its canonical form when it has none)."""
    problems, canonical, _package = checked(session, document)
    return problems, canonical


def checked(session, document) -> tuple[list[dict], dict | None, object]:
    """(every problem of `document`, its canonical form and its checked Package when it
    has none)."""
    try:
        package = session.check_document(document)
    except LoomError as exc:
        return exc.details or [{"field": "", "code": exc.code, "message": exc.message}], None, None
    desired = package.to_dict()
    found = [{**p, "field": index_path(document, p["field"])} for p in _pack_removals(session, desired)]
    return (found, None, None) if found else ([], desired, package)


def _pack_removals(session, desired) -> list[dict]:
    """Removing a pack's definition, and an order of a pack's fields the tenant's layer
    cannot keep (a pack's fields keep their order; the tenant's own move among them)."""
    layers = load_layers(session)
    if not layers.packs:
        return []
    base = canonical_base(layers, session.extra_types)
    changes, problems = derive(base, desired)
    try:
        kept = apply_changes(base, changes)
    except LayerError:
        return problems
    return problems + _order_problems(kept, desired)


def _order_problems(kept: dict, desired: dict) -> list[dict]:
    kept_order = {e["name"]: [f["name"] for f in e["fields"]] for e in kept.get("entities", [])}
    return [{"field": f"/entities/{e['name']}/fields", "code": "pack_field_order",
             "message": f"the fields of {e['name']} that an installed pack gives keep the pack's order; "
                        f"move the fields you added among them instead"}
            for e in desired.get("entities", [])
            if e["name"] in kept_order and [f["name"] for f in e["fields"]] != kept_order[e["name"]]]


def index_path(document, named_path: str) -> str:
    """A path naming list items (`/entities/member/fields/tier`) as the JSON Pointer into
    `document` (`/entities/2/fields/5`), as far as the document has it: a removed item's
    problem points at the list it was removed from."""
    node, out = document, []
    for segment in split_path(named_path):
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list):
            index = next((i for i, item in enumerate(node) if item_key(item) == segment), None)
            if index is None:
                break
            node, segment = node[index], str(index)
        else:
            break
        out.append(segment)
    return "/" + "/".join(out)
