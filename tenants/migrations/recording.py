"""Recording again the SQL that brings an empty tenant storage to head
(`tenants.migrations.recorded` replays it): run by `scripts/record-migrations` after a
revision is added or changed. Each backend's recording runs the real revisions on an
empty storage of its own and keeps every statement that writes; nothing is left behind."""
from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, event, text

from tenants import migrations
from tenants.migrations.recorded import SCHEMA, Recording, digest, empty, path
from tenants.storage import postgres_url, sqlite_engine


def _writes(statement: str) -> bool:
    """Reads change nothing and are not recorded: SELECTs (what the revisions look at)
    and SQLite's reflection PRAGMAs (`PRAGMA main.table_info("t")`)."""
    head = statement.lstrip()[:7].upper()
    return not (head.startswith("SELECT") or (head == "PRAGMA " and "(" in statement and "=" not in statement))


def record(connection, tree: str, schema: str | None) -> Recording:
    """Run the revisions of `tree` on the EMPTY storage behind `connection` (inside its
    transaction) and return the statements they sent that write."""
    if not empty(connection, schema):
        raise ValueError("only an empty storage can be recorded")
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if _writes(statement):
            if parameters or executemany:
                raise ValueError(f"a revision sent a statement with parameters, which is not recorded: {statement}")
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", seen)
    try:
        migrations.upgrade(connection, tree, schema)
    finally:
        event.remove(connection, "before_cursor_execute", seen)
    if schema is not None:
        if any(SCHEMA in s for s in statements):
            raise ValueError(f"a revision's SQL holds {SCHEMA!r}, which stands for the schema in a recording")
        statements = [s.replace(schema, SCHEMA) for s in statements]
    return Recording(tree, connection.dialect.name, digest(tree), tuple(statements))



def record_sqlite(tree: str) -> Recording:
    with tempfile.TemporaryDirectory() as tmp:
        engine = sqlite_engine(Path(tmp) / "recording.db", "OFF")
        try:
            with engine.connect() as conn:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # as TenantStorage.migration
                with conn.begin():
                    return record(conn, tree, None)
        finally:
            engine.dispose()


def record_postgresql(tree: str, database_url: str) -> Recording:
    """Recorded in a schema of its own, made and dropped by one transaction rolled back."""
    engine = create_engine(postgres_url(database_url))
    schema = f"loom_recording_{uuid.uuid4().hex[:12]}"
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            try:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                return record(conn, tree, schema)
            finally:
                transaction.rollback()
    finally:
        engine.dispose()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Record the SQL that brings an empty storage to head.")
    parser.add_argument("--tree", default="tenant", choices=("tenant",))
    parser.add_argument("--database-url", help="a PostgreSQL database to record in (nothing is left in it); "
                                               "without it only the SQLite recording is made")
    args = parser.parse_args(argv)
    made = [record_sqlite(args.tree)]
    if args.database_url:
        made.append(record_postgresql(args.tree, args.database_url))
    for recording in made:
        path(recording.tree, recording.dialect).write_text(recording.to_json(), encoding="utf-8")
        print(f"recorded {len(recording.statements)} statements: {path(recording.tree, recording.dialect)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
