"""Named actions: what workflows and rules may do, never code in metadata.

Built-in actions live in `workflows.actions`; plugins add theirs through the
`loom_actions` hook. An action runs with an `ActionContext`; record writes pass its
`effect_key` so that running the same action for the same event twice (after a worker
crash) changes nothing the second time."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


PARAM_KINDS = ("text", "integer", "number", "bool", "choice", "field", "entity", "template", "recipients",
               "value", "lines", "pairs", "json")


@dataclass(frozen=True)
class ActionParam:
    """One parameter of an action, described so that a form can be drawn for it (the
    action's `check` still judges the values). `kind` is how it is typed in: `text`,
    `integer`, `number`, `bool`, `choice` (one of `choices`), `field` (a field of the
    record's entity), `entity`, `template` (a message template), `recipients` (people a
    notification goes to), `value` (a value of the chosen `field`), `lines` (a list, one
    item a line), `pairs` (an object, one `name = value` a line) or `json`. `label` is
    its label, one text or a language map ({"en": ..., "zh-CN": ...})."""

    name: str
    kind: str = "text"
    choices: tuple = ()
    required: bool = False
    label: str | dict = ""

    def __post_init__(self):
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"action parameter {self.name!r}: kind must be one of {', '.join(PARAM_KINDS)}, "
                             f"not {self.kind!r}")


@dataclass(frozen=True)
class ActionSpec:
    run: Callable                      # run(context, params) -> dict outcome
    check: Callable = lambda params: []  # check(params) -> list of problem strings
    description: str = ""
    params: tuple = ()                 # its ActionParams, in the order a form shows them (none: a JSON box)


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
