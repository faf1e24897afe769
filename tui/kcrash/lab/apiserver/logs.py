"""The pods/log endpoint: PodLogOptions (tail, since, limitBytes, timestamps, previous), the
container to read and the kubelet's words when there is none, and `follow` streams.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from kcrash.lab import errors, tables
from kcrash.lab.apiserver.base import ServerBase
from kcrash.lab.apiserver.requests import Query, Target
from kcrash.lab.store import Obj


class LogsMixin(ServerBase):
    """The log subresource of pods."""

    async def _logs(self, request: web.Request, target: Target, query: Query) -> web.StreamResponse:
        request_ = LogRequest.from_query(query, self.clock.now(), target.name)
        pod = self.store.get("pods", target.namespace, target.name)
        if pod is None:
            raise errors.not_found("pods", "", target.name)
        container = _log_container(pod, query.text("container"))
        previous = query.flag("previous")
        lines = self.logs.read(target.namespace, target.name, container, previous)
        if lines is None:
            raise errors.bad_request(_no_log_message(pod, container, previous))
        partial = self.logs.partial_last_line(target.namespace, target.name, container, previous)
        if (
            not request_.follow
            or previous
            or self.logs.instance_ended(target.namespace, target.name, container)
        ):
            body = request_.render(lines, partial)
            return web.Response(body=body, headers={"Content-Type": "text/plain"})
        follow = LogFollow(self, request, pod, container, request_)
        follow.subscribe()  # same tick as read(): no line can fall between the two
        return await follow.run(lines)


@dataclass(frozen=True, slots=True)
class LogRequest:
    """The pods/log query: which lines, how they look, and whether to keep following."""

    tail: int | None
    limit_bytes: int | None
    since: datetime | None
    timestamps: bool
    follow: bool

    @classmethod
    def from_query(cls, query: Query, now: datetime, pod: str = "") -> LogRequest:
        """The options of a log request, validated as ValidatePodLogOptions does (before the pod is read)."""
        tail, limit, since_seconds = (query.integer(k) for k in ("tailLines", "limitBytes", "sinceSeconds"))
        causes: list[tuple[str, str]] = []
        if tail is not None and tail < 0:
            causes.append(("tailLines", f"Invalid value: {tail}: must be greater than or equal to 0"))
        if limit is not None and limit < 1:
            causes.append(("limitBytes", f"Invalid value: {limit}: must be greater than 0"))
        if since_seconds is not None and query.text("sinceTime"):
            causes.append(("", "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"))
        elif since_seconds is not None and since_seconds < 1:
            causes.append(("sinceSeconds", f"Invalid value: {since_seconds}: must be greater than 0"))
        if causes:
            raise errors.invalid("PodLogOptions", "", pod, causes)
        since: datetime | None = None
        if since_seconds is not None:
            since = now - timedelta(seconds=since_seconds)
        elif query.text("sinceTime"):
            since = tables.parse_time(query.text("sinceTime"))
            if since is None:
                raise errors.bad_request(f'parsing time "{query.text("sinceTime")}" as RFC3339: invalid')
        return cls(tail, limit, since, query.flag("timestamps"), query.flag("follow"))

    def select(self, lines: list[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
        chosen = [line for line in lines if self.since is None or _aware(line[0]) >= self.since]
        if self.tail is not None and self.tail >= 0:
            chosen = chosen[len(chosen) - self.tail :] if self.tail else []
        return chosen

    def line(self, moment: datetime, text: str, newline: bool = True) -> bytes:
        prefix = _log_timestamp(moment) + " " if self.timestamps else ""
        return (prefix + text + ("\n" if newline else "")).encode("utf-8", errors="replace")

    def render(self, lines: list[tuple[datetime, str]], partial: bool = False) -> bytes:
        """The selected lines; a `partial` instance's last line was cut off and gets no newline."""
        chosen = self.select(lines)
        last = len(chosen) - 1
        data = b"".join(
            self.line(moment, text, newline=not (partial and i == last))
            for i, (moment, text) in enumerate(chosen)
        )
        return data[: self.limit_bytes] if self.limit_bytes is not None else data


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _log_timestamp(moment: datetime) -> str:
    """The kubelet's RFC3339Nano with a fixed nine-digit fraction."""
    utc = _aware(moment).astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}000Z"


def _log_container(pod: Obj, requested: str) -> str:
    spec = pod.get("spec") or {}
    name = pod.get("metadata", {}).get("name", "")
    containers = [str(c.get("name", "")) for c in spec.get("containers") or []]
    others = [
        c.get("name", "") for key in ("initContainers", "ephemeralContainers") for c in spec.get(key) or []
    ]
    if not requested:
        if len(containers) == 1:
            return containers[0]
        message = (
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
        )
        inits = [c.get("name", "") for c in spec.get("initContainers") or []]
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        raise errors.bad_request(message)
    if requested not in containers and requested not in others:
        raise errors.bad_request(f"container {requested} is not valid for pod {name}")
    return requested


_PULL_WORDS = {
    "ErrImagePull": "image can't be pulled",
    "ImagePullBackOff": "trying and failing to pull image",
}


def _no_log_message(pod: Obj, container: str, previous: bool) -> str:
    """The kubelet's words when there is no log to show (validateContainerLogStatus)."""
    name = pod.get("metadata", {}).get("name", "")
    if previous:
        return f'previous terminated container "{container}" in pod "{name}" not found'
    status = _container_status(pod, container) or {}
    subject = f'container "{container}" in pod "{name}"'
    if (status.get("state") or {}).get("terminated") or (status.get("lastState") or {}).get("terminated"):
        return f"{subject} is terminated"
    waiting = (status.get("state") or {}).get("waiting")
    if not waiting:
        return f"{subject} is waiting to start - no logs yet"
    reason = waiting.get("reason", "")
    return f"{subject} is waiting to start: {_PULL_WORDS.get(reason, reason)}"


def _container_status(pod: Obj, container: str) -> Obj | None:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(key) or []:
            if entry.get("name") == container:
                return dict(entry)
    return None


class LogFollow:
    """A `follow=true` log stream: the lines so far, then new ones until the instance ends.

    Each line goes out with its newline as soon as it is written (kubectl prints a line once its
    newline arrives); only the last line of an instance cut off mid-write (an OOM kill) has none.
    """

    def __init__(
        self, server: ServerBase, request: web.Request, pod: Obj, container: str, spec: LogRequest
    ) -> None:
        self.server = server
        self.request = request
        self.namespace = pod["metadata"].get("namespace", "")
        self.pod = pod["metadata"]["name"]
        self.uid = pod["metadata"].get("uid")
        self.container = container
        self.spec = spec
        self.pending: deque[tuple[datetime, str, bool]] = deque()
        self.wake = asyncio.Event()
        self.ended = False
        self.overflowed = False
        self.written = 0
        self._unsubscribe: Callable[[], None] | None = None

    def subscribe(self) -> None:
        self._unsubscribe = self.server.logs.subscribe(
            self.namespace, self.pod, self.container, self._line, on_end=self._end
        )

    def _line(self, moment: datetime, text: str, complete: bool) -> None:
        if len(self.pending) >= self.server.options.follow_queue_size:
            self.overflowed = True
        else:
            self.pending.append((moment, text, complete))
        self.wake.set()

    def _end(self) -> None:
        self.ended = True
        self.wake.set()

    async def run(self, lines: list[tuple[datetime, str]]) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        self.server._follows.add(self.wake)
        try:
            await response.prepare(self.request)
            if await self._write(response, self.spec.render(lines)):
                await self._follow(response)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await response.write_eof()
        except ConnectionError:
            pass  # the client went away; nothing to finish
        finally:
            self.server._follows.discard(self.wake)
            if self._unsubscribe is not None:
                self._unsubscribe()
        return response

    async def _follow(self, response: web.StreamResponse) -> None:
        closing = self.server._closing
        while not closing.is_set() and not self.overflowed:
            if self.pending:
                if not await self._write(response, self._render_pending()):
                    return
                continue
            if self._finished():
                return
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=0.5)
            transport = self.request.transport
            if transport is None or transport.is_closing():
                return

    def _render_pending(self) -> bytes:
        taken = list(self.pending)
        self.pending.clear()
        return b"".join(self.spec.line(moment, text, newline=complete) for moment, text, complete in taken)

    def _finished(self) -> bool:
        if self.ended:
            return True
        current = self.server.store.get("pods", self.namespace, self.pod)
        if current is None or current["metadata"].get("uid") != self.uid:
            return True
        return self.server.logs.instance_ended(self.namespace, self.pod, self.container)

    async def _write(self, response: web.StreamResponse, data: bytes) -> bool:
        """Write within limitBytes; False once the limit is reached."""
        limit = self.spec.limit_bytes
        if limit is not None:
            data = data[: max(0, limit - self.written)]
        if data:
            await response.write(data)
            self.written += len(data)
        return limit is None or self.written < limit
