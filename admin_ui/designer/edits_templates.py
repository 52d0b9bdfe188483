"""The designer's edits of message templates: plain functions from a draft document to a
new one — a template added, its subject, body and description written in English and
Chinese, a template removed. Whether the result is valid (names, syntax, a rule naming a
template that is gone) is the engine's check (`engine.drafts`)."""
from __future__ import annotations

import copy

from admin_ui.designer.edits import EditRefused, dicts, editable_list, named

STARTER = {"subject": {"en": "About {{ record.id }}", "zh-CN": "关于 {{ record.id }}"},
           "body": {"en": "Hello {{ recipient.name }},", "zh-CN": "{{ recipient.name }}，您好："}}


def template_of(document: dict, name: str) -> dict:
    return named(document, "templates", name, f"the draft has no message template {name!r}")


def add_template(document: dict, name: str) -> dict:
    """A new template called `name` with a starting subject and body in both languages."""
    out = copy.deepcopy(document)
    if any(t.get("name") == name for t in dicts(out, "templates")):
        raise EditRefused(f"the draft already has a message template {name!r}")
    editable_list(out, "templates").append({"name": name, **copy.deepcopy(STARTER)})
    return out


def set_texts(document: dict, name: str, subject: dict, body: dict, description: str | None) -> dict:
    """The template's subject and body replaced by these language maps (a language left
    empty is removed; both empty leaves the part missing, which the check reports) and its
    description set (removed when empty)."""
    out = copy.deepcopy(document)
    template = template_of(out, name)
    for part, texts in (("subject", subject), ("body", body)):
        kept = {lang: text for lang, text in texts.items() if text.strip()}
        if kept:
            template[part] = kept
        else:
            template.pop(part, None)
    if description and description.strip():
        template["description"] = description.strip()
    else:
        template.pop("description", None)
    return out


def remove_template(document: dict, name: str) -> dict:
    """The template removed (a rule or workflow still naming it is reported by the check)."""
    out = copy.deepcopy(document)
    template_of(out, name)
    out["templates"] = [t for t in out["templates"] if not (isinstance(t, dict) and t.get("name") == name)]
    return out


def uses_of(document: dict, name: str) -> list[str]:
    """Where the draft sends the template: each notify action naming it, said as the names
    of what holds it ("loyalty_tiers › upgrade_to_diamond")."""
    found: list[str] = []

    def walk(value, names: tuple):
        if isinstance(value, dict):
            if isinstance(value.get("name"), str):
                names = (*names, value["name"])
            params = value.get("params")
            if value.get("action") == "notify" and isinstance(params, dict) and params.get("template") == name:
                found.append(" › ".join(names) or "/")
            for item in value.values():
                walk(item, names)
        elif isinstance(value, list):
            for item in value:
                walk(item, names)

    for key in ("rulesets", "workflows"):
        walk(document.get(key), ())
    return found
