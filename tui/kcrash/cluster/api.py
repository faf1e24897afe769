"""The requests kcrash makes: raw bytes in, core records out.

Requests go through the connection's transport (`transport.py`: kcrash's own for static credentials,
the `kubernetes` client's `ApiClient` for exec plugins, OIDC and the rest), never through the
client's generated API classes: those validate every call with pydantic, importing CoreV1Api alone
costs ~0.7 s of launch, and their models are never wanted here (5,000 pods take ~2 s as models,
~0.25 s as raw JSON). Pod pages and watch lines are decoded straight into records by `podwire.py`;
other bodies are parsed with orjson and turned into records by `parse.py`. Every request has a
timeout and every body names its content type. HTTP errors become `KcrashError` carrying the
server's Status message. With `read_only`, every write method raises before a byte is sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import orjson

from kcrash.cluster.config import Connection
from kcrash.cluster.errors import (
    TRANSPORT_ERRORS,
    KcrashError,
    from_http_error,
    from_transport_error,
)
from kcrash.cluster.parse import parse_event, parse_pod
from kcrash.cluster.podwire import decode_pod_event, decode_pod_list
from kcrash.cluster.reflector import WatchStream, gc_paused
from kcrash.cluster.renewal import CredentialLink
from kcrash.cluster.retry import ATTEMPTS, is_read
from kcrash.cluster.transport import HttpError, Timeout, Transport
from kcrash.core.records import Event, Pod

T = TypeVar("T")

REQUEST_TIMEOUT: Timeout = (5.0, 30.0)
LIST_TIMEOUT: Timeout = (5.0, 90.0)
PROBE: Timeout = (1.0, 2.0)
WATCH_READ_SLACK = 30.0  # a watch ends by itself after timeoutSeconds; read timeout a bit later
FOLLOW_READ_TIMEOUT = 86400.0
LIST_PAGE = 500  # kubectl's chunk size, for the small lists (events, ReplicaSets)
POD_LIST_PAGE = 2000
"""The pod list's chunk size. The server answers 2,000 pods about as fast per pod as 500, so a list
of 20,000 takes 10 round trips instead of 40; larger pages buy no speed (the client's parsing is
the bottleneck) and raise the peak memory by the decoded page (~30 MB per 2,000 pods)."""
JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
METRICS_GROUP = "metrics.k8s.io"
METRICS_VERSION = "v1beta1"


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a LIST: its items, the list's resourceVersion and the continue token ("" = last)."""

    items: tuple[T, ...]
    resource_version: str
    continue_token: str = ""


class ReadOnlyError(KcrashError):
    """A write was attempted in read-only mode; nothing was sent."""


Query = Sequence[tuple[str, str | int | bool]]


class Api:
    """The requests kcrash makes, each one explicit about what it asks and how long it waits."""

    def __init__(
        self,
        conn: Connection,
        *,
        read_only: bool = False,
        attempts: int = ATTEMPTS,
        link: CredentialLink | None = None,
    ) -> None:
        self.conn = conn
        self.read_only = read_only
        self.server = conn.server
        self.retrier = conn.retrier
        self.attempts = attempts
        self.link = link or CredentialLink(conn)

    @property
    def transport(self) -> Transport:
        """The transport of the credentials in use (a new one after they are re-read)."""
        return self.link.transport

    def impatient(self, attempts: int) -> Api:
        """This Api with fewer attempts per request, for a caller with a retry loop of its own
        (the reflector shows "reconnecting" and backs off by itself); credentials are shared."""
        return Api(self.conn, read_only=self.read_only, attempts=attempts, link=self.link)

    # -- plumbing ----------------------------------------------------------------------------------
    def call(self, action: str, request: Callable[[], Any]) -> Any:
        """Send one request and return the raw (unread) response, mapping failures to KcrashError;
        credentials the server stopped accepting are re-read once and the request sent again."""
        try:
            return self.link.sent(request)
        except HttpError as exc:
            raise self.link.explain(from_http_error(exc, action, self.server)) from None
        except TRANSPORT_ERRORS as exc:
            raise self.link.explain(from_transport_error(exc, action, self.server)) from None

    def send(
        self,
        action: str,
        method: str,
        path: str,
        query: Query = (),
        *,
        body: Any = None,
        content_type: str = "",
        timeout: Timeout = REQUEST_TIMEOUT,
    ) -> Any:
        """One request (auth headers, TLS, user agent), retried as `retry.py` says; returns the raw,
        unread urllib3 response, or raises KcrashError for a non-2xx answer."""
        headers = {"Accept": JSON}
        if content_type:
            headers["Content-Type"] = content_type
        params = [(k, _query_value(v)) for k, v in query]

        def once() -> Any:
            return self.transport.request(method, path, params, headers, body, self._bounded(timeout))

        def request() -> Any:
            return self.retrier.run(action, once, read=is_read(method, path), attempts=self.attempts)

        return self.call(action, request)

    def _bounded(self, timeout: Timeout) -> Timeout:
        """The timeout cut to what is left of the deadline (a read never outlives `--timeout`)."""
        left = self.retrier.remaining()
        if left is None:
            return timeout
        left = max(0.1, left)
        return (min(timeout[0], left), min(timeout[1], left))

    def read_body(
        self, action: str, path: str, query: Query = (), *, timeout: Timeout = REQUEST_TIMEOUT
    ) -> bytes:
        """GET and read the whole body."""
        response = self.send(action, "GET", path, query, timeout=timeout)
        try:
            return bytes(response.read())
        except TRANSPORT_ERRORS as exc:
            raise from_transport_error(exc, action, self.server) from None
        finally:
            response.release_conn()

    def read_json(
        self, action: str, path: str, query: Query = (), *, timeout: Timeout = REQUEST_TIMEOUT
    ) -> Any:
        """GET, read the whole body and parse it with orjson."""
        return _decode(action, self.read_body(action, path, query, timeout=timeout))

    def send_json(
        self, action: str, method: str, path: str, body: Any, content_type: str = JSON, query: Query = ()
    ) -> Any:
        """A write with a JSON body; its answer read and parsed."""
        response = self.send(action, method, path, query, body=body, content_type=content_type)
        try:
            return _decode(action, bytes(response.read()))
        except TRANSPORT_ERRORS as exc:
            raise from_transport_error(exc, action, self.server) from None
        finally:
            response.release_conn()

    def _writable(self, action: str) -> None:
        if self.read_only:
            raise ReadOnlyError(f"read-only mode: refusing to {action} (start kcrash without --read-only)")

    def answers(self) -> bool:
        """Whether the server answers at all now (GET /version, one short try, no retries)."""
        try:
            response = self.transport.request("GET", "/version", (), {"Accept": JSON}, None, PROBE)
        except HttpError:
            return True  # it answered, if not with a 200
        except TRANSPORT_ERRORS:
            return False
        response.read()
        response.release_conn()
        return True

    # -- pods --------------------------------------------------------------------------------------
    def list_pods(
        self,
        namespace: str | None,
        selector: str = "",
        limit: int = POD_LIST_PAGE,
        continue_token: str = "",
    ) -> Page[Pod]:
        """One page of pods in a namespace (None: all namespaces)."""
        return _pod_page(namespace, self.pod_list_body(namespace, selector, limit, continue_token))

    def pod_list_body(self, namespace: str | None, selector: str, limit: int, continue_token: str) -> bytes:
        """The raw body of one page of pods."""
        return self.read_body(
            _list_pods_action(namespace),
            _pods_path(namespace),
            _list_query(selector, limit, continue_token),
            timeout=LIST_TIMEOUT,
        )

    def list_all_pods(self, namespace: str | None, selector: str = "") -> Page[Pod]:
        """Every pod, following continue tokens; the resourceVersion is the first page's."""
        pages = PodPages(self, namespace, selector)
        with gc_paused():
            first = pages.page("")
            items = list(first.items)
            token = first.continue_token
            while token:
                page = pages.page(token)
                items.extend(page.items)
                token = page.continue_token
        return Page(tuple(items), first.resource_version)

    def watch_pods(
        self, namespace: str | None, selector: str, resource_version: str, timeout_seconds: int
    ) -> WatchStream[Pod]:
        """Open a WATCH from `resource_version` with bookmarks; the caller reads and closes it."""
        query: list[tuple[str, str | int | bool]] = [
            ("watch", True),
            ("allowWatchBookmarks", True),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", timeout_seconds),
        ]
        if selector:
            query.append(("labelSelector", selector))
        action = f'watch pods in namespace "{namespace}"' if namespace else "watch pods in all namespaces"
        response = self.send(
            action,
            "GET",
            _pods_path(namespace),
            query,
            timeout=(REQUEST_TIMEOUT[0], timeout_seconds + WATCH_READ_SLACK),
        )
        return WatchStream(response, parse_pod, decode_pod_event)

    def get_pod_document(self, namespace: str, name: str) -> dict[str, Any]:
        """The pod as the server sends it (describe and YAML show fields the records leave out)."""
        return dict(self.read_json(f"get pod {namespace}/{name}", f"{_pods_path(namespace)}/{_seg(name)}"))

    def get_pod(self, namespace: str, name: str) -> Pod:
        doc = self.read_json(f"get pod {namespace}/{name}", f"{_pods_path(namespace)}/{_seg(name)}")
        return parse_pod(doc)

    # -- events ------------------------------------------------------------------------------------
    def events_for(self, pod: Pod) -> tuple[Event, ...]:
        """The pod's events, oldest first, selected on the server like `kubectl describe` does."""
        selector = ",".join(
            (
                f"involvedObject.name={pod.name}",
                f"involvedObject.namespace={pod.namespace}",
                "involvedObject.kind=Pod",
                *((f"involvedObject.uid={pod.uid}",) if pod.uid else ()),
            )
        )
        doc = self.read_json(
            f"list events of pod {pod.namespace}/{pod.name}",
            f"/api/v1/namespaces/{_seg(pod.namespace)}/events",
            [("fieldSelector", selector), ("limit", LIST_PAGE)],
        )
        return in_event_order(parse_event(item) for item in _items(doc))

    def object_events(self, namespace: str, kind: str, name: str) -> tuple[Event, ...]:
        """The events of one object (a Deployment's scaling), oldest first, selected on the server."""
        selector = (
            f"involvedObject.kind={kind},involvedObject.name={name},involvedObject.namespace={namespace}"
        )
        doc = self.read_json(
            f"list events of {kind.lower()} {namespace}/{name}",
            f"/api/v1/namespaces/{_seg(namespace)}/events",
            [("fieldSelector", selector), ("limit", LIST_PAGE)],
        )
        return in_event_order(parse_event(item) for item in _items(doc))

    def list_events(self, namespace: str | None, limit: int = LIST_PAGE) -> tuple[Event, ...]:
        """The events of a namespace (None: every namespace), one page: the events view's list."""
        path = f"/api/v1/namespaces/{_seg(namespace)}/events" if namespace else "/api/v1/events"
        where = f'in namespace "{namespace}"' if namespace else "in all namespaces"
        doc = self.read_json(f"list events {where}", path, [("limit", limit)])
        return tuple(parse_event(item) for item in _items(doc))

    # -- workloads (raw: rollout needs the exact template JSON) ------------------------------------
    def get_replicaset(self, namespace: str, name: str) -> dict[str, Any]:
        return dict(
            self.read_json(
                f"get replicaset {namespace}/{name}",
                f"/apis/apps/v1/namespaces/{_seg(namespace)}/replicasets/{_seg(name)}",
            )
        )

    def get_deployment(self, namespace: str, name: str) -> dict[str, Any]:
        return dict(self.read_json(f"get deployment {namespace}/{name}", _deployment_path(namespace, name)))

    def list_replicasets(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """All ReplicaSets matching a label selector, following continue tokens."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            doc = self.read_json(
                f'list replicasets in namespace "{namespace}"',
                f"/apis/apps/v1/namespaces/{_seg(namespace)}/replicasets",
                _list_query(selector, LIST_PAGE, token),
                timeout=LIST_TIMEOUT,
            )
            items.extend(_items(doc))
            token = str(_meta(doc).get("continue") or "")
            if not token:
                return items

    def configmap_keys(self, namespace: str, name: str) -> tuple[str, ...] | None:
        """The keys of a ConfigMap (values are never kept), or None when it does not exist."""
        try:
            doc = self.read_json(
                f"get configmap {namespace}/{name}",
                f"/api/v1/namespaces/{_seg(namespace)}/configmaps/{_seg(name)}",
            )
        except KcrashError as exc:
            if exc.status == 404:
                return None
            raise
        keys = {*(doc.get("data") or {}), *(doc.get("binaryData") or {})}
        return tuple(sorted(str(k) for k in keys))

    # -- metrics -----------------------------------------------------------------------------------
    def metrics_api_available(self) -> bool:
        """Whether discovery lists metrics.k8s.io (what `kubectl top` checks first)."""
        doc = self.read_json("discover API groups", "/apis")
        return any(
            isinstance(group, Mapping) and group.get("name") == METRICS_GROUP
            for group in doc.get("groups") or ()
        )

    def list_pod_metrics(self, namespace: str | None) -> list[dict[str, Any]]:
        """One LIST of PodMetrics for the whole scope (never one call per pod), in pages where the
        server pages it: decoding 20,000 at once held the interpreter for a tenth of a second, and
        the console's keys waited that long."""
        base = f"/apis/{METRICS_GROUP}/{METRICS_VERSION}"
        if namespace:
            action = f'list pod metrics in namespace "{namespace}"'
            path = f"{base}/namespaces/{_seg(namespace)}/pods"
        else:
            action, path = "list pod metrics in all namespaces", f"{base}/pods"
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            doc = self.read_json(action, path, _list_query("", POD_LIST_PAGE, token), timeout=LIST_TIMEOUT)
            items.extend(_items(doc))
            token = str(_meta(doc).get("continue") or "")
            if not token:
                return items

    def pod_metrics(self, namespace: str, name: str) -> dict[str, Any] | None:
        """One pod's PodMetrics; None when the server has no sample for it (not running yet)."""
        path = f"/apis/{METRICS_GROUP}/{METRICS_VERSION}/namespaces/{_seg(namespace)}/pods/{_seg(name)}"
        try:
            doc = self.read_json(f'get pod metrics of pod "{name}" in namespace "{namespace}"', path)
        except KcrashError as exc:
            if exc.status == 404:
                return None
            raise
        return doc if isinstance(doc, dict) else None

    # -- logs --------------------------------------------------------------------------------------
    def pod_log(
        self,
        pod: Pod,
        container: str,
        *,
        previous: bool,
        tail_lines: int | None,
        limit_bytes: int,
        since_seconds: int | None = None,
        timestamps: bool = False,
    ) -> bytes:
        """The raw bytes of a bounded log read (decoding is the caller's: logs are not always UTF-8)."""
        query: list[tuple[str, str | int | bool]] = [
            ("container", container),
            ("limitBytes", limit_bytes),
            ("previous", previous),
        ]
        if tail_lines is not None:
            query.append(("tailLines", tail_lines))
        if since_seconds is not None:
            query.append(("sinceSeconds", since_seconds))
        if timestamps:
            query.append(("timestamps", True))
        which = "previous log" if previous else "log"
        response = self.send(
            f"read the {which} of {pod.namespace}/{pod.name} ({container})", "GET", _log_path(pod), query
        )
        try:
            return bytes(response.read())
        except TRANSPORT_ERRORS as exc:
            raise from_transport_error(exc, f"read the {which} of {pod.name}", self.server) from None
        finally:
            response.release_conn()

    def open_log_follow(self, pod: Pod, container: str, tail_lines: int, timestamps: bool = False) -> Any:
        """Open `logs -f`: the raw, unread response; the caller reads it in bounded chunks."""
        query: list[tuple[str, str | int | bool]] = [
            ("container", container),
            ("follow", True),
            ("tailLines", tail_lines),
        ]
        if timestamps:
            query.append(("timestamps", True))
        return self.send(
            f"follow the log of {pod.namespace}/{pod.name} ({container})",
            "GET",
            _log_path(pod),
            query,
            # A quiet container may print nothing for a long time: wait a day between bytes.
            timeout=(REQUEST_TIMEOUT[0], FOLLOW_READ_TIMEOUT),
        )

    # -- authorization -----------------------------------------------------------------------------
    def can_i(
        self, namespace: str, verb: str, resource: str, group: str = "", subresource: str = ""
    ) -> tuple[bool, str]:
        """SelfSubjectAccessReview: (allowed, the authorizer's reason). Creates nothing persistent."""
        attributes: dict[str, str] = {"verb": verb, "resource": resource, "group": group}
        if namespace:
            attributes["namespace"] = namespace
        if subresource:
            attributes["subresource"] = subresource
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        doc = self.send_json(
            f"check whether you may {verb} {resource}",
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            body,
        )
        status = doc.get("status") or {}
        reason = str(status.get("reason") or status.get("evaluationError") or "")
        return bool(status.get("allowed")), reason

    # -- writes ------------------------------------------------------------------------------------
    def delete_pod(self, pod: Pod) -> dict[str, Any]:
        """One DELETE, background propagation, only if the pod still has this UID."""
        action = f"delete pod {pod.namespace}/{pod.name}"
        self._writable(action)
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
        }
        if pod.uid:
            body["preconditions"] = {"uid": pod.uid}
        path = f"{_pods_path(pod.namespace)}/{_seg(pod.name)}"
        return dict(self.send_json(action, "DELETE", path, body))

    def patch_deployment_json(
        self, namespace: str, name: str, operations: list[dict[str, Any]], *, dry_run: bool = False
    ) -> dict[str, Any]:
        """One JSON Patch (RFC 6902) of a Deployment; `dry_run` asks the server to persist nothing."""
        action = f"patch deployment {namespace}/{name}"
        self._writable(action)
        query = [("dryRun", "All")] if dry_run else []
        return dict(
            self.send_json(action, "PATCH", _deployment_path(namespace, name), operations, JSON_PATCH, query)
        )


class PodPages:
    """The pod LIST of one scope page by page, each next page asked for while this one is parsed.

    Parsing a page of pods takes the client several times longer than the server takes to send
    it, so the next request goes out first. Its continue token is in the list's metadata, which
    API servers write before the items: it is read from the head of the body without decoding the
    rest. A body laid out otherwise is decoded whole, and its next page asked for afterwards.
    """

    def __init__(
        self, api: Api, namespace: str | None, selector: str = "", limit: int = POD_LIST_PAGE
    ) -> None:
        self._api = api
        self._namespace = namespace
        self._selector = selector
        self._limit = limit
        self._ahead: _Fetch | None = None

    def page(self, token: str) -> Page[Pod]:
        """The page at `token` ("" = the first); the one after it is requested before this returns."""
        body = self._body(token)
        following = continue_in_head(body)
        if following:
            self._ahead = _Fetch(token=following, run=lambda: self._fetch(following))
        return _pod_page(self._namespace, body)

    def _body(self, token: str) -> bytes:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.token == token:
            return ahead.result()
        return self._fetch(token)  # nothing asked ahead, or a restarted list: ask now

    def _fetch(self, token: str) -> bytes:
        return self._api.pod_list_body(self._namespace, self._selector, self._limit, token)


class _Fetch:
    """One body requested on a daemon thread (a server that stalls must not hold up exit)."""

    def __init__(self, token: str, run: Callable[[], bytes]) -> None:
        self.token = token
        self._run = run
        self._done = threading.Event()
        self._body = b""
        self._error: BaseException | None = None
        threading.Thread(target=self._work, name="kcrash-list-ahead", daemon=True).start()

    def _work(self) -> None:
        try:
            self._body = self._run()
        except BaseException as exc:  # handed to the thread that wants the page
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> bytes:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._body


def in_event_order(events: Iterable[Event]) -> tuple[Event, ...]:
    """Events oldest first, as `kubectl describe` lists them (undated ones last)."""
    return tuple(sorted(events, key=lambda e: (e.last_seen is None, e.last_seen or e.first_seen, e.name)))


HEAD_LIMIT = 64 * 1024
"""How far into a list body its metadata (and continue token) is looked for."""


def continue_in_head(body: bytes) -> str | None:
    """The continue token of a list body from its head ("" on the last page), or None when the
    metadata does not come before the items."""
    end = body.find(b',"items":', 0, HEAD_LIMIT)
    if end < 0:
        return None
    try:
        head = orjson.loads(body[:end] + b"}")
    except orjson.JSONDecodeError:
        return None
    meta = head.get("metadata") if isinstance(head, dict) else None
    if not isinstance(meta, dict):
        return None
    token = meta.get("continue")
    return token if isinstance(token, str) else ""


def _pod_page(namespace: str | None, body: bytes) -> Page[Pod]:
    with gc_paused():
        decoded = decode_pod_list(body)
        if decoded is not None:
            pods, resource_version, continue_token = decoded
            return Page(tuple(pods), resource_version, continue_token)
        return _page(_decode(_list_pods_action(namespace), body), parse_pod)


def _list_pods_action(namespace: str | None) -> str:
    return f'list pods in namespace "{namespace}"' if namespace else "list pods in all namespaces"


def _decode(action: str, body: bytes) -> Any:
    try:
        return orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        raise KcrashError(f"{action}: the server sent something that is not JSON") from None


def _list_query(selector: str, limit: int, continue_token: str) -> list[tuple[str, str | int | bool]]:
    query: list[tuple[str, str | int | bool]] = [("limit", limit)]
    if selector:
        query.append(("labelSelector", selector))
    if continue_token:
        query.append(("continue", continue_token))
    return query


def _query_value(value: str | int | bool) -> str:
    """What the generated client writes for a parameter: booleans in lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _seg(name: str) -> str:
    """A name as one path segment (names never hold "/", but text from a paste might)."""
    return quote(name, safe="")


def _pods_path(namespace: str | None) -> str:
    return f"/api/v1/namespaces/{_seg(namespace)}/pods" if namespace else "/api/v1/pods"


def _log_path(pod: Pod) -> str:
    return f"{_pods_path(pod.namespace)}/{_seg(pod.name)}/log"


def _deployment_path(namespace: str, name: str) -> str:
    return f"/apis/apps/v1/namespaces/{_seg(namespace)}/deployments/{_seg(name)}"


def _meta(doc: Any) -> Mapping[str, Any]:
    meta = doc.get("metadata") if isinstance(doc, Mapping) else None
    return meta if isinstance(meta, Mapping) else {}


def _items(doc: Any) -> list[dict[str, Any]]:
    items = doc.get("items") if isinstance(doc, Mapping) else None
    return [item for item in items or () if isinstance(item, dict)]


def _page(doc: Any, parse: Callable[[Mapping[str, Any]], T]) -> Page[T]:
    meta = _meta(doc)
    return Page(
        items=tuple(parse(item) for item in _items(doc)),
        resource_version=str(meta.get("resourceVersion") or ""),
        continue_token=str(meta.get("continue") or ""),
    )
