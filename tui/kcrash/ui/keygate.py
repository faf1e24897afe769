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
from collections.abc import Callable
from typing import Protocol

from textual import events

KEY_SETTLE_S = 5.0
"""The longest a key waits for the one before it. A key whose widget went away is done at once
(see `KeyGate._gone`), so only a handler that never finishes takes this long; a loaded machine
can take over a second to bubble a key up, and a shorter wait let the next key overtake it
(`/bad` typed as `abd`)."""

READY_WAIT_S = 10.0
"""The longest a key waits for a screen to compose: on a loaded machine a drill-down can take over a
second, and a key acting on it before then finds none of its widgets."""

POLL_S = 0.003


class Target(Protocol):
    """Where a key was sent: a widget, which may be removed before it handles the key."""

    @property
    def is_attached(self) -> bool: ...


class KeyGate:
    """The keys waiting for the one in flight; the App asks it what to forward and when."""

    def __init__(
        self,
        ready: Callable[[], bool] = lambda: True,
        target: Callable[[], Target | None] = lambda: None,
    ) -> None:
        # `ready`: the screen that will get the next key is there to get it. A key that opens a
        # screen is done when its binding has run, but the screen composes later: a key acting on
        # it before then finds none of its widgets.
        self._ready = ready
        # `target`: the widget a key sent now goes to (the focused one); if it is removed before
        # handling the key (a screen closed by the key before), the key never comes back.
        self._target_of = target
        self._target: Target | None = None
        self._waiting: deque[events.Key] = deque()
        self._in_flight: events.Key | None = None
        self._sent_at = 0.0
        self._back: set[int] = set()  # ids of keys that came back up to the App

    def admit(self, key: events.Key) -> bool:
        """True: forward `key` now (nothing in flight, nothing waiting). False: it waits its turn,
        behind the keys already waiting (a key of a later read must not overtake them)."""
        if self._waiting or self._busy():
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
            self._target = self._target_of()
            self._back.clear()

    def next_key(self) -> events.Key | None:
        """The next waiting key if the one in flight is done (it is then in flight itself)."""
        if not self._waiting or self._busy():
            return None
        key = self._waiting.popleft()
        self._send(key)
        return key

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def _send(self, key: events.Key) -> None:
        self._in_flight = key
        self._target = self._target_of()
        self._sent_at = time.monotonic()
        self._back.clear()

    def _busy(self) -> bool:
        """The key in flight is not done, or the screen it opened is not there yet."""
        if self._in_flight is None:
            return False
        waited = time.monotonic() - self._sent_at
        return not self._done() or (not self._ready() and waited < READY_WAIT_S)

    def _done(self) -> bool:
        key = self._in_flight
        if key is None:
            return True
        return (
            id(key) in self._back
            or key._stop_propagation  # consumed by a widget (a letter typed into a box)
            or (self._target is not None and not self._target.is_attached)
            or time.monotonic() - self._sent_at >= KEY_SETTLE_S
        )
