"""Language tags and language maps: which text of ``{"en": "Contact", "zh-CN": "联系人"}``
a reader of one language gets.

``text_in(texts, "zh-CN")`` takes, in order: the tag itself (letter case ignored), the
bare language (``zh``), another region of the same language (``zh-TW``), English, and
else the map's first text, so every label has a text in every language::

    text_in({"en": "Contact", "zh-CN": "联系人"}, "zh")     # "联系人"
    text_in({"en": "Contact", "zh-CN": "联系人"}, "fr")     # "Contact"
"""

from __future__ import annotations

import re

LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")  # the tags of the metadata's language maps
DEFAULT_LANGUAGE = "en"


def is_language_tag(text) -> bool:
    return isinstance(text, str) and len(text) <= 35 and LANGUAGE_TAG.fullmatch(text) is not None


def text_in(texts: dict | None, language: str) -> str | None:
    """The text of ``texts`` (a language map) for a reader of ``language``; None for no map."""
    if not texts:
        return None
    wanted = language.lower()
    by_tag = {tag.lower(): text for tag, text in texts.items()}
    if wanted in by_tag:
        return by_tag[wanted]
    primary = wanted.split("-")[0]
    if primary in by_tag:
        return by_tag[primary]
    for tag, text in by_tag.items():
        if tag.split("-")[0] == primary:
            return text
    return texts.get(DEFAULT_LANGUAGE) or next(iter(texts.values()))

