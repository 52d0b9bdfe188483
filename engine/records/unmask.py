"""Unmasking: a user reads fields of a record in clear that it otherwise reads masked, as
an explicit action with a reason it gives, written to the access log with who, what,
when and why."""
from __future__ import annotations

from engine.errors import Forbidden, ValidationFailed
from engine.records.access_log import log_access
from engine.records.inputs import record_id_of as _record_id, unstorable
from engine.records.pii import class_of, may_unmask, pii_fields

MAX_REASON = 500
RIGHT_NEEDED = ("identity", "sensitive")  # PIPL's sensitive personal information: a reason is not enough


class UnmaskReads:
    """The record service's `unmask`."""

    def unmask(self, entity_name, record_id, fields, reason) -> dict:
        """`{"id": …, "fields": {name: clear value}}` of a record the actor may read, for
        `fields` (names of its fields holding personal data) and a non-empty `reason`;
        every bad input reported at once, nothing logged then."""
        entity, _table, _shape = self._entity(entity_name)
        record_id = _record_id(record_id, entity_name)
        names = _problems_of(entity, fields, reason)
        _require_right(self.actor, entity, names)
        record = self.get_clear(entity_name, record_id, ",".join(names))
        if self.actor is not None:
            log_access(self.storage, self.actor.id, "unmask", entity.name, [record_id],
                       {"fields": names, "reason": reason.strip()})
        return {"id": record_id, "fields": {name: record[name] for name in names}}


def _problems_of(entity, fields, reason) -> list[str]:
    personal = pii_fields(entity)
    details = []
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        details.append({"field": "fields", "message": "a non-empty list of field names"})
    else:
        details += [{"field": "fields", "message": f"{name[:63]!r} is no field of {entity.name} holding personal data"}
                    for name in fields if name not in personal]
    if not isinstance(reason, str) or not reason.strip():
        details.append({"field": "reason", "message": "say why you need the values (required)"})
    elif len(reason) > MAX_REASON:
        details.append({"field": "reason", "message": f"at most {MAX_REASON} characters"})
    elif (problem := unstorable(reason, "reason")) is not None:
        details.append(problem)
    if details:
        raise ValidationFailed("cannot unmask: " + "; ".join(d["message"] for d in details),
                               details=details, code="bad_unmask")
    return list(dict.fromkeys(fields))


def _require_right(actor, entity, names) -> None:
    """Identity and sensitive values are unmasked only by a user whose roles grant it
    (`unmask` of the class); contact and financial values by any reader who says why."""
    refused = [name for name in names if actor is not None and class_of(entity.field(name)) in RIGHT_NEEDED
               and not may_unmask(actor, class_of(entity.field(name)))]
    if refused:
        raise Forbidden(f"your roles do not let you unmask {', '.join(refused)} "
                        f"({', '.join(sorted({class_of(entity.field(n)) for n in refused}))} data): ask an admin",
                        code="unmask_not_allowed")
