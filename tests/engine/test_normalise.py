"""The normalised keys records are matched and looked up on."""
import string

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from engine.normalise import _possible_length, email_key, id_key, key_of, name_key, phone_key


@pytest.mark.parametrize("written", [
    "+86 138 0013 8001", "13800138001", "138-0013-8001", "0086 13800138001",
    "+86-138-0013-8001", "(+86) 138 0013 8001", "＋８６　１３８００１３８００１",
])
def test_every_written_form_of_a_chinese_mobile_has_one_key(written):
    assert phone_key(written) == "+8613800138001"


def test_a_number_without_country_code_is_read_in_the_given_region():
    assert phone_key("(650) 253-0000", "US") == "+16502530000"
    assert phone_key("010 6552 9988") == "+861065529988"


@pytest.mark.parametrize("junk", [None, "", "   ", "12", "not a number", "+86 1"])
def test_what_is_not_a_phone_number_has_no_key(junk):
    assert phone_key(junk) is None


def test_emails_names_and_ids_fold_case_space_and_width():
    assert email_key(" Wang.Wei@Example.COM ") == "wang.wei@example.com"
    assert name_key("张 伟") == name_key("张伟") == name_key("张　伟") == "张伟"
    assert name_key("ＡＣＭＥ  Ltd") == "acmeltd"
    assert id_key("1101 0519-9001 0112 3x") == "11010519900101123X"
    assert key_of("phone", "6502530000", "us") == "+16502530000"
    assert [f(None) for f in (email_key, name_key, id_key)] == [None, None, None]


@given(st.text(alphabet=string.digits, min_size=8, max_size=8),
       st.sampled_from(["{}", "{} ", " {}", "+86 {}", "0086{}", "+86-{}"]))
def test_a_mobile_written_with_any_prefix_or_spacing_keeps_its_key(tail, template):
    number = "139" + tail
    spaced = f"{number[:3]} {number[3:7]} {number[7:]}"
    assert phone_key(template.format(spaced)) == phone_key(number) == "+86" + number


@given(st.text(min_size=1, max_size=12))
def test_name_keys_ignore_inner_spaces(name):
    assert name_key(" ".join(name)) == name_key(name)


@given(code=st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
       national=st.from_regex(r"[1-9][0-9]{0,16}", fullmatch=True))
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_possible_length_is_what_the_parser_says_of_every_number_of_that_length(code, national):
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    assert _possible_length(code, len(national)) == phonenumbers.is_possible_number(number)
