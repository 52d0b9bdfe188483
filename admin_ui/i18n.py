"""The screens' languages: which one a request is in, and the UI strings' catalogues.

UI strings are marked with gettext in templates and views and translated by the
`translations/<area>/<locale>.po` catalogues (one folder per area of the screens, so each
area's strings live beside the others without merging one big file). They are read from
the `.po` sources and compiled in memory on first use, so there is no compiled `.mo`
file to forget to rebuild. English is the source language; zh-CN must be complete
(`tests/screens/test_catalogues.py`).

The language of a request is the signed-in user's (remembered per user), otherwise the
`loom_lang` cookie a signed-out visitor chose, otherwise the tenant's language. Times are
shown in the tenant's time zone."""
from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from metadata.language import text_in
from flask import g, request
from flask_babel import Domain

from workflows.calendar import load_calendar

LANGUAGES = {"en": "English", "zh-CN": "中文"}
CATALOGUES = Path(__file__).parent / "translations"
COOKIE = "loom_lang"


def language_of_request() -> str:
    """The language tag (`en`, `zh-CN`) this request is shown in."""
    user = g.get("ui_user")
    if user is not None and user.locale in LANGUAGES:
        return user.locale
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    tenant = g.get("ui_tenant")
    if tenant is not None and tenant.language in LANGUAGES:
        return tenant.language
    return "en"


def babel_locale() -> str:
    """Babel's name of the request's language (`zh_CN`)."""
    return language_of_request().replace("-", "_")


def babel_timezone() -> str:
    """The time zone times are shown in: the tenant's (its business hours' zone, by default
    `LOOM_TIMEZONE`), so a Shanghai team reads Shanghai times; UTC when signed out."""
    session = g.get("session")
    return load_calendar(session).timezone if session is not None else "UTC"


def catalogue_files(locale: str) -> list[Path]:
    return sorted(CATALOGUES.glob(f"*/{locale}.po"))


class CatalogueDomain(Domain):
    """A flask-babel domain whose translations are every area's `.po` file for the locale,
    compiled in memory once per process."""

    def __init__(self):
        super().__init__()
        self._compiled: dict = {}

    def get_translations(self):
        from flask_babel import get_locale

        found_locale = get_locale()
        locale = "en" if found_locale is None else "_".join(filter(None, (found_locale.language,
                                                                          found_locale.territory)))
        found = self._compiled.get(locale)
        if found is None:
            found = self._compiled[locale] = compile_catalogues(locale)
        return found


def compile_catalogues(locale: str) -> Translations:
    merged = None
    for path in catalogue_files(locale):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        found = Translations(buffer)
        if merged is None:
            merged = found  # the first keeps the language's plural rule (merge copies only messages)
        else:
            merged.merge(found)
    return merged if merged is not None else Translations()


def shown(texts, fallback: str = "") -> str:
    """A label (a language map or one text) in the request's language."""
    if isinstance(texts, dict):
        return text_in(texts, language_of_request()) or fallback
    return texts if isinstance(texts, str) and texts else fallback
