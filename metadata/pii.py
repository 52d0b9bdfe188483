"""Personal-data classes of a field (its ``"pii"``), named after PIPL's 敏感个人信息 (art. 28)
and GDPR's special categories (art. 9):

- ``contact``: how to reach a person (name, phone, e-mail, address); ``"pii": true`` means it;
- ``identity``: identity documents and numbers (身份证号, passport, social security number);
- ``financial``: bank accounts, cards, income;
- ``sensitive``: health, religion, biometrics, sexual life, criminal records, a minor's data.

``identity`` and ``sensitive`` values are encrypted at rest; a field of those classes must be
of a type whose value fits one encrypted column and is compared only for equality."""
from __future__ import annotations

PII_CLASSES = ("contact", "identity", "financial", "sensitive")
ENCRYPTED_CLASSES = frozenset(("identity", "sensitive"))
ENCRYPTABLE_TYPES = frozenset(("string", "text", "email", "phone", "url", "choice", "integer", "decimal",
                               "date", "datetime"))


def pii_value(value):
    """``"pii"`` as the document gives it: false, true (contact) or a class name."""
    return value if isinstance(value, str) else bool(value)


def pii_class(value) -> str | None:
    """The class a ``"pii"`` value names; None when the field holds no personal data."""
    return "contact" if value is True else (value if isinstance(value, str) and value else None)
