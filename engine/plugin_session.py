"""The plugin session: what a pack plugin's hooks and actions may reach of one tenant.

Records through the record service (reads, writes, and — inside a before-write hook —
writes in the transaction of the write under way), a read-only view of the tenant's
metadata (entities, fields, workflows; no tables), the actor, the tenant, the
plugin settings, effect keys, counters and people; and the services Loom's layers above
the engine offer through `loom_session_services` (workflow transitions, notifications,
business time). Nothing here hands out a connection, a table or the engine's session."""
from __future__ import annotations

import copy
import re
from dataclasses import replace
from types import MappingProxyType

from engine import effects
from engine.actions import ActionContext, ActionSpec
from engine.counters import Counters
from engine.errors import PluginFailed
from engine.roster import People

SECRET = re.compile(r"URL|SECRET|PASSWORD|TOKEN|KEY", re.IGNORECASE)


class TenantView:
    """The tenant a plugin acts for: its slug and name."""

    def __init__(self, tenant):
        self.slug, self.name = tenant.slug, tenant.name

    def __repr__(self) -> str:
        return f"TenantView({self.slug!r})"


class MetadataView:
    """The tenant's published metadata, read-only: entities (with fields, options,
    labels), workflows (states, transitions) and the version. The objects are the
    engine's immutable metadata model."""

    def __init__(self, compiled):
        self._package = compiled.package
        self.version = compiled.version

    @property
    def entities(self) -> tuple:
        return self._package.entities

    @property
    def workflows(self) -> tuple:
        return self._package.workflows

    @property
    def roles(self) -> tuple:
        """The tenant's role documents (what a webhook sent as a role reads by)."""
        return self._package.roles

    @property
    def permission_sets(self) -> tuple:
        return self._package.permission_sets

    def entity(self, name: str):
        """The entity `name` (`.fields`, `.field(name)`, `.label`), or None."""
        return self._package.entity(name)

    def workflow_for(self, entity_name: str):
        """The workflow of an entity (`.field`, `.initial`, `.states`, `.transitions`), or None."""
        return self._package.workflow_for(entity_name)


class Records:
    """Records of the tenant, through the record service: validation, sharing, audit,
    outbox, hooks. Bound to a transaction (inside a before-write hook), `create`,
    `update` and `increment` write in it and commit or roll back with the write under
    way, and `get` / `list` read in it (every record, whoever the actor is: a hook checks
    data, not what its actor may see)."""

    def __init__(self, service, conn=None):
        self._service, self._conn = service, conn

    @property
    def in_transaction(self) -> bool:
        return self._conn is not None

    def get(self, entity: str, record_id: int) -> dict | None:
        """One record as JSON. Outside a transaction: NotFound if missing or not readable;
        inside one: None if missing."""
        if self._conn is not None:
            return self._service.get_within(self._conn, entity, record_id)
        return self._service.get(entity, record_id)

    def list(self, entity: str, params=()) -> dict:
        """Records matching the list API's filters (`[("status", "open"),
        ("amount__gte", "10")]`): `{"items": [...], "next_cursor": ...}`, one page
        (`limit`, `cursor`). Inside a transaction every match is on the one page."""
        if self._conn is not None:
            return {"items": self._service.list_within(self._conn, entity, list(params)), "next_cursor": None}
        return self._service.list(entity, list(params))

    def count(self, entity: str, params=(), cap: int | None = 1001) -> int:
        """How many records match the list filters, counting at most `cap` (None: all).
        Outside a transaction: the records the actor may read."""
        if self._conn is not None:
            found = len(self._service.list_within(self._conn, entity, list(params)))
            return found if cap is None else min(found, cap)
        return self._service.count(entity, list(params), cap=cap)

    def export(self, entity: str, params=()):
        """Every readable record matching the filters: an iterator read in batches."""
        return self._service.export(entity, list(params))

    def create(self, entity: str, data: dict, effect_key: str | None = None) -> dict | None:
        """Create a record; with `effect_key` a repeat (a retried action) writes nothing
        and returns None (outside a transaction only)."""
        if self._conn is not None:
            return self._service.create_within(self._conn, entity, data)
        return self._service.create(entity, data, effect_key=effect_key)

    def update(self, entity: str, record_id: int, data: dict, effect_key: str | None = None) -> dict | None:
        """Change the fields in `data` (with `version` in it: only if the record is at
        that version, else StaleVersion)."""
        if self._conn is not None:
            return self._service.update_within(self._conn, entity, record_id, data)
        return self._service.update(entity, record_id, data, effect_key=effect_key)

    def increment(self, entity: str, record_id: int, field: str, delta, at_least=None) -> dict | None:
        """Add `delta` to a number field atomically — with `at_least`, only if the result
        stays at or above it, checked by the database against the locked row, so two
        concurrent increments cannot both pass. A system write, audited and announced as
        `record.updated`. Returns the record, or None when `at_least` refused it
        (nothing written); NotFound without such a record."""
        if self._conn is not None:
            return self._service.increment_within(self._conn, entity, record_id, field, delta, at_least)
        service = self._service
        with service.storage.begin() as conn:
            record = service.increment_within(conn, entity, record_id, field, delta, at_least)
        return record


class Effects:
    """Effect keys of deliveries outside the record service (a webhook, an e-mail): a
    retried action asks `done(key)` before delivering and says `remember(key)` after.
    Record writes need neither: they take their `effect_key` themselves."""

    def __init__(self, storage):
        self._storage = storage

    def done(self, key: str) -> bool:
        """Whether an effect with this key happened already."""
        return effects.already(self._storage, key)

    def remember(self, key: str) -> None:
        """Record that the effect happened (once: a second call changes nothing)."""
        effects.remember(self._storage, key)


class PluginSession:
    """What a pack plugin's hook or action (and a built-in action) receives as `session`."""

    def __init__(self, engine_session, service=None, conn=None):
        self._engine = engine_session
        self._service = service
        self._conn = conn

    @property
    def tenant(self) -> TenantView:
        return TenantView(self._engine.tenant)

    @property
    def actor(self):
        """The acting user (`.email`, `.is_admin`, `.locale`, `.attribute_values(name)`),
        None for the system."""
        return self._engine.actor

    @property
    def records(self) -> Records:
        return Records(self._service if self._service is not None else self._engine.records, self._conn)

    @property
    def metadata(self) -> MetadataView:
        service = self._service
        return MetadataView(service.metadata if service is not None else self._engine.metadata())

    @property
    def effects(self) -> Effects:
        return Effects(self._engine.storage)

    @property
    def counters(self) -> Counters:
        """Number sequences and round-robin turns of the tenant (`sequence(name)`,
        `turns(name)`), each in its own locked transaction."""
        return Counters(self._engine.storage)

    @property
    def people(self) -> People:
        """The tenant's active users: `active(role=None, emails=None)`."""
        service = self._service
        package = (service.metadata if service is not None else self._engine.metadata()).package
        return People(self._engine.storage, tuple(role["name"] for role in package.roles))

    @property
    def transitions(self):
        """Workflow transitions: `take(entity, id, name, comment=None, effect_key=None)`."""
        return self._offered("transitions")

    @property
    def notifications(self):
        """Message templates sent to people: `send(template, to, entity, record, channel="email",
        effect_key=None)`."""
        return self._offered("notifications")

    @property
    def calendar(self):
        """The tenant's business hours: `add(start, minutes)`."""
        return self._offered("calendar")

    def _offered(self, name: str):
        """A service a core plugin offers (`loom_session_services`), outside a transaction."""
        if self._conn is not None:
            raise PluginFailed(f"session.{name} works outside a write under way, not in "
                               "loom_record_before_write; do it in loom_record_after_commit or an action",
                               code="service_in_write")
        factory = self._engine.install.plugins.session_services().get(name)
        if factory is None:
            raise PluginFailed(f"no core plugin of this install offers session.{name}", code="no_such_service")
        return factory(self._engine)

    @property
    def settings(self):
        """The install's LOOM_* settings (values naming secrets or connections left out)."""
        extra = self._engine.install.settings.extra
        return MappingProxyType({k: v for k, v in extra.items() if not SECRET.search(k)})

    def as_system(self) -> "PluginSession":
        """A session of the same tenant acting as the system (outside any transaction)."""
        if self._engine.actor is None and self._conn is None:
            return self
        system = type(self._engine)(self._engine.install, self._engine.tenant)
        return PluginSession(system.for_actions())

    def run_action(self, name: str, entity: str, record: dict, params: dict, event=None,
                   effect_key: str = ""):
        """Run a named action (a built-in such as `notify` or `transition`, or a plugin's)
        for `record` of `entity`; returns its outcome. KeyError if the tenant has none."""
        spec = self._engine.actions()[name]
        context = ActionContext(session=self._engine.for_actions(), entity=entity, record=dict(record),
                                event=dict(event or {}), effect_key=effect_key)
        return spec.run(context, params)

    def has_action(self, name: str) -> bool:
        return name in self._engine.actions()


def plugin_action(spec: ActionSpec) -> ActionSpec:
    """A plugin's action as the engine runs it: its context's session is a plugin session."""
    def run(context, params):
        session = context.session
        if not isinstance(session, PluginSession):
            context = copy.copy(context)  # as it is: a record read on use stays unread (workflows.action_record)
            context.session = PluginSession(session)
        return spec.run(context, params)

    return replace(spec, run=run)
