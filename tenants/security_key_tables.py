"""Loom's tables of security keys (WebAuthn, revision 0022): the keys users enrolled as a
second sign-in step, and the challenges handed out for enrolling or using one (each
single-use, with its expiry). Part of `tenant_tables`; their DDL is owned by revision 0022."""
from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Column, DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData, String,
                        Table)

ID = BigInteger().with_variant(Integer(), "sqlite")


def security_key_tables(md: MetaData) -> None:
    when = DateTime(timezone=True)
    Table("loom_webauthn_keys", md,
          Column("id", ID, primary_key=True, autoincrement=True),
          Column("user_id", ID, ForeignKey("loom_users.id", ondelete="CASCADE"), nullable=False),
          Column("rp_id", String(253), nullable=False),  # the relying party (domain) the key was made for
          Column("credential_id", String(1400), nullable=False, unique=True),  # base64url, as the browser names it
          Column("public_key", LargeBinary, nullable=False),  # the COSE public key
          Column("sign_count", BigInteger, nullable=False),  # the authenticator's counter at the last use
          Column("transports", JSON, nullable=False),  # how the browser reaches the key ("usb", "nfc", …)
          Column("name", String(100), nullable=False),  # the name its user gave it
          Column("created_at", when, nullable=False),
          Column("last_used_at", when),
          Index("ix_loom_webauthn_keys_user", "user_id"))
    Table("loom_webauthn_challenges", md,
          Column("challenge", String(100), primary_key=True),  # base64url of 32 random bytes
          Column("user_id", ID, ForeignKey("loom_users.id", ondelete="CASCADE"), nullable=False),
          Column("purpose", String(12), nullable=False),  # "enrol" or "sign_in"
          Column("expires_at", when, nullable=False))
