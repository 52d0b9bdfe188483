"""`webhook`: POST the event and the record as JSON to a URL.

`{"url": "https://…", "method": "POST", "headers": {...}, "timeout": 10, "role": "…"}`. The
body is `{"event": ..., "record": ...}` as a user holding `role` reads them (without a
role: every field of personal data masked; `workflows.actions.webhook_view`); the header
`X-Loom-Effect` carries the effect key, so the receiver can drop a delivery it already has
(a job retried after a crash between sending and recording sends again). Only http/https
URLs; redirects are not followed; anything but a 2xx answer, or no answer, is an
ActionFailed (the job is retried)."""
from __future__ import annotations

import ipaddress
import json
import re
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from engine.plugin_api import ActionFailed, ActionParam, ActionSpec
from workflows.actions.common import params_problems
from workflows.actions.webhook_view import role_problems, sent_as

NAME = "webhook"
EFFECT_HEADER = "X-Loom-Effect"
METHODS = ("POST", "PUT", "PATCH")
TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")  # an HTTP header name (RFC 9110)
RESERVED = {"host", "content-length", "content-type", "transfer-encoding", "connection",
            EFFECT_HEADER.lower()}
UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
MAX_URL, MAX_HEADERS, MAX_VALUE, MAX_TIMEOUT = 2000, 30, 4000, 60
SHOWN_BODY = 200


def check(params) -> list[str]:
    problems, params = params_problems(NAME, params, ("url",), ("method", "headers", "timeout", "role"))
    if not params:
        return problems
    problems += role_problems(params.get("role"), NAME)
    if "url" in params:
        problems += url_problems(params["url"])
    method = params.get("method", "POST")
    if method not in METHODS:
        problems.append(f"{NAME}: method must be one of {', '.join(METHODS)}, not {str(method)[:20]!r}")
    headers = params.get("headers", {})
    if not isinstance(headers, dict) or len(headers) > MAX_HEADERS:
        problems.append(f"{NAME}: headers must be an object of at most {MAX_HEADERS} name: text pairs")
    else:
        for name, value in headers.items():
            problems += header_problems(name, value)
    timeout = params.get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= MAX_TIMEOUT:
        problems.append(f"{NAME}: timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT}")
    return problems


def url_problems(url) -> list[str]:
    if not isinstance(url, str) or not url or len(url) > MAX_URL or UNSAFE.search(url) or " " in url:
        return [f"{NAME}: url must be an http:// or https:// address of at most {MAX_URL} characters "
                f"without spaces or control characters"]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return [f"{NAME}: url {url[:80]!r} is not a valid address"]
    if parts.scheme.lower() not in ("http", "https"):
        return [f"{NAME}: url must use http or https, not {parts.scheme or 'no scheme'!r}"]
    if not parts.hostname:
        return [f"{NAME}: url {url[:80]!r} names no host"]
    if not (parts.path + parts.query).isascii():  # an HTTP request line is ASCII (a fragment is never sent)
        return [f"{NAME}: url {url[:80]!r} holds characters other than ASCII in its path or query: "
                "percent-encode them (%E4%BE%8B for 例)"]
    try:  # an international host name is sent in its xn-- form, which must name this very host
        sent = parts.hostname.encode("idna")
        same = sent.decode("idna") == parts.hostname.lower()
    except UnicodeError:
        sent, same = None, False
    if not same:  # 'faß.de' would be sent as 'fass.de', a zero-width space dropped: another host
        return [f"{NAME}: url {url[:80]!r} names a host that would be sent as another"
                + (f" ({sent.decode('ascii')})" if sent else "") + ": write the host as it is registered"]
    if parts.username is not None or parts.password is not None:
        return [f"{NAME}: url must not hold a user name or password; send credentials in a header"]
    return []


def header_problems(name, value) -> list[str]:
    if not isinstance(name, str) or not TOKEN.fullmatch(name):
        return [f"{NAME}: header name {str(name)[:40]!r} is not a valid HTTP header name"]
    if name.lower() in RESERVED:
        return [f"{NAME}: header {name} is set by Loom and cannot be given"]
    if not isinstance(value, str) or len(value) > MAX_VALUE:
        return [f"{NAME}: header {name} must be text of at most {MAX_VALUE} characters"]
    if UNSAFE.search(value.replace("\t", " ")):
        return [f"{NAME}: header {name} holds a line break or control character (header injection refused)"]
    if not value.isascii():  # HTTP sends header values as bytes: other characters never arrive as written
        return [f"{NAME}: header {name} holds characters other than ASCII: encode them (percent-encoding or "
                "base64, as the receiver expects)"]
    return []


def refuse_private(url: str) -> None:
    """One tenant's webhook must not reach the install's own network (loopback, private,
    link-local such as cloud metadata addresses) unless the operator allows it with
    LOOM_WEBHOOK_ALLOW_PRIVATE=1."""
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError as exc:
        raise ActionFailed(f"{NAME}: could not resolve {parts.hostname}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise ActionFailed(f"{NAME}: {parts.hostname} is a private or local address ({address}); "
                               "an operator may allow such targets with LOOM_WEBHOOK_ALLOW_PRIVATE=1")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a 3xx answer is then an HTTPError like any non-2xx answer


def shown(url: str) -> str:
    """The URL without its query or fragment (they may hold secrets), for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def run(context, params) -> dict:
    problems = check(params)
    if problems:
        raise ActionFailed("; ".join(problems))
    url, key = params["url"], context.effect_key or ""
    done_key = f"{key}|webhook" if key else None
    if done_key and context.session.effects.done(done_key):
        return {"url": shown(url), "delivered": False, "skipped": "already delivered for this event"}
    if UNSAFE.search(key):
        raise ActionFailed(f"{NAME}: the effect key holds control characters")
    if context.session.settings.get("LOOM_WEBHOOK_ALLOW_PRIVATE") not in ("1", "true"):
        refuse_private(url)
    event, record = sent_as(context, params.get("role"))
    body = json.dumps({"event": event, "record": record}, default=str,
                      ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Loom-Webhook/1",
               **params.get("headers", {})}
    if key:
        headers[EFFECT_HEADER] = key
    request = urllib.request.Request(url, data=body, method=params.get("method", "POST"), headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=params.get("timeout", 10)) as response:
            status = response.status
            response.read(65536)
    except urllib.error.HTTPError as exc:
        text = exc.read(SHOWN_BODY).decode("utf-8", "replace").strip()
        raise ActionFailed(f"{NAME}: {shown(url)} answered {exc.code} {exc.reason}"
                           + (f": {text}" if text else "")) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ActionFailed(f"{NAME}: could not reach {shown(url)}: {reason}") from None
    if not 200 <= status < 300:
        raise ActionFailed(f"{NAME}: {shown(url)} answered {status}; only 2xx counts as delivered")
    if done_key:
        context.session.effects.remember(done_key)
    return {"url": shown(url), "delivered": True, "status": status}


PARAMS = (ActionParam("url", "text", required=True), ActionParam("method", "choice", METHODS),
          ActionParam("headers", "pairs"), ActionParam("timeout", "number"), ActionParam("role", "text"))

SPEC = ActionSpec(run=run, check=check, description="POST the event and record as JSON to a URL.",
                  params=PARAMS)
