"""Industry packs and record sharing: the packs a tenant installed (with the base each
was installed at), the tenant's overlay of changes, the layers behind each metadata
version, and the user data sharing rules read (a manager, attributes).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade(schema=None):
    with op.batch_alter_table("loom_users", schema=schema) as batch:
        batch.add_column(sa.Column("manager_id", ID))
        batch.add_column(sa.Column("attributes", sa.JSON))
    op.create_index("ix_loom_users_manager", "loom_users", ["manager_id"], schema=schema)
    with op.batch_alter_table("loom_metadata_versions", schema=schema) as batch:
        batch.add_column(sa.Column("layers", sa.JSON))
    op.create_table(
        "loom_packs",
        sa.Column("name", sa.String(48), primary_key=True),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("base", sa.JSON, nullable=False),
        sa.Column("installed_at", WHEN, nullable=False),
        sa.Column("upgraded_at", WHEN),
        schema=schema,
    )
    op.create_table(
        "loom_overlay",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("op", sa.String(10), nullable=False),
        sa.Column("path", sa.String(400), nullable=False),
        sa.Column("value", sa.JSON),
        sa.Column("was", sa.JSON),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("created_by", sa.String(254)),
        schema=schema,
    )


def downgrade(schema=None):
    op.drop_table("loom_overlay", schema=schema)
    op.drop_table("loom_packs", schema=schema)
    with op.batch_alter_table("loom_metadata_versions", schema=schema) as batch:
        batch.drop_column("layers")
    op.drop_index("ix_loom_users_manager", "loom_users", schema=schema)
    with op.batch_alter_table("loom_users", schema=schema) as batch:
        batch.drop_column("attributes")
        batch.drop_column("manager_id")
