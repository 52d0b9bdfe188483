"""The pattern dialect in SQL: SQLite's REGEXP (the dialect's own matcher, registered on
every tenant connection) and PostgreSQL's `~` with the translated pattern find exactly
the texts the matcher finds in Python."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, text

from metadata.regex import PatternError, compile_pattern, postgres_pattern
from tests.metadata.test_regex import PIECES

patterns = st.tuples(st.sampled_from(["", "", "(?i)"]),
                     st.lists(st.sampled_from(PIECES + ["é", "[é-ü]", "[Z-a]", "退", "(|a)", "a{0}", "[\\-]"]),
                              min_size=1, max_size=8).map("".join)).map("".join)
texts = st.lists(st.text(alphabet='abzAZ[\\]^_`.éÉü"\n\t\u000b-1 2$退\u212a\U0001f600', max_size=8),
                 min_size=1, max_size=8)


def test_the_database_finds_what_the_matcher_finds(install):
    install.registry.create("acme", "Acme")
    storage = install.session("acme").storage
    postgres = storage.engine.dialect.name == "postgresql"

    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(patterns, texts)
    def agree(pattern, samples):
        try:
            compiled = compile_pattern(pattern)
        except PatternError:
            return
        sql_pattern = postgres_pattern(pattern) if postgres else pattern
        operator = "~" if postgres else "REGEXP"
        rows = " UNION ALL ".join(f"SELECT {k} AS k, (:t{k} {operator} :p) AS found" for k in range(len(samples)))
        query = text(rows).bindparams(bindparam("p", sql_pattern),
                                      *(bindparam(f"t{k}", sample) for k, sample in enumerate(samples)))
        with storage.connect() as conn:
            found = {k: bool(hit) for k, hit in conn.execute(query)}
        for k, sample in enumerate(samples):
            assert found[k] is compiled.search(sample), (pattern, sql_pattern, sample)

    agree()
