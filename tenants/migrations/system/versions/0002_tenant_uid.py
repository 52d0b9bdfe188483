"""Every tenant gets an identity that is never reused (`uid`), so a slug deleted and
created again names a different tenant to every cache and connection pool. Tenants
that exist get theirs now.

Revision ID: 0002
Revises: 0001
"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade(schema=None):
    with op.batch_alter_table("loom_tenants", schema=schema) as batch:
        batch.add_column(sa.Column("uid", sa.String(32), nullable=True))
    tenants = sa.table("loom_tenants", sa.column("id"), sa.column("uid"), schema=schema)
    connection = op.get_bind()
    for (tenant_id,) in connection.execute(sa.select(tenants.c.id)).all():
        connection.execute(tenants.update().where(tenants.c.id == tenant_id).values(uid=uuid.uuid4().hex))
    with op.batch_alter_table("loom_tenants", schema=schema) as batch:
        batch.alter_column("uid", existing_type=sa.String(32), nullable=False)
        batch.create_unique_constraint("uq_loom_tenants_uid", ["uid"])


def downgrade(schema=None):
    with op.batch_alter_table("loom_tenants", schema=schema) as batch:
        batch.drop_constraint("uq_loom_tenants_uid", type_="unique")
        batch.drop_column("uid")
