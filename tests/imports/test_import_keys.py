"""The keys a chunk's updates move, put back when an update is refused as it is
written (`Keys.restore`): whatever the moves and the refusals, each record ends with the
key of the last of its updates written that changed it, else the key it had."""
from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.imports.keys import Keys

MOVE = st.tuples(st.sampled_from([("record", 1), ("record", 2)]), st.integers(0, 3), st.booleans())


@settings(max_examples=300, deadline=None)
@given(st.lists(MOVE, max_size=8))
def test_a_record_keeps_the_key_of_its_last_update_written(moves):
    """`moves`: (record, the key the row gives it, whether its write is refused), one a row."""
    keys = Keys(SimpleNamespace(options=SimpleNamespace(key="code")))
    start = {("record", 1): 10, ("record", 2): 11}
    for identity, value in start.items():
        keys.hold(identity, value)
    planned, changes = dict(start), []
    for row, (identity, value, _refused) in enumerate(moves):  # the chunk is planned
        changes.append(planned[identity] != value)  # an update changes the key it does not have yet
        planned[identity] = value
        keys.move(row, identity, value)
    written = dict(start)
    for row, (identity, value, refused) in enumerate(moves):  # then written, in the file's order
        if refused:
            keys.restore(row)
        elif changes[row]:
            written[identity] = value
    assert {identity: keys._of[identity] for identity in start} == written
    held = {value: sorted(ids) for value, ids in keys._held.items() if ids}
    assert held == {value: sorted(i for i in start if written[i] == value) for value in set(written.values())}
