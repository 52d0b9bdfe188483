"""Everything a Loom plugin imports: the one module plugins and packs may use.

    from engine.plugin_api import hookimpl, Pack, ValidationFailed

Hooks (`hookimpl`) and the errors that refuse a write; the frozen `RecordEvent` a
record hook receives; `ActionSpec` (with its `ActionParam`s), `ActionContext` and `ActionFailed` for named
actions; `CustomFieldType` and `FieldInvalid` for field types; `Pack` for industry
packs; the `PluginSession` a hook or action receives as `session`, with its
`Records`, `MetadataView`, `TenantView`, `Counters` and `People` (whose `Person` it
gives); `ROLES` and `EMAIL_RE` for checking an action's params; and `RoleView` and
`masked_value` for data that leaves the tenant (a record as one role reads it, a value
masked). Nothing else of the engine is a plugin's to import."""
from engine.actions import ActionContext, ActionFailed, ActionParam, ActionSpec
from engine.auth import ROLES
from engine.counters import Counters
from engine.errors import (BadQuery, Conflict, Forbidden, LoomError, NotFound, PluginFailed, StaleVersion,
                           ValidationFailed)
from engine.events import RecordEvent
from engine.fieldtypes import EMAIL_RE, CustomFieldType, FieldInvalid
from engine.hookspecs import hookimpl
from engine.packs import Pack
from engine.roster import People, Person
from engine.plugin_session import MetadataView, PluginSession, Records, TenantView
from engine.records.role_view import RoleView, masked_value

__all__ = [
    "ActionContext", "ActionFailed", "ActionParam", "ActionSpec",
    "BadQuery", "Conflict", "Forbidden", "LoomError", "NotFound", "StaleVersion", "ValidationFailed",
    "PluginFailed",
    "RecordEvent",
    "CustomFieldType", "FieldInvalid",
    "hookimpl",
    "Pack",
    "MetadataView", "PluginSession", "Records", "TenantView", "Counters", "People", "Person",
    "ROLES", "EMAIL_RE",
    "RoleView", "masked_value",
]
