"""Which text of a language map a reader of one language gets."""
from hypothesis import given
from hypothesis import strategies as st

from metadata.language import is_language_tag, text_in

LABEL = {"en": "Contact", "zh-CN": "联系人"}
TAGS = st.from_regex(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}", fullmatch=True)


def test_the_tag_then_the_language_then_a_region_of_it_then_english():
    assert text_in(LABEL, "zh-CN") == text_in(LABEL, "ZH-cn") == "联系人"
    assert text_in(LABEL, "zh") == text_in(LABEL, "zh-TW") == "联系人"
    assert text_in({"en": "Contact", "zh": "联系人", "zh-TW": "聯絡人"}, "zh-TW") == "聯絡人"
    assert text_in({"en": "Contact", "zh": "联系人", "zh-TW": "聯絡人"}, "zh-HK") == "联系人"
    assert text_in(LABEL, "fr") == "Contact"
    assert text_in({"de": "Kontakt", "fr": "Contact"}, "ja") == "Kontakt"
    assert text_in(None, "en") is None


@given(st.dictionaries(TAGS, st.text(min_size=1), min_size=1), TAGS)
def test_every_language_gets_one_of_the_map_s_texts_and_its_own_when_there(texts, language):
    assert is_language_tag(language)
    found = text_in(texts, language)
    assert found in texts.values()
    if language in texts and not any(t.lower() == language.lower() and t != language for t in texts):
        assert found == texts[language]


def test_language_tags():
    assert all(map(is_language_tag, ["en", "zh-CN", "zh-Hans-CN", "yue"]))
    assert not any(map(is_language_tag, ["", "Chinese", "zh_CN", "EN", "zh-", "x" * 40, None, 12]))
