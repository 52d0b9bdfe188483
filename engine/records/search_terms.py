"""The words of the search index: how a field's value and a typed query become terms.

A value is normalised (Unicode NFKC, case-folded, runs of white space made one space) and
indexed as the text that follows each place a word may start — the start of every word
and every CJK character — cut to TERM_LENGTH characters. A query matches a record when
one of its terms begins with the normalised query, so one index range scan finds a name
by its first letters ("王" finds "王伟"), any later word ("wang" finds "Li Wang") or any
CJK character inside it ("伟" finds "王伟"). Letters inside a Latin word are not a start:
"ang" does not find "Wang".

Phone numbers are indexed as their digits, once with the country code and once without
it, so "138 0013 8000", "+86-138-0013-8000" and "8613800138000" all find each other.

Each term says where it starts: at the beginning of the value or inside it. The search
ranks a value equal to the query first, then values starting with it, then the rest."""
from __future__ import annotations

import re
import unicodedata

TERM_LENGTH = 64
MIN_PHONE_DIGITS = 3
_SPACES = re.compile(r"[\s\x00-\x1f\x7f]+")  # control characters count as spaces (no NUL in a term)
_WORD_START = re.compile(r"(?<![^\W_])[^\W_]")  # a letter or digit after a non-word character
_CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f]")
_PHONE_TEXT = re.compile(r"^[\d\s+\-().]+$")
_DIGITS = re.compile(r"\D")
COUNTRY_CODES = ("86", "852", "853", "886", "1", "44", "49", "33", "81", "82", "65", "61")


def normalise(text: str) -> str:
    """The form every value and query is compared in."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", str(text)).casefold()).strip()


def text_terms(value) -> set[tuple[str, bool]]:
    """`{(term, at_start)}` of a text value."""
    text = normalise(value)
    if not text:
        return set()
    starts = {m.start() for m in _WORD_START.finditer(text)} | {m.start() for m in _CJK.finditer(text)} | {0}
    return {(text[start:start + TERM_LENGTH].rstrip(), start == 0) for start in starts} - {("", False)}


def phone_terms(value) -> set[tuple[str, bool]]:
    """`{(term, at_start)}` of a phone number: its digits, and its national number."""
    return {(number, True) for number in phone_numbers(str(value))}


def phone_numbers(text: str) -> set[str]:
    """The digits of `text`, and those after a leading country code (`+86 …`, `0086 …`) or
    a trunk `0`: the forms a person may type the same number in."""
    digits = _DIGITS.sub("", unicodedata.normalize("NFKC", text))
    if not digits:
        return set()
    found = {digits}
    international = text.lstrip().startswith("+") or digits.startswith("00")
    if digits.startswith("00"):
        digits = digits[2:]
        found.add(digits)
    if international:
        found |= {digits[len(code):] for code in COUNTRY_CODES if digits.startswith(code)}
    elif digits.startswith("0"):
        found.add(digits[1:])
    return {number[:TERM_LENGTH] for number in found if number}


def query_forms(query: str) -> list[str]:
    """The forms a typed query is looked up in: its normalised text and, when it reads
    as a phone number, its digits (with and without a country code)."""
    text = normalise(query)[:TERM_LENGTH]
    forms = [text] if text else []
    if _PHONE_TEXT.match(text or "-") and sum(c.isdigit() for c in text) >= MIN_PHONE_DIGITS:
        forms += sorted(phone_numbers(query) - {text})
    return forms


def terms_of(base_type: str, value) -> set[tuple[str, bool]]:
    """`{(term, at_start)}` of a field's value (nothing for an empty one)."""
    if value in (None, ""):
        return set()
    return phone_terms(value) if base_type == "phone" else text_terms(value)


def upper_bound(prefix: str) -> str:
    """The smallest text greater than every text starting with `prefix` (in code point
    order: the index is compared byte-wise, which for UTF-8 is the same order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
