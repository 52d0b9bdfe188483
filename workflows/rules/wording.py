"""How the rule-set checks word a problem: `{"field": pointer, "code", "message"}`, with
values shown short."""
from __future__ import annotations

import json


def show(value) -> str:
    """A value as it reads in a message, cut to 60 characters."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problem(path: str, code: str, message: str) -> dict:
    return {"field": path, "code": code, "message": message}
