"""Loom's tables inside a tenant: users, tokens, audit, outbox, metadata versions, archives.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def _in(schema, target):
    return f"{schema}.{target}" if schema else target


def upgrade(schema=None):
    op.create_table(
        "loom_users",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("display_name", sa.String(200)),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("locale", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        schema=schema,
    )
    op.create_table(
        "loom_tokens",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, sa.ForeignKey(_in(schema, "loom_users.id"), ondelete="CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(200)),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("revoked_at", WHEN),
        schema=schema,
    )
    op.create_table(
        "loom_audit",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor_id", ID),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("record_version", sa.Integer, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        schema=schema,
    )
    op.create_index("ix_loom_audit_record", "loom_audit", ["entity", "record_id"], schema=schema)
    op.create_table(
        "loom_outbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("processed_at", WHEN),
        sa.Column("attempts", sa.Integer, nullable=False),
        schema=schema,
    )
    op.create_index("ix_loom_outbox_pending", "loom_outbox", ["processed_at", "id"], schema=schema)
    op.create_table(
        "loom_metadata_versions",
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("applied_at", WHEN, nullable=False),
        sa.Column("applied_by", sa.String(254)),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("archives", sa.JSON, nullable=False),
        schema=schema,
    )
    op.create_table(
        "loom_archives",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("field", sa.String(48)),
        sa.Column("table_name", sa.String(63), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("restored_in", sa.Integer),
        schema=schema,
    )


def downgrade(schema=None):
    for table in ("loom_archives", "loom_metadata_versions", "loom_outbox", "loom_audit",
                  "loom_tokens", "loom_users"):
        op.drop_table(table, schema=schema)
