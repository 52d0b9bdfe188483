"""Job claims carry a token: each claim of a background job (`loom_jobs.claim`) is a new
random token, and a worker's progress, checkpoint and result are written only while the
row still holds its token, so a worker superseded by a re-queued run writes nothing more.

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"


def upgrade(schema=None):
    with op.batch_alter_table("loom_jobs", schema=schema) as batch:
        batch.add_column(sa.Column("claim", sa.String(32)))


def downgrade(schema=None):
    with op.batch_alter_table("loom_jobs", schema=schema) as batch:
        batch.drop_column("claim")
