"""The built-in named actions that workflows and rules may run.

Each is an `engine.actions.ActionSpec` in its own module: `check(params)` lists the
problems of its params in plain words (for the metadata validator); `run(context,
params)` does the work, passes the context's effect key to every record write (so a
retried job changes nothing twice) and returns a JSON-able outcome, or raises
`ActionFailed` saying why it could not.

Every one of them gets the plugin session a plugin's action gets
(`engine.plugin_session`) and reaches the tenant only through it: records, metadata,
effects, counters, people, and the workflow services (transitions, notifications,
business time)."""
from __future__ import annotations

from engine.actions import ActionSpec
from engine.plugin_session import plugin_action


def builtin_actions() -> dict[str, ActionSpec]:
    from workflows.actions import (
        assign, create_plan, create_record, notify, number, set_field, transition, webhook,
    )

    return {module.NAME: plugin_action(module.SPEC)
            for module in (set_field, create_record, number, assign, create_plan, notify, webhook, transition)}
