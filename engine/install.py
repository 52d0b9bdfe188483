"""One Loom install: settings, storage, the tenant registry, plugins and the metadata
cache, wired together once and shared by the CLI and the web app."""
from __future__ import annotations

from functools import cached_property

from engine import migration
from engine.actions import registry as action_registry
from engine.errors import Forbidden, NotFound
from engine.hooks import TenantHooks
from engine.migration.match_keys import catch_up_keys
from engine.plugin_session import plugin_action
from engine.plugins import Plugins
from engine.publish import Publisher, Target
from engine.records.access_log import flush as flush_access_log
from engine.records.search_index import catch_up
from engine.records.service import RecordService
from engine.runtime import MetadataCache
from tenants import Registry, Settings, Storage


class Install:
    def __init__(self, settings: Settings | None = None, plugins: Plugins | None = None):
        self.settings = settings or Settings.from_env()
        self.storage = Storage(self.settings)
        self.registry = Registry(self.storage)
        self._plugins = plugins
        self.cache = MetadataCache(self.settings.max_open_tenants)
        self.extensions: dict = {}  # per-install state of the layers above (e.g. workflows)
        self.registry.on_open.append(self._tenant_opened)

    @cached_property
    def plugins(self) -> Plugins:
        return self._plugins or Plugins()

    def tenant(self, slug: str):
        tenant = self.registry.get(slug)
        if tenant is None:
            raise NotFound(f"no tenant {slug!r}", code="tenant_not_found")
        return tenant

    def _tenant_opened(self, tenant, storage) -> None:
        """A tenant opened for the first time in this process: rebuild its search index if
        an upgrade of Loom's tables marked it stale."""
        enabled = tenant.plugins
        catch_up_keys(storage, self.plugins.extra_types(enabled))  # a tenant made before match keys
        catch_up(storage, lambda conn: self.cache.get(storage, conn, self.plugins.extra_types(enabled),
                                                      self.plugins.validators(enabled)))

    def session(self, slug: str, actor=None) -> "TenantSession":
        return TenantSession(self, self.tenant(slug), actor)

    def dispose(self) -> None:
        flush_access_log()  # the access log's pending rows, before the databases close
        self.storage.dispose()


class TenantSession:
    """What one caller may do in one tenant: one request, one job, one CLI command.

    The tenant's compiled metadata is looked up once per session (a cheap version
    check, see `MetadataCache`) and kept for the session's life, so every step of a
    request sees the same metadata; applying metadata through the session renews it, and
    so does a record operation that finds the version moved under it (it runs again)."""

    def __init__(self, install: Install, tenant, actor=None):
        self.install = install
        self.tenant = tenant
        self.actor = actor
        self.storage = install.registry.storage_of(tenant)
        self.enabled = tenant.plugins
        self._compiled = None
        self.system_writes = False  # see for_actions

    @property
    def extra_types(self):
        return self.install.plugins.extra_types(self.enabled)

    def metadata(self):
        if self._compiled is None:
            with self.storage.connect() as conn:
                self._compiled = self.install.cache.get(self.storage, conn, self.extra_types,
                                                        self.install.plugins.validators(self.enabled))
        return self._compiled

    def renew_metadata(self):
        """The tenant's current compiled metadata, after it moved under this session."""
        self._compiled = None
        return self.metadata()

    @property
    def records(self) -> RecordService:
        hooks = TenantHooks(self.install.plugins, self.enabled, self)
        return RecordService(self.storage, self.metadata(), hooks, self.actor, self.tenant.slug,
                             renew=self.renew_metadata, system=self.system_writes)

    def for_actions(self) -> "TenantSession":
        """This session as the actions of rules and workflows run in it: the same actor
        and metadata, and its record writes are the system's, which may fill read-only
        fields (a user's writes may not change them)."""
        session = TenantSession(self.install, self.tenant, self.actor)
        session.enabled, session._compiled, session.system_writes = self.enabled, self._compiled, True
        return session

    def require_admin(self, to: str = "change metadata", instead: str | None = None) -> None:
        """Refuse a member (403 admin_only) with a message naming what was refused, `to`
        ("read the metadata history"), and what a member may do `instead`."""
        if self.actor is not None and not self.actor.is_admin:
            message = f"only a tenant admin may {to}" + (f"; {instead}" if instead else "")
            raise Forbidden(message, code="admin_only")

    def actions(self) -> dict:
        """The named actions workflows and rules of this tenant may use."""
        return action_registry(self.install.plugins, self.enabled, wrap=plugin_action)

    def with_plugins(self, enabled) -> "TenantSession":
        """This session as it will be once `enabled` plugins act for the tenant (a pack
        being installed is checked with its actions)."""
        session = TenantSession(self.install, self.tenant, self.actor)
        session.enabled = tuple(sorted(set(enabled)))
        return session

    def publisher(self, enabled=None) -> Publisher:
        """The publisher of this tenant's metadata, for `enabled` plugins (default: the
        session's)."""
        session = self if enabled is None else self.with_plugins(enabled)
        return Publisher(Target(storage=self.storage, plugins=self.install.plugins, enabled=session.enabled,
                                actor=self.actor.email if self.actor else "cli", cache=self.install.cache,
                                check_session=session))

    def check_document(self, document):
        """The whole document checked — entities, workflows (with this tenant's actions
        and roles) and what active plugins check (rule sets, templates) — all problems
        at once. Returns the Package or raises ValidationFailed."""
        return self.publisher().check(document)

    def apply_metadata(self, document, allow_drop=False, dry_run=False, state_map=None, based_on=None,
                       checked=None):
        """`state_map` {(entity, removed state): new state} moves records out of states
        the document removes (refused with their count otherwise); `based_on`: the version
        the document was made from (refused, 409 version_moved, once another was published);
        `checked`: the document's Package, checked in full by the caller for this version."""
        self.require_admin()
        result = self.publisher().apply(document, allow_drop=allow_drop, dry_run=dry_run, state_map=state_map,
                                        based_on=based_on, checked=checked)
        if not dry_run:
            self._compiled = None
        return result

    def rollback_metadata(self, version: int, state_map=None):
        """Return to `version` as a new version, with the packs (and their plugins) of then."""
        self.require_admin()
        request, enabled = self.publisher().rollback_request(version, state_map)
        result = self.publisher(enabled).publish(request)
        if set(enabled) != set(self.enabled):
            self.install.registry.set_plugins(self.tenant.slug, enabled)
            self.enabled = tuple(sorted(enabled))
        self._compiled = None
        return result

    def metadata_history(self):
        return migration.history(self.storage)
