"""Alembic environment: runs on the connection and schema Loom hands over."""
from alembic import context

from tenants.migrations import VERSION_TABLE

config = context.config
connection = config.attributes["connection"]
schema = config.attributes["schema"]

context.configure(
    connection=connection,
    version_table=VERSION_TABLE,
    version_table_schema=schema,
    render_as_batch=True,
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations(schema=schema)
