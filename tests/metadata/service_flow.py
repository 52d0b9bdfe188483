"""The service-request workflow the workflow tests edit, and helpers to edit it."""

import copy

from metadata import check_package, load_package

ACTIONS = ("notify", "set_field")
STATES = ["new", "in_progress", "waiting_customer", "resolved", "cancelled"]
SERVICE = {
    "entities": [
        {"name": "account", "fields": [{"name": "name", "type": "string"}]},
        {"name": "service_request", "fields": [
            {"name": "title", "type": "string", "required": True},
            {"name": "status", "type": "choice", "options": STATES, "default": "new"},
            {"name": "priority", "type": "choice", "options": ["low", "high", "blocked"]},
            {"name": "assignee", "type": "string"},
            {"name": "started", "type": "boolean"},
            {"name": "due", "type": "date"},
        ]},
    ],
    "workflows": [{
        "name": "service_flow", "entity": "service_request", "field": "status",
        "label": {"en": "Service process", "zh-CN": "服务流程"},
        "initial": "new",
        "states": [
            {"name": "new", "label": {"en": "New", "zh-CN": "新建"}, "category": "open",
             "on_enter": [{"action": "notify", "params": {"template": "ack"}}], "on_leave": [],
             "sla": {"timer": "first_response", "within": "4h", "business_hours": True,
                     "escalate": [{"action": "set_field", "params": {"field": "priority", "value": "high"}},
                                  {"action": "notify", "params": {"role": "admin"}}]}},
            {"name": "in_progress", "category": "active"},
            {"name": "waiting_customer", "category": "waiting"},
            {"name": "resolved", "category": "done"},
            {"name": "cancelled", "category": "cancelled"},
        ],
        "transitions": [
            {"name": "start", "from": ["new"], "to": "in_progress", "label": {"en": "Start work"},
             "roles": ["admin", "member"], "requires": ["assignee"],
             "guard": {"field": "priority", "op": "ne", "value": "blocked"},
             "actions": [{"action": "set_field", "params": {"field": "started", "value": True}}],
             "comment": "optional"},
            {"name": "resolve", "from": ["in_progress", "waiting_customer"], "to": "resolved", "comment": "required"},
            {"name": "cancel", "from": "*", "to": "cancelled",
             "approval": {"role": "admin", "count": 2, "mode": "any"}},
        ],
    }],
    "rulesets": [{"name": "vip_rules", "rules": [{"when": {"any": []}, "then": "x"}], "anything": 1}],
}
W = "/workflows/0"


def edited(edit, document=SERVICE):
    document = copy.deepcopy(document)
    edit(document)
    return document


def workflow_of(document):
    return document["workflows"][0]


def found(document, **kw):
    kw.setdefault("known_actions", ACTIONS)
    return sorted((p.path, p.code) for p in check_package(document, **kw))


PACKAGE = load_package(SERVICE, known_actions=ACTIONS)
FLOW = PACKAGE.workflows[0]


def set_in(path, value):
    """An edit that sets the value at ``path`` (a list of keys) in the document."""
    def edit(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return edit


DELETE = object()
WF, T0, S0 = ["workflows", 0], ["workflows", 0, "transitions", 0], ["workflows", 0, "states", 0]


def add_workflow(**changes):
    return lambda d: d["workflows"].append({**copy.deepcopy(SERVICE["workflows"][0]), **changes})


def status_field(d):
    return d["entities"][1]["fields"][1]
