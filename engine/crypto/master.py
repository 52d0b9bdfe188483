"""The install's master key: 32 bytes in base64 from LOOM_MASTER_KEY or from the file
LOOM_MASTER_KEY_FILE names. It only wraps the tenants' data keys (AES-256-GCM)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.errors import LoomError

KEY_BYTES = 32
NONCE_BYTES = 12
ENV, ENV_FILE = "LOOM_MASTER_KEY", "LOOM_MASTER_KEY_FILE"


class KeyProblem(LoomError):
    """A master or data key that is missing or does not fit: the server's configuration,
    not the request (503 over HTTP)."""

    status, code = 503, "encryption_key"


@dataclass(frozen=True)
class MasterKey:
    key: bytes

    @property
    def id(self) -> str:
        """A name for the key that reveals nothing of it (stored beside what it wraps)."""
        return hmac.new(self.key, b"loom master key id", hashlib.sha256).hexdigest()[:16]

    def wrap(self, data_key: bytes, seq: int) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, data_key, _label(seq))
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def unwrap(self, wrapped: str, seq: int, master_id: str, where: str) -> bytes:
        if master_id != self.id:
            raise KeyProblem(f"{where}: data key k{seq} is wrapped by master key {master_id}, but the configured "
                            f"master key is {self.id} (a wrong {ENV} or {ENV_FILE}?)", code="wrong_master_key")
        raw = base64.urlsafe_b64decode(wrapped.encode())
        try:
            return AESGCM(self.key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _label(seq))
        except InvalidTag:
            raise KeyProblem(f"{where}: data key k{seq} does not open with the configured master key "
                            "(it was tampered with, or the key is wrong)", code="wrong_master_key") from None


def _label(seq: int) -> bytes:
    return f"loom data key {seq}".encode()


def parse_master_key(text: str, source: str) -> MasterKey:
    """A master key from its base64 text; KeyProblem naming `source` when it is not one."""
    try:
        key = base64.b64decode(text.strip().replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyProblem(f"{source} must hold {KEY_BYTES} random bytes in base64 "
                        "(make one with `loom keys generate`)", code="master_key_invalid")
    return MasterKey(key)


def read_master_key_file(path: str, source: str) -> MasterKey:
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyProblem(f"{source}: cannot read {path}: {getattr(exc, 'strerror', None) or exc}",
                        code="master_key_invalid") from None
    return parse_master_key(text, f"{source} ({path})")


def master_key(environ=os.environ) -> MasterKey:
    """The configured master key; KeyProblem when there is none or it is not one."""
    value, path = environ.get(ENV), environ.get(ENV_FILE)
    if value and path:
        raise KeyProblem(f"set {ENV} or {ENV_FILE}, not both", code="master_key_invalid")
    if value:
        return parse_master_key(value, ENV)
    if path:
        return read_master_key_file(path, ENV_FILE)
    raise KeyProblem(f"no master key: this tenant encrypts fields at rest; set {ENV} (or {ENV_FILE}) "
                    "to the install's master key", code="master_key_missing")


def new_master_key_text() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()
