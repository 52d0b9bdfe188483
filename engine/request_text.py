"""A request's text as people sent it: a query string or a URL-encoded form body whose bytes
or percent-escapes spell no UTF-8 text (`%ED%A0%80`, a lone surrogate; `%FF`) is refused.
Werkzeug keeps such escapes as they are, so the value would otherwise be stored, or searched
for, as the literal text "%ED%A0%80" — altered without a word. (A multipart form's text
fields are not checked here: browsers send them as UTF-8, and the screens' multipart forms
carry files.)"""
from __future__ import annotations

from urllib.parse import unquote_to_bytes

from flask import request

from engine.errors import LoomError

FORM = "application/x-www-form-urlencoded"


class NotUtf8(LoomError):
    status, code = 400, "not_utf8"


def refuse_undecodable() -> None:
    """Before a request: refuse its query string or form body when it is no UTF-8 text."""
    if not _spells_text(request.query_string):
        raise NotUtf8("the query string is not UTF-8 text: a byte or a percent-escape (such as %ED%A0%80) "
                      "spells no character")
    if request.mimetype == FORM and not _spells_text(request.get_data(cache=True)):
        raise NotUtf8("the form is not UTF-8 text: a byte or a percent-escape (such as %ED%A0%80) spells no "
                      "character")


def _spells_text(raw: bytes) -> bool:
    if b"%" not in raw and raw.isascii():
        return True
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
