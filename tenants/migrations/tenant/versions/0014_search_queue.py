"""The search index follows writes after their commit: a queue of the records whose
searchable values a write changed (one row per record, written with the record), and an
index on the terms by record, so the terms of a record are replaced without knowing its
old values. Terms already in the index stay valid; the queue starts empty.

Revision ID: 0014
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0008"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade(schema=None):
    op.create_table(
        "loom_search_queue",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        schema=schema,
    )
    op.create_index("ix_loom_search_record", "loom_search", ["entity", "record_id"], schema=schema)


def downgrade(schema=None):
    op.drop_index("ix_loom_search_record", "loom_search", schema=schema)
    op.drop_table("loom_search_queue", schema=schema)
