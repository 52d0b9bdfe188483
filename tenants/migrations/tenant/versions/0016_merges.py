"""Merges of records and their undo: `loom_merges`, one row per merge, holding what the
merge changed (the losers' rows as they were, the survivor's values it replaced, the
references it re-pointed) so that the merge can be undone.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade(schema=None):
    op.create_table(
        "loom_merges",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor_id", ID),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("survivor_id", ID, nullable=False),
        sa.Column("losers", sa.JSON, nullable=False),
        sa.Column("undo", sa.JSON, nullable=False),
        sa.Column("undone_at", WHEN),
        sa.Column("undone_by", ID),
        schema=schema,
    )
    op.create_index("ix_loom_merges_survivor", "loom_merges", ["entity", "survivor_id"], schema=schema)


def downgrade(schema=None):
    op.drop_index("ix_loom_merges_survivor", "loom_merges", schema=schema)
    op.drop_table("loom_merges", schema=schema)
