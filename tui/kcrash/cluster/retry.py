"""Which failed requests are sent again, and how long to wait first: client-go's rules, and a deadline.

- 429 and 503 are the server saying "not now": every read is retried, after the `Retry-After` it
  names (capped at `RETRY_AFTER_CAP`, so a confused proxy cannot park the console for an hour) or,
  without one, after an exponential back-off with jitter;
- 500, 502 and 504 may have come after the server acted: only reads are retried (GET, and the
  SelfSubjectAccessReview POST, which stores nothing);
- a write is retried only on a 429 that carries `Retry-After`, the one answer that says the
  request was turned away before anything was done (a DELETE or PATCH never goes out twice after
  a 500);
- a deadline (`diagnose --timeout`) bounds the whole: no wait is started that would end past it.

Whoever listens (`Retrier.listen`) hears each wait before it starts, with words for a status line:
"throttled, retrying in 3s".
"""

from __future__ import annotations

import email.utils
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from kcrash.cluster.transport import HttpError

T = TypeVar("T")

THROTTLED = frozenset({429, 503})
SERVER_ERRORS = frozenset({500, 502, 504})
RETRY_AFTER_CAP = 10.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
ATTEMPTS = 10  # client-go's maxRetries for a request that keeps being told to wait


@dataclass(frozen=True, slots=True)
class Wait:
    """One wait before a request is sent again."""

    action: str
    status: int
    seconds: float
    attempt: int  # the attempt that failed (1 = the first)

    @property
    def words(self) -> str:
        """`throttled, retrying in 3s` or `server error 500, retrying in 1s`."""
        seconds = max(1, math.ceil(self.seconds))
        what = "throttled" if self.status in THROTTLED else f"server error {self.status}"
        return f"{what}, retrying in {seconds}s"


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The `Retry-After` header in seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retryable(status: int, read: bool, after: float | None) -> bool:
    """Whether an answer with `status` may be sent again (`read`: the request changes nothing)."""
    if status in THROTTLED:
        return read or (status == 429 and after is not None)
    return read and status in SERVER_ERRORS


def backoff(attempt: int, rng: random.Random) -> float:
    """The wait after failed attempt `attempt` (1, 2, ...) when the server named none: 0.5 s
    doubling to 8 s, plus up to half again of jitter so many clients do not return in step."""
    base: float = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (attempt - 1))
    return base * (1.0 + rng.random() * 0.5)


class Retrier:
    """Sends a request until it succeeds, fails for good, runs out of attempts or of time.
    One per connection: its deadline and listeners hold for every request made through it."""

    def __init__(
        self,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Wait], None]] = []
        self.deadline: float | None = None  # on `clock`; None: no total deadline

    def listen(self, listener: Callable[[Wait], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remaining(self) -> float | None:
        """Seconds left before the deadline (never below 0), None without one."""
        return None if self.deadline is None else max(0.0, self.deadline - self._clock())

    def run(self, action: str, request: Callable[[], T], *, read: bool, attempts: int = ATTEMPTS) -> T:
        """`request()` until it returns; an HttpError that may not be retried (or the last one) is raised."""
        attempt = 1
        while True:
            try:
                return request()
            except HttpError as exc:
                delay = self._delay(exc, read, attempt, attempts)
                if delay is None:
                    raise
                self._announce(Wait(action, exc.status, delay, attempt))
                self._sleep(delay)
                attempt += 1

    def _delay(self, exc: HttpError, read: bool, attempt: int, attempts: int) -> float | None:
        after = retry_after(exc.headers)
        if attempt >= attempts or not retryable(exc.status, read, after):
            return None
        delay = min(RETRY_AFTER_CAP, after) if after is not None else backoff(attempt, self._rng)
        left = self.remaining()
        if left is not None and delay >= left:
            return None  # the answer would come too late to be of use
        return delay

    def _announce(self, wait: Wait) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(wait)
            except Exception:  # a listener's trouble must not fail the request
                continue


def is_read(method: str, path: str) -> bool:
    """Whether a request changes nothing: GET and HEAD, and the access reviews (POSTs that store nothing)."""
    return method in ("GET", "HEAD") or (method == "POST" and path.endswith("accessreviews"))
