"""The built-in named actions that workflows and rules may run.

Each is an `engine.actions.ActionSpec` in its own module: `check(params)` lists the
problems of its params in plain words (for the metadata validator); `run(context,
params)` does the work, passes the context's effect key to every record write (so a
retried job changes nothing twice) and returns a JSON-able outcome, or raises
`ActionFailed` saying why it could not.

`set_field`, `create_record` and `webhook` get the plugin session a plugin's action
gets (`engine.plugin_session`); the others still get the engine's session, for what
the plugin session does not offer yet: workflow transitions, round-robin counters,
people by role and their open work, notifications and templates."""
from __future__ import annotations

from engine.actions import ActionSpec
from engine.plugin_session import plugin_action


def builtin_actions() -> dict[str, ActionSpec]:
    from workflows.actions import (
        assign, create_plan, create_record, notify, number, set_field, transition, webhook,
    )

    return {"set_field": plugin_action(set_field.SPEC), "create_record": plugin_action(create_record.SPEC),
            "number": number.SPEC, "assign": assign.SPEC, "create_plan": create_plan.SPEC, "notify": notify.SPEC,
            "webhook": plugin_action(webhook.SPEC), "transition": transition.SPEC}
