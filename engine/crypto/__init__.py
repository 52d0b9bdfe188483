"""Encryption at rest of the fields whose PII class asks for it (`identity`, `sensitive`):
the install's master key (`master`), each tenant's data keys (`keyring`), the columns that
encrypt and hash values (`columns`), key rotation and rewrapping (`rotation`)."""
