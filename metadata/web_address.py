"""What a `url` field holds: an absolute http(s) address with a host — the one rule for a
record's value (`engine.fieldtypes`) and a field's default (`metadata.fieldtypes`)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def is_http_url(text: str) -> bool:
    """An http or https URL naming a host, with a port from 1 to 65535 if any, and no
    white space or control character anywhere (a line feed at its end included)."""
    if _SPACE_OR_CONTROL.search(text):
        return False
    try:
        parts = urlsplit(text)
        port = parts.port  # a port that is no number, or beyond 65535: ValueError
    except ValueError:  # also an IPv6 address left open ("http://[::1")
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port != 0
