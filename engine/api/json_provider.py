"""The API's JSON (`app.json`): written by `engine.json_text`, so a response holding an
unpaired surrogate is still sent (escaped), never a 500; Chinese text unescaped."""
from __future__ import annotations

import json

from flask.json.provider import DefaultJSONProvider

from engine.json_text import json_text


class JsonText(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj, **kwargs) -> str:
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("sort_keys", self.sort_keys)
        if kwargs.pop("ensure_ascii", self.ensure_ascii):
            return json.dumps(obj, ensure_ascii=True, **kwargs)
        return json_text(obj, **kwargs)
