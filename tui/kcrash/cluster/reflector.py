"""LIST then WATCH, the way client-go's reflector does it, for one resource.

The official client's `watch.Watch` is not used: it sets no bookmarks, retries a 410 once with the
same resourceVersion and then raises, has no backoff, and drops a final line without a newline. Here:

- LIST (paged with limit/continue), then WATCH from the list's resourceVersion with
  `allowWatchBookmarks=true` and a random `timeoutSeconds` (300-600 s like client-go);
- the stream is read line by line and each line parsed with orjson;
- a 410 (an ERROR event inside a 200 stream, or an HTTP 410) means relist: the full new list goes to
  `on_resync` and the consumer diffs it with what it holds, so deletions made while away show up;
- a dropped connection resumes from the last resourceVersion seen (events and bookmarks) after a
  capped exponential backoff with jitter (0.8 s doubling to 30 s, reset after 2 min healthy); a watch
  that ends in under a second with no events counts as a failure; while the server does not
  answer at all, a cheap probe (GET /version every 0.5 s) ends the wait as soon as it does, and
  `retry_now()` (new credentials, the user's `r`) ends it at once;
- events are coalesced: what arrives within ~30 ms reaches `on_events` as one batch, in order.

Callbacks run on the reflector's dispatcher thread, never on the reading thread.
"""

from __future__ import annotations

import gc
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

import orjson

from kcrash.cluster.errors import TRANSPORT_ERRORS, KcrashError, from_transport_error

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
log = logging.getLogger(__name__)

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"
READ_CHUNK = 64 * 1024
MAX_LINE = 64 * 1024 * 1024  # one watch event larger than this is not a pod

FREEZE_FROM = 2000
"""Objects in a full list from which everything alive after it is frozen out of the cyclic garbage
collector's reach (`gc.freeze`): records hold no cycles and live until their object changes, and
otherwise every full collection walks all of them, a pause of a tenth of a second or more per
20,000 pods. Below this a collection is quick, and freezing is not worth making garbage immortal."""

PROBE_EVERY = 0.5
"""Seconds between cheap probes (GET /version) while the server is unreachable."""

Phase = Literal["connecting", "synced", "relisting", "reconnecting", "stopped"]


class PageLike(Protocol[T_co]):
    """What a list function returns: api.Page has exactly these."""

    @property
    def items(self) -> tuple[T_co, ...]: ...
    @property
    def resource_version(self) -> str: ...
    @property
    def continue_token(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SyncState:
    """How fresh the reflector's view is. `since` is when it stopped being live (None while live)."""

    phase: Phase
    since: datetime | None = None
    last_error: str = ""
    resource_version: str = ""
    failures: int = 0  # consecutive failed attempts
    retry_in: float = 0.0  # seconds until the next attempt, while reconnecting

    @property
    def live(self) -> bool:
        return self.phase == "synced"

    @property
    def stale(self) -> bool:
        return self.since is not None

    def summary(self, now: datetime) -> str:
        """One line for a status bar: "live", "reconnecting (stale for 42s): connection refused"."""
        if self.phase == "synced":
            return "live"
        if self.phase == "stopped":
            return "stopped"
        text = {"connecting": "connecting", "relisting": "re-listing", "reconnecting": "reconnecting"}[
            self.phase
        ]
        if self.since is not None:
            text += f" (stale for {max(0, int((now - self.since).total_seconds()))}s)"
        return f"{text}: {self.last_error}" if self.last_error else text


@dataclass(frozen=True, slots=True)
class WatchEvent(Generic[T]):
    """One decoded watch line. BOOKMARK carries only a resourceVersion, ERROR a Status code/message."""

    type: str
    obj: T | None
    resource_version: str
    code: int = 0
    message: str = ""


class WatchStreamError(Exception):
    """The stream carried something that is not a watch event."""


class WatchStream(Generic[T]):
    """A WATCH response read line by line; `close()` from any thread ends a blocked read."""

    def __init__(
        self,
        response: Any,
        parse: Callable[[Mapping[str, Any]], T],
        fast: Callable[[bytes], tuple[str, T, str] | None] | None = None,
    ) -> None:
        """`fast`, when given, decodes an object event's line to (type, record, resourceVersion)
        straight from bytes; it returns None for anything it leaves to `parse` over orjson."""
        self._response = response
        self._parse = parse
        self._fast = fast
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[WatchEvent[T]]:
        for line in self.lines():
            yield self.decode(line)

    def lines(self) -> Iterator[bytes]:
        """Complete lines; a last line without a newline is still a line (the client drops it)."""
        buffer = b""
        while not self._closed.is_set():
            chunk = self._read()
            if not chunk:
                break
            buffer += chunk
            if b"\n" in buffer:
                *complete, buffer = buffer.split(b"\n")
                for line in complete:
                    if line.strip():
                        yield line
            if len(buffer) > MAX_LINE:
                raise WatchStreamError(f"a watch event exceeded {MAX_LINE} bytes")
        if buffer.strip() and not self._closed.is_set():
            yield buffer

    def decode(self, line: bytes) -> WatchEvent[T]:
        if self._fast is not None:
            decoded = self._fast(line)
            if decoded is not None:
                return WatchEvent(*decoded)
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise WatchStreamError(f"undecodable watch line ({exc})") from None
        if not isinstance(doc, dict):
            raise WatchStreamError("a watch line that is not an object")
        kind = str(doc.get("type") or "")
        raw = doc.get("object")
        obj: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
        meta = obj.get("metadata")
        rv = str(meta.get("resourceVersion") or "") if isinstance(meta, dict) else ""
        if kind == ERROR:
            code = obj.get("code")
            return WatchEvent(
                ERROR,
                None,
                "",
                code=code if isinstance(code, int) else 0,
                message=str(obj.get("message") or ""),
            )
        if kind == BOOKMARK:
            return WatchEvent(BOOKMARK, None, rv)
        if kind not in (ADDED, MODIFIED, DELETED):
            raise WatchStreamError(f"unknown watch event type {kind!r}")
        return WatchEvent(kind, self._parse(obj), rv)

    def _read(self) -> bytes:
        reader = getattr(self._response, "read1", None)
        try:
            data = reader(READ_CHUNK) if reader is not None else self._response.read(READ_CHUNK)
        except Exception:
            if self._closed.is_set():
                return b""  # closed under our feet by close(): the end, not an error
            raise
        return bytes(data or b"")

    def close(self) -> None:
        """Stop reading: shut the socket so a read blocked in another thread returns at once."""
        if self._closed.is_set():
            return
        self._closed.set()
        response = self._response
        try:
            response.shutdown()
        except Exception:  # older urllib3, already released, or never connected
            log.debug("watch response could not be shut down", exc_info=True)
        try:
            response.close()
            response.release_conn()
        except Exception:
            log.debug("watch response could not be closed", exc_info=True)


class _GcPause:
    """Hold the cyclic GC off while a list of records is built (re-entrant across threads).

    Decoding 500 pods creates ~100k containers that all survive; the collector's generations
    fill up again and again and each full collection walks everything kept so far (measured:
    10,000 pods parse in ~1.6 s without collections, ~3.6 s with). Records hold no cycles, so
    pausing it loses nothing; it runs again as soon as the last holder lets go.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._restore = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._holders == 0:
                self._restore = gc.isenabled()
                gc.disable()
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0 and self._restore:
                    gc.enable()


gc_paused = _GcPause()


class Backoff:
    """client-go's watch backoff: 0.8 s doubling to a 30 s cap, with jitter, reset after 2 min calm."""

    def __init__(
        self,
        initial: float = 0.8,
        cap: float = 30.0,
        reset_after: float = 120.0,
        jitter: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.initial = initial
        self.cap = cap
        self.reset_after = reset_after
        self.jitter = jitter
        self._clock = clock
        self._rng = rng or random.Random()
        self._current = 0.0
        self._last_failure: float | None = None

    def next_delay(self) -> float:
        """The wait before the next attempt after a failure now."""
        now = self._clock()
        calm = self._last_failure is None or now - self._last_failure > self.reset_after
        self._current = self.initial if calm or not self._current else min(self.cap, self._current * 2)
        self._last_failure = now
        return min(self.cap, self._current * (1 + self._rng.random() * self.jitter))

    def reset(self) -> None:
        self._current = 0.0
        self._last_failure = None


class _Relist(Exception):
    """The server said our resourceVersion is too old (410): list again."""


class _Stop:
    pass


_STOP = _Stop()
_Item = tuple[str, Any]  # ("event", (kind, obj)) | ("resync", list) | ("state", SyncState)


class Reflector(Generic[T]):
    """Keeps a consumer in step with one resource: an initial list, then watch events, forever."""

    def __init__(
        self,
        list_fn: Callable[[str], PageLike[T]],
        watch_fn: Callable[[str, int], WatchStream[T]],
        *,
        key: Callable[[T], Hashable],
        version: Callable[[T], str],
        on_events: Callable[[list[tuple[str, T]]], None],
        on_resync: Callable[[list[T]], None],
        on_state: Callable[[SyncState], None] = lambda state: None,
        name: str = "pods",
        watch_timeout: tuple[int, int] = (300, 600),
        backoff: Backoff | None = None,
        coalesce: float = 0.03,
        min_watch: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        probe: Callable[[], bool] | None = None,
    ) -> None:
        """`probe`, when given, tells cheaply whether the server answers again: while the server
        is unreachable it is asked every `PROBE_EVERY` seconds, and the back-off ends when it does."""
        self._probe = probe
        self._list_fn = list_fn
        self._watch_fn = watch_fn
        self._key = key
        self._version = version
        self._on_events = on_events
        self._on_resync = on_resync
        self._on_state = on_state
        self.name = name
        self._watch_timeout = watch_timeout
        self._backoff = backoff or Backoff(clock=clock)
        self._coalesce = coalesce
        self._min_watch = min_watch
        self._clock = clock
        self._wall = wall
        self._cache: dict[Hashable, T] = {}
        self._rv = ""
        self._state = SyncState("connecting", since=None)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._stream_lock = threading.Lock()
        self._stream: WatchStream[T] | None = None
        self._queue: queue.Queue[_Item | _Stop] = queue.Queue()
        self._reader: threading.Thread | None = None
        self._dispatcher: threading.Thread | None = None
        self.lists = 0  # how many LISTs (initial + relists) completed: tests and diagnostics
        self.watches = 0  # how many WATCH requests were opened
        self.callback_error = ""

    # -- public ------------------------------------------------------------------------------------
    @property
    def state(self) -> SyncState:
        return self._state

    @property
    def resource_version(self) -> str:
        return self._rv

    def snapshot(self) -> list[T]:
        """The reflector's own view (what the consumer should hold once callbacks have run)."""
        return list(self._cache.values())

    def start(self) -> None:
        if self._reader is not None:
            return
        self._dispatcher = threading.Thread(
            target=self._dispatch, name=f"kcrash-{self.name}-dispatch", daemon=True
        )
        self._reader = threading.Thread(target=self._run, name=f"kcrash-{self.name}-reflector", daemon=True)
        self._dispatcher.start()
        self._reader.start()

    def retry_now(self) -> None:
        """Cut the back-off wait short (new credentials, or the user asked): try again at once."""
        self._wake.set()

    def stop(self, timeout: float = 2.0) -> None:
        """End both threads promptly: close the open stream, wake any backoff wait."""
        self._stopping.set()
        self._wake.set()
        with self._stream_lock:
            stream = self._stream
        if stream is not None:
            stream.close()
        if self._reader is not None:
            self._reader.join(timeout)
        self._queue.put(_STOP)
        if self._dispatcher is not None:
            self._dispatcher.join(timeout)
        self._state = replace(self._state, phase="stopped", retry_in=0.0)

    # -- the reading thread ------------------------------------------------------------------------
    def _run(self) -> None:
        need_list = True
        while not self._stopping.is_set():
            try:
                if need_list:
                    self._relist()
                    need_list = False
                self._watch_once()
            except _Relist as relist:
                need_list = True
                self._set_state("relisting", str(relist) or "resourceVersion expired (410)", stale=True)
            except KcrashError as exc:
                if exc.status == 410:
                    need_list = True
                    self._set_state("relisting", str(exc), stale=True)
                    continue
                self._fail(str(exc), unreachable=exc.status == 0)
            except WatchStreamError as exc:
                self._fail(str(exc))
            except TRANSPORT_ERRORS as exc:
                self._fail(str(from_transport_error(exc, f"watch {self.name}")), unreachable=True)
            except Exception as exc:  # never let the thread die: report, back off, try again
                log.debug("reflector loop failed", exc_info=True)
                self._fail(f"{type(exc).__name__}: {exc}")
        self._close_stream()

    def _relist(self) -> None:
        with gc_paused():
            items, rv = self._list_all()
            if len(items) >= FREEZE_FROM:
                gc.freeze()
        if self._stopping.is_set():
            return
        self._cache = {self._key(item): item for item in items}
        self._rv = rv
        self.lists += 1
        self._queue.put(("resync", items))
        self._set_state("synced", "", stale=False)

    def _list_all(self) -> tuple[list[T], str]:
        """Follow continue tokens; an expired token (410) restarts the list once from scratch."""
        for attempt in (1, 2):
            items: list[T] = []
            rv = ""
            token = ""
            try:
                while True:
                    page = self._list_fn(token)
                    rv = rv or page.resource_version
                    items.extend(page.items)
                    token = page.continue_token
                    if not token or self._stopping.is_set():
                        return items, rv
            except KcrashError as exc:
                if exc.status != 410 or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _watch_once(self) -> None:
        low, high = self._watch_timeout
        stream = self._watch_fn(self._rv, random.randint(low, high) if high > low else low)
        with self._stream_lock:
            if self._stopping.is_set():
                stream.close()
                return
            self._stream = stream
        self.watches += 1
        if self._state.phase != "synced":
            self._set_state("synced", "", stale=False)
        opened = self._clock()
        received = 0
        try:
            for event in stream:
                if self._stopping.is_set():
                    return
                received += 1
                self._handle(event)
        finally:
            self._close_stream()
        if self._stopping.is_set():
            return
        if received == 0 and self._clock() - opened < self._min_watch:
            raise KcrashError(f"the {self.name} watch ended at once with no events")

    def _handle(self, event: WatchEvent[T]) -> None:
        if event.type == ERROR:
            if event.code == 410:
                raise _Relist(event.message or "resourceVersion expired (410)")
            raise KcrashError(
                f"the {self.name} watch failed: {event.message or 'error event'}", status=event.code
            )
        if event.resource_version:
            self._rv = event.resource_version
        if event.type == BOOKMARK or event.obj is None:
            return
        obj = event.obj
        key = self._key(obj)
        known = self._cache.get(key)
        if event.type == DELETED:
            if known is None:
                return
            del self._cache[key]
            self._queue.put(("event", (DELETED, obj)))
            return
        if known is not None and self._version(known) == self._version(obj):
            return  # already seen this exact version
        self._cache[key] = obj
        self._queue.put(("event", (ADDED if known is None else MODIFIED, obj)))

    def _fail(self, message: str, *, unreachable: bool = False) -> None:
        delay = self._backoff.next_delay()
        failures = self._state.failures + 1
        self._set_state("reconnecting", message, stale=True, failures=failures, retry_in=delay)
        if unreachable and self._probe is not None:
            self._wait_for_server(delay, self._probe)
        else:
            self._wake.wait(delay)
        self._wake.clear()

    def _wait_for_server(self, delay: float, probe: Callable[[], bool]) -> None:
        """Back off, but end the wait as soon as the server answers again: after an outage the
        view is live within a probe's interval, not within a back-off grown to 30 s."""
        until = self._clock() + delay
        while not self._wake.is_set():
            left = until - self._clock()
            if left <= 0 or self._wake.wait(min(PROBE_EVERY, left)):
                return
            try:
                if probe():
                    return
            except Exception:  # a probe that fails is a server that does not answer yet
                log.debug("probe failed", exc_info=True)

    def _set_state(
        self, phase: Phase, error: str, *, stale: bool, failures: int = 0, retry_in: float = 0.0
    ) -> None:
        since = (self._state.since or self._wall()) if stale else None
        if phase == "synced" and self._state.phase != "synced":
            # Healthy again; the backoff resets itself after two calm minutes.
            failures = 0
        self._state = SyncState(
            phase=phase,
            since=since,
            last_error=error,
            resource_version=self._rv,
            failures=failures,
            retry_in=retry_in,
        )
        self._queue.put(("state", self._state))

    def _close_stream(self) -> None:
        with self._stream_lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    # -- the dispatching thread --------------------------------------------------------------------
    def _dispatch(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, _Stop):
                return
            pending = [item]
            deadline = self._clock() + self._coalesce
            stop = False
            while True:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    break
                try:
                    more = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if isinstance(more, _Stop):
                    stop = True
                    break
                pending.append(more)
            self._deliver(pending)
            if stop:
                return

    def _deliver(self, items: list[_Item]) -> None:
        """Consecutive events as one batch; resyncs and states in their place in the order."""
        batch: list[tuple[str, T]] = []
        for kind, payload in items:
            if kind == "event":
                batch.append(payload)
                continue
            if batch:
                self._safely(self._on_events, batch)
                batch = []
            if self._stopping.is_set():
                return
            self._safely(self._on_resync if kind == "resync" else self._on_state, payload)
        if batch and not self._stopping.is_set():
            self._safely(self._on_events, batch)

    def _safely(self, callback: Callable[[Any], None], payload: Any) -> None:
        # A failing consumer must not stop the stream for everyone; remember what went wrong.
        try:
            callback(payload)
        except Exception as exc:
            self.callback_error = f"{type(exc).__name__}: {exc}"
            log.debug("reflector callback failed", exc_info=True)
