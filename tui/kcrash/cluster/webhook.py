"""Alerts to a chat channel: a Slack-compatible JSON POST per alert, on a thread of its own.

Each owner (a Deployment, a bare pod) gets at most one POST per `window` (the alerts in between
are counted into the next one's text, never lost silently); a failed POST is retried with
exponential back-off and jitter, honouring `Retry-After` on 429 and 503, and given up after
`attempts` with one line to the `on_error` callback. Uses only the standard library: the webhook
is no Kubernetes API and needs none of its credentials.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from kcrash.core.alerts import Alert, OwnerKey, slack_payload
from kcrash.core.sanitize import clean_line

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 3600.0
TIMEOUT = 10.0
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookSender:
    """Posts alerts to `url`; `send` never blocks, `close` waits for what is queued."""

    def __init__(
        self,
        url: str,
        *,
        window: float = DEFAULT_WINDOW,
        attempts: int = 5,
        first_delay: float = 0.5,
        max_delay: float = 30.0,
        on_error: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.window = window
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._on_error = on_error
        self._clock = clock
        self._last: dict[OwnerKey, float] = {}
        self._held: dict[OwnerKey, int] = {}  # alerts not posted since the owner's last POST
        self._queue: queue.Queue[tuple[Alert, int] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="kcrash-webhook", daemon=True)
        self._thread.start()
        self.posted = 0

    def send(self, alert: Alert) -> bool:
        """Queue a POST for this alert unless its owner had one within the window."""
        if alert.state != "new":
            return False
        now = self._clock()
        owner = alert.owner_key
        last = self._last.get(owner)
        if last is not None and now - last < self.window:
            self._held[owner] = self._held.get(owner, 0) + 1
            return False
        self._last[owner] = now
        self._queue.put((alert, self._held.pop(owner, 0)))
        return True

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            alert, held = item
            try:
                self._post(alert, held)
            except Exception:  # a webhook must never take the watcher down
                log.debug("webhook failed", exc_info=True)

    def _post(self, alert: Alert, held: int) -> None:
        payload = slack_payload(alert)
        if held:
            payload["text"] += (
                f" (+{held} more alert{'s' if held > 1 else ''} about {alert.owner} before this one)"
            )
        body = json.dumps(payload).encode()
        delay = self.first_delay
        last_error = ""
        for attempt in range(1, self.attempts + 1):
            wait: float | None = None
            try:
                request = urllib.request.Request(
                    self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                    response.read()
                self.posted += 1
                return
            except urllib.error.HTTPError as exc:
                last_error = f"HTTP {exc.code}"
                if exc.code not in RETRY_STATUSES:
                    break
                wait = _retry_after(exc.headers.get("Retry-After"))
            except (urllib.error.URLError, OSError) as exc:
                last_error = clean_line(str(getattr(exc, "reason", exc)))
            if attempt < self.attempts:
                time.sleep(
                    min(self.max_delay, wait if wait is not None else delay * random.uniform(0.8, 1.2))
                )
                delay = min(self.max_delay, delay * 2)
        if self._on_error is not None:
            self._on_error(
                f"webhook {self._safe_url()}: gave up on the alert about {alert.owner} ({last_error})"
            )

    def _safe_url(self) -> str:
        """The URL without its path: Slack's path is the secret."""
        parts = self.url.split("/")
        return "/".join(parts[:3]) + "/…" if len(parts) > 3 else self.url


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
