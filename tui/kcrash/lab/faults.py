"""Fault injection, the lab's RBAC deny rules and the request log.

Tests change these from their own thread while the server reads them on the lab's loop, so every
method takes the lock. Nothing here touches the event loop: `drop_watches` calls the listeners the
server registered, and those hop onto the loop themselves.

For the chaos suite: watches dropped every N seconds, resourceVersions expired every M seconds
(the next watch, the resumed one, gets 410 Expired), and `--request-log FILE`, one JSON line per
request once answered (time, verb, path, query, status, user agent, latency). The slow first byte
is `set_latency`; 429 with Retry-After at a rate is `set_error_rate(rate, 429, retry_after)`.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

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
        self._log_file: TextIO | None = None
        self._repeaters: list[_Repeater] = []

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

    def log_requests_to(self, path: Path | None) -> None:
        """Append one JSON line per answered request to `path` (None: stop)."""
        with self._lock:
            if self._log_file is not None:
                self._log_file.close()
            self._log_file = None if path is None else open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def answered(
        self, method: str, path: str, query: str, status: int, user_agent: str, seconds: float
    ) -> None:
        """A request was answered (a watch: its stream ended); written to the request log file."""
        with self._lock:
            out = self._log_file
            if out is None:
                return
            line = {
                "time": round(time.time(), 3),
                "verb": verb_of_request(method, query),
                "method": method,
                "path": path,
                "query": query,
                "status": status,
                "user_agent": user_agent,
                "latency_ms": round(seconds * 1000, 1),
            }
            out.write(json.dumps(line) + "\n")

    # -- schedules -------------------------------------------------------------------------------
    def drop_watches_every(self, seconds: float) -> None:
        """End every open watch stream every `seconds` (until `reset`)."""
        self._repeat(seconds, self.drop_watches)

    def expire_every(self, seconds: float, watches: int = 1) -> None:
        """Every `seconds`, cut the watches and answer the next `watches` resumed ones (one per
        watching client) with 410 Expired, as an API server does when the resourceVersion a
        client resumes from was compacted away."""

        def expire() -> None:
            with self._lock:
                self._force_410 = watches
            self.drop_watches()

        self._repeat(seconds, expire)

    def _repeat(self, seconds: float, action: Callable[[], None]) -> None:
        if seconds <= 0:
            raise ValueError("the interval must be more than 0 seconds")
        repeater = _Repeater(seconds, action)
        with self._lock:
            self._repeaters.append(repeater)
        repeater.start()

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def reset(self) -> None:
        """Back to a healthy, permissive server (the request log is kept)."""
        with self._lock:
            for repeater in self._repeaters:
                repeater.stop()
            self._repeaters.clear()
            self._latency_ms = 0.0
            self._error_rate = 0.0
            self._fail_next.clear()
            self._deny.clear()
            self._force_410 = 0


def verb_of_request(method: str, query: str) -> str:
    """The Kubernetes verb a request most likely is (a GET without a name is a list, but the
    log cannot tell without routing it: "get" covers both)."""
    if method == "GET":
        return "watch" if "watch=true" in query or "watch=1" in query else "get"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
        method, method.lower()
    )


class _Repeater:
    """Runs an action every N seconds on a daemon thread until stopped."""

    def __init__(self, seconds: float, action: Callable[[], None]) -> None:
        self._seconds = seconds
        self._action = action
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kcrash-lab-fault", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self._seconds):
            self._action()
