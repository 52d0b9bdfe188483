"""Personal data on read: a field's PII class, who may see it in clear, and its masked form.

Classes (PIPL's 敏感个人信息 and GDPR's special categories): `contact` (names, phone
numbers, e-mail and postal addresses; the old `pii: true`), `identity` (ID, passport and
licence numbers), `financial` (bank cards, accounts, incomes) and `sensitive` (health,
religion, biometrics, a minor's data...). A user without the unmask right of a field's
class reads it masked, in every read of the record service:

- a phone number keeps the first 3 and last 4 digits of its national number (without the
  country code): `+86 138 0000 8001` → `138****8001`, `+86 21 5555 0019` → `215***0019`;
- an e-mail keeps the first letter of its local part and the domain: `z***@example.cn`;
- a name keeps its first character: `张三` → `张*`, `Wang Wei` → `W***`;
- `identity` and `financial` text keeps its last 4 characters: `**************1234`;
- anything else, and every `sensitive` value, is `***`.

An empty value stays empty (its absence is no secret)."""
from __future__ import annotations

import re

CLASSES = ("contact", "identity", "financial", "sensitive")
HIDDEN = "***"
NAME_FIELDS = ("name", "full_name", "display_name", "first_name", "last_name", "contact_name")


def class_of(field) -> str | None:
    """The PII class of a compiled field (or a field's JSON): `pii` is one of `CLASSES`,
    or `true` (meaning `contact`); None when the field holds no personal data."""
    value = field.get("pii") if isinstance(field, dict) else getattr(field, "pii_class", None) or getattr(
        field, "pii", None)
    if value is True:
        return "contact"
    return value if isinstance(value, str) and value in CLASSES else None


def may_unmask(actor, pii_class: str) -> bool:
    """Whether `actor` reads fields of `pii_class` in clear: Loom itself (no actor) and
    admins do; a member does when its roles give the right (`actor.may_unmask`)."""
    if actor is None:
        return True
    granted = getattr(actor, "may_unmask", None)
    return bool(granted(pii_class)) if callable(granted) else bool(actor.is_admin)


def may_export_pii(actor, pii_class: str) -> bool:
    """Whether `actor` may export fields of `pii_class` in clear (an export masks them
    without it): as `may_unmask`, through `actor.may_export_pii` when roles give it."""
    if actor is None:
        return True
    granted = getattr(actor, "may_export_pii", None)
    return bool(granted(pii_class)) if callable(granted) else bool(actor.is_admin)


def pii_fields(entity) -> dict:
    """`{field name: class}` of an entity's fields holding personal data."""
    fields = entity["fields"] if isinstance(entity, dict) else entity.fields
    found = {}
    for field in fields:
        cls = class_of(field)
        if cls is not None:
            found[field["name"] if isinstance(field, dict) else field.name] = cls
    return found


def mask(pii_class: str, name: str, kind: str, value):
    """`value` of the field `name` (of type `kind`) as a user without the unmask right reads it."""
    if value is None or value == "" or value == []:
        return value
    if pii_class == "sensitive" or not isinstance(value, str):
        return HIDDEN
    if pii_class in ("identity", "financial"):
        return "*" * max(len(value) - 4, 4) + value[-4:] if len(value) > 4 else HIDDEN
    if kind == "phone":
        return _phone(value)
    if kind == "email" or (kind == "string" and "@" in value and name.endswith("email")):
        return _email(value)
    if name in NAME_FIELDS or name.endswith("_name"):
        return _name(value)
    return HIDDEN


def _phone(value: str) -> str:
    """The national number's first 3 and last 4 digits (a country code, `+86 …`, left out)."""
    digits = "".join(c for c in value if c.isdigit())
    text = value.strip()
    if text.startswith("+"):
        code = re.match(r"\+\s*(\d{1,3})[\s\-().]", text)
        if code:
            digits = digits[len(code.group(1)):]
        elif digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
    if len(digits) < 8:
        return HIDDEN
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def _email(value: str) -> str:
    local, at, domain = value.partition("@")
    return (local[:1] + "***@" + domain) if at and local else HIDDEN


def _name(value: str) -> str:
    text = value.strip()
    if not text:
        return HIDDEN
    first = text[0]
    return first + ("*" * (len(text) - 1) if ord(first) > 0x2E7F else "***")


class Masking:
    """The masking of one actor's reads: which fields of an entity it reads masked (asked
    once per entity) and records, audit changes and values with those fields masked."""

    def __init__(self, actor, system: bool = False):
        self.actor = None if system else actor
        self._hidden: dict = {}

    def holds_pii(self, entity) -> bool:
        return bool(self._of(entity)[0])

    def hidden(self, entity) -> dict:
        """`{field name: (class, type)}` of the fields of `entity` the actor reads masked."""
        return self._of(entity)[1]

    def unqueried(self, entity) -> tuple[frozenset, frozenset]:
        """(the fields of `entity` a query compares only exactly, those `q` does not search):
        every field read masked; of those, the identifiers (phones, e-mails) and all but
        contact data, whose parts would give the values away — a masked name is still
        found by `q`, as an agent finds a policyholder by name."""
        hidden = self.hidden(entity)
        return frozenset(hidden), frozenset(name for name, (cls, kind) in hidden.items()
                                            if kind in ("phone", "email") or cls != "contact")

    def _of(self, entity) -> tuple:
        """(every PII field, those read masked, those exported masked) of `entity`, each
        `{field name: (class, type)}`, worked out once per entity."""
        found = self._hidden.get(entity.name)
        if found is None:
            kinds = {f.name: f.base_type or f.type for f in entity.fields}
            every = {name: (cls, kinds[name]) for name, cls in pii_fields(entity).items()}
            found = self._hidden[entity.name] = (
                every, {k: v for k, v in every.items() if not may_unmask(self.actor, v[0])},
                {k: v for k, v in every.items()
                 if not (may_unmask(self.actor, v[0]) and may_export_pii(self.actor, v[0]))})
        return found

    def exported(self, entity, record: dict) -> dict:
        """A record as an export gives it: fields of a class the actor may not export (or
        not read in clear) masked."""
        return _masked(self._of(entity)[2], record)

    def exported_all(self, entity, records):
        """`exported` of each of `records` (an iterator), lazily; nothing done per record
        when the actor exports every field of `entity` in clear."""
        hidden = self._of(entity)[2]
        return (_masked(hidden, record) for record in records) if hidden else records

    def record(self, entity, record: dict) -> dict:
        return _masked(self.hidden(entity), record)

    def records(self, entity, records: list) -> list:
        """`record` of each of `records` (a page): asked once, nothing done per record when
        the actor reads every field of `entity` in clear."""
        hidden = self.hidden(entity)
        return [_masked(hidden, record) for record in records] if hidden else records

    def changes(self, entity, changes: dict) -> dict:
        """An audit row's changes (`field: [old, new]`) with masked fields masked."""
        hidden = self.hidden(entity)
        if not hidden or not isinstance(changes, dict):
            return changes
        return {key: [mask(hidden[key][0], key, hidden[key][1], v) for v in value]
                if key in hidden and isinstance(value, list) else value for key, value in changes.items()}


def _masked(hidden: dict, record: dict) -> dict:
    if not hidden or record is None:
        return record
    return {key: mask(hidden[key][0], key, hidden[key][1], value) if key in hidden else value
            for key, value in record.items()}
