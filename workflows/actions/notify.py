"""`notify`: `{"template": "ack", "to": ["field:email", "role:admin"], "channel":
"email" | "in_app" | "both", "purpose": "marketing"}` sends one of the tenant's message templates to the people
named, each in their language, through `session.notifications`. With the action's effect
key nobody is notified twice for one event. `purpose` (default `service`) is what the
message is for: parties are sent it only with a valid consent for that purpose
(`workflows.notify.consent`)."""
from __future__ import annotations

from engine.plugin_api import ActionFailed, ActionParam, ActionSpec
from workflows.notify.consent import PURPOSES
from workflows.notify.delivery import check as check_params

NAME = "notify"


def check(params) -> list[str]:
    """The notify problems, named like every built-in action's ('notify: ...')."""
    return [f"{NAME}: {problem}" for problem in check_params(params)]


def run(context, params) -> dict:
    problems = check_params(params)
    if problems:
        raise ActionFailed(f"{NAME}: " + "; ".join(problems))
    return context.session.notifications.send(
        params.get("template"), params.get("to"), context.entity, context.record or {},
        channel=params.get("channel", "email"), effect_key=context.effect_key or None,
        purpose=params.get("purpose", "service"))


PARAMS = (ActionParam("template", "template", required=True), ActionParam("to", "recipients", required=True),
          ActionParam("channel", "choice", ("email", "in_app", "both")),
          ActionParam("purpose", "choice", PURPOSES,
                      label={"en": "Purpose (any but service needs the party's consent)",
                             "zh-CN": "用途（服务以外的用途需要当事人同意）"}))

SPEC = ActionSpec(run=run, check=check, description="Send a message template to people by e-mail and/or in-app.",
                  params=PARAMS)
