"""Core table definitions of Loom's own tables, for queries.

Their DDL is owned by the alembic revisions under `tenants/migrations/`; these
definitions describe the head revision and must be kept in step with it (a test
compares them with the migrated database).
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import (
    JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData,
    PrimaryKeyConstraint, String, Table, Text, UniqueConstraint, false,
)

from tenants.security_key_tables import security_key_tables
from tenants.work_tables import work_tables

ID = BigInteger().with_variant(Integer(), "sqlite")
SEARCH_TERM = String(64).with_variant(String(64, collation="C"), "postgresql")


@lru_cache(maxsize=None)
def system_tables(schema: str | None) -> MetaData:
    """The install's registry: tenants and the plugins each enabled."""
    md = MetaData(schema=schema)
    Table(
        "loom_tenants", md,
        Column("id", ID, primary_key=True, autoincrement=True),
        Column("slug", String(40), nullable=False, unique=True),
        Column("name", String(200), nullable=False),
        Column("status", String(20), nullable=False, default="active"),
        Column("plugins", JSON, nullable=False, default=list),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("uid", String(32), nullable=False, unique=True),  # never reused, unlike the slug
        Column("language", String(35), nullable=False, server_default="en"),  # the default language tag
    )
    return md


@lru_cache(maxsize=None)
def tenant_tables(schema: str | None) -> MetaData:
    """Loom's tables inside every tenant's storage, beside the tenant's own entities."""
    md = MetaData(schema=schema)
    Table(
        "loom_users", md,
        Column("id", ID, primary_key=True, autoincrement=True),
        Column("email", String(254), nullable=False, unique=True),
        Column("display_name", String(200)),
        Column("role", String(20), nullable=False),
        Column("locale", String(20), nullable=False, default="en"),
        Column("password_hash", String(200)),
        Column("active", Boolean, nullable=False, default=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("territory", String(100)),
        Column("segments", JSON),
        Column("manager_id", ID),
        Column("attributes", JSON),
        Column("failed_logins", Integer, nullable=False, server_default="0"),  # in a row, since the last success
        Column("locked_until", DateTime(timezone=True)),
        Column("password_changed_at", DateTime(timezone=True)),  # sessions signed in before it end
        Column("totp_secret", String(200)),  # revision 0013: the TOTP secret (encrypted at rest: 0017)
        Column("totp_enrolled_at", DateTime(timezone=True)),
        Column("roles", JSON),            # revision 0009: the tenant's roles the user holds
        Column("permission_sets", JSON),  # revision 0009: extra rights on top of them
        Index("ix_loom_users_manager", "manager_id"),
    )
    Table(
        "loom_password_resets", md,
        Column("id", ID, primary_key=True, autoincrement=True),
        Column("user_id", ID, ForeignKey("loom_users.id", ondelete="CASCADE"), nullable=False),
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Column("used_at", DateTime(timezone=True)),
    )
    Table(
        "loom_saved_views", md,
        Column("id", ID, primary_key=True, autoincrement=True),
        Column("entity", String(48), nullable=False),
        Column("name", String(200), nullable=False),
        Column("owner_id", ID, ForeignKey("loom_users.id", ondelete="CASCADE")),  # None: shared by an admin
        Column("shared", Boolean, nullable=False, server_default=false()),
        Column("definition", JSON, nullable=False),  # columns, sort, filters, mode (list or kanban)
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Index("ix_loom_saved_views_entity", "entity", "owner_id"),
    )
    Table(
        "loom_tokens", md,
        Column("id", ID, primary_key=True, autoincrement=True),
        Column("user_id", ID, ForeignKey("loom_users.id", ondelete="CASCADE"), nullable=False),
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("label", String(200)),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("revoked_at", DateTime(timezone=True)),
        Column("last_used_at", DateTime(timezone=True)),  # revision 0008; kept to the minute
        Column("expires_at", DateTime(timezone=True)),  # revision 0013; None: never (tokens made before it)
        Column("scopes", JSON),  # revision 0013; None: read-write (tokens made before it)
    )
    Table(
        "loom_recovery_codes", md,  # revision 0013: one-time MFA recovery codes, argon2-hashed
        Column("id", ID, primary_key=True, autoincrement=True),
        Column("user_id", ID, ForeignKey("loom_users.id", ondelete="CASCADE"), nullable=False),
        Column("code_hash", String(200), nullable=False),
        Column("used_at", DateTime(timezone=True)),
        Index("ix_loom_recovery_codes_user", "user_id"),
    )
    Table(
        "loom_audit", md,
        Column("id", ID, primary_key=True, autoincrement=True),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("actor_id", ID),
        Column("action", String(20), nullable=False),
        Column("entity", String(48), nullable=False),
        Column("record_id", ID, nullable=False),
        Column("record_version", Integer, nullable=False),
        Column("changes", JSON, nullable=False),
        Index("ix_loom_audit_record", "entity", "record_id"),
        Index("ix_loom_audit_actor", "actor_id", "id"),  # revision 0008
        *_chain_columns(), Index("ux_loom_audit_seq", "seq", unique=True),  # revision 0012
    )
    Table(
        "loom_outbox", md,
        Column("id", ID, primary_key=True, autoincrement=True),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("event", String(40), nullable=False),
        Column("entity", String(48), nullable=False),
        Column("record_id", ID, nullable=False),
        Column("payload", JSON, nullable=False),
        Column("processed_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, default=0),
        Column("status", String(10), nullable=False, default="pending", server_default="pending"),
        Column("next_attempt_at", DateTime(timezone=True)),
        Column("last_error", Text),
        Index("ix_loom_outbox_status", "status", "id"),
    )
    Table(
        "loom_metadata_versions", md,
        Column("version", Integer, primary_key=True, autoincrement=False),
        Column("applied_at", DateTime(timezone=True), nullable=False),
        Column("applied_by", String(254)),
        Column("action", String(20), nullable=False),
        Column("document", JSON, nullable=False),
        Column("changes", JSON, nullable=False),
        Column("archives", JSON, nullable=False),
        Column("layers", JSON),
    )
    Table(
        "loom_archives", md,
        Column("id", ID, primary_key=True, autoincrement=True),
        Column("version", Integer, nullable=False),
        Column("kind", String(10), nullable=False),
        Column("entity", String(48), nullable=False),
        Column("field", String(48)),
        Column("table_name", String(63), nullable=False),
        Column("definition", JSON, nullable=False),
        Column("row_count", Integer, nullable=False),
        Column("restored_in", Integer),
    )
    _workflow_tables(md)
    _pack_tables(md)
    _draft_tables(md)
    _privacy_tables(md)
    _key_tables(md)
    work_tables(md)
    security_key_tables(md)
    return md



def _privacy_tables(md: MetaData) -> None:
    """Revision 0011: messages refused for want of consent, one row per recipient, and
    the log of data-subject requests (exports, erasures, retention runs) with the legal
    basis of what an erasure kept."""
    when = DateTime(timezone=True)
    Table("loom_consent_refusals", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("at", when, nullable=False),
          Column("purpose", String(40), nullable=False),
          Column("template", String(100)),
          Column("entity", String(48)),
          Column("record_id", ID),
          Column("party_id", ID),
          Column("recipient", String(254), nullable=False),
          Column("reason", String(300), nullable=False),
          Index("ix_loom_consent_refusals_party", "party_id", "id"))
    Table("loom_dsr_log", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("at", when, nullable=False),
          Column("actor", String(254)),
          Column("kind", String(12), nullable=False),
          Column("entity", String(48), nullable=False),
          Column("record_id", ID),
          Column("reason", Text),
          Column("detail", JSON, nullable=False),
          Index("ix_loom_dsr_log_record", "entity", "record_id"))



def _key_tables(md: MetaData) -> None:
    """The tenant's data keys (revision 0010), each wrapped by the install's master key:
    the newest encrypts; older ones stay to read values not yet re-encrypted."""
    Table("loom_keys", md,
          Column("seq", Integer, primary_key=True, autoincrement=False),
          Column("wrapped", Text, nullable=False),
          Column("master_id", String(16), nullable=False),
          Column("state", String(10), nullable=False),
          Column("created_at", DateTime(timezone=True), nullable=False))


def _draft_tables(md: MetaData) -> None:
    """Revision 0007: the designer's drafts (open_owner: the owner while open, else NULL)."""
    when = DateTime(timezone=True)
    Table("loom_drafts", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("owner_id", ID, nullable=False),
          Column("owner_email", String(254), nullable=False),
          Column("open_owner", ID, unique=True),
          Column("status", String(12), nullable=False),
          Column("based_on", Integer, nullable=False),
          Column("document", JSON, nullable=False),
          Column("problems", JSON, nullable=False),
          Column("created_at", when, nullable=False),
          Column("updated_at", when, nullable=False),
          Column("published_version", Integer))


def _pack_tables(md: MetaData) -> None:
    """Revision 0003: the packs a tenant installed and the tenant's overlay of changes."""
    when = DateTime(timezone=True)
    Table("loom_packs", md,
          Column("name", String(48), primary_key=True),
          Column("version", String(40), nullable=False),
          Column("position", Integer, nullable=False),
          Column("base", JSON, nullable=False),
          Column("installed_at", when, nullable=False),
          Column("upgraded_at", when))
    Table("loom_overlay", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("position", Integer, nullable=False),
          Column("op", String(10), nullable=False),
          Column("path", String(400), nullable=False),
          Column("value", JSON),
          Column("was", JSON),
          Column("created_at", when, nullable=False),
          Column("created_by", String(254)))


def _workflow_tables(md: MetaData) -> None:
    """Revision 0002: workflows, rules, jobs and notifications."""
    when = DateTime(timezone=True)
    Table("loom_settings", md,
          Column("key", String(100), primary_key=True),
          Column("value", JSON, nullable=False))
    Table("loom_effects", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("key", String(200), nullable=False, unique=True),
          Column("at", when, nullable=False))
    Table("loom_rule_trace", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("at", when, nullable=False),
          Column("event_id", ID),
          Column("event", String(40), nullable=False),
          Column("entity", String(48), nullable=False),
          Column("record_id", ID),
          Column("ruleset", String(48), nullable=False),
          Column("rule", String(48), nullable=False),
          Column("kind", String(12), nullable=False),
          Column("outcome", String(12), nullable=False),
          Column("actions", JSON, nullable=False),
          Column("detail", JSON),
          Index("ix_loom_rule_trace_record", "entity", "record_id"))
    Table("loom_correlations", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("ruleset", String(48), nullable=False),
          Column("rule", String(48), nullable=False),
          Column("key", String(200), nullable=False),
          Column("event_id", ID, nullable=False),
          Column("at", when, nullable=False),
          UniqueConstraint("ruleset", "rule", "event_id", name="uq_loom_correlations_event"),
          Index("ix_loom_correlations_key", "ruleset", "rule", "key", "at"))
    Table("loom_transitions", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("at", when, nullable=False),
          Column("entity", String(48), nullable=False),
          Column("record_id", ID, nullable=False),
          Column("workflow", String(48), nullable=False),
          Column("transition", String(48), nullable=False),
          Column("from_state", String(48)),
          Column("to_state", String(48), nullable=False),
          Column("actor_id", ID),
          Column("comment", Text),
          Index("ix_loom_transitions_record", "entity", "record_id"))
    Table("loom_approvals", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("at", when, nullable=False),
          Column("entity", String(48), nullable=False),
          Column("record_id", ID, nullable=False),
          Column("transition", String(48), nullable=False),
          Column("from_state", String(48), nullable=False),
          Column("actor_id", ID, nullable=False),
          Column("comment", Text),
          Column("consumed", Boolean, nullable=False, default=False, server_default=false()),
          Index("ix_loom_approvals_record", "entity", "record_id", "transition"))
    Table("loom_sla_timers", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("entity", String(48), nullable=False),
          Column("record_id", ID, nullable=False),
          Column("state", String(48), nullable=False),
          Column("timer", String(48), nullable=False),
          Column("started_at", when, nullable=False),
          Column("due_at", when, nullable=False),
          Column("status", String(12), nullable=False),
          Column("finished_at", when),
          Index("ix_loom_sla_timers_due", "status", "due_at"),
          Index("ix_loom_sla_timers_record", "entity", "record_id"))
    Table("loom_notifications", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("at", when, nullable=False),
          Column("user_id", ID, nullable=False),
          Column("title", String(300), nullable=False),
          Column("body", Text, nullable=False),
          Column("entity", String(48)),
          Column("record_id", ID),
          Column("read_at", when),
          Index("ix_loom_notifications_user", "user_id", "read_at"))
    # The search index (revision 0006): one row per term of a searchable field
    # (engine.records.search_index), one B-tree keyed by the term (a table without rowid on
    # SQLite; on PostgreSQL a primary key that includes at_start, for index-only scans).
    # Terms compare byte-wise ("C" on PostgreSQL, SQLite's default), so a prefix is one range.
    Table("loom_search", md,
          Column("term", SEARCH_TERM, nullable=False),
          Column("entity", String(48), nullable=False),
          Column("record_id", ID, nullable=False),
          Column("field", String(63), nullable=False),
          Column("at_start", Boolean, nullable=False),
          PrimaryKeyConstraint("term", "entity", "record_id", "field", name="pk_loom_search",
                               postgresql_include=["at_start"]),
          Index("ix_loom_search_record", "entity", "record_id"),
          sqlite_with_rowid=False)
    # The records whose searchable values a write changed (revision 0014): one row per
    # written record, in the write's transaction; the index follows them after the commit
    # (engine.records.search_index.follow_writes) and removes the rows it has followed.
    Table("loom_search_queue", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("entity", String(48), nullable=False),
          Column("record_id", ID, nullable=False))
    # The access log (revision 0012): reads of records holding personal data, searches,
    # exports, unmasking and sign-ins; chained like the audit log (engine.records.chain).
    Table("loom_access_log", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("at", when, nullable=False),
          Column("actor_id", ID),
          Column("action", String(20), nullable=False),
          Column("entity", String(48)),
          Column("record_id", ID),
          Column("detail", JSON, nullable=False),
          *_chain_columns(),
          Index("ix_loom_access_log_actor", "actor_id", "id"),
          Index("ix_loom_access_log_record", "entity", "record_id"),
          Index("ux_loom_access_log_seq", "seq", unique=True))
    return md


def _chain_columns() -> list:
    """A tamper-evident log's chain (revision 0012): see engine.records.chain."""
    return [Column("content_hash", String(64)), Column("link", String(64)), Column("seq", ID),
            Column("redacted_at", DateTime(timezone=True))]
