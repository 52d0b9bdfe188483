"""A workflow transition tried on a real record: the real step, rolled back.

`trial_transition` takes the transition with `transitions.perform` — its checks, its
approvals, the write with its transition log, SLA timers, audit and outbox rows, and what
plugins and validation rules check inside the write — in one transaction that is rolled
back (`engine.rolled_back`), and says what happened as values: the verdict of every check
(the first refusal is the one `perform` answers), the outcome, what was written, the
events it left in the outbox, and the actions that would then run (the workflow's and the
automation rules' it fires, evaluated on those events; actions run only after a commit,
so none runs here). The database is as it was afterwards.

With a `package` (an admin's draft), the step is taken under the draft's workflow and
rules instead of the live ones, on the live tables: a draft whose tables differ from the
live ones (fields added, dropped or retyped) cannot be tried in a real transaction, and is
refused (`draft_not_published`) naming the differences."""
from __future__ import annotations

import copy
from dataclasses import replace

from sqlalchemy import func, select

from engine.crypto.copies import Copies
from engine.errors import Conflict, LoomError
from engine.hooks import TenantHooks
from engine.install import TenantSession
from engine.records.pinning import MetadataChanged
from engine.records.service import RecordService
from engine.rolled_back import rolled_back
from engine.runtime import CompiledMetadata
from engine.systables import loom_table
from metadata.conditions import explain_condition
from workflows import transitions
from workflows.correlations import DatabaseCorrelationStore
from workflows.rules import RulesEngine
from workflows.runtime import entity_field_types, rule_event, workflow_actions

TRIAL_VERSION = 1  # the trial's own rules engine publishes the rule sets once


def trial_transition(session, entity_name, record_id, name, role=None, comment=None, package=None) -> dict:
    """Take transition `name` on the record as `session`'s actor would (with `role` instead
    of theirs, when given) and roll it back. With `package`, under that package's workflow
    and rules (`draft_not_published` when its tables are not the live ones). Returns
    `checks` ([{check, passed, refusal}]), `outcome` (`done`, `pending_approval` or
    `refused`), `status` (what `perform` answered), `refusal` (its error, or None),
    `record` (before) and `after`, `changes` (field: [before, after]), `written` (the
    audit rows: what each write changed), `events` and `actions` (what would run after
    commit), `approval` and `guard` (explained leaf by leaf)."""
    live = session.metadata()
    compiled = live if package is None else drafted(live, package)
    actor = session.actor if role is None or session.actor is None else replace(session.actor, role=role, _cache={})
    with rolled_back(session.storage, live.version) as storage:
        trial = _TrialSession(session, storage, compiled, actor)
        try:
            record = trial.records.get_clear(entity_name, record_id)  # what perform's checks judge
            entity, workflow, transition = transitions.transition_of(trial, entity_name, name)
            checks = transitions.checks(trial, entity, workflow, transition, record, comment)
            approval = transitions.approval_status(trial, entity_name, record, transition)
            marks = _marks(storage)
            try:
                status, _body = transitions.perform(trial, entity_name, record["id"], name, comment)
                refusal = None
            except MetadataChanged:
                raise
            except LoomError as exc:
                status, refusal = exc.status, exc
            after = trial.records.get_clear(entity_name, record["id"])
            audits, events = _written(storage, marks, live)
            actions = _actions(trial, workflow, events)
        finally:
            trial.rules_engine.withdraw(session.tenant.slug)
    outcome = "refused" if refusal is not None else ("pending_approval" if status == 202 else "done")
    return {"entity": entity_name, "workflow": workflow.name, "transition": transition.name,
            "from": record[workflow.field], "to": transition.to, "role": actor.role if actor else None,
            "checks": [{"check": c.name, "passed": c.passed, "refusal": _error(c.refusal)} for c in checks],
            "outcome": outcome, "status": status, "refusal": _error(refusal), "record": record, "after": after,
            "changes": {k: [record.get(k), v] for k, v in after.items() if record.get(k) != v and k in _fields(entity)},
            "written": [{"action": a["action"], "entity": a["entity"], "record_id": a["record_id"],
                         "changes": a["changes"]} for a in audits],
            "events": [{"event": e["event"], "entity": e["entity"], "record_id": e["record_id"],
                        "changes": e["changes"]} for e in events],
            "actions": actions, "approval": approval,
            "guard": {"condition": transition.guard, "leaves": explain_condition(transition.guard, record, entity)}
            if transition.guard else None,
            "requires": list(transition.requires), "comment_mode": transition.comment}


def drafted(live: CompiledMetadata, package) -> CompiledMetadata:
    """`package` compiled over the live tables, under the live version, with the tenant's
    data keys (its encrypted fields read and write as the live ones: encrypted, hashed and
    sealed in the audit and outbox copies); `draft_not_published` (409) when its tables
    differ from the live ones (a field made encrypted or clear is such a difference)."""
    draft = CompiledMetadata(live.version, package, live.schema, dict(live.validators), slug=live.slug,
                             keyring=live.keyring, extra_types=dict(live.extra_types))
    differences = table_differences(live.tables, draft.tables)
    if differences:
        raise Conflict(f"the draft's tables differ from the live ones ({'; '.join(d['message'] for d in differences)})"
                       f": a transition cannot be tried on them in a real transaction; publish these changes "
                       f"first, or try it without them", details=differences, code="draft_not_published")
    return draft


def table_differences(live: dict, draft: dict) -> list[dict]:
    """What makes `draft`'s tables ({entity: Table}) other than `live`'s: an entity or a
    column added or removed, or a column of another type."""
    found = []
    for name in sorted(set(live) | set(draft)):
        if name not in draft or name not in live:
            said = "adds" if name in draft else "removes"
            found.append({"field": f"/entities/{name}", "code": "draft_not_published", "entity": name,
                          "change": f"{said}_entity", "message": f"the draft {said} the entity {name}"})
            continue
        old, new = {c.name: c for c in live[name].columns}, {c.name: c for c in draft[name].columns}
        for column in sorted(set(old) | set(new)):
            if column not in old or column not in new:
                change = "adds" if column in new else "removes"
            elif repr(old[column].type) != repr(new[column].type):
                change = "retypes"
            else:
                continue
            said = {"retypes": "changes the type of"}.get(change, change)
            found.append({"field": f"/entities/{name}/fields/{column}", "code": "draft_not_published",
                          "entity": name, "column": column, "change": change,
                          "message": f"the draft {said} the field {name}.{column}"})
    return found


class _TrialSession(TenantSession):
    """`session` on the rolled-back storage, under `compiled`, acting as `actor`: its writes
    run their hooks before the write (plugins' and validation rules' checks) but none after
    commit (nothing commits); its rules are `compiled`'s, evaluated with correlations
    counted in the trial's transaction."""

    def __init__(self, session, storage, compiled, actor):
        super().__init__(session.install, session.tenant, actor)
        self.storage, self.enabled, self._compiled = storage, session.enabled, compiled
        self.rules_engine = RulesEngine(_Correlations(storage))
        self.rules_engine.publish(session.tenant.slug, TRIAL_VERSION, list(compiled.package.rulesets),
                                  entity_field_types(compiled.package))

    def renew_metadata(self):
        raise MetadataChanged()  # the trial holds its version: a move under it ends the trial

    @property
    def records(self) -> RecordService:
        return RecordService(self.storage, self._compiled, _Uncommitted(self.install.plugins, self.enabled, self),
                             self.actor, self.tenant.slug, renew=self.renew_metadata, system=self.system_writes)

    def for_actions(self) -> "TenantSession":
        acting = copy.copy(self)  # the same transaction, metadata and rules
        acting.system_writes = True
        return acting


class _Uncommitted(TenantHooks):
    def after_commit(self, event) -> None:
        """Nothing commits in a trial: the after-commit hooks do not run."""

    def after_commit_all(self, events) -> None:
        """Nor for a write of several records."""


class _Correlations(DatabaseCorrelationStore):
    """Correlated rules counted in the trial's transaction (and rolled back with it)."""

    def __init__(self, storage):
        super().__init__(None)
        self.storage = storage

    def storage_of(self, tenant):
        return self.storage


def _marks(storage) -> dict:
    """The last id of each table a step writes, before it."""
    with storage.connect() as conn:
        return {name: conn.execute(select(func.coalesce(func.max(loom_table(storage.schema, name).c.id), 0)))
                .scalar_one() for name in ("loom_audit", "loom_outbox")}


def _written(storage, marks, metadata) -> tuple[list[dict], list[dict]]:
    """(the audit rows, the outbox events) written since `marks`, oldest first, with the
    values sealed in them opened (`metadata`'s keys)."""
    audit, outbox = (loom_table(storage.schema, name) for name in ("loom_audit", "loom_outbox"))
    with storage.connect() as conn:
        audits = conn.execute(select(audit).where(audit.c.id > marks["loom_audit"]).order_by(audit.c.id))
        copies = Copies(metadata)
        audits = [{**r, "changes": copies.opened_changes(r["changes"])} for r in audits.mappings()]
        rows = conn.execute(select(outbox).where(outbox.c.id > marks["loom_outbox"]).order_by(outbox.c.id))
        rows = [dict(r) for r in rows.mappings()]
    return audits, [rule_event(storage.slug, row, metadata) for row in rows]


def _actions(trial, workflow, events) -> list[dict]:
    """The actions each event would run after commit: its workflow's, then those of the
    automation rules it fires (with the rule's name)."""
    package = trial.metadata().package
    found = []
    for index, event in enumerate(events):
        flow = workflow if event["entity"] == workflow.entity else package.workflow_for(event["entity"])
        if flow is not None:
            found += [{"event": index, "by": "workflow", "rule": None, "action": a["action"],
                       "params": a.get("params") or {}} for a in workflow_actions(flow, event)]
        for firing in trial.rules_engine.evaluate(event, kind="automation"):
            found += [{"event": index, "by": "rule", "rule": f"{firing.ruleset}.{firing.rule}",
                       "action": a["action"], "params": a.get("params") or {}} for a in firing.actions]
    return found


def _fields(entity) -> set:
    return {f.name for f in entity.fields}


def _error(error) -> dict | None:
    if error is None:
        return None
    return {"status": error.status, "code": error.code, "message": error.message, "details": error.details}
