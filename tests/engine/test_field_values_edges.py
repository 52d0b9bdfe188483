"""Values at the edges of a field's type, on SQLite and PostgreSQL: a `url` field holds
only an http(s) address naming a host (the same rule a field's default is held to), and an
`integer` field a BIGINT's whole range, its smallest value included."""
from __future__ import annotations

import pytest

from engine.errors import ValidationFailed

DOC = {"entities": [{"name": "site", "fields": [{"name": "title", "type": "string"},
                                                {"name": "home", "type": "url"},
                                                {"name": "count", "type": "integer"}]}]}
GOOD_URLS = ["https://example.com", "http://例子.中国/路径?q=1#x", "https://[::1]:8443/a", "http://a.b:1/",
             "HTTPS://Example.com/A%20B"]
BAD_URLS = ["http://a.b\n", "http://a\tb.cn", "http://:80", "http://user@/", "http://a.b:port/",
            "http://a.b:99999/", "http://a.b:0/", "http://[::1", "https://]", "ftp://a.b", "a.b", "http:// a.b",
            "http://a.b/\x7f"]


@pytest.fixture
def lab(install):
    install.registry.create("lab", "Lab")
    session = install.session("lab")
    session.apply_metadata(DOC)
    return session


@pytest.mark.parametrize("url", GOOD_URLS)
def test_an_http_address_is_stored_as_given(lab, url):
    assert lab.records.create("site", {"home": url})["home"] == url


@pytest.mark.parametrize("url", BAD_URLS)
def test_what_is_no_http_address_is_refused_as_not_url_and_nothing_is_written(lab, url):
    with pytest.raises(ValidationFailed) as refused:
        lab.records.create("site", {"home": url})
    assert [(d["field"], d["code"]) for d in refused.value.details] == [("home", "not_url")]
    assert lab.records.count("site", []) == 0


@pytest.mark.parametrize("url, taken", [(u, True) for u in GOOD_URLS[:2]] + [(u, False) for u in BAD_URLS[:4]])
def test_a_url_fields_default_is_held_to_the_same_rule(install, url, taken):
    install.registry.create("labd", "Lab")
    session = install.session("labd")
    document = {"entities": [{"name": "site", "fields": [{"name": "home", "type": "url", "default": url}]}]}
    if taken:
        session.apply_metadata(document)
        assert session.records.create("site", {})["home"] == url
    else:
        with pytest.raises(ValidationFailed) as refused:
            session.apply_metadata(document)
        assert "is not an http(s) URL" in str(refused.value.details) or "not an http(s) URL" in refused.value.message


@pytest.mark.parametrize("number, stored", [(-2**63, True), (2**63 - 1, True), (-2**63 - 1, False), (2**63, False)])
def test_an_integer_field_holds_a_bigints_whole_range(lab, number, stored):
    if stored:
        record = lab.records.create("site", {"count": number})
        assert lab.records.get("site", record["id"])["count"] == number
        assert [r["id"] for r in lab.records.list("site", [("count", str(number))])["items"]] == [record["id"]]
    else:
        with pytest.raises(ValidationFailed) as refused:
            lab.records.create("site", {"count": number})
        assert refused.value.details[0]["code"] == "out_of_range"
