"""Background jobs a user starts and watches (an import, a duplicate scan): one row each,
with its progress, its checkpoint for resuming after a crash, and its result or error.

Revision ID: 0015
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0012"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade(schema=None):
    op.create_table(
        "loom_jobs",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("state", sa.JSON),
        sa.Column("done", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("total", sa.BigInteger),
        sa.Column("result", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("created_by", ID),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("started_at", WHEN),
        sa.Column("finished_at", WHEN),
        sa.Column("heartbeat_at", WHEN),
        schema=schema,
    )
    op.create_index("ix_loom_jobs_status", "loom_jobs", ["status", "heartbeat_at"], schema=schema)


def downgrade(schema=None):
    op.drop_index("ix_loom_jobs_status", "loom_jobs", schema=schema)
    op.drop_table("loom_jobs", schema=schema)
