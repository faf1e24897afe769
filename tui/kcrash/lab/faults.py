"""Fault injection, the lab's RBAC deny rules and the request log.

Tests change these from their own thread while the server reads them on the lab's loop, so every
method takes the lock. Nothing here touches the event loop: `drop_watches` calls the listeners the
server registered, and those hop onto the loop themselves.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

ERROR_STATUSES = (429, 500, 503)


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as it arrived (recorded before it is answered, so open watches show up too)."""

    method: str
    path: str
    query: str
    content_type: str
    accept: str
    time: float


class Faults:
    """Knobs the lab's HTTP layer consults on every request."""

    def __init__(self, seed: int = 0, log_size: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._latency_ms = 0.0
        self._error_rate = 0.0
        self._error_status = 500
        self._retry_after = 1
        self._fail_next: deque[int] = deque()
        self._deny: set[tuple[str, str]] = set()
        self._force_410 = 0
        self._drop_listeners: list[Callable[[], None]] = []
        self._log: deque[RequestRecord] = deque(maxlen=log_size)

    # -- latency and errors --------------------------------------------------------------------
    @property
    def latency_ms(self) -> float:
        with self._lock:
            return self._latency_ms

    def set_latency(self, milliseconds: float) -> None:
        if milliseconds < 0:
            raise ValueError("latency must not be negative")
        with self._lock:
            self._latency_ms = milliseconds

    def set_error_rate(self, rate: float, status: int = 500, retry_after: int = 1) -> None:
        """Answer this fraction of resource requests with `status` (500, 503, or 429 + Retry-After)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("error rate must be between 0 and 1")
        if status not in ERROR_STATUSES:
            raise ValueError(f"error status must be one of {ERROR_STATUSES}")
        with self._lock:
            self._error_rate = rate
            self._error_status = status
            self._retry_after = max(1, retry_after)

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next `count` resource requests with `status` (deterministic, for tests)."""
        if status not in ERROR_STATUSES:
            raise ValueError(f"error status must be one of {ERROR_STATUSES}")
        with self._lock:
            self._fail_next.extend([status] * count)

    def pick_error(self) -> tuple[int, int] | None:
        """(status, retry-after seconds) to inject for this request, or None to serve it."""
        with self._lock:
            if self._fail_next:
                return self._fail_next.popleft(), self._retry_after
            if self._error_rate > 0 and self._random.random() < self._error_rate:
                return self._error_status, self._retry_after
            return None

    # -- RBAC ------------------------------------------------------------------------------------
    def deny(self, verb: str, resource: str) -> None:
        """Refuse `verb` on `resource` ("pods", "pods/log", "deployments", "*")."""
        with self._lock:
            self._deny.add((verb.lower(), resource.lower()))

    def allow(self, verb: str, resource: str) -> None:
        with self._lock:
            self._deny.discard((verb.lower(), resource.lower()))

    def clear_denies(self) -> None:
        with self._lock:
            self._deny.clear()

    def denies(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(self._deny)

    def is_denied(self, verb: str, resource: str, subresource: str = "", group: str = "") -> bool:
        full = f"{resource}/{subresource}" if subresource else resource
        names = {full, "*"}
        if group:
            names.add(f"{resource}.{group}/{subresource}" if subresource else f"{resource}.{group}")
        with self._lock:
            return any((v, r) in self._deny for v in (verb.lower(), "*") for r in names)

    @staticmethod
    def parse_deny(text: str) -> tuple[str, str]:
        """`VERB:RESOURCE` as given to `kcrash lab --deny`."""
        verb, sep, resource = text.partition(":")
        if not sep or not verb.strip() or not resource.strip():
            raise ValueError(f"expected VERB:RESOURCE, got {text!r}")
        return verb.strip(), resource.strip()

    # -- watches -----------------------------------------------------------------------------------
    def on_drop_watches(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._drop_listeners.append(listener)

    def drop_watches(self) -> None:
        """End every open watch stream now (clients see a clean end of stream)."""
        with self._lock:
            listeners = list(self._drop_listeners)
        for listener in listeners:
            listener()

    def force_410_next_watch(self, count: int = 1) -> None:
        """The next `count` watches get an ERROR event with 410 Expired instead of events."""
        with self._lock:
            self._force_410 += count

    def take_forced_410(self) -> bool:
        with self._lock:
            if self._force_410 <= 0:
                return False
            self._force_410 -= 1
            return True

    # -- request log -----------------------------------------------------------------------------
    def record(self, method: str, path: str, query: str, content_type: str, accept: str) -> None:
        entry = RequestRecord(method, path, query, content_type, accept, time.time())
        with self._lock:
            self._log.append(entry)

    def requests(self, method: str | None = None, path_prefix: str = "") -> list[RequestRecord]:
        with self._lock:
            entries = list(self._log)
        return [
            e for e in entries if (method is None or e.method == method) and e.path.startswith(path_prefix)
        ]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def reset(self) -> None:
        """Back to a healthy, permissive server (the request log is kept)."""
        with self._lock:
            self._latency_ms = 0.0
            self._error_rate = 0.0
            self._fail_next.clear()
            self._deny.clear()
            self._force_410 = 0
