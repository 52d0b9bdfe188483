"""A tenant's data keys, read from its `loom_keys` table and opened with the master key:
AES-256-GCM for values (``v1:k<seq>:<nonce>:<ciphertext>``, base64url, the header
authenticated) and HMAC-SHA256 for the keyed hash beside them, with a key derived from the
tenant's first data key (so a rotation leaves every hash, and equality search, as it was)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from datetime import datetime, timezone

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select

from engine.crypto.master import KEY_BYTES, NONCE_BYTES, KeyProblem, master_key
from engine.systables import loom_table

VERSION = "v1"


class Keyring:
    """The data keys of one tenant. `load()` returns its `loom_keys` rows (oldest first); it is
    called at first use, and again when a value names a key not seen yet (a rotation since)."""

    def __init__(self, load, where: str, master=None):
        self._load, self.where, self._master = load, where, master
        self._lock = threading.Lock()
        self._keys: dict[int, AESGCM] | None = None
        self._active = 0
        self._hash_key = b""

    def _open(self) -> None:
        rows = self._load()
        if not rows:
            raise KeyProblem(f"{self.where} has no data key yet (publish its metadata again to make one)",
                             code="data_key_missing")
        master = self._master or master_key()
        keys = {r["seq"]: master.unwrap(r["wrapped"], r["seq"], r["master_id"], self.where) for r in rows}
        first = min(keys)
        with self._lock:
            self._hash_key = HKDF(hashes.SHA256(), KEY_BYTES, None, b"loom keyed hash").derive(keys[first])
            self._keys = {seq: AESGCM(key) for seq, key in keys.items()}
            self._active = max(keys)

    def open(self) -> None:
        """Read and open the keys now (KeyProblem when they cannot be), if not done yet."""
        self._ready()

    def _ready(self) -> dict:
        if self._keys is None:
            self._open()
        return self._keys

    @property
    def active(self) -> int:
        self._ready()
        return self._active

    def encrypt(self, text: str) -> str:
        keys = self._ready()
        header = f"{VERSION}:k{self._active}"
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = keys[self._active].encrypt(nonce, text.encode(), header.encode())
        return f"{header}:{_b64(nonce)}:{_b64(sealed)}"

    def decrypt(self, token: str) -> str:
        seq, header, nonce, sealed = _parse(token, self.where)
        keys = self._ready()
        if seq not in keys:
            self._open()  # a key made by a rotation since this keyring was read
            keys = self._keys
            if seq not in keys:
                raise KeyProblem(f"{self.where}: a value is encrypted with data key k{seq}, which is not in "
                                 "the tenant's keys", code="data_key_missing")
        try:
            return keys[seq].decrypt(nonce, sealed, header.encode()).decode()
        except InvalidTag:
            raise KeyProblem(f"{self.where}: a stored value does not decrypt (it was altered)",
                             code="ciphertext_invalid") from None

    def digest(self, text: str) -> str:
        """The keyed hash of a value's text (64 hex digits)."""
        self._ready()
        return hmac.new(self._hash_key, text.encode(), hashlib.sha256).hexdigest()


def key_of(token: str) -> int:
    """The data key a stored value is encrypted with."""
    return _parse(token, "a value")[0]


def _parse(token: str, where: str):
    parts = token.split(":")
    if len(parts) != 4 or parts[0] != VERSION or not parts[1][1:].isdigit():
        raise KeyProblem(f"{where}: a stored value is not in Loom's encrypted format", code="ciphertext_invalid")
    try:
        return int(parts[1][1:]), f"{parts[0]}:{parts[1]}", _unb64(parts[2]), _unb64(parts[3])
    except ValueError:
        raise KeyProblem(f"{where}: a stored value is not in Loom's encrypted format",
                         code="ciphertext_invalid") from None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- the loom_keys table ----------------------------------------------------------

def key_rows(conn, schema) -> list:
    table = loom_table(schema, "loom_keys")
    return conn.execute(select(table).order_by(table.c.seq)).mappings().all()


def add_key(conn, schema, state: str, master=None) -> int:
    """Make a new data key, wrapped by the master key, as the newest; returns its number."""
    master = master or master_key()
    table = loom_table(schema, "loom_keys")
    seq = (conn.execute(select(func.max(table.c.seq))).scalar() or 0) + 1
    conn.execute(table.insert().values(seq=seq, wrapped=master.wrap(secrets.token_bytes(KEY_BYTES), seq),
                                       master_id=master.id, state=state, created_at=datetime.now(timezone.utc)))
    return seq


def tenant_keyring(storage) -> Keyring:
    """The keyring of a tenant's storage, read when first used."""
    def load():
        with storage.connect() as conn:
            return key_rows(conn, storage.schema)
    return Keyring(load, f"tenant {storage.slug}")


def migration_keyring(conn, schema, where: str, create: bool) -> Keyring:
    """The keyring a publication encrypts with, in its transaction: the tenant's first data key
    is made here (`create`), or for a dry run held in memory only."""
    master = master_key()
    rows = key_rows(conn, schema)
    if rows:
        return Keyring(lambda: key_rows(conn, schema), where, master)
    if create:
        add_key(conn, schema, "active", master)
        return Keyring(lambda: key_rows(conn, schema), where, master)
    transient = [{"seq": 1, "wrapped": master.wrap(secrets.token_bytes(KEY_BYTES), 1), "master_id": master.id}]
    return Keyring(lambda: transient, where, master)
