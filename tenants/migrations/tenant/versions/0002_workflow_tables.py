"""Tables for workflows, rules, jobs and notifications; outbox retry state; user routing data.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade(schema=None):
    with op.batch_alter_table("loom_outbox", schema=schema) as batch:
        batch.add_column(sa.Column("status", sa.String(10), nullable=False, server_default="pending"))
        batch.add_column(sa.Column("next_attempt_at", WHEN))
        batch.add_column(sa.Column("last_error", sa.Text))
    op.create_index("ix_loom_outbox_status", "loom_outbox", ["status", "id"], schema=schema)
    with op.batch_alter_table("loom_users", schema=schema) as batch:
        batch.add_column(sa.Column("territory", sa.String(100)))
        batch.add_column(sa.Column("segments", sa.JSON))
    op.create_table(
        "loom_settings",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
        schema=schema,
    )
    op.create_table(
        "loom_effects",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("at", WHEN, nullable=False),
        schema=schema,
    )
    op.create_table(
        "loom_rule_trace",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("event_id", ID),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("record_id", ID),
        sa.Column("ruleset", sa.String(48), nullable=False),
        sa.Column("rule", sa.String(48), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("actions", sa.JSON, nullable=False),
        sa.Column("detail", sa.JSON),
        schema=schema,
    )
    op.create_index("ix_loom_rule_trace_record", "loom_rule_trace", ["entity", "record_id"], schema=schema)
    op.create_table(
        "loom_correlations",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("ruleset", sa.String(48), nullable=False),
        sa.Column("rule", sa.String(48), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.UniqueConstraint("ruleset", "rule", "event_id", name="uq_loom_correlations_event"),
        schema=schema,
    )
    op.create_index("ix_loom_correlations_key", "loom_correlations", ["ruleset", "rule", "key", "at"], schema=schema)
    op.create_table(
        "loom_transitions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("workflow", sa.String(48), nullable=False),
        sa.Column("transition", sa.String(48), nullable=False),
        sa.Column("from_state", sa.String(48)),
        sa.Column("to_state", sa.String(48), nullable=False),
        sa.Column("actor_id", ID),
        sa.Column("comment", sa.Text),
        schema=schema,
    )
    op.create_index("ix_loom_transitions_record", "loom_transitions", ["entity", "record_id"], schema=schema)
    op.create_table(
        "loom_approvals",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("transition", sa.String(48), nullable=False),
        sa.Column("from_state", sa.String(48), nullable=False),
        sa.Column("actor_id", ID, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("consumed", sa.Boolean, nullable=False, server_default=sa.false()),
        schema=schema,
    )
    op.create_index("ix_loom_approvals_record", "loom_approvals", ["entity", "record_id", "transition"], schema=schema)
    op.create_table(
        "loom_sla_timers",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(48), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("state", sa.String(48), nullable=False),
        sa.Column("timer", sa.String(48), nullable=False),
        sa.Column("started_at", WHEN, nullable=False),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("finished_at", WHEN),
        schema=schema,
    )
    op.create_index("ix_loom_sla_timers_due", "loom_sla_timers", ["status", "due_at"], schema=schema)
    op.create_index("ix_loom_sla_timers_record", "loom_sla_timers", ["entity", "record_id"], schema=schema)
    op.create_table(
        "loom_notifications",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("entity", sa.String(48)),
        sa.Column("record_id", ID),
        sa.Column("read_at", WHEN),
        schema=schema,
    )
    op.create_index("ix_loom_notifications_user", "loom_notifications", ["user_id", "read_at"], schema=schema)


def downgrade(schema=None):
    for table in ("loom_notifications", "loom_sla_timers", "loom_approvals", "loom_transitions",
                  "loom_correlations", "loom_rule_trace", "loom_effects", "loom_settings"):
        op.drop_table(table, schema=schema)
    op.drop_index("ix_loom_outbox_status", table_name="loom_outbox", schema=schema)
    with op.batch_alter_table("loom_users", schema=schema) as batch:
        batch.drop_column("segments")
        batch.drop_column("territory")
    with op.batch_alter_table("loom_outbox", schema=schema) as batch:
        batch.drop_column("last_error")
        batch.drop_column("next_attempt_at")
        batch.drop_column("status")
