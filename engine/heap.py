"""The process's long-lived objects kept out of the garbage collector's full collections.

A Loom process holds a large heap that lives as long as it does: the modules (SQLAlchemy,
marshmallow, the phone number metadata …), templates and compiled metadata. Python's full
collection scans all of it, and a write that makes many objects (a batch create of 1,000
records makes ~20,000 the collector tracks) triggers one every few batches: 50–100 ms
each, on a batch that otherwise takes ~35 ms (docs/benchmarks.md, "Batch create: fewer
checkpoints, a settled heap"). `gc.freeze` moves what exists into a generation the
collector never scans; objects freed by their reference counts are still freed, and what
a frozen cycle holds is only kept while frozen.

- `settle()`: for a server's start (`engine.warm`): what exists is collected, then frozen
  for the life of the process.
- `settled()`: for a long command (`loom worker`, `loom import`): what exists is collected,
  then frozen while the command runs and given back to the collector after, so a process
  that runs many of them (the tests) keeps nothing. Nothing is done when the process has
  frozen its heap already. The freeze is the process's: two threads' blocks at once are
  only slower (the first to end gives the heap back), never wrong.
- `paused()`: for a write that makes many objects and frees them itself, by their
  reference counts (a batch create): the collector does not run while the block does.
  A batch create of 1,000 records triggered ~30 collections that found ~9 cyclic objects
  in all (docs/benchmarks.md, "Batch create: the collector paused"); what cycles the block
  leaves are collected once it runs again. Process-wide too: two threads' blocks at once
  only let it run again early (the first to end), never leave it paused; a collector that
  something else paused is left as it is."""
from __future__ import annotations

import contextlib
import gc


def settle() -> None:
    """Collect, then freeze what is left for the life of the process."""
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def settled():
    """The heap frozen while the block runs (see the module's text)."""
    if gc.get_freeze_count():
        yield
        return
    settle()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def paused():
    """The garbage collector paused while the block runs (see the module's text)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
