"""The one path that publishes a tenant's metadata, for every caller (`loom metadata
apply`, `PUT /metadata`, pack install/upgrade/remove, rollback): check → diff →
preview → migrate → record.

Everything after the check happens in one transaction: the diff, the data checks, the
DDL, the data moves, the archive copies, the search index of the fields that became or
stopped being searchable, the layers and the version row. A failure
anywhere leaves schema, metadata and data exactly as they were. A dry run stops after
the preview and returns the plan (`engine.publish.plan`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.exc import DBAPIError

from engine.compiler import compile_tables, encrypts
from engine.crypto.keyring import Keyring, key_rows, migration_keyring
from engine.errors import Conflict, MigrationRefused, NotFound
from engine.migration import MigrationResult, current_package, describe, parse_document, versions
from engine.migration.checks import drop_refusal, refusal, run_checks
from engine.migration.ddl import Migrator
from engine.migration.match_keys import refill_keys, sync_keys
from engine.migration.states import move_records
from engine.packs import state
from engine.packs.layers import effective_document, overlay_for, read_layers
from engine.publish.check import check_document
from engine.publish.plan import preview
from engine.records.search_index import follow_publication
from metadata import Package, diff_packages
from metadata.layering import derive


@dataclass(frozen=True)
class Target:
    """The tenant a publication is for, as plain objects: its storage, the plugins that
    act for it once published (`enabled`), who publishes, the install's metadata cache
    (renewed after a publication), and the session the plugins' metadata checks receive
    (`loom_check_metadata`); the publisher never calls it."""

    storage: object
    plugins: object
    enabled: tuple
    actor: str = "cli"
    cache: object = None
    check_session: object = None

    @property
    def extra_types(self) -> dict:
        return self.plugins.extra_types(self.enabled)


@dataclass(frozen=True)
class PublishRequest:
    """What to publish: the layers (packs and the tenant's overlay) whose effective
    document becomes the tenant's metadata, and how.

    `after_ddl(conn, tables, archives)` moves data once the new columns exist (a pack
    upgrade's steps), in the publication's transaction; it returns the fields whose values
    it may have written ({entity: field names}; None: any), whose match keys are then
    computed again. `document` publishes that exact
    document instead of the layers' (a rollback, which also `restores` archived values);
    `checked` is the layers' document already checked in full by the caller; `based_on`
    the version the caller's document was made from (refused when another was published
    since: a designer draft)."""

    layers: state.Layers
    action: str = "apply"
    allow_drop: bool = False
    dry_run: bool = False
    state_map: dict = field(default_factory=dict)
    after_ddl: Callable | None = None
    document: dict | None = None
    restoring: bool = False
    checked: Package | None = None
    based_on: int | None = None


class Publisher:
    def __init__(self, target: Target):
        self.target = target

    # -- the callers' entry points --------------------------------------------------
    def check(self, document) -> Package:
        return check_document(document, self.target.plugins, self.target.enabled, self.target.check_session)

    def apply(self, document, *, allow_drop=False, dry_run=False, state_map=None,
              based_on=None, checked: Package | None = None) -> MigrationResult:
        """A tenant admin's whole document, kept as the overlay over the installed packs;
        `based_on`: the version it was made from, refused if no longer the current one;
        `checked`: its Package, already checked in full by the caller (not checked twice)."""
        package = checked if checked is not None else self.check(document)
        storage = self.target.storage
        with storage.connect() as conn:
            layers = read_layers(conn, storage.schema, self.target.extra_types)
        layers.overlay = overlay_for(layers, package.to_dict(), self.target.extra_types)
        return self.publish(PublishRequest(layers, allow_drop=allow_drop, dry_run=dry_run,
                                           state_map=state_map or {}, checked=package, based_on=based_on))

    def rollback_request(self, version: int, state_map=None) -> tuple[PublishRequest, set]:
        """(the request that returns the tenant to `version`, the plugins enabled then:
        the plugins of the packs installed then, instead of those installed now)."""
        storage = self.target.storage
        with storage.connect() as conn:
            row = versions.load_version(conn, storage.schema, version)
            current = state.load(conn, storage.schema)
            now = versions.current_version(conn, storage.schema)
        if row is None:
            raise NotFound(f"no metadata version {version}", code="version_not_found")
        if version == now:
            raise Conflict(f"version {version} is the current version: there is nothing to roll back",
                           code="already_current")
        if row["layers"]:
            layers = state.Layers.from_dict(row["layers"])
        else:  # a version from before layers were recorded: its document was all the tenant's
            layers = state.Layers(overlay=derive({"entities": []}, row["document"])[0])
        enabled = ((set(self.target.enabled) - {p.name for p in current.packs})
                   | {p.name for p in layers.packs})
        request = PublishRequest(layers, action=f"rollback to {version}", allow_drop=True,
                                 state_map=state_map or {}, document=row["document"], restoring=True)
        return request, enabled

    # -- the one path ---------------------------------------------------------------
    def publish(self, request: PublishRequest) -> MigrationResult:
        """Check the document, then diff, preview, migrate and record it in one transaction."""
        extra_types = self.target.extra_types
        if request.document is not None:  # a recorded version: its document was checked then
            document = request.document
            package = parse_document(document, extra_types)
        else:
            document = effective_document(request.layers, extra_types)
            if request.checked is not None and request.checked.to_dict() == document:
                package = request.checked  # checked in full by the caller: not twice
            else:
                package = self.check(document)
        try:
            result = self._migrate(package, request)
        finally:
            if self.target.cache is not None and not request.dry_run:  # a dry run changes nothing
                self.target.cache.forget(self.target.storage.slug)
        return result

    def _migrate(self, package, request) -> MigrationResult:
        storage, schema = self.target.storage, self.target.storage.schema
        try:
            with storage.migration() as conn:
                versions.lock_history(conn, schema)
                previous, old_pkg, old_tables = self._current(conn, request.dry_run)
                if request.based_on is not None and request.based_on != previous:
                    raise Conflict(f"version {previous} was published after version {request.based_on}, "
                                   f"which this document was made from", code="version_moved",
                                   details=[{"field": "", "message": f"based on {request.based_on}",
                                             "based_on": request.based_on, "current": previous}])
                changes = diff_packages(old_pkg, package)
                result = MigrationResult(version=previous, previous_version=previous,
                                         changes=[describe(c) for c in changes], dry_run=request.dry_run)
                if not changes and request.action == "apply":
                    if request.dry_run:
                        result.plan = preview(conn, [], old_pkg, package, {}, [], [], [])
                    return result
                keyring = _keyring(conn, schema, old_pkg, package, storage.slug, request.dry_run, request.restoring)
                old_tables = old_tables(keyring)
                stranded, moves = move_records(conn, schema, changes, package, old_tables, request.state_map,
                                               True, tenant=storage.slug, old_pkg=old_pkg)
                result.moves = moves
                checks = run_checks(conn, changes, old_pkg, package, old_tables, request.restoring)
                refused = _refusals(changes, request.allow_drop, stranded, checks, moves)
                if request.dry_run:
                    result.plan = preview(conn, changes, old_pkg, package, old_tables, checks, moves,
                                          [e.to_dict()["error"] for e in refused])
                    return result
                if refused:
                    raise refused[0]
                move_records(conn, schema, changes, package, old_tables, request.state_map, False,
                             tenant=storage.slug, old_pkg=old_pkg)
                version = previous + 1
                migrator = Migrator(conn, schema, old_pkg, package, old_tables,
                                    compile_tables(package, schema, keyring), version, request.restoring, keyring)
                migrator.run(changes)
                sync_keys(conn, schema, old_pkg, package, migrator.new_tables, changes,
                          created=migrator.created, restored=request.restoring)
                if request.after_ddl is not None:
                    written = request.after_ddl(conn, migrator.new_tables, migrator.archives)
                    refill_keys(conn, package, migrator.new_tables, written)
                follow_publication(conn, schema, old_pkg, package, migrator.new_tables,
                                   added_empty=not request.restoring and request.after_ddl is None)
                state.save(conn, schema, request.layers, self.target.actor)
                versions.record_version(conn, schema, version, package.to_dict(), result.changes,
                                        migrator.archives, request.action, self.target.actor,
                                        request.layers.to_dict())
                result.version, result.applied, result.archives = version, True, migrator.archives
                return result
        except DBAPIError as exc:
            raise MigrationRefused(
                "the database refused the migration; nothing was changed",
                details=[{"message": str(exc.orig).strip().splitlines()[0]}]) from None

    def _current(self, conn, dry_run) -> tuple:
        """(the current version, its Package, a function of the data keys giving its
        tables). A dry run starts from the install's compiled metadata of that version when it is kept (the
        designer's review and a pack's preview read, and compile, nothing again); a
        publication reads the version in its own transaction."""
        storage = self.target.storage
        if dry_run and self.target.cache is not None:
            version = versions.current_version(conn, storage.schema)
            kept = self.target.cache.kept(storage, version, self.target.extra_types) if version else None
            if kept is not None:
                return version, kept.package, lambda keyring: (
                    kept.tables if keyring is None else compile_tables(kept.package, storage.schema, keyring))
        previous, old_pkg = current_package(conn, storage.schema, self.target.extra_types)
        return previous, old_pkg, lambda keyring: compile_tables(old_pkg, storage.schema, keyring) if old_pkg else {}


def _keyring(conn, schema, old_pkg, package, slug, dry_run, restoring=False):
    """The tenant's data keys when the old or new metadata encrypts a field at rest (its first
    key is made now, except in a dry run), or when a rollback may restore archived encrypted
    values (an archive of a field that was encrypted then) and the tenant has keys; without a
    master key, a clear refusal (when a key is needed)."""
    if not (encrypts(package) or (old_pkg is not None and encrypts(old_pkg))):
        if not (restoring and key_rows(conn, schema)):
            return None
        return Keyring(lambda: key_rows(conn, schema), f"tenant {slug}")  # opened only if an archive needs it
    return migration_keyring(conn, schema, f"tenant {slug}", create=not dry_run)


def _refusals(changes, allow_drop, stranded, checks, moves) -> list[MigrationRefused]:
    """What stops the publication, in the order it is reported: drops not confirmed,
    records stranded in removed states, data checks that fail (a mapped state's records
    do not block: they move first)."""
    out = []
    drops = [c for c in changes if c.destructive]
    if drops and not allow_drop:
        out.append(MigrationRefused(drop_refusal(drops), code="destructive_change",
                                    details=[{"field": c.target, "message": c.describe()} for c in drops]))
    if stranded:
        out.append(MigrationRefused(refusal(stranded), details=stranded, code="stranded_records"))
    moved = {f"{m['entity']}.{m['field']}" for m in moves}
    failing = [{"field": c["field"], "message": c["message"]} for c in checks
               if not c["passed"] and c["field"] not in moved]
    if failing:
        out.append(MigrationRefused(refusal(failing), details=failing))
    return out
