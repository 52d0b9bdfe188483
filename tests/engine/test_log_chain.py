"""The audit and access logs are tamper-evident (issue 12), on SQLite and PostgreSQL: rows
are sealed into hash chains, `loom audit verify TENANT` says "intact" or names the first
row that was changed or removed behind Loom's back (exit code 1), and a row an erasure
redacted still verifies by its link."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

from click.testing import CliRunner
from sqlalchemy import delete, select, update

from engine.cli import cli
from engine.records.access_log import log_access
from engine.records import redactions
from engine.records.chain import LOGS, content_hash, seal, verify
from engine.systables import loom_table


def loom(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


def write_some(acme, count=3, start=0):
    ids = [acme.records.create("contact", {"full_name": f"Person {n}", "email": f"p{n}@example.com"})["id"]
           for n in range(start, start + count)]
    for record_id in ids:
        log_access(acme.storage, None, "read", "contact", [record_id])
    return ids


def test_verify_seals_the_new_rows_and_finds_both_logs_intact(install, acme):
    write_some(acme)
    result = loom(install, "audit", "verify", "acme")
    assert result.exit_code == 0 and result.output.strip() == "intact"
    for name in ("loom_audit", "loom_access_log"):
        table = loom_table(acme.storage.schema, name)
        with acme.storage.connect() as conn:
            rows = conn.execute(select(table.c.seq, table.c.link).order_by(table.c.seq)).all()
        assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1)) and all(link for _, link in rows)


def test_a_changed_audit_row_is_found_with_its_id(install, acme):
    write_some(acme)
    assert loom(install, "audit", "verify", "acme").exit_code == 0
    audit = loom_table(acme.storage.schema, "loom_audit")
    with acme.storage.connect() as conn:
        second = conn.execute(select(audit.c.id).order_by(audit.c.seq).offset(1).limit(1)).scalar_one()
    with acme.storage.begin() as conn:
        conn.execute(update(audit).where(audit.c.id == second).values(changes={"full_name": [None, "Someone else"]}))
    result = loom(install, "audit", "verify", "acme")
    assert result.exit_code == 1
    assert f"broken: the audit log at row {second}: its content changed" in result.output


def test_a_changed_hash_or_a_removed_access_row_is_found(install, acme):
    write_some(acme, 4)
    seal(acme.storage, "access")
    log = loom_table(acme.storage.schema, "loom_access_log")
    with acme.storage.connect() as conn:
        ids = conn.execute(select(log.c.id).order_by(log.c.seq)).scalars().all()
    with acme.storage.connect() as conn:
        row = dict(conn.execute(select(log).where(log.c.id == ids[1])).mappings().one())
    forged = content_hash({**row, "action": "list"}, LOGS["access"][1])
    with acme.storage.begin() as conn:  # content and its hash rewritten together: the link tells
        conn.execute(update(log).where(log.c.id == ids[1]).values(action="list", content_hash=forged))
    broken = verify(acme.storage, "access")
    assert (broken.log, broken.row_id) == ("access", ids[1]) and "link" in broken.reason
    with acme.storage.begin() as conn:
        conn.execute(delete(log).where(log.c.id.in_(ids[1:3])))
    broken = verify(acme.storage, "access")
    assert broken.row_id == ids[3] and "missing" in broken.reason
    result = loom(install, "audit", "verify", "acme", "--json")
    assert result.exit_code == 1 and '"row_id": %d' % ids[3] in result.output


def test_a_redacted_row_still_verifies_by_its_link(install, acme):
    write_some(acme)
    seal(acme.storage, "audit")
    audit = loom_table(acme.storage.schema, "loom_audit")
    with acme.storage.connect() as conn:
        first = conn.execute(select(audit.c.id).order_by(audit.c.seq).limit(1)).scalar_one()
    with acme.storage.begin() as conn:  # as an erasure does: rewritten, marked, declared
        since = datetime.now(timezone.utc)
        conn.execute(update(audit).where(audit.c.id == first).values(
            changes={"email": [None, "erased"]}, redacted_at=datetime.now(timezone.utc)))
        redactions.declare(conn, acme.storage.schema, since, None, "contact", 1)
    assert verify(acme.storage, "audit") is None
    with acme.storage.begin() as conn:
        conn.execute(update(audit).where(audit.c.id == first).values(link="f" * 64))
    assert verify(acme.storage, "audit").row_id == first


def test_sealers_running_at_once_make_one_chain(install, acme):
    write_some(acme, 6)
    errors = []

    def run():
        try:
            seal(acme.storage, "audit")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and verify(acme.storage, "audit") is None
    write_some(acme, 2, start=6)
    assert seal(acme.storage, "audit") == 2 and verify(acme.storage, "audit") is None


def test_verify_of_an_unknown_tenant_is_a_clear_error(install):
    result = loom(install, "audit", "verify", "nope")
    assert result.exit_code == 1 and "error:" in result.output and "Traceback" not in result.output
