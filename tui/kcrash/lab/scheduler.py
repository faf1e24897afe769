"""Simulated time's one timer heap: `Timer` and the `Scheduler` that runs them.

The kubelet, the controllers and the simulation all schedule their work here; this module imports
none of them, so they can share it without importing each other.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from kcrash.lab.clock import SimClock

log = logging.getLogger(__name__)


@dataclass(eq=False, slots=True)
class Timer:
    """A scheduled callback; cancel() makes it a no-op."""

    when: float
    fn: Callable[[], None] | None = field(repr=False)

    def cancel(self) -> None:
        self.fn = None

    @property
    def active(self) -> bool:
        return self.fn is not None


class Scheduler:
    """One heap of timers on simulated time, run by a single task that sleeps until the next one.

    While a timer runs, `now()` is the time it was due (virtual time), so the world can be
    pre-played quickly and every timestamp is exactly when the thing happened. Outside timers
    (an API request changing the store), `now()` is the clock.
    """

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._virtual: float | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self.processed = 0
        self.errors: list[Exception] = []  # timers that raised (tests assert there are none)

    def wall(self) -> float:
        """The clock's simulated now, as POSIX seconds."""
        return self.clock.now().timestamp()

    def now(self) -> float:
        return self._virtual if self._virtual is not None else self.wall()

    def at(self, when: float, fn: Callable[[], None]) -> Timer:
        timer = Timer(when, fn)
        with self._lock:
            wake = not self._heap or when < self._heap[0][0]
            heapq.heappush(self._heap, (when, next(self._seq), timer))
        if wake:
            self._poke()
        return timer

    def after(self, delay: float, fn: Callable[[], None]) -> Timer:
        return self.at(self.now() + max(0.0, delay), fn)

    def soon(self, fn: Callable[[], None]) -> Timer:
        return self.at(self.now(), fn)

    def pending(self) -> int:
        return len(self._heap)

    def next_due(self) -> float | None:
        with self._lock:
            return self._heap[0][0] if self._heap else None

    def run_due(self, until: float, limit: int | None = None) -> int:
        """Run timers due at or before `until`, in order, each at its own virtual time."""
        done = 0
        while limit is None or done < limit:
            with self._lock:
                if not self._heap or self._heap[0][0] > until:
                    break
                when, _, timer = heapq.heappop(self._heap)
            fn = timer.fn
            if fn is None:
                continue
            timer.fn = None
            previous = self._virtual
            self._virtual = max(when, previous or when)
            try:
                fn()
            except Exception as exc:  # one broken timer must not stop the whole world
                self.errors.append(exc)
                log.exception("lab timer failed")
            finally:
                self._virtual = previous
            done += 1
        self.processed += done
        return done

    async def run(self) -> None:
        """The live loop: run what is due, then sleep until the next timer (or a wake-up)."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._wake = asyncio.Event()
        while True:
            if self.run_due(self.wall(), limit=500) >= 500:
                await asyncio.sleep(0)  # a burst: let the server answer in between
                continue
            due = self.next_due()
            # Capped so a clock.advance() jump is noticed without anyone poking the loop.
            timeout = 1.0 if due is None else min(1.0, self.clock.real_seconds(due - self.wall()))
            self._wake.clear()
            alarm = self._loop.call_later(max(timeout, 0.001), self._wake.set)
            try:
                await self._wake.wait()
            finally:
                alarm.cancel()

    def _poke(self) -> None:
        if self._wake is None or self._loop is None:
            return
        if threading.get_ident() == self._thread:
            self._wake.set()
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)
