"""Layered metadata: the packs' bases composed in dependency order, and the tenant's
overlay of changes on top.

A change is one of three small operations on a package document, addressed by a path
whose segments name list items by their ``name``
(``/entities/membership/fields/tier/label``):

- ``{"op": "add", "path": "/entities/membership/fields", "value": {...}, "after": "tier"}``
  adds a named item to a list (``after``: the item it follows; None: first);
- ``{"op": "set", "path": "/entities/membership/fields/tier/label", "value": {...}}``
  sets a property (a relabel, hidden, changed options, a layout's sections...);
- ``{"op": "unset", "path": ".../help"}`` removes a property.

Packs extend the packs they depend on with the same operations, so one vocabulary
describes every layer. Because the tenant's changes are kept as changes, a pack
upgrade rebuilds the base and replays them on top; a change whose target the upgrade
also changed is a conflict, reported with both values (``metadata.rebase``).
"""
from __future__ import annotations

from .jsoncopy import json_copy

OPS = ("add", "set", "unset")
MISSING = object()
# Items of these lists are never removed by a layer above: they hold data or other
# layers build on them. (A tenant hides a pack's field instead.)
COLLECTIONS = ("entities", "fields", "indexes", "workflows", "states", "transitions",
               "rulesets", "rules", "templates", "layouts", "sections", "options", "roles",
               "permission_sets")


class LayerError(ValueError):
    """A change that cannot be applied to the document beneath it."""


# -- paths -------------------------------------------------------------------------
def split_path(path) -> list[str]:
    if not isinstance(path, str) or not path.startswith("/") or path == "/":
        raise LayerError(f"a change's path must look like /entities/<name>/..., not {path!r}")
    return path[1:].split("/")


def item_key(item):
    """What names a list item: its `name`; for a choice option its `value`; for an
    unnamed composite index its columns (`tier+lifetime_value`)."""
    if not isinstance(item, dict):
        return None
    key = item.get("name", item.get("value"))
    if key is None and isinstance(item.get("fields"), list) and all(isinstance(f, str) for f in item["fields"]):
        key = "+".join(item["fields"])
    return key if isinstance(key, str) and key else None


def _named(items) -> bool:
    return isinstance(items, list) and all(item_key(i) is not None for i in items)


def _child(node, segment):
    """The child of a dict by key, or of a named list by item name; MISSING if absent."""
    if isinstance(node, dict):
        return node.get(segment, MISSING)
    if isinstance(node, list) and _named(node):
        return next((i for i in node if item_key(i) == segment), MISSING)
    return MISSING


def value_at(document, path):
    """The value at `path`, or MISSING."""
    node = document
    for segment in split_path(path):
        node = _child(node, segment)
        if node is MISSING:
            return MISSING
    return node


def _parent(document, path, create_list=False):
    segments = split_path(path)
    node = document
    for segment in segments[:-1]:
        nxt = _child(node, segment)
        if nxt is MISSING:
            raise LayerError(f"{path}: nothing at /{'/'.join(segments[:segments.index(segment) + 1])}")
        node = nxt
    return node, segments[-1]


# -- applying changes --------------------------------------------------------------
def check_change(change) -> str | None:
    """Why `change` is malformed, or None."""
    if not isinstance(change, dict) or change.get("op") not in OPS:
        return "a change is an object whose op is add, set or unset"
    try:
        split_path(change.get("path"))
    except LayerError as exc:
        return str(exc)
    if change["op"] == "add":
        value = change.get("value")
        if item_key(value) is None:
            return "an add change's value is an object with a name (or, for an option, a value)"
    elif change["op"] == "set" and "value" not in change:
        return "a set change has a value"
    return None


def apply_change(document: dict, change: dict, replace=False) -> None:
    """Apply one change to `document` in place; LayerError when it does not fit.

    `replace`: an `add` whose name exists replaces that item (a resolved conflict)."""
    problem = check_change(change)
    if problem:
        raise LayerError(problem)
    op, path = change["op"], change["path"]
    if op == "add":
        container, key = _parent(document, path)
        items = container.get(key) if isinstance(container, dict) else _child(container, key)
        if items is MISSING or items is None:
            if not isinstance(container, dict):
                raise LayerError(f"{path}: not a list of named items")
            items = container[key] = []
        if not _named(items):
            raise LayerError(f"{path}: not a list of named items")
        value = json_copy(change["value"])
        existing = next((n for n, i in enumerate(items) if item_key(i) == item_key(value)), None)
        if existing is not None:
            if not replace:
                raise LayerError(f"{path}: there is already an item named {item_key(value)!r}")
            items[existing] = value
            return
        items.insert(_position(items, change.get("after", MISSING)), value)
        return
    container, key = _parent(document, path)
    if isinstance(container, list):
        raise LayerError(f"{path}: items of a list are added with op add, not {op}")
    if not isinstance(container, dict):
        raise LayerError(f"{path}: the parent is not an object")
    if op == "set":
        container[key] = json_copy(change["value"])
    else:
        container.pop(key, None)


def _position(items, after) -> int:
    if after is MISSING:
        return len(items)
    if after is None:
        return 0
    for n, item in enumerate(items):
        if item_key(item) == after:
            return n + 1
    return len(items)


def apply_changes(document: dict, changes, replace=()) -> dict:
    """A copy of `document` with `changes` applied in order (ids in `replace` may replace)."""
    out = json_copy(document)
    for change in changes:
        apply_change(out, change, replace=bool(change.get("replace")) or
                     (change.get("id") is not None and change.get("id") in replace))
    return out


# -- composing the packs ------------------------------------------------------------
BUNDLE_LISTS = ("entities", "workflows", "rulesets", "templates", "layouts", "roles", "permission_sets")


def compose(bundles) -> tuple[dict, dict]:
    """The base document of packs `bundles` = [(pack name, bundle)] in dependency order,
    and the origin of every named item and changed property: {path: pack name}.

    A pack may not define an item another pack defines; it `extends` them instead."""
    document: dict = {"entities": []}
    origins: dict = {}
    for name, bundle in bundles:
        for key in BUNDLE_LISTS:
            for item in bundle.get(key, ()):
                path = f"/{key}/{item.get('name')}"
                if path in origins:
                    raise LayerError(f"{path} is defined by both {origins[path]} and {name}")
                document.setdefault(key, []).append(json_copy(item))
                _mark(origins, path, item, name)
        for change in bundle.get("extends", ()):
            try:
                apply_change(document, change)
            except LayerError as exc:
                raise LayerError(f"pack {name} extends what is not there: {exc}") from None
            _mark_change(origins, change, name)
    return document, origins


def _mark(origins, path, item, owner) -> None:
    origins[path] = owner
    if isinstance(item, dict):
        for key, value in item.items():
            if key in COLLECTIONS and _named(value):
                for child in value:
                    _mark(origins, f"{path}/{key}/{item_key(child)}", child, owner)


def _mark_change(origins, change, owner) -> None:
    if change["op"] == "add":
        _mark(origins, f"{change['path']}/{item_key(change['value'])}", change["value"], owner)
    else:
        origins[change["path"]] = owner


def layer_origins(base_origins: dict, changes, owner="tenant") -> dict:
    """Origins of the effective document: the base's, then the overlay's on top."""
    origins = dict(base_origins)
    for change in changes:
        _mark_change(origins, change, owner)
    return origins


# -- deriving the overlay -----------------------------------------------------------
def derive(base: dict, desired: dict) -> tuple[list, list]:
    """The changes that turn `base` into `desired`, and the problems: what a layer above
    cannot do (remove an item of the base). Both documents should be canonical."""
    changes: list = []
    problems: list = []
    _diff_node(base, desired, "", changes, problems)
    return changes, problems


def _diff_node(old, new, path, changes, problems) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            if key not in new:
                if _named(old[key]) and old[key] and key in COLLECTIONS:
                    for item in old[key]:
                        problems.append(_removal(f"{path}/{key}/{item_key(item)}"))
                else:
                    changes.append({"op": "unset", "path": f"{path}/{key}"})
        for key, value in new.items():
            sub = f"{path}/{key}"
            if key not in old:
                if key in COLLECTIONS and _named(value):
                    _diff_named([], value, sub, changes, problems)
                else:
                    changes.append({"op": "set", "path": sub, "value": json_copy(value)})
            else:
                _diff_node(old[key], value, sub, changes, problems)
        return
    if (_named(old) and _named(new) and (old or new)
            and path.rsplit("/", 1)[-1] in COLLECTIONS):
        _diff_named(old, new, path, changes, problems)
        return
    if old != new:
        changes.append({"op": "set", "path": path, "value": json_copy(new)})


def _diff_named(old, new, path, changes, problems) -> None:
    old_by_name = {item_key(i): i for i in old}
    new_names = {item_key(i) for i in new}
    for name in old_by_name:
        if name not in new_names:
            problems.append(_removal(f"{path}/{name}"))
    previous = None
    for item in new:
        key = item_key(item)
        if key in old_by_name:
            _diff_node(old_by_name[key], item, f"{path}/{key}", changes, problems)
        else:
            changes.append({"op": "add", "path": path, "value": json_copy(item), "after": previous})
        previous = key


def _removal(path) -> dict:
    hint = (" — relabel it instead" if "/options/" in path else
            " — hide it instead (\"hidden\": true)" if "/fields/" in path else "")
    return {"field": path, "code": "pack_item_removed",
            "message": f"{path} comes from an installed pack and cannot be removed{hint}"}
