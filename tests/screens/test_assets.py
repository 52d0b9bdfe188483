"""The screens' own assets are whole: every stylesheet's blocks are closed (one unclosed
`@media` block silently swallows every rule after it), and every asset a template names
exists."""
from __future__ import annotations

import re
from pathlib import Path

ADMIN_UI = Path(__file__).resolve().parents[2] / "admin_ui"


def test_every_stylesheet_closes_every_block_it_opens():
    for sheet in (ADMIN_UI / "static").glob("*.css"):
        text = re.sub(r"/\*.*?\*/", "", sheet.read_text(encoding="utf-8"), flags=re.S)
        depth = 0
        for number, line in enumerate(text.splitlines(), 1):
            depth += line.count("{") - line.count("}")
            assert depth >= 0, f"{sheet.name}:{number} closes a block never opened"
            if line.startswith(("@media", "/*")) or re.match(r"^[.#a-z]", line):
                assert depth <= 1 or line.startswith(" "), f"{sheet.name}:{number} starts inside an open block"
        assert depth == 0, f"{sheet.name} leaves {depth} block(s) open"


def test_every_asset_a_template_names_exists():
    named = set()
    for template in (ADMIN_UI / "templates").rglob("*.html"):
        named |= set(re.findall(r"filename='([^']+)'", template.read_text(encoding="utf-8")))
    vendor = {"vendor/htmx.min.js", "vendor/alpine-csp.min.js", "vendor/Sortable.min.js"}  # copied by scripts/setup
    missing = sorted(name for name in named - vendor if not (ADMIN_UI / "static" / name).exists())
    assert named and missing == []
