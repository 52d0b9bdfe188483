"""What every `loom` command shares: the install, JSON output and error reporting."""
from __future__ import annotations

import json
import os
import sys
from functools import update_wrapper

import click
from sqlalchemy.exc import OperationalError

from engine.errors import LoomError
from engine.jsontext import RepeatedKey, TooDeep, TooPrecise, strict_loads
from tenants import TenantError


class LoomGroup(click.Group):
    """Turns Loom's errors into a message on stderr and exit code 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LoomError as exc:
            _fail(str(exc), exc.code)
        except TenantError as exc:
            _fail(exc.message, exc.code)
        except OperationalError as exc:
            _fail(f"cannot reach the database: {str(exc.orig).strip().splitlines()[0]}", "database")

    def add_plugin_commands(self) -> None:
        try:
            from engine.plugins import Plugins

            for _plugin, commands in Plugins().per_plugin("loom_cli_commands"):
                for command in commands:
                    if command.name not in self.commands:
                        self.add_command(command)
        except Exception as exc:  # a broken plugin must not take the CLI down
            click.echo(f"warning: plugin commands unavailable: {exc}", err=True)


def _fail(message: str, code: str):
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def pass_install(f=None, *, data="existing"):
    """Give a command the install (built from the environment once per process).

    `data` says what the command does with the install's data folder (SQLite): "existing"
    (the default) needs one that holds an install — run in another folder, with no
    LOOM_DATA_DIR, it is refused instead of quietly making an empty one there; "new" may
    start one (making a tenant, restoring one, serving); "none" reads nothing of it
    (listing what the installed plugins offer)."""
    if f is None:
        return lambda g: pass_install(g, data=data)

    @click.pass_context
    def wrapper(ctx, *args, **kwargs):
        from engine.install import Install

        root = ctx.find_root()
        if root.obj is None:
            folder = os.environ.get("LOOM_DATA_DIR") or "./loom-data"
            try:
                root.obj = Install()
                folder = root.obj.settings.data_dir
                if root.obj.settings.backend == "sqlite" and data == "new":  # its files: checked before use
                    folder.mkdir(parents=True, exist_ok=True)
            except ValueError as exc:  # a setting from the environment is wrong
                _fail(str(exc), "settings")
            except OSError as exc:  # LOOM_DATA_DIR is a file, or cannot be made
                _fail(f"cannot use the data folder {folder} (LOOM_DATA_DIR): {exc.strerror or exc}", "settings")
            ctx.call_on_close(root.obj.dispose)
            if data == "existing":
                require_existing(root.obj)
        return ctx.invoke(f, root.obj, *args, **kwargs)
    return update_wrapper(wrapper, f)


def require_existing(install) -> None:
    """Refuse (exit 1) when the install's SQLite data folder holds no install: the
    command was run away from the folder that holds it, or LOOM_DATA_DIR names another."""
    if install.storage.has_install():
        return
    settings = install.settings
    given = os.environ.get("LOOM_DATA_DIR")
    where = f"LOOM_DATA_DIR={given}" if given else "LOOM_DATA_DIR is not set: ./loom-data of this folder"
    _fail(f"no Loom install in {settings.data_dir.resolve()} ({where}); run loom in the folder that "
          "holds loom-data or set LOOM_DATA_DIR to it — `loom tenant create` starts a new install", "no_install")


def echo_json(value) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def read_json_file(path: str):
    try:
        with open(path, encoding="utf-8") as fh:
            return strict_loads(fh.read())
    except OSError as exc:
        raise LoomError(f"cannot read {path}: {exc.strerror}", code="file_error") from None
    except TooDeep:
        raise LoomError(f"{path} is nested too deeply", code="bad_json") from None
    except TooPrecise as exc:  # valid JSON, but not a number a document keeps as written
        raise LoomError(f"{path}: {exc}", code="bad_json") from None
    except RepeatedKey as exc:
        raise LoomError(f"{path} names the key {exc.key[:100]!r} twice in one object: which value is meant?",
                        code="bad_json") from None
    except ValueError as exc:
        raise LoomError(f"{path} is not valid JSON: {exc}", code="bad_json") from None
