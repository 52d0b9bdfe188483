"""Settings from the environment an operator gets wrong, and folders Loom cannot write:
each is one `error:` line naming the variable or the folder, exit 1, never a traceback,
and nothing is made or dropped."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from engine.cli import cli

BAD = [
    ({"LOOM_DATABASE_URL": "nonsense"}, "LOOM_DATABASE_URL must be a PostgreSQL URL"),
    ({"LOOM_DATABASE_URL": "mysql://x@localhost/db"}, "not 'mysql'"),
    ({"LOOM_DATABASE_URL": "sqlite:///x.db"}, "not 'sqlite'"),
    ({"LOOM_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:notaport/test"}, "LOOM_DATABASE_URL must be"),
    ({"LOOM_DATABASE_URL": "postgresql://postgres@[::1/test"}, "LOOM_DATABASE_URL must be"),
    ({"LOOM_REDIS_URL": "nonsense"}, "LOOM_REDIS_URL must be"),
    ({"LOOM_RETRY_BASE_SECONDS": "abc"}, "LOOM_RETRY_BASE_SECONDS must be a number of seconds above 0"),
    ({"LOOM_OUTBOX_LEASE_SECONDS": "-5"}, "LOOM_OUTBOX_LEASE_SECONDS must be"),
    ({"LOOM_TIMEZONE": "Mars/Base"}, "LOOM_TIMEZONE must be a time zone"),
]


def loom(env, *args):
    return CliRunner(env=env).invoke(cli, list(args))


@pytest.mark.parametrize("env, said", BAD)
def test_a_bad_setting_is_one_error_line_and_nothing_is_made(tmp_path, env, said):
    data = tmp_path / "data"
    answer = loom({"LOOM_DATA_DIR": str(data), "LOOM_DATABASE_URL": None, **env}, "tenant", "create", "qq")
    assert answer.exit_code == 1 and said in answer.output and "Traceback" not in answer.output
    assert not data.exists() and not (tmp_path / "x.db").exists()


def test_a_data_folder_that_is_a_file_or_cannot_be_made_is_named(tmp_path):
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    for folder, why in ((a_file, "File exists"), (a_file / "sub", "Not a directory")):
        answer = loom({"LOOM_DATA_DIR": str(folder), "LOOM_DATABASE_URL": None}, "tenant", "create", "qq")
        assert answer.exit_code == 1 and f"cannot use the data folder {folder} (LOOM_DATA_DIR): {why}" in answer.output
    listed = loom({"LOOM_DATA_DIR": str(a_file), "LOOM_DATABASE_URL": None}, "tenant", "list")
    assert listed.exit_code == 1 and f"no Loom install in {a_file} (LOOM_DATA_DIR={a_file})" in listed.output


@pytest.mark.parametrize("args", [["tenant", "list"], ["user", "list", "acme"], ["export", "acme", "contact", "x.csv"],
                                  ["pack", "list", "--tenant", "acme"], ["metadata", "history", "acme"]])
def test_a_command_run_away_from_the_install_says_so_and_makes_no_empty_one(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    answer = loom({"LOOM_DATA_DIR": None, "LOOM_DATABASE_URL": None}, *args)
    assert answer.exit_code == 1 and "Traceback" not in answer.output
    assert (f"no Loom install in {tmp_path / 'loom-data'} (LOOM_DATA_DIR is not set: ./loom-data of this folder); "
            "run loom in the folder that holds loom-data or set LOOM_DATA_DIR to it") in answer.output
    assert list(tmp_path.iterdir()) == []


def test_listing_what_plugins_offer_needs_no_install_and_makes_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["plugin", "list"], ["pack", "list"], ["metadata", "packages"]):
        assert loom({"LOOM_DATA_DIR": None, "LOOM_DATABASE_URL": None}, *args).exit_code == 0
    assert list(tmp_path.iterdir()) == []
    made = loom({"LOOM_DATA_DIR": None, "LOOM_DATABASE_URL": None}, "tenant", "create", "qq")
    assert made.exit_code == 0 and (tmp_path / "loom-data" / "system.db").is_file()
    assert "qq" in loom({"LOOM_DATA_DIR": None, "LOOM_DATABASE_URL": None}, "tenant", "list").output


def test_an_export_folder_that_cannot_be_written_deletes_nothing(tmp_path):
    env = {"LOOM_DATA_DIR": str(tmp_path / "data"), "LOOM_DATABASE_URL": None}
    assert loom(env, "tenant", "create", "race1").exit_code == 0
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    answer = loom(env, "tenant", "delete", "race1", "--yes", "--export-dir", str(a_file / "sub"))
    assert answer.exit_code == 1 and "cannot write the export" in answer.output and "nothing was deleted" in answer.output
    assert "race1" in loom(env, "tenant", "list").output
    assert not list(tmp_path.rglob("*.partial"))


@pytest.mark.parametrize("args, said", [
    (["tenant", "create", "qq", "--name", "x\ny\tz"], "without control characters"),
    (["tenant", "create", "qq", "--name", "x" * 201], "at most 200 characters"),
])
def test_a_tenant_name_that_would_break_a_listing_is_refused(tmp_path, args, said):
    env = {"LOOM_DATA_DIR": str(tmp_path / "data"), "LOOM_DATABASE_URL": None}
    answer = loom(env, *args)
    assert answer.exit_code == 1 and said in answer.output
    assert "qq" not in loom(env, "tenant", "list").output


@pytest.mark.parametrize("option, said", [
    (["--name", "y" * 300], "at most 200 characters"), (["--name", "a\nb"], "control characters"),
    (["--locale", "!!"], "invalid locale"), (["--role", "member", "--locale", ""], "invalid locale"),
])
def test_a_user_the_api_would_refuse_is_refused_by_the_cli_too(tmp_path, option, said):
    env = {"LOOM_DATA_DIR": str(tmp_path / "data"), "LOOM_DATABASE_URL": None}
    assert loom(env, "tenant", "create", "mt").exit_code == 0
    answer = loom(env, "user", "create", "mt", "dn@x.example", *option)
    assert answer.exit_code == 1 and said in answer.output
    long_address = loom(env, "user", "create", "mt", "a" * 250 + "@x.example")
    assert long_address.exit_code == 1 and "not a valid e-mail address" in long_address.output
    assert loom(env, "user", "list", "mt").output.strip() == ""
