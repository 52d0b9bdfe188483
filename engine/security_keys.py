"""Security keys (WebAuthn: hardware keys, passkeys) as a second sign-in step: the options a
browser is given to make or use one, and the verification of what it answers (py_webauthn),
with the keys each user enrolled.

Every ceremony starts with a challenge kept here for `CHALLENGE_SECONDS`, tied to its user
and purpose; the caller keeps it too (the browser's session) and names it when the answer
comes, and it is used up then, accepted or not; a user has one open challenge per purpose
(a new one replaces the old). Each key belongs to the relying party (the site's domain) it
was made for, and only that relying party's keys are offered or accepted. A key's public
key must load before it is kept, and its signature counter must grow from one use to the
next (when the authenticator keeps one): a key whose counter goes back is refused, a sign
of a copied key. Refusals are `ValidationFailed` with these codes: `bad_name`,
`challenge_expired`, `key_refused`, `bad_key`, `key_known`, `key_unknown`,
`sign_count_regressed`, `last_factor`."""
from __future__ import annotations

import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sqlalchemy import func, select
from webauthn import (generate_authentication_options, generate_registration_options, options_to_json,
                      verify_authentication_response, verify_registration_response)
from webauthn.helpers import (bytes_to_base64url, base64url_to_bytes, decode_credential_public_key,
                              parse_attestation_object, parse_cbor, parse_registration_credential_json)
from webauthn.helpers import exceptions as refusals
from webauthn.helpers.decoded_public_key_to_cryptography import decoded_public_key_to_cryptography
from webauthn.helpers.structs import (AuthenticatorSelectionCriteria, AuthenticatorTransport,
                                      PublicKeyCredentialDescriptor, ResidentKeyRequirement,
                                      UserVerificationRequirement)

from engine.errors import NotFound, ValidationFailed
from engine.jsontext import TooDeep, strict_loads
from engine.systables import loom_table

CHALLENGE_SECONDS = 300
TIMEOUT_MS = 120_000   # how long the browser waits for the key
NAME_LENGTH = 100
MAX_ANSWER = 64_000    # characters of a browser's answer read at most
# What the library raises for an answer it refuses, and what reading the answer's JSON,
# base64url and CBOR raises (each a ValueError: json.JSONDecodeError, binascii.Error, …).
_REFUSED = (refusals.WebAuthnException, ValueError, json.JSONDecodeError, binascii.Error)
# What decoding a new key's COSE public key with the library may raise: it indexes the key's
# map and turns its parts into numbers, so a key missing a part or with a part of the wrong
# type fails there (nothing of Loom's runs in between).
_BAD_KEY = (*_REFUSED, KeyError, TypeError, IndexError)
_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class RelyingParty:
    """Who keys are made for: the site's domain (`id`), its origin and the name browsers show."""
    id: str
    origin: str
    name: str


def relying_party(public_url: str, name: str) -> RelyingParty:
    """The relying party of the screens at `public_url` (scheme, host and port; a default
    port is dropped, as browsers drop it from the origin they report)."""
    parts = urlsplit(public_url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError(f"not an http(s) address: {public_url[:100]}")
    port = parts.port
    shown = f"[{host}]" if ":" in host else host
    origin = f"{scheme}://{shown}" + (f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else "")
    return RelyingParty(id=host, origin=origin, name=name)


@dataclass(frozen=True)
class Ceremony:
    """What the browser is given (`options`, JSON with binary as base64url) and the challenge
    that names this ceremony when its answer comes."""
    options: dict
    challenge: str


def _now():
    return datetime.now(timezone.utc)


def _refused(code: str, message: str, field: str = "credential"):
    return ValidationFailed(message, details=[{"field": field, "message": message}], code=code)


def _issue(storage, user_id: int, purpose: str) -> bytes:
    """A fresh challenge for `user_id`, replacing their open one for `purpose` (expired ones
    of the tenant go too)."""
    challenge = secrets.token_bytes(32)
    table = loom_table(storage.schema, "loom_webauthn_challenges")
    with storage.begin() as conn:
        conn.execute(table.delete().where(table.c.expires_at < _now()))
        conn.execute(table.delete().where(table.c.user_id == user_id, table.c.purpose == purpose))
        conn.execute(table.insert().values(challenge=bytes_to_base64url(challenge), user_id=user_id,
                                           purpose=purpose, expires_at=_now() + timedelta(seconds=CHALLENGE_SECONDS)))
    return challenge


def _take(storage, user_id: int, purpose: str, challenge) -> bytes:
    """Use up the challenge the caller kept: refused unless it was issued to this user for
    this purpose and has not expired or been used."""
    table = loom_table(storage.schema, "loom_webauthn_challenges")
    if isinstance(challenge, str) and 0 < len(challenge) <= 100:
        with storage.begin() as conn:
            taken = conn.execute(table.delete().where(
                table.c.challenge == challenge, table.c.user_id == user_id, table.c.purpose == purpose,
                table.c.expires_at >= _now())).rowcount
        if taken == 1:
            return base64url_to_bytes(challenge)
    raise _refused("challenge_expired", "this request has expired or was already answered: start again")


def _answer(answer) -> dict:
    """The browser's answer as a JSON object (text or already parsed)."""
    if isinstance(answer, str) and len(answer) <= MAX_ANSWER:
        try:
            answer = strict_loads(answer)
        except TooDeep:
            raise _refused("key_refused", "the answer of the security key is nested too deeply to read") from None
        except ValueError:
            answer = None
    if not isinstance(answer, dict):
        raise _refused("key_refused", "the answer of the security key is not a WebAuthn credential")
    return answer


def start_enrolment(storage, rp: RelyingParty, user) -> Ceremony:
    """Options to make a new key for `user` (their keys already enrolled are excluded)."""
    known = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(row.credential_id))
             for row in _rows(storage, user.id, rp.id)]
    challenge = _issue(storage, user.id, "enrol")
    options = generate_registration_options(
        rp_id=rp.id, rp_name=rp.name, user_id=_user_handle(storage, user.id), user_name=user.email,
        user_display_name=getattr(user, "display_name", None) or user.email, challenge=challenge,
        timeout=TIMEOUT_MS, exclude_credentials=known,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED, user_verification=UserVerificationRequirement.PREFERRED))
    return Ceremony(json.loads(options_to_json(options)), bytes_to_base64url(challenge))


def enrol(storage, rp: RelyingParty, user_id: int, challenge, answer, name) -> dict:
    """Keep the key the browser made (its answer to `start_enrolment`), named `name`."""
    name = " ".join(str(name or "").split())
    if not name or len(name) > NAME_LENGTH:
        raise _refused("bad_name", f"name the key (what it is), in at most {NAME_LENGTH} characters", "name")
    expected = _take(storage, user_id, "enrol", challenge)
    answer = _answer(answer)
    try:
        credential = parse_registration_credential_json(answer)
        _check_attestation_shape(credential.response.attestation_object)
        attested = parse_attestation_object(credential.response.attestation_object).auth_data.attested_credential_data
    except _REFUSED as exc:
        raise _refused("key_refused", f"the security key's answer is not valid: {str(exc)[:200]}") from None
    if attested is not None:  # checked before the library decodes it (a malformed key would crash it)
        _check_public_key(attested.credential_public_key)
    try:
        made = verify_registration_response(credential=credential, expected_challenge=expected, expected_rp_id=rp.id,
                                            expected_origin=rp.origin)
    except _REFUSED as exc:
        raise _refused("key_refused", f"the security key's answer is not valid: {str(exc)[:200]}") from None
    credential_id = bytes_to_base64url(made.credential_id)
    said = answer["response"].get("transports")  # a dict: the library read it
    transports = [t.value for t in _transports(said if isinstance(said, list) else [])]
    table = loom_table(storage.schema, "loom_webauthn_keys")
    with storage.begin() as conn:
        if conn.execute(select(table.c.id).where(table.c.credential_id == credential_id)).first() is not None:
            raise _refused("key_known", "this security key is enrolled already")
        row = {"user_id": user_id, "rp_id": rp.id, "credential_id": credential_id,
               "public_key": made.credential_public_key,
               "sign_count": made.sign_count, "transports": transports, "name": name,
               "created_at": _now()}
        row["id"] = conn.execute(table.insert().values(**row)).inserted_primary_key[0]
    return _public(row)


def start_sign_in(storage, rp: RelyingParty, user_id: int) -> Ceremony:
    """Options to sign `user_id` in with one of their keys."""
    allowed = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(row.credential_id),
                                             transports=_transports(row.transports) or None)
               for row in _rows(storage, user_id, rp.id)]
    if not allowed:
        raise NotFound("this user has no security key", code="no_security_key")
    challenge = _issue(storage, user_id, "sign_in")
    options = generate_authentication_options(rp_id=rp.id, challenge=challenge, timeout=TIMEOUT_MS,
                                              allow_credentials=allowed,
                                              user_verification=UserVerificationRequirement.PREFERRED)
    return Ceremony(json.loads(options_to_json(options)), bytes_to_base64url(challenge))


def sign_in(storage, rp: RelyingParty, user_id: int, challenge, answer) -> dict:
    """The key of `user_id` that signed the answer to `start_sign_in` (its counter and last
    use recorded); refused for another user's key, a key of another relying party, a wrong
    signature or a counter gone back (when either count is above 0, the new one must be
    above the stored one)."""
    expected = _take(storage, user_id, "sign_in", challenge)
    answer = _answer(answer)
    table = loom_table(storage.schema, "loom_webauthn_keys")
    with storage.connect() as conn:
        key = conn.execute(select(table).where(table.c.user_id == user_id, table.c.rp_id == rp.id,
                                               table.c.credential_id == str(answer.get("id"))[:1400])).first()
    if key is None:
        raise _refused("key_unknown", "this security key is not one of yours")
    try:
        used = verify_authentication_response(
            credential=answer, expected_challenge=expected, expected_rp_id=rp.id, expected_origin=rp.origin,
            credential_public_key=key.public_key, credential_current_sign_count=0)  # the counter: below
    except _REFUSED as exc:
        raise _refused("key_refused", f"the security key's answer is not valid: {str(exc)[:200]}") from None
    regressed = _refused("sign_count_regressed", "the security key's counter went back: it may have been copied; "
                         "sign in another way and remove it")
    if (used.new_sign_count > 0 or key.sign_count > 0) and used.new_sign_count <= key.sign_count:
        raise regressed
    with storage.begin() as conn:  # one use per counter value, however many answers race
        if conn.execute(table.update().where(table.c.id == key.id, table.c.sign_count == key.sign_count).values(
                sign_count=used.new_sign_count, last_used_at=_now())).rowcount != 1:
            raise regressed
    return _public({**key._mapping, "sign_count": used.new_sign_count})


def keys(storage, user_id: int) -> list[dict]:
    """The keys of `user_id`, oldest first (name, transports, when made and last used)."""
    return [_public(row._mapping) for row in _rows(storage, user_id)]


def counts(storage) -> dict[int, int]:
    """How many keys each user with any has."""
    table = loom_table(storage.schema, "loom_webauthn_keys")
    with storage.connect() as conn:
        return dict(conn.execute(select(table.c.user_id, func.count()).group_by(table.c.user_id)).all())


def has_keys(storage, user_id: int, rp_id: str | None = None) -> bool:
    """Whether `user_id` has a key (of the relying party `rp_id`, when given)."""
    table = loom_table(storage.schema, "loom_webauthn_keys")
    query = select(table.c.id).where(table.c.user_id == user_id)
    if rp_id is not None:
        query = query.where(table.c.rp_id == rp_id)
    with storage.connect() as conn:
        return conn.execute(query.limit(1)).first() is not None


def remove(storage, user_id: int, key_id, keep_a_factor: bool) -> dict:
    """Remove a key of `user_id`; with `keep_a_factor`, never their last second step (no
    authenticator app and no other key). The user's keys are locked first (on PostgreSQL;
    SQLite's write transaction is one at a time already), so two removals at once cannot
    both find another key left."""
    table = loom_table(storage.schema, "loom_webauthn_keys")
    users = loom_table(storage.schema, "loom_users")
    with storage.begin() as conn:
        conn.execute(select(table.c.id).where(table.c.user_id == user_id).with_for_update()).all()
        key = conn.execute(select(table).where(table.c.id == key_id, table.c.user_id == user_id)).first() \
            if isinstance(key_id, int) else None
        if key is None:
            raise NotFound(f"no security key {str(key_id)[:20]} of yours", code="key_not_found")
        others = conn.execute(select(func.count()).select_from(table).where(
            table.c.user_id == user_id, table.c.id != key.id)).scalar()
        app = conn.execute(select(users.c.totp_secret).where(users.c.id == user_id)).scalar() is not None
        if keep_a_factor and not others and not app:
            raise _refused("last_factor", "your role must sign in with a second step, and this key is your last "
                           "one: add another key or an authenticator app first", "key")
        conn.execute(table.delete().where(table.c.id == key.id))
    return _public(key._mapping)


def forget(conn, schema, user_id: int) -> None:
    """In `conn`'s transaction: remove every key of `user_id` and their open challenges."""
    for name in ("loom_webauthn_keys", "loom_webauthn_challenges"):
        table = loom_table(schema, name)
        conn.execute(table.delete().where(table.c.user_id == user_id))


def _user_handle(storage, user_id: int) -> bytes:
    """The user's WebAuthn handle: the same for every key of theirs, and different in every
    tenant (several tenants share a host, so a passkey of one user never replaces another's)."""
    return hashlib.sha256(f"loom:{storage.uid}:{user_id}".encode()).digest()


def _transports(names) -> list:
    """The transports among `names` that WebAuthn knows ("usb", "nfc", "ble", "internal", …)."""
    known = {t.value: t for t in AuthenticatorTransport}
    return [known[name] for name in dict.fromkeys(n for n in names or [] if isinstance(n, str)) if name in known]


# The types the library expects in an attestation object (it reads them unchecked, and turns
# an `authData` number into that many zero bytes).
_ATTESTATION_SHAPE = {"fmt": str, "authData": bytes, "attStmt": dict}
_STATEMENT_SHAPE = {"sig": bytes, "x5c": list, "response": bytes, "alg": int, "ver": str, "certInfo": bytes,
                    "pubArea": bytes}


def _check_attestation_shape(attestation_object: bytes) -> None:
    """Refuse (ValueError) an attestation object whose parts are not of the types the library
    reads them as, before it reads them."""
    found = parse_cbor(attestation_object)
    if not isinstance(found, dict) or any(not isinstance(found.get(name), kind)
                                          for name, kind in _ATTESTATION_SHAPE.items()):
        raise ValueError("the attestation object is not a map of fmt, authData and attStmt")
    statement = found["attStmt"]
    if any(name in statement and (not isinstance(statement[name], kind) or isinstance(statement[name], bool))
           for name, kind in _STATEMENT_SHAPE.items()) \
            or not all(isinstance(cert, bytes) for cert in statement.get("x5c", [])):
        raise ValueError("the attestation statement has a part of the wrong type")


def _check_public_key(cose_key: bytes) -> None:
    """Refuse a public key that could never verify a signature (an unknown curve, a point
    off its curve, a key of the wrong length): it must decode and load."""
    try:
        decoded_public_key_to_cryptography(decode_credential_public_key(cose_key))
    except _BAD_KEY as exc:
        raise _refused("bad_key", f"the security key's public key cannot be used: {str(exc)[:200]}") from None


def _rows(storage, user_id: int, rp_id: str | None = None) -> list:
    table = loom_table(storage.schema, "loom_webauthn_keys")
    query = select(table).where(table.c.user_id == user_id)
    if rp_id is not None:
        query = query.where(table.c.rp_id == rp_id)
    with storage.connect() as conn:
        return conn.execute(query.order_by(table.c.id)).all()


def _public(row) -> dict:
    return {name: row.get(name)
            for name in ("id", "name", "rp_id", "transports", "sign_count", "created_at", "last_used_at")}
