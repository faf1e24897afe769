"""The lab's Kubernetes API server: the HTTP protocol over the Store, spoken well enough for kubectl.

One catch-all aiohttp route parses the URL the way kube-apiserver lays it out
(`/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}`, `/apis/{group}/{version}/...`), then:
authentication (bearer token), fault injection, authorization (the Faults deny rules), and the verb.

Watches fan out from one Store watcher per resource (`WatchHub`) into a bounded queue per stream; a
stream whose client cannot keep up is closed, like the apiserver closes unresponsive watchers. Each
object version is serialized once (`Encoder`) and reused by every list and watch that sends it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import copy
import itertools
import random
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson
from aiohttp import web

from kcrash.lab import admission, discovery, errors, openapi, tables
from kcrash.lab.clock import SimClock, rfc3339
from kcrash.lab.discovery import ResourceInfo
from kcrash.lab.errors import ApiError
from kcrash.lab.faults import Faults
from kcrash.lab.patch import apply_patch
from kcrash.lab.proxy import ServiceTarget, find_target, forward, parse_proxy_path
from kcrash.lab.selectors import FieldSelector, LabelSelector, SelectorError, selector_from_label_selector
from kcrash.lab.store import Change, Conflict, Expired, NotFound, Store

Obj = dict[str, Any]

USER = "kcrash-lab"
VERSION = {
    "major": "1",
    "minor": "34",
    "gitVersion": "v1.34.0+kcrash-lab",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.24.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
# kube-apiserver answers a Table or PartialObjectMetadata request with a plain JSON media type: the
# body's kind says what it is; the `as=` parameters of the Accept header are not echoed.
TABLE_CONTENT_TYPE = "application/json"
PARTIAL_CONTENT_TYPE = "application/json"
JSON = "application/json"
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
DEFAULT_WATCH_SECONDS = 1800.0  # kube-apiserver's --min-request-timeout
OPEN_PATHS = ("/healthz", "/livez", "/readyz", "/version")
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


# -- serialization -----------------------------------------------------------------------------


class Encoder:
    """orjson bytes per object version, oldest dropped past a size bound; adds kind/apiVersion if missing.

    Stored objects never change once recorded (the Store copies before changing), so the version's
    resourceVersion identifies its bytes.
    """

    def __init__(self, max_bytes: int = 96 * 1024 * 1024) -> None:
        self._cache: OrderedDict[tuple[str, str, str, str], bytes] = OrderedDict()
        self._max_bytes = max_bytes
        self._bytes = 0

    def encode(self, resource: str, obj: Obj, cache: bool = True, typed: bool = True) -> bytes:
        """`typed=False` for a list's items, which a real apiserver sends without kind and apiVersion."""
        meta = obj.get("metadata") or {}
        rv = meta.get("resourceVersion")
        key = (resource, meta.get("namespace", ""), meta.get("name", ""), f"{rv}{'' if typed else '/item'}")
        if cache and rv:
            found = self._cache.get(key)
            if found is not None:
                return found
        data = orjson.dumps(with_type(resource, obj) if typed else without_type(obj))
        if cache and rv:
            self._cache[key] = data
            self._bytes += len(data)
            while self._bytes > self._max_bytes and self._cache:
                self._bytes -= len(self._cache.popitem(last=False)[1])
        return data


def with_type(resource: str, obj: Obj) -> Obj:
    if "kind" in obj and "apiVersion" in obj:
        return obj
    info = discovery.by_store(resource)
    if info is None:
        return obj
    return {"kind": info.kind, "apiVersion": info.api_version, **obj}


def without_type(obj: Obj) -> Obj:
    if "kind" not in obj and "apiVersion" not in obj:
        return obj
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


# -- watch fan-out -----------------------------------------------------------------------------


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


# -- list snapshots and continue tokens --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    rv: int
    items: list[Obj]


class SnapshotCache:
    """Filtered lists kept briefly so `continue` pages come from one consistent snapshot."""

    def __init__(self, size: int) -> None:
        self._entries: OrderedDict[int, Snapshot] = OrderedDict()
        self._size = size
        self._ids = itertools.count(1)

    def put(self, snapshot: Snapshot) -> int:
        ident = next(self._ids)
        self._entries[ident] = snapshot
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return ident

    def get(self, ident: int) -> Snapshot | None:
        return self._entries.get(ident)


def encode_continue(ident: int, rv: int, offset: int, start: str) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00", "id": ident, "offset": offset}
    return base64.urlsafe_b64encode(dumps(token)).decode().rstrip("=")


def decode_continue(text: str) -> tuple[int, int, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        token = orjson.loads(raw)
        return int(token["id"]), int(token["rv"]), int(token["offset"])
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise errors.bad_request(
            "invalid continue token: continue key is not valid: incorrect encoded start resourceVersion"
        ) from exc


CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue token in this response to retrieve the "
    "remainder of the results. Continuing with the provided token results in an inconsistent list - objects "
    "that were created, modified, or deleted between the time the first chunk was returned and now may show "
    "up in the list."
)


# -- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed resource URL."""

    info: ResourceInfo
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    legacy_watch: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    params: Any  # a MultiDictProxy; only .get is used

    def text(self, key: str, default: str = "") -> str:
        value = self.params.get(key)
        return default if value is None else str(value)

    def flag(self, key: str) -> bool:
        return self.text(key).lower() in ("true", "1")

    def has(self, key: str) -> bool:
        return self.params.get(key) is not None

    def integer(self, key: str) -> int | None:
        value = self.params.get(key)
        if value in (None, ""):
            return None
        try:
            return int(value)
        except ValueError as exc:
            raise errors.bad_request(f'strconv.ParseInt: parsing "{value}": invalid syntax') from exc


def _object_key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace", ""), meta.get("name", "")


def validate_list_options(query: Query, watch: bool) -> None:
    """ListOptions validation as the apiserver runs it (meta/internalversion/validation), same words."""
    version = query.text("resourceVersion")
    if version and not version.isdigit():
        raise errors.bad_request(
            f'invalid resource version: resourceVersion: Invalid value: "{version}": '
            f'strconv.ParseUint: parsing "{version}": invalid syntax'
        )
    match = query.text("resourceVersionMatch")
    causes = _watch_option_causes(query, match) if watch else _list_option_causes(query, match, version)
    if causes:
        raise errors.invalid("ListOptions", "meta.k8s.io", "", causes)


def _list_option_causes(query: Query, match: str, version: str) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    if match:
        if not version:
            causes.append(("resourceVersionMatch", f"Forbidden: {_MATCH_NEEDS_VERSION}"))
        if query.text("continue"):
            causes.append(("resourceVersionMatch", f"Forbidden: {_MATCH_WITH_CONTINUE}"))
        if match not in ("Exact", "NotOlderThan"):
            causes.append(("resourceVersionMatch", _unsupported(match, '"Exact", "NotOlderThan", ""')))
        if match == "Exact" and version == "0":
            causes.append(
                (
                    "resourceVersionMatch",
                    'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                )
            )
    if query.has("sendInitialEvents"):
        causes.append(("sendInitialEvents", "Forbidden: sendInitialEvents is forbidden for list"))
    return causes


def _watch_option_causes(query: Query, match: str) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    initial = query.has("sendInitialEvents")
    if initial and match != "NotOlderThan":
        causes.append(
            (
                "resourceVersionMatch",
                "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            )
        )
    if match:
        if not initial:
            causes.append(("resourceVersionMatch", f"Forbidden: {_MATCH_NEEDS_INITIAL_EVENTS}"))
        if match != "NotOlderThan":
            causes.append(("resourceVersionMatch", _unsupported(match, '"NotOlderThan"')))
        if query.text("continue"):
            causes.append(("resourceVersionMatch", f"Forbidden: {_MATCH_WITH_CONTINUE}"))
    return causes


_MATCH_NEEDS_VERSION = "resourceVersionMatch is forbidden unless resourceVersion is provided"
_MATCH_WITH_CONTINUE = "resourceVersionMatch is forbidden when continue is provided"
_MATCH_NEEDS_INITIAL_EVENTS = (
    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
)


def _unsupported(value: str, supported: str) -> str:
    return f'Unsupported value: "{value}": supported values: {supported}'


def negotiate(accept: str) -> str:
    """The representation to answer with: "json", "table" or "partial" (406 when none fits)."""
    if not accept.strip():
        return "json"
    for part in accept.split(","):
        media, params = _media(part)
        if media not in ("application/json", "*/*", "application/*"):
            continue
        shape = params.get("as")
        if shape is None:
            return "json"
        if shape == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            return "table"
        if (
            shape in ("PartialObjectMetadata", "PartialObjectMetadataList")
            and params.get("g") == "meta.k8s.io"
        ):
            return "partial"
    raise errors.not_acceptable("application/json, application/yaml, application/vnd.kubernetes.protobuf")


def wants_aggregated_discovery(accept: str) -> bool:
    for part in accept.split(","):
        media, params = _media(part)
        if media != "application/json":
            continue
        if params.get("as") is None:
            return False
        if (params.get("g"), params.get("v"), params.get("as")) == (
            "apidiscovery.k8s.io",
            "v2",
            "APIGroupDiscoveryList",
        ):
            return True
    return False


def _media(part: str) -> tuple[str, dict[str, str]]:
    media, *rest = part.split(";")
    params = {}
    for item in rest:
        key, sep, value = item.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip()
    return media.strip().lower(), params


def parse_target(path: str) -> tuple[str, str, list[str]] | None:
    """Split `/api/v1/...` or `/apis/g/v/...` into (group, version, rest); None if neither."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1], parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    return None


def resolve(group: str, version: str, rest: list[str]) -> Target:
    """Map the path after the group version to a resource, namespace, name and subresource."""
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    if len(rest) >= 3 and rest[0] == "namespaces":
        info = discovery.find(group, version, rest[2])
        if info is None or not info.namespaced or len(rest) > 5:
            raise errors.page_not_found()
        target = Target(info, rest[1], rest[3] if len(rest) > 3 else "", rest[4] if len(rest) > 4 else "")
    elif 1 <= len(rest) <= 3:
        info = discovery.find(group, version, rest[0])
        if info is None or (info.namespaced and len(rest) > 1):
            raise errors.page_not_found()
        target = Target(info, "", rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else "")
    else:
        raise errors.page_not_found()
    if target.subresource and target.info.subresource(target.subresource) is None:
        raise errors.page_not_found()
    return Target(target.info, target.namespace, target.name, target.subresource, legacy_watch)


def verb_of(method: str, target: Target, query: Query) -> str:
    watching = target.legacy_watch or query.flag("watch")
    if method == "GET":
        if watching:
            return "watch"
        return "get" if target.name else "list"
    verbs = {"POST": "create", "PATCH": "patch", "PUT": "update"}
    if method == "DELETE":
        return "delete" if target.name else "deletecollection"
    return verbs.get(method, method.lower())


# -- the server ----------------------------------------------------------------------------------


class ApiServer:
    """The aiohttp application serving the Store."""

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
        self.app = web.Application(client_max_size=4 * 1024 * 1024)
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        faults.on_drop_watches(self._drop_watches_threadsafe)

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

    # -- dispatch ------------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.faults.record(
            request.method,
            request.path,
            request.query_string,
            request.headers.get("Content-Type", ""),
            request.headers.get("Accept", ""),
        )
        started = time.monotonic()
        latency = self.faults.latency_ms
        if latency > 0:
            await asyncio.sleep(latency / 1000.0)
        try:
            response = await self._route(request)
        except ApiError as error:
            response = self._status(error)
        agent = request.headers.get("User-Agent", "")
        elapsed = time.monotonic() - started
        self.faults.answered(
            request.method, request.path, request.query_string, response.status, agent, elapsed
        )
        return response

    def _status(self, error: ApiError) -> web.Response:
        headers = {"Content-Type": JSON, **error.headers}
        return web.Response(body=dumps(error.status()), status=error.code, headers=headers)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path in OPEN_PATHS or path.startswith(("/healthz/", "/livez/", "/readyz/")):
            return self._open_endpoint(path)
        self._authenticate(request)
        if path == "/metrics" and request.method == "GET" and self.metrics_text is not None:
            return web.Response(text=self.metrics_text(), content_type="text/plain", charset="utf-8")
        proxied = parse_proxy_path(request.path)
        if proxied is not None:
            if self.faults.is_denied("get", "services", "proxy"):
                raise errors.forbidden(USER, "get", "services", "", proxied.namespace, proxied.name, "proxy")
            return await forward(find_target(self.services, proxied), request, proxied.rest)
        if request.method == "GET":
            document = self._discovery(path, request.headers.get("Accept", ""))
            if document is not None:
                return document
        parsed = parse_target(path)
        if parsed is None or not discovery.serves_group_version(parsed[0], parsed[1]):
            raise errors.page_not_found()
        target = resolve(*parsed)
        query = Query(request.query)
        verb = verb_of(request.method, target, query)
        self._check_verb(target, verb)
        self._authorize(target, verb)
        self._inject_fault()
        return await self._serve(request, target, verb, query)

    def _open_endpoint(self, path: str) -> web.Response:
        if path == "/version":
            return web.Response(body=dumps(VERSION), headers={"Content-Type": JSON})
        return web.Response(text="ok", content_type="text/plain")

    def _authenticate(self, request: web.Request) -> None:
        """A wrong or malformed credential is 401; no credential at all is 401 too, unless allowed.

        kubectl (client-go's clientcmd) never sends a token over plain http, so a lab served over
        http takes credential-less requests as the lab user (`allow_anonymous`); over https it does not.
        """
        header = request.headers.get("Authorization", "").strip()
        if not header:
            if self.allow_anonymous:
                return
            raise errors.unauthorized()
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or credential.strip() != self.token:
            raise errors.unauthorized()

    def _discovery(self, path: str, accept: str) -> web.Response | None:
        if path.startswith(openapi.PREFIX):
            spec = openapi.document(path)
            return self._json_body(dumps(spec)) if spec is not None else None
        aggregated = wants_aggregated_discovery(accept)
        if path == "/api":
            if aggregated:
                return self._aggregated(discovery.aggregated_core())
            return self._json_body(dumps(discovery.api_versions(self.address)))
        if path == "/apis":
            if aggregated:
                return self._aggregated(discovery.aggregated_groups())
            return self._json_body(dumps(discovery.api_group_list()))
        parts = [p for p in path.split("/") if p]
        if parts == ["api", "v1"]:
            return self._json_body(dumps(discovery.api_resource_list("", "v1")))
        if len(parts) == 2 and parts[0] == "apis":
            group = discovery.api_group(parts[1])
            return self._json_body(dumps(group)) if group else None
        if len(parts) == 3 and parts[0] == "apis" and discovery.serves_group_version(parts[1], parts[2]):
            return self._json_body(dumps(discovery.api_resource_list(parts[1], parts[2])))
        return None

    def _aggregated(self, document: Obj) -> web.Response:
        headers = {"Content-Type": discovery.AGGREGATED_V2, "Vary": "Accept"}
        return web.Response(body=dumps(document), headers=headers)

    def _check_verb(self, target: Target, verb: str) -> None:
        if target.subresource:
            sub = target.info.subresource(target.subresource)
            if sub is None or verb not in sub.verbs:
                raise errors.method_not_allowed()
            return
        if not target.info.allows(verb):
            raise errors.method_not_allowed()

    def _authorize(self, target: Target, verb: str) -> None:
        info = target.info
        if self.faults.is_denied(verb, info.name, target.subresource, info.group):
            raise errors.forbidden(
                USER, verb, info.name, info.group, target.namespace, target.name, target.subresource
            )

    def _inject_fault(self) -> None:
        picked = self.faults.pick_error()
        if picked is None:
            return
        status, retry_after = picked
        if status == 429:
            raise errors.too_many_requests(retry_after)
        if status == 503:
            raise errors.service_unavailable("the server is currently unable to handle the request")
        raise errors.internal("injected fault")

    async def _serve(
        self, request: web.Request, target: Target, verb: str, query: Query
    ) -> web.StreamResponse:
        if verb == "watch":
            return await self._watch(request, target, query)
        if verb == "list":
            return self._list(request, target, query)
        if target.subresource == "log":
            return await self._logs(request, target, query)
        if target.subresource == "scale":
            return await self._scale(request, target, verb)
        if verb == "get":
            return self._get(request, target)
        if verb == "delete":
            return await self._delete(request, target, query)
        if verb == "patch":
            return await self._patch(request, target, query)
        if verb == "create" and target.info.name == "selfsubjectaccessreviews":
            return await self._access_review(request)
        if verb == "create" and not target.name:
            return await self._create(request, target)
        raise errors.method_not_allowed()

    def _json_body(self, body: bytes, status: int = 200, content_type: str = JSON) -> web.Response:
        response = web.Response(body=body, status=status, headers={"Content-Type": content_type})
        if len(body) > COMPRESS_ABOVE:
            # Like the apiserver: gzip big replies when the client accepts it (Go clients do). The
            # compression runs in a worker thread, and the smaller write competes less with the
            # simulation for the loop.
            response.enable_compression()
        return response

    # -- get / list ------------------------------------------------------------------------------
    def _lookup(self, target: Target) -> Obj:
        info = target.info
        obj = self.store.get(info.store, target.namespace, target.name)
        if obj is None:
            raise errors.not_found(info.name, info.group, target.name)
        return obj

    def _get(self, request: web.Request, target: Target) -> web.Response:
        shape = negotiate(request.headers.get("Accept", ""))
        obj = self._lookup(target)
        info = target.info
        if shape == "table":
            include = Query(request.query).text("includeObject", "Metadata")
            meta = {"resourceVersion": obj.get("metadata", {}).get("resourceVersion", "")}
            body = tables.table(
                info.store,
                [with_type(info.store, obj)],
                self.clock.now(),
                include_object=include,
                list_meta=meta,
            )
            return self._json_body(dumps(body), content_type=TABLE_CONTENT_TYPE)
        if shape == "partial":
            return self._json_body(dumps(tables.partial_metadata(obj)), content_type=PARTIAL_CONTENT_TYPE)
        return self._json_body(self.encoder.encode(info.store, obj))

    def _selectors(self, target: Target, query: Query) -> tuple[LabelSelector, FieldSelector]:
        try:
            labels = LabelSelector.parse(query.text("labelSelector"))
        except SelectorError as exc:  # the apiserver answers with the parser's own words, no prefix
            raise errors.bad_request(str(exc)) from exc
        try:
            fields = FieldSelector.parse(query.text("fieldSelector"))
            fields.check(target.info.store)
        except SelectorError as exc:
            raise errors.bad_request(str(exc)) from exc
        if target.name:
            fields = FieldSelector(
                (*fields.requirements, *FieldSelector.parse(f"metadata.name={target.name}").requirements)
            )
        return labels, fields

    def _matcher(self, target: Target, query: Query) -> Callable[[Obj], bool]:
        labels, fields = self._selectors(target, query)
        resource = target.info.store
        namespace = target.namespace
        if labels.empty and fields.empty and not namespace:
            return lambda obj: True

        def accepts(obj: Obj) -> bool:
            meta = obj.get("metadata") or {}
            if namespace and meta.get("namespace", "") != namespace:
                return False
            return labels.matches(meta.get("labels")) and fields.matches(resource, obj)

        return accepts

    def _snapshot(self, target: Target, query: Query) -> tuple[Snapshot, int, int | None]:
        """(snapshot, offset into it, snapshot id if cached) for this list request."""
        accepts = self._matcher(target, query)
        token = query.text("continue")
        if token:
            ident, rv, offset = decode_continue(token)
            snapshot = self.snapshots.get(ident)
            if snapshot is None:
                if rv != self.store.resource_version:
                    raise errors.expired(CONTINUE_EXPIRED)
                snapshot = self._fresh_snapshot(target, accepts)
            return snapshot, offset, ident
        exact = query.integer("resourceVersion") if query.text("resourceVersionMatch") == "Exact" else None
        return self._fresh_snapshot(target, accepts, exact), 0, None

    def _fresh_snapshot(
        self, target: Target, accepts: Callable[[Obj], bool], at: int | None = None
    ) -> Snapshot:
        """The list now, or as it was at resourceVersion `at` (resourceVersionMatch=Exact)."""
        with self.store.lock:
            items, rv = self.store.list(target.info.store, target.namespace or None)
            if at is not None and at != rv:
                items, rv = self._items_at(target.info.store, items, at, rv), at
        return Snapshot(rv, [o for o in items if accepts(o)])

    def _items_at(self, resource: str, items: list[Obj], at: int, now: int) -> list[Obj]:
        """Undo the changes made after `at` (as etcd answers from its history); 410 once it is gone."""
        if at > now:
            raise errors.too_large_resource_version(at, now)
        try:
            changes = self.store.changes_since(resource, at)
        except Expired as exc:
            raise errors.too_old_resource_version(exc.requested, exc.oldest) from exc
        previous = self.hub.previous_versions(resource, at)
        by_key = {_object_key(o): o for o in items}
        for change in reversed(changes):
            before = previous.get(change.rv)
            if change.type == "ADDED":
                by_key.pop(_object_key(change.obj), None)
            elif before is not None:
                by_key[_object_key(before)] = before
            else:  # the hub's shorter memory ends before the store's
                raise errors.too_old_resource_version(at, self.store.oldest_rv(resource))
        return sorted(by_key.values(), key=_object_key)

    def _list(self, request: web.Request, target: Target, query: Query) -> web.Response:
        validate_list_options(query, watch=False)
        shape = negotiate(request.headers.get("Accept", ""))
        snapshot, offset, ident = self._snapshot(target, query)
        # resourceVersion=0 (a reflector's first LIST, as client-go's informers send it) is served
        # whole from the apiserver's watch cache, which ignores `limit`: one reply, no continue token.
        limit = 0 if query.text("resourceVersion") == "0" else query.integer("limit") or 0
        end = offset + limit if limit > 0 else len(snapshot.items)
        page = snapshot.items[offset:end]
        meta: Obj = {"resourceVersion": str(snapshot.rv)}
        if end < len(snapshot.items):
            ident = ident if ident is not None else self.snapshots.put(snapshot)
            last = page[-1].get("metadata", {}) if page else {}
            start = f"{last.get('namespace', '')}/{last.get('name', '')}"
            meta["continue"] = encode_continue(ident, snapshot.rv, end, start)
            if not query.text("labelSelector") and not query.text("fieldSelector"):
                meta["remainingItemCount"] = len(snapshot.items) - end
        return self._list_response(target, shape, page, meta, query)

    def _list_response(
        self, target: Target, shape: str, page: list[Obj], meta: Obj, query: Query
    ) -> web.Response:
        info = target.info
        if shape == "table":
            objects = [with_type(info.store, o) for o in page]
            include = query.text("includeObject", "Metadata")
            body = tables.table(info.store, objects, self.clock.now(), include_object=include, list_meta=meta)
            return self._json_body(dumps(body), content_type=TABLE_CONTENT_TYPE)
        if shape == "partial":
            partial = {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
                "items": [tables.partial_metadata(o) for o in page],
            }
            return self._json_body(dumps(partial), content_type=PARTIAL_CONTENT_TYPE)
        head = dumps({"kind": info.list_kind, "apiVersion": info.api_version, "metadata": meta})
        parts = [head[:-1], b',"items":[']
        encode = self.encoder.encode
        for index, obj in enumerate(page):
            if index:
                parts.append(b",")
            parts.append(encode(info.store, obj, typed=False))
        parts.append(b"]}")
        return self._json_body(b"".join(parts))

    # -- watch -----------------------------------------------------------------------------------
    async def _watch(self, request: web.Request, target: Target, query: Query) -> web.StreamResponse:
        stream = WatchStream(self, request, target, query)
        return await stream.run()

    # -- delete ----------------------------------------------------------------------------------
    async def _delete(self, request: web.Request, target: Target, query: Query) -> web.Response:
        options = await self._delete_options(request, query)
        info = target.info
        current = self._lookup(target)
        self._check_preconditions(info, current, options)
        dry_run = _dry_run(options, "DeleteOptions")
        if info.store == "pods":
            result = self._delete_pod(current, options, dry_run)
            return self._json_body(self.encoder.encode("pods", result, cache=not dry_run))
        if not dry_run:
            self._delete_with_dependents(
                info.store, current, options.get("propagationPolicy") or "Background"
            )
        meta = current.get("metadata", {})
        details = {"name": meta.get("name", ""), "kind": info.name, "uid": meta.get("uid", "")}
        if info.group:  # the apiserver leaves an empty group out
            details["group"] = info.group
        return self._json_body(dumps(errors.success_status(details)))

    async def _delete_options(self, request: web.Request, query: Query) -> Obj:
        body = await request.read()
        options: Obj = {}
        if body.strip():
            try:
                options = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise errors.bad_request(f"error decoding DeleteOptions: {exc}") from exc
            if not isinstance(options, dict):
                raise errors.bad_request("DeleteOptions must be an object")
        grace = query.integer("gracePeriodSeconds")
        if grace is not None and "gracePeriodSeconds" not in options:
            options["gracePeriodSeconds"] = grace
        if query.text("propagationPolicy") and "propagationPolicy" not in options:
            options["propagationPolicy"] = query.text("propagationPolicy")
        dry = request.query.getall("dryRun", [])
        if dry and "dryRun" not in options:
            options["dryRun"] = list(dry)
        if query.flag("orphanDependents") and "propagationPolicy" not in options:
            options["propagationPolicy"] = "Orphan"
        _validate_delete_options(options)
        return options

    def _check_preconditions(self, info: ResourceInfo, current: Obj, options: Obj) -> None:
        preconditions = options.get("preconditions") or {}
        meta = current.get("metadata", {})
        wanted_uid = preconditions.get("uid")
        if wanted_uid is not None and wanted_uid != meta.get("uid"):
            raise errors.uid_precondition_failed(
                info.kind, info.group, meta.get("name", ""), wanted_uid, meta.get("uid", "")
            )
        wanted_rv = preconditions.get("resourceVersion")
        if wanted_rv is not None and str(wanted_rv) != meta.get("resourceVersion"):
            why = (
                f"the ResourceVersion in the precondition ({wanted_rv}) does not match the ResourceVersion "
                f"in record ({meta.get('resourceVersion')}). The object might have been modified"
            )
            raise errors.conflict(info.kind, info.group, meta.get("name", ""), why)

    def _delete_pod(self, pod: Obj, options: Obj, dry_run: bool) -> Obj:
        meta = pod.get("metadata", {})
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
        grace = max(0, int(grace))
        if self._graceful(pod, grace):
            existing = meta.get("deletionGracePeriodSeconds")
            if existing is not None and int(existing) <= grace:
                return pod
            return self._mark_terminating(pod, grace, dry_run)
        # Deleting at once still sets deletionTimestamp (grace 0) first, as the apiserver's graceful
        # path does; the answer and the DELETED event carry that last version.
        marked = self._mark_terminating(pod, 0, dry_run)
        if dry_run:
            return marked
        return self._remove(("pods", meta.get("namespace", ""), meta.get("name", "")), meta.get("uid"))

    def _graceful(self, pod: Obj, grace: int) -> bool:
        phase = (pod.get("status") or {}).get("phase")
        scheduled = bool((pod.get("spec") or {}).get("nodeName"))
        return grace > 0 and self.live() and scheduled and phase not in ("Succeeded", "Failed")

    def _mark_terminating(self, pod: Obj, grace: int, dry_run: bool) -> Obj:
        deadline = rfc3339(self.clock.now() + timedelta(seconds=grace))

        def mark(obj: Obj) -> None:
            meta = obj["metadata"]
            if "deletionTimestamp" not in meta and "generation" in meta:  # counted as a spec change
                meta["generation"] = int(meta["generation"]) + 1
            meta["deletionTimestamp"] = deadline
            meta["deletionGracePeriodSeconds"] = grace

        if dry_run:
            preview = copy.deepcopy(pod)
            mark(preview)
            return preview
        meta = pod["metadata"]
        try:
            return self.store.mutate("pods", meta.get("namespace", ""), meta["name"], mark)
        except NotFound as exc:
            raise errors.not_found("pods", "", meta["name"]) from exc

    def _remove(self, key: tuple[str, str, str], uid: str | None) -> Obj:
        resource, namespace, name = key
        info = discovery.by_store(resource)
        group = info.group if info else ""
        try:
            return self.store.delete(resource, namespace, name, uid=uid)
        except NotFound as exc:
            raise errors.not_found(info.name if info else resource, group, name) from exc
        except Conflict as exc:
            raise errors.conflict(info.name if info else resource, group, name, str(exc)) from exc

    def _delete_with_dependents(self, resource: str, owner: Obj, policy: str) -> None:
        """Delete an owner; its dependents go too (Background/Foreground) or lose the reference (Orphan)."""
        meta = owner.get("metadata", {})
        dependent_resource = {"deployments": "replicasets", "replicasets": "pods"}.get(resource)
        dependents = self._dependents(dependent_resource, meta) if dependent_resource else []
        self._remove((resource, meta.get("namespace", ""), meta.get("name", "")), meta.get("uid"))
        for dependent in dependents:
            self._release_or_delete(dependent_resource or "", dependent, meta.get("uid"), policy)

    def _dependents(self, resource: str, owner_meta: Obj) -> list[Obj]:
        items, _ = self.store.list(resource, owner_meta.get("namespace", ""))
        uid = owner_meta.get("uid")
        return [
            o for o in items if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])
        ]

    def _release_or_delete(self, resource: str, obj: Obj, owner_uid: Any, policy: str) -> None:
        meta = obj["metadata"]
        if policy == "Orphan":

            def release(fresh: Obj) -> None:
                refs = [
                    r for r in fresh["metadata"].get("ownerReferences") or [] if r.get("uid") != owner_uid
                ]
                fresh["metadata"]["ownerReferences"] = refs

            with contextlib.suppress(NotFound):
                self.store.mutate(resource, meta.get("namespace", ""), meta["name"], release)
            return
        with contextlib.suppress(ApiError):
            if resource == "pods":
                self._delete_pod(obj, {}, dry_run=False)
            else:
                self._delete_with_dependents(resource, obj, policy)

    # -- create ----------------------------------------------------------------------------------
    async def _create(self, request: web.Request, target: Target) -> web.Response:
        info = target.info
        dry_run = _dry_run({"dryRun": request.query.getall("dryRun", [])}, "CreateOptions")
        content_type = request.headers.get("Content-Type", "")
        body = admission.decode_body(content_type, await request.read(), info.kind)
        obj = admission.prepare_create(info, target.namespace, body, self._names)
        if info.store == "deployments":
            _validate_deployment(info, obj, obj)
        if info.namespaced and self.store.get("namespaces", "", target.namespace) is None:
            raise errors.not_found("namespaces", "", target.namespace)
        name = obj["metadata"]["name"]
        if self.store.get(info.store, target.namespace, name) is not None:
            raise errors.already_exists(info.name, info.group, name)
        if dry_run:
            obj["metadata"]["uid"] = str(uuid.uuid4())
            obj["metadata"]["creationTimestamp"] = rfc3339(self.clock.now())
            return self._json_body(self.encoder.encode(info.store, obj, cache=False), status=201)
        try:
            stored = self.store.create(info.store, obj)
        except Conflict as exc:
            raise errors.already_exists(info.name, info.group, name) from exc
        return self._json_body(self.encoder.encode(info.store, stored), status=201)

    # -- the scale subresource ---------------------------------------------------------------------
    async def _scale(self, request: web.Request, target: Target, verb: str) -> web.Response:
        info = target.info
        options = "PatchOptions" if verb == "patch" else "UpdateOptions"
        dry_run = verb != "get" and _dry_run({"dryRun": request.query.getall("dryRun", [])}, options)
        current = self._lookup(target)
        if verb == "get":
            return self._json_body(dumps(admission.scale_of(current)))
        body = await request.read()
        content_type = request.headers.get("Content-Type", "")
        if verb == "patch":
            wanted = apply_patch(content_type, admission.scale_of(current), body)
        else:
            wanted = admission.decode_body(content_type, body, "Scale")
            rv = (wanted.get("metadata") or {}).get("resourceVersion")
            if rv not in (None, "") and str(rv) != current["metadata"].get("resourceVersion"):
                raise errors.modified_conflict(info.name, info.group, target.name)
        patched = copy.deepcopy(current)
        patched["spec"]["replicas"] = admission.replicas_from_scale(info, target.name, wanted)
        result = self._admit_update(info, current, patched)
        if result != current and not dry_run:
            result = self.store.replace(info.store, result)
        return self._json_body(dumps(admission.scale_of(result)))

    # -- patch -----------------------------------------------------------------------------------
    async def _patch(self, request: web.Request, target: Target, query: Query) -> web.Response:
        info = target.info
        dry_run = _dry_run({"dryRun": request.query.getall("dryRun", [])}, "PatchOptions")
        current = self._lookup(target)
        body = await request.read()
        patched = apply_patch(request.headers.get("Content-Type", ""), current, body)
        result = self._admit_update(info, current, patched)
        if result == current:
            return self._json_body(self.encoder.encode(info.store, current))
        if dry_run:
            return self._json_body(self.encoder.encode(info.store, result, cache=False))
        try:
            stored = self.store.replace(info.store, result)
        except NotFound as exc:
            raise errors.not_found(info.name, info.group, target.name) from exc
        return self._json_body(self.encoder.encode(info.store, stored))

    def _admit_update(self, info: ResourceInfo, current: Obj, patched: Obj) -> Obj:
        """Validate a patched object and restore what a client may not change (like the registry does)."""
        old_meta, new_meta = current.get("metadata", {}), patched.get("metadata")
        if not isinstance(new_meta, dict):
            raise errors.invalid(
                info.kind,
                info.group,
                old_meta.get("name", ""),
                [("metadata", "Required value: metadata is required")],
            )
        if new_meta.get("name") != old_meta.get("name"):
            raise errors.bad_request(
                f"the name of the object ({new_meta.get('name')}) does not match the name on the URL "
                f"({old_meta.get('name')})"
            )
        if info.namespaced and new_meta.get("namespace", old_meta.get("namespace")) != old_meta.get(
            "namespace"
        ):
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        wanted_rv = new_meta.get("resourceVersion")
        if wanted_rv not in (None, "") and str(wanted_rv) != old_meta.get("resourceVersion"):
            raise errors.modified_conflict(info.name, info.group, old_meta.get("name", ""))
        for key in ("uid", "creationTimestamp", "namespace", "resourceVersion", "deletionTimestamp"):
            if key in old_meta:
                new_meta[key] = old_meta[key]
        patched["kind"], patched["apiVersion"] = info.kind, info.api_version
        if "status" in current:  # status has its own subresource; the main resource keeps it
            patched["status"] = current["status"]
        else:
            patched.pop("status", None)
        if info.store == "deployments":
            _validate_deployment(info, current, patched)
        if info.store == "pods":
            admission.check_pod_update(current, patched)
        if "generation" not in old_meta:
            new_meta.pop("generation", None)
        elif patched.get("spec") != current.get("spec"):
            new_meta["generation"] = int(old_meta.get("generation") or 1) + 1
        else:
            new_meta["generation"] = old_meta["generation"]
        if "kind" not in current:
            comparable = {k: v for k, v in patched.items() if k not in ("kind", "apiVersion")}
            return current if comparable == current else patched
        return patched

    # -- logs ------------------------------------------------------------------------------------
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

    # -- access review -----------------------------------------------------------------------------
    async def _access_review(self, request: web.Request) -> web.Response:
        spec = _access_review_spec(request.headers.get("Content-Type", JSON), await request.read())
        if not isinstance(spec, dict):
            raise errors.invalid(
                "SelfSubjectAccessReview",
                "authorization.k8s.io",
                "",
                [
                    (
                        "spec",
                        "Required value: exactly one of nonResourceAttributes or "
                        "resourceAttributes must be specified",
                    )
                ],
            )
        attributes = spec.get("resourceAttributes")
        allowed = True
        if isinstance(attributes, dict):
            allowed = not self.faults.is_denied(
                str(attributes.get("verb", "")),
                str(attributes.get("resource", "")),
                str(attributes.get("subresource", "")),
                str(attributes.get("group", "")),
            )
        status: Obj = {"allowed": allowed}
        if allowed:
            binding = f'ClusterRoleBinding "{USER}" of ClusterRole "cluster-admin"'
            status["reason"] = f'RBAC: allowed by {binding} to User "{USER}"'
        body = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }
        return self._json_body(dumps(body), status=201)


# -- SelfSubjectAccessReview bodies ----------------------------------------------------------------

PROTOBUF = "application/vnd.kubernetes.protobuf"
_RESOURCE_ATTRIBUTES = {
    1: "namespace",
    2: "verb",
    3: "group",
    4: "version",
    5: "resource",
    6: "subresource",
    7: "name",
}
_NON_RESOURCE_ATTRIBUTES = {1: "path", 2: "verb"}


def _access_review_spec(content_type: str, body: bytes) -> Any:
    """The review's spec from JSON, or from protobuf: kubectl's typed clients send that for `auth can-i`."""
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        if media == PROTOBUF:
            return _access_review_spec_from_protobuf(body)
        if media in (JSON, ""):
            review = orjson.loads(body)
            return review.get("spec") if isinstance(review, dict) else None
    except (orjson.JSONDecodeError, ValueError, IndexError, KeyError) as exc:
        raise errors.bad_request(f"error decoding SelfSubjectAccessReview: {exc}") from exc
    raise errors.unsupported_media_type(media, f"{JSON}, {PROTOBUF}")


def _access_review_spec_from_protobuf(body: bytes) -> Obj:
    """Decode just enough of the protobuf envelope (runtime.Unknown) and the review to read its spec."""
    if not body.startswith(b"k8s\x00"):
        raise ValueError("missing the protobuf envelope")
    envelope = _proto_fields(body[4:])
    review = _proto_fields(_proto_bytes(envelope, 2))
    spec_fields = _proto_fields(_proto_bytes(review, 2))
    spec: Obj = {}
    if 1 in spec_fields:
        spec["resourceAttributes"] = _proto_strings(_proto_bytes(spec_fields, 1), _RESOURCE_ATTRIBUTES)
    if 2 in spec_fields:
        spec["nonResourceAttributes"] = _proto_strings(_proto_bytes(spec_fields, 2), _NON_RESOURCE_ATTRIBUTES)
    return spec


def _proto_fields(data: bytes) -> dict[int, list[bytes | int]]:
    fields: dict[int, list[bytes | int]] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: bytes | int
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = data[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _proto_bytes(fields: dict[int, list[bytes | int]], number: int) -> bytes:
    value = fields.get(number, [b""])[0]
    if not isinstance(value, bytes):
        raise ValueError(f"protobuf field {number} is not a message")
    return value


def _proto_strings(data: bytes, names: dict[int, str]) -> dict[str, str]:
    fields = _proto_fields(data)
    return {name: _proto_bytes(fields, number).decode() for number, name in names.items() if number in fields}


def _dry_run(options: Obj, kind: str) -> bool:
    """Whether `dryRun=All` was asked; another value is refused the way `kind` (CreateOptions...) does."""
    values = options.get("dryRun") or []
    if isinstance(values, str):
        values = [values]
    if any(value != "All" for value in values):
        shown = "[" + ", ".join(f'"{value}"' for value in values) + "]"
        raise errors.invalid(
            kind, "meta.k8s.io", "", [("dryRun", f'Unsupported value: {shown}: supported values: "All"')]
        )
    return bool(values)


def _validate_delete_options(options: Obj) -> None:
    policy = options.get("propagationPolicy")
    if policy is not None and policy not in ("Orphan", "Background", "Foreground"):
        raise errors.invalid(
            "DeleteOptions",
            "meta.k8s.io",
            "",
            [
                (
                    "propagationPolicy",
                    f'Unsupported value: "{policy}": supported values: '
                    '"Foreground", "Background", "Orphan", "nil"',
                )
            ],
        )
    grace = options.get("gracePeriodSeconds")
    if grace is not None and not isinstance(grace, int):
        raise errors.bad_request("gracePeriodSeconds must be an integer")


def _validate_deployment(info: ResourceInfo, current: Obj, patched: Obj) -> None:
    name = patched["metadata"].get("name", "")
    causes: list[tuple[str, str]] = []
    raw_spec = patched.get("spec")
    spec: Obj = raw_spec if isinstance(raw_spec, dict) else {}
    replicas = spec.get("replicas", 1)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        causes.append(
            (
                "spec.replicas",
                f"Invalid value: {orjson.dumps(replicas).decode()}: must be greater than or equal to 0",
            )
        )
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers")
    if not isinstance(containers, list) or not containers:
        causes.append(("spec.template.spec.containers", "Required value"))
    else:
        for index, container in enumerate(containers):
            for key in ("name", "image"):
                if not isinstance(container, dict) or not container.get(key):
                    causes.append((f"spec.template.spec.containers[{index}].{key}", "Required value"))
    old_selector = (current.get("spec") or {}).get("selector")
    if spec.get("selector") != old_selector:
        causes.append(
            (
                "spec.selector",
                f"Invalid value: {orjson.dumps(spec.get('selector')).decode()}: field is immutable",
            )
        )
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selector_from_label_selector(spec.get("selector")).matches(labels):
        causes.append(
            (
                "spec.template.metadata.labels",
                f"Invalid value: {orjson.dumps(labels).decode()}: "
                "`selector` does not match template `labels`",
            )
        )
    if causes:
        raise errors.invalid(info.kind, info.group, name, causes)


# -- watch streams ---------------------------------------------------------------------------------


class WatchStream:
    """One `?watch=1` response: initial events, then live events, bookmarks, and a clean end."""

    def __init__(self, server: ApiServer, request: web.Request, target: Target, query: Query) -> None:
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


# -- logs ----------------------------------------------------------------------------------------


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
        self, server: ApiServer, request: web.Request, pod: Obj, container: str, spec: LogRequest
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
