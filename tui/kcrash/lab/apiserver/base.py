"""What every part of the API server shares: its collaborators, options and caches
(`ServerBase`), the log source it reads, and the small services all verbs use (answering JSON,
looking an object up).

`ApiServer` (dispatch.py) combines this base with the lists, writes, deletes, logs, access review
and endpoint parts.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from aiohttp import web

from kcrash.lab import discovery, errors
from kcrash.lab.apiserver.encoding import Encoder
from kcrash.lab.apiserver.hub import WatchHub
from kcrash.lab.apiserver.proxy import ServiceTarget
from kcrash.lab.apiserver.requests import JSON, Target
from kcrash.lab.apiserver.snapshots import SnapshotCache
from kcrash.lab.clock import SimClock
from kcrash.lab.faults import Faults
from kcrash.lab.store import Obj, Store

USER = "kcrash-lab"
COMPRESS_ABOVE = 128 * 1024  # kube-apiserver's threshold for gzip


class LogSource(Protocol):
    """What the server needs from the simulated container logs (lab/logs.py's LogBook)."""

    def read(
        self, namespace: str, pod: str, container: str, previous: bool
    ) -> list[tuple[datetime, str]] | None: ...

    def subscribe(
        self,
        namespace: str,
        pod: str,
        container: str,
        callback: Callable[[datetime, str, bool], None],
        on_end: Callable[[], None] | None = None,
    ) -> Callable[[], None]: ...

    def instance_ended(self, namespace: str, pod: str, container: str) -> bool: ...

    def partial_last_line(self, namespace: str, pod: str, container: str, previous: bool) -> bool: ...


@dataclass(frozen=True, slots=True)
class ServerOptions:
    bookmark_interval: float = 1.0
    watch_queue_size: int = 1024
    follow_queue_size: int = 10_000
    snapshot_cache: int = 32
    encoded_cache_bytes: int = 96 * 1024 * 1024


class ServerBase:
    """The API server's state and the services every part of it uses."""

    def __init__(
        self,
        store: Store,
        clock: SimClock,
        logs: LogSource,
        faults: Faults,
        token: str,
        *,
        live: Callable[[], bool],
        options: ServerOptions | None = None,
        allow_anonymous: bool = False,
    ) -> None:
        self.allow_anonymous = allow_anonymous
        self.store = store
        self.clock = clock
        self.logs = logs
        self.faults = faults
        self.token = token
        self.live = live
        self.options = options or ServerOptions()
        self.encoder = Encoder(self.options.encoded_cache_bytes)
        self.snapshots = SnapshotCache(self.options.snapshot_cache)
        self.hub = WatchHub(store, discovery.stored_resources())
        self.address = "127.0.0.1"
        self.metrics_text: Callable[[], str] | None = None
        """`/metrics`: the simulated containers' cAdvisor and kube-state-metrics series (None: 404)."""
        self.services: list[ServiceTarget] = []
        """Services whose proxy forwards to a loopback address (`--prometheus-target`)."""
        self._closing = asyncio.Event()
        self._follows: set[asyncio.Event] = set()
        self._names = random.Random()  # generateName suffixes

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind to the loop that serves; must be called on that loop's thread."""
        self._closing = asyncio.Event()
        self.hub.attach(loop)

    def close_streams(self) -> None:
        """End every watch and log follow (shutdown)."""
        self._closing.set()
        self.hub.close_all()
        for wake in list(self._follows):
            wake.set()

    def _drop_watches_threadsafe(self) -> None:
        self.hub.on_loop(self.hub.close_all)

    def _json_body(self, body: bytes, status: int = 200, content_type: str = JSON) -> web.Response:
        response = web.Response(body=body, status=status, headers={"Content-Type": content_type})
        if len(body) > COMPRESS_ABOVE:
            # Like the apiserver: gzip big replies when the client accepts it (Go clients do). The
            # compression runs in a worker thread, and the smaller write competes less with the
            # simulation for the loop.
            response.enable_compression()
        return response

    def _lookup(self, target: Target) -> Obj:
        info = target.info
        obj = self.store.get(info.store, target.namespace, target.name)
        if obj is None:
            raise errors.not_found(info.name, info.group, target.name)
        return obj
