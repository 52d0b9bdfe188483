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
from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "CN"
_SPACES = re.compile(r"\s+")
_ID_SEPARATORS = re.compile(r"[\s\-_./]+")
_SEPARATORS = re.compile(r"[\s\-.]+")
# A Chinese mobile number (11 digits from 13x to 19x), with or without +86 / 0086 before it.
_CN_MOBILE = re.compile(r"(\+86|0086)?(1[3-9]\d{9})")


def _text(value) -> str:
    """`value` as text with full-width forms folded (NFKC) and outer spaces removed."""
    return unicodedata.normalize("NFKC", str(value)).strip()


def phone_key(value, region: str | None = DEFAULT_REGION) -> str | None:
    """The E.164 form of a phone number written any way; a number without a country code
    is read as one of `region` (an ISO 3166 code such as "CN"). None when `value` is not
    a possible phone number."""
    return None if value is None else phone_key_in(value, (region or DEFAULT_REGION).upper())


def phone_key_in(value, region: str) -> str | None:
    """`phone_key(value, region)` of a value that is not None, `region` upper case already."""
    return _phone_key(value if value.__class__ is str else str(value), region)


@lru_cache(maxsize=65536)  # a batch, a backfill and a rekeying meet the same numbers again
def _phone_key(value: str, region: str) -> str | None:
    text = _text(value)
    bare = text.replace(" ", "")
    digits = bare[1:] if bare[:1] == "+" else bare
    if not (digits.isascii() and digits.isdigit()):  # other separators, or not only digits
        bare = _SEPARATORS.sub("", text)
    # The fast paths need 7 digits at least: a number they key has the 3 the parser needs.
    # (a number written with another country code is no Chinese mobile number: not matched)
    mobile = _CN_MOBILE.fullmatch(bare) if bare[:1] != "+" or bare[:3] == "+86" else None
    if mobile and (mobile.group(1) == "+86" or region == "CN"):  # the common case, without the parser
        return "+86" + mobile.group(2)
    international = _international(bare)
    if international is not _PARSE:
        return international
    if not text or sum(ch.isdigit() for ch in text) < 3:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_PARSE = object()  # "ask the parser"
_INTERNATIONAL = re.compile(r"\+([1-9]\d{6,16})")


def _international(bare: str):
    """The key of "+<country code><number>" (separators removed) without the parser, which
    costs several times more: the digits as written, when the number's length is possible
    and nothing in it is one the parser would rewrite (a leading 0, a national prefix);
    `_PARSE` otherwise (a property test holds the two to the same keys)."""
    match = _INTERNATIONAL.fullmatch(bare)
    if match is None:
        return _PARSE
    digits = match.group(1)
    country = _country(digits[:3])
    if country is None:
        return _PARSE
    size, code, prefix = country
    national = digits[size:]
    if not national or national[0] == "0" or (prefix and prefix.match(national)):
        return _PARSE
    return "+" + digits if _possible_length(code, len(national)) else None


@lru_cache(maxsize=None)
def _country(lead: str):
    """(its size, the country code, `_national_prefix`) of the country code that starts
    the digits `lead` (their first three), None when none does: country codes are a
    prefix code, so at most one of 1, 2 or 3 digits is one."""
    for size in (1, 2, 3):
        code = int(lead[:size])
        prefix = _national_prefix(code)
        if prefix is not None:
            return size, code, prefix
    return None


@lru_cache(maxsize=4096)
def _possible_length(code: int, length: int) -> bool:
    """Whether a national number of `length` digits (no leading 0) is possible after
    country code `code`: the parser's check reads only the length, so it is asked once
    per (code, length)."""
    number = phonenumbers.PhoneNumber(country_code=code, national_number=10 ** (length - 1))
    return phonenumbers.is_possible_number(number)


@lru_cache(maxsize=None)
def _national_prefix(code: int):
    """The pattern of the national prefix the parser strips after country code `code`
    ("" when it has none); None when `code` is no country code."""
    if code not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        code, phonenumbers.region_code_for_country_code(code))
    if metadata is None:
        return None
    pattern = metadata.national_prefix_for_parsing
    return re.compile(pattern) if pattern else ""


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
