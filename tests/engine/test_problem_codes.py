"""A refused value names what is wrong by a code of the one table (`engine.problem_codes`)
with exactly the details the table declares: random bad values of every field type give a
problem whose code is one that type can raise, through the single write and the batch alike."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.fieldtypes import FieldInvalid
from engine.problem_codes import CODES, RESERVED, problem
from tests.engine.test_validation import CANDIDATES, LOADER, json_values, lab, refused  # noqa: F401 (a fixture)

# The codes a value of each field of the lab's `sample` entity may be refused with.
EXPECTED = {
    "code": {"not_text", "too_long", "unstorable_text", "pattern_mismatch"},
    "notes": {"not_text", "unstorable_text"},
    "count": {"not_integer", "out_of_range", "below_min", "above_max"},
    "price": {"not_number", "too_many_digits", "too_many_decimals", "below_min"},
    "fine": {"not_number", "too_many_digits", "too_many_decimals"},
    "active": {"not_boolean"},
    "born": {"not_date", "below_min", "above_max"},
    "seen_at": {"not_datetime", "out_of_range"},
    "email": {"not_text", "unstorable_text", "not_email"},
    "phone": {"not_text", "unstorable_text", "not_phone"},
    "site": {"not_text", "unstorable_text", "not_url"},
    "size": {"not_option", "required"},
    "tags": {"not_option_list", "not_option", "repeated_option"},
    "owner": {"not_reference"},
    "budget": {"not_money", "not_currency", "not_number", "too_many_digits", "too_many_decimals", "below_min"},
    "extra": {"not_json"},
    "serial": {"not_text", "unstorable_text"},
    "sku": {"not_text", "unstorable_text", "too_long", "invalid"},
}
bad_records = st.fixed_dictionaries({}, optional={name: values | json_values for name, values in CANDIDATES.items()})


def test_every_code_declares_details_that_do_not_clash_with_a_problems_own_keys():
    assert all(not RESERVED & set(code.details) and code.meaning for code in CODES.values())


def test_a_problem_of_an_unknown_code_or_with_other_details_is_a_bug_not_a_users_mistake():
    with pytest.raises(KeyError):
        problem("x", "no_such_code", "is odd")
    with pytest.raises(TypeError):
        FieldInvalid("too long", "too_long", max=3)  # `length` missing
    assert FieldInvalid("must start with SKU").problem("sku").code == "invalid"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad_records)
def test_random_values_of_every_type_are_refused_with_a_code_that_type_raises_and_its_declared_details(data):
    _values, problems = LOADER.load_one(copy.deepcopy({"size": "s", **data}))
    for found in problems:
        assert found.code in EXPECTED.get(found.path, {"unknown_field", "read_only"}), found
        assert set(found.details) == set(CODES[found.code].details), found


@pytest.mark.parametrize("field, value, code, details", [
    ("code", "ABCDEFGHIJ", "too_long", {"max": 8, "length": 10}),
    ("code", "ab-1", "pattern_mismatch", {"pattern": "[A-Z]{2}-[0-9]+"}),
    ("count", 1001, "above_max", {"max": 1000}),
    ("price", "1.234", "too_many_decimals", {"places": 2}),
    ("price", "1234567", "too_many_digits", {"digits": 6}),
    ("born", "1899-12-31", "below_min", {"min": "1900-01-01"}),
    ("size", "xl", "not_option", {"options": ["s", "m", "l"]}),
    ("owner", 424242, "unknown_reference", {"entity": "owner", "id": 424242}),
    ("serial", "S-2", None, None),  # set on create: refused only on a user's update (below)
])
def test_the_api_details_carry_the_code_and_its_parameters(lab, field, value, code, details):
    if code is None:
        record = lab.records.create("sample", {"size": "s"})
        [found] = refused(lab.records.update, "sample", record["id"], {field: value})
        assert (found["code"], found["message"]) == ("read_only", "is read-only")
        return
    [found] = refused(lab.records.create, "sample", {"size": "s", field: value})
    assert found == {"field": field, "code": code, "message": found["message"], **details}


def test_the_api_documentation_lists_every_problem_code_with_its_details():
    text = (Path(__file__).resolve().parents[2] / "docs/api.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- problem-codes -->\n(.*?)<!-- /problem-codes -->", text, re.S).group(1)
    rows = [line.split(" | ") for line in table.strip().splitlines()[2:]]
    listed = {row[0].strip("| `"): tuple(re.findall(r"`(\w+)`", row[1])) for row in rows}
    assert listed == {code.name: code.details for code in CODES.values()}
