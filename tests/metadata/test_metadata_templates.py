"""Message templates ride in the package verbatim, with safe unique names, and diff without DDL."""
from metadata import Package, check_package, diff_packages, load_package

SURVEY = {"name": "survey_invite", "subject": {"en": "How did we do?"}, "body": {"en": "Hi {{ record.full_name }}"}}


def package(*templates):
    return {"entities": [], "templates": list(templates)}


def test_templates_round_trip_verbatim():
    loaded = load_package(package(SURVEY))
    assert loaded.template("survey_invite") == SURVEY
    assert Package.from_document(loaded.to_dict()) == loaded


def test_duplicate_and_unsafe_template_names_are_reported_with_paths():
    problems = check_package(package(SURVEY, dict(SURVEY), {"name": "Bad Name"}))
    assert {(p.path, p.code) for p in problems} == {
        ("/templates/1/name", "duplicate_name"), ("/templates/2/name", "unsafe_identifier")}


def test_template_changes_need_no_ddl():
    before = load_package(package(SURVEY))
    after = load_package(package({**SURVEY, "subject": {"en": "Tell us"}}, {"name": "ack", "body": "ok"}))
    changes = diff_packages(before, after)
    assert [c.kind for c in changes] == ["alter_template", "add_template"]
    assert not any(c.needs_ddl for c in changes)
    assert [c.describe() for c in diff_packages(after, before)] == [
        "drop template ack", "change template survey_invite"]
