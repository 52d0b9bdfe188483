"""Counting failed sign-ins and failed API tokens per key (an address, an account) over a
window, to refuse more tries with a 429 and `Retry-After` until the window passes.

With `LOOM_REDIS_URL` set, the counts live in Redis (one fixed window per key, shared by
every process of the install); otherwise in this process (a worker counts its own tries,
so N workers allow up to N times the limit). If Redis fails, the process falls back to its
own counts rather than refusing or admitting everyone."""
from __future__ import annotations

import logging
import threading
import time

import redis

from engine.errors import LoomError
from engine.whole import whole_number

log = logging.getLogger("loom.ratelimit")
FAILURES_PER_ADDRESS = 30   # failed sign-ins or tokens from one address per window
WINDOW_SECONDS = 600
MAX_KEYS = 100_000          # in-process counts kept at most (the oldest windows go first)


class TooManyAttempts(LoomError):
    status, code = 429, "too_many_attempts"

    def __init__(self, retry_after: int, what: str = "failed attempts"):
        super().__init__(f"too many {what} from here; try again in {retry_after} seconds")
        self.retry_after = retry_after


class Limiter:
    """`blocked(key)` answers the seconds to wait (or None); `fail(key)` counts a failure."""

    def __init__(self, limit: int = FAILURES_PER_ADDRESS, window: int = WINDOW_SECONDS, redis_url: str | None = None):
        self.limit, self.window = limit, window
        self._counts: dict = {}  # key: (window start, failures)
        self._lock = threading.Lock()
        self._redis = None
        if redis_url:
            self._redis = redis.Redis.from_url(redis_url, socket_timeout=1)

    @classmethod
    def from_settings(cls, extra: dict, redis_url: str | None) -> "Limiter":
        """Limits from `LOOM_AUTH_FAILURE_LIMIT` and `LOOM_AUTH_FAILURE_WINDOW` (seconds)."""
        return cls(_whole(extra, "LOOM_AUTH_FAILURE_LIMIT", FAILURES_PER_ADDRESS),
                   _whole(extra, "LOOM_AUTH_FAILURE_WINDOW", WINDOW_SECONDS), redis_url)

    def _start(self, now: float) -> int:
        return int(now // self.window) * self.window

    def blocked(self, key: str) -> int | None:
        now = time.time()
        start = self._start(now)
        count = self._shared(key, start, add=False)
        if count is None:
            with self._lock:
                found = self._counts.get(key)
                count = found[1] if found and found[0] == start else 0
        return max(1, int(start + self.window - now)) if count >= self.limit else None

    def fail(self, key: str) -> None:
        start = self._start(time.time())
        if self._shared(key, start, add=True) is not None:
            return
        with self._lock:
            found = self._counts.get(key)
            self._counts[key] = (start, (found[1] if found and found[0] == start else 0) + 1)
            if len(self._counts) > MAX_KEYS:
                for old in [k for k, (s, _) in self._counts.items() if s != start][:MAX_KEYS // 2] or list(self._counts)[:1]:
                    self._counts.pop(old, None)

    def _shared(self, key, start, add: bool):
        """The count in Redis (after adding one when `add`), or None without Redis."""
        if self._redis is None:
            return None
        name = f"loom:auth-failures:{start}:{key}"
        try:
            if not add:
                return int(self._redis.get(name) or 0)
            with self._redis.pipeline() as pipe:
                count, _ = pipe.incr(name).expire(name, self.window).execute()
            return int(count)
        except Exception as exc:  # any Redis failure: count in this process instead
            log.warning("rate limits counted in this process: Redis failed: %s", exc)
            return None


def _whole(extra: dict, name: str, default: int) -> int:
    raw = str(extra.get(name) or "").strip()
    if not raw:
        return default
    number = whole_number(raw, lowest=1)
    if number is None:
        raise ValueError(f"{name} must be a whole number of at least 1, not {raw[:20]!r}")
    return number
