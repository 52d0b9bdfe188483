"""The outbox's first index, on (processed_at, id), is dropped: since revision 0002 the
drain finds pending events by their status (`ix_loom_outbox_status`), and no query reads
`processed_at` any more, while every event written and every event delivered still paid
for keeping the index (a batch of 1,000 records writes 1,000 outbox rows).

Revision ID: 0023
Revises: 0022
"""
from alembic import op

revision = "0023"
down_revision = "0022"


def upgrade(schema=None):
    op.drop_index("ix_loom_outbox_pending", "loom_outbox", schema=schema)


def downgrade(schema=None):
    op.create_index("ix_loom_outbox_pending", "loom_outbox", ["processed_at", "id"], schema=schema)
