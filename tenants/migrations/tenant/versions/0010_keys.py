"""Encryption at rest: the tenant's data keys, each wrapped by the install's master key
(its `master_id` names which one); `state` is `rotating` while a rotation re-encrypts the
values, `active` for the newest key after it, `retired` for the older ones.

Revision ID: 0010
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0011"


def upgrade(schema=None):
    op.create_table(
        "loom_keys",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("wrapped", sa.Text, nullable=False),
        sa.Column("master_id", sa.String(16), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )


def downgrade(schema=None):
    op.drop_table("loom_keys", schema=schema)
