"""The security headers every response carries (the screens set a CSP of their own first,
which these keep): no framing, no MIME sniffing, no referrer outside the site, a CSP that
runs no script (an API answer is data), and HSTS when the request came over TLS (a plain
HTTP answer cannot set it, and a development server on http must stay reachable)."""
from __future__ import annotations

from flask import request

CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(response):
    """App-wide after-request: add what the response does not set already."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response
