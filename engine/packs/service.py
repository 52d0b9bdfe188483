"""Installing, upgrading and removing packs for a tenant: the operator's side of packs
(`loom pack ...`, `loom tenant create --pack`)."""
from __future__ import annotations

import copy
from contextlib import contextmanager

from engine.errors import Conflict, LoomError, NotFound, ValidationFailed
from engine.packs import catalog as catalogue
from engine.packs import state
from engine.packs.demo import load_demo
from engine.packs.layers import base_document, canonical, canonical_base, effective_document, load_layers
from engine.packs.pack import version_key
from engine.packs.removal import detached_document
from engine.packs.steps import StepRunner
from engine.publish import PublishRequest
from metadata import Package
from metadata.layering import derive
from metadata.rebase import rebase
from tenants.export import ExportFailed, export_tenant


class UpgradeConflicts(LoomError):
    """The upgrade and the tenant changed the same definitions; nothing was changed."""

    status, code = 409, "pack_conflict"

    def __init__(self, message, conflicts, report):
        super().__init__(message, details=[{"field": c["path"], "message": c["message"]} for c in conflicts])
        self.conflicts = conflicts
        self.report = report


class PackService:
    def __init__(self, install, actor=None):
        self.loom = install
        self.actor = actor

    # -- what there is -------------------------------------------------------------
    def catalog(self) -> dict:
        return catalogue.catalog(self.loom.plugins)

    def installed(self, slug) -> list[state.InstalledPack]:
        return load_layers(self._session(slug, "read the installed packs")).packs

    def _session(self, slug, to):
        session = self.loom.session(slug, self.actor)
        session.require_admin(to=to)
        return session

    # -- install -------------------------------------------------------------------
    def install_pack(self, slug, name, demo=False, dry_run=False) -> dict:
        """Install `name` (and the packs it depends on that are missing) for tenant `slug`;
        with `demo`, load the demo data of each pack installed now; with `dry_run`, only
        the plan (`plan`), changing nothing."""
        packs = self.catalog()
        session = self._session(slug, "install packs")
        layers = load_layers(session)
        order = catalogue.with_dependencies(packs, [name])
        missing = [n for n in order if layers.pack(n) is None]
        if not missing:
            found = layers.pack(name)
            raise Conflict(f"{name} {found.version} is already installed for {slug}"
                           f"{'; upgrade it with loom pack upgrade' if packs[name].version != found.version else ''}",
                           code="pack_installed")
        for pack_name in missing:
            pack = packs[pack_name]
            layers.packs.append(state.InstalledPack(pack_name, pack.version, len(layers.packs),
                                                    copy.deepcopy(pack.bundle)))
        enabled = set(session.enabled) | set(missing)
        with _named_pack(f"{', '.join(f'{n} {packs[n].version}' for n in missing)}", slug):
            result = session.publisher(enabled).publish(PublishRequest(layers, action="pack install",
                                                                        dry_run=dry_run))
        report = {"tenant": slug, "installed": [{"name": n, "version": packs[n].version} for n in missing],
                  "version": result.version, "changes": result.changes, "dry_run": dry_run}
        if dry_run:
            return {**report, "plan": result.plan}
        self.loom.registry.set_plugins(slug, enabled)
        self.loom.cache.forget(slug)
        if demo:
            report["demo"] = {n: self.load_demo(slug, n) for n in missing}
        return report

    install = install_pack

    def load_demo(self, slug, name) -> dict:
        pack = catalogue.require(self.catalog(), name)
        session = self._session(slug, "load demo data")
        if load_layers(session).pack(name) is None:
            raise NotFound(f"{name} is not installed for {slug}", code="pack_not_installed")
        return load_demo(session, pack)

    # -- upgrade -------------------------------------------------------------------
    def upgrade(self, slug, name, dry_run=False, keep_tenant=(), take_pack=()) -> dict:
        """Re-apply the installed distribution's version of `name` beneath the tenant's
        changes. Conflicts stop the upgrade (UpgradeConflicts) unless each is resolved
        with `keep_tenant` / `take_pack` (overlay change ids)."""
        packs = self.catalog()
        pack = catalogue.require(packs, name)
        session = self._session(slug, "upgrade packs")
        layers = load_layers(session)
        installed = layers.pack(name)
        if installed is None:
            raise NotFound(f"{name} is not installed for {slug}; install it with loom pack install",
                           code="pack_not_installed")
        if version_key(pack.version) < version_key(installed.version):
            raise Conflict(f"{slug} has {name} {installed.version}; the installed distribution is the older "
                           f"{pack.version} — packs are not downgraded", code="pack_downgrade")
        if pack.version == installed.version and pack.bundle == installed.base:
            return {"tenant": slug, "pack": name, "from": installed.version, "to": pack.version,
                    "dry_run": dry_run, "up_to_date": True, "conflicts": [], "absorbed": [], "dropped": [],
                    "steps": [], "version": session.metadata().version, "applied": False, "changes": [],
                    "archives": [], "moved": []}
        unknown = sorted((set(keep_tenant) | set(take_pack)) - {c.get("id") for c in layers.overlay})
        if unknown:
            raise NotFound(f"no tenant change with id {', '.join(map(str, unknown))}; see loom metadata show "
                           f"{slug} --layer tenant", code="change_not_found")
        new_layers = state.Layers([copy.copy(p) for p in layers.packs], layers.overlay)
        for dependency in catalogue.with_dependencies(packs, [name]):
            if new_layers.pack(dependency) is None:  # the new version depends on more
                new_layers.packs.insert(_position_of(new_layers, name),
                                        state.InstalledPack(dependency, packs[dependency].version, 0,
                                                            copy.deepcopy(packs[dependency].bundle)))
        target = new_layers.pack(name)
        target.version, target.base = pack.version, copy.deepcopy(pack.bundle)
        enabled = set(session.enabled) | {p.name for p in new_layers.packs}
        extra_types = self.loom.plugins.extra_types(enabled)
        old_base = canonical_base(layers, extra_types)
        new_base = canonical_base(new_layers, extra_types)
        rebased = rebase(layers.overlay, old_base, new_base, keep_tenant=set(keep_tenant),
                         take_pack=set(take_pack))
        report = {"tenant": slug, "pack": name, "from": installed.version, "to": pack.version,
                  "dry_run": dry_run, "conflicts": [c.to_dict() for c in rebased.conflicts],
                  "absorbed": [_brief(c) for c in rebased.absorbed],
                  "dropped": [_brief(c) for c in rebased.dropped],
                  "steps": [_step_text(s) for s in pack.steps_between(installed.version, pack.version)]}
        if rebased.conflicts and not dry_run:
            raise UpgradeConflicts(_conflict_message(slug, name, rebased.conflicts), report["conflicts"], report)
        new_layers.overlay = rebased.changes
        runner = StepRunner(session, pack.steps_between(installed.version, pack.version),
                            _package_or_none(effective_document(new_layers, extra_types), extra_types))
        with _named_pack(f"{name} {pack.version}", slug):
            result = session.publisher(enabled).publish(PublishRequest(
                new_layers, action="pack upgrade", allow_drop=True, dry_run=dry_run, after_ddl=runner))
        if not dry_run:
            self.loom.registry.set_plugins(slug, enabled)
            self.loom.cache.forget(slug)
        report.update(version=result.version, applied=result.applied, changes=result.changes,
                      archives=result.archives, moved=runner.report)
        if result.plan is not None:
            report["plan"] = result.plan
        return report

    # -- remove --------------------------------------------------------------------
    def remove(self, slug, name, purge=False, export_dir=None, dry_run=False) -> dict:
        """Take `name` off tenant `slug`. Without `purge` its entities and their data stay,
        as the tenant's own definitions; with it, the tenant is exported first, then the
        pack's definitions are dropped (their data archived). With `dry_run`, only the
        plan (`plan`), changing and exporting nothing."""
        packs = self.catalog()
        session = self._session(slug, "remove packs")
        layers = load_layers(session)
        if layers.pack(name) is None:
            raise NotFound(f"{name} is not installed for {slug}", code="pack_not_installed")
        dependents = [p.name for p in layers.packs if p.name != name
                      and name in getattr(packs.get(p.name), "depends", ())]
        if dependents:
            raise Conflict(f"{', '.join(dependents)} depend{'s' if len(dependents) == 1 else ''} on {name}; "
                           f"remove {'it' if len(dependents) == 1 else 'them'} first", code="pack_needed")
        extra_types_before = self.loom.plugins.extra_types(session.enabled)
        current = canonical(effective_document(layers), extra_types_before)
        _, origins = base_document(layers)
        remaining = state.Layers([p for p in layers.packs if p.name != name], [])
        enabled = set(session.enabled) - {name}
        desired, dropped = detached_document(current, origins, name, purge,
                                             self.loom.plugins.field_types(),
                                             self.loom.plugins.extra_types(enabled))
        base = canonical_base(remaining, self.loom.plugins.extra_types(enabled))
        remaining.overlay, problems = derive(base, desired)
        if problems:  # cannot happen: the remaining packs' definitions are all kept
            raise LoomError(f"removing {name} would remove definitions of other packs", details=problems)
        report = {"tenant": slug, "pack": name, "purged": purge, "removed": dropped, "dry_run": dry_run}
        if dry_run:
            result = session.publisher(enabled).publish(PublishRequest(remaining, action="pack remove",
                                                                        allow_drop=purge, dry_run=True))
            return {**report, "version": result.version, "changes": result.changes, "plan": result.plan}
        if purge:
            try:
                report["export"] = str(export_tenant(session.storage, export_dir or
                                                     self.loom.settings.data_dir / "exports", session.tenant.name))
            except ExportFailed as exc:
                raise LoomError(f"{exc}; nothing was removed", code="export_failed") from None
        result = session.publisher(enabled).publish(PublishRequest(remaining, action="pack remove",
                                                                    allow_drop=purge))
        self.loom.registry.set_plugins(slug, enabled)
        self.loom.cache.forget(slug)
        report.update(version=result.version, changes=result.changes, archives=result.archives)
        return report


@contextmanager
def _named_pack(what, slug):
    """A pack's metadata refused by the checks says which pack it is (its author's bug,
    or a clash with the tenant's own definitions), with every problem."""
    try:
        yield
    except ValidationFailed as exc:
        if exc.code != "invalid_metadata":
            raise
        raise ValidationFailed(f"{what}: its metadata does not fit tenant {slug}: {exc.message} (paths are into the "
                               f"tenant's metadata with the pack)", details=exc.details,
                               code="pack_invalid") from None


def _package_or_none(document, extra_types):
    try:
        return Package.from_document(document, extra_types=extra_types)
    except (KeyError, TypeError, ValueError):  # invalid: publishing reports why
        return None


def _position_of(layers, name) -> int:
    return next(n for n, p in enumerate(layers.packs) if p.name == name)


def _brief(change) -> dict:
    out = {"id": change.get("id"), "op": change["op"], "path": change["path"]}
    if change["op"] == "add":
        out["name"] = change["value"].get("name")
    return out


def _step_text(step) -> str:
    kind, to, body = step
    if kind == "python":
        return f"{to}: {getattr(body, '__name__', 'step')} (Python)"
    (verb, params), = body.items()
    return f"{to}: {verb} " + ", ".join(f"{k}={v}" for k, v in params.items())


def _conflict_message(slug, name, conflicts) -> str:
    ids = [str(c.change.get("id")) for c in conflicts]
    return (f"the upgrade of {name} conflicts with {len(conflicts)} change(s) {slug} made; nothing was "
            f"changed. Resolve each: --keep-tenant ID keeps the tenant's version, --take-pack ID takes the "
            f"pack's (ids: {', '.join(ids)})")
