"""Cells to field values: what a spreadsheet writes, as the field's type takes it.

Dates in common forms (2024-01-05, 2024/1/5, 2024.1.5, 2024年1月5日), numbers with
thousands separators (1,234.50, 1 234), booleans (true/false, yes/no, 1/0, 是/否, 对/错),
choices by value or by label in any language, lists as JSON or separated by , ; 、 |,
money as JSON or "1,234.50 CNY". The result goes through the batch loader like any API
input, which judges it (ranges, lengths, patterns); a cell it cannot even read as its
type raises FieldInvalid here. References are resolved by the planner (they need the
database)."""
from __future__ import annotations

import re
from datetime import date

from engine.fieldtypes import FieldInvalid
from engine.jsontext import RepeatedKey, TooPrecise, strict_loads
from engine.records.export import needs_quote

TRUE = {"true", "yes", "y", "1", "是", "对", "真", "t", "on", "x", "✓"}
FALSE = {"false", "no", "n", "0", "否", "错", "假", "f", "off"}
DATE_FORMS = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
)
DATETIME_SPLIT = re.compile(r"[T ]")
THOUSANDS = re.compile(r"[+-]?\d{1,3}([, ']\d{3})+(\.\d+)?")
MONEY = re.compile(r"([A-Za-z]{3})?\s*([^A-Za-z]+?)\s*([A-Za-z]{3})?")
LIST_SEPARATORS = re.compile(r"\s*[,;、|，；]\s*")
FULL_WIDTH = str.maketrans({chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)})


def empty(cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def convert(field, cell):
    """The value of a non-empty cell for `field` (a JSON value, as an API body carries it)."""
    base = field.base_type or field.type
    convert_as = _BY_TYPE.get(base)
    return convert_as(field, cell) if convert_as else cell


def _text(field, cell):
    if isinstance(cell, str):
        return unquoted(cell.strip())
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, (dict, list)):  # JSON Lines: an object or a list is no text
        raise FieldInvalid("must be text, not a JSON " + ("object" if isinstance(cell, dict) else "list"), "not_text")
    return str(cell)


def _integer(field, cell):
    if isinstance(cell, int) and not isinstance(cell, bool):
        return cell
    number = _number_text(cell)
    if re.fullmatch(r"[+-]?\d+(\.0+)?", number):
        return int(number.split(".")[0])
    raise FieldInvalid(f"{_short(cell)} is not a whole number", "not_integer")


def _decimal(field, cell):
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return cell
    return _number_text(cell)


def _number_text(cell) -> str:
    text = str(cell).strip().translate(FULL_WIDTH)
    if THOUSANDS.fullmatch(text):
        text = re.sub(r"[, ']", "", text)
    return text


def _boolean(field, cell):
    if isinstance(cell, bool):
        return cell
    text = str(cell).strip().casefold()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise FieldInvalid(f"{_short(cell)} is not yes or no (true/false, 是/否, 1/0)", "not_boolean")


def parse_date(cell) -> str:
    text = str(cell).strip().translate(FULL_WIDTH)
    for form in DATE_FORMS:
        found = form.fullmatch(text)
        if found:
            try:
                return date(*map(int, found.groups())).isoformat()
            except ValueError:
                break
    raise FieldInvalid(f"{_short(cell)} is not a date such as 2024-01-05, 2024/1/5 or 2024年1月5日", "not_date")


def _date(field, cell):
    return parse_date(cell)


def _datetime(field, cell):
    text = str(cell).strip()
    parts = DATETIME_SPLIT.split(text, 1)
    if len(parts) == 2 and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", parts[0]):
        try:
            return parse_date(parts[0]) + "T" + parts[1]
        except FieldInvalid:
            return text
    return text


def _choice(field, cell):
    text = str(cell).strip()
    values = field.option_values()
    if text in values:
        return text
    folded = text.casefold()
    for option in field.options:
        if option.value.casefold() == folded or any(str(label).casefold() == folded for label in option.label.values()):
            return option.value
    return text  # the loader names the options it takes


def _multi_choice(field, cell):
    if isinstance(cell, list):
        return [_choice(field, c) for c in cell]
    text = str(cell).strip()
    if text.startswith("["):
        try:
            items = strict_loads(text)
        except ValueError:
            raise FieldInvalid(f"{_short(cell)} is not a JSON list of options", "not_option_list") from None
        if isinstance(items, list):
            return [_choice(field, c) if isinstance(c, str) else c for c in items]
    return [_choice(field, part) for part in LIST_SEPARATORS.split(text) if part]


def _currency(field, cell):
    if isinstance(cell, dict):
        return cell
    text = str(cell).strip()
    if text.startswith("{"):
        try:
            return strict_loads(text)
        except (RepeatedKey, TooPrecise) as exc:  # JSON, but not one amount as written
            raise FieldInvalid(f"{_short(cell)}: {exc}", "not_money") from None
        except ValueError:
            pass
    found = MONEY.fullmatch(text)
    code = found and (found.group(1) or found.group(3))
    if not found or not code or (found.group(1) and found.group(3)):
        raise FieldInvalid(f"{_short(cell)} is not an amount with its currency, such as 1,234.50 CNY", "not_money")
    return {"amount": _number_text(found.group(2)), "currency": code.upper()}


def _json(field, cell):
    if not isinstance(cell, str):
        return cell
    try:
        return strict_loads(cell)
    except (RepeatedKey, TooPrecise) as exc:  # JSON the field would not keep as written
        raise FieldInvalid(f"{_short(cell)}: {exc}", "not_json") from None
    except ValueError:
        raise FieldInvalid(f"{_short(cell)} is not JSON", "not_json") from None


def _short(value) -> str:
    text = str(value)
    return repr(text if len(text) <= 60 else text[:57] + "...")


_BY_TYPE = {
    "string": _text, "text": _text, "email": _text, "phone": _text, "url": _text,
    "choice": _choice, "multi_choice": _multi_choice, "integer": _integer, "decimal": _decimal,
    "boolean": _boolean, "date": _date, "datetime": _datetime, "currency": _currency, "json": _json,
}


def unquoted(text: str) -> str:
    """A text cell as exported: the quote an export puts before a formula-like value
    (see `engine.records.export`) taken off again."""
    return text[1:] if text[:1] == "'" and needs_quote(text[1:]) else text
