"""Message templates: tenant metadata rendered with Jinja in a sandbox.

Templates are written by tenant admins, so they are untrusted code: they run in Jinja's
immutable sandbox, any unsafe attribute access is an error (not a silently empty string,
which would hide the attempt), and output, ranges and arithmetic are bounded. Missing
record fields render empty, because records legitimately leave fields blank."""
from __future__ import annotations

import re
from functools import lru_cache

from jinja2 import ChainableUndefined, TemplateSyntaxError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.errors import LoomError
from metadata.errors import pointer

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
LOCALE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")
KEYS = {"name", "subject", "body", "description", "clear"}
# PII classes a template may show in clear (`"clear": [...]`); the classes encrypted at rest
# never go into a message in clear (it is stored and sent as written).
CLEAR_CLASSES = ("contact", "financial")
MAX_SOURCE = 20_000      # characters of one language's text
MAX_SUBJECT = 300        # the in-app title column holds 300
MAX_BODY = 100_000       # characters of rendered output
MAX_RANGE = 1_000
MAX_EXPONENT = 100


class TemplateFailed(LoomError):
    """A template that cannot be rendered: bad syntax, unsafe access or runaway output."""

    status, code = 400, "template_failed"


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, but unsafe access raises instead of rendering empty."""

    intercepted_binops = frozenset(["*", "**"])

    def unsafe_undefined(self, obj, attribute):
        raise SecurityError(f"access to attribute {attribute!r} of a "
                            f"{type(obj).__name__!r} value is not allowed")

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, (int, float)) and right > MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is too large (at most {MAX_EXPONENT})")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) \
                        and len(seq) * times > MAX_BODY:
                    raise SecurityError("repetition would make the message too long")
        return super().call_binop(context, operator, left, right)


def _range(*args):
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} items")
    return numbers


_ENV = _Sandbox(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=False)
_ENV.globals["range"] = _range


@lru_cache(maxsize=512)
def _compile(source: str):
    return _ENV.from_string(source)


def languages(value) -> dict:
    """A language map ({"en": ..., "zh-CN": ...}); a plain string means English."""
    return {"en": value} if isinstance(value, str) else dict(value or {})


# -- checking ---------------------------------------------------------------------------
def check_template(doc, path: str = "") -> list[dict]:
    """Every problem of one template document, each {"field", "code", "message"}."""
    if not isinstance(doc, dict):
        return [_problem(path, "type", "a message template must be an object")]
    problems = [_problem(pointer_join(path, key), "unknown_key", f"unknown key {key!r}")
                for key in sorted(set(doc) - KEYS, key=str)]
    name = doc.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        problems.append(_problem(pointer_join(path, "name"), "name",
                                 "the name must be 1-48 lowercase letters, digits or _, "
                                 "starting with a letter"))
    for part in ("subject", "body"):
        problems += _check_texts(doc.get(part), pointer_join(path, part), part)
    return problems + _check_clear(doc.get("clear"), pointer_join(path, "clear"))


def _check_clear(value, path: str) -> list[dict]:
    """`clear`: the PII classes the template shows in clear to a recipient who may read the field."""
    if value is None:
        return []
    allowed = ", ".join(CLEAR_CLASSES)
    if not isinstance(value, list):
        return [_problem(path, "type", f"clear must be a list of PII classes (of: {allowed})")]
    problems = []
    for index, cls in enumerate(value):
        where = pointer_join(path, index)
        if cls in ("identity", "sensitive"):
            problems.append(_problem(where, "encrypted_class",
                                     f"{cls} data is encrypted at rest and never put in a message in clear "
                                     f"(a message may show in clear: {allowed})"))
        elif not isinstance(cls, str) or cls not in CLEAR_CLASSES:
            problems.append(_problem(where, "unknown_class",
                                     f"{str(cls)[:40]!r} is not a PII class a message may show in clear "
                                     f"(one of: {allowed})"))
    if len(set(map(str, value))) != len(value):
        problems.append(_problem(path, "duplicate", "clear names a class twice"))
    return problems


def _check_texts(value, path: str, part: str) -> list[dict]:
    if value is None:
        return [_problem(path, "required", f"the {part} is required")]
    if not isinstance(value, (str, dict)):
        return [_problem(path, "type", f"the {part} must be a text or a map of language to text")]
    texts = languages(value)
    if not texts:
        return [_problem(path, "required", f"the {part} needs at least one language")]
    problems = []
    for lang, text in texts.items():
        where = pointer_join(path, lang) if isinstance(value, dict) else path
        if not LOCALE_RE.fullmatch(str(lang)):
            problems.append(_problem(where, "locale", f"{str(lang)[:20]!r} is not a language tag"))
        elif not isinstance(text, str) or not text.strip():
            problems.append(_problem(where, "required", f"the {part} ({lang}) must be non-empty text"))
        elif len(text) > MAX_SOURCE:
            problems.append(_problem(where, "too_long",
                                     f"the {part} ({lang}) is longer than {MAX_SOURCE} characters"))
        else:
            try:
                _compile(text)
            except TemplateSyntaxError as exc:
                problems.append(_problem(where, "syntax",
                                         f"{part} ({lang}), line {exc.lineno}: {exc.message}"))
    return problems


def pointer_join(path: str, *parts) -> str:
    return path + pointer(*parts)


def _problem(field: str, code: str, message: str) -> dict:
    return {"field": field, "code": code, "message": message}


# -- rendering --------------------------------------------------------------------------
def message_context(tenant, entity: str, record: dict, recipient: dict) -> dict:
    """What a template sees when it is sent about `record` (of `entity`) to `recipient`
    (`{"name", "email", "locale"}`): the same for a notification and for the designer's
    preview of a template."""
    return {"record": record, "entity": entity, "recipient": recipient,
            "tenant": {"slug": tenant.slug, "name": tenant.name}}


def pick_locale(available, locale: str | None) -> str:
    """Exact tag, then the bare language, then another tag of that language, then
    English, then the first available."""
    available = list(available)
    if not available:
        raise TemplateFailed("the template has no text in any language")
    folded = {tag.lower().replace("_", "-"): tag for tag in available}
    wanted = (locale or "").lower().replace("_", "-")
    language = wanted.split("-")[0]
    if wanted in folded:
        return folded[wanted]
    if language in folded:
        return folded[language]
    for tag in sorted(folded):
        if language and tag.split("-")[0] == language:
            return folded[tag]
    return folded.get("en", available[0])


def render(template_doc: dict, locale: str | None, context: dict) -> tuple[str, str]:
    """(subject, body) in the best language for `locale`; TemplateFailed if it cannot."""
    name = template_doc.get("name", "?") if isinstance(template_doc, dict) else "?"
    if not isinstance(template_doc, dict):
        raise TemplateFailed("a message template must be an object")
    subject = _render_part(template_doc, "subject", locale, context, name)
    body = _render_part(template_doc, "body", locale, context, name)
    subject = re.sub(r"\s*[\r\n]+\s*", " ", subject).strip()
    if len(subject) > MAX_SUBJECT:
        subject = subject[:MAX_SUBJECT - 1] + "…"
    return subject, body


def _render_part(doc, part, locale, context, name) -> str:
    texts = languages(doc.get(part))
    lang = pick_locale(texts, locale)
    text = texts[lang]
    where = f"template {name!r}, {part} ({lang})"
    if not isinstance(text, str):
        raise TemplateFailed(f"{where}: not text")
    try:
        chunks, size = [], 0
        for chunk in _compile(text).generate(context):
            size += len(chunk)
            if size > MAX_BODY:
                raise TemplateFailed(f"{where}: the output is longer than {MAX_BODY} characters")
            chunks.append(chunk)
    except TemplateFailed:
        raise
    except TemplateSyntaxError as exc:
        raise TemplateFailed(f"{where}, line {exc.lineno}: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateFailed(f"{where}: {exc}", code="template_unsafe") from None
    except Exception as exc:  # tenant-written code: any failure is the template's
        raise TemplateFailed(f"{where}: {type(exc).__name__}: {exc}") from None
    return "".join(chunks)
