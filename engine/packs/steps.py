"""Moving data between two versions of a pack, inside the upgrade's migration: after the
new columns exist, before the version is recorded. A source field the upgrade dropped
is read from the archive the migration just made, so `copy` works for renames too."""
from __future__ import annotations

from dataclasses import dataclass

from marshmallow import ValidationError
from sqlalchemy import MetaData, Table, bindparam, select, update

from engine.crypto.columns import Encrypted
from engine.errors import MigrationRefused
from engine.matchkeys import phone_region, with_regions
from engine.migration.archive import archived_field
from engine.records.dump import RecordShape
from engine.schemas import entity_schema
from engine.systables import loom_table


@dataclass
class StepContext:
    """What a Python upgrade step gets: the migration's connection, the new tables
    ({entity: Table}), the archives made so far and the tenant session."""

    conn: object
    tables: dict
    archives: list
    session: object


class StepRunner:
    """`package`: the metadata being migrated to, so step values are converted and
    checked as the API would (a date given as text, say)."""

    def __init__(self, session, steps, package=None):
        self.session = session
        self.steps = steps
        self.package = package
        self.report: list[dict] = []

    def _value(self, entity, field, value):
        model = self.package.entity(entity) if self.package else None
        if model is None or model.field(field) is None:
            return {field: value}
        model = with_regions(model, phone_region(self.package))  # its match keys read as the tenant's
        try:
            loaded = entity_schema(model, for_update=True).load({field: value}, partial=True)
        except ValidationError as exc:
            raise MigrationRefused(f"an upgrade step sets {entity}.{field} to {value!r}: "
                                   f"{'; '.join(map(str, exc.messages.get(field, ['not a valid value'])))}") from None
        return RecordShape(model).to_columns(loaded)

    def __call__(self, conn, tables, archives) -> dict | None:
        """Run the steps; the fields whose values they wrote without their match keys
        ({entity: field names}; None: any field, once a Python step ran), for the
        publication to key again. `fill` and `map` write the keys with the values."""
        written: dict | None = {}
        for kind, to, body in self.steps:
            if kind == "python":
                body(StepContext(conn, tables, archives, self.session))
                self.report.append({"to": to, "step": getattr(body, "__name__", "python"), "rows": None})
                written = None
                continue
            (verb, params), = body.items()
            rows = getattr(self, f"_{verb}")(conn, tables, archives, **params)
            self.report.append({"to": to, "step": verb, **params, "rows": rows})
            if verb == "copy" and written is not None:
                written.setdefault(params["entity"], set()).add(params["to"])
        return written

    def _table(self, tables, entity):
        table = tables.get(entity)
        if table is None:
            raise MigrationRefused(f"an upgrade step names entity {entity!r}, which the new version does not have")
        return table

    def _column(self, table, name):
        if name not in table.c:
            raise MigrationRefused(f"an upgrade step names {table.name}.{name}, which the new version does not have")
        return table.c[name]

    def _copy(self, conn, tables, archives, entity, **names):
        table = self._table(tables, entity)
        source, target = names["from"], self._column(table, names["to"])
        if source in table.c:
            if _sealed(table.c[source]) != _sealed(target):  # one is encrypted at rest: through the types
                return _copy_typed(conn, table, table.c[source], target)
            return conn.execute(update(table).values({target.name: table.c[source]})).rowcount
        archive = next((a for a in archives if a["entity"] == entity and a.get("field") == source), None)
        if archive is None:
            raise MigrationRefused(f"an upgrade step copies {entity}.{source}, which neither exists nor was archived")
        if _archived_sealed(conn, table.schema, archive["table"]) != _sealed(target):
            raise MigrationRefused(
                f"an upgrade step copies {entity}.{source}, archived {_kept(not _sealed(target))}, into "
                f"{entity}.{target.name}, kept {_kept(_sealed(target))}: copy it with a Python step")
        archived = Table(archive["table"], MetaData(), autoload_with=conn, schema=table.schema)
        value = select(archived.c[source]).where(archived.c.id == table.c.id).scalar_subquery()
        return conn.execute(update(table).values({target.name: value})).rowcount

    def _fill(self, conn, tables, archives, entity, field, value):
        table = self._table(tables, entity)
        column = self._column(table, field)
        return conn.execute(update(table).where(column.is_(None))
                            .values(self._value(entity, field, value))).rowcount

    def _map(self, conn, tables, archives, entity, field, values):
        table = self._table(tables, entity)
        column = self._column(table, field)
        return sum(conn.execute(update(table).where(column == self._value(entity, field, old)[field])
                                .values(self._value(entity, field, new))).rowcount
                   for old, new in values.items())


COPY_CHUNK = 1000


def _sealed(column) -> bool:
    """Whether the column keeps its values encrypted at rest."""
    return isinstance(column.type, Encrypted)


def _kept(sealed: bool) -> str:
    return "encrypted at rest" if sealed else "in clear"


def _archived_sealed(conn, schema, name) -> bool:
    """Whether the field archived in table `name` was encrypted at rest (its archive holds
    the ciphertext as it was)."""
    archives = loom_table(schema, "loom_archives")
    definition = conn.execute(select(archives.c.definition).where(archives.c.table_name == name)).scalar_one()
    return archived_field(definition).encrypted


def _copy_typed(conn, table, source, target) -> int:
    """Copy `source` into `target` value by value through their column types (a value
    read in clear, written sealed, or the other way round), in chunks of ids."""
    copied, last = 0, None
    while True:
        stmt = select(table.c.id, source).order_by(table.c.id).limit(COPY_CHUNK)
        if last is not None:
            stmt = stmt.where(table.c.id > last)
        rows = conn.execute(stmt).all()
        if not rows:
            return copied
        conn.execute(update(table).where(table.c.id == bindparam("_id")).values({target.name: bindparam("_value")}),
                     [{"_id": row[0], "_value": row[1]} for row in rows])
        copied += len(rows)
        last = rows[-1][0]
