"""What an admin does with their draft: open it on the current version, save it (checked,
kept even when invalid), see the other admins' drafts, review the publishing plan,
rebase it on a newer version, publish it through the one publisher, or discard it.

Reading never writes: until the admin's first save their draft is the current version
as published (a draft with no row, `id` None), and a draft without changes follows the
current version without being rewritten. The publishing plan of a draft is kept per
draft revision with the compiled metadata of the current version, so reviewing the same
draft again costs no dry run."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from engine.drafts import store
from engine.drafts.checking import checked, problems_of
from engine.drafts.rebasing import rebase_draft
from engine.errors import Conflict, Forbidden, ValidationFailed
from engine.migration import versions
from engine.words import counted
from metadata.jsoncopy import json_copy

EMPTY = {"entities": []}


@dataclass(frozen=True)
class Draft:
    id: int
    owner_email: str
    based_on: int
    document: dict
    problems: list
    created_at: datetime
    updated_at: datetime

    @property
    def saved(self) -> bool:
        """Whether the draft has a row (an admin's draft is made on their first save)."""
        return self.id is not None

    @classmethod
    def of(cls, row) -> "Draft":
        return cls(row["id"], row["owner_email"], row["based_on"], row["document"], row["problems"],
                   row["created_at"], row["updated_at"])

    def summary(self) -> dict:
        """Who, on which version, when (another admin's draft as the designer shows it)."""
        return {"owner": self.owner_email, "based_on": self.based_on, "updated_at": self.updated_at}


class DraftOutdated(Conflict):
    """Publishing a draft made from a version that is no longer the current one."""

    code = "draft_outdated"


class Drafts:
    """The drafts of the session's tenant, as its actor (an admin) sees them."""

    def __init__(self, session):
        if session.actor is None:
            raise Forbidden("a draft belongs to a signed-in tenant admin", code="admin_only")
        session.require_admin(to="keep a designer draft")
        self.session, self.storage, self.actor = session, session.storage, session.actor
        self._mine: Draft | None | bool = False  # the admin's draft row as last read (False: not read)

    # -- reading ----------------------------------------------------------------------
    def published(self, version: int | None = None) -> tuple[int, dict]:
        """(a published version's number, its document): the current one by default (kept
        with the compiled metadata of its version: read it, never change it)."""
        number = version
        if number is None:
            with self.storage.connect() as conn:
                number = versions.current_version(conn, self.storage.schema)
        compiled = self.session.metadata()
        if number and number == compiled.version:
            return number, compiled.memo(("published_document",), compiled.package.to_dict)
        if not number:
            return number, EMPTY
        with self.storage.connect() as conn:
            row = versions.load_version(conn, self.storage.schema, number)
        return number, (row["document"] if row is not None else EMPTY)

    def mine(self) -> Draft | None:
        """The admin's open draft row (read once: this object's own writes read it again)."""
        if self._mine is False:
            with self.storage.connect() as conn:
                row = store.open_of(conn, self.storage.schema, self.actor.id)
            self._mine = None if row is None else Draft.of(row)
        return self._mine

    def _reread(self) -> Draft | None:
        self._mine = False
        return self.mine()

    def others(self, changed_only=True) -> list[Draft]:
        """The other admins' open drafts of this tenant (those that change something)."""
        with self.storage.connect() as conn:
            rows = store.all_open(conn, self.storage.schema, except_owner=self.actor.id)
        bases: dict = {}
        found = []
        for row in rows:
            if not changed_only:
                found.append(Draft.of(row))
                continue
            if row["based_on"] not in bases:
                bases[row["based_on"]] = self.published(row["based_on"])[1]
            if row["document"] != bases[row["based_on"]]:
                found.append(Draft.of(row))
        return found

    def status(self, draft: Draft) -> dict:
        """Where the draft stands: the version it is based on, the current one, whether it
        changes anything and whether a newer version was published since."""
        current, document = self.published()
        _, base = self.published(draft.based_on)
        return {"based_on": draft.based_on, "current": current, "outdated": draft.based_on != current,
                "changed": draft.document != base, "problems": len(draft.problems),
                "others": [d.summary() for d in self.others()]}

    def open(self) -> Draft:
        """The admin's open draft, read only: the current version as published when they
        have none yet (not saved, `id` None); a draft without changes follows the current
        version (there is nothing to rebase)."""
        found = self.mine()
        version, document = self.published()
        if found is None:
            return Draft(None, self.actor.email, version, json_copy(document), [], None, None)
        if found.based_on != version and found.document == self.published(found.based_on)[1]:
            return replace(found, based_on=version, document=json_copy(document), problems=[])
        return found

    # -- writing ----------------------------------------------------------------------
    def save(self, document) -> Draft:
        """Keep `document` as the draft with its problems (an invalid draft is kept too,
        its problems with it); a valid one is kept in its canonical form. The admin's
        first save makes their draft."""
        if not isinstance(document, dict):
            raise ValidationFailed("a metadata document is a JSON object", code="bad_document",
                                   details=[{"field": "", "code": "not_object", "message": "not a JSON object"}])
        draft = self.open()
        problems, canonical, package = checked(self.session, document)
        kept = canonical or document
        if not draft.saved:
            self._mine = False
            saved = Draft.of(store.create(self.storage, self.actor, draft.based_on, kept, problems))
        else:
            store.write(self.storage, draft.id, based_on=draft.based_on, document=kept, problems=problems)
            saved = self._reread()
        if package is not None:  # the plan's dry run need not check it again
            self._checked()[saved.id] = (kept, package)
        return saved

    def _checked(self) -> dict:
        """{draft id: (document, its checked Package)} of this metadata version."""
        return self.session.metadata().memo(("draft_checked",), dict)

    def discard(self) -> None:
        draft = self.mine()
        if draft is not None:
            store.close(self.storage, draft.id, "discarded")
            self._mine = None

    def rebase(self, keep_mine=(), take_theirs=()) -> Draft:
        """Replay the draft onto the current version; refused (409 rebase_conflicts, each
        conflict with both values) while a conflict is unresolved, changing nothing."""
        draft = self.open()
        current, new_base = self.published()
        if draft.based_on == current:
            return draft
        _, old_base = self.published(draft.based_on)
        rebased = rebase_draft(draft.document, old_base, new_base, keep_mine, take_theirs)
        if rebased.conflicts:
            raise Conflict(f"the draft conflicts with version {current} in "
                           f"{counted(len(rebased.conflicts), 'place')}; keep yours or take theirs for each",
                           code="rebase_conflicts", details=rebased.conflicts)
        problems, canonical = problems_of(self.session, rebased.document)
        store.write(self.storage, draft.id, based_on=current, document=canonical or rebased.document,
                    problems=problems)
        return self._reread()

    # -- publishing -------------------------------------------------------------------
    def plan(self, state_map=None):
        """The publishing plan of the draft (a dry run of the publisher). Without a state
        map it is kept for the draft's revision and the current metadata version: its
        counts are those of its first review (publishing counts and checks again)."""
        draft = self._publishable()
        if state_map:
            return self._dry_run(draft, state_map)
        kept = self.session.metadata().memo(("draft_plans",), dict)
        revision = (draft.updated_at, draft.based_on)
        found = kept.get(draft.id)
        if found is None or found[0] != revision:
            found = kept[draft.id] = (revision, self._dry_run(draft, None))
        return found[1]

    def _dry_run(self, draft: Draft, state_map):
        document, package = self._checked().get(draft.id, (None, None))
        return self.session.apply_metadata(draft.document, dry_run=True, state_map=state_map,
                                           based_on=draft.based_on,
                                           checked=package if document == draft.document else None)

    def publish(self, allow_drop=False, state_map=None):
        """Publish the draft through the publisher (recording who published it); the draft
        is then closed with the version it became."""
        draft = self._publishable()
        try:
            result = self.session.apply_metadata(draft.document, allow_drop=allow_drop, state_map=state_map,
                                                 based_on=draft.based_on)
        except Conflict as exc:
            if exc.code == "version_moved":
                raise self._outdated(draft, exc.problems[0].details.get("current")) from None
            raise
        store.close(self.storage, draft.id, "published", result.version)
        self._mine = None
        return result

    def _publishable(self) -> Draft:
        draft = self.open()
        current, document = self.published()
        if draft.based_on != current:
            raise self._outdated(draft, current)
        if draft.problems:
            raise ValidationFailed(f"the draft has {counted(len(draft.problems), 'problem')}; "
                                   f"correct them before publishing", code="invalid_metadata",
                                   details=draft.problems)
        if draft.document == document:
            raise ValidationFailed(f"the draft changes nothing: it is version {current} as published",
                                   code="draft_unchanged")
        return draft

    @staticmethod
    def _outdated(draft: Draft, current) -> DraftOutdated:
        return DraftOutdated(f"your draft is based on version {draft.based_on}, and version {current} was "
                             f"published since: rebase the draft on version {current}, review it and publish",
                             details=[{"field": "", "code": "draft_outdated", "message": "rebase offered",
                                       "based_on": draft.based_on, "current": current}])
