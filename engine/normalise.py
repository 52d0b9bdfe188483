"""The keys Loom matches and looks records up on: one normalised form for values people
write many ways. A phone number's key is its E.164 form ("+86 138 0013 8001",
"138-0013-8001" and "0086 13800138001" are all "+8613800138001"); an e-mail's is its
case-folded form; a name's has no spaces and full-width letters folded ("张 伟" and
"张伟" are one key); an identity number's has no spaces or hyphens and is upper case.

Every function takes what a user typed and returns its key, or None when there is nothing
to match on (empty, or not a phone number at all)."""
from __future__ import annotations

import re
import unicodedata

import phonenumbers

DEFAULT_REGION = "CN"
_SPACES = re.compile(r"\s+")
_ID_SEPARATORS = re.compile(r"[\s\-_./]+")


def _text(value) -> str:
    """`value` as text with full-width forms folded (NFKC) and outer spaces removed."""
    return unicodedata.normalize("NFKC", str(value)).strip()


def phone_key(value, region: str | None = DEFAULT_REGION) -> str | None:
    """The E.164 form of a phone number written any way; a number without a country code
    is read as one of `region` (an ISO 3166 code such as "CN"). None when `value` is not
    a possible phone number."""
    if value is None:
        return None
    text = _text(value)
    if not text or sum(ch.isdigit() for ch in text) < 3:
        return None
    try:
        number = phonenumbers.parse(text, (region or DEFAULT_REGION).upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_valid(value, region: str | None = DEFAULT_REGION) -> bool:
    """Whether `value` is a number in use in its country's numbering plan (stricter than
    `phone_key`, which keys any number of a possible length: a field's `strict` asks this)."""
    key = phone_key(value, region)
    return key is not None and phonenumbers.is_valid_number(phonenumbers.parse(key))


def email_key(value) -> str | None:
    """An e-mail address case-folded: "Wang.Wei@Example.COM " is "wang.wei@example.com"."""
    if value is None:
        return None
    text = _text(value).casefold()
    return text or None


def name_key(value) -> str | None:
    """A person's or company's name without any spaces, full-width forms folded and
    case-folded: "张 伟", "张　伟" and "张伟" are one key; so are "Acme  Ltd" and "ACME LTD"
    without the spaces ("acmeltd")."""
    if value is None:
        return None
    text = _SPACES.sub("", _text(value)).casefold()
    return text or None


def id_key(value) -> str | None:
    """An identity, registration or vehicle number without spaces, hyphens, dots or
    slashes, in upper case: "1101 0519 9001 0112 3x" is "11010519900101123X"."""
    if value is None:
        return None
    text = _ID_SEPARATORS.sub("", _text(value)).upper()
    return text or None


KEYS = {"phone": phone_key, "email": email_key, "name": name_key, "id": id_key}


def key_of(kind: str, value, region: str | None = DEFAULT_REGION) -> str | None:
    """The key of `value` of one kind ("phone", "email", "name" or "id")."""
    if kind == "phone":
        return phone_key(value, region)
    return KEYS[kind](value)
