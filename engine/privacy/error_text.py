"""Error texts kept free of personal values (issue 12): the one filter every error text
passes through before it is stored or logged where more people read it than the personal
data is meant for — an action's failure (the outbox's `last_error`, the rule trace), a
background job's `error`, an import run's, the tick's per-tenant summary and the server log.

An action should not quote values, but an SMTP server, a webhook receiver, a plugin or a
validation message may echo them. So `safe_text`:

- replaces the given personal values (`personal_values`: a record's PII fields) by
  `[redacted]`, in any case and any spacing between their words (a `+` too, as a form
  encodes a space), a phone number's digits in any spacing too;
- finds them also where the text echoes them escaped: JSON's `\\uXXXX` (and `\\"`,
  `\\\\`, `\\/`; `\\n` and the other control escapes read as a space) and URL percent
  encoding (`%E5%BC%A0`, UTF-8), decoded up to `MAX_DECODES` times (an escaped body quoted
  in an escaped body); the text keeps those escapes decoded, which only makes it easier to
  read;
- replaces any e-mail address left by `[e-mail]` and any run of 7 or more digits (spaces,
  dots, dashes, plus signs and brackets between them allowed: phone, card and ID numbers)
  by `[number]`, whoever's it is (a related record's, a payload's);
- drops control characters and cuts the text to `MAX_CHARS`.

What stays is the error's kind and its wording: enough to act on it. `safe_trace` gives an
exception's traceback for the log the same way: its frames (code, never data) and each
exception of its chain as `describe` gives it."""
from __future__ import annotations

import re
import traceback

from sqlalchemy.exc import StatementError

from engine.records.pii import pii_fields

REDACTED, EMAIL, NUMBER = "[redacted]", "[e-mail]", "[number]"
MAX_CHARS = 2000
MAX_DECODES = 3
MIN_VALUE = 2  # shorter values (one letter) are not searched for: they would blank the text
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_SEPARATORS = r"[\s.\-()+]"  # what may stand between a number's digits
_DIGITS = re.compile(r"\+?\d(?:" + _SEPARATORS + r"{0,2}\d){6,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_JSON_ESCAPE = re.compile(r"\\\\|(?:\\u[0-9a-fA-F]{4})+|\\[\"/bfnrt]")
_JSON_SIMPLE = {"\\\\": "\\", '\\"': '"', "\\/": "/"}  # \b \f \n \r \t: a space
_PERCENT = re.compile(r"(?:%[0-9a-fA-F]{2})+")
_UNDECODED = re.compile(r"[\udc80-\udcff]")


def personal_values(entity, *records) -> set[str]:
    """The texts of `entity`'s PII values in `records` (dicts; a change's [before, after]
    pairs may be given as records too)."""
    names = pii_fields(entity) if entity is not None else {}
    found = set()
    for record in records:
        for name in names:
            value = (record or {}).get(name)
            for one in value if isinstance(value, (list, tuple)) else [value]:
                if one is None or isinstance(one, bool):
                    continue
                text = str(one.get("amount", "")) if isinstance(one, dict) else str(one)
                if len(text.strip()) >= MIN_VALUE:
                    found.add(text.strip())
    return found


def carried_values(entity, event: dict) -> set[str]:
    """The personal values an event (its JSON form) carries: its record's and both sides
    of its changes'."""
    changes = event.get("changes") or {}
    sides = [{k: v[i] for k, v in changes.items() if isinstance(v, (list, tuple)) and len(v) == 2} for i in (0, 1)]
    return personal_values(entity, event.get("record") or {}, *sides)


def safe_text(text: str, values=()) -> str:
    """`text` without the given personal `values` (plain or echoed escaped), e-mail
    addresses or long numbers."""
    patterns = [p for value in sorted(set(values), key=len, reverse=True) for p in _patterns(value)]
    text = _redact(_CONTROL.sub(" ", str(text)), patterns)
    for _ in range(MAX_DECODES):
        decoded = _decode(text)
        if decoded == text:
            break
        text = _redact(decoded, patterns)
    text = _EMAIL.sub(EMAIL, text)
    text = _DIGITS.sub(NUMBER, text)
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 1] + "…"


def describe(exc: BaseException, values=()) -> str:
    """`exc` as a safe one-line text: its kind and its message, without personal values. A
    database error gives its driver's first line only (without the statement, its
    parameters or the driver's detail lines, which quote the row's values)."""
    if isinstance(exc, StatementError) and getattr(exc, "orig", None) is not None:
        message = (str(exc.orig).strip().splitlines() or [""])[0]
    else:
        message = getattr(exc, "message", None) or str(exc)
    return safe_text(f"{type(exc).__name__}: {message}".strip(), values)


def safe_trace(exc: BaseException, values=()) -> str:
    """`exc`'s traceback for the log: where it happened (the frames: file, line and code)
    and each exception of its chain as `describe` gives it, never their own text."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
        parts.append(f"Traceback (most recent call last):\n{frames}{describe(exc, values)}")
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return "\n\nwhich led to:\n\n".join(reversed(parts))


def _patterns(value: str) -> list:
    """What finds `value` in a text: its words in any case and spacing, and a number's
    digits in any spacing."""
    words = [re.escape(w) for w in re.split(r"\s+", str(value)) if w]
    if not words:
        return []
    found = [re.compile(r"[\s+]+".join(words), re.IGNORECASE)]
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 5 and len(digits) >= len(value) // 2:
        found.append(re.compile((_SEPARATORS + "{0,2}").join(digits)))
    return found


def _redact(text: str, patterns) -> str:
    for pattern in patterns:
        text = pattern.sub(REDACTED, text)
    return text


def _decode(text: str) -> str:
    """`text` with its JSON escapes and percent-encoded UTF-8 decoded (bytes that are no
    UTF-8 stay encoded), the control characters they give made spaces."""
    text = _JSON_ESCAPE.sub(_unescape, text)
    text = _PERCENT.sub(_unpercent, text)
    return _CONTROL.sub(" ", text)


def _unescape(match) -> str:
    escape = match.group()
    if escape.startswith("\\u"):
        units = bytes.fromhex(escape.replace("\\u", ""))
        return _flat(units.decode("utf-16-be", "replace"))
    return _JSON_SIMPLE.get(escape, " ")


def _unpercent(match) -> str:
    text = bytes.fromhex(match.group().replace("%", "")).decode("utf-8", "surrogateescape")
    return _flat(_UNDECODED.sub(lambda byte: f"%{ord(byte.group()) - 0xdc00:02X}", text))


def _flat(decoded: str) -> str:
    """A decoded piece on the text's line: its line breaks and tabs made spaces."""
    return decoded.replace("\n", " ").replace("\t", " ")
