"""E-mail over SMTP (smtplib), configured by `LOOM_SMTP_*` settings.

E-mail is off until `LOOM_SMTP_HOST` is set: an install with no mail server sends
nothing, rather than trying a port 25 that is usually not there. Every failure to hand a
message to the server is an `ActionFailed` with words a tenant admin can act on, so the
job queue retries it; an address that can never work is refused before any connection
is made. With an idempotency key the Message-ID is derived from it,
so a message re-sent after a worker crash is recognisably the same message."""
from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from engine.actions import ActionFailed
from engine.fieldtypes import EMAIL_RE
from engine.whole import whole_number

EFFECT_HEADER = "X-Loom-Effect"
HEADER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,75}$")
RESERVED = {"from", "to", "cc", "bcc", "subject", "date", "message-id", "sender",
            "mime-version", "content-type", "content-transfer-encoding"}
MAX_RECIPIENTS = 100
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}
OFF = "e-mail is off (LOOM_SMTP_HOST is not set)"


class AddressRefused(ActionFailed):
    """An address that no retry will make deliverable."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None = None  # None: e-mail is off
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "loom@localhost"
    starttls: bool = False
    ssl: bool = False
    timeout: float = 10.0


def smtp_settings(environ: Mapping) -> SmtpSettings:
    """Settings from a mapping of `LOOM_SMTP_*` values: `os.environ` or `Settings.extra`."""
    def get(name, default=None):
        value = environ.get(f"LOOM_SMTP_{name}")
        return default if value is None or value == "" else value

    port, timeout = get("PORT", "25"), get("TIMEOUT", "10")
    if whole_number(str(port), 1, 65535) is None:
        raise ValueError(f"LOOM_SMTP_PORT must be a port number, not {str(port)[:20]!r}")
    try:
        timeout = float(timeout)
    except ValueError:
        raise ValueError(f"LOOM_SMTP_TIMEOUT must be seconds, not {str(timeout)[:20]!r}") from None
    if not 0 < timeout <= 600:
        raise ValueError("LOOM_SMTP_TIMEOUT must be between 0 and 600 seconds")
    settings = SmtpSettings(host=get("HOST"), port=int(port), user=get("USER"),
                            password=get("PASSWORD"), sender=get("FROM", "loom@localhost"),
                            starttls=_flag(get("STARTTLS", "false"), "STARTTLS"),
                            ssl=_flag(get("SSL", "false"), "SSL"), timeout=timeout)
    if settings.starttls and settings.ssl:
        raise ValueError("set LOOM_SMTP_STARTTLS or LOOM_SMTP_SSL, not both")
    _, sender = parseaddr(settings.sender)
    if not EMAIL_RE.fullmatch(sender or "") and not sender.endswith("@localhost"):
        raise ValueError(f"LOOM_SMTP_FROM is not an e-mail address: {settings.sender[:80]!r}")
    return settings


def _flag(value: str, name: str) -> bool:
    text = str(value).strip().lower()
    if text not in TRUE | FALSE:
        raise ValueError(f"LOOM_SMTP_{name} must be true or false, not {text[:20]!r}")
    return text in TRUE


def check_address(address) -> Address:
    """The address as a header object; AddressRefused if it can never be delivered."""
    if not isinstance(address, str) or "\r" in address or "\n" in address:
        raise AddressRefused(f"{str(address)[:80]!r} is not an e-mail address")
    address = address.strip()
    if len(address) > 254 or not EMAIL_RE.fullmatch(address):
        raise AddressRefused(f"{address[:80]!r} is not an e-mail address")
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise AddressRefused(f"{address!r}: addresses with non-ASCII names are not supported")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise AddressRefused(f"{address!r}: the domain is not a valid internationalised name") from None
    try:
        return Address(username=local, domain=domain)
    except (ValueError, IndexError, TypeError):
        raise AddressRefused(f"{address!r} is not an e-mail address") from None


class Mailer:
    def __init__(self, settings: SmtpSettings | None = None):
        self.settings = settings or SmtpSettings()

    @classmethod
    def from_environ(cls, environ: Mapping) -> "Mailer":
        return cls(smtp_settings(environ))

    @property
    def enabled(self) -> bool:
        return self.settings.host is not None

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def build(self, to, subject: str, body: str, headers=None) -> EmailMessage:
        """The message, checked; nothing is sent."""
        targets = [to] if isinstance(to, str) else list(to or [])
        if not targets:
            raise AddressRefused("a message needs at least one recipient")
        if len(targets) > MAX_RECIPIENTS:
            raise AddressRefused(f"at most {MAX_RECIPIENTS} recipients per message")
        addresses = [check_address(a) for a in targets]
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = addresses
        msg["Subject"] = " ".join(str(subject).split())
        msg["Date"] = formatdate(usegmt=True)
        extra = dict(headers or {})
        for name, value in extra.items():
            if not HEADER_NAME.fullmatch(str(name)) or str(name).lower() in RESERVED:
                raise ActionFailed(f"header {str(name)[:40]!r} may not be set")
            if value is None:
                continue
            if "\r" in str(value) or "\n" in str(value):
                raise ActionFailed(f"header {name} may not contain line breaks")
            msg[name] = str(value)
        msg["Message-ID"] = self._message_id(extra.get(EFFECT_HEADER), addresses)
        text = str(body)
        msg.set_content(text, charset="utf-8", cte="7bit" if _plain(text) else "base64")
        return msg

    def _message_id(self, effect, addresses) -> str:
        domain = parseaddr(self.settings.sender)[1].rpartition("@")[2] or "localhost"
        if not effect:
            return make_msgid(domain=domain)
        seed = "\n".join([str(effect)] + sorted(a.addr_spec.lower() for a in addresses))
        return f"<{hashlib.sha256(seed.encode()).hexdigest()[:40]}@{domain}>"

    def send(self, to, subject: str, body: str, headers=None) -> str:
        """Hand one message to the SMTP server; returns its Message-ID."""
        msg = self.build(to, subject, body, headers)
        s = self.settings
        if not self.enabled:
            raise ActionFailed(f"could not send the message: {OFF}")
        try:
            if s.ssl:
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with smtp:
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.user:
                    smtp.login(s.user, s.password or "")
                smtp.send_message(msg, from_addr=parseaddr(s.sender)[1])
        except smtplib.SMTPAuthenticationError as exc:
            raise ActionFailed(f"the SMTP server {self.where} refused the login of "
                               f"{s.user!r}: {_reply(exc)}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            refused = ", ".join(f"{a} ({_reply(e)})" for a, e in exc.recipients.items())
            raise ActionFailed(f"the SMTP server {self.where} refused the recipient(s) {refused}") from None
        except smtplib.SMTPSenderRefused as exc:
            raise ActionFailed(f"the SMTP server {self.where} refused the sender "
                               f"{exc.sender!r}: {_reply(exc)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise ActionFailed(f"the SMTP server {self.where} does not support this: {exc}") from None
        except (smtplib.SMTPResponseException, smtplib.SMTPException) as exc:
            raise ActionFailed(f"the SMTP server {self.where} refused the message: {_reply(exc)}") from None
        except (OSError, ssl.SSLError) as exc:
            raise ActionFailed(f"could not reach the SMTP server at {self.where}: "
                               f"{exc.strerror or exc}") from None
        return msg["Message-ID"]


def _plain(text: str) -> bool:
    return text.isascii() and all(len(line) <= 900 for line in text.splitlines())


def _reply(exc) -> str:
    if isinstance(exc, tuple):  # SMTPRecipientsRefused gives (code, message) pairs
        code, message = exc
    else:
        code, message = getattr(exc, "smtp_code", None), getattr(exc, "smtp_error", None)
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return f"{code} {message}" if code else str(message or exc)
