"""The search index on both backends: kept in step with every write, ranked, finding short
Chinese names and phone numbers however they are typed; and its normalisation as a property."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given, settings as hsettings, strategies as st

from engine.cli import cli
from engine.records.search_index import find, reindex
from engine.systables import loom_table
from engine.records.search_terms import normalise, phone_numbers, query_forms, text_terms, upper_bound


@pytest.fixture
def crm(acme):
    return acme


def names(session, query, entities=("contact",), limit=20):
    found = find(session.storage, query, entities, limit)
    titles = {}
    for entity, record_id, _ in found:
        titles[(entity, record_id)] = session.records.get(entity, record_id).get("full_name")
    return [titles[(e, i)] for e, i, _ in found]


def test_one_and_two_character_chinese_names_are_found(crm):
    for name in ("王伟", "王伟东", "张王伟", "王芳", "Wang Wei"):
        crm.records.create("contact", {"full_name": name})
    assert names(crm, "王伟") == ["王伟", "王伟东", "张王伟"]  # exact, then prefix, then inside
    assert set(names(crm, "王")) == {"王伟", "王伟东", "王芳", "张王伟"}
    assert names(crm, "伟东") == ["王伟东"]
    assert names(crm, "wang wei") == ["Wang Wei"]
    assert names(crm, "WEI") == ["Wang Wei"]  # a later word, any case


def test_a_prefix_matching_more_terms_than_one_search_ranks_still_puts_the_exact_value_first(crm, monkeypatch):
    """A search ranks at most SCAN term rows (a one-character query would otherwise rank
    the whole index); it reads them in term order, so the value equal to the query is among
    them however many others hold the prefix."""
    from engine.records import search_index

    monkeypatch.setattr(search_index, "SCAN", 10)
    crm.records.create_many("contact", [{"full_name": f"王{chr(0x4e00 + i)}{i}"} for i in range(30)])
    crm.records.create("contact", {"full_name": "王"})
    found = names(crm, "王", limit=5)
    assert found[0] == "王" and len(found) == 5
    assert names(crm, "王一") == ["王一0"]  # typing more narrows the range: exact again


def test_a_phone_number_is_found_with_or_without_spaces_dashes_and_country_code(crm):
    crm.records.create("contact", {"full_name": "张伟", "phone": "+86-138-0013-8000"})
    crm.records.create("contact", {"full_name": "Other", "phone": "+86 139 0000 0000"})
    for typed in ("138 0013 8000", "13800138000", "+86 138 0013 8000", "+86-138-0013-8000",
                  "0086 13800138000", "8613800138000", "138-0013"):
        assert names(crm, typed) == ["张伟"], typed


def test_the_index_follows_create_update_and_delete(crm):
    record = crm.records.create("contact", {"full_name": "李娜", "email": "li.na@example.cn"})
    assert names(crm, "李娜") == ["李娜"]
    crm.records.update("contact", record["id"], {"full_name": "李娜娜"})
    assert names(crm, "李娜") == ["李娜娜"] and names(crm, "li.na@") == ["李娜娜"]  # the e-mail kept
    crm.records.update("contact", record["id"], {"full_name": "陈杰"})
    assert names(crm, "李娜") == [] and names(crm, "陈杰") == ["陈杰"]
    crm.records.delete("contact", record["id"])
    assert names(crm, "陈杰") == [] and names(crm, "li.na") == []


def test_reindex_rebuilds_the_index_from_the_records(crm):
    crm.records.create_many("contact", [{"full_name": f"客户{i}"} for i in range(30)])
    before = find(crm.storage, "客户", ["contact"], 100)
    assert len(before) == 30
    assert reindex(crm.storage, crm.metadata()) > 30
    assert find(crm.storage, "客户", ["contact"], 100) == before


def test_loom_search_reindex_indexes_records_written_before_the_index(install, crm):
    crm.records.create("contact", {"full_name": "刘洋", "phone": "+86 136 0136 0004"})
    with crm.storage.begin() as conn:  # as after an upgrade: records, an empty index
        conn.execute(loom_table(crm.storage.schema, "loom_search").delete())
    assert find(crm.storage, "刘洋", ["contact"], 5) == []
    result = CliRunner().invoke(cli, ["search", "reindex", "acme"], obj=install)
    assert result.exit_code == 0 and "search terms indexed" in result.output
    assert len(find(crm.storage, "136 0136 0004", ["contact"], 5)) == 1


@given(st.text(max_size=40))
@hsettings(max_examples=200, deadline=None)
def test_every_value_is_found_by_its_own_normalised_text(value):
    """Whatever a value holds, typing it (in any case, any width, with more spaces) finds
    it: the query's first form is a prefix of one of the value's terms."""
    query = query_forms(value)
    if not query:
        return
    terms = {term for term, _ in text_terms(value)}
    assert any(term.startswith(query[0]) or query[0].startswith(term) for term in terms)
    assert normalise(value) == normalise(normalise(value))  # normalising twice changes nothing


@given(st.lists(st.sampled_from("0123456789"), min_size=7, max_size=12).map("".join),
       st.sampled_from(["", " ", "-", "."]))
def test_a_phone_number_typed_with_separators_has_the_digits_of_the_stored_one(digits, separator):
    stored = "+86 " + " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))
    typed = separator.join(digits[i:i + 3] for i in range(0, len(digits), 3))
    assert set(query_forms(typed)) & phone_numbers(stored)


@given(st.text(min_size=1, max_size=10))
def test_the_upper_bound_is_above_every_text_with_the_prefix(prefix):
    bound = upper_bound(prefix)
    assert prefix < bound and prefix + "\U0010fffe" < bound


def test_a_field_hidden_after_it_was_indexed_finds_nothing(crm):
    """Terms stay in the index until a reindex; with today's searchable fields given, a
    hidden field's value cannot be probed through the search."""
    from engine.records.search_index import searchable_fields

    crm.records.create("contact", {"full_name": "Visible Name", "email": "secret.person@example.cn"})
    document = crm.metadata().package.to_dict()
    contact = next(e for e in document["entities"] if e["name"] == "contact")
    next(f for f in contact["fields"] if f["name"] == "email")["hidden"] = True
    crm.apply_metadata(document)
    package = crm.metadata().package
    now = {e.name: list(searchable_fields(e)) for e in package.entities}
    assert find(crm.storage, "secret.person", ["contact"], 5) != []  # still in the index
    assert find(crm.storage, "secret.person", ["contact"], 5, now) == []
    assert len(find(crm.storage, "visible", ["contact"], 5, now)) == 1
