"""The words of the search index: how a field's value and a typed query become terms.

A value is normalised (Unicode NFKC, case-folded, runs of white space made one space) and
indexed as the text that follows each place a word may start — the start of every word
and every CJK character — cut to TERM_LENGTH characters. A query matches a record when
one of its terms begins with the normalised query, so one index range scan finds a name
by its first letters ("王" finds "王伟"), any later word ("wang" finds "Li Wang") or any
CJK character inside it ("伟" finds "王伟"). Letters inside a Latin word are not a start:
"ang" does not find "Wang".

An e-mail address is indexed as the whole address and the words of the part before the
"@" ("wei" finds "wang.wei@example.cn"), not the words of its domain, which nearly every
address of one company shares.

Phone numbers are indexed as their national number (the digits after a country code or
a trunk "0"), and a number written with its country code also as all its digits, so
"138 0013 8000", "+86-138-0013-8000", "0086 138…" and "8613800138000" all find it.

The number's key (engine.normalise.phone_key, E.164 read as a Chinese number when it has
no country code) adds its digits and its national number as phonenumbers reads them, so a
country outside COUNTRY_CODES or a trunk prefix other than "0" is found the same way.

Each term says where it starts: at the beginning of the value or inside it. The search
ranks a value equal to the query first, then values starting with it, then the rest."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

from engine.normalise import phone_key

TERM_LENGTH = 64
MIN_PHONE_DIGITS = 3
_SPACES = re.compile(r"[\s\x00-\x1f\x7f]+")  # control characters count as spaces (no NUL in a term)
_CJK_CHARS = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
# Where a term starts: a letter or digit after a non-word character, or any CJK character
# (each match is one character, so one left-to-right scan finds every start, in order).
_START = re.compile(f"(?<![^\\W_])[^\\W_]|[{_CJK_CHARS}]")
_PHONE_TEXT = re.compile(r"^[\d\s+\-().]+$")
_DIGITS = re.compile(r"\D")
COUNTRY_CODES = ("86", "852", "853", "886", "1", "44", "49", "33", "81", "82", "65", "61")
_CODES = frozenset(COUNTRY_CODES)
_CODE_SIZES = sorted({len(code) for code in COUNTRY_CODES})


def normalise(text: str) -> str:
    """The form every value and query is compared in."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", str(text)).casefold()).strip()


def text_terms(value) -> set[tuple[str, bool]]:
    """`{(term, at_start)}` of a text value."""
    text = normalise(value)
    if not text:
        return set()
    return _terms_at(text, len(text))


def _terms_at(text: str, end: int) -> set[tuple[str, bool]]:
    """The terms starting at the word starts of `text[:end]` (and at 0); a term that two
    starts give (a value repeating itself past TERM_LENGTH) is kept once, as the first."""
    terms = {text[:TERM_LENGTH].rstrip(): True}
    for match in _START.finditer(text, 1, end):
        start = match.start()
        terms.setdefault(text[start:start + TERM_LENGTH].rstrip(), False)
    terms.pop("", None)
    return set(terms.items())


def email_terms(value) -> set[tuple[str, bool]]:
    """`{(term, at_start)}` of an e-mail address: the address, and the words before its "@"."""
    text = normalise(value)
    return _terms_at(text, text.rfind("@") if "@" in text else len(text)) if text else set()


def phone_terms(value) -> set[tuple[str, bool]]:
    """`{(term, at_start)}` of a phone number: its digits, and its national number."""
    return {(number, True) for number in phone_numbers(str(value))}


def phone_numbers(text: str) -> set[str]:
    """The forms of a number to look it up by: its national number (the digits after a
    leading country code, `+86 …` or `0086 …`, or after a trunk `0`) and, written with a
    country code, its digits with the code (`86…`, as a person may type it without `+`)."""
    digits = _DIGITS.sub("", unicodedata.normalize("NFKC", text))
    if text.lstrip().startswith("+") or digits.startswith("00"):
        digits = digits[2:] if digits.startswith("00") else digits
        found = {digits} | {digits[size:] for size in _CODE_SIZES if digits[:size] in _CODES}
    else:
        found = {digits[1:] if digits.startswith("0") else digits}
    return {number[:TERM_LENGTH] for number in found | _key_forms(text) if number}


def _key_forms(text: str) -> set[str]:
    """The digits of the number's E.164 key and its national number (none when it has no key)."""
    key = phone_key(text)
    if key is None:
        return set()
    return {key[1:], str(phonenumbers.parse(key).national_number)}


def query_forms(query: str) -> list[str]:
    """The forms a typed query is looked up in: its normalised text and, when it reads
    as a phone number, its digits as typed and the forms of `phone_numbers` (a query
    looks a number up by more forms than the index stores it in: each is one range)."""
    text = normalise(query)[:TERM_LENGTH]
    forms = [text] if text else []
    if _PHONE_TEXT.match(text or "-") and sum(c.isdigit() for c in text) >= MIN_PHONE_DIGITS:
        digits = _DIGITS.sub("", unicodedata.normalize("NFKC", query))[:TERM_LENGTH]
        forms += sorted(({digits} | phone_numbers(query)) - {text})
    return forms


def terms_of(base_type: str, value) -> frozenset[tuple[str, bool]]:
    """`{(term, at_start)}` of a field's value (nothing for an empty one)."""
    if value is None or value == "":
        return frozenset()
    return _terms(base_type, str(value))


@lru_cache(maxsize=8192)  # names repeat (王伟, 张伟), and a batch's values are cut once per value
def _terms(base_type: str, value: str) -> frozenset[tuple[str, bool]]:
    if base_type == "phone":
        return frozenset(phone_terms(value))
    return frozenset(email_terms(value) if base_type == "email" else text_terms(value))


def upper_bound(prefix: str) -> str:
    """The smallest text greater than every text starting with `prefix` (in code point
    order: the index is compared byte-wise, which for UTF-8 is the same order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
