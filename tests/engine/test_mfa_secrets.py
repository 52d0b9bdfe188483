"""TOTP secrets are encrypted at rest with the tenant's data keys (issue 12), on SQLite and
PostgreSQL: with a master key a confirmed secret is kept as ciphertext and codes still
verify; without one it is kept in clear and marked, and encrypted the first time a
process opens the tenant with a master key; a sealed secret without the key is a clear
error, not a sign-in that silently fails."""
from __future__ import annotations

import base64
import secrets

import pyotp
import pytest
from sqlalchemy import select

from engine import mfa, mfa_secrets
from engine.auth import create_user
from engine.crypto.master import KeyProblem
from engine.systables import loom_table


def stored_secret(storage, user_id):
    users = loom_table(storage.schema, "loom_users")
    with storage.connect() as conn:
        return conn.execute(select(users.c.totp_secret).where(users.c.id == user_id)).scalar()


def test_a_secret_is_kept_encrypted_and_codes_still_verify(acme, monkeypatch):
    monkeypatch.delenv("LOOM_MASTER_KEY", raising=False)
    monkeypatch.delenv("LOOM_MASTER_KEY_FILE", raising=False)
    storage = acme.storage
    ann, bob = (create_user(storage, f"{n}@acme.test", "admin") for n in ("ann", "bob"))
    clear = mfa.new_secret()
    mfa.enrol(storage, ann.id, clear, pyotp.TOTP(clear).now())
    assert stored_secret(storage, ann.id) == clear  # no master key: as before, and marked
    assert mfa_secrets.catch_up(storage) == 0

    monkeypatch.setenv("LOOM_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    assert mfa_secrets.catch_up(storage) == 1 and mfa_secrets.catch_up(storage) == 0
    kept = stored_secret(storage, ann.id)
    assert kept.startswith("v1:k1:") and clear not in kept
    assert mfa.verify(storage, ann.id, pyotp.TOTP(clear).now())

    other = mfa.new_secret()
    mfa.enrol(storage, bob.id, other, pyotp.TOTP(other).now())
    assert other not in stored_secret(storage, bob.id)
    assert mfa.verify(storage, bob.id, pyotp.TOTP(other).now())
    assert not mfa.verify(storage, bob.id, "000000") or pyotp.TOTP(other).now() == "000000"

    monkeypatch.delenv("LOOM_MASTER_KEY")
    with pytest.raises(KeyProblem) as refused:
        mfa.verify(storage, bob.id, pyotp.TOTP(other).now())
    assert refused.value.code == "master_key_missing"
