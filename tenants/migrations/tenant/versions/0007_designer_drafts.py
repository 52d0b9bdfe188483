"""The designer's drafts: one metadata document per admin, kept server-side, based on a
published version. `open_owner` is the owner's id while the draft is open and NULL once
it is published or discarded, so a unique index keeps one open draft per admin.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade(schema=None):
    op.create_table(
        "loom_drafts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("owner_id", ID, nullable=False),
        sa.Column("owner_email", sa.String(254), nullable=False),
        sa.Column("open_owner", ID, unique=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("based_on", sa.Integer, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("problems", sa.JSON, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("published_version", sa.Integer),
        schema=schema,
    )


def downgrade(schema=None):
    op.drop_table("loom_drafts", schema=schema)
