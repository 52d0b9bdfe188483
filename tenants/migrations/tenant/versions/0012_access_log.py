"""The access log and the tamper evidence of both logs: `loom_access_log` (who read,
searched, exported or unmasked which records, and sign-ins), and on it and on
`loom_audit` the chain columns: `content_hash` (SHA-256 of the row's canonical content),
`link` (SHA-256 of the previous link and this content_hash), `seq` (the row's place in
the chain, given when it is sealed) and `redacted_at` (set when an erasure rewrote it).

Revision ID: 0012
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def _chain_columns():
    return [sa.Column("content_hash", sa.String(64)), sa.Column("link", sa.String(64)),
            sa.Column("seq", ID), sa.Column("redacted_at", WHEN)]


def upgrade(schema=None):
    op.create_table(
        "loom_access_log",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("actor_id", ID),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("entity", sa.String(48)),
        sa.Column("record_id", ID),
        sa.Column("detail", sa.JSON, nullable=False),
        *_chain_columns(),
        schema=schema,
    )
    op.create_index("ix_loom_access_log_actor", "loom_access_log", ["actor_id", "id"], schema=schema)
    op.create_index("ix_loom_access_log_record", "loom_access_log", ["entity", "record_id"], schema=schema)
    op.create_index("ux_loom_access_log_seq", "loom_access_log", ["seq"], unique=True, schema=schema)
    with op.batch_alter_table("loom_audit", schema=schema) as batch:
        for column in _chain_columns():
            batch.add_column(column)
    op.create_index("ux_loom_audit_seq", "loom_audit", ["seq"], unique=True, schema=schema)


def downgrade(schema=None):
    op.drop_index("ux_loom_audit_seq", "loom_audit", schema=schema)
    with op.batch_alter_table("loom_audit", schema=schema) as batch:
        for name in ("redacted_at", "seq", "link", "content_hash"):
            batch.drop_column(name)
    op.drop_table("loom_access_log", schema=schema)
