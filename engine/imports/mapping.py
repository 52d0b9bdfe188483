"""Column mappings: which column of a file fills which field of an entity.

Suggested from the header by the field names and their labels in every language (en,
zh-CN, ...), plus a short list of synonyms spreadsheets use ("手机", "姓名", "mail"...);
saved by name in `loom_import_mappings` and reused. A mapping is {column: field}; a
column mapped to nothing is reported as unmapped and left out."""
from __future__ import annotations

import re

from sqlalchemy import select

from engine.errors import Conflict, NotFound, ValidationFailed
from engine.records.writes import utcnow
from engine.systables import loom_table

NAME = re.compile(r"[A-Za-z0-9_\-.]{1,64}")
# A synonym names a field only when the entity has a field of that name.
SYNONYMS = {
    "name": ("姓名", "名字", "客户名称", "客户姓名", "公司名称", "full name", "fullname", "customer", "客户"),
    "mobile": ("手机", "手机号", "手机号码", "移动电话", "cell", "cellphone", "mobile phone"),
    "phone": ("电话", "电话号码", "联系电话", "座机", "tel", "telephone", "phone number", "手机", "手机号",
              "手机号码"),
    "email": ("邮箱", "电子邮箱", "邮件", "e-mail", "mail", "email address"),
    "address": ("地址", "住址", "联系地址"),
    "city": ("城市", "所在城市", "town"),
    "company": ("公司", "单位", "企业", "organisation", "organization"),
    "account": ("公司", "单位", "企业", "客户", "company", "organisation", "organization"),
    "birthday": ("生日", "出生日期", "date of birth", "dob"),
    "external_id": ("外部编号", "编号", "客户编号", "external id", "ref", "reference"),
    "wechat_id": ("微信", "微信号", "wechat"),
}


def _fold(text: str) -> str:
    return re.sub(r"[\s_\-:：()（）]+", "", str(text)).casefold()


def suggest(entity, header) -> dict:
    """{column: field name or None} for every column of `header`: by field name, then by
    any label, then by synonym; a field is given to one column at most (the first)."""
    names = {}
    for field in entity.fields:
        names.setdefault(_fold(field.name), field.name)
    labels = {}
    for field in entity.fields:
        for text in field.label.values():
            labels.setdefault(_fold(text), field.name)
    synonyms = {}
    for field_name, words in SYNONYMS.items():
        if entity.field(field_name) is not None:
            for word in words:
                synonyms.setdefault(_fold(word), field_name)
    mapping, taken = {}, set()
    for tier in (names, labels, synonyms):
        for column in header:
            if column in mapping:
                continue
            field = tier.get(_fold(column))
            if field is not None and field not in taken:
                mapping[column] = field
                taken.add(field)
    return {column: mapping.get(column) for column in header}


def checked(entity, header, columns: dict, strict: bool = False) -> dict:
    """A mapping given by the user (from a file or saved), checked against the entity and
    completed for the header: columns it does not name are unmapped. `strict` (one file's
    own mapping): a column it maps to a field must be in the file — it is meant to be read."""
    if not isinstance(columns, dict) or not all(isinstance(k, str) for k in columns):
        raise ValidationFailed("a mapping is a JSON object of column: field", code="bad_mapping",
                               details=[{"field": "mapping", "message": "must be an object of column: field"}])
    details = []
    for column, field in columns.items():
        if field is not None and (not isinstance(field, str) or entity.field(field) is None):
            details.append({"field": f"mapping/{column[:100]}", "message": f"{entity.name} has no field {field!r}"})
        elif strict and field is not None and column not in header:
            details.append({"field": f"mapping/{column[:100]}", "message": "no such column in the file"})
    fields = [f for f in columns.values() if f is not None]
    for field in sorted({f for f in fields if isinstance(f, str) and fields.count(f) > 1}):
        details.append({"field": "mapping", "message": f"field {field!r} is mapped from more than one column"})
    if details:
        absent = [d["field"][len("mapping/"):] for d in details if d["message"] == "no such column in the file"]
        shown = ", ".join(repr(c) for c in header[:20]) + (", …" if len(header) > 20 else "")
        message = (f"the mapping names a column the file does not have: {absent[0]!r} (the file's columns: {shown})"
                   if absent else f"the mapping does not fit {entity.name}")
        raise ValidationFailed(message, code="bad_mapping", details=details)
    return {column: columns.get(column) for column in header}


def resolve(storage, entity, header, given) -> dict:
    """The mapping for a file: `given` is None (suggest one), a saved mapping's name (its
    columns the file lacks are passed over: a saved mapping serves many files; a suggested
    column is left out when the saved mapping gives its field to another column of the file), or a
    {column: field} object (every column it maps to a field must be in the file)."""
    if given is None:
        return suggest(entity, header)
    if isinstance(given, str):
        columns = load(storage, given, entity.name)
        present = {column: field for column, field in columns.items() if column in header}  # of this file
        suggested = {c: f for c, f in suggest(entity, header).items() if f not in present.values()}
        return checked(entity, header, {**suggested, **present})
    return checked(entity, header, given, strict=True)


def load(storage, name: str, entity_name: str) -> dict:
    table = loom_table(storage.schema, "loom_import_mappings")
    with storage.connect() as conn:
        row = conn.execute(select(table).where(table.c.name == name)).mappings().first()
    if row is None:
        raise NotFound(f"no saved mapping {name!r}", code="mapping_not_found")
    if row["entity"] != entity_name:
        raise ValidationFailed(f"the mapping {name!r} is for {row['entity']}, not {entity_name}",
                               code="bad_mapping", details=[{"field": "mapping", "message": "for another entity"}])
    return dict(row["columns"])


def check_name(name, storage=None, entity_name: str | None = None) -> None:
    """A name to save a mapping of `entity_name` under (checked before an import that saves
    one): a name, and with `storage`, not one a saved mapping of another entity has —
    saving would replace that one, unseen."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValidationFailed(f"{name!r} is not a mapping name (letters, digits, _ - ., at most 64)",
                               code="bad_mapping", details=[{"field": "save_mapping", "message": "not a name"}])
    if storage is not None:
        with storage.connect() as conn:
            _refuse_taken(conn, loom_table(storage.schema, "loom_import_mappings"), name, entity_name)


def _refuse_taken(conn, table, name: str, entity_name: str) -> None:
    other = conn.execute(select(table.c.entity).where(table.c.name == name, table.c.entity != entity_name)).scalar()
    if other is not None:
        raise Conflict(f"the mapping name {name!r} is taken by a saved mapping of {other}: choose another name",
                       code="mapping_name_taken", details=[{"field": "save_mapping", "message": f"used for {other}"}])


def save(storage, name: str, entity_name: str, columns: dict, by: str | None = None) -> None:
    """Save (or replace) `entity_name`'s mapping under `name`; only mapped columns are kept.
    A name another entity's mapping has is refused (`check_name`)."""
    check_name(name)
    table = loom_table(storage.schema, "loom_import_mappings")
    row = {"entity": entity_name, "columns": {c: f for c, f in columns.items() if f}, "updated_at": utcnow(),
           "updated_by": by}
    with storage.begin() as conn:
        _refuse_taken(conn, table, name, entity_name)
        if conn.execute(table.update().where(table.c.name == name).values(row)).rowcount == 0:
            conn.execute(table.insert().values(name=name, **row))


def names_for(storage, entity_name: str) -> list[str]:
    """The saved mappings' names for one entity, by name."""
    table = loom_table(storage.schema, "loom_import_mappings")
    with storage.connect() as conn:
        return list(conn.execute(select(table.c.name).where(table.c.entity == entity_name)
                                 .order_by(table.c.name)).scalars())


def saved(storage) -> list[dict]:
    table = loom_table(storage.schema, "loom_import_mappings")
    with storage.connect() as conn:
        return [dict(r) for r in conn.execute(select(table.c.name, table.c.entity, table.c.columns)
                                              .order_by(table.c.name)).mappings()]
