"""`notify`, wired to the tenant's published message templates and the install's
`LOOM_SMTP_*` settings (the work is `workflows.notify.action`'s)."""
from __future__ import annotations

from engine.actions import ActionSpec
from workflows.notify.action import make_notify_action
from workflows.notify.mailer import Mailer


def templates_for(session) -> dict:
    return {t["name"]: t for t in session.metadata().package.templates}


def mailer_for(session) -> Mailer:
    return Mailer.from_environ(session.install.settings.extra)


def check(params) -> list[str]:
    """The notify problems, named like every built-in action's ('notify: ...')."""
    return [f"notify: {problem}" for problem in _NOTIFY.check(params)]


_NOTIFY = make_notify_action(templates_for=templates_for, mailer_for=mailer_for)
SPEC = ActionSpec(run=_NOTIFY.run, check=check, description=_NOTIFY.description)
