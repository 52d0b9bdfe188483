"""The search index: one row per term of a record's searchable field, compared byte-wise
so that a typed prefix is one index range on every backend. Existing records are indexed
by `loom search reindex TENANT` (the migration knows no metadata).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TERM = sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")


def upgrade(schema=None):
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


def downgrade(schema=None):
    op.drop_index("ix_loom_search_record", "loom_search", schema=schema)
    op.drop_index("ix_loom_search_term", "loom_search", schema=schema)
    op.drop_table("loom_search", schema=schema)
