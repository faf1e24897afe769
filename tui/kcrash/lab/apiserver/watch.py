"""One watch response (`WatchStream`): initial events or a replay from a resourceVersion, then live
events from the hub, bookmarks, and a clean end at the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from aiohttp import web

from kcrash.lab import errors, tables
from kcrash.lab.apiserver.encoding import dumps, with_type
from kcrash.lab.apiserver.hub import HubEvent, Subscription, translate
from kcrash.lab.apiserver.lists import ListsMixin
from kcrash.lab.apiserver.requests import JSON, Query, Target, negotiate, validate_list_options
from kcrash.lab.errors import ApiError
from kcrash.lab.store import Expired, Obj

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
DEFAULT_WATCH_SECONDS = 1800.0  # kube-apiserver's --min-request-timeout


class WatchStream:
    """One `?watch=1` response: initial events, then live events, bookmarks, and a clean end."""

    def __init__(self, server: ListsMixin, request: web.Request, target: Target, query: Query) -> None:
        self.server = server
        self.request = request
        self.target = target
        self.query = query
        self.info = target.info
        self.shape = negotiate(request.headers.get("Accept", ""))
        self.bookmarks = query.flag("allowWatchBookmarks")
        self.initial_events = query.flag("sendInitialEvents")
        self.sent_headers = False
        timeout = query.integer("timeoutSeconds")
        self.deadline = time.monotonic() + (timeout if timeout and timeout > 0 else DEFAULT_WATCH_SECONDS)
        self.response = web.StreamResponse(
            status=200, headers={"Content-Type": JSON, "Cache-Control": "no-cache, private"}
        )

    def _validate(self) -> None:
        validate_list_options(self.query, watch=True)

    async def run(self) -> web.StreamResponse:
        self._validate()
        accepts = self.server._matcher(self.target, self.query)
        server = self.server
        sub = Subscription(self.info.store, accepts, server.options.watch_queue_size)
        forced_410 = server.faults.take_forced_410()
        with server.store.lock:
            server.hub.subscribe(sub)
            first = self._initial(sub, accepts) if not forced_410 else []
        try:
            self.response.enable_chunked_encoding()
            await self.response.prepare(self.request)
            if forced_410:
                rv = server.store.resource_version
                await self._send([self._error(errors.too_old_resource_version(max(0, rv - 1), rv))])
            else:
                await self._send(first)
                await self._pump(sub)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.response.write_eof()
        except ConnectionError:
            pass  # the client went away; nothing to finish
        finally:
            server.hub.unsubscribe(sub)
        return self.response

    def _initial(self, sub: Subscription, accepts: Callable[[Obj], bool]) -> list[bytes]:
        """Events before the live ones; runs under the store lock right after subscribing."""
        store = self.server.store
        requested = self.query.text("resourceVersion")
        if requested in ("", "0") or self.initial_events:
            items, rv = store.list(self.info.store, self.target.namespace or None)
            sub.start_rv = rv
            events = [self._event("ADDED", o, True) for o in items if accepts(o)]
            if self.initial_events and self.bookmarks:  # the end marker is a bookmark: only if asked for
                events.append(self._bookmark(rv, initial_end=True))
            return events
        try:
            since = int(requested)
        except ValueError:
            return [self._error(errors.bad_request(f"invalid resource version: {requested}"))]
        try:
            changes = store.changes_since(self.info.store, since)
        except Expired as exc:
            sub.close()
            return [self._error(errors.too_old_resource_version(exc.requested, exc.oldest))]
        previous = self.server.hub.previous_versions(self.info.store, since)
        sub.start_rv = max(since, store.resource_version)
        events = []
        for change in changes:
            translated = translate(
                HubEvent(change.type, change.obj, previous.get(change.rv), change.rv), accepts
            )
            if translated is not None:
                events.append(self._event(translated[0], translated[1], translated[3]))
        return events

    async def _pump(self, sub: Subscription) -> None:
        interval = self.server.options.bookmark_interval
        next_bookmark = time.monotonic() + interval
        closing = self.server._closing
        while not sub.closed and not closing.is_set():
            now = time.monotonic()
            if now >= self.deadline:
                return
            if not sub.inbox:
                if self.bookmarks and now >= next_bookmark:
                    rv = max(sub.start_rv, self.server.hub.dispatched_rv)
                    await self._send([self._bookmark(rv)])
                    next_bookmark = now + interval
                    continue
                wait = min(self.deadline - now, 1.0, next_bookmark - now if self.bookmarks else 1.0)
                sub.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sub.wake.wait(), timeout=max(wait, 0.01))
                if self._client_gone():
                    return
                continue
            batch = [self._event(kind, obj, cacheable) for kind, obj, _, cacheable in self._drain(sub)]
            if sub.closed:
                return
            await self._send(batch)

    def _drain(self, sub: Subscription) -> list[tuple[str, Obj, int, bool]]:
        taken = list(sub.inbox)
        sub.inbox.clear()
        return taken

    def _client_gone(self) -> bool:
        transport = self.request.transport
        return transport is None or transport.is_closing()

    async def _send(self, chunks: list[bytes]) -> None:
        if chunks:
            await self.response.write(b"".join(chunks))

    def _event(self, kind: str, obj: Obj, cacheable: bool) -> bytes:
        resource = self.info.store
        if self.shape == "table":
            include = self.query.text("includeObject", "Metadata")
            meta = {"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")}
            body = tables.table(
                resource,
                [with_type(resource, obj)],
                self.server.clock.now(),
                include_object=include,
                list_meta=meta,
                headers=not self.sent_headers,
            )
            self.sent_headers = True
            encoded = dumps(body)
        elif self.shape == "partial":
            encoded = dumps(tables.partial_metadata(obj))
        else:
            encoded = self.server.encoder.encode(resource, obj, cache=cacheable)
        return b'{"type":"' + kind.encode() + b'","object":' + encoded + b"}\n"

    def _bookmark(self, rv: int, initial_end: bool = False) -> bytes:
        meta: Obj = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        obj = {"kind": self.info.kind, "apiVersion": self.info.api_version, "metadata": meta}
        return b'{"type":"BOOKMARK","object":' + dumps(obj) + b"}\n"

    def _error(self, error: ApiError) -> bytes:
        return b'{"type":"ERROR","object":' + dumps(error.status()) + b"}\n"
