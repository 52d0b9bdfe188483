"""The masked forms of personal data (engine.records.pii), for any value: they never
raise, never give back the value they hide, and keep what the class says they keep."""
from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, strategies as st

from engine.records.pii import CLASSES, HIDDEN, class_of, mask, may_export_pii, may_unmask

KINDS = ("phone", "email", "string", "text", "date", "integer")
NAMES = ("name", "phone", "email", "address", "id_number", "contact_name")


def test_the_documented_forms():
    assert mask("contact", "phone", "phone", "+86 138 0000 8001") == "138****8001"
    assert mask("contact", "email", "email", "zhang@example.cn") == "z***@example.cn"
    assert mask("contact", "name", "string", "张三") == "张*"
    assert mask("contact", "name", "string", "Wang Wei") == "W***"
    assert mask("identity", "id_number", "string", "310101199001011234") == "**************1234"
    assert mask("contact", "address", "string", "88 Century Avenue") == HIDDEN
    assert mask("sensitive", "name", "string", "张三") == HIDDEN
    assert mask("contact", "birthday", "date", "1990-01-01") == HIDDEN
    assert mask("contact", "phone", "phone", None) is None and mask("contact", "phone", "phone", "") == ""


@given(st.sampled_from(CLASSES), st.sampled_from(NAMES), st.sampled_from(KINDS),
       st.text(min_size=6, max_size=40) | st.integers() | st.lists(st.text(), max_size=3))
def test_a_masked_value_never_is_the_value(cls, name, kind, value):
    masked = mask(cls, name, kind, value)
    assert isinstance(masked, str) or masked == []
    if value != []:
        assert masked != value or value == HIDDEN


@given(st.from_regex(r"\+86 1[3-9][0-9] [0-9]{4} [0-9]{4}", fullmatch=True))
def test_a_mobile_number_keeps_its_first_three_and_last_four_digits(phone):
    digits = phone.replace(" ", "")[3:]
    assert mask("contact", "phone", "phone", phone) == digits[:3] + "****" + digits[-4:]


def test_the_class_of_a_field_and_who_may_see_it():
    assert class_of(SimpleNamespace(pii=True)) == "contact"
    assert class_of(SimpleNamespace(pii="identity")) == "identity"
    assert class_of(SimpleNamespace(pii=False)) is None and class_of({"pii": "nonsense"}) is None
    admin, member = SimpleNamespace(is_admin=True), SimpleNamespace(is_admin=False)
    assert may_unmask(None, "contact") and may_unmask(admin, "sensitive") and not may_unmask(member, "contact")
    granted = SimpleNamespace(is_admin=False, may_unmask=lambda cls: cls == "contact",
                              may_export_pii=lambda cls: False)
    assert may_unmask(granted, "contact") and not may_unmask(granted, "identity")
    assert not may_export_pii(granted, "contact") and may_export_pii(admin, "contact")
