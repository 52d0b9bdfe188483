"""engine.heap: a long command's heap is frozen while it runs and given back after; a
process that froze its heap already (a warmed server) keeps it frozen. A batch write runs
with the collector paused, which runs again after it, however it ends; a collector paused
by something else stays paused."""
from __future__ import annotations

import gc
import weakref

import pytest

from engine.errors import ValidationFailed
from engine.heap import paused, settle, settled
from engine.records.batch import BatchWrites


class Node:
    """An object in a reference cycle: only a collection frees it."""

    def __init__(self):
        self.me = self


def test_a_cycle_made_before_the_block_waits_for_its_end_and_is_then_collected():
    assert gc.get_freeze_count() == 0
    node = Node()
    gone = weakref.ref(node)
    with settled():
        assert gc.get_freeze_count() > 0
        del node
        gc.collect()
        assert gone() is not None  # frozen: no collection looks at it
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gone() is None  # given back: collected as before


def test_the_heap_is_given_back_when_the_block_fails():
    with pytest.raises(RuntimeError), settled():
        raise RuntimeError("the command failed")
    assert gc.get_freeze_count() == 0


def test_a_settled_process_stays_settled():
    settle()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with settled():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen  # a server's start-up heap is not given back
    finally:
        gc.unfreeze()  # the test process keeps collecting as before


def test_settle_collects_before_it_freezes():
    node = Node()
    gone = weakref.ref(node)
    del node
    settle()
    try:
        assert gone() is None  # garbage is not kept for the life of the process
    finally:
        gc.unfreeze()


def test_the_collector_is_paused_while_the_block_runs_and_runs_again_however_it_ends():
    for fails in (False, True):
        node = Node()
        gone = weakref.ref(node)
        try:
            with paused():
                assert not gc.isenabled()
                del node
                for _ in range(10_000):  # far past a collection's threshold: none runs
                    [[]]
                assert gone() is not None  # only a collection frees a cycle
                if fails:
                    raise RuntimeError("the write failed")
        except RuntimeError:
            pass
        assert gc.isenabled()
        gc.collect()
        assert gone() is None


def test_a_collector_paused_by_something_else_stays_paused():
    gc.disable()
    try:
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_batch_create_writes_with_the_collector_paused_and_leaves_it_running(acme, monkeypatch):
    """No collection while the batch is checked and written (written or refused), and the
    collector running again after it (its after-commit hooks, a plugin's work, run so)."""
    seen, during = [], []
    written = BatchWrites._create_all

    def counted(*args, **kwargs):
        before = len(seen)
        try:
            return written(*args, **kwargs)
        finally:
            during.append(len(seen) - before)

    monkeypatch.setattr(BatchWrites, "_create_all", counted)
    def note(phase, info):  # every collection's start and stop
        seen.append(phase)

    gc.callbacks.append(note)
    try:
        ids = acme.records.create_many("contact", [{"full_name": f"P{n}"} for n in range(3000)])
        with pytest.raises(ValidationFailed):
            acme.records.create_many("contact", [{"full_name": "Good"}, {"full_name": None}])
    finally:
        gc.callbacks.remove(note)
    assert len(ids) == 3000 and gc.isenabled()
    assert during == [0, 0]  # 3,000 records make far more objects than a collection's threshold
