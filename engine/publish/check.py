"""Checking a whole metadata document for one tenant before it is published: entities,
workflows (with the tenant's actions and roles) and what its plugins check."""
from __future__ import annotations

from engine.actions import registry as action_registry
from engine.auth import ROLES
from engine.errors import ValidationFailed
from engine.plugin_session import PluginSession
from engine.words import counted
from metadata import MetadataInvalid, Package, load_package


def check_document(document, plugins, enabled, hook_session) -> Package:
    """All problems at once. `hook_session` is what `loom_check_metadata` receives (the
    session of the tenant with `enabled` plugins; pack plugins get its plugin session).
    Returns the Package or raises
    ValidationFailed."""
    try:
        package = load_package(document, extra_types=plugins.extra_types(enabled),
                               known_actions=sorted(action_registry(plugins, enabled)), known_roles=ROLES)
    except MetadataInvalid as exc:
        raise _invalid(exc.problems) from None
    found = [*plugins.core_hook("loom_check_metadata")(package=package, document=document, session=hook_session),
             *plugins.pack_hook("loom_check_metadata", enabled)(package=package, document=document,
                                                                session=PluginSession(hook_session))]
    problems = [p for problems in found for p in problems]
    if problems:
        raise _invalid(sorted(problems, key=lambda p: p["field"]))
    return package


def _invalid(problems) -> ValidationFailed:
    return ValidationFailed(f"the metadata document has {counted(len(problems), 'problem')}",
                            details=problems, code="invalid_metadata")
