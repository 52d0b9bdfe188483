"""Sign-in and token failures rate-limited per address (in the process, or in Redis when
configured) and per account (the lock-out), with a clear 429 and Retry-After; the minimum
password policy; the security headers on every response, HSTS only over TLS."""
from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

from engine import auth, passwords
from engine.app import create_app
from engine.errors import ValidationFailed
from engine.password_policy import COMMON, MIN_LENGTH, password_problem
from engine.ratelimit import Limiter

BOSS = "boss@acme.example"


@pytest.fixture
def limited(install, acme):
    """The app with at most 3 failures per address per window; a user with a password and a token."""
    auth.create_user(acme.storage, BOSS, "admin")
    passwords.set_password(acme.storage, BOSS, "a-long-enough-secret")
    token = auth.create_token(acme.storage, BOSS, "script")
    return create_app(install, {"TESTING": True, "LOOM_AUTH_FAILURE_LIMIT": "3"}), token


def test_failed_tokens_from_one_address_are_refused_with_429_and_retry_after(limited):
    app, token = limited
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/t/acme/records/contact", headers={"Authorization": "Bearer loom_bad"}).status_code == 401
    refused = client.get("/api/v1/t/acme/records/contact", headers={"Authorization": f"Bearer {token}"})
    assert (refused.status_code, refused.json["error"]["code"]) == (429, "too_many_attempts")
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    other = client.get("/api/v1/t/acme/records/contact", headers={"Authorization": f"Bearer {token}"},
                       environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200  # another address is not held back


def csrf(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_failed_sign_ins_are_limited_per_address_and_per_account(limited, acme):
    app, _ = limited
    client = app.test_client()
    token = csrf(client.get("/t/acme/login"))
    for attempt in range(3):
        wrong = client.post("/t/acme/login", data={"email": f"nobody{attempt}@acme.example", "password": "x" * 12,
                                                  "csrf_token": token})
        assert wrong.status_code == 401
    held = client.post("/t/acme/login", data={"email": BOSS, "password": "a-long-enough-secret", "csrf_token": token})
    assert held.status_code == 429 and int(held.headers["Retry-After"]) >= 1
    assert "Too many failed sign-ins from here" in held.text
    # Per account: the lock-out after MAX_FAILURES, from any address, answers 429 too.
    for attempt in range(passwords.MAX_FAILURES):
        passwords.sign_in(acme.storage, BOSS, f"wrong-{attempt}")
    locked = client.post("/t/acme/login", data={"email": BOSS, "password": "a-long-enough-secret", "csrf_token": token},
                         environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert locked.status_code == 429 and "Too many failed attempts" in locked.text
    assert 1 <= int(locked.headers["Retry-After"]) <= passwords.LOCK_MINUTES * 60


def test_redis_counts_are_shared_by_every_process():
    url = "redis://127.0.0.1:6379/15"
    first, second = Limiter(2, 60, url), Limiter(2, 60, url)
    key = f"address:test-{uuid.uuid4().hex}"
    try:
        first._redis.ping()
    except Exception:
        pytest.skip("no Redis at 127.0.0.1:6379")
    first.fail(key)
    assert second.blocked(key) is None
    second.fail(key)
    assert 1 <= first.blocked(key) <= 60


def test_a_wrong_limit_setting_is_a_clear_error():
    with pytest.raises(ValueError, match="LOOM_AUTH_FAILURE_LIMIT must be a whole number"):
        Limiter.from_settings({"LOOM_AUTH_FAILURE_LIMIT": "lots"}, None)


@hsettings(max_examples=200, deadline=None)
@given(st.text(max_size=40) | st.sampled_from(sorted(COMMON)) | st.just("Boss@acme.example"))
def test_the_password_policy_names_the_rule_a_password_breaks(password):
    problem = password_problem(password, BOSS)
    if len(password) < MIN_LENGTH:
        assert problem == f"a password needs at least {MIN_LENGTH} characters"
    elif password.strip() and "\x00" in password:
        assert problem == "a password cannot hold a NUL character or bytes that are not UTF-8 text"
    elif password.strip().casefold() in COMMON or password.strip().casefold() == BOSS:
        assert problem is not None and ("common" in problem or "e-mail" in problem)
    elif password.strip():
        assert problem is None


def test_a_weak_password_is_refused_with_its_rule_and_changes_nothing(acme):
    auth.create_user(acme.storage, BOSS, "admin")
    passwords.set_password(acme.storage, BOSS, "the-first-good-one")
    for weak, words in (("short", "at least 10"), ("BOSS@acme.example", "e-mail"), ("boss", "at least"),
                        ("Password123", "common"), ("qwertyuiop", "common")):
        with pytest.raises(ValidationFailed, match=words) as refused:
            passwords.set_password(acme.storage, BOSS, weak)
        assert refused.value.code == "weak_password"
    assert passwords.sign_in(acme.storage, BOSS, "the-first-good-one").actor is not None


def test_every_response_has_the_security_headers_and_hsts_only_over_tls(client, acme):
    for url in ("/health", "/api/v1/t/acme/records/contact", "/t/acme/login", "/nowhere"):
        plain = client.get(url)
        assert "frame-ancestors 'none'" in plain.headers["Content-Security-Policy"], url
        assert "'unsafe-inline'" not in plain.headers["Content-Security-Policy"]
        assert plain.headers["X-Content-Type-Options"] == "nosniff"
        assert plain.headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in plain.headers
        secure = client.get(url, base_url="https://loom.example")
        assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
