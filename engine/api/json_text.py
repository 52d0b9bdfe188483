"""The API's JSON: text as it is (Chinese names unescaped, `ensure_ascii` off), except in a
response holding an unpaired surrogate — which UTF-8 cannot carry, so the whole response
would fail (a 500) — written escaped (`\\ud800`), which any JSON reader reads back as the
same value. Writes refuse such text; one stored before they did (or by a plugin) must not
make a page unreadable for good, least of all a tamper-evident log that cannot be changed."""
from __future__ import annotations

import re

from flask.json.provider import DefaultJSONProvider

SURROGATE = re.compile("[\ud800-\udfff]")


class JsonText(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj, **kwargs) -> str:
        text = super().dumps(obj, **kwargs)
        if kwargs.get("ensure_ascii", self.ensure_ascii) is False and SURROGATE.search(text):
            return super().dumps(obj, **{**kwargs, "ensure_ascii": True})
        return text
