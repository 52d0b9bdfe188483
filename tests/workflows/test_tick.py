"""The minute tick runs alone in an install: a second tick started while the first
still runs (another thread, another worker process) skips and says so, so nothing is
swept or fired twice; a tick that overran its interval says so in the log."""
from __future__ import annotations

import logging
import threading

import pytest

import workflows.plugin
from engine.actions import ActionSpec
from engine.hookspecs import hookimpl
from engine.install import Install
from engine.plugins import Plugins
from workflows.runtime import WorkflowRuntime, runtime_of

DOC = {
    "entities": [{"name": "ticket", "fields": [{"name": "title", "type": "string"}]}],
    "rulesets": [{"name": "hold", "kind": "automation", "entity": "ticket", "rules": [
        {"name": "gate", "when": {"event": "record.created"}, "actions": [{"action": "gate"}]}]}],
}


class Gate:
    """An action that records each run and holds the first one until released."""
    LOOM_PLUGIN_NAME = "gate"

    def __init__(self):
        self.runs, self.entered, self.release = [], threading.Event(), threading.Event()

    @hookimpl
    def loom_actions(self):
        return {"gate": ActionSpec(run=self._run)}

    def _run(self, context, params):
        self.runs.append(context.effect_key)
        self.entered.set()
        assert self.release.wait(60), "the test never released the gate"
        return {}


@pytest.fixture
def gate():
    return Gate()


@pytest.fixture
def plugins(gate):
    return Plugins(load_entry_points=False, core_plugins=[workflows.plugin, gate])


def test_a_second_tick_while_one_runs_skips_and_nothing_fires_twice(install, settings, plugins, gate, caplog):
    install.registry.create("acme")
    session = install.session("acme")
    session.apply_metadata(DOC)
    session.records.create("ticket", {"title": "printer on fire"})
    first = {}
    running = threading.Thread(target=lambda: first.update(summary=runtime_of(install).jobs.tick()))
    running.start()
    try:
        assert gate.entered.wait(60)
        other_worker = Install(settings, plugins)  # as another `loom worker` process would
        try:
            with caplog.at_level(logging.WARNING, logger="loom.jobs"):
                assert WorkflowRuntime(other_worker).jobs.tick() is None
                assert runtime_of(install).jobs.tick() is None  # another thread of the same worker
        finally:
            other_worker.dispose()
        assert "tick skipped: another tick of this install is still running" in caplog.text
    finally:
        gate.release.set()
        running.join()
    assert first["summary"]["acme"]["events"]["done"] == 1
    assert runtime_of(install).jobs.tick()["acme"]["events"]["done"] == 0  # the lock is free again
    assert len(gate.runs) == 1


def test_a_tick_longer_than_its_interval_says_so(install, caplog):
    install.registry.create("acme")
    jobs = runtime_of(install).jobs
    jobs.tick_seconds = -1  # any tick is longer than that
    with caplog.at_level(logging.WARNING, logger="loom.jobs"):
        assert "acme" in jobs.tick()
    assert "the tick overran" in caplog.text


def test_loom_worker_once_says_it_skipped_while_another_tick_runs(install):
    from click.testing import CliRunner

    from engine.cli import cli

    cli.add_plugin_commands()
    install.registry.create("acme")
    with install.storage.exclusive("tick") as alone:  # a tick of another worker holds the install
        assert alone
        result = CliRunner().invoke(cli, ["worker", "--once"], obj=install)
    assert result.exit_code == 0
    assert "another tick of this install is still running" in result.stderr and result.stdout == ""
    after = CliRunner().invoke(cli, ["worker", "--once"], obj=install)
    assert after.exit_code == 0 and "acme" in after.stdout
