"""Named actions: what workflows and rules may do, never code in metadata.

Built-in actions live in `workflows.actions`; plugins add theirs through the
`loom_actions` hook. An action runs with an `ActionContext`; record writes pass its
`effect_key` so that running the same action for the same event twice (after a worker
crash) changes nothing the second time."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class ActionSpec:
    run: Callable                      # run(context, params) -> dict outcome
    check: Callable = lambda params: []  # check(params) -> list of problem strings
    description: str = ""


@dataclass
class ActionContext:
    session: object                    # a PluginSession when the action runs (see engine.plugin_session.plugin_action)
    entity: str
    record: dict                       # the record as the event saw it
    event: dict = field(default_factory=dict)
    effect_key: str = ""               # unique per (event, rule, action index)


class ActionFailed(Exception):
    """An action that could not do its job; the job queue retries it with backoff."""


def registry(plugins, enabled, wrap=None) -> dict:
    """{name: ActionSpec} for the plugins (core and enabled) of a tenant; `wrap(spec)`
    turns an installed (not core) plugin's spec into the one the engine runs."""
    found = {}
    for plugin_name, offered in plugins.per_plugin_dict("loom_actions"):
        if plugin_name in plugins.active(enabled):
            if wrap is not None and plugin_name not in plugins.core:
                offered = {name: wrap(spec) for name, spec in offered.items()}
            found.update(offered)
    return found
