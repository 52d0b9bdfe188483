"""Property tests: check_package never raises; generated valid packages load and round-trip."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadata import BUILTIN_FIELD_TYPES, Package, Problem, check_package, diff_packages, load_package
from metadata.diff import KINDS
from metadata.identifiers import identifier_problem
from metadata.semantic import FIELD_KEYS

SETTINGS = settings(max_examples=500, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
GENERATED = settings(SETTINGS, max_examples=100)  # drawing whole packages is the slow part


def json_values(allow_nan=True):
    """Any JSON value; `allow_nan=False`: only what a valid document may hold (finite
    numbers, text a database stores)."""
    text = st.text if allow_nan else (lambda max_size: st.text(
        st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=max_size))
    scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=allow_nan, allow_infinity=allow_nan)
               | text(max_size=20))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(text(max_size=8), inner, max_size=4), max_leaves=12)


def assert_problem_list(result):
    assert isinstance(result, list)
    assert all(isinstance(p, Problem) and isinstance(p.path, str) and p.code and p.message for p in result)
    assert len(set(result)) == len(result)


@SETTINGS
@given(json_values())
def test_random_json_never_raises(document):
    assert_problem_list(check_package(document))


# Values that steer into every branch of the semantic checks.
tricky = (json_values() | st.sampled_from(BUILTIN_FIELD_TYPES) | st.sampled_from(["vin", "strng"])
          | st.integers(-3, 40) | st.sampled_from(["2024-01-01", "2024-01-01T00:00:00", "2024-01-01T00:00Z",
                                                  "1.5", "(", "[a-z]+", "set_null", "a", ""])
          | st.lists(st.sampled_from(["a", "b", "", 1, {"value": "a"}, {"value": 2}]), max_size=4))
random_fields = st.dictionaries(st.sampled_from(sorted(FIELD_KEYS) + ["colour"]), tricky, max_size=8)
random_entities = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "select", "A", ""]) | tricky},
    optional={"fields": st.lists(random_fields | tricky, max_size=5), "label": tricky, "x": tricky},
)


@SETTINGS
@given(st.fixed_dictionaries({"entities": st.lists(random_entities | tricky, max_size=4)},
                             optional={"version": tricky, "other": tricky}))
def test_package_shaped_random_documents_never_raise(document):
    assert_problem_list(check_package(document, extra_types={"vin": "string"}))


# --- generated valid documents ---------------------------------------------------------

# Built from characters rather than st.from_regex, which is slow to draw from.
_parts = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=5)
identifiers = st.builds(
    lambda head, rest, parts: "_".join([head + rest, *parts]),
    st.sampled_from(string.ascii_lowercase), st.text(alphabet=string.ascii_lowercase + string.digits, max_size=6),
    st.lists(_parts, max_size=2),
).filter(lambda n: identifier_problem(n, "field") is None)
tags = st.sampled_from(["en", "de", "fr", "zh", "zh-CN", "zh-Hant-TW", "pt-BR", "yue", "en-GB"])
words = st.text(alphabet=string.ascii_letters + "é客 ", min_size=1, max_size=12)
language_maps = words | st.dictionaries(tags, words, min_size=1, max_size=3)
option_values = st.lists(st.text(alphabet=string.ascii_lowercase + "_- ", min_size=1, max_size=8)
                         .filter(str.strip), min_size=1, max_size=5, unique=True)


@st.composite
def fields(draw, name, targets):
    type_name = draw(st.sampled_from(BUILTIN_FIELD_TYPES + ("vin",)))
    base = "string" if type_name == "vin" else type_name
    field = {"name": name, "type": type_name}
    for key in ("required", "unique", "indexed", "pii", "readonly", "hidden"):
        if draw(st.booleans()):
            field[key] = draw(st.booleans())
    if draw(st.booleans()):
        field["label"] = draw(language_maps)
    if draw(st.booleans()):
        field["help"] = draw(language_maps | st.just(""))
    if base in ("string", "text", "email", "phone", "url") and draw(st.booleans()):
        field["max_length"] = draw(st.integers(1, 300))
        if base == "string" and draw(st.booleans()):
            field["default"] = draw(st.text(alphabet="abc", max_size=field["max_length"]))
    elif base == "integer":
        low, high = sorted(draw(st.lists(st.integers(-10**6, 10**6), min_size=2, max_size=2)))
        field.update(min=low, max=high)
        if draw(st.booleans()):
            field["default"] = draw(st.integers(low, high))
    elif base in ("decimal", "currency"):
        precision = draw(st.integers(1, 38))
        field.update(precision=precision, scale=draw(st.integers(0, min(precision, 2))))
        if draw(st.booleans()):
            amount = draw(st.sampled_from([0, "0", "0.5", 0.25][: 1 + 3 * (field["scale"] >= 2)]))
            field["default"] = {"amount": amount, "currency": "CNY"} if base == "currency" else amount
    elif base == "boolean" and draw(st.booleans()):
        field["default"] = draw(st.booleans())
    elif base == "date":
        low, high = sorted(draw(st.lists(st.dates(), min_size=2, max_size=2)))
        field.update(min=low.isoformat(), max=high.isoformat())
    elif base == "datetime" and draw(st.booleans()):
        field["default"] = draw(st.datetimes()).isoformat(timespec="seconds")
    elif base in ("choice", "multi_choice"):
        values = draw(option_values)
        field["options"] = [draw(st.sampled_from([v, {"value": v}, {"value": v, "label": {"en": v}}]))
                            for v in values]
        if draw(st.booleans()):
            field["default"] = (draw(st.sampled_from(values)) if base == "choice"
                                else draw(st.lists(st.sampled_from(values), unique=True)))
    elif base == "reference":
        field["to"] = draw(st.sampled_from(targets))
        field["on_delete"] = draw(st.sampled_from(["restrict", "cascade"]
                                                  + ([] if field.get("required") else ["set_null"])))
    elif base == "json" and draw(st.booleans()):
        # a required field needs a non-null value, even a json one
        field["default"] = draw(json_values(allow_nan=False).filter(
            lambda v: v is not None or not field.get("required")))
    return field


@st.composite
def valid_documents(draw):
    names = draw(st.lists(identifiers, min_size=1, max_size=4, unique=True))
    entities = []
    for name in names:
        field_names = draw(st.lists(identifiers, max_size=6, unique=True))
        entity = {"name": name, "fields": [draw(fields(f, names)) for f in field_names]}
        for key, strategy in (("label", language_maps), ("plural_label", language_maps),
                              ("description", language_maps | st.just(""))):
            if draw(st.booleans()):
                entity[key] = draw(strategy)
        entities.append(entity)
    document = {"entities": entities}
    if draw(st.booleans()):
        document["layouts"] = draw(layouts(entities))
    return document


LIST_SYSTEM_COLUMNS = ["id", "created_at", "updated_at", "owner_id"]


@st.composite
def layouts(draw, entities):
    """Valid layouts of ``entities``: forms place each field at most once, lists sort by sortable keys."""
    result = []
    for name in draw(st.lists(identifiers, max_size=4, unique=True)):
        entity = draw(st.sampled_from(entities))
        field_names = [f["name"] for f in entity["fields"]]
        layout = {"name": name, "entity": entity["name"]}
        if draw(st.booleans()):
            layout["label"] = draw(language_maps)
        if field_names and draw(st.booleans()):
            placed = draw(st.permutations(field_names))[: draw(st.integers(1, len(field_names)))]
            cuts = sorted(draw(st.lists(st.integers(1, len(placed)), max_size=3, unique=True)) + [len(placed)])
            starts, sections = [0] + [c for c in cuts[:-1]], []
            for k, (start, end) in enumerate(zip(starts, cuts)):
                if start < end:
                    section = {"name": f"s{k}", "fields": placed[start:end]}
                    for key, strategy in (("label", language_maps), ("columns", st.integers(1, 4))):
                        if draw(st.booleans()):
                            section[key] = draw(strategy)
                    sections.append(section)
            layout.update(kind="form", sections=sections)
        else:
            choices = field_names + LIST_SYSTEM_COLUMNS
            layout.update(kind="list", columns=draw(st.lists(st.sampled_from(choices), min_size=1, max_size=6,
                                                             unique=True)))
            sortable = [f["name"] for f in entity["fields"] if f["type"] not in ("json", "multi_choice")]
            keys = draw(st.lists(st.sampled_from(sortable + LIST_SYSTEM_COLUMNS), max_size=3, unique=True))
            if keys:
                layout["sort"] = ",".join(draw(st.sampled_from(["", "-"])) + k for k in keys)
            if draw(st.booleans()):
                layout["page_size"] = draw(st.integers(1, 200))
        result.append(layout)
    return result


EXTRA = {"vin": "string"}


@GENERATED
@given(valid_documents())
def test_generated_valid_documents_load_and_round_trip(document):
    assert check_package(document, extra_types=EXTRA) == []
    package = load_package(document, extra_types=EXTRA)
    canonical = package.to_dict()
    assert Package.from_document(canonical, extra_types=EXTRA) == package
    assert check_package(canonical, extra_types=EXTRA) == []
    assert load_package(canonical, extra_types=EXTRA).to_dict() == canonical
    assert diff_packages(package, package) == []
    assert [c.kind for c in diff_packages(None, package)] == (["add_entity"] * len(package.entities)
                                                              + ["add_layout"] * len(package.layouts))


@GENERATED
@given(valid_documents(), valid_documents())
def test_diff_between_any_two_packages_is_well_formed(doc_a, doc_b):
    a, b = load_package(doc_a, extra_types=EXTRA), load_package(doc_b, extra_types=EXTRA)
    changes = diff_packages(a, b)
    assert all(c.kind in KINDS and c.describe() for c in changes)
    order = {"add_entity": 0, "drop_field": 2, "drop_entity": 3}
    ranks = [order.get(c.kind, 1) for c in changes]
    assert ranks == sorted(ranks)
    assert {c.entity for c in changes if c.kind == "add_entity"} == set(b.entity_names()) - set(a.entity_names())
    assert {c.entity for c in changes if c.kind == "drop_entity"} == set(a.entity_names()) - set(b.entity_names())
