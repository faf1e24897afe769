"""The store the lab's kubelet uses against a real kube-apiserver, as kwok's node controller does.

`ApiStore` is an in-process `Store` kept in step with the real apiserver in both directions:

- in: a watch on pods (all namespaces) copies every pod bound to one of the lab's nodes into the local
  store, where the kubelet simulation sees it arrive, change (deletion) and go. The local copy keeps
  the kubelet's own status: the apiserver's echo of an earlier status write must not roll it back.
  ConfigMaps and Secrets are copied as they are (the kubelet checks the keys pods refer to).
- out: what the kubelet writes locally is sent on one writer thread, in order: pod status through the
  `status` subresource, pod deletion once it has stopped (UID precondition), Events, Nodes and their
  status. Status writes of one pod coalesce: only the newest is sent.

Everything local happens on the simulation's event loop; the watch thread hands changes over with
`call_soon_threadsafe`, so the kubelet's callbacks still run on one thread.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import queue
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

from kcrash.lab.clock import SimClock
from kcrash.lab.realcp.apiclient import JSON_PATCH, MERGE_PATCH, ApiClient, ApiFailure
from kcrash.lab.store import Obj, Store

log = logging.getLogger(__name__)

RETRY_AFTER = 1.0
# What comes in from the apiserver: pods to run, and what they refer to.
WATCHED = ("pods", "configmaps", "secrets")
# Fields the apiserver owns: never sent back from a local copy.
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation")


class ApiStore(Store):
    """A `Store` whose pods come from, and whose status/events/nodes go to, a real apiserver."""

    def __init__(self, clock: SimClock, client: ApiClient, node_names: Callable[[], Collection[str]]) -> None:
        super().__init__(clock)
        self.client = client
        self._node_names = node_names
        self._kubelet_port = 0
        self._remote = False  # applying a change that came from the apiserver: do not send it back
        self._gone: set[str] = set()  # uids of pods deleted here: late echoes must not resurrect them
        self._writes: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._status: dict[tuple[str, str], Obj] = {}  # newest unsent pod status per pod
        self._status_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.failures = 0  # writes the apiserver refused (logged at debug level: the console stays quiet)
        self.last_failure = ""
        self.pods_seen = threading.Event()  # the first pod list arrived

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop, kubelet_port: int) -> None:
        self._loop = loop
        self._kubelet_port = kubelet_port
        jobs: list[tuple[str, Callable[..., None], tuple[str, ...]]] = [("writer", self._write_loop, ())]
        jobs += [(f"watch-{resource}", self._watch_loop, (resource,)) for resource in WATCHED]
        for name, target, args in jobs:
            thread = threading.Thread(target=target, args=args, name=f"kcrash-lab-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self._writes.put(None)

    def send(self, write: Callable[[], None]) -> None:
        """Queue any other write (leases, manifests) behind the ones already waiting."""
        self._writes.put(write)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued write has been sent (tests, shutdown)."""
        done = threading.Event()
        self._writes.put(done.set)
        return done.wait(timeout)

    # -- local writes, sent on --------------------------------------------------------------------
    def create(self, resource: str, obj: Obj) -> Obj:
        created = super().create(resource, obj)
        if not self._remote:
            if resource == "nodes":
                body = node_body(created, self._kubelet_port)
                self.send(lambda: self._create_node(body))
            elif resource == "events":
                body = event_body(created)
                self.send(lambda: self._upsert_event(body))
        return created

    def replace(self, resource: str, obj: Obj) -> Obj:
        replaced = super().replace(resource, obj)
        if not self._remote:
            if resource == "pods":
                self._queue_status(replaced)
            elif resource == "events":
                body = event_body(replaced)
                self.send(lambda: self._upsert_event(body))
        return replaced

    def delete(self, resource: str, namespace: str, name: str, uid: str | None = None) -> Obj:
        gone = super().delete(resource, namespace, name, uid)
        if resource == "pods":
            self._gone.add(gone["metadata"].get("uid", ""))
            if not self._remote:
                pod_uid = gone["metadata"].get("uid", "")
                self.send(lambda: self._delete_pod(namespace, name, pod_uid))
        return gone

    def _queue_status(self, pod: Obj) -> None:
        key = (pod["metadata"].get("namespace", ""), pod["metadata"]["name"])
        with self._status_lock:
            waiting = key in self._status
            self._status[key] = {"uid": pod["metadata"].get("uid"), "status": copy.deepcopy(pod["status"])}
        if not waiting:
            self.send(lambda: self._send_status(key))

    # -- the writer thread ------------------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            write = self._writes.get()
            if write is None or self._stopping.is_set():
                return  # what is still queued is for an apiserver that is going away
            try:
                write()
            except ApiFailure as failure:
                self.failures += 1
                self.last_failure = str(failure)
                log.debug("the apiserver refused a write: %s", failure)
            except Exception as exc:
                self.failures += 1
                self.last_failure = repr(exc)
                log.debug("a write to the apiserver failed", exc_info=True)

    def _send_status(self, key: tuple[str, str]) -> None:
        with self._status_lock:
            pending = self._status.pop(key, None)
        if pending is None or pending["uid"] in self._gone:
            return
        namespace, name = key
        # One JSON patch replacing the whole status: no resourceVersion, so no conflicts with the
        # controllers' writes to metadata, and fields the kubelet dropped are really dropped.
        patch = [
            {"op": "test", "path": "/metadata/uid", "value": pending["uid"]},
            {"op": "add", "path": "/status", "value": pending["status"]},
        ]
        try:
            self.client.request(
                "PATCH", f"/api/v1/namespaces/{namespace}/pods/{name}/status", patch, content_type=JSON_PATCH
            )
        except ApiFailure as failure:
            if failure.status != 404:  # gone meanwhile: nothing to report
                raise

    def _delete_pod(self, namespace: str, name: str, uid: str) -> None:
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0}
        body["preconditions"] = {"uid": uid}
        try:
            self.client.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}", body)
        except ApiFailure as failure:
            if failure.status not in (404, 409):
                raise

    def _create_node(self, body: Obj) -> None:
        name = body["metadata"]["name"]
        try:
            self.client.request("POST", "/api/v1/nodes", body)
        except ApiFailure as failure:
            if failure.status != 409:
                raise
        # Status as a separate write: what create keeps of it has changed between releases.
        self.client.request(
            "PATCH", f"/api/v1/nodes/{name}/status", {"status": body["status"]}, content_type=MERGE_PATCH
        )

    def _upsert_event(self, body: Obj) -> None:
        namespace = body["metadata"].get("namespace", "default")
        name = body["metadata"]["name"]
        try:
            self.client.request(
                "PATCH", f"/api/v1/namespaces/{namespace}/events/{name}", body, content_type=MERGE_PATCH
            )
        except ApiFailure as failure:
            if failure.status != 404:
                raise
            self.client.request("POST", f"/api/v1/namespaces/{namespace}/events", body)

    # -- the watches ------------------------------------------------------------------------------
    def _watch_loop(self, resource: str) -> None:
        path = f"/api/v1/{resource}"
        while not self._stopping.is_set():
            try:
                listed = self.client.request("GET", path, timeout=60)
                self._hand_over(resource, "SYNC", listed.get("items") or [])
                if resource == "pods":
                    self.pods_seen.set()
                version = listed.get("metadata", {}).get("resourceVersion", "")
                while not self._stopping.is_set():
                    version = self._follow(resource, path, version)
            except ApiFailure as failure:
                if self._stopping.is_set():
                    return
                if failure.status != 410:
                    log.debug("pod watch: %s; listing again", failure)
                    time.sleep(RETRY_AFTER)
            except (OSError, ValueError) as error:
                if self._stopping.is_set():
                    return
                log.debug("pod watch: %s; listing again", error)
                time.sleep(RETRY_AFTER)

    def _follow(self, resource: str, path: str, version: str) -> str:
        for event in self.client.watch(path, version):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                raise ApiFailure(int(obj.get("code") or 0), str(obj.get("message", "")))
            version = obj.get("metadata", {}).get("resourceVersion", version)
            if kind in ("ADDED", "MODIFIED", "DELETED"):
                self._hand_over(resource, kind, [obj])
            if self._stopping.is_set():
                break
        return version

    def _hand_over(self, resource: str, kind: str, objects: list[Obj]) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.apply_remote, resource, kind, objects)

    def apply_remote(self, resource: str, kind: str, objects: list[Obj]) -> None:
        """On the loop: bring the local store in step with objects as the apiserver has them."""
        self._remote = True
        try:
            if kind == "SYNC":
                self._forget_missing(resource, {_key(o) for o in objects})
            for obj in objects:
                if resource == "pods":
                    self._apply_pod(kind, obj)
                else:
                    self._apply_copy(resource, kind, obj)
        finally:
            self._remote = False

    def _forget_missing(self, resource: str, present: set[tuple[str, str]]) -> None:
        local, _ = self.list(resource)
        for obj in local:
            if _key(obj) not in present:
                self.delete(resource, *_key(obj))

    def _apply_copy(self, resource: str, kind: str, obj: Obj) -> None:
        """ConfigMaps and Secrets: kept as they are, for the kubelet's checks of what pods refer to."""
        key = _key(obj)
        exists = self.get(resource, *key) is not None
        if kind == "DELETED":
            if exists:
                self.delete(resource, *key)
        elif exists:
            self.replace(resource, copy.deepcopy(obj))
        else:
            self.create(resource, copy.deepcopy(obj))

    def _apply_pod(self, kind: str, pod: Obj) -> None:
        key = _key(pod)
        uid = pod["metadata"].get("uid", "")
        local = self.get("pods", *key)
        if kind == "DELETED":
            if local is not None and local["metadata"].get("uid") == uid:
                self.delete("pods", *key)
            return
        if uid in self._gone or pod.get("spec", {}).get("nodeName") not in self._node_names():
            return
        if local is not None and local["metadata"].get("uid") != uid:
            self.delete("pods", *key)  # a new pod of the same name: the old one is gone
            local = None
        if local is None:
            self.create("pods", copy.deepcopy(pod))
            return
        if _differs(local, pod):
            fresh = dict(local)
            fresh["metadata"] = copy.deepcopy(pod["metadata"])
            fresh["spec"] = copy.deepcopy(pod["spec"])
            self.replace("pods", fresh)


def _key(pod: Obj) -> tuple[str, str]:
    return (pod["metadata"].get("namespace", ""), pod["metadata"]["name"])


def _differs(local: Obj, remote: Obj) -> bool:
    """Whether the apiserver's metadata or spec says something new (not just a new resourceVersion)."""
    mine, theirs = local["metadata"], remote["metadata"]
    watched = ("deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations")
    return any(mine.get(k) != theirs.get(k) for k in watched) or local.get("spec") != remote.get("spec")


def strip_server_fields(obj: Obj) -> Obj:
    body = copy.deepcopy(obj)
    for field in _SERVER_FIELDS:
        body["metadata"].pop(field, None)
    return body


def node_body(node: Obj, kubelet_port: int) -> Obj:
    """The simulated Node as a real one: reachable on loopback, where the lab serves the kubelet API."""
    body = strip_server_fields(node)
    status: dict[str, Any] = body["status"]
    status["addresses"] = [
        {"type": "InternalIP", "address": "127.0.0.1"},
        {"type": "Hostname", "address": node["metadata"]["name"]},
    ]
    status["daemonEndpoints"] = {"kubeletEndpoint": {"Port": kubelet_port}}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for condition in status.get("conditions") or []:
        condition["lastHeartbeatTime"] = now
        condition["lastTransitionTime"] = now
    return body


def event_body(event: Obj) -> Obj:
    body = strip_server_fields(event)
    body.setdefault("apiVersion", "v1")
    body.setdefault("kind", "Event")
    involved = body.get("involvedObject") or {}
    involved.pop("resourceVersion", None)  # the local store's, meaningless to the apiserver
    return body
