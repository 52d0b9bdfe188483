"""The one pattern dialect of Loom (field `pattern`, condition and rule `matches`): it reads
patterns as Python's `re` does with re.ASCII, in time linear in the text, and metadata
using what it cannot do is refused with the path."""
import faulthandler
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metadata import check_package
from metadata.regex import PatternError, compile_pattern

REDOS = r"([a-z0-9]+\.?)+@example\.com"
PIECES = list("ab.*+?|()[]^$-{}12,\\ds") + ["[a-c]", "[^a]", "{1,2}", "{2,}", r"\.", r"\d", r"\w", "(a|b)", r"\n"]
patterns = st.tuples(st.sampled_from(["", "", "(?i)"]),
                     st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join)).map("".join)
texts = st.lists(st.text(alphabet='abAB.é"\\\n-1 2$^_', max_size=8), min_size=1, max_size=10)


def python_reading(pattern):
    """Python's own compile of a pattern the dialect accepted (which Python must accept too)."""
    compiled = compile_pattern(pattern)
    python = re.compile(pattern[:-1] + r"\Z" if compiled.end else pattern, re.ASCII)
    return compiled, python


@settings(max_examples=300, deadline=None)
@given(patterns, texts)
def test_search_reads_patterns_as_python_does(pattern, texts):
    try:
        compiled, python = python_reading(pattern)
    except PatternError:
        return
    for text in texts:
        assert compiled.search(text) == (python.search(text) is not None), (pattern, text)


@settings(max_examples=300, deadline=None)
@given(patterns, texts)
def test_fullmatch_reads_patterns_as_python_does(pattern, texts):
    try:
        compiled = compile_pattern(pattern)
    except PatternError:
        return
    for text in texts:
        assert compiled.fullmatch(text) == (re.fullmatch(pattern, text, re.ASCII) is not None), (pattern, text)


def finishes(call, *args):
    """The result of `call(*args)`; a stall ends the run instead of hanging the suite (a
    backtracking matcher would need centuries here, holding the GIL)."""
    faulthandler.dump_traceback_later(120, exit=True)
    try:
        return call(*args)
    finally:
        faulthandler.cancel_dump_traceback_later()


def test_a_pattern_that_backtracks_catastrophically_in_re_is_matched_in_one_pass():
    near_miss = "a" * 5000 + "!"
    assert finishes(compile_pattern(REDOS).fullmatch, near_miss) is False
    assert finishes(compile_pattern(REDOS).search, near_miss) is False
    assert finishes(compile_pattern("^(a+)+b$").search, "a" * 30000) is False
    assert compile_pattern(REDOS).fullmatch("ann.lee@example.com") is True


def doc_with_pattern(pattern, condition_pattern=r"[a-z]+"):
    return {"entities": [{"name": "contact", "fields": [
        {"name": "email", "type": "string", "pattern": pattern},
        {"name": "stage", "type": "choice", "options": ["new", "won"]}]}],
        "workflows": [{"name": "flow", "entity": "contact", "field": "stage", "initial": "new",
                       "states": [{"name": "new", "category": "open"}, {"name": "won", "category": "done"}],
                       "transitions": [{"name": "win", "from": ["new"], "to": "won", "guard": {
                           "field": "email", "op": "matches", "value": condition_pattern}}]}]}


@pytest.mark.parametrize("pattern, reason", [
    (r"(a)\1", r"\1 is not supported"),
    (r"(?=a)a", "(?...) groups are not supported"),
    (r"(?<!a)b", "(?...) groups are not supported"),
    (r"a(?i)bc", "(?...) groups are not supported"),
    (r"(?s)abc", "(?...) groups are not supported"),
    (r"a+?", "no lazy or possessive forms"),
    (r"\bword", r"\b is not supported"),
    ("a" * 201, "at most 200 characters"),
])
def test_a_pattern_the_matcher_cannot_do_is_refused_with_its_path(pattern, reason):
    problems = check_package(doc_with_pattern(pattern))
    assert [(p.path, p.code) for p in problems] == [("/entities/0/fields/0/pattern", "invalid_pattern")]
    assert reason in problems[0].message
    problems = check_package(doc_with_pattern("[a-z]+", pattern))
    assert [(p.path, p.code) for p in problems] == [
        ("/workflows/0/transitions/0/guard/value", "invalid_pattern")]
    assert reason in problems[0].message

