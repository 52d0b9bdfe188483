"""The search index as one B-tree: keyed by (term, entity, record id, field), a table
without rowid on SQLite and a primary key including `at_start` on PostgreSQL, in place of
a heap with an id and two indexes. The terms are computed anew (fewer of them) from the
tenant's metadata, which the migration does not know: it leaves the table empty and, in a
tenant that has metadata, sets `search_index_stale` in `loom_settings`, and the engine
rebuilds the index from the records the first time a process opens the tenant.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TERM = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
STALE = "search_index_stale"


def upgrade(schema=None):
    op.drop_index("ix_loom_search_record", "loom_search", schema=schema)
    op.drop_index("ix_loom_search_term", "loom_search", schema=schema)
    op.drop_table("loom_search", schema=schema)
    op.create_table(
        "loom_search",
        sa.Column("term", TERM, nullable=False),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("field", sa.String(63), nullable=False),
        sa.Column("at_start", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("term", "entity", "record_id", "field", name="pk_loom_search",
                                postgresql_include=["at_start"]),
        sqlite_with_rowid=False,
        schema=schema,
    )
    versions = sa.table("loom_metadata_versions", sa.column("version"), schema=schema)
    conn = op.get_bind()
    if conn.execute(sa.select(versions.c.version).limit(1)).first() is not None:
        settings = sa.table("loom_settings", sa.column("key"), sa.column("value", sa.JSON), schema=schema)
        conn.execute(settings.delete().where(settings.c.key == STALE))
        conn.execute(settings.insert().values(key=STALE, value=True))


def downgrade(schema=None):
    settings = sa.table("loom_settings", sa.column("key"), schema=schema)
    op.get_bind().execute(settings.delete().where(settings.c.key == STALE))
    op.drop_table("loom_search", schema=schema)
    op.create_table(
        "loom_search",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("field", sa.String(63), nullable=False),
        sa.Column("term", TERM, nullable=False),
        sa.Column("at_start", sa.Boolean, nullable=False),
        schema=schema,
    )
    op.create_index("ix_loom_search_term", "loom_search", ["term", "entity"], schema=schema)
    op.create_index("ix_loom_search_record", "loom_search", ["entity", "record_id", "field"], schema=schema)
