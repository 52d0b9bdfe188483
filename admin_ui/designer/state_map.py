"""The state map of a publication, from the review page: for each workflow state the draft
removes that still holds records (with how many), the state of the draft's workflow its
records move to — chosen by the admin, given to the publisher as its `state_map`."""
from __future__ import annotations

from flask_babel import gettext as _

from admin_ui.designer import edits

FIELD = "map_state:"  # a form input `map_state:<entity>.<state>` names the state its records go to


def removals(plan: dict, document: dict, state_map: dict) -> list[dict]:
    """The removed states holding records, from the publisher's plan: entity, state,
    records, the states of the draft's workflow they may go to, the chosen one and the
    input's name."""
    out = []
    for change in plan["changes"]:
        if change["kind"] != "drop_state" or not change.get("values"):
            continue
        entity, state = change["entity"], change["state"]
        workflow = next((w for w in edits.dicts(document, "workflows") if w.get("entity") == entity), {})
        targets = [s.get("name") for s in edits.dicts(workflow, "states")]
        out.append({"entity": entity, "field": change["field"], "state": state, "records": change["values"],
                    "targets": targets,
                    "chosen": state_map.get((entity, state), ""), "input": f"{FIELD}{entity}.{state}"})
    return out


def without_moved(words: dict, rows: list[dict]) -> dict:
    """The plan in words without what the state map answers: the removed states' records
    (the state map's choices say them, with the counts) — their failing checks and the
    refusals that name only them."""
    moved = {f"{row['entity']}.{row['field']}" for row in rows}
    words["failing"] = [c for c in words["failing"] if c.get("field") not in moved]
    words["refused"] = [r for r in words["refused"]
                        if not r.get("details") or any(d.get("field") not in moved for d in r["details"])]
    return words


def from_form(form) -> dict:
    """{(entity, removed state): new state} of the form's chosen targets (blank ones left out)."""
    found = {}
    for key, value in form.items():
        if key.startswith(FIELD) and value.strip():
            entity, _sep, state = key.removeprefix(FIELD).partition(".")
            found[(entity, state)] = value.strip()
    return found


def unmapped(rows: list[dict]) -> list[dict]:
    """The removed states holding records that no state was chosen for (each row marked
    with its problem, said next to its choice)."""
    missing = [row for row in rows if row["chosen"] not in row["targets"]]
    for row in missing:
        row["problem"] = _("Choose the state the %(num)s records in %(state)s move to.",
                           num=row["records"], state=row["state"])
    return missing
