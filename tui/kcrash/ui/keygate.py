"""Keys handled one after another, however many arrive in one read.

Textual hands each key to the focused widget the moment it arrives, but resolves a binding only
when the key has bubbled back up to the App. Keys read together (SSH, `tmux send-keys`) were
therefore all handed to the widget focused *before* the first took effect: `Esc / o o m` typed
into the filter put `/oom` in the box before the Escape cleared it, and `Enter Enter` opened two
drill-downs. The gate lets the next key go only when the one before is done: it came back up to
the App (its binding, if any, has run), a widget consumed it, or `KEY_SETTLE_S` passed.
"""

from __future__ import annotations

import time
from collections import deque

from textual import events

KEY_SETTLE_S = 1.0
"""The longest a key waits for the one before it: only a key whose widget went away before it
was handled takes this long, so it is generous; a loaded machine can take a quarter of a second
to bubble a key up, and a shorter wait let the next key overtake it."""

POLL_S = 0.003


class KeyGate:
    """The keys waiting for the one in flight; the App asks it what to forward and when."""

    def __init__(self) -> None:
        self._waiting: deque[events.Key] = deque()
        self._in_flight: events.Key | None = None
        self._sent_at = 0.0
        self._back: set[int] = set()  # ids of keys that came back up to the App

    def admit(self, key: events.Key) -> bool:
        """True: forward `key` now (nothing in flight). False: it waits its turn."""
        if self._in_flight is not None and not self._done():
            self._waiting.append(key)
            return False
        self._send(key)
        return True

    def came_back(self, key: events.Key) -> None:
        """`key` bubbled up to the App: its turn is over once its binding has run."""
        if key is self._in_flight:
            self._back.add(id(key))

    def handed_on(self, key: events.Key, to: events.Key) -> None:
        """`key` came back and was sent on as `to` (a letter for a text box): the turn is `to`'s,
        so the key after it cannot reach the box first."""
        if key is self._in_flight:
            self._in_flight = to
            self._back.clear()

    def next_key(self) -> events.Key | None:
        """The next waiting key if the one in flight is done (it is then in flight itself)."""
        if not self._waiting or (self._in_flight is not None and not self._done()):
            return None
        key = self._waiting.popleft()
        self._send(key)
        return key

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _send(self, key: events.Key) -> None:
        self._in_flight = key
        self._sent_at = time.monotonic()
        self._back.clear()

    def _done(self) -> bool:
        key = self._in_flight
        if key is None:
            return True
        return (
            id(key) in self._back
            or key._stop_propagation  # consumed by a widget (a letter typed into a box)
            or time.monotonic() - self._sent_at >= KEY_SETTLE_S
        )
