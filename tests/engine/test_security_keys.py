"""Security keys as a second sign-in step (issue 12), on SQLite and PostgreSQL, with a
software authenticator making real ES256 signatures that py_webauthn verifies: a key is
enrolled and signs in; a challenge works once, for its user and purpose, until it expires;
another user's key, a wrong origin, a forged signature and a counter gone back are refused;
garbage is refused with a clear error and changes nothing; a role that must use a second
step keeps its last one; a reset forgets the keys."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import cbor2
import pyotp
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from sqlalchemy import select, update

from engine import mfa, security_keys
from engine.auth import create_user
from engine.errors import NotFound, ValidationFailed
from engine.systables import loom_table
from tests.soft_authenticator import SoftKey, b64

RP = security_keys.relying_party("https://crm.acme.example", "Loom Acme")


@pytest.fixture
def people(acme):
    storage = acme.storage
    return storage, create_user(storage, "ann@acme.test", "admin"), create_user(storage, "bob@acme.test", "member")


def enrolled(storage, user, key=None, name="Blue key"):
    key = key or SoftKey()
    ceremony = security_keys.start_enrolment(storage, RP, user)
    security_keys.enrol(storage, RP, user.id, ceremony.challenge, key.create(ceremony.options, RP.origin), name)
    return key


def refused(code, call, *args):
    with pytest.raises(ValidationFailed) as caught:
        call(*args)
    assert caught.value.code == code, caught.value.message
    return caught.value


def stored(storage, user_id):
    table = loom_table(storage.schema, "loom_webauthn_keys")
    with storage.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).where(table.c.user_id == user_id))]


def test_an_enrolled_key_signs_in_and_its_counter_and_last_use_are_kept(people):
    storage, ann, _ = people
    assert mfa.needed(storage, ann) is None
    key = enrolled(storage, ann)
    [row] = security_keys.keys(storage, ann.id)
    assert row["name"] == "Blue key" and row["transports"] == ["usb"] and row["last_used_at"] is None
    assert mfa.needed(storage, ann) == "verify"  # a key is a second step, as the app is
    ceremony = security_keys.start_sign_in(storage, RP, ann.id)
    assert ceremony.options["rpId"] == "crm.acme.example"
    assert [c["id"] for c in ceremony.options["allowCredentials"]] == [key.id]
    used = security_keys.sign_in(storage, RP, ann.id, ceremony.challenge, key.get(ceremony.options, RP.origin))
    assert used["name"] == "Blue key"
    [row] = stored(storage, ann.id)
    assert row["sign_count"] == 1 and row["last_used_at"] is not None
    # Enrolling again excludes the keys the user has; the same key twice is refused.
    again = security_keys.start_enrolment(storage, RP, ann)
    assert [c["id"] for c in again.options["excludeCredentials"]] == [key.id]
    assert len(again.options["user"]["id"]) == 43  # a 32-byte handle of the tenant and user, not the bare id
    refused("key_known", security_keys.enrol, storage, RP, ann.id, again.challenge,
            key.create(again.options, RP.origin), "Same key")


def test_a_required_role_is_satisfied_by_a_key(people):
    storage, ann, _ = people
    mfa.set_required_roles(storage, ["admin"])
    assert mfa.needed(storage, ann) == "enrol"
    enrolled(storage, ann)
    assert mfa.needed(storage, ann) == "verify"


def test_a_challenge_works_once_for_its_user_and_purpose_until_it_expires(people):
    storage, ann, bob = people
    key = enrolled(storage, ann)
    ceremony = security_keys.start_sign_in(storage, RP, ann.id)
    answer = key.get(ceremony.options, RP.origin)
    security_keys.sign_in(storage, RP, ann.id, ceremony.challenge, answer)
    refused("challenge_expired", security_keys.sign_in, storage, RP, ann.id, ceremony.challenge, answer)  # replayed
    # A challenge made for enrolling does not sign in, nor does one of another user.
    enrolling = security_keys.start_enrolment(storage, RP, ann)
    refused("challenge_expired", security_keys.sign_in, storage, RP, ann.id, enrolling.challenge,
            key.get({**enrolling.options, "rpId": RP.id}, RP.origin))
    enrolled(storage, bob)
    of_bob = security_keys.start_sign_in(storage, RP, bob.id)
    refused("challenge_expired", security_keys.sign_in, storage, RP, ann.id, of_bob.challenge,
            key.get(of_bob.options, RP.origin))
    # An expired challenge is refused, and a refused challenge is used up.
    late = security_keys.start_sign_in(storage, RP, ann.id)
    table = loom_table(storage.schema, "loom_webauthn_challenges")
    with storage.begin() as conn:
        conn.execute(update(table).where(table.c.challenge == late.challenge)
                     .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    refused("challenge_expired", security_keys.sign_in, storage, RP, ann.id, late.challenge,
            key.get(late.options, RP.origin))
    for challenge in (None, "", "x" * 500, 42):
        refused("challenge_expired", security_keys.sign_in, storage, RP, ann.id, challenge, {})


def test_another_users_key_a_wrong_origin_or_rp_and_a_forged_signature_are_refused(people):
    storage, ann, bob = people
    ann_key, bob_key = enrolled(storage, ann), enrolled(storage, bob)
    ceremony = security_keys.start_sign_in(storage, RP, ann.id)
    refused("key_unknown", security_keys.sign_in, storage, RP, ann.id, ceremony.challenge,
            bob_key.get(ceremony.options, RP.origin))
    ceremony = security_keys.start_sign_in(storage, RP, ann.id)
    refused("key_refused", security_keys.sign_in, storage, RP, ann.id, ceremony.challenge,
            ann_key.get(ceremony.options, "https://phish.example"))
    ceremony = security_keys.start_sign_in(storage, RP, ann.id)
    refused("key_refused", security_keys.sign_in, storage, RP, ann.id, ceremony.challenge,
            ann_key.get({**ceremony.options, "rpId": "phish.example"}, RP.origin))
    ceremony = security_keys.start_sign_in(storage, RP, ann.id)
    forged = ann_key.get(ceremony.options, RP.origin)
    forged["response"]["signature"] = SoftKey().get(ceremony.options, RP.origin)["response"]["signature"]
    refused("key_refused", security_keys.sign_in, storage, RP, ann.id, ceremony.challenge, forged)
    # Enrolling for another site is refused too.
    ceremony = security_keys.start_enrolment(storage, RP, ann)
    refused("key_refused", security_keys.enrol, storage, RP, ann.id, ceremony.challenge,
            SoftKey().create(ceremony.options, "https://phish.example"), "Phished")
    assert len(stored(storage, ann.id)) == 1


def test_a_counter_gone_back_is_refused(people):
    storage, ann, _ = people
    key = enrolled(storage, ann)
    for counter in (5, 9):
        ceremony = security_keys.start_sign_in(storage, RP, ann.id)
        security_keys.sign_in(storage, RP, ann.id, ceremony.challenge, key.get(ceremony.options, RP.origin, counter))
    for counter in (9, 3):  # the same count again, then a lower one: a copied key
        ceremony = security_keys.start_sign_in(storage, RP, ann.id)
        refused("sign_count_regressed", security_keys.sign_in, storage, RP, ann.id, ceremony.challenge,
                key.get(ceremony.options, RP.origin, counter))
    assert stored(storage, ann.id)[0]["sign_count"] == 9


def test_a_bad_name_is_refused_before_the_challenge_is_used(people):
    storage, ann, _ = people
    key = SoftKey()
    ceremony = security_keys.start_enrolment(storage, RP, ann)
    answer = key.create(ceremony.options, RP.origin)
    for name in ("", "   ", None, "k" * 101):
        error = refused("bad_name", security_keys.enrol, storage, RP, ann.id, ceremony.challenge, answer, name)
        assert error.details[0]["field"] == "name"
    assert security_keys.enrol(storage, RP, ann.id, ceremony.challenge, answer, "  Spare\tkey ")["name"] == "Spare key"


answers = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
    max_leaves=12)


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=answers | st.builds(lambda d: {"id": "x", "rawId": "x", "type": "public-key", "response": d},
                                   st.dictionaries(st.sampled_from(["clientDataJSON", "attestationObject",
                                                                    "authenticatorData", "signature"]),
                                                   st.text(max_size=30).map(lambda t: b64(t.encode())))))
def test_garbage_answers_are_refused_clearly_and_change_nothing(people, garbage):
    storage, ann, _ = people
    ceremony = security_keys.start_enrolment(storage, RP, ann)
    refused("key_refused", security_keys.enrol, storage, RP, ann.id, ceremony.challenge, garbage, "Key")
    assert stored(storage, ann.id) == []


def test_garbage_sign_in_answers_are_refused_clearly(people):
    storage, ann, _ = people
    key = enrolled(storage, ann)
    for garbage in ("not json", "[]", {"id": key.id}, {"id": key.id, "rawId": key.id, "type": "public-key",
                                                        "response": {"clientDataJSON": "!!", "signature": "",
                                                                     "authenticatorData": "AAAA"}}):
        ceremony = security_keys.start_sign_in(storage, RP, ann.id)
        with pytest.raises(ValidationFailed) as caught:
            security_keys.sign_in(storage, RP, ann.id, ceremony.challenge, garbage)
        assert caught.value.code in ("key_refused", "key_unknown")
    assert stored(storage, ann.id)[0]["sign_count"] == 0
    with pytest.raises(NotFound):
        security_keys.start_sign_in(storage, RP, people[2].id)  # bob has no key


def test_a_required_role_keeps_its_last_second_step_and_a_reset_forgets_the_keys(people):
    storage, ann, bob = people
    mfa.set_required_roles(storage, ["admin"])
    enrolled(storage, ann, name="First")
    [first] = security_keys.keys(storage, ann.id)
    refused("last_factor", mfa.remove_key, storage, ann, first["id"])
    enrolled(storage, ann, name="Second")
    assert mfa.remove_key(storage, ann, first["id"])["name"] == "First"
    [second] = security_keys.keys(storage, ann.id)
    secret = mfa.new_secret()
    mfa.enrol(storage, ann.id, secret, pyotp.TOTP(secret).now())  # the app is a second step too
    assert mfa.second_steps(storage) == {ann.id: {"app": True, "keys": 1}}
    mfa.remove_key(storage, ann, second["id"])
    assert security_keys.keys(storage, ann.id) == []
    # Someone else's key or no key at all: not found, nothing removed.
    enrolled(storage, bob)
    [of_bob] = security_keys.keys(storage, bob.id)
    for key_id in (of_bob["id"], 10_000, "1"):
        with pytest.raises(NotFound):
            mfa.remove_key(storage, ann, key_id)
    # A member (not required) may remove their last key; a reset forgets every key.
    enrolled(storage, bob)
    mfa.remove_key(storage, bob, of_bob["id"])
    security_keys.start_sign_in(storage, RP, bob.id)
    mfa.remove(storage, bob.id)
    assert security_keys.keys(storage, bob.id) == [] and mfa.needed(storage, bob) is None


def test_the_relying_party_is_the_public_address_without_its_default_port():
    rp = security_keys.relying_party("https://CRM.Example.com:8443/t/acme/", "Loom Acme")
    assert (rp.id, rp.origin) == ("crm.example.com", "https://crm.example.com:8443")
    assert security_keys.relying_party("https://crm.example.com:443/", "L").origin == "https://crm.example.com"
    assert security_keys.relying_party("http://localhost:80", "L").origin == "http://localhost"
    assert security_keys.relying_party("http://localhost:443", "L").origin == "http://localhost:443"
    for bad in ("", "crm.example.com", "ftp://crm.example.com", "https://"):
        with pytest.raises(ValueError):
            security_keys.relying_party(bad, "L")


def test_keys_are_offered_and_accepted_only_for_the_relying_party_they_were_made_for(people):
    storage, ann, _ = people
    other = security_keys.relying_party("https://crm.other.example", "Loom Other")
    key = enrolled(storage, ann)
    assert stored(storage, ann.id)[0]["rp_id"] == "crm.acme.example"
    assert security_keys.has_keys(storage, ann.id, RP.id) and not security_keys.has_keys(storage, ann.id, other.id)
    with pytest.raises(NotFound):
        security_keys.start_sign_in(storage, other, ann.id)
    assert security_keys.start_enrolment(storage, other, ann).options["excludeCredentials"] == []
    ceremony = security_keys.start_enrolment(storage, other, ann)
    security_keys.enrol(storage, other, ann.id, ceremony.challenge, SoftKey().create(ceremony.options, other.origin), "O")
    ceremony = security_keys.start_sign_in(storage, other, ann.id)
    refused("key_unknown", security_keys.sign_in, storage, other, ann.id, ceremony.challenge,
            key.get({**ceremony.options, "rpId": other.id}, other.origin))


def test_a_user_has_one_open_challenge_per_purpose(people):
    storage, ann, bob = people
    key = enrolled(storage, ann)
    table = loom_table(storage.schema, "loom_webauthn_challenges")
    first = security_keys.start_sign_in(storage, RP, ann.id)
    for _ in range(5):
        latest = security_keys.start_sign_in(storage, RP, ann.id)
    security_keys.start_enrolment(storage, RP, ann)
    security_keys.start_enrolment(storage, RP, bob)
    with storage.connect() as conn:
        rows = conn.execute(select(table.c.user_id, table.c.purpose)).all()
    assert sorted(rows) == sorted([(ann.id, "sign_in"), (ann.id, "enrol"), (bob.id, "enrol")])
    refused("challenge_expired", security_keys.sign_in, storage, RP, ann.id, first.challenge,
            key.get(first.options, RP.origin))
    assert security_keys.sign_in(storage, RP, ann.id, latest.challenge, key.get(latest.options, RP.origin))


def test_an_answer_nested_too_deeply_is_refused_clearly(people):
    storage, ann, _ = people
    for deep in ("[" * 50_000 + "]" * 50_000, '{"a":' * 30_000 + "1" + "}" * 30_000):
        ceremony = security_keys.start_enrolment(storage, RP, ann)
        error = refused("key_refused", security_keys.enrol, storage, RP, ann.id, ceremony.challenge, deep[:64_000], "K")
        assert "nested too deeply" in error.message
    assert stored(storage, ann.id) == []


class BadKey(SoftKey):
    """A software key whose public key, as enrolled, can never verify a signature."""

    def __init__(self, cose: dict):
        super().__init__()
        self.cose = cose

    def _cose_key(self) -> bytes:
        return cbor2.dumps(self.cose)


def test_a_public_key_that_can_never_verify_is_refused(people):
    storage, ann, _ = people
    point = SoftKey().private.public_key().public_numbers()
    x, y = point.x.to_bytes(32, "big"), point.y.to_bytes(32, "big")
    for cose in ({1: 2, 3: -7, -1: 99, -2: x, -3: y},                                   # no such curve
                 {1: 2, 3: -7, -1: 1, -2: x, -3: bytes(31) + b"\x01"},                  # off the curve
                 {1: 1, 3: -8, -1: 6, -2: b"\x01\x02\x03\x04\x05"},                # a 5-byte Ed25519 key
                 {1: 2, 3: -7, -1: 1, -2: x}):                                           # no y at all
        ceremony = security_keys.start_enrolment(storage, RP, ann)
        error = refused("bad_key", security_keys.enrol, storage, RP, ann.id, ceremony.challenge,
                        BadKey(cose).create(ceremony.options, RP.origin), "Broken")
        assert "public key cannot be used" in error.message
    assert stored(storage, ann.id) == []


def test_a_key_without_a_counter_signs_in_every_time(people):
    storage, ann, _ = people
    key = enrolled(storage, ann)
    for _ in range(3):
        ceremony = security_keys.start_sign_in(storage, RP, ann.id)
        security_keys.sign_in(storage, RP, ann.id, ceremony.challenge, key.get(ceremony.options, RP.origin, 0))
    assert stored(storage, ann.id)[0]["sign_count"] == 0


def test_two_removals_at_once_never_remove_the_last_second_step(people):
    storage, ann, _ = people
    mfa.set_required_roles(storage, ["admin"])
    for _ in range(3):
        enrolled(storage, ann, name="One")
        enrolled(storage, ann, name="Two")
        ids = [k["id"] for k in security_keys.keys(storage, ann.id)]
        start, outcomes = threading.Barrier(2), []

        def remove(key_id):
            start.wait()
            try:
                outcomes.append(mfa.remove_key(storage, ann, key_id)["id"])
            except ValidationFailed as exc:
                outcomes.append(exc.code)

        threads = [threading.Thread(target=remove, args=(key_id,)) for key_id in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outcomes.count("last_factor") == 1 and len(security_keys.keys(storage, ann.id)) == 1
        mfa.set_required_roles(storage, [])
        mfa.remove_key(storage, ann, security_keys.keys(storage, ann.id)[0]["id"])
        mfa.set_required_roles(storage, ["admin"])


def test_an_attestation_object_of_the_wrong_shape_is_refused_before_the_library_reads_it(people):
    storage, ann, _ = people
    shapes = [{"fmt": "none", "attStmt": {}, "authData": 2 ** 40},  # the library would make that many zero bytes
              {"fmt": "none", "attStmt": {}, "authData": None},
              {"fmt": "packed", "attStmt": {"sig": 5, "alg": -7}, "authData": b"\0" * 37},
              {"fmt": "none", "attStmt": [], "authData": b"\0" * 37}]
    for shape in shapes:
        ceremony = security_keys.start_enrolment(storage, RP, ann)
        answer = SoftKey().create(ceremony.options, RP.origin)
        answer["response"]["attestationObject"] = b64(cbor2.dumps(shape))
        refused("key_refused", security_keys.enrol, storage, RP, ann.id, ceremony.challenge, answer, "Odd")
    assert stored(storage, ann.id) == []
