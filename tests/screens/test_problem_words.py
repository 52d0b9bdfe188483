"""The screens word every problem the engine can raise in Chinese and English, by its code
and details alone (`admin_ui.problems`): no code of `engine.problem_codes` is left without
words, a guard's explanation reads as a sentence with the field's label and the operator in
words, and a code the screens do not know keeps the engine's English message."""
from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from flask import Flask
from flask_babel import Babel

from admin_ui import i18n, problems
from engine.errors import Forbidden, ValidationFailed
from engine.problem_codes import CODES
from metadata.conditions import OPS

HAN = re.compile(r"[\u4e00-\u9fff]")


@contextmanager
def in_language(language):
    """A request of a visitor who chose `language`, with the screens' catalogues."""
    app = Flask(__name__)
    Babel(app, locale_selector=i18n.babel_locale)
    with app.test_request_context(headers={"Cookie": f"{i18n.COOKIE}={language}"}):
        i18n.CatalogueDomain().as_default()
        yield


def sample(code) -> dict:
    details = {name: 3 for name in CODES[code].details}
    return {**details, "op": "gte", "passed": False} if code == "guard_failed" else details


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_code_the_engine_raises_has_words_in_chinese_and_english(code):
    if code in problems.AS_GIVEN:  # a plugin's own words
        assert problems.translated(code, "must start with SKU") == "must start with SKU"
        return
    assert code in problems.TEXTS
    with in_language("zh-CN"):
        assert HAN.search(problems.translated(code, "ENGLISH", sample(code), {"label": "金额"}))
    with in_language("en"):
        assert problems.translated(code, "ENGLISH", sample(code), {"label": "Amount"}) != "ENGLISH"


def test_every_operator_of_the_condition_language_has_words_and_so_has_its_negation():
    assert set(OPS) <= set(problems.GUARD_WORDS)
    assert all(problems.NEGATED[op] in problems.GUARD_WORDS for op in OPS)


def test_a_guard_reads_as_a_sentence_with_the_fields_label_its_options_and_values():
    probability = {"name": "probability", "label": "赢单概率(%)"}
    stage = {"name": "stage", "label": "阶段", "choices": [{"value": "won", "label": "赢单"},
                                                          {"value": "lost", "label": "输单"}]}
    with in_language("zh-CN"):
        assert problems.guard_text({"op": "gte", "value": 50, "actual": 10, "passed": False}, probability) == \
            "赢单概率(%)必须大于或等于50（当前为10）。"
        assert problems.guard_text({"op": "in", "value": ["won", "lost"], "actual": None, "passed": False},
                                   stage) == "阶段必须是赢单、输单之一（当前为空）。"
        assert problems.guard_text({"op": "eq", "value": "lost", "actual": "lost", "passed": True}, stage) == \
            "阶段不能为输单。"  # under a "not": true where it must not be
    with in_language("en"):
        assert problems.guard_text({"op": "gte", "value": 50, "actual": 10, "passed": False},
                                   {"label": "Probability (%)"}) == "Probability (%) must be at least 50 (it is 10)."


def test_an_unknown_code_or_details_of_another_shape_keep_the_engines_english_message():
    with in_language("zh-CN"):
        assert problems.translated("a_code_from_tomorrow", "is odd") == "is odd"
        assert problems.translated("too_long", "must be at most 8 characters", {}) == "must be at most 8 characters"
        assert problems.translated("too_long", "must be at most 8 characters", {"max": 8, "length": 9}) == \
            "最多 8 个字符。"


def test_a_plugins_refusal_without_a_code_of_its_own_keeps_its_words_and_only_a_whole_error_is_summed_up():
    refused = ValidationFailed("invalid car record", details=[{"field": "brands", "message": "no brand with id 9"}])
    with in_language("zh-CN"):
        assert problems.texts(refused) == ["no brand with id 9"]
        assert problems.texts(ValidationFailed("invalid car record")) == ["部分值无效。"]


def test_an_errors_own_code_is_not_read_as_a_problems():
    shared_to_read = Forbidden("account 7 is shared with you to read, not to change", code="read_only")
    with in_language("en"):
        assert problems.texts(shared_to_read) == ["This record is shared with you to read, not to change."]
        assert problems.headline("transition_blocked", "'win' is not possible now") == "'win' is not possible now"
