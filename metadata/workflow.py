"""The workflow model: a declarative state machine bound to an entity's choice field.

Like the entity model, building it does NOT validate (use ``metadata.load_package``)
and it holds one canonical shape: labels as language maps, actions as
``{"action": name, "params": {...}}``, ``from: "*"`` as ``from_states=None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from .jsoncopy import json_copy
from .model import default_label, language_map

STATE_CATEGORIES = ("open", "active", "waiting", "done", "cancelled")
COMMENT_MODES = ("none", "optional", "required")
APPROVAL_MODES = ("any", "all")
ANY_STATE = "*"
DURATION = re.compile(r"^[1-9][0-9]*(m|h|d)$")
_MINUTES = {"m": 1, "h": 60, "d": 1440}


def duration_minutes(text) -> int | None:
    """``"4h"`` -> 240, ``"2d"`` -> 2880 (calendar minutes); None when malformed."""
    if not isinstance(text, str) or not DURATION.fullmatch(text):
        return None
    return int(text[:-1]) * _MINUTES[text[-1]]


def format_minutes(minutes: int) -> str:
    """The shortest duration text for a number of minutes: 240 -> ``"4h"``."""
    for unit in ("d", "h"):
        if minutes % _MINUTES[unit] == 0:
            return f"{minutes // _MINUTES[unit]}{unit}"
    return f"{minutes}m"


def action_of(doc: Mapping) -> dict:
    """An action in canonical form (a private copy): ``{"action": name, "params": {...}}``."""
    return {"action": doc["action"], "params": json_copy(dict(doc.get("params") or {}))}


def _actions(docs) -> tuple:
    return tuple(action_of(a) for a in docs or ())


def _copies(actions) -> list:
    return [json_copy(a) for a in actions]


@dataclass(frozen=True)
class Approval:
    """Sign-off a transition needs before it happens: ``count`` people holding ``role``."""

    role: str
    count: int = 1
    mode: str = "any"  # "any": any `count` holders of the role; "all": every holder

    def to_dict(self) -> dict:
        return {"role": self.role, "count": self.count, "mode": self.mode}

    @classmethod
    def from_document(cls, doc: Mapping) -> "Approval":
        count = doc.get("count", 1)
        return cls(doc["role"], int(count), doc.get("mode", "any"))


@dataclass(frozen=True)
class Sla:
    """A timer started on entering a state; ``escalate`` runs when it expires.

    ``within`` keeps the document's text (``"4h"``); ``within_minutes`` is its
    length in calendar minutes (``d`` = 1440).  With ``business_hours`` the
    engine counts those minutes in the tenant's business hours only.
    """

    timer: str
    within_minutes: int
    business_hours: bool = False
    escalate: tuple = ()
    within: str = ""

    def __post_init__(self):
        if not isinstance(self.escalate, tuple):
            object.__setattr__(self, "escalate", tuple(self.escalate))
        if not self.within:
            object.__setattr__(self, "within", format_minutes(self.within_minutes))

    def to_dict(self) -> dict:
        out: dict = {"timer": self.timer, "within": self.within}
        if self.business_hours:
            out["business_hours"] = True
        if self.escalate:
            out["escalate"] = _copies(self.escalate)
        return out

    @classmethod
    def from_document(cls, doc: Mapping) -> "Sla":
        within = doc["within"]
        return cls(timer=doc["timer"], within_minutes=duration_minutes(within), within=within,
                   business_hours=bool(doc.get("business_hours", False)), escalate=_actions(doc.get("escalate")))


@dataclass(frozen=True)
class State:
    """One state; ``category`` tells reports and the UI what it means (open ... cancelled)."""

    name: str
    label: dict
    category: str
    on_enter: tuple = ()
    on_leave: tuple = ()
    sla: Sla | None = None

    def __post_init__(self):
        for attr in ("on_enter", "on_leave"):
            if not isinstance(getattr(self, attr), tuple):
                object.__setattr__(self, attr, tuple(getattr(self, attr)))

    @property
    def final(self) -> bool:
        """True for the categories that end the process (done, cancelled)."""
        return self.category in ("done", "cancelled")

    def to_dict(self) -> dict:
        out: dict = {"name": self.name, "label": dict(self.label), "category": self.category}
        if self.on_enter:
            out["on_enter"] = _copies(self.on_enter)
        if self.on_leave:
            out["on_leave"] = _copies(self.on_leave)
        if self.sla is not None:
            out["sla"] = self.sla.to_dict()
        return out

    @classmethod
    def from_document(cls, doc: Mapping) -> "State":
        name = doc["name"]
        sla = doc.get("sla")
        return cls(name=name, label=language_map(doc.get("label")) or default_label(name),
                   category=doc["category"], on_enter=_actions(doc.get("on_enter")),
                   on_leave=_actions(doc.get("on_leave")),
                   sla=Sla.from_document(sla) if sla is not None else None)


@dataclass(frozen=True)
class Transition:
    """A named move to ``to`` from ``from_states`` (None: from any state, written ``"*"``).

    ``roles`` empty means any role may take it; ``requires`` lists fields that must
    be filled; ``guard`` is a condition (see ``metadata.conditions``) that must hold.
    """

    name: str
    from_states: tuple | None
    to: str
    label: dict
    roles: tuple = ()
    requires: tuple = ()
    guard: dict | None = None
    actions: tuple = ()
    comment: str = "none"
    approval: Approval | None = None

    def __post_init__(self):
        for attr in ("roles", "requires", "actions"):
            if not isinstance(getattr(self, attr), tuple):
                object.__setattr__(self, attr, tuple(getattr(self, attr)))
        if self.from_states is not None and not isinstance(self.from_states, tuple):
            object.__setattr__(self, "from_states", tuple(self.from_states))

    def leaves(self, state: str) -> bool:
        """Whether this transition can be taken from ``state``."""
        return self.from_states is None or state in self.from_states

    def allows_role(self, role: str) -> bool:
        return not self.roles or role in self.roles

    def to_dict(self) -> dict:
        out: dict = {"name": self.name,
                     "from": ANY_STATE if self.from_states is None else list(self.from_states),
                     "to": self.to, "label": dict(self.label)}
        if self.roles:
            out["roles"] = list(self.roles)
        if self.requires:
            out["requires"] = list(self.requires)
        if self.guard is not None:
            out["guard"] = json_copy(self.guard)
        if self.actions:
            out["actions"] = _copies(self.actions)
        if self.comment != "none":
            out["comment"] = self.comment
        if self.approval is not None:
            out["approval"] = self.approval.to_dict()
        return out

    @classmethod
    def from_document(cls, doc: Mapping) -> "Transition":
        name, source = doc["name"], doc["from"]
        approval, guard = doc.get("approval"), doc.get("guard")
        return cls(name=name, from_states=None if source == ANY_STATE else tuple(source), to=doc["to"],
                   label=language_map(doc.get("label")) or default_label(name),
                   roles=tuple(doc.get("roles", ())), requires=tuple(doc.get("requires", ())),
                   guard=json_copy(dict(guard)) if guard is not None else None,
                   actions=_actions(doc.get("actions")), comment=doc.get("comment", "none"),
                   approval=Approval.from_document(approval) if approval is not None else None)


@dataclass(frozen=True)
class Workflow:
    """A state machine over ``entity.field``; new records start in ``initial``."""

    name: str
    entity: str
    field: str
    label: dict
    initial: str
    states: tuple
    transitions: tuple = ()

    def __post_init__(self):
        for attr in ("states", "transitions"):
            if not isinstance(getattr(self, attr), tuple):
                object.__setattr__(self, attr, tuple(getattr(self, attr)))
        states, transitions = {}, {}
        for s in self.states:
            states.setdefault(s.name, s)
        for t in self.transitions:
            transitions.setdefault(t.name, t)
        # Not dataclass fields, so they stay out of __eq__ / __repr__.
        object.__setattr__(self, "_states", states)
        object.__setattr__(self, "_transitions", transitions)

    def state(self, name: str) -> State | None:
        return self._states.get(name)

    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    def transition(self, name: str) -> Transition | None:
        return self._transitions.get(name)

    def transitions_from(self, state: str) -> tuple[Transition, ...]:
        """The transitions that can be taken from ``state`` (``"*"`` ones included), in order."""
        return tuple(t for t in self.transitions if t.leaves(state))

    def to_dict(self) -> dict:
        return {"name": self.name, "entity": self.entity, "field": self.field, "label": dict(self.label),
                "initial": self.initial, "states": [s.to_dict() for s in self.states],
                "transitions": [t.to_dict() for t in self.transitions]}

    @classmethod
    def from_document(cls, doc: Mapping) -> "Workflow":
        name = doc["name"]
        return cls(name=name, entity=doc["entity"], field=doc["field"],
                   label=language_map(doc.get("label")) or default_label(name), initial=doc["initial"],
                   states=tuple(State.from_document(s) for s in doc["states"]),
                   transitions=tuple(Transition.from_document(t) for t in doc.get("transitions", ())))
