"""A workflow drawn as SVG on the server from the draft's workflow document: the states in
a row (in their order, a box each, coloured by category), each transition an arc from
its source states to its target (forward arcs above the row, backward ones below, a
transition from any state from an "any state" box on the left), the selected state or
transition highlighted. The picture is an image with a title and a description saying
every transition in words; the editable table beside it is the source of truth."""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

BOX_W, BOX_H, GAP = 132, 44, 56
STEP = BOX_W + GAP
ARC = 34  # height of an arc between neighbours; longer ones are higher
LANE = 18  # extra height of each further arc between the same two states
MARGIN = 16
FILLS = {"open": "#e8f0fe", "active": "#fff4d6", "waiting": "#f3e8fd", "done": "#e3f5e6", "cancelled": "#eeeeee"}


@dataclass(frozen=True)
class Words:
    """The diagram's texts in the request's language."""

    title: str
    any_state: str
    initial: str  # said before the initial state (marked ▶ in the picture)
    transition: str  # "%(name)s: from %(from)s to %(to)s"
    selected: str  # said before the selected state or transition


def diagram(workflow: dict, labels: dict, words: Words, selected: tuple[str, str] | None = None) -> Markup:
    """The SVG of `workflow` (a draft's workflow document); `labels` maps a state or
    transition name to its shown label; `selected` is ("state", name) or ("transition", name)."""
    states = [s for s in _items(workflow.get("states")) if isinstance(s.get("name"), str)]
    transitions = [t for t in _items(workflow.get("transitions")) if isinstance(t.get("name"), str)]
    names = [s["name"] for s in states]
    any_used = any(t.get("from") == "*" for t in transitions)
    offset = 1 if any_used else 0
    column = {name: i + offset for i, name in enumerate(names)}
    arcs, lanes, said = [], {}, []
    for t in transitions:
        source, to = t.get("from"), _text(t.get("to"))
        sources = names if source == "*" else [s for s in source if isinstance(s, str)] if isinstance(source, list) else []
        start_columns = [0] if source == "*" else [column[s] for s in sources if s in column]
        target = column.get(to)
        label = labels.get(("transition", t["name"]), t["name"])
        said.append(words.transition % {"name": label, "from": ", ".join(
            [words.any_state] if source == "*" else [labels.get(("state", s), s) for s in sources]),
            "to": labels.get(("state", to), to)})
        if target is None:
            continue
        for start in start_columns:
            key = (min(start, target), max(start, target), start < target)
            lane = lanes.get(key, 0)
            lanes[key] = lane + 1
            arcs.append((t["name"], label, start, target, lane))
    initial = _text(workflow.get("initial"))
    said.insert(0, f"{words.initial}: {labels.get(('state', initial), initial)}.")
    if selected:
        said.append(f"{words.selected}: {labels.get(selected, selected[1])}.")
    up = max([_height(a) for a in arcs if a[2] <= a[3]] or [0])
    down = max([_height(a) for a in arcs if a[2] > a[3]] or [0])
    top = MARGIN + up + 14
    width = MARGIN * 2 + (len(names) + offset) * STEP - GAP
    height = top + BOX_H + down + MARGIN + 14
    chosen = selected or ("", "")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" role="img" '
             f'viewBox="0 0 {max(width, 200)} {height}" width="{max(width, 200)}" '
             f'aria-labelledby="workflow-diagram-title workflow-diagram-desc">',
             f'<title id="workflow-diagram-title">{escape(words.title)}</title>',
             f'<desc id="workflow-diagram-desc">{escape(" ".join(said))}</desc>',
             '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker>'
             '<marker id="wf-arrow-on" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#b3261e"/></marker></defs>']
    on_transition = {a[0] for a in arcs if chosen == ("transition", a[0])}
    ends = {s for t in transitions if t["name"] in on_transition
            for s in [_text(t.get("to"))] + ([_text(f) for f in t["from"]] if isinstance(t.get("from"), list) else [])}
    if any_used:
        parts.append(_box(MARGIN, top, words.any_state, "#ffffff", False, dashed=True))
    for state in states:
        x = MARGIN + column[state["name"]] * STEP
        mark = chosen == ("state", state["name"]) or state["name"] in ends
        text = labels.get(("state", state["name"]), state["name"])
        if state["name"] == workflow.get("initial"):
            text = f"▶ {text}"
        parts.append(_box(x, top, text, FILLS.get(_text(state.get("category")), "#ffffff"), mark))
    for name, label, start, target, lane in arcs:
        on = name in on_transition or (chosen[0] == "state" and chosen[1] in (
            _name_at(names, offset, start), _name_at(names, offset, target)))
        parts.append(_arc(start, target, lane, top, label, on))
    parts.append("</svg>")
    return Markup("".join(parts))


def _items(value) -> list[dict]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value) -> str:
    """A name from the draft as text (a malformed draft may hold anything there)."""
    return value if isinstance(value, str) else ""


def _name_at(names, offset, column):
    index = column - offset
    return names[index] if 0 <= index < len(names) else None


def _height(arc) -> int:
    _name, _label, start, target, lane = arc
    return ARC + 10 * max(abs(target - start) - 1, 0) + LANE * lane + (ARC if start == target else 0)


def _box(x, y, text, fill, on, dashed=False) -> str:
    stroke = 'stroke="#b3261e" stroke-width="3"' if on else 'stroke="#444" stroke-width="1.2"'
    dash = ' stroke-dasharray="5 4"' if dashed else ""
    cls = ' class="selected"' if on else ""
    return (f'<g{cls}><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" {stroke}{dash}/>'
            f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2 + 5}" text-anchor="middle" font-size="14" '
            f'fill="#1a1a1a">{escape(_short(text))}</text></g>')


def _arc(start, target, lane, top, label, on) -> str:
    height = _height(("", "", start, target, lane))
    x1 = MARGIN + start * STEP + BOX_W / 2 + (12 if start != target else -20)
    x2 = MARGIN + target * STEP + BOX_W / 2 - (12 if start != target else -20)
    forward = start <= target
    y = top if forward else top + BOX_H
    bend = y - 2 * height if forward else y + 2 * height
    middle_y = (y + bend) / 2
    colour, width, marker = ("#b3261e", 3, "wf-arrow-on") if on else ("#444", 1.4, "wf-arrow")
    cls = ' class="selected"' if on else ""
    return (f'<g{cls}><path d="M{x1},{y} C{x1},{bend} {x2},{bend} {x2},{y}" fill="none" stroke="{colour}" '
            f'stroke-width="{width}" marker-end="url(#{marker})"/>'
            f'<text x="{(x1 + x2) / 2}" y="{middle_y + (-4 if forward else 12)}" text-anchor="middle" '
            f'font-size="12" fill="{colour}" paint-order="stroke" stroke="#ffffff" stroke-width="4">'
            f'{escape(_short(label))}</text></g>')


def _short(text: str, most: int = 18) -> str:
    text = str(text)
    return text if len(text) <= most else text[:most - 1] + "…"
