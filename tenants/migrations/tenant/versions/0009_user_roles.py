"""Roles as metadata: the tenant's roles and permission sets each user holds.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0013"


def upgrade(schema=None):
    with op.batch_alter_table("loom_users", schema=schema) as batch:
        batch.add_column(sa.Column("roles", sa.JSON))
        batch.add_column(sa.Column("permission_sets", sa.JSON))


def downgrade(schema=None):
    with op.batch_alter_table("loom_users", schema=schema) as batch:
        batch.drop_column("permission_sets")
        batch.drop_column("roles")
