"""`loom metadata show --layer`: the packs' base, the tenant's changes, or the effective
metadata — each with where every definition comes from."""
from __future__ import annotations

from engine.packs import state
from engine.packs.layers import base_document, canonical, load_layers
from metadata.layering import layer_origins


def show_layer(session, layer: str = "effective") -> dict:
    layers = load_layers(session)
    packs = [{"name": p.name, "version": p.version} for p in layers.packs]
    labels = {p.name: f"{p.name} {p.version}" for p in layers.packs}
    if layer == "tenant":
        return {"layer": "tenant", "packs": packs,
                "changes": [state.plain_change(c) for c in layers.overlay]}
    base, origins = base_document(layers)
    if layer == "pack":
        document = canonical(base, session.extra_types) if layers.packs else base
        return {"layer": "pack", "packs": packs, "document": document,
                "sources": {path: labels.get(owner, owner) for path, owner in origins.items()}}
    compiled = session.metadata()
    sources = layer_origins(origins, layers.overlay)
    return {"layer": "effective", "version": compiled.version, "packs": packs,
            "document": compiled.package.to_dict(),
            "sources": {path: labels.get(owner, owner) for path, owner in sources.items()}}
