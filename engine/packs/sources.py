"""A pack's bundle from its split sources: pack.json's `bundle` lists one file per
entity, workflow, rule set and template, layout files (one layout, or an entity's
layouts), roles and permission sets (one per file), and `extends` files (changes to other packs' definitions). The bundle is
composed in the listed order; every problem is reported with the file it is in."""
from __future__ import annotations

from pathlib import Path

from engine.jsontext import strict_loads

LISTED = ("entities", "workflows", "rulesets", "templates", "layouts", "roles", "permission_sets", "extends")


def compose(directory: Path, listing: dict) -> tuple[dict, list[str]]:
    """(bundle, problems) of the `bundle` listing of pack.json in `directory`."""
    bundle, problems = {}, []
    for key, value in listing.items():
        if key not in LISTED:
            bundle[key] = value
    for kind in LISTED:
        if kind not in listing:
            continue
        items = bundle.setdefault(kind, [])
        for ref in listing[kind]:
            content, problem = _load(directory, ref)
            if problem:
                problems.append(problem)
                continue
            found, wrong = _items(kind, ref, content)
            items += found
            problems += [f"{ref}: {why}" for why in wrong]
    return bundle, problems


def _load(directory: Path, ref: str):
    path = directory / ref
    try:
        return strict_loads(path.read_text(encoding="utf-8")), None
    except OSError as exc:
        return None, f"{ref}: listed in pack.json but cannot be read ({exc.strerror})"
    except ValueError as exc:
        return None, f"{ref}: not valid JSON: {exc}"


def _items(kind: str, ref: str, content) -> tuple[list, list[str]]:
    """The definitions a file adds to `kind`, and what is wrong with it."""
    stem = Path(ref).stem
    if kind == "extends":
        if not isinstance(content, list):
            return [], ["an extends file holds a list of changes"]
        return content, []
    if kind == "layouts" and isinstance(content, list):
        wrong = [f"layout {n} is for entity {_show(item, 'entity')}, not {stem!r} as the file's name says"
                 for n, item in enumerate(content) if not isinstance(item, dict) or item.get("entity") != stem]
        return ([], wrong) if wrong else (content, [])
    if not isinstance(content, dict):
        what = "one layout, or a list of one entity's layouts" if kind == "layouts" else "one JSON object"
        return [], [f"a {kind} file holds {what}"]
    if content.get("name") != stem:
        return [], [f"its name {_show(content, 'name')} differs from the file's name {stem!r}"]
    return [content], []


def _show(item, key) -> str:
    value = item.get(key) if isinstance(item, dict) else None
    return repr(value) if value is not None else f"(no {key})"
