"""`loom user deactivate|reactivate` and `loom token list|revoke` as an operator runs them,
on SQLite and PostgreSQL: a deactivated user's token is refused, a revoked token at once;
a refusal is one line on stderr with a non-zero exit and nothing changed."""
from click.testing import CliRunner

from engine import auth
from engine.cli import cli


def run(install, *args):
    return CliRunner().invoke(cli, list(args), obj=install)


def test_deactivate_reactivate_list_and_revoke(install):
    install.registry.create("acme")
    storage = install.session("acme").storage
    auth.create_user(storage, "ann@acme.example", "admin")
    auth.create_user(storage, "mo@acme.example", "member")
    secret = auth.create_token(storage, "mo@acme.example", "till")
    done = run(install, "user", "deactivate", "acme", "MO@acme.example")
    assert done.exit_code == 0 and "deactivated mo@acme.example in acme" in done.output
    assert auth.authenticate(storage, secret) is None
    assert run(install, "user", "reactivate", "acme", "mo@acme.example").exit_code == 0
    assert auth.authenticate(storage, secret).email == "mo@acme.example"
    listed = run(install, "token", "list", "acme")
    assert listed.exit_code == 0 and "\tmo@acme.example\ttill\t" in listed.output and "used " in listed.output
    assert secret not in listed.output
    token_id = listed.output.split("\t", 1)[0]
    revoked = run(install, "token", "revoke", "acme", token_id)
    assert revoked.exit_code == 0 and "revoked token" in revoked.output
    assert auth.authenticate(storage, secret) is None
    again = run(install, "token", "revoke", "acme", token_id)
    assert again.exit_code == 1 and "already revoked" in again.output


def test_the_last_admin_and_unknown_users_are_refused_changing_nothing(install):
    install.registry.create("acme")
    storage = install.session("acme").storage
    auth.create_user(storage, "ann@acme.example", "admin")
    last = run(install, "user", "deactivate", "acme", "ann@acme.example")
    assert last.exit_code == 1 and "last active admin" in last.output
    ghost = run(install, "user", "deactivate", "acme", "ghost@acme.example")
    assert ghost.exit_code == 1 and "no user ghost@acme.example" in ghost.output
    assert [a.email for a in auth.list_users(storage)] == ["ann@acme.example"]
    assert auth.create_token(storage, "ann@acme.example")  # still active


def test_the_last_admin_is_not_demoted_by_a_role_change(install):
    install.registry.create("acme")
    storage = install.session("acme").storage
    auth.create_user(storage, "ann@acme.example", "admin")
    demoted = run(install, "user", "update", "acme", "ann@acme.example", "--role", "member", "--attr", "region=east")
    assert demoted.exit_code == 1 and "last active admin" in demoted.output
    [ann] = auth.list_users(storage)
    assert (ann.role, ann.attributes) == ("admin", {})  # nothing changed, the attribute neither
    auth.create_user(storage, "bo@acme.example", "admin")
    assert run(install, "user", "update", "acme", "ann@acme.example", "--role", "member").exit_code == 0


def test_a_refused_password_creates_no_user_and_an_undecodable_one_is_a_clear_error(install):
    install.registry.create("acme")
    storage = install.session("acme").storage
    for given in (b"pw1@acme.example\npw1@acme.example\n", b"\xff\xfegoodpassword12\n\xff\xfegoodpassword12\n"):
        made = CliRunner().invoke(cli, ["user", "create", "acme", "pw1@acme.example", "--password"],
                                  obj=install, input=given)
        assert made.exit_code == 2 and isinstance(made.exception, SystemExit), made.output  # a usage error
        assert "e-mail address" in made.output or "not UTF-8" in made.output
    assert auth.list_users(storage) == []
    auth.create_user(storage, "pw1@acme.example", "member")
    reset = CliRunner().invoke(cli, ["user", "set-password", "acme", "pw1@acme.example"], obj=install,
                               input=b"\xff\xfegoodpassword12\n\xff\xfegoodpassword12\n")
    assert reset.exit_code == 2 and "not UTF-8" in reset.output


def test_a_token_for_a_deactivated_user_says_so(install):
    install.registry.create("acme")
    storage = install.session("acme").storage
    auth.create_user(storage, "ann@acme.example", "admin")
    auth.create_user(storage, "tk@acme.example", "member")
    assert run(install, "user", "deactivate", "acme", "tk@acme.example").exit_code == 0
    refused = run(install, "token", "create", "acme", "tk@acme.example")
    assert refused.exit_code == 1 and "tk@acme.example is deactivated" in refused.output
    ghost = run(install, "token", "create", "acme", "ghost@acme.example")
    assert ghost.exit_code == 1 and "no user ghost@acme.example" in ghost.output
