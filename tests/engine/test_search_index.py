"""The search index on both backends: kept in step with every write, ranked, finding short
Chinese names and phone numbers however they are typed; and its normalisation as a property."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from hypothesis import given, settings as hsettings, strategies as st

from engine.cli import cli
from engine.records.search_index import find, follow_writes, reindex
from engine.systables import loom_table
from engine.records.search_terms import normalise, phone_numbers, query_forms, terms_of, text_terms, upper_bound


@pytest.fixture
def crm(acme):
    return acme


def names(session, query, entities=("contact",), limit=20):
    found = find(session.storage, session.metadata(), query, entities, limit)
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


def test_a_query_looked_up_in_several_forms_ranks_the_first_rows_of_all_its_ranges(crm, monkeypatch):
    """`+86 1` is looked up as text, as `861…` and as `1…` (one key range each): the rows
    ranked are the first SCAN of all three ranges together, in key order, so the number
    typed in full is first even when each range alone holds more than SCAN rows."""
    from engine.records import search_index

    monkeypatch.setattr(search_index, "SCAN", 6)
    crm.records.create_many("contact", [{"full_name": f"号{i}", "phone": f"+86 139 0000 {i:04d}"} for i in range(20)])
    crm.records.create("contact", {"full_name": "张伟", "phone": "+86 138 0013 8000"})
    assert len(names(crm, "+86 1")) == 6
    assert names(crm, "+86 138 0013 8000")[0] == "张伟"
    assert names(crm, "+86 139 0000 0007") == ["号7"]


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
    before = find(crm.storage, crm.metadata(), "客户", ["contact"], 100)
    assert len(before) == 30
    assert reindex(crm.storage, crm.metadata()) > 30
    assert find(crm.storage, crm.metadata(), "客户", ["contact"], 100) == before


def test_loom_search_reindex_indexes_records_written_before_the_index(install, crm):
    crm.records.create("contact", {"full_name": "刘洋", "phone": "+86 136 0136 0004"})
    with crm.storage.begin() as conn:  # as after an upgrade: records, an empty index, nothing queued
        conn.execute(loom_table(crm.storage.schema, "loom_search").delete())
        conn.execute(loom_table(crm.storage.schema, "loom_search_queue").delete())
    assert find(crm.storage, crm.metadata(), "刘洋", ["contact"], 5) == []
    result = CliRunner().invoke(cli, ["search", "reindex", "acme"], obj=install)
    assert result.exit_code == 0 and "search terms indexed" in result.output
    assert len(find(crm.storage, crm.metadata(), "136 0136 0004", ["contact"], 5)) == 1


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


def test_a_write_leaves_no_term_of_the_values_it_replaced_or_deleted(crm):
    """Following a write replaces every term of its record: whatever the record held,
    nothing of it stays once it is changed or deleted."""
    table = loom_table(crm.storage.schema, "loom_search")

    def rows(record_id):
        follow_writes(crm.storage, crm.metadata())
        with crm.storage.connect() as conn:
            return sorted(conn.execute(select(table.c.field, table.c.term).where(table.c.record_id == record_id)))

    record = crm.records.create("contact", {"full_name": "王伟 Wang", "email": "wang.wei@example.cn",
                                            "phone": "0086 138 0013 8000"})
    crm.records.update("contact", record["id"], {"full_name": "李娜", "phone": None})
    assert rows(record["id"]) == sorted([("email", "wang.wei@example.cn"), ("email", "wei@example.cn"),
                                         ("full_name", "李娜"), ("full_name", "娜")])
    crm.records.delete("contact", record["id"])
    assert rows(record["id"]) == []


def test_a_term_the_index_kept_from_an_outside_write_does_not_fail_a_record_write(crm):
    record = crm.records.create("contact", {"full_name": "Old"})
    table = loom_table(crm.storage.schema, "loom_search")
    with crm.storage.begin() as conn:  # as if written outside the record service, with no event
        conn.execute(table.insert().values(term="new", entity="contact", record_id=record["id"],
                                           field="full_name", at_start=True))
    crm.records.update("contact", record["id"], {"full_name": "New"})
    assert names(crm, "new") == ["New"]


@given(st.text(alphabet=st.characters(categories=["Lo", "Ll", "Lu", "Nd"]), min_size=1, max_size=4),
       st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8), min_size=1, max_size=3),
       st.integers(min_value=1, max_value=4))
@hsettings(max_examples=200, deadline=None)
def test_every_word_and_cjk_character_of_a_name_and_the_start_of_an_email_are_found(cjk, words, cut):
    """The fewer terms still find a name by its start, by any later word and by any CJK
    character inside it, as typed (any prefix); and an e-mail by its start and by the words
    before its @."""
    name = cjk + " " + " ".join(words)
    terms = {term for term, _ in terms_of("string", name)}
    starts = [name] + [" ".join(words[i:]) for i in range(len(words))]
    starts += [name[i:] for i, c in enumerate(cjk) if "\u4e00" <= c <= "\u9fff"]
    for start in starts:
        query = query_forms(start[:cut])
        assert query and any(t.startswith(query[0]) for t in terms), (name, start[:cut])
    email = ".".join(words) + "@example.cn"
    terms = {term for term, _ in terms_of("email", email)}
    for i in range(len(words)):
        query = query_forms(".".join(words[i:])[:cut])[0]
        assert any(t.startswith(query) for t in terms), (email, query)


NATIONAL = st.tuples(st.sampled_from("123456789"), st.text(alphabet="0123456789", min_size=6, max_size=10)).map("".join)


def _spread(digits, separator):
    return separator.join(digits[i:i + 4] for i in range(0, len(digits), 4))


@given(NATIONAL, st.sampled_from(["86", "852", "1", "44"]),
       st.sampled_from(["+{cc} {n}", "+{cc}-{n}", "00{cc} {n}", "0{n}", "{n}"]),
       st.sampled_from(["{n}", "0{n}", "+{cc} {n}", "+{cc}{n}", "00{cc}{n}", "{cc}{n}"]),
       st.sampled_from(["", " ", "-", "."]), st.integers(min_value=0, max_value=20))
@hsettings(max_examples=300, deadline=None)
def test_a_phone_number_is_found_however_it_is_stored_and_typed(national, code, stored_as, typed_as, separator, more):
    """A number stored with a country code, a trunk 0 or neither is found by any prefix of
    it typed with or without separators, trunk 0 or country code, from its third digit of
    the national number on (a bare country code typed before it, `86138…`, only finds a
    number stored with its country code)."""
    if typed_as == "{cc}{n}" and "{cc}" not in stored_as:
        return
    stored = stored_as.format(cc=code, n=_spread(national, " "))
    terms = {term for term, _ in terms_of("phone", stored)}
    typed = typed_as.format(cc=code, n=_spread(national, separator))
    prefix_digits = len(typed_as.split("{n}")[0].replace("{cc}", code).strip("+ ")) + 3 + more
    cut, seen = 0, 0
    for cut, char in enumerate(typed, 1):
        seen += char.isdigit()
        if seen >= prefix_digits:
            break
    forms = query_forms(typed[:cut])
    assert any(t.startswith(f) for t in terms for f in forms), (stored, typed[:cut], forms, terms)
