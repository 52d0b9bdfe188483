"""A text field's `max_length` is one both backends keep: at most 10,485,760 (PostgreSQL's
longest VARCHAR), refused by validation (and so by a dry run) before any migration."""
import pytest

from metadata import load_package
from metadata.errors import MetadataInvalid


def document(max_length) -> dict:
    return {"entities": [{"name": "t", "fields": [{"name": "s", "type": "string", "max_length": max_length}]}]}


def test_the_longest_varchar_is_taken():
    assert load_package(document(10_485_760)).entity("t").field("s").max_length == 10_485_760


@pytest.mark.parametrize("max_length", [10_485_761, 1e10, 20_000_000])
def test_a_longer_one_is_refused_naming_the_limit(max_length):
    with pytest.raises(MetadataInvalid) as refused:
        load_package(document(max_length))
    assert "max_length: must be at most 10485760" in str(refused.value)
