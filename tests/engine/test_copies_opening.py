"""Opening the sealed copies of an outbox row with no keyring (a tenant that encrypts no
field): every value, sealed-looking or not, comes back as it is, and the row is the one
given (no copy made)."""
from __future__ import annotations

import base64

from hypothesis import given, strategies as st

from engine.crypto.copies import Copies, sealed

TOKEN = "v1:k1:" + base64.urlsafe_b64encode(b"nonce-bytes!").decode() + ":" + \
    base64.urlsafe_b64encode(b"ciphertext").decode()
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.just(TOKEN))
PAYLOADS = st.fixed_dictionaries({
    "entity": st.just("item"),
    "record": st.one_of(st.none(), st.dictionaries(st.text(max_size=4), VALUES, max_size=4)),
    "changes": st.one_of(st.none(), st.dictionaries(
        st.text(max_size=4), st.one_of(VALUES, st.lists(VALUES, min_size=2, max_size=2)), max_size=4)),
})


class NoKeys:
    keyring = None


def test_the_token_used_looks_sealed():
    assert sealed(TOKEN)


@given(payload=st.one_of(st.none(), PAYLOADS))
def test_without_a_keyring_a_row_opens_to_itself(payload):
    row = {"id": 1, "payload": payload}
    copies = Copies(NoKeys())
    assert copies.opened_row(row) is row
    assert copies.opened_payload(payload) is payload
    if isinstance(payload, dict):
        assert copies.opened_record(payload["record"]) is payload["record"]
        assert copies.opened_changes(payload["changes"]) is payload["changes"]
