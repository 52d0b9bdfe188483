"""What a record write announces to plugins and to the outbox."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecordEvent:
    tenant: str
    entity: str
    action: str            # "created" | "updated" | "deleted" | "transitioned"
    record_id: int
    record: dict           # the record as JSON (after the write; before it, for deletes)
    changes: dict = field(default_factory=dict)   # {field: [old, new]} in JSON form
    actor: str | None = None  # the acting user's e-mail, None for the system
    extra: dict = field(default_factory=dict)     # e.g. the transition taken, for "transitioned"

    @property
    def name(self) -> str:
        return f"record.{self.action}"

    def to_dict(self) -> dict:
        return {"event": self.name, "tenant": self.tenant, "entity": self.entity,
                "id": self.record_id, "record": self.record, "changes": self.changes,
                "actor": self.actor, **({"extra": self.extra} if self.extra else {})}
