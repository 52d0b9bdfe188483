"""JSON as Loom writes it for people and files: text as it is (Chinese names unescaped,
`ensure_ascii` off) — except a value holding an unpaired surrogate, which UTF-8 cannot
carry, so the whole response, export or file would fail part way: that value is written
escaped (`\\ud800`), which any JSON reader reads back as the same value. Writes refuse such
text; one stored before they did (or by a plugin) must not make a page or a file
unreadable for good, least of all a tamper-evident log that cannot be changed."""
from __future__ import annotations

import json
import re

SURROGATE = re.compile("[\ud800-\udfff]")


def json_text(value, **kwargs) -> str:
    """`json.dumps(value, ensure_ascii=False, **kwargs)`, escaped where UTF-8 could not carry it."""
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    return json.dumps(value, **kwargs) if SURROGATE.search(text) else text
