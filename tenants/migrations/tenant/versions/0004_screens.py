"""The screens: what signing in needs (failed attempts, a lock-out, when the password last
changed, one-time reset links) and the list views people save.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade(schema=None):
    with op.batch_alter_table("loom_users", schema=schema) as batch:
        batch.add_column(sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", WHEN))
        batch.add_column(sa.Column("password_changed_at", WHEN))
    op.create_table(
        "loom_password_resets",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, sa.ForeignKey(_in(schema, "loom_users.id"), ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN),
        schema=schema,
    )
    op.create_table(
        "loom_saved_views",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner_id", ID, sa.ForeignKey(_in(schema, "loom_users.id"), ondelete="CASCADE")),
        sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        schema=schema,
    )
    op.create_index("ix_loom_saved_views_entity", "loom_saved_views", ["entity", "owner_id"], schema=schema)


def downgrade(schema=None):
    op.drop_index("ix_loom_saved_views_entity", "loom_saved_views", schema=schema)
    op.drop_table("loom_saved_views", schema=schema)
    op.drop_table("loom_password_resets", schema=schema)
    with op.batch_alter_table("loom_users", schema=schema) as batch:
        batch.drop_column("password_changed_at")
        batch.drop_column("locked_until")
        batch.drop_column("failed_logins")


def _in(schema, qualified):
    return f"{schema}.{qualified}" if schema else qualified
