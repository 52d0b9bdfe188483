"""Notifying people: render a tenant's message template for each recipient, in their
language, and send it by e-mail, in-app, or both (the work of `session.notifications`
and so of the `notify` action).

Where templates live and how the mailer is configured is the caller's business, so both
come in as callables. With an effect key every delivery is recorded in `loom_effects`,
so a job retried after a partial failure skips the people already notified; e-mails
also carry the key in `X-Loom-Effect` for receivers to deduplicate the unavoidable
crash-between-send-and-record case. While e-mail is off (no SMTP host), each e-mail is
skipped with that reason: nothing to retry, and in-app notifications still go out."""
from __future__ import annotations

from typing import Callable

from engine import effects
from engine.actions import ActionFailed
from workflows.notify import inapp
from workflows.notify.consent import DEFAULT_PURPOSE, PURPOSES, ConsentGate
from workflows.notify.mailer import EFFECT_HEADER, OFF, AddressRefused, Mailer
from workflows.notify.recipients import Recipient, parse_spec, resolve
from workflows.notify.seen import RecipientView
from workflows.notify.templates import NAME_RE, TemplateFailed, message_context, render

CHANNELS = ("email", "in_app", "both")
PARAMS = {"template", "to", "channel", "purpose"}
MAX_SPECS = 20


def check(params) -> list[str]:
    """Problems with the action's params, as sentences; [] when they are fine."""
    if not isinstance(params, dict):
        return ["notify needs params {\"template\": ..., \"to\": ...}"]
    problems = [f"unknown parameter {k!r}" for k in sorted(set(params) - PARAMS, key=str)]
    template = params.get("template")
    if template is None:
        problems.append("template is required")
    elif not isinstance(template, str) or not NAME_RE.fullmatch(template):
        problems.append(f"template {str(template)[:60]!r} is not a template name")
    to = params.get("to")
    specs = [to] if isinstance(to, str) else to
    if to is None:
        problems.append("to is required")
    elif not isinstance(specs, list) or not specs:
        problems.append("to must be a recipient or a non-empty list of recipients")
    elif len(specs) > MAX_SPECS:
        problems.append(f"to lists more than {MAX_SPECS} recipients")
    else:
        for spec in specs:
            try:
                parse_spec(spec)
            except ValueError as exc:
                problems.append(str(exc))
    channel = params.get("channel", "email")
    if channel not in CHANNELS:
        problems.append(f"channel must be one of {', '.join(CHANNELS)}, not {str(channel)[:30]!r}")
    purpose = params.get("purpose", DEFAULT_PURPOSE)
    if purpose not in PURPOSES:
        problems.append(f"purpose must be one of {', '.join(PURPOSES)}, not {str(purpose)[:30]!r}")
    return problems


class Notifier:
    """Sends message templates for one engine session; `templates_for(session)` gives
    {name: template doc} and `mailer_for(session)` the Mailer to send with."""

    def __init__(self, session, templates_for: Callable, mailer_for: Callable):
        self.session, self.templates_for, self.mailer_for = session, templates_for, mailer_for

    def send(self, template: str, to, entity: str, record: dict, channel: str = "email",
             effect_key: str | None = None, purpose: str = DEFAULT_PURPOSE) -> dict:
        """`{"sent", "in_app", "skipped"}`: how many e-mails and in-app notifications went
        out and why anyone was skipped. ActionFailed for bad params, a missing template or
        a mail server that cannot be reached (the job is retried). A recipient without a
        valid consent for `purpose` is skipped and the refusal logged
        (`workflows.notify.consent`)."""
        params = {"template": template, "to": to, "channel": channel, "purpose": purpose}
        problems = check(params)
        if problems:
            raise ActionFailed("notify: " + "; ".join(problems))
        return _Delivery(self.session, entity, record, effect_key or "", params, self.templates_for,
                         self.mailer_for).run()


class _Delivery:
    def __init__(self, session, entity, record, effect_key, params, templates_for, mailer_for):
        self.session, self.entity, self.record, self.effect_key = session, entity, record, effect_key
        self.storage = session.storage
        self.channel = params.get("channel", "email")
        self.specs = params["to"]
        self.template = self._template(params["template"], templates_for)
        self.mailer_for = mailer_for
        self.mailer: Mailer | None = None
        self.outcome = {"sent": 0, "in_app": 0, "skipped": []}
        self.gate = ConsentGate(session, params.get("purpose", DEFAULT_PURPOSE), params["template"],
                                entity, record)

    def _template(self, name, templates_for):
        templates = templates_for(self.session) or {}
        if name not in templates:
            raise ActionFailed(f"notify: there is no message template {name!r}")
        return templates[name]

    def run(self) -> dict:
        record = dict(self.record or {})
        people, skipped = resolve(self.storage, self.specs, record)
        self.outcome["skipped"] += skipped
        tenant = self.session.tenant
        view = RecipientView(self.session, self.entity, record,  # each recipient's own reading of it
                             self.template.get("clear") or ())
        for person in people:
            refused = self.gate.refusal(person)  # at send time: a consent withdrawn while queued counts
            if refused:
                self.outcome["skipped"].append(f"{person.email}: {refused}")
                continue
            ctx = message_context(tenant, self.entity, view.record_for(person), {"name": person.name or person.email,
                                                                "email": person.email, "locale": person.locale})
            try:
                subject, body = render(self.template, person.locale, ctx)
            except TemplateFailed as exc:
                raise ActionFailed(f"notify: {exc.message}") from None
            if self.channel in ("in_app", "both"):
                self._in_app(person, subject, body, record)
            if self.channel in ("email", "both"):
                self._email(person, subject, body)
        return self.outcome

    def _key(self, channel: str, person: Recipient) -> str | None:
        key = self.effect_key
        who = person.user_id if channel == "in_app" else person.email.lower()
        return f"{key}|notify:{channel}:{who}" if key else None

    def _in_app(self, person: Recipient, subject: str, body: str, record: dict) -> None:
        if person.user_id is None:
            self.outcome["skipped"].append(f"{person.email}: not a user, so no in-app notification")
            return
        made = inapp.create(self.storage, person.user_id, subject, body, entity=self.entity,
                            record_id=_int_or_none(record.get("id")),
                            effect_key=self._key("in_app", person))
        if made is None:
            self.outcome["skipped"].append(f"{person.email}: in-app notification already created")
        else:
            self.outcome["in_app"] += 1

    def _email(self, person: Recipient, subject: str, body: str) -> None:
        key = self._key("email", person)
        if key and effects.already(self.storage, key):
            self.outcome["skipped"].append(f"{person.email}: e-mail already sent")
            return
        if not self._mailer().enabled:
            self.outcome["skipped"].append(f"{person.email}: {OFF}")
            return
        headers = {EFFECT_HEADER: self.effect_key} if self.effect_key else None
        try:
            self._mailer().send(person.email, subject, body, headers=headers)
        except AddressRefused as exc:
            self.outcome["skipped"].append(f"{person.email}: {exc}")
            return
        self.outcome["sent"] += 1
        if key:
            effects.remember(self.storage, key)

    def _mailer(self) -> Mailer:
        if self.mailer is None:
            try:
                self.mailer = self.mailer_for(self.session)
            except ValueError as exc:
                raise ActionFailed(f"notify: e-mail is not configured correctly: {exc}") from None
        return self.mailer


def _int_or_none(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None
