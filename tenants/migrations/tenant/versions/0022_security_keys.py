"""Security keys (WebAuthn) as a second sign-in step: the keys users enrolled
(`loom_webauthn_keys`: the relying party each was made for, the credential, its public
key, sign count, transports and the name its user gave it) and the single-use challenges
handed out for enrolling or using one (`loom_webauthn_challenges`, each with its expiry).

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade(schema=None):
    users = f"{schema}.loom_users.id" if schema else "loom_users.id"
    op.create_table(
        "loom_webauthn_keys",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, sa.ForeignKey(users, ondelete="CASCADE"), nullable=False),
        sa.Column("rp_id", sa.String(253), nullable=False),
        sa.Column("credential_id", sa.String(1400), nullable=False, unique=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("transports", sa.JSON, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_used_at", WHEN),
        schema=schema,
    )
    op.create_index("ix_loom_webauthn_keys_user", "loom_webauthn_keys", ["user_id"], schema=schema)
    op.create_table(
        "loom_webauthn_challenges",
        sa.Column("challenge", sa.String(100), primary_key=True),
        sa.Column("user_id", ID, sa.ForeignKey(users, ondelete="CASCADE"), nullable=False),
        sa.Column("purpose", sa.String(12), nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        schema=schema,
    )


def downgrade(schema=None):
    op.drop_table("loom_webauthn_challenges", schema=schema)
    op.drop_index("ix_loom_webauthn_keys_user", "loom_webauthn_keys", schema=schema)
    op.drop_table("loom_webauthn_keys", schema=schema)
