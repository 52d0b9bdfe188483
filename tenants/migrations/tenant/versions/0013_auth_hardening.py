"""Authentication hardening: API tokens get an expiry and scopes (NULL for the tokens made
before: no expiry, read-write), users a TOTP secret, and one-time MFA recovery codes.

Revision ID: 0013
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade(schema=None):
    with op.batch_alter_table("loom_tokens", schema=schema) as batch:
        batch.add_column(sa.Column("expires_at", WHEN))
        batch.add_column(sa.Column("scopes", sa.JSON))
    with op.batch_alter_table("loom_users", schema=schema) as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64)))
        batch.add_column(sa.Column("totp_enrolled_at", WHEN))
    op.create_table(
        "loom_recovery_codes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, sa.ForeignKey(f"{schema}.loom_users.id" if schema else "loom_users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_hash", sa.String(200), nullable=False),
        sa.Column("used_at", WHEN),
        schema=schema,
    )
    op.create_index("ix_loom_recovery_codes_user", "loom_recovery_codes", ["user_id"], schema=schema)


def downgrade(schema=None):
    op.drop_index("ix_loom_recovery_codes_user", "loom_recovery_codes", schema=schema)
    op.drop_table("loom_recovery_codes", schema=schema)
    with op.batch_alter_table("loom_users", schema=schema) as batch:
        batch.drop_column("totp_enrolled_at")
        batch.drop_column("totp_secret")
    with op.batch_alter_table("loom_tokens", schema=schema) as batch:
        batch.drop_column("scopes")
        batch.drop_column("expires_at")
