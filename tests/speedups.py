"""Cheaper set-up for the test process, the code under test unchanged (tests/conftest.py
calls `install()` when it is imported; CLI and server subprocesses run at full cost).

- Passwords are hashed with argon2id at its lowest cost (one pass over 64 KiB instead of
  argon2-cffi's three over 64 MiB with four lanes): a hash and a sign-in then cost
  microseconds, not ~0.45 s of CPU. Test-only, never in Loom itself: the code paths are
  the same (PasswordHasher.hash/verify/check_needs_rehash), and hashes made at the real
  cost (by a CLI subprocess) still verify and are rehashed at sign-in as usual.
- Flask apps build werkzeug's URL builders on first use: werkzeug compiles two Python
  functions per route when a rule is added (~0.1 s of CPU per `create_app`, which most
  tests call once); here each is compiled from the same rule the first time a URL is
  built from it, so apps whose tests build few URLs skip most of the work.

LOOM_TEST_FULL_COST=1 turns both off."""
from __future__ import annotations

import os


def light_password_hashing() -> None:
    from argon2 import PasswordHasher

    from engine import passwords

    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    passwords._DUMMY = passwords._hasher.hash("not a password of anyone's")


def lazy_url_builders() -> None:
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder

    def lazy(rule, append_unknown=True):
        built = []

        def build(self, *args, **kwargs):
            if not built:
                built.append(compile_builder(self, append_unknown))
            return built[0](self, *args, **kwargs)

        return build

    Rule._compile_builder = lazy


def install() -> None:
    if os.environ.get("LOOM_TEST_FULL_COST") == "1":
        return
    light_password_hashing()
    lazy_url_builders()
