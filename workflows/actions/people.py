"""Choosing a person for a record, shared by `assign` and `create_plan`: the candidates
(active users, optionally of one role and from a list of e-mails, in id order) and the
strategies round_robin, least_loaded, territory and segment."""
from __future__ import annotations

from engine.plugin_api import EMAIL_RE, ROLES, ActionFailed
from workflows.actions.common import engine_errors, name_problem

STRATEGIES = ("round_robin", "least_loaded", "territory", "segment")
MAX_POOL = 500


def strategy_problems(action: str, params: dict, strategy, what: str = "strategy") -> list[str]:
    """Problems with a strategy and the territory_field / segment_field it needs."""
    problems = []
    if strategy not in STRATEGIES:
        problems.append(f"{action}: unknown {what} {str(strategy)[:40]!r}; use one of {', '.join(STRATEGIES)}")
    for key in ("territory", "segment"):
        if strategy == key and f"{key}_field" not in params:
            problems.append(f"{action}: the {key} strategy needs {key}_field (the record's field to match)")
        problems += name_problem(action, f"{key}_field", params.get(f"{key}_field"), required=False)
    return problems


def role_problems(action: str, params: dict, where: str = "") -> list[str]:
    """Problems with the candidate pool: `role` and `users` (e-mails); `where` prefixes
    the keys (e.g. 'plans.vip[0].')."""
    problems = []
    role = params.get("role")
    if role is not None and role not in ROLES:
        problems.append(f"{action}: {where}role {str(role)[:40]!r} is not a role; use one of {', '.join(ROLES)}")
    users = params.get("users")
    if users is not None:
        if not isinstance(users, list) or not users or len(users) > MAX_POOL:
            problems.append(f"{action}: {where}users must be a list of 1 to {MAX_POOL} e-mail addresses")
        else:
            problems += [f"{action}: {where}users: {str(u)[:60]!r} is not an e-mail address"
                         for u in users if not isinstance(u, str) or not EMAIL_RE.fullmatch(u.strip().lower())]
    return problems


def describe_pool(role=None, emails=None) -> str:
    text = "no active user"
    if role is not None:
        text += f" with role {role!r}"
    if emails is not None:
        text += f" among {', '.join(emails[:5])}{' …' if len(emails) > 5 else ''}"
    return text


def open_states(session, entity_name: str):
    """(state field, names of the states that are not done/cancelled), or None when the
    entity has no workflow (then every record counts as open)."""
    workflow = session.metadata.workflow_for(entity_name)
    if workflow is None:
        return None
    return workflow.field, [s.name for s in workflow.states if not s.final]


def loads(session, entity_name: str, field_name: str, people) -> dict:
    """{user id: number of open records of the entity assigned to them}, every record
    counted (the system's count, whoever acts)."""
    states = open_states(session, entity_name)
    only_open = [(f"{states[0]}__in", ",".join(states[1]))] if states is not None and states[1] else []
    records = session.as_system().records
    with engine_errors("least_loaded"):
        return {p.id: records.count(entity_name, [(field_name, str(p.id)), *only_open], cap=None) for p in people}


def least_loaded(session, entity_name, field_name, people) -> tuple:
    counts = loads(session, entity_name, field_name, people)
    chosen = min(people, key=lambda p: (counts[p.id], p.id))
    return chosen, {"open_records": counts[chosen.id]}


def round_robin(session, entity_name, field_name, people, holder) -> tuple:
    """The next person after the last one chosen, in id order, wrapping around; the
    turns are `<entity>:<field>`'s (`rr:<entity>:<field>` in loom_settings)."""
    by_id = {p.id: p for p in people}
    chosen = session.counters.turns(turns_name(entity_name, field_name)).next(list(by_id), holder=holder)
    return by_id[chosen], {}


def turns_name(entity_name: str, field_name: str) -> str:
    return f"{entity_name}:{field_name}"


def matching(strategy: str, people, wanted) -> list:
    """The people whose territory equals `wanted` (case and surrounding blanks ignored)
    or whose segments contain it (any of them, for a list)."""
    if strategy == "territory":
        text = str(wanted).strip().casefold()
        return [p for p in people if p.territory is not None and p.territory.strip().casefold() == text]
    values = set(map(str, wanted)) if isinstance(wanted, list) else {str(wanted)}
    return [p for p in people if values & set(map(str, p.segments))]


def choose(session, action: str, strategy: str, *, entity: str, field: str, record: dict,
           params: dict, holder=None) -> tuple:
    """A person for `entity.field` by `strategy` among the candidates of `params`
    (role, users); territory/segment match `record`. Raises ActionFailed naming the
    strategy and why nobody fits."""
    role, emails = params.get("role"), params.get("users")
    people = session.people.active(role, emails)
    if not people:
        raise ActionFailed(f"{action} ({strategy}): {describe_pool(role, emails)} to choose from")
    if strategy == "round_robin":
        return round_robin(session, entity, field, people, holder)
    if strategy in ("territory", "segment"):
        source = params[f"{strategy}_field"]
        wanted = record.get(source)
        if wanted in (None, "", []):
            raise ActionFailed(f"{action} ({strategy}): the record's {source} is empty, so there is "
                               f"no {strategy} to match")
        people = matching(strategy, people, wanted)
        if not people:
            what = "territory is" if strategy == "territory" else "segments include"
            raise ActionFailed(f"{action} ({strategy}): {describe_pool(role, emails)} whose {what} "
                               f"{wanted!r} (the record's {source})")
    return least_loaded(session, entity, field, people)
