"""Import runs belong to their creator by user id (`created_by_id`, filled from the
e-mail each existing run kept; a run whose e-mail matches no user keeps none and only
an admin may follow it), and say when retention removed their kept file
(`file_removed_at`: the run keeps its summary).

Revision ID: 0020
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0018"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade(schema=None):
    with op.batch_alter_table("loom_import_runs", schema=schema) as batch:
        batch.add_column(sa.Column("created_by_id", ID))
        batch.add_column(sa.Column("file_removed_at", sa.DateTime(timezone=True)))
    runs = sa.table("loom_import_runs", sa.column("created_by"), sa.column("created_by_id", ID), schema=schema)
    users = sa.table("loom_users", sa.column("id", ID), sa.column("email"), schema=schema)
    # min(): one user per e-mail without a LIMIT (no bound parameter: the SQL is recorded)
    by_email = (sa.select(sa.func.min(users.c.id))
                .where(sa.func.lower(users.c.email) == sa.func.lower(runs.c.created_by)).scalar_subquery())
    op.get_bind().execute(runs.update().where(runs.c.created_by.is_not(None)).values(created_by_id=by_email))


def downgrade(schema=None):
    with op.batch_alter_table("loom_import_runs", schema=schema) as batch:
        batch.drop_column("file_removed_at")
        batch.drop_column("created_by_id")
