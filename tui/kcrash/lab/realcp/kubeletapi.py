"""The HTTPS endpoint a real kube-apiserver reaches the lab's nodes on.

- the kubelet API's `/containerLogs/{namespace}/{pod}/{container}` (what `kubectl logs` becomes after
  the apiserver's node proxy), with previous, follow, tailLines, sinceSeconds, sinceTime, timestamps
  and limitBytes;
- the `metrics.k8s.io/v1beta1` API (PodMetrics, NodeMetrics and its discovery), registered with the
  apiserver as an aggregated APIService, so `kubectl top` reads the simulated memory.

Every node of the lab is served by this one endpoint (they all say 127.0.0.1 and the same port). The
apiserver authenticates itself with a client certificate that is not checked here: only loopback can
connect, and the lab's data is made up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from kcrash.lab.apiserver.logs import LogRequest
from kcrash.lab.logs import LogBook
from kcrash.lab.selectors import LabelSelector, SelectorError
from kcrash.lab.store import Obj, Store

GROUP = "metrics.k8s.io"
VERSION = "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"
FOLLOW_POLL = 0.5


class BadRequest(Exception):
    """Answered 400 with the message as plain text, like the kubelet does."""


def build_app(store: Store, logs: LogBook, now: Callable[[], datetime]) -> web.Application:
    """The aiohttp application; runs on the loop that owns `store` and `logs`."""
    endpoint = KubeletEndpoint(store, logs, now)
    app = web.Application()
    app.router.add_get("/healthz", endpoint.healthz)
    app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", endpoint.container_logs)
    app.router.add_get("/apis", endpoint.group_list)
    app.router.add_get(f"/apis/{GROUP}", endpoint.group)
    app.router.add_get(f"/apis/{GROUP_VERSION}", endpoint.resources)
    app.router.add_get(f"/apis/{GROUP_VERSION}/pods", endpoint.pod_metrics)
    app.router.add_get(f"/apis/{GROUP_VERSION}/namespaces/{{namespace}}/pods", endpoint.pod_metrics)
    app.router.add_get(f"/apis/{GROUP_VERSION}/namespaces/{{namespace}}/pods/{{name}}", endpoint.one_pod)
    app.router.add_get(f"/apis/{GROUP_VERSION}/nodes", endpoint.node_metrics)
    app.router.add_get(f"/apis/{GROUP_VERSION}/nodes/{{name}}", endpoint.one_node)
    return app


class KubeletEndpoint:
    def __init__(self, store: Store, logs: LogBook, now: Callable[[], datetime]) -> None:
        self.store = store
        self.logs = logs
        self.now = now

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    # -- logs -------------------------------------------------------------------------------------
    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        namespace = request.match_info["namespace"]
        name = request.match_info["pod"]
        container = request.match_info["container"]
        try:
            options = LogOptions.from_query(request.query, self.now())
            pod = self.store.get("pods", namespace, name)
            if pod is None:
                raise BadRequest(f'pod "{name}" not found')  # what the kubelet says for a pod it does not run
            previous = options.previous
            lines = self.logs.read(namespace, name, container, previous)
            if lines is None:
                raise BadRequest(no_log_message(pod, container, previous))
        except BadRequest as bad:
            return web.Response(status=400, text=str(bad))
        partial = self.logs.partial_last_line(namespace, name, container, previous)
        if not options.request.follow or previous or self.logs.instance_ended(namespace, name, container):
            return web.Response(body=options.request.render(lines, partial), content_type="text/plain")
        return await self._follow(request, pod, container, options, lines)

    async def _follow(
        self,
        request: web.Request,
        pod: Obj,
        container: str,
        options: LogOptions,
        lines: list[tuple[datetime, str]],
    ) -> web.StreamResponse:
        namespace, name = pod["metadata"].get("namespace", ""), pod["metadata"]["name"]
        uid = pod["metadata"].get("uid")
        pending: list[tuple[datetime, str, bool]] = []
        wake = asyncio.Event()
        ended = False

        def on_line(moment: datetime, text: str, complete: bool) -> None:
            pending.append((moment, text, complete))
            wake.set()

        def on_end() -> None:
            nonlocal ended
            ended = True
            wake.set()

        unsubscribe = self.logs.subscribe(namespace, name, container, on_line, on_end=on_end)
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        response.enable_chunked_encoding()
        budget = options.request.limit_bytes
        try:
            await response.prepare(request)
            first = options.request.render(lines)
            budget = await _write_within(response, first, budget)
            while budget != 0:
                if pending:
                    taken, pending[:] = list(pending), []
                    data = b"".join(options.request.line(m, t, newline=c) for m, t, c in taken)
                    budget = await _write_within(response, data, budget)
                    continue
                current = self.store.get("pods", namespace, name)
                if ended or current is None or current["metadata"].get("uid") != uid:
                    break
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=FOLLOW_POLL)
                if request.transport is None or request.transport.is_closing():
                    break
            with contextlib.suppress(ConnectionError, RuntimeError):
                await response.write_eof()
        except ConnectionError:
            pass  # the client went away
        finally:
            unsubscribe()
        return response

    # -- metrics.k8s.io ---------------------------------------------------------------------------
    async def group_list(self, request: web.Request) -> web.Response:
        return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group()]})

    async def group(self, request: web.Request) -> web.Response:
        return _json({"kind": "APIGroup", "apiVersion": "v1", **_group()})

    async def resources(self, request: web.Request) -> web.Response:
        verbs = ["get", "list"]
        return _json(
            {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": GROUP_VERSION,
                "resources": [
                    {
                        "name": "nodes",
                        "singularName": "",
                        "namespaced": False,
                        "kind": "NodeMetrics",
                        "verbs": verbs,
                    },
                    {
                        "name": "pods",
                        "singularName": "",
                        "namespaced": True,
                        "kind": "PodMetrics",
                        "verbs": verbs,
                    },
                ],
            }
        )

    async def pod_metrics(self, request: web.Request) -> web.Response:
        try:
            selector = LabelSelector.parse(request.query.get("labelSelector", ""))
        except SelectorError as bad:
            return _status(400, "BadRequest", str(bad))
        items, _ = self.store.list("podmetrics", request.match_info.get("namespace"))
        chosen = [_public(m) for m in items if selector.matches(m["metadata"].get("labels"))]
        return _json({"kind": "PodMetricsList", "apiVersion": GROUP_VERSION, "metadata": {}, "items": chosen})

    async def one_pod(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        found = self.store.get("podmetrics", request.match_info["namespace"], name)
        if found is None:
            return _status(404, "NotFound", f'podmetrics.metrics.k8s.io "{name}" not found')
        return _json(_public(found))

    async def node_metrics(self, request: web.Request) -> web.Response:
        nodes, _ = self.store.list("nodes")
        items = [self._node_usage(node["metadata"]["name"]) for node in nodes]
        return _json({"kind": "NodeMetricsList", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items})

    async def one_node(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.store.get("nodes", "", name) is None:
            return _status(404, "NotFound", f'nodemetrics.metrics.k8s.io "{name}" not found')
        return _json(self._node_usage(name))

    def _node_usage(self, node: str) -> Obj:
        """A node uses what its pods use, plus a little for the system."""
        pods, _ = self.store.list("pods")
        on_node = {
            (p["metadata"].get("namespace"), p["metadata"]["name"])
            for p in pods
            if p["spec"].get("nodeName") == node
        }
        cpu_n, memory_ki = 150_000_000, 900 * 1024
        metrics, _ = self.store.list("podmetrics")
        for m in metrics:
            if (m["metadata"].get("namespace"), m["metadata"]["name"]) in on_node:
                for c in m.get("containers") or []:
                    cpu_n += int(str(c["usage"]["cpu"]).rstrip("n") or 0)
                    memory_ki += int(str(c["usage"]["memory"]).rstrip("Ki") or 0)
        stamp = (self.now() - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "kind": "NodeMetrics",
            "apiVersion": GROUP_VERSION,
            "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node}},
            "timestamp": stamp,
            "window": "15s",
            "usage": {"cpu": f"{cpu_n}n", "memory": f"{memory_ki}Ki"},
        }


@dataclass(frozen=True, slots=True)
class LogOptions:
    """The kubelet's reading of a containerLogs query: which instance, and the lines, look and
    limits, which the lab's pods/log `LogRequest` renders for both. The kubelet checks less than the
    apiserver: what reaches it was validated there."""

    previous: bool
    request: LogRequest

    @classmethod
    def from_query(cls, query: Any, now: datetime) -> LogOptions:
        since: datetime | None = None
        seconds = _integer(query, "sinceSeconds")
        if seconds is not None:
            since = now - timedelta(seconds=seconds)
        elif query.get("sinceTime"):
            since = _parse_time(query["sinceTime"])
        request = LogRequest(
            tail=_integer(query, "tailLines"),
            limit_bytes=_integer(query, "limitBytes"),
            since=since,
            timestamps=_flag(query, "timestamps"),
            follow=_flag(query, "follow"),
        )
        return cls(_flag(query, "previous"), request)


async def _write_within(response: web.StreamResponse, data: bytes, budget: int | None) -> int | None:
    """Write what fits in the byte budget; the budget left (None: unlimited, 0: spent)."""
    if budget is not None:
        data = data[:budget]
        budget -= len(data)
    if data:
        await response.write(data)
    return budget


_PULL_WORDS = {
    "ErrImagePull": "image can't be pulled",
    "ImagePullBackOff": "trying and failing to pull image",
}


def no_log_message(pod: Obj, container: str, previous: bool) -> str:
    """The kubelet's words when there is no such container instance to read (validateContainerLogStatus)."""
    name = pod["metadata"]["name"]
    if previous:
        return f'previous terminated container "{container}" in pod "{name}" not found'
    status = _container_status(pod, container)
    subject = f'container "{container}" in pod "{name}"'
    if (status.get("state") or {}).get("terminated") or (status.get("lastState") or {}).get("terminated"):
        return f"{subject} is terminated"
    waiting = (status.get("state") or {}).get("waiting")
    if not waiting:
        return f"{subject} is waiting to start - no logs yet"
    reason = str(waiting.get("reason", ""))
    return f"{subject} is waiting to start: {_PULL_WORDS.get(reason, reason)}"


def _container_status(pod: Obj, container: str) -> Obj:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses"):
        for entry in status.get(key) or []:
            if entry.get("name") == container:
                return dict(entry)
    return {}


def _parse_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(f'parsing time "{text}" as RFC3339: invalid') from None


def _flag(query: Any, name: str) -> bool:
    return str(query.get(name, "")).lower() in ("1", "true")


def _integer(query: Any, name: str) -> int | None:
    text = query.get(name)
    if text in (None, ""):
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{name}: not an integer: {text!r}") from None


def _group() -> Obj:
    version = {"groupVersion": GROUP_VERSION, "version": VERSION}
    return {"name": GROUP, "versions": [version], "preferredVersion": version}


def _public(metrics: Obj) -> Obj:
    """PodMetrics as metrics-server serves them (no uid or resourceVersion of the lab's store)."""
    meta = metrics["metadata"]
    kept = {k: meta[k] for k in ("name", "namespace", "creationTimestamp", "labels") if k in meta}
    return {**metrics, "metadata": kept}


def _json(body: Obj, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(body).encode("utf-8"), content_type="application/json")


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return _json(body, status=code)
