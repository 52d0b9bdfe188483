"""Publishing a tenant's layers: effective metadata = the installed packs' bases in
dependency order + the tenant's overlay, migrated as one metadata version that also
records the layers behind it (so a rollback restores them)."""
from __future__ import annotations

import copy

from engine import migration
from engine.errors import ValidationFailed
from engine.packs import state
from engine.words import counted
from metadata import Package
from metadata.layering import MISSING, LayerError, apply_changes, compose, derive, value_at


def base_document(layers: state.Layers) -> tuple[dict, dict]:
    """(the composed base of the installed packs, the origin of each definition)."""
    try:
        return compose(layers.bundles())
    except LayerError as exc:
        raise ValidationFailed(f"the installed packs do not fit together: {exc}", code="pack_clash") from None


def effective_document(layers: state.Layers, extra_types=None) -> dict:
    """The packs' base (canonical, as the overlay was derived against it) + the overlay."""
    base, _ = base_document(layers)
    if layers.packs:
        base = _canonical_base(base, extra_types)
    try:
        return apply_changes(base, layers.overlay)
    except LayerError as exc:
        raise ValidationFailed(f"the tenant's changes no longer fit the packs: {exc}",
                               code="overlay_conflict") from None


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
    """The stored layers. A tenant whose metadata predates layers has no packs, and its
    whole current document is its overlay."""
    with session.storage.connect() as conn:
        layers = state.load(conn, session.storage.schema)
    if not layers.packs and not layers.overlay:
        current = session.metadata()
        if current.version:
            layers.overlay, _ = derive({"entities": []}, current.package.to_dict())
    return layers


def overlay_for(session, layers: state.Layers, desired: dict) -> list:
    """The tenant's changes that turn the packs' base into `desired`; unchanged changes
    keep their id, author and time. Refuses what a layer above cannot do."""
    base, _ = base_document(layers)
    if layers.packs:
        base = _canonical_base(base, session.extra_types)
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
                change["was"] = copy.deepcopy(was)
        out.append(change)
    return out


def _key(change) -> tuple:
    name = change["value"].get("name") if change["op"] == "add" else None
    return change["op"], change["path"], name


def _same(a, b) -> bool:
    return a.get("value") == b.get("value") and a.get("after", MISSING) == b.get("after", MISSING)


def publish(session, layers: state.Layers, *, action="apply", allow_drop=False, dry_run=False,
            state_map=None, after_ddl=None, enabled=None, checked=None):
    """Migrate the tenant to the effective document of `layers` and store the layers with
    the new version, in one transaction. `enabled`: the plugins acting for the tenant
    once this is applied (a pack being installed is checked with its actions)."""
    if enabled is not None:
        session.enabled = tuple(sorted(set(enabled)))
        session._compiled = None
    document = effective_document(layers, session.extra_types)
    if checked is not None and checked.to_dict() == document:
        package = checked  # the caller's document, already checked in full: not twice
    else:
        package = session.check_document(document)
    actor = session.actor.email if session.actor else "cli"

    def write_layers(conn):
        state.save(conn, session.storage.schema, layers, actor)

    result = migration.apply_document(
        session.storage, document, allow_drop=allow_drop, dry_run=dry_run, state_map=state_map,
        actor=actor, extra_types=session.extra_types, action=action, on_commit=write_layers,
        after_ddl=after_ddl, layers=layers.to_dict(), package=package)
    session.install.cache.forget(session.tenant.slug)
    session._compiled = None
    return result


def apply_desired(session, package: Package, *, allow_drop=False, dry_run=False, state_map=None):
    """A tenant admin's whole document: kept as the overlay over the installed packs."""
    layers = load_layers(session)
    layers.overlay = overlay_for(session, layers, package.to_dict())
    return publish(session, layers, action="apply", allow_drop=allow_drop, dry_run=dry_run,
                   state_map=state_map, checked=package)
