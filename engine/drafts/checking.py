"""The problems of a draft document: those `loom metadata apply` reports (the whole
document checked for the tenant, each problem with its JSON path), and what a tenant's
layer cannot do over its installed packs (remove a pack's definition)."""
from __future__ import annotations

from engine.errors import LoomError
from engine.packs.layers import base_document, canonical, load_layers
from metadata.layering import derive, item_key, split_path


def problems_of(session, document) -> tuple[list[dict], dict | None]:
    """(every problem of `document`, its canonical form when it has none)."""
    try:
        package = session.check_document(document)
    except LoomError as exc:
        return exc.details or [{"field": "", "code": exc.code, "message": exc.message}], None
    desired = package.to_dict()
    found = [{**p, "field": index_path(document, p["field"])} for p in _pack_removals(session, desired)]
    return found, (None if found else desired)


def _pack_removals(session, desired) -> list[dict]:
    layers = load_layers(session)
    if not layers.packs:
        return []
    base, _ = base_document(layers)
    _changes, problems = derive(canonical(base, session.extra_types), desired)
    return problems


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
