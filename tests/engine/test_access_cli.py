"""`loom access-log` on SQLite and PostgreSQL: an admin reads who accessed which record,
filtered by user (e-mail or id), record and time; bad filters are clear errors."""
from __future__ import annotations

import json

from click.testing import CliRunner

from engine import auth
from engine.cli import cli
from engine.records.pii import Masking


def loom(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


def member_session(install, email="m@acme.example"):
    storage = install.session("acme").storage
    auth.create_user(storage, email, "member")
    actor = next(a for a in auth.list_users(storage) if a.email == email)
    return install.session("acme", actor)


def test_the_access_log_lists_a_members_reads_and_unmasking(install, acme):
    record = acme.records.create("contact", {"full_name": "Wang Wei", "email": "wang@example.cn"})
    member = member_session(install)
    assert member.records.get("contact", record["id"])["email"] == "w***@example.cn"
    member.records.unmask("contact", record["id"], ["email"], "to send the contract")
    result = loom(install, "access-log", "acme", "--user", "m@acme.example", "--record", str(record["id"]))
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split("\t")[3] for line in lines] == ["unmask", "read"]
    assert "to send the contract" in lines[0] and "m@acme.example" in lines[0]
    as_json = json.loads(loom(install, "access-log", "acme", "--since", "2000-01-01", "--json").output)
    assert {e["action"] for e in as_json} == {"unmask", "read"}
    assert loom(install, "access-log", "acme", "--until", "2000-01-01").output.strip() == "no entries"


def test_bad_filters_are_clear_errors(install, acme):
    for args, said in ((("--user", "nobody@acme.example"), "no user"), (("--since", "yesterday"), "since"),
                       (("--limit", "0"), "limit")):
        result = loom(install, "access-log", "acme", *args)
        assert result.exit_code == 1 and said in result.output and "Traceback" not in result.output


def test_masking_leaves_loom_itself_and_admins_in_clear(acme):
    entity = acme.metadata().entity("contact")
    assert Masking(None).hidden(entity) == {}
    assert set(Masking(None, system=True).hidden(entity)) == set()
