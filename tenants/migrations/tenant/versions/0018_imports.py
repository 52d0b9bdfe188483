"""Imports: saved column mappings (`loom_import_mappings`, reusable by name), import runs
(`loom_import_runs`: the file, its options, its status and its reconciliation) and their
checkpoints (`loom_import_chunks`: one row per committed chunk, written in the chunk's own
transaction, so a resumed run skips exactly the chunks that were written).

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade(schema=None):
    op.create_table(
        "loom_import_mappings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("columns", sa.JSON, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(254)),
        schema=schema,
    )
    op.create_table(
        "loom_import_runs",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("source", sa.LargeBinary, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("totals", sa.JSON),
        sa.Column("created_by", sa.String(254)),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("finished_at", WHEN),
        schema=schema,
    )
    op.create_table(
        "loom_import_chunks",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("chunk", sa.Integer, nullable=False),
        sa.Column("outcome", sa.JSON, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "chunk", name="pk_loom_import_chunks"),
        schema=schema,
    )


def downgrade(schema=None):
    op.drop_table("loom_import_chunks", schema=schema)
    op.drop_table("loom_import_runs", schema=schema)
    op.drop_table("loom_import_mappings", schema=schema)
