"""A test writes only under its temporary folders: the source tree must look the same (to
git) after the run as before it. Loaded by tests/conftest.py; acts on the controller only
(under xdist the workers share the controller's tree)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tree_state(root: Path) -> set[str] | None:
    """`git status --porcelain` lines of the tree (untracked files listed one by one; ignored
    files such as .hypothesis/ and loom-data/ are not), or None outside a git checkout."""
    try:
        result = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                                capture_output=True, text=True, check=False)
    except OSError:
        return None
    return set(result.stdout.splitlines()) if result.returncode == 0 else None


def tree_changes(before: set[str] | None, after: set[str] | None) -> list[str]:
    """What the run added to the tree's status."""
    if before is None or after is None:
        return []
    return sorted(after - before)


def _controller(config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_sessionstart(session):
    if _controller(session.config):
        session.config.stash[_BEFORE] = tree_state(ROOT)


def pytest_sessionfinish(session, exitstatus):
    if not _controller(session.config) or _BEFORE not in session.config.stash:
        return
    changed = tree_changes(session.config.stash[_BEFORE], tree_state(ROOT))
    shots = os.environ.get("LOOM_SCREENSHOTS_DIR")
    if shots:  # scripts/screenshots asked for the README's screenshots to be written there
        folder = os.path.relpath(os.path.abspath(shots), ROOT)
        changed = [line for line in changed if not line[3:].startswith(folder + "/")]
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = ["tests wrote into the source tree (write under tmp_path instead):"]
        lines += [f"  {line}" for line in changed]
        if reporter:
            reporter.write_line("\n".join(lines), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_BEFORE = pytest.StashKey[set]()
