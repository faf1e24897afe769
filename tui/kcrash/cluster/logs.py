"""Container logs, always bounded, read as raw bytes and made safe for a terminal.

The client's own log call decodes strictly and raises on invalid UTF-8; here the bytes are read
raw (`_preload_content=False`), decoded with errors="replace" and sanitized. The kubelet applies
`tailLines` first and then cuts at `limitBytes` from the START of that tail, which would drop the
dying words at the end; a cut read is therefore retried with fewer lines until it fits.
"""

from __future__ import annotations

import codecs
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kcrash.cluster.api import Api
from kcrash.cluster.errors import TRANSPORT_ERRORS, KcrashError
from kcrash.cluster.parse import parse_time
from kcrash.core.records import Pod
from kcrash.core.sanitize import clean

log = logging.getLogger(__name__)

DEFAULT_TAIL = 200
DEFAULT_LIMIT = 256 * 1024
FOLLOW_CHUNK = 64 * 1024  # the most one follow chunk may hold
_SHRINK = 4
_MIN_TAIL = 10


@dataclass(frozen=True, slots=True)
class LogResult:
    """A log excerpt (sanitized) or the reason there is none."""

    text: str
    error: str = ""
    truncated: bool = False  # fewer lines than asked: the tail did not fit in the byte limit
    tail_lines: int | None = None  # the tail actually read
    unread: bool = False  # the read failed (throttled, a server error, refused): not "there is none"


def read_log(
    api: Api,
    pod: Pod,
    container: str,
    previous: bool,
    tail_lines: int | None = DEFAULT_TAIL,
    limit_bytes: int = DEFAULT_LIMIT,
    *,
    since_seconds: int | None = None,
    timestamps: bool = False,
) -> LogResult:
    """The last lines of a container's log (or of its previous instance); failures come back as text.

    `tail_lines` None reads from the start (`limit_bytes` still bounds it); `since_seconds` keeps
    the lines of the last so many seconds; `timestamps` puts the kubelet's time before each line."""
    tail = tail_lines
    while True:
        try:
            raw = api.pod_log(
                pod,
                container,
                previous=previous,
                tail_lines=tail,
                limit_bytes=limit_bytes,
                since_seconds=since_seconds,
                timestamps=timestamps,
            )
        except KcrashError as exc:
            error = friendly_log_error(exc, pod, container, previous)
            return LogResult("", error=error, unread=exc.status not in (400, 404))
        cut = len(raw) >= limit_bytes
        if tail is None or tail_lines is None:
            return LogResult(_decode(raw), truncated=cut, tail_lines=None)
        if not cut or tail <= _MIN_TAIL:
            return LogResult(_decode(raw), truncated=cut or tail < tail_lines, tail_lines=tail)
        tail = max(_MIN_TAIL, tail // _SHRINK)


def friendly_log_error(exc: KcrashError, pod: Pod, container: str, previous: bool) -> str:
    """One line that says why there is no log, in the words an on-call engineer expects."""
    text = str(exc)
    if exc.status == 400 and "previous terminated container" in text:
        return (
            f'no previous log: container "{container}" has no terminated instance to read '
            "(it has not restarted yet, or the kubelet already removed it)"
        )
    if exc.status == 400 and "is not valid for pod" in text:
        return f'pod {pod.name} has no container "{container}"'
    if exc.status == 400:
        # "container "web" in pod "p" is waiting to start: ContainerCreating" and the like.
        return text.split("failed: ", 1)[-1]
    if exc.status == 404:
        return f"pod {pod.namespace}/{pod.name} no longer exists"
    return text


def _decode(raw: bytes) -> str:
    return clean(raw.decode("utf-8", errors="replace"))


class LogFollower:
    """`logs -f` as an iterator of bounded, sanitized chunks of whole lines.

    `close()` may be called from any thread: it shuts the socket, so a read blocked in the thread
    that iterates returns at once and the iteration ends.
    """

    def __init__(
        self, api: Api, pod: Pod, container: str, tail_lines: int = 0, timestamps: bool = False
    ) -> None:
        self._closed = threading.Event()
        self._response: Any = api.open_log_follow(pod, container, tail_lines, timestamps)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._done = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        while not self._done:
            chunk = self._take_lines()
            if chunk:
                return chunk
            data = self._read()
            if not data:
                self._done = True
                self._pending += self._decoder.decode(b"", final=True)
                break
            self._pending += self._decoder.decode(data)
        if self._pending and not self._closed.is_set():
            rest, self._pending = self._pending, ""
            return clean(rest)
        self.close()
        raise StopIteration

    def _take_lines(self) -> str:
        """Whole lines from the buffer, at most FOLLOW_CHUNK; a huge line without end is cut."""
        if len(self._pending) >= FOLLOW_CHUNK:
            head, self._pending = self._pending[:FOLLOW_CHUNK], self._pending[FOLLOW_CHUNK:]
            return clean(head)
        end = self._pending.rfind("\n")
        if end < 0:
            return ""
        head, self._pending = self._pending[: end + 1], self._pending[end + 1 :]
        return clean(head)

    def _read(self) -> bytes:
        if self._closed.is_set():
            return b""
        try:
            return bytes(self._response.read1(FOLLOW_CHUNK) or b"")
        except TRANSPORT_ERRORS:
            log.debug("log follow stream ended with an error", exc_info=True)
            return b""
        except Exception:
            if self._closed.is_set():
                return b""  # closed under our feet by close() from another thread: the end
            raise

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            self._response.shutdown()
        except Exception:
            log.debug("log follow response could not be shut down", exc_info=True)
        try:
            self._response.close()
            self._response.release_conn()
        except Exception:
            log.debug("log follow response could not be closed", exc_info=True)


# The kubelet's time before each line (`timestamps=true`): RFC3339Nano, then one space.
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ")
_STAMP_SLACK = timedelta(seconds=1)  # startedAt and finishedAt are kept to the second


def unstamped_within(text: str, started: datetime | None, finished: datetime | None) -> str | None:
    """The log read with `timestamps`, without them; None when a line was written outside the
    instance's run (the kubelet answered with another instance's log). Lines without a stamp (a
    line cut by `limitBytes`) are kept and not judged."""
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        match = _STAMP.match(line)
        if match is None:
            lines.append(line)
            continue
        at = parse_time(match.group(1))
        if at is not None and (
            (started is not None and at < started - _STAMP_SLACK)
            or (finished is not None and at > finished + _STAMP_SLACK)
        ):
            return None
        lines.append(line[match.end() :])
    return "".join(lines)
