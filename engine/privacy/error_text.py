"""Error texts kept free of personal values (issue 12): the one filter every error text
passes through before it is stored or logged where more people read it than the personal
data is meant for — an action's failure (the outbox's `last_error`, the rule trace), a
background job's `error`, an import run's, the tick's per-tenant summary and the server log.

An action should not quote values, but an SMTP server, a webhook receiver, a plugin or a
validation message may echo them. So `safe_text`:

- replaces the given personal values (`personal_values`: a record's PII fields) by
  `[redacted]`, in any case and any spacing between their words (a `+` or a `-` too, as a
  form encodes a space and "Anne-Marie" is also written "Anne Marie"), a phone number's
  digits in any spacing too; a value that starts or ends with a letter or digit is found
  as whole words only ("Li" leaves "delivery" alone), a Chinese one anywhere (Chinese puts
  no space between words); text and values are compared in Unicode's composed form (NFC);
- finds them also where the text echoes them escaped: JSON's `\\uXXXX` (and `\\"`,
  `\\\\`, `\\/`; `\\n` and the other control escapes read as a space), URL percent
  encoding (`%E5%BC%A0`, UTF-8) and HTML character references (`&#39;`, `&#24352;`),
  decoded up to `MAX_DECODES` times (an escaped body quoted in an escaped body). Decoding
  is only for searching: a text in which no value is found decoded keeps its escapes as
  they were (a Windows path's `\\new` stays); one in which a value is found only decoded
  is given decoded, that value replaced;
- replaces any e-mail address left by `[e-mail]` and any run of 7 or more digits (spaces,
  dots, dashes, plus signs and brackets between them allowed: phone, card and ID numbers)
  by `[number]`, whoever's it is (a related record's, a payload's), but leaves ISO dates,
  times and UUIDs as they are (a date that is a record's personal value is still removed
  as one of the given values);
- drops control characters and cuts the text to `MAX_CHARS`.

Searching thousands of values stays cheap: a value's pattern runs only when its first
word (or its digits) is in the text at all, and the candidates run as one alternation.

What stays is the error's kind and its wording: enough to act on it. `safe_trace` gives an
exception's traceback for the log the same way: its frames (code, never data) and each
exception of its chain as `describe` gives it."""
from __future__ import annotations

import html
import re
import traceback
import unicodedata

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
_HEX = "[0-9a-fA-F]"
_KEPT = re.compile(  # an ISO date (and time, zone), a time, a UUID: not a personal number
    r"(?<!\d)\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?!\d)"
    r"|(?<!\d)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?(?!\d)"
    rf"|(?<!{_HEX}){_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?!{_HEX})")
_WORD_GAP = r"[\s+\-]+"  # what may stand between a value's words
_EDGE = "(?<![^\\W_])", "(?![^\\W_])"  # no letter or digit right before, right after


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
    finder = _Finder(values)
    text = finder.redact(_CONTROL.sub(" ", str(text)))
    for _ in range(MAX_DECODES):
        if not any(finder.found(level) for level in _decodings(text)):
            break
        text = finder.redact(_decode(text))
    text = _EMAIL.sub(EMAIL, text)
    text = _numbers_out(text)
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


class _Finder:
    """The given values and what finds them in a text: per value, its first word
    (casefolded) or its digits as a cheap pre-check; its patterns are built only for the
    values that pass it."""

    def __init__(self, values):
        self.values = []
        for value in sorted({_nfc(str(v)) for v in values}, key=len, reverse=True):
            words = [w for w in re.split(r"[\s\-]+", value) if w] or value.split()
            if words:
                digits = re.sub(r"\D", "", value)
                number = digits if len(digits) >= 5 and len(digits) >= len(value) // 2 else None
                self.values.append((words[0].casefold(), number, words))

    def _combined(self, text: str):
        folded, digits = text.casefold(), re.sub(r"\D", "", text)
        patterns = [p for first, number, words in self.values
                    if first in folded or (number and number in digits) for p in _patterns(words, number)]
        return re.compile("|".join(patterns), re.IGNORECASE) if patterns else None

    def found(self, text: str) -> bool:
        pattern = self._combined(text)
        return pattern is not None and pattern.search(text) is not None

    def redact(self, text: str) -> str:
        """`text` with every value found replaced (searched in its composed form; a text
        with none is given back as it was)."""
        composed = _nfc(text)
        pattern = self._combined(composed)
        if pattern is None or not pattern.search(composed):
            return text
        return pattern.sub(REDACTED, composed)


def _patterns(words: list[str], number: str | None) -> list[str]:
    """What finds a value (its `words`) in a text: its words in any case and spacing,
    whole words where they start or end with a letter or digit; a number's digits in any
    spacing, not inside a longer run of digits (one of 7 or more goes as a number anyway)."""
    before = _EDGE[0] if _latin(words[0][0]) else ""
    after = _EDGE[1] if _latin(words[-1][-1]) else ""
    found = [before + _WORD_GAP.join(re.escape(w) for w in words) + after]
    if number:
        found.append(r"(?<!\d)" + (_SEPARATORS + "{0,2}").join(number) + r"(?!\d)")
    return found


def _latin(char: str) -> bool:
    return char.isdigit() or (char.isalpha() and unicodedata.name(char, "").startswith("LATIN"))


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _numbers_out(text: str) -> str:
    """Long numbers replaced, ISO dates, times and UUIDs left as they are."""
    parts, start = [], 0
    for kept in _KEPT.finditer(text):
        parts += [_DIGITS.sub(NUMBER, text[start:kept.start()]), kept.group()]
        start = kept.end()
    return "".join(parts + [_DIGITS.sub(NUMBER, text[start:])])


def _decodings(text: str) -> list[str]:
    """`text` decoded once, twice, … up to `MAX_DECODES` times (while decoding changes it)."""
    levels = []
    for _ in range(MAX_DECODES):
        decoded = _decode(text)
        if decoded == text:
            break
        levels.append(text := decoded)
    return levels


def _decode(text: str) -> str:
    """`text` with its JSON escapes, percent-encoded UTF-8 (bytes that are no UTF-8 stay
    encoded) and HTML character references decoded, the control characters they give made
    spaces, in its composed form."""
    text = _JSON_ESCAPE.sub(_unescape, text)
    text = _PERCENT.sub(_unpercent, text)
    text = _flat(html.unescape(text)) if "&" in text else text
    return _nfc(_CONTROL.sub(" ", text))


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
