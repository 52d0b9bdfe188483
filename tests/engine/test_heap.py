"""engine.heap: a long command's heap is frozen while it runs and given back after; a
process that froze its heap already (a warmed server) keeps it frozen."""
from __future__ import annotations

import gc
import weakref

import pytest

from engine.heap import settle, settled


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
