"""Personal data: messages refused for want of consent (one row per recipient) and the
log of data-subject requests (access exports, erasures, retention runs).

Revision ID: 0011
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0014"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade(schema=None):
    when = sa.DateTime(timezone=True)
    op.create_table(
        "loom_consent_refusals",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", when, nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("template", sa.String(100)),
        sa.Column("entity", sa.String(48)),
        sa.Column("record_id", ID),
        sa.Column("party_id", ID),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        schema=schema)
    op.create_index("ix_loom_consent_refusals_party", "loom_consent_refusals", ["party_id", "id"], schema=schema)
    op.create_table(
        "loom_dsr_log",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", when, nullable=False),
        sa.Column("actor", sa.String(254)),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("record_id", ID),
        sa.Column("reason", sa.Text),
        sa.Column("detail", sa.JSON, nullable=False),
        schema=schema)
    op.create_index("ix_loom_dsr_log_record", "loom_dsr_log", ["entity", "record_id"], schema=schema)


def downgrade(schema=None):
    op.drop_index("ix_loom_dsr_log_record", "loom_dsr_log", schema=schema)
    op.drop_table("loom_dsr_log", schema=schema)
    op.drop_index("ix_loom_consent_refusals_party", "loom_consent_refusals", schema=schema)
    op.drop_table("loom_consent_refusals", schema=schema)
