"""Every UI string of the screens has a Chinese translation, and every translation is of a
string the screens still use (the catalogues are read from admin_ui/translations/*/zh_CN.po)."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from admin_ui.i18n import CATALOGUES, compile_catalogues

ROOT = Path(__file__).resolve().parents[2] / "admin_ui"
METHODS = [("**/node_modules/**", "ignore"), ("**/static/**", "ignore"),
           ("**.py", "python"), ("**/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}


def used_strings() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), METHODS, keywords=KEYWORDS,
            options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def translated(locale: str) -> dict[str, str]:
    out = {}
    for path in sorted(CATALOGUES.glob(f"*/{locale}.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=locale):
                if message.id and isinstance(message.id, str):
                    out[message.id] = message.string
                elif message.id:  # a plural: both English forms, translated by Chinese's one form
                    out.update({form: message.string[0] for form in message.id})
    return out


def test_every_ui_string_has_a_chinese_translation():
    used, zh = used_strings(), translated("zh_CN")
    assert len(used) > 20  # the extraction sees the screens at all
    missing = sorted(s for s in used if not zh.get(s))
    assert missing == [], "add these to a zh_CN.po under admin_ui/translations/:\n" + "\n".join(missing)


def test_no_translation_is_left_over_from_a_string_no_screen_uses():
    unused = sorted(set(translated("zh_CN")) - used_strings())
    assert unused == []


def test_the_catalogues_compile_and_translate():
    assert compile_catalogues("zh_CN").gettext("Sign in") == "登录"
    plural = compile_catalogues("zh_CN").ngettext("%(num)s problem", "%(num)s problems", 5)
    assert plural == translated("zh_CN")["%(num)s problems"], "Chinese has one plural form, used for every count"
    assert compile_catalogues("en").gettext("Sign in") == "Sign in"
