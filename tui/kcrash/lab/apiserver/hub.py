"""The watch hub: one Store watcher per resource, fanned out to a bounded inbox per open watch.

A stream whose client cannot keep up overflows its inbox and is closed, like the apiserver closes
unresponsive watchers. `translate` is what a selector-filtered watcher sees of a change.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kcrash.lab.store import Change, Obj, Store


@dataclass(frozen=True, slots=True)
class HubEvent:
    type: str
    obj: Obj
    prev: Obj | None
    rv: int


@dataclass(eq=False)
class Subscription:
    """One open watch stream's bounded inbox."""

    resource: str
    accepts: Callable[[Obj], bool]
    capacity: int
    start_rv: int = 0
    closed: bool = False
    overflowed: bool = False
    inbox: deque[tuple[str, Obj, int, bool]] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, event: HubEvent) -> None:
        if self.closed or event.rv <= self.start_rv:
            return
        translated = translate(event, self.accepts)
        if translated is None:
            return
        if len(self.inbox) >= self.capacity:
            self.overflowed = True
            self.close()
            return
        self.inbox.append(translated)
        self.wake.set()

    def close(self) -> None:
        self.closed = True
        self.wake.set()


def translate(event: HubEvent, accepts: Callable[[Obj], bool]) -> tuple[str, Obj, int, bool] | None:
    """What a selector-filtered watcher sees: (type, object, rv, cacheable).

    As in the apiserver's watch cache, an object that stops matching arrives as DELETED (carrying its
    previous content at the new resourceVersion) and one that starts matching arrives as ADDED.
    """
    if event.type in ("ADDED", "DELETED"):
        return (event.type, event.obj, event.rv, True) if accepts(event.obj) else None
    now_matches = accepts(event.obj)
    was_matching = event.prev is not None and accepts(event.prev)
    if now_matches:
        return ("MODIFIED" if was_matching else "ADDED", event.obj, event.rv, True)
    if was_matching and event.prev is not None:
        gone = {
            **event.prev,
            "metadata": {**event.prev.get("metadata", {}), "resourceVersion": str(event.rv)},
        }
        return ("DELETED", gone, event.rv, False)
    return None


class WatchHub:
    """One Store watcher per resource, fanning out to the open watch streams.

    Store callbacks run on whichever thread changed the store (inside the store lock). The hub
    records the previous version of the object right there, and delivers to subscribers on the lab
    loop (directly when already on it, else via call_soon_threadsafe, which keeps the order).
    """

    def __init__(self, store: Store, resources: Iterable[str]) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._subs: dict[str, set[Subscription]] = {}
        self._last: dict[str, dict[tuple[str, str], Obj]] = {}
        self._recent: dict[str, deque[HubEvent]] = {}
        # As long as the Store's own history: older changes cannot be replayed anyway.
        self._history = store.history_size
        self.dispatched_rv = store.resource_version
        for resource in resources:
            store.add_watcher(resource, self._on_change)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def _on_change(self, change: Change) -> None:
        meta = change.obj.get("metadata", {})
        key = (meta.get("namespace", ""), meta.get("name", ""))
        last = self._last.setdefault(change.resource, {})
        prev = last.get(key)
        if change.type == "DELETED":
            last.pop(key, None)
        else:
            last[key] = change.obj
        event = HubEvent(change.type, change.obj, prev, change.rv)
        recent = self._recent.get(change.resource)
        if recent is None:
            recent = self._recent[change.resource] = deque(maxlen=self._history)
        recent.append(event)
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            self._fan_out(change.resource, event)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._fan_out, change.resource, event)

    def on_loop(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the lab loop: now if already there (or no loop yet), else soon."""
        loop = self._loop
        if loop is None or threading.get_ident() == self._loop_thread:
            fn()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(fn)

    def _fan_out(self, resource: str, event: HubEvent) -> None:
        if event.rv > self.dispatched_rv:
            self.dispatched_rv = event.rv
        subs = self._subs.get(resource)
        if subs:
            for sub in list(subs):
                sub.offer(event)

    def subscribe(self, sub: Subscription) -> None:
        self._subs.setdefault(sub.resource, set()).add(sub)

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.get(sub.resource, set()).discard(sub)

    def previous_versions(self, resource: str, after_rv: int) -> dict[int, Obj | None]:
        """rv -> the object's version before that change, for history replays (call under store.lock)."""
        return {e.rv: e.prev for e in self._recent.get(resource, ()) if e.rv > after_rv}

    def open_streams(self) -> int:
        return sum(len(s) for s in self._subs.values())

    def close_all(self) -> None:
        for subs in self._subs.values():
            for sub in list(subs):
                sub.close()
