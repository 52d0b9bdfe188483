"""`session.notifications`: the tenant's published message templates sent through the
install's `LOOM_SMTP_*` mailer and the in-app inbox. While e-mail is off, the install's
log says so once."""
from __future__ import annotations

import logging

from workflows.notify.delivery import Notifier
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


def notifications(session) -> Notifier:
    """The service for one engine session: `send(template, to, entity, record, channel,
    effect_key)`."""
    return Notifier(session, templates_for, mailer_for)
