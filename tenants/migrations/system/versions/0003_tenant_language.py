"""Every tenant has a default language (a language tag such as `zh-CN`): its API
describes the tenant's entities and fields in it. Tenants that exist get English.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade(schema=None):
    with op.batch_alter_table("loom_tenants", schema=schema) as batch:
        batch.add_column(sa.Column("language", sa.String(35), nullable=False, server_default="en"))


def downgrade(schema=None):
    with op.batch_alter_table("loom_tenants", schema=schema) as batch:
        batch.drop_column("language")
