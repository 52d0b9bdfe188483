"""Loom's tables for work on a tenant's data as a whole: background jobs (revision 0015),
merges of records (revision 0016) and imports (revision 0018). Part of `tenant_tables`;
their DDL is owned by those revisions."""
from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Column, DateTime, Index, Integer, LargeBinary, MetaData,
                        PrimaryKeyConstraint, String, Table, Text)

ID = BigInteger().with_variant(Integer(), "sqlite")


def work_tables(md: MetaData) -> None:
    when = DateTime(timezone=True)
    # Background jobs (revision 0015): engine.background.
    Table("loom_jobs", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("kind", String(40), nullable=False),
          Column("status", String(12), nullable=False),
          Column("params", JSON, nullable=False),
          Column("state", JSON),
          Column("done", BigInteger, nullable=False, server_default="0"),
          Column("total", BigInteger),
          Column("result", JSON),
          Column("error", Text),
          Column("created_by", ID),
          Column("created_at", when, nullable=False),
          Column("started_at", when),
          Column("finished_at", when),
          Column("heartbeat_at", when),
          Column("claim", String(32)),  # the running claim's token (revision 0021)
          Index("ix_loom_jobs_status", "status", "heartbeat_at"))
    # Merges of records (revision 0016): what each merge changed, to undo it
    # (engine.records.merging).
    Table("loom_merges", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("at", when, nullable=False),
          Column("actor_id", ID),
          Column("entity", String(48), nullable=False),
          Column("survivor_id", ID, nullable=False),
          Column("losers", JSON, nullable=False),
          Column("undo", JSON, nullable=False),
          Column("undone_at", when),
          Column("undone_by", ID),
          Index("ix_loom_merges_survivor", "entity", "survivor_id"))
    # Imports (revision 0018): saved mappings, runs and their per-chunk checkpoints.
    Table("loom_import_mappings", md,
          Column("name", String(64), primary_key=True),
          Column("entity", String(48), nullable=False),
          Column("columns", JSON, nullable=False),
          Column("updated_at", when, nullable=False),
          Column("updated_by", String(254)))
    Table("loom_import_runs", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("entity", String(48), nullable=False),
          Column("filename", String(255), nullable=False),
          Column("source", LargeBinary, nullable=False),
          Column("options", JSON, nullable=False),
          Column("status", String(12), nullable=False),
          Column("totals", JSON),
          Column("created_by", String(254)),
          Column("created_at", when, nullable=False),
          Column("finished_at", when),
          Column("created_by_id", ID),  # revision 0020: its creator's user id (the owner)
          Column("file_removed_at", when))  # revision 0020: when retention removed its file
    Table("loom_import_chunks", md,
          Column("run_id", ID, nullable=False),
          Column("chunk", Integer, nullable=False),
          Column("outcome", JSON, nullable=False),
          Column("at", when, nullable=False),
          PrimaryKeyConstraint("run_id", "chunk", name="pk_loom_import_chunks"))
