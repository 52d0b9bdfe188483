"""People and the audit log in the designer: when each API token was last used, and an
index for reading the audit log one user at a time, newest first.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade(schema=None):
    with op.batch_alter_table("loom_tokens", schema=schema) as batch:
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True)))
    op.create_index("ix_loom_audit_actor", "loom_audit", ["actor_id", "id"], schema=schema)


def downgrade(schema=None):
    op.drop_index("ix_loom_audit_actor", "loom_audit", schema=schema)
    with op.batch_alter_table("loom_tokens", schema=schema) as batch:
        batch.drop_column("last_used_at")
