"""TOTP secrets at rest: encrypted with the tenant's data keys (AES-256-GCM, the keyring's
`v1:k<key>:…` format) when the install has a master key, so a copy of the database gives
no one the codes of its users' authenticator apps. The tenant's first data key is made
the first time a secret is kept, if no encrypted field made one before.

Without a master key (an install that encrypts nothing) a secret is kept as it is, as
before. Secrets kept in clear — before this, or while there was no master key — are
encrypted by `catch_up` the first time a process opens the tenant with a master key
(tenant revision 0017 marks the tenants holding any)."""
from __future__ import annotations

from sqlalchemy import select

from engine.crypto.copies import sealed
from engine.crypto.keyring import Keyring, add_key, key_rows
from engine.crypto.master import KeyProblem, master_key
from engine.systables import loom_table

CLEAR = "totp_secrets_clear"  # the loom_settings key tenant revision 0017 sets


def _master():
    try:
        return master_key()
    except KeyProblem as problem:
        if problem.code == "master_key_missing":
            return None
        raise


def _keyring(conn, schema, where: str, master) -> Keyring:
    if not key_rows(conn, schema):
        add_key(conn, schema, "active", master)
    return Keyring(lambda: key_rows(conn, schema), where, master)


def seal(conn, schema, secret: str, where: str = "this tenant") -> str:
    """The secret as it is kept (in `conn`'s transaction): encrypted when there is a master key."""
    master = _master()
    if sealed(secret):
        return secret
    if master is None:  # kept in clear for now: encrypted once a process opens the tenant with a master key
        settings = loom_table(schema, "loom_settings")
        if conn.execute(select(settings.c.key).where(settings.c.key == CLEAR)).first() is None:
            conn.execute(settings.insert().values(key=CLEAR, value=True))
        return secret
    return _keyring(conn, schema, where, master).encrypt(secret)


def opened(conn, schema, stored, where: str = "this tenant"):
    """A kept secret in clear (None stays None)."""
    if stored is None or not sealed(stored):
        return stored
    master = master_key()  # a sealed secret without a master key: the configuration's problem, said plainly
    return Keyring(lambda: key_rows(conn, schema), where, master).decrypt(stored)


def catch_up(storage) -> int:
    """Encrypt the secrets kept in clear, when the install has a usable master key; how many.
    It never stops a tenant from opening: a missing or wrong key leaves them for later."""
    try:
        master_key()
    except KeyProblem:
        return 0
    users = loom_table(storage.schema, "loom_users")
    settings = loom_table(storage.schema, "loom_settings")
    with storage.begin() as conn:
        flagged = conn.execute(select(settings.c.key).where(settings.c.key == CLEAR)).first()
        if flagged is None:
            return 0
        rows = conn.execute(select(users.c.id, users.c.totp_secret)
                            .where(users.c.totp_secret.is_not(None))).all()
        done = 0
        for row in rows:
            if not sealed(row.totp_secret):
                conn.execute(users.update().where(users.c.id == row.id).values(
                    totp_secret=seal(conn, storage.schema, row.totp_secret, f"tenant {storage.slug}")))
                done += 1
        conn.execute(settings.delete().where(settings.c.key == CLEAR))
    return done
