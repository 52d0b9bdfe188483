"""A tenant's layers composed: effective metadata = the installed packs' bases in
dependency order + the tenant's overlay (the tenant's own changes over them)."""
from __future__ import annotations

import json
import threading
from collections import OrderedDict

from engine.errors import ValidationFailed
from engine.migration import current_package
from engine.packs import state
from engine.words import counted
from metadata import Package
from metadata.jsoncopy import json_copy
from metadata.layering import MISSING, LayerError, apply_changes, compose, derive, value_at


def base_document(layers: state.Layers) -> tuple[dict, dict]:
    """(the composed base of the installed packs, the origin of each definition)."""
    try:
        return compose(layers.bundles())
    except LayerError as exc:
        raise ValidationFailed(f"the installed packs do not fit together: {exc}", code="pack_clash") from None


def effective_document(layers: state.Layers, extra_types=None) -> dict:
    """The packs' base (canonical, as the overlay was derived against it) + the overlay."""
    base = canonical_base(layers, extra_types)
    try:
        return apply_changes(base, layers.overlay)
    except LayerError as exc:
        raise ValidationFailed(f"the tenant's changes no longer fit the packs: {exc}",
                               code="overlay_conflict") from None


_BASES: OrderedDict = OrderedDict()  # {(the bundles as JSON, field types): their canonical base}
_BASES_KEPT = 16
_BASES_LOCK = threading.Lock()


def canonical_base(layers: state.Layers, extra_types=None) -> dict:
    """The installed packs' composed base in canonical form (what the tenant's overlay is
    derived against and applied to); without packs, an empty document. Kept per content
    of the packs' bundles and the field types, since every edit's check and every dry run
    needs it: shared, so read it, never change it."""
    if not layers.packs:
        return base_document(layers)[0]
    key = (json.dumps(layers.bundles(), default=str),  # as stored: another order only misses
           tuple(sorted((extra_types or {}).items())))
    with _BASES_LOCK:
        found = _BASES.get(key)
        if found is not None:
            _BASES.move_to_end(key)
            return found
    found = _canonical_base(base_document(layers)[0], extra_types)
    with _BASES_LOCK:
        _BASES[key] = found
        while len(_BASES) > _BASES_KEPT:
            _BASES.popitem(last=False)
    return found


def _canonical_base(base, extra_types) -> dict:
    try:
        return canonical(base, extra_types)
    except (KeyError, TypeError, ValueError, AttributeError):
        # An invalid base: validation of the effective document reports its problems.
        return base


def canonical(document, extra_types) -> dict:
    """The canonical form of a valid document, so layers compare meaning, not spelling."""
    return Package.from_document(document, extra_types=extra_types).to_dict()


def load_layers(session) -> state.Layers:
    """The stored layers of the session's tenant (see `read_layers`)."""
    with session.storage.connect() as conn:
        return read_layers(conn, session.storage.schema, session.extra_types)


def read_layers(conn, schema, extra_types=None) -> state.Layers:
    """The stored layers. A tenant whose metadata predates layers has no packs, and its
    whole current document is its overlay."""
    layers = state.load(conn, schema)
    if not layers.packs and not layers.overlay:
        version, package = current_package(conn, schema, extra_types)
        if version:
            layers.overlay, _ = derive({"entities": []}, package.to_dict())
    return layers


def overlay_for(layers: state.Layers, desired: dict, extra_types=None) -> list:
    """The tenant's changes that turn the packs' base into `desired`; unchanged changes
    keep their id, author and time. Refuses what a layer above cannot do."""
    base = canonical_base(layers, extra_types)
    changes, problems = derive(base, desired)
    if problems:
        raise ValidationFailed(f"the document removes {counted(len(problems), 'definition')} an installed "
                               f"pack provides", details=problems, code="pack_item_removed")
    known = {_key(c): c for c in layers.overlay}
    out = []
    for change in changes:
        previous = known.get(_key(change))
        if previous is not None and _same(previous, change):
            change = {**change, **{k: previous[k] for k in ("id", "created_at", "created_by") if k in previous}}
        if change["op"] != "add":
            was = value_at(base, change["path"])
            if was is not MISSING:
                change["was"] = json_copy(was)
        out.append(change)
    return out


def _key(change) -> tuple:
    name = change["value"].get("name") if change["op"] == "add" else None
    return change["op"], change["path"], name


def _same(a, b) -> bool:
    return a.get("value") == b.get("value") and a.get("after", MISSING) == b.get("after", MISSING)
