"""A thin wrapper over the `kubernetes` client: raw bytes in, core records out.

Every request passes `_preload_content=False` so the client never builds its model objects (5,000
pods take ~2 s as models, ~0.25 s as raw JSON); bodies are parsed with orjson and turned into records
by `parse.py`. Every request has a timeout and every PATCH names its content type: the client would
otherwise pick one by itself. HTTP errors become `KcrashError` carrying the server's Status message.
With `read_only`, every write method raises before a byte is sent.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kcrash.cluster.config import Connection
from kcrash.cluster.errors import (
    TRANSPORT_ERRORS,
    KcrashError,
    from_api_exception,
    from_transport_error,
)
from kcrash.cluster.parse import parse_event, parse_pod
from kcrash.cluster.reflector import WatchStream
from kcrash.core.records import Event, Pod

T = TypeVar("T")
Timeout = tuple[float, float]  # (connect, read) seconds

REQUEST_TIMEOUT: Timeout = (5.0, 30.0)
LIST_TIMEOUT: Timeout = (5.0, 90.0)
WATCH_READ_SLACK = 30.0  # a watch ends by itself after timeoutSeconds; read timeout a bit later
FOLLOW_READ_TIMEOUT = 86400.0
LIST_PAGE = 500  # kubectl's chunk size
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


class Api:
    """The requests kcrash makes, each one explicit about what it asks and how long it waits."""

    def __init__(self, conn: Connection, *, read_only: bool = False) -> None:
        self.conn = conn
        self.read_only = read_only
        self.server = conn.server
        self.core = k8s.CoreV1Api(conn.api)
        self.apps = k8s.AppsV1Api(conn.api)
        self.custom = k8s.CustomObjectsApi(conn.api)
        self.authz = k8s.AuthorizationV1Api(conn.api)
        self.apis = k8s.ApisApi(conn.api)

    # -- plumbing ----------------------------------------------------------------------------------
    def call(self, action: str, request: Callable[[], Any]) -> Any:
        """Send one request and return the raw (unread) response, mapping failures to KcrashError."""
        try:
            return request()
        except ApiException as exc:
            raise from_api_exception(exc, action, self.server) from None
        except TRANSPORT_ERRORS as exc:
            raise from_transport_error(exc, action, self.server) from None

    def read_body(self, action: str, request: Callable[[], Any]) -> bytes:
        """Send one request and read the whole body."""
        response = self.call(action, request)
        try:
            return bytes(response.read())
        except TRANSPORT_ERRORS as exc:
            raise from_transport_error(exc, action, self.server) from None
        finally:
            response.release_conn()

    def read_json(self, action: str, request: Callable[[], Any]) -> Any:
        """Send one request, read the whole body and parse it with orjson."""
        return _decode(action, self.read_body(action, request))

    def _writable(self, action: str) -> None:
        if self.read_only:
            raise ReadOnlyError(f"read-only mode: refusing to {action} (start kcrash without --read-only)")

    # -- pods --------------------------------------------------------------------------------------
    def list_pods(
        self,
        namespace: str | None,
        selector: str = "",
        limit: int = LIST_PAGE,
        continue_token: str = "",
    ) -> Page[Pod]:
        """One page of pods in a namespace (None: all namespaces)."""
        kwargs = _list_args(selector, limit, continue_token)
        action = f'list pods in namespace "{namespace}"' if namespace else "list pods in all namespaces"
        if namespace:
            body = self.read_body(action, lambda: self.core.list_namespaced_pod(namespace, **kwargs))
        else:
            body = self.read_body(action, lambda: self.core.list_pod_for_all_namespaces(**kwargs))
        with gc_paused():
            return _page(_decode(action, body), parse_pod)

    def list_all_pods(self, namespace: str | None, selector: str = "") -> Page[Pod]:
        """Every pod, following continue tokens; the resourceVersion is the first page's."""
        first = self.list_pods(namespace, selector)
        items = list(first.items)
        token = first.continue_token
        while token:
            page = self.list_pods(namespace, selector, continue_token=token)
            items.extend(page.items)
            token = page.continue_token
        return Page(tuple(items), first.resource_version)

    def watch_pods(
        self, namespace: str | None, selector: str, resource_version: str, timeout_seconds: int
    ) -> WatchStream[Pod]:
        """Open a WATCH from `resource_version` with bookmarks; the caller reads and closes it."""
        kwargs: dict[str, Any] = {
            "watch": True,
            "allow_watch_bookmarks": True,
            "resource_version": resource_version,
            "timeout_seconds": timeout_seconds,
            "_preload_content": False,
            "_request_timeout": (REQUEST_TIMEOUT[0], timeout_seconds + WATCH_READ_SLACK),
        }
        if selector:
            kwargs["label_selector"] = selector
        if namespace:
            response = self.call(
                f'watch pods in namespace "{namespace}"',
                lambda: self.core.list_namespaced_pod(namespace, **kwargs),
            )
        else:
            response = self.call(
                "watch pods in all namespaces", lambda: self.core.list_pod_for_all_namespaces(**kwargs)
            )
        return WatchStream(response, parse_pod)

    def get_pod(self, namespace: str, name: str) -> Pod:
        doc = self.read_json(
            f"get pod {namespace}/{name}",
            lambda: self.core.read_namespaced_pod(
                name, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            ),
        )
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
            lambda: self.core.list_namespaced_event(
                pod.namespace,
                field_selector=selector,
                limit=LIST_PAGE,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )
        events = [parse_event(item) for item in _items(doc)]
        events.sort(key=lambda e: (e.last_seen is None, e.last_seen or e.first_seen, e.name))
        return tuple(events)

    # -- workloads (raw: rollout needs the exact template JSON) ------------------------------------
    def get_replicaset(self, namespace: str, name: str) -> dict[str, Any]:
        return dict(
            self.read_json(
                f"get replicaset {namespace}/{name}",
                lambda: self.apps.read_namespaced_replica_set(
                    name, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
                ),
            )
        )

    def get_deployment(self, namespace: str, name: str) -> dict[str, Any]:
        return dict(
            self.read_json(
                f"get deployment {namespace}/{name}",
                lambda: self.apps.read_namespaced_deployment(
                    name, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
                ),
            )
        )

    def list_replicasets(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """All ReplicaSets matching a label selector, following continue tokens."""
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            kwargs = _list_args(selector, LIST_PAGE, token)
            doc = self.read_json(
                f'list replicasets in namespace "{namespace}"',
                lambda: self.apps.list_namespaced_replica_set(namespace, **kwargs),  # noqa: B023
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
                lambda: self.core.read_namespaced_config_map(
                    name, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
                ),
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
        doc = self.read_json(
            "discover API groups",
            lambda: self.apis.get_api_versions(_preload_content=False, _request_timeout=REQUEST_TIMEOUT),
        )
        return any(
            isinstance(group, Mapping) and group.get("name") == METRICS_GROUP
            for group in doc.get("groups") or ()
        )

    def list_pod_metrics(self, namespace: str | None) -> list[dict[str, Any]]:
        """One LIST of PodMetrics for the whole scope (never one call per pod)."""
        if namespace:
            doc = self.read_json(
                f'list pod metrics in namespace "{namespace}"',
                lambda: self.custom.list_namespaced_custom_object(
                    METRICS_GROUP,
                    METRICS_VERSION,
                    namespace,
                    "pods",
                    _preload_content=False,
                    _request_timeout=LIST_TIMEOUT,
                ),
            )
        else:
            doc = self.read_json(
                "list pod metrics in all namespaces",
                lambda: self.custom.list_cluster_custom_object(
                    METRICS_GROUP,
                    METRICS_VERSION,
                    "pods",
                    _preload_content=False,
                    _request_timeout=LIST_TIMEOUT,
                ),
            )
        return list(_items(doc))

    # -- logs --------------------------------------------------------------------------------------
    def pod_log(
        self,
        pod: Pod,
        container: str,
        *,
        previous: bool,
        tail_lines: int | None,
        limit_bytes: int,
    ) -> bytes:
        """The raw bytes of a bounded log read (decoding is the caller's: logs are not always UTF-8)."""
        kwargs: dict[str, Any] = {
            "container": container,
            "previous": previous,
            "limit_bytes": limit_bytes,
            "_preload_content": False,
            "_request_timeout": REQUEST_TIMEOUT,
        }
        if tail_lines is not None:
            kwargs["tail_lines"] = tail_lines
        which = "previous log" if previous else "log"
        response = self.call(
            f"read the {which} of {pod.namespace}/{pod.name} ({container})",
            lambda: self.core.read_namespaced_pod_log(pod.name, pod.namespace, **kwargs),
        )
        try:
            return bytes(response.read())
        except TRANSPORT_ERRORS as exc:
            raise from_transport_error(exc, f"read the {which} of {pod.name}", self.server) from None
        finally:
            response.release_conn()

    def open_log_follow(self, pod: Pod, container: str, tail_lines: int) -> Any:
        """Open `logs -f`: the raw, unread response; the caller reads it in bounded chunks."""
        return self.call(
            f"follow the log of {pod.namespace}/{pod.name} ({container})",
            lambda: self.core.read_namespaced_pod_log(
                pod.name,
                pod.namespace,
                container=container,
                follow=True,
                tail_lines=tail_lines,
                _preload_content=False,
                # A quiet container may print nothing for a long time: wait a day between bytes.
                _request_timeout=(REQUEST_TIMEOUT[0], FOLLOW_READ_TIMEOUT),
            ),
        )

    # -- authorization -----------------------------------------------------------------------------
    def can_i(
        self, namespace: str, verb: str, resource: str, group: str = "", subresource: str = ""
    ) -> tuple[bool, str]:
        """SelfSubjectAccessReview: (allowed, the authorizer's reason). Creates nothing persistent."""
        attributes = k8s.V1ResourceAttributes(
            namespace=namespace or None,
            verb=verb,
            resource=resource,
            group=group,
            subresource=subresource or None,
        )
        body = k8s.V1SelfSubjectAccessReview(
            api_version="authorization.k8s.io/v1",
            kind="SelfSubjectAccessReview",
            spec=k8s.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes),
        )
        doc = self.read_json(
            f"check whether you may {verb} {resource}",
            lambda: self.authz.create_self_subject_access_review(
                body, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, _content_type=JSON
            ),
        )
        status = doc.get("status") or {}
        reason = str(status.get("reason") or status.get("evaluationError") or "")
        return bool(status.get("allowed")), reason

    # -- writes ------------------------------------------------------------------------------------
    def delete_pod(self, pod: Pod) -> dict[str, Any]:
        """One DELETE, background propagation, only if the pod still has this UID."""
        self._writable(f"delete pod {pod.namespace}/{pod.name}")
        body = k8s.V1DeleteOptions(
            api_version="v1",
            kind="DeleteOptions",
            propagation_policy="Background",
            preconditions=k8s.V1Preconditions(uid=pod.uid) if pod.uid else None,
        )
        return dict(
            self.read_json(
                f"delete pod {pod.namespace}/{pod.name}",
                lambda: self.core.delete_namespaced_pod(
                    pod.name,
                    pod.namespace,
                    body=body,
                    _preload_content=False,
                    _request_timeout=REQUEST_TIMEOUT,
                    # The generated delete ignores _content_type; the header must be set by hand.
                    _headers={"Content-Type": JSON},
                ),
            )
        )

    def patch_deployment_json(
        self, namespace: str, name: str, operations: list[dict[str, Any]], *, dry_run: bool = False
    ) -> dict[str, Any]:
        """One JSON Patch (RFC 6902) of a Deployment; `dry_run` asks the server to persist nothing."""
        self._writable(f"patch deployment {namespace}/{name}")
        kwargs: dict[str, Any] = {
            "_preload_content": False,
            "_request_timeout": REQUEST_TIMEOUT,
            "_content_type": JSON_PATCH,
        }
        if dry_run:
            kwargs["dry_run"] = "All"
        return dict(
            self.read_json(
                f"patch deployment {namespace}/{name}",
                lambda: self.apps.patch_namespaced_deployment(name, namespace, operations, **kwargs),
            )
        )


class _GcPause:
    """Hold the cyclic GC off while a page of records is built (re-entrant across threads).

    Decoding 500 pods creates ~100k containers that all survive; the collector's generations
    fill up again and again and each full collection walks everything kept so far (measured:
    10,000 pods parse in ~1.6 s without collections, ~3.6 s with). Records hold no cycles, so
    pausing it loses nothing; it runs again as soon as the last page is built.
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


def _decode(action: str, body: bytes) -> Any:
    try:
        return orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        raise KcrashError(f"{action}: the server sent something that is not JSON") from None


def _list_args(selector: str, limit: int, continue_token: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"limit": limit, "_preload_content": False, "_request_timeout": LIST_TIMEOUT}
    if selector:
        kwargs["label_selector"] = selector
    if continue_token:
        kwargs["_continue"] = continue_token
    return kwargs


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
