"""`notify`, wired to the tenant's published message templates and the install's
`LOOM_SMTP_*` settings (the work is `workflows.notify.action`'s). While e-mail is off,
the install's log says so once."""
from __future__ import annotations

import logging

from engine.actions import ActionSpec
from workflows.notify.action import make_notify_action
from workflows.notify.mailer import Mailer

log = logging.getLogger("loom.notify")
SAID_OFF = "notify.said-email-is-off"  # the install.extensions key: said once per install


def templates_for(session) -> dict:
    return {t["name"]: t for t in session.metadata().package.templates}


def mailer_for(session) -> Mailer:
    mailer = Mailer.from_environ(session.install.settings.extra)
    if not mailer.enabled:
        _say_once(session.install)
    return mailer


def say_email_is_off(install) -> None:
    """Log, once per install, that e-mail is off — when it is (a worker says so at start,
    `loom worker --once` when it first skips an e-mail)."""
    try:
        off = not Mailer.from_environ(install.settings.extra).enabled
    except ValueError:  # wrong LOOM_SMTP_* values: each notify reports them
        return
    if off:
        _say_once(install)


def _say_once(install) -> None:
    said = object()
    if install.extensions.setdefault(SAID_OFF, said) is said:
        log.warning("e-mail is off: LOOM_SMTP_HOST is not set, so e-mail notifications are skipped "
                    "(each one is recorded on the rule trace); set LOOM_SMTP_HOST to send them")


def check(params) -> list[str]:
    """The notify problems, named like every built-in action's ('notify: ...')."""
    return [f"notify: {problem}" for problem in _NOTIFY.check(params)]


_NOTIFY = make_notify_action(templates_for=templates_for, mailer_for=mailer_for)
SPEC = ActionSpec(run=_NOTIFY.run, check=check, description=_NOTIFY.description)
