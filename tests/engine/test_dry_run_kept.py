"""A publisher's dry run (the designer's review, a pack's preview) starts from the
install's compiled metadata of the current version when it is kept, instead of reading
and compiling that version again — and its plan is the one a dry run that reads the
version from the database makes. On SQLite and PostgreSQL."""
from __future__ import annotations

import copy

from engine.drafts import Drafts
from tests.engine.test_drafts import WECHAT, admin, with_field


def _without(document, entity, field):
    document = copy.deepcopy(document)
    found = next(e for e in document["entities"] if e["name"] == entity)
    found["fields"] = [f for f in found["fields"] if f["name"] != field]
    return document


def test_a_dry_run_from_the_kept_metadata_plans_as_one_read_from_the_database(acme, install):
    session = admin(install, "ann@acme.example")
    session.records.create("contact", {"full_name": "Wu", "birthday": "1990-01-02"})
    session.records.create("contact", {"full_name": "Li"})
    document = Drafts(session).open().document
    document = with_field(_without(document, "contact", "birthday"), "contact", WECHAT)
    compiled = session.metadata()
    assert install.cache.kept(session.storage, compiled.version, session.extra_types) is compiled

    kept = session.apply_metadata(document, dry_run=True, based_on=compiled.version)
    install.cache.forget("acme")  # nothing kept: the dry run reads and compiles the version
    assert install.cache.kept(session.storage, compiled.version, session.extra_types) is None
    read = session.apply_metadata(document, dry_run=True, based_on=compiled.version)

    assert kept.plan == read.plan and kept.changes == read.changes
    dropped = next(c for c in kept.plan["changes"] if c["field"] == "birthday")
    assert dropped["destructive"] and (dropped["rows"], dropped["values"]) == (2, 1)
    assert not kept.applied and session.renew_metadata().version == compiled.version


def test_kept_metadata_serves_only_its_version_and_the_field_types_it_was_read_with(acme, install):
    session = admin(install, "ann@acme.example")
    compiled = session.metadata()
    assert install.cache.kept(session.storage, compiled.version + 1, session.extra_types) is None
    assert install.cache.kept(session.storage, compiled.version, {"vin": "string"}) is compiled  # types added
    compiled.extra_types = {"vin": "string"}  # as if read with a type the publication no longer has
    assert install.cache.kept(session.storage, compiled.version, {}) is None
    assert install.cache.kept(session.storage, compiled.version, {"vin": "text"}) is None
    compiled.extra_types = {}
    drafts = Drafts(session)
    drafts.save(with_field(drafts.open().document, "contact", WECHAT))
    assert drafts.plan().plan["changes"][0]["kind"] == "add_field"
    assert install.cache.kept(session.storage, compiled.version, session.extra_types) is compiled  # a dry run keeps it
    drafts.publish()
    assert install.cache.kept(session.storage, compiled.version, session.extra_types) is None
