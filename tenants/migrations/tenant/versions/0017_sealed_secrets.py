"""TOTP secrets encrypted at rest, and redactions declared in the audit chain.

`loom_users.totp_secret` widens to hold an encrypted secret (`v1:k<key>:<nonce>:<ciphertext>`).
The migration does not hold the tenant's keys: in a tenant with secrets it sets
`totp_secrets_clear` in `loom_settings`, and the engine encrypts them the first time a
process opens the tenant with a master key. Rows of the audit and access logs an
erasure redacted before redactions were declared in the chain are marked the same way
(`redactions_undeclared`): the engine declares them, as they stand, in one audit row.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
depends_on = ("0013",)  # loom_users.totp_secret

SECRETS, REDACTIONS = "totp_secrets_clear", "redactions_undeclared"


def _flag(conn, schema, key) -> None:
    settings = sa.table("loom_settings", sa.column("key"), sa.column("value", sa.JSON), schema=schema)
    conn.execute(settings.delete().where(settings.c.key == key))
    conn.execute(settings.insert().values(key=key, value=True))


def upgrade(schema=None):
    with op.batch_alter_table("loom_users", schema=schema) as batch:
        batch.alter_column("totp_secret", type_=sa.String(200), existing_type=sa.String(64))
    conn = op.get_bind()
    users = sa.table("loom_users", sa.column("totp_secret"), schema=schema)
    if conn.execute(sa.select(users.c.totp_secret).where(users.c.totp_secret.is_not(None)).limit(1)).first():
        _flag(conn, schema, SECRETS)
    for name in ("loom_audit", "loom_access_log"):
        table = sa.table(name, sa.column("redacted_at"), schema=schema)
        if conn.execute(sa.select(table.c.redacted_at).where(table.c.redacted_at.is_not(None)).limit(1)).first():
            _flag(conn, schema, REDACTIONS)
            break


def downgrade(schema=None):
    settings = sa.table("loom_settings", sa.column("key"), schema=schema)
    op.get_bind().execute(settings.delete().where(settings.c.key.in_([SECRETS, REDACTIONS])))
    with op.batch_alter_table("loom_users", schema=schema) as batch:
        batch.alter_column("totp_secret", type_=sa.String(64), existing_type=sa.String(200))
