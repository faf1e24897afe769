"""The lab's API server over real HTTP: discovery, lists, watches, tables, errors, patches, logs.

Objects are seeded in their own namespaces with `spec.nodeName` already set, so the simulated kubelet
leaves them exactly as written and every assertion is about the protocol, not the simulation.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import dataclasses
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from kcrash.lab import tables
from kcrash.lab.app import Lab
from kcrash.lab.clock import rfc3339

NS = "proto"
APPS_NS = "proto-apps"
# What kubectl sends with `get`: the Table in v1 or v1beta1, else plain JSON.
TABLE = (
    ",".join(f"application/json;as=Table;v={v};g=meta.k8s.io" for v in ("v1", "v1beta1"))
    + ",application/json"
)
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
DEFAULT_TOKEN = object()


# -- HTTP helpers ------------------------------------------------------------------------------


def opener(context: ssl.SSLContext) -> urllib.request.OpenerDirector:
    """urllib trusting only the given CA, and never a proxy from the environment."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
    )


@dataclasses.dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def http(
    lab: Lab,
    method: str,
    path: str,
    body: Any = None,
    *,
    content_type: str = "application/json",
    accept: str = "application/json",
    token: Any = DEFAULT_TOKEN,
    timeout: float = 10,
) -> Reply:
    data = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
    request = urllib.request.Request(lab.url + path, data=data, method=method)
    request.add_header("Accept", accept)
    if data is not None:
        request.add_header("Content-Type", content_type)
    if token is DEFAULT_TOKEN:
        token = lab.token
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with opener(lab.client_ssl_context()).open(request, timeout=timeout) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


def watch(lab: Lab, path: str, *, limit: int | None = None, accept: str = "application/json") -> list[Any]:
    """Read a watch stream until it ends (or `limit` events arrived); returns the decoded events."""
    request = urllib.request.Request(lab.url + path)
    request.add_header("Accept", accept)
    request.add_header("Authorization", f"Bearer {lab.token}")
    events: list[Any] = []
    with opener(lab.client_ssl_context()).open(request, timeout=15) as response:
        assert response.status == 200
        for line in response:
            if line.strip():
                events.append(orjson.loads(line))
            if limit is not None and len(events) >= limit:
                break
    return events


@contextlib.asynccontextmanager
async def stream(lab: Lab, path: str) -> AsyncIterator[aiohttp.ClientResponse]:
    """An open streaming response (a watch or a log follow) read with aiohttp."""
    headers = {"Authorization": f"Bearer {lab.token}"}
    connector = aiohttp.TCPConnector(ssl=lab.client_ssl_context())
    async with (
        aiohttp.ClientSession(connector=connector, headers=headers) as session,
        session.get(lab.url + path) as response,
    ):
        assert response.status == 200
        yield response


def names(items: list[Any]) -> list[str]:
    return [item["metadata"]["name"] for item in items]


# -- seeded objects --------------------------------------------------------------------------


def ago(lab: Lab, seconds: float) -> str:
    return rfc3339(lab.clock.now() - timedelta(seconds=seconds))


def make_pod(
    lab: Lab,
    name: str,
    node: str,
    *,
    labels: dict[str, str],
    phase: str = "Running",
    statuses: list[Any] | None = None,
    containers: tuple[str, ...] = ("app",),
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 30,
            "containers": [{"name": c, "image": f"registry.example/{c}:1.0"} for c in containers],
        },
        "status": {
            "phase": phase,
            "podIP": "10.244.9.9",
            "podIPs": [{"ip": "10.244.9.9"}],
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": statuses
            if statuses is not None
            else [
                {
                    **_image(c),
                    "name": c,
                    "ready": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": ago(lab, 60)}},
                }
                for c in containers
            ],
        },
    }


def _image(container: str) -> dict[str, str]:
    return {
        "image": f"registry.example/{container}:1.0",
        "imageID": f"registry.example/{container}@sha256:{'0' * 64}",
        "containerID": f"containerd://{container}{'1' * 60}",
    }


def crashing_status(lab: Lab) -> list[Any]:
    return [
        {
            **_image("app"),
            "name": "app",
            "ready": False,
            "restartCount": 7,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting"}},
            "lastState": {
                "terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": ago(lab, 130),
                    "finishedAt": ago(lab, 123),
                }
            },
        }
    ]


def make_deployment(name: str, image: str = "registry.example/app:1.0") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": APPS_NS, "labels": labels},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "app", "image": image, "env": [{"name": "A", "value": "1"}]},
                        {"name": "sidecar", "image": "registry.example/sidecar:1.0"},
                    ]
                },
            },
        },
        "status": {"replicas": 0},
    }


@dataclasses.dataclass
class Seeded:
    node: str
    crash_uid: str


@pytest.fixture(scope="module")
def seeded(lab: Lab) -> Seeded:
    def seed() -> Seeded:
        nodes, _ = lab.store.list("nodes")
        node = nodes[0]["metadata"]["name"]
        for namespace in (NS, APPS_NS):
            if lab.store.get("namespaces", "", namespace) is None:
                lab.store.create(
                    "namespaces",
                    {
                        "apiVersion": "v1",
                        "kind": "Namespace",
                        "metadata": {"name": namespace},
                        "status": {"phase": "Active"},
                    },
                )
        crash = lab.store.create(
            "pods",
            make_pod(
                lab, "crash-1", node, labels={"app": "crash", "tier": "back"}, statuses=crashing_status(lab)
            ),
        )
        for i in range(1, 5):
            lab.store.create("pods", make_pod(lab, f"web-{i}", node, labels={"app": "web", "tier": "front"}))
        lab.store.create(
            "pods", make_pod(lab, "done-1", node, labels={"app": "batch"}, phase="Succeeded", statuses=[])
        )
        lab.store.create(
            "events",
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "crash-1.17f0", "namespace": NS},
                "involvedObject": {
                    "kind": "Pod",
                    "namespace": NS,
                    "name": "crash-1",
                    "uid": crash["metadata"]["uid"],
                    "apiVersion": "v1",
                    "fieldPath": "spec.containers{app}",
                },
                "reason": "BackOff",
                "type": "Warning",
                "count": 5,
                "message": "Back-off restarting failed container app in pod crash-1_proto(x)",
                "source": {"component": "kubelet", "host": node},
                "firstTimestamp": ago(lab, 300),
                "lastTimestamp": ago(lab, 20),
            },
        )
        lab.store.create(
            "events",
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": "web-1.17f1", "namespace": NS},
                "involvedObject": {"kind": "Pod", "namespace": NS, "name": "web-1", "uid": "other"},
                "reason": "Pulled",
                "type": "Normal",
                "message": "pulled",
                "source": {"component": "kubelet"},
                "firstTimestamp": ago(lab, 100),
                "lastTimestamp": ago(lab, 100),
            },
        )
        lab.store.create(
            "configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings", "namespace": NS},
                "data": {"a": "1"},
            },
        )
        lab.store.create("deployments", make_deployment("shop"))
        return Seeded(node, crash["metadata"]["uid"])

    return lab.call(seed)


@pytest.fixture(scope="module")
def kube(kubeconfig: Path) -> Iterator[k8s.ApiClient]:
    api_client = k8s_config.new_client_from_config(config_file=str(kubeconfig))
    yield api_client
    api_client.close()


# -- discovery -------------------------------------------------------------------------------


def test_version_and_health_need_no_token(lab: Lab) -> None:
    version = http(lab, "GET", "/version", token=None)
    assert version.status == 200 and version.json()["major"] == "1"
    assert http(lab, "GET", "/healthz", token=None).body == b"ok"
    assert http(lab, "GET", "/readyz", token=None).status == 200


def test_legacy_discovery(lab: Lab) -> None:
    assert http(lab, "GET", "/api").json()["versions"] == ["v1"]
    groups = {g["name"]: g for g in http(lab, "GET", "/apis").json()["groups"]}
    assert {"apps", "metrics.k8s.io", "authorization.k8s.io"} <= set(groups)
    assert groups["metrics.k8s.io"]["preferredVersion"]["groupVersion"] == "metrics.k8s.io/v1beta1"
    core = {r["name"]: r for r in http(lab, "GET", "/api/v1").json()["resources"]}
    assert core["pods"]["shortNames"] == ["po"] and core["pods"]["namespaced"] is True
    assert core["pods/log"]["verbs"] == ["get"]
    assert core["namespaces"]["namespaced"] is False and core["namespaces"]["shortNames"] == ["ns"]
    assert core["events"]["shortNames"] == ["ev"] and core["configmaps"]["shortNames"] == ["cm"]
    apps = {r["name"]: r for r in http(lab, "GET", "/apis/apps/v1").json()["resources"]}
    assert apps["deployments"]["shortNames"] == ["deploy"] and "patch" in apps["deployments"]["verbs"]
    assert apps["replicasets"]["shortNames"] == ["rs"] and apps["replicasets"]["kind"] == "ReplicaSet"
    assert http(lab, "GET", "/apis/apps").json()["kind"] == "APIGroup"


def test_aggregated_discovery_is_chosen_by_content_type(lab: Lab) -> None:
    reply = http(lab, "GET", "/api", accept=AGGREGATED)
    content_type = reply.headers["Content-Type"]
    assert "g=apidiscovery.k8s.io" in content_type and "v=v2" in content_type
    assert "as=APIGroupDiscoveryList" in content_type
    (core,) = reply.json()["items"]
    assert "name" not in core["metadata"]
    pods = next(r for r in core["versions"][0]["resources"] if r["resource"] == "pods")
    assert pods["scope"] == "Namespaced" and pods["responseKind"] == {
        "group": "",
        "version": "v1",
        "kind": "Pod",
    }
    assert pods["subresources"][0]["subresource"] == "log"
    groups = http(lab, "GET", "/apis", accept=AGGREGATED).json()["items"]
    metrics = next(g for g in groups if g["metadata"]["name"] == "metrics.k8s.io")
    kinds = {r["resource"]: r["responseKind"]["kind"] for r in metrics["versions"][0]["resources"]}
    assert kinds["pods"] == "PodMetrics"


# -- reads -----------------------------------------------------------------------------------


def test_official_client_lists_and_reads(kube: k8s.ApiClient, seeded: Seeded) -> None:
    core = k8s.CoreV1Api(kube)
    pods = core.list_namespaced_pod(NS, label_selector="app=web")
    assert sorted(p.metadata.name for p in pods.items) == ["web-1", "web-2", "web-3", "web-4"]
    assert pods.metadata.resource_version
    crash = core.read_namespaced_pod("crash-1", NS)
    assert crash.status.container_statuses[0].state.waiting.reason == "CrashLoopBackOff"
    assert crash.metadata.uid == seeded.crash_uid
    deployments = k8s.AppsV1Api(kube).list_namespaced_deployment(APPS_NS)
    assert "shop" in [d.metadata.name for d in deployments.items]


def test_all_namespaces_and_cluster_scoped_lists(lab: Lab, seeded: Seeded) -> None:
    everywhere = http(lab, "GET", "/api/v1/pods?labelSelector=app%3Dcrash").json()
    assert everywhere["kind"] == "PodList" and names(everywhere["items"]) == ["crash-1"]
    namespaces = names(http(lab, "GET", "/api/v1/namespaces").json()["items"])
    assert NS in namespaces and "default" in namespaces
    assert http(lab, "GET", f"/api/v1/namespaces/{NS}").json()["kind"] == "Namespace"
    assert seeded.node in names(http(lab, "GET", "/api/v1/nodes").json()["items"])


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web,tier==front", ["web-1", "web-2", "web-3", "web-4"]),
        ("app!=web", ["crash-1", "done-1"]),
        ("app in (crash,batch)", ["crash-1", "done-1"]),
        ("app notin (web,batch)", ["crash-1"]),
        ("tier", ["crash-1", "web-1", "web-2", "web-3", "web-4"]),
        ("!tier", ["done-1"]),
    ],
)
def test_label_selectors(lab: Lab, seeded: Seeded, selector: str, expected: list[str]) -> None:
    query = urllib.request.quote(selector)
    assert (
        names(http(lab, "GET", f"/api/v1/namespaces/{NS}/pods?labelSelector={query}").json()["items"])
        == expected
    )


def test_field_selectors(lab: Lab, seeded: Seeded) -> None:
    def pods(selector: str) -> list[str]:
        return names(
            http(lab, "GET", f"/api/v1/namespaces/{NS}/pods?fieldSelector={selector}").json()["items"]
        )

    assert pods("status.phase%3DSucceeded") == ["done-1"]
    assert pods("metadata.name%3Dweb-2") == ["web-2"]
    assert pods(f"spec.nodeName%3D{seeded.node},status.phase!%3DRunning") == ["done-1"]
    bad = http(lab, "GET", f"/api/v1/namespaces/{NS}/pods?fieldSelector=spec.bogus%3Dx")
    assert bad.status == 400 and bad.json()["message"] == "field label not supported: spec.bogus"


def test_event_field_selector_as_describe_sends_it(lab: Lab, seeded: Seeded) -> None:
    selector = (
        f"involvedObject.name=crash-1,involvedObject.namespace={NS},involvedObject.kind=Pod,"
        f"involvedObject.uid={seeded.crash_uid}"
    )
    reply = http(lab, "GET", f"/api/v1/namespaces/{NS}/events?fieldSelector={urllib.request.quote(selector)}")
    assert [e["reason"] for e in reply.json()["items"]] == ["BackOff"]
    assert (
        http(lab, "GET", f"/api/v1/namespaces/{NS}/events?fieldSelector=type%3DNormal").json()["items"][0][
            "reason"
        ]
        == "Pulled"
    )


def test_paging_is_a_consistent_snapshot(lab: Lab, seeded: Seeded) -> None:
    base = f"/api/v1/namespaces/{NS}/pods"
    first = http(lab, "GET", f"{base}?limit=2").json()
    assert len(first["items"]) == 2 and first["metadata"]["remainingItemCount"] == 4
    rv = first["metadata"]["resourceVersion"]
    lab.call(lambda: lab.store.create("pods", make_pod(lab, "aaa-late", seeded.node, labels={"app": "late"})))
    try:
        seen = names(first["items"])
        token = first["metadata"]["continue"]
        while token:
            page = http(lab, "GET", f"{base}?limit=2&continue={token}").json()
            assert page["metadata"]["resourceVersion"] == rv
            seen += names(page["items"])
            token = page["metadata"].get("continue", "")
        assert seen == ["crash-1", "done-1", "web-1", "web-2", "web-3", "web-4"]
    finally:
        lab.call(lambda: lab.store.delete("pods", NS, "aaa-late"))
    assert http(lab, "GET", f"{base}?limit=2&continue=garbage!").status == 400
    stale = http(lab, "GET", f"{base}?limit=2&continue={_forged_token(999_999, 1)}")
    assert stale.status == 410 and stale.json()["reason"] == "Expired"


def _forged_token(ident: int, rv: int) -> str:
    import base64

    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": "x", "id": ident, "offset": 2})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# -- watches ---------------------------------------------------------------------------------


def test_watch_from_a_resource_version_sends_what_happened_after_it(lab: Lab, seeded: Seeded) -> None:
    rv = http(lab, "GET", f"/api/v1/namespaces/{NS}/pods").json()["metadata"]["resourceVersion"]
    pod = make_pod(lab, "watched", seeded.node, labels={"app": "watched"})
    lab.call(lambda: lab.store.create("pods", pod))
    lab.call(lambda: lab.store.mutate("pods", NS, "watched", lambda p: p["metadata"]["labels"].update(x="1")))
    lab.call(lambda: lab.store.delete("pods", NS, "watched"))
    started = time.monotonic()
    events = watch(lab, f"/api/v1/namespaces/{NS}/pods?watch=1&resourceVersion={rv}&timeoutSeconds=1")
    assert time.monotonic() - started < 5
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "watched"),
        ("MODIFIED", "watched"),
        ("DELETED", "watched"),
    ]
    assert events[0]["object"]["kind"] == "Pod"
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(rv)


def test_watch_without_a_version_starts_with_current_objects(lab: Lab, seeded: Seeded) -> None:
    events = watch(lab, f"/api/v1/namespaces/{NS}/pods?watch=true&labelSelector=app%3Dweb&timeoutSeconds=1")
    assert [e["type"] for e in events] == ["ADDED"] * 4
    assert names([e["object"] for e in events]) == ["web-1", "web-2", "web-3", "web-4"]


def test_live_events_reach_an_open_watch_and_selectors_translate(lab: Lab, seeded: Seeded) -> None:
    async def scenario() -> list[Any]:
        path = f"/api/v1/namespaces/{NS}/pods?watch=1&labelSelector=stage%3Dlive&resourceVersion="
        rv = http(lab, "GET", f"/api/v1/namespaces/{NS}/pods").json()["metadata"]["resourceVersion"]
        async with stream(lab, path + rv + "&timeoutSeconds=5") as response:
            await asyncio.sleep(0.2)
            pod = make_pod(lab, "live", seeded.node, labels={"app": "live", "stage": "live"})
            await asyncio.to_thread(lab.call, lambda: lab.store.create("pods", pod))
            relabel = lambda p: p["metadata"]["labels"].update(stage="gone")  # noqa: E731
            await asyncio.to_thread(lab.call, lambda: lab.store.mutate("pods", NS, "live", relabel))
            events = [orjson.loads(await response.content.readline()) for _ in range(2)]
        await asyncio.to_thread(lab.call, lambda: lab.store.delete("pods", NS, "live"))
        return events

    events = asyncio.run(scenario())
    # It stopped matching the selector: watchers see it DELETED, with its last matching labels.
    assert [e["type"] for e in events] == ["ADDED", "DELETED"]
    assert events[1]["object"]["metadata"]["labels"]["stage"] == "live"


def test_bookmarks_and_timeout(lab: Lab, seeded: Seeded) -> None:
    lab.server.options = dataclasses.replace(lab.server.options, bookmark_interval=0.2)
    try:
        started = time.monotonic()
        events = watch(
            lab,
            f"/api/v1/namespaces/{NS}/pods?watch=1&resourceVersion={lab.store.resource_version}"
            "&allowWatchBookmarks=true&timeoutSeconds=1",
        )
        took = time.monotonic() - started
    finally:
        lab.server.options = dataclasses.replace(lab.server.options, bookmark_interval=1.0)
    assert 0.9 < took < 3
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert len(bookmarks) >= 2
    assert set(bookmarks[0]["object"]) == {"kind", "apiVersion", "metadata"}
    assert list(bookmarks[0]["object"]["metadata"]) == ["resourceVersion"]


def test_expired_resource_version_is_an_error_event_in_a_200_stream(lab: Lab, seeded: Seeded) -> None:
    rv = http(lab, "GET", f"/api/v1/namespaces/{NS}/pods").json()["metadata"]["resourceVersion"]
    lab.call(
        lambda: lab.store.mutate("pods", NS, "web-4", lambda p: p["metadata"].update(annotations={"n": "1"}))
    )
    lab.call(lambda: lab.store.compact("pods"))
    (event,) = watch(lab, f"/api/v1/namespaces/{NS}/pods?watch=1&resourceVersion={rv}")
    assert event["type"] == "ERROR"
    status = event["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert status["message"] == f"too old resource version: {rv} ({lab.store.oldest_rv('pods')})"


def test_forced_410_and_dropped_watches(lab: Lab, seeded: Seeded) -> None:
    lab.faults.force_410_next_watch()
    (event,) = watch(
        lab, f"/api/v1/namespaces/{NS}/pods?watch=1&resourceVersion={lab.store.resource_version}"
    )
    assert event["type"] == "ERROR" and event["object"]["code"] == 410

    async def dropped() -> float:
        headers = {"Authorization": f"Bearer {lab.token}"}
        connector = aiohttp.TCPConnector(ssl=lab.client_ssl_context())
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            url = (
                f"{lab.url}/api/v1/namespaces/{NS}/pods?watch=1&resourceVersion={lab.store.resource_version}"
            )
            async with session.get(url) as response:
                await asyncio.sleep(0.3)
                started = time.monotonic()
                lab.faults.drop_watches()
                assert await response.content.read() == b""
                return time.monotonic() - started

    assert asyncio.run(dropped()) < 2


def test_send_initial_events_ends_with_a_marked_bookmark(lab: Lab, seeded: Seeded) -> None:
    query = "watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan"
    events = watch(lab, f"/api/v1/namespaces/{NS}/pods?{query}&labelSelector=app%3Dcrash", limit=2)
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    refused = http(lab, "GET", f"/api/v1/namespaces/{NS}/pods?watch=1&sendInitialEvents=true")
    assert refused.status == 422 and refused.json()["reason"] == "Invalid"


def test_two_hundred_concurrent_watches(lab: Lab, seeded: Seeded) -> None:
    async def scenario() -> list[Any]:
        rv = lab.store.resource_version
        url = f"{lab.url}/api/v1/namespaces/{NS}/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=20"
        connector = aiohttp.TCPConnector(limit=0, ssl=lab.client_ssl_context())
        headers = {"Authorization": f"Bearer {lab.token}"}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            responses = await asyncio.gather(*(session.get(url) for _ in range(200)))
            assert all(r.status == 200 for r in responses)
            await asyncio.sleep(0.3)
            change = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "fanout", "namespace": NS},
            }
            await asyncio.to_thread(lab.call, lambda: lab.store.create("configmaps", change))
            lines = await asyncio.wait_for(
                asyncio.gather(*(r.content.readline() for r in responses)), timeout=10
            )
            for r in responses:
                r.close()
        return [orjson.loads(line) for line in lines]

    started = time.monotonic()
    events = asyncio.run(scenario())
    assert len(events) == 200 and all(e["object"]["metadata"]["name"] == "fanout" for e in events)
    assert time.monotonic() - started < 15
    deadline = time.monotonic() + 5
    while lab.server.hub.open_streams() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lab.server.hub.open_streams() == 0


# -- tables ----------------------------------------------------------------------------------


def test_table_for_pods(lab: Lab, seeded: Seeded) -> None:
    reply = http(lab, "GET", f"/api/v1/namespaces/{NS}/pods?limit=500", accept=TABLE)
    assert reply.headers["Content-Type"].startswith("application/json")  # as kube-apiserver: no as=Table
    table = reply.json()
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    columns = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert columns == [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ]
    rows = {r["cells"][0]: r for r in table["rows"]}
    crash = rows["crash-1"]
    assert crash["cells"][1:3] == ["0/1", "CrashLoopBackOff"]
    assert crash["cells"][3].startswith("7 (") and crash["cells"][3].endswith(" ago)")
    assert crash["cells"][5:] == ["10.244.9.9", seeded.node, "<none>", "<none>"]
    assert crash["object"]["kind"] == "PartialObjectMetadata"
    assert crash["object"]["metadata"]["namespace"] == NS
    assert (
        rows["done-1"]["cells"][2] == "Succeeded" and rows["done-1"]["conditions"][0]["reason"] == "Succeeded"
    )
    full = http(lab, "GET", f"/api/v1/namespaces/{NS}/pods/crash-1?includeObject=Object", accept=TABLE).json()
    assert full["rows"][0]["object"]["kind"] == "Pod" and "spec" in full["rows"][0]["object"]


def test_tables_for_other_kinds(lab: Lab, seeded: Seeded) -> None:
    def columns(path: str) -> list[str]:
        return [c["name"] for c in http(lab, "GET", path, accept=TABLE).json()["columnDefinitions"]]

    assert columns(f"/apis/apps/v1/namespaces/{APPS_NS}/deployments") == [
        "Name",
        "Ready",
        "Up-to-date",
        "Available",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    assert columns(f"/apis/apps/v1/namespaces/{APPS_NS}/replicasets") == [
        "Name",
        "Desired",
        "Current",
        "Ready",
        "Age",
        "Containers",
        "Images",
        "Selector",
    ]
    assert columns(f"/api/v1/namespaces/{NS}/events")[:5] == [
        "Last Seen",
        "Type",
        "Reason",
        "Object",
        "Subobject",
    ]
    assert columns("/api/v1/namespaces") == ["Name", "Status", "Age"]
    deployment = http(lab, "GET", f"/apis/apps/v1/namespaces/{APPS_NS}/deployments/shop", accept=TABLE).json()
    cells = deployment["rows"][0]["cells"]
    assert cells[0] == "shop" and cells[5:] == [
        "app,sidecar",
        "registry.example/app:1.0,registry.example/sidecar:1.0",
        "app=shop",
    ]
    events = http(lab, "GET", f"/api/v1/namespaces/{NS}/events?fieldSelector=reason%3DBackOff", accept=TABLE)
    row = events.json()["rows"][0]["cells"]
    assert row[1:5] == ["Warning", "BackOff", "pod/crash-1", "spec.containers{app}"]
    assert row[5] == f"kubelet, {seeded.node}" and row[8] == 5


def test_table_watch_sends_headers_once(lab: Lab, seeded: Seeded) -> None:
    events = watch(
        lab, f"/api/v1/namespaces/{NS}/pods?watch=1&labelSelector=app%3Dweb&timeoutSeconds=1", accept=TABLE
    )
    assert len(events) == 4 and all(e["object"]["kind"] == "Table" for e in events)
    assert events[0]["object"]["columnDefinitions"] and not events[1]["object"]["columnDefinitions"]
    assert events[2]["object"]["rows"][0]["cells"][0] == "web-3"


def _status(**changes: Any) -> dict[str, Any]:
    return {"phase": "Running", "conditions": [], **changes}


NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def _pod(
    status: dict[str, Any], *, init: int = 0, deleting: bool = False, containers: int = 1
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "creationTimestamp": "2026-01-01T11:00:00Z"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T12:00:30Z"
    return {
        "metadata": meta,
        "spec": {
            "containers": [{"name": f"c{i}"} for i in range(containers)],
            "initContainers": [{"name": f"i{i}"} for i in range(init)],
        },
        "status": status,
    }


def _c(
    name: str, state: dict[str, Any], ready: bool = False, restarts: int = 0, **extra: Any
) -> dict[str, Any]:
    return {"name": name, "state": state, "ready": ready, "restartCount": restarts, **extra}


RUNNING = {"running": {"startedAt": "2026-01-01T11:00:00Z"}}


@pytest.mark.parametrize(
    ("pod", "ready", "status"),
    [
        (_pod(_status(containerStatuses=[_c("c0", RUNNING, True)])), "1/1", "Running"),
        (
            _pod(_status(containerStatuses=[_c("c0", {"waiting": {"reason": "CrashLoopBackOff"}})])),
            "0/1",
            "CrashLoopBackOff",
        ),
        (
            _pod(
                _status(
                    containerStatuses=[_c("c0", {"terminated": {"exitCode": 137, "reason": "OOMKilled"}})]
                )
            ),
            "0/1",
            "OOMKilled",
        ),
        (_pod(_status(containerStatuses=[_c("c0", {"terminated": {"exitCode": 2}})])), "0/1", "ExitCode:2"),
        (
            _pod(_status(containerStatuses=[_c("c0", {"terminated": {"exitCode": 0, "signal": 9}})])),
            "0/1",
            "Signal:9",
        ),
        (
            _pod(
                _status(
                    phase="Succeeded",
                    containerStatuses=[_c("c0", {"terminated": {"exitCode": 0, "reason": "Completed"}})],
                )
            ),
            "0/1",
            "Completed",
        ),
        (
            _pod(
                _status(
                    containerStatuses=[
                        _c("c0", {"terminated": {"exitCode": 0, "reason": "Completed"}}),
                        _c("c1", RUNNING, True),
                    ]
                ),
                containers=2,
            ),
            "1/2",
            "NotReady",
        ),
        (
            _pod(
                _status(
                    conditions=[{"type": "Ready", "status": "True"}],
                    containerStatuses=[
                        _c("c0", {"terminated": {"exitCode": 0, "reason": "Completed"}}),
                        _c("c1", RUNNING, True),
                    ],
                ),
                containers=2,
            ),
            "1/2",
            "Running",
        ),
        (_pod(_status(containerStatuses=[_c("c0", RUNNING, True)]), deleting=True), "1/1", "Terminating"),
        (_pod(_status(phase="Failed", reason="Evicted")), "0/1", "Evicted"),
        (
            _pod(
                _status(
                    phase="Pending",
                    initContainerStatuses=[
                        _c("i0", {"terminated": {"exitCode": 0}}),
                        _c("i1", {"running": {}}),
                    ],
                ),
                init=3,
            ),
            "0/1",
            "Init:1/3",
        ),
        (
            _pod(
                _status(
                    phase="Pending",
                    initContainerStatuses=[_c("i0", {"waiting": {"reason": "CrashLoopBackOff"}})],
                ),
                init=1,
            ),
            "0/1",
            "Init:CrashLoopBackOff",
        ),
        (
            _pod(
                _status(
                    phase="Pending",
                    initContainerStatuses=[_c("i0", {"terminated": {"exitCode": 1, "reason": "Error"}})],
                ),
                init=1,
            ),
            "0/1",
            "Init:Error",
        ),
        (
            _pod(
                _status(phase="Pending", initContainerStatuses=[_c("i0", {"terminated": {"exitCode": 3}})]),
                init=1,
            ),
            "0/1",
            "Init:ExitCode:3",
        ),
        (
            _pod(
                _status(
                    phase="Pending",
                    initContainerStatuses=[_c("i0", {"terminated": {"exitCode": 3, "signal": 15}})],
                ),
                init=1,
            ),
            "0/1",
            "Init:Signal:15",
        ),
        (
            _pod(
                _status(
                    phase="Pending",
                    conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
                )
            ),
            "0/1",
            "SchedulingGated",
        ),
    ],
)
def test_pod_status_column(pod: dict[str, Any], ready: str, status: str) -> None:
    cells = tables.pod_cells(pod, NOW)
    assert (cells[1], cells[2]) == (ready, status)
    assert cells[4] == "60m"


def test_restarts_column_uses_the_newest_termination() -> None:
    statuses = [
        _c("c0", RUNNING, True, 3, lastState={"terminated": {"finishedAt": "2026-01-01T11:50:00Z"}}),
        _c("c1", RUNNING, True, 4, lastState={"terminated": {"finishedAt": "2026-01-01T11:57:57Z"}}),
    ]
    cells = tables.pod_cells(_pod(_status(containerStatuses=statuses), containers=2), NOW)
    assert cells[3] == "7 (2m3s ago)"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (123, "2m3s"),
        (599, "9m59s"),
        (600, "10m"),
        (10799, "179m"),
        (10800, "3h"),
        (11100, "3h5m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (50 * 3600, "2d2h"),
        (8 * 86400, "8d"),
        (729 * 86400, "729d"),
        (730 * 86400, "2y"),
        (731 * 86400, "2y1d"),
        (8 * 365 * 86400, "8y"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert tables.human_duration(seconds) == text


# -- errors ----------------------------------------------------------------------------------


def test_not_found_bodies(lab: Lab, seeded: Seeded) -> None:
    missing = http(lab, "GET", f"/api/v1/namespaces/{NS}/pods/ghost")
    assert missing.status == 404
    assert missing.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "ghost" not found',
        "reason": "NotFound",
        "details": {"name": "ghost", "kind": "pods"},
        "code": 404,
    }
    deployment = http(lab, "GET", f"/apis/apps/v1/namespaces/{APPS_NS}/deployments/ghost").json()
    assert deployment["message"] == 'deployments.apps "ghost" not found'
    assert deployment["details"] == {"name": "ghost", "group": "apps", "kind": "deployments"}
    assert http(lab, "GET", "/api/v1/widgets").status == 404
    assert http(lab, "GET", "/apis/nothing.example/v1/things").status == 404
    assert http(lab, "GET", f"/api/v1/pods/{NS}").status == 404


@pytest.mark.parametrize(
    ("path", "token", "status"),
    [
        ("/api/v1/namespaces", DEFAULT_TOKEN, 200),
        ("/api/v1/namespaces", None, 401),
        ("/api/v1/namespaces", "not-the-token", 401),
        ("/api", None, 401),
        (f"/api/v1/namespaces/{NS}/pods?watch=1", None, 401),
        ("/version", None, 200),  # public, as on a real API server
        ("/healthz", None, 200),
    ],
)
def test_authentication(lab: Lab, path: str, token: Any, status: int) -> None:
    reply = http(lab, "GET", path, token=token)
    assert reply.status == status
    if status == 401:
        assert reply.json() == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }


def test_forbidden_words(lab: Lab, seeded: Seeded) -> None:
    lab.faults.deny("list", "pods")
    lab.faults.deny("delete", "pods")
    lab.faults.deny("get", "pods/log")
    try:
        cluster = http(lab, "GET", "/api/v1/pods").json()
        namespaced = http(lab, "GET", f"/api/v1/namespaces/{NS}/pods").json()
        named = http(lab, "DELETE", f"/api/v1/namespaces/{NS}/pods/web-1").json()
        logs = http(lab, "GET", f"/api/v1/namespaces/{NS}/pods/web-1/log").json()
    finally:
        lab.faults.clear_denies()
    user = 'User "kcrash-lab"'
    assert cluster["code"] == 403 and cluster["reason"] == "Forbidden"
    assert (
        cluster["message"]
        == f'pods is forbidden: {user} cannot list resource "pods" in API group "" at the cluster scope'
    )
    assert namespaced["message"] == (
        f'pods is forbidden: {user} cannot list resource "pods" in API group "" in the namespace "{NS}"'
    )
    assert named["message"] == (
        f'pods "web-1" is forbidden: {user} cannot delete resource "pods" in API group "" '
        f'in the namespace "{NS}"'
    )
    assert 'cannot get resource "pods/log"' in logs["message"]
    assert http(lab, "GET", f"/api/v1/namespaces/{NS}/pods/web-1").status == 200


def test_methods_that_are_not_served(lab: Lab, seeded: Seeded) -> None:
    put = http(lab, "PUT", f"/api/v1/namespaces/{NS}/pods/web-1", {"metadata": {}})
    assert put.status == 405 and put.json()["reason"] == "MethodNotAllowed"
    # Deleting a namespace would have to empty it first; the lab does not (docs/lab.md).
    assert http(lab, "DELETE", f"/api/v1/namespaces/{NS}").status == 405
    assert http(lab, "POST", f"/api/v1/namespaces/{NS}/pods/web-1", {"metadata": {}}).status == 405
    assert (
        http(lab, "GET", f"/api/v1/namespaces/{NS}/pods", accept="application/vnd.kubernetes.protobuf").status
        == 406
    )


def test_injected_faults(lab: Lab, seeded: Seeded) -> None:
    lab.faults.fail_next(1, status=429)
    throttled = http(lab, "GET", f"/api/v1/namespaces/{NS}/pods")
    assert throttled.status == 429 and throttled.headers["Retry-After"] == "1"
    assert throttled.json()["details"]["retryAfterSeconds"] == 1
    lab.faults.fail_next(1)
    broken = http(lab, "GET", f"/api/v1/namespaces/{NS}/pods")
    assert broken.status == 500 and broken.json()["reason"] == "InternalError"
    lab.faults.set_error_rate(1.0)
    try:
        assert http(lab, "GET", f"/api/v1/namespaces/{NS}/pods").status == 500
        assert http(lab, "GET", "/api").status == 200  # discovery is never failed on purpose
    finally:
        lab.faults.set_error_rate(0.0)
    lab.faults.set_latency(150)
    try:
        started = time.monotonic()
        http(lab, "GET", "/version")
        assert time.monotonic() - started >= 0.15
    finally:
        lab.faults.set_latency(0)


def test_request_log(lab: Lab, seeded: Seeded) -> None:
    lab.faults.clear_requests()
    http(lab, "GET", f"/api/v1/namespaces/{NS}/pods?limit=3")
    http(
        lab,
        "PATCH",
        f"/apis/apps/v1/namespaces/{APPS_NS}/deployments/shop",
        {"metadata": {}},
        content_type="application/merge-patch+json",
    )
    (get,) = lab.faults.requests("GET")
    assert (get.path, get.query) == (f"/api/v1/namespaces/{NS}/pods", "limit=3")
    (patch,) = lab.faults.requests("PATCH", path_prefix="/apis/apps")
    assert patch.content_type == "application/merge-patch+json" and patch.time <= time.time()
    lab.faults.clear_requests()
    assert lab.faults.requests() == []


def test_self_subject_access_review(lab: Lab) -> None:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": NS, "verb": "delete", "resource": "pods"}},
    }
    path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    allowed = http(lab, "POST", path, review)
    assert allowed.status == 201 and allowed.json()["status"]["allowed"] is True
    lab.faults.deny("delete", "pods")
    try:
        denied = http(lab, "POST", path, review).json()
    finally:
        lab.faults.allow("delete", "pods")
    assert denied["status"]["allowed"] is False and denied["spec"] == review["spec"]


# -- writes ----------------------------------------------------------------------------------


def _deployment(lab: Lab, name: str) -> dict[str, Any]:
    return http(lab, "GET", f"/apis/apps/v1/namespaces/{APPS_NS}/deployments/{name}").json()


def _patch(lab: Lab, name: str, body: Any, kind: str, query: str = "") -> Reply:
    return http(
        lab,
        "PATCH",
        f"/apis/apps/v1/namespaces/{APPS_NS}/deployments/{name}{query}",
        body,
        content_type=f"application/{kind}+json",
    )


@pytest.fixture
def deployment(lab: Lab, seeded: Seeded, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"d-{request.node.name.split('[')[0][-20:].replace('_', '-')}"
    lab.call(lambda: lab.store.create("deployments", make_deployment(name)))
    yield name
    lab.call(lambda: lab.store.delete("deployments", APPS_NS, name))


def test_json_patch_as_rollout_undo_sends_it(lab: Lab, deployment: str) -> None:
    before = _deployment(lab, deployment)
    template = copy.deepcopy(before["spec"]["template"])
    template["spec"]["containers"][0]["image"] = "registry.example/app:0.9"
    ops = [
        {"op": "replace", "path": "/spec/template", "value": template},
        {
            "op": "replace",
            "path": "/metadata/annotations",
            "value": {"deployment.kubernetes.io/revision": "3"},
        },
    ]
    reply = _patch(lab, deployment, ops, "json-patch")
    after = reply.json()
    assert reply.status == 200
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/app:0.9"
    assert after["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "3"}
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    failed = _patch(
        lab, deployment, [{"op": "replace", "path": "/spec/nothing/here", "value": 1}], "json-patch"
    )
    assert failed.status == 422 and failed.json()["reason"] == "Invalid"
    assert _patch(lab, deployment, {"op": "replace"}, "json-patch").status == 400


def test_merge_and_strategic_patches(lab: Lab, deployment: str) -> None:
    generation = _deployment(lab, deployment)["metadata"]["generation"]
    merged = _patch(lab, deployment, {"metadata": {"annotations": {"team": "shop"}}}, "merge-patch").json()
    assert merged["metadata"]["annotations"]["team"] == "shop"
    assert merged["metadata"]["generation"] == generation  # no spec change, no new generation
    image = {
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry.example/app:2.0"}]}}}
    }
    strategic = _patch(lab, deployment, image, "strategic-merge-patch").json()
    containers = strategic["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [
        ("app", "registry.example/app:2.0"),
        ("sidecar", "registry.example/sidecar:1.0"),
    ]
    assert containers[0]["env"] == [{"name": "A", "value": "1"}]
    assert strategic["metadata"]["generation"] == generation + 1
    plain = _patch(lab, deployment, image, "merge-patch").json()  # a merge patch replaces the whole list
    assert [c["name"] for c in plain["spec"]["template"]["spec"]["containers"]] == ["app"]
    delete_sidecar = {"spec": {"template": {"spec": {"containers": [{"name": "app", "$patch": "delete"}]}}}}
    emptied = _patch(lab, deployment, delete_sidecar, "strategic-merge-patch")
    assert emptied.status == 422
    assert emptied.json()["details"]["causes"][0]["field"] == "spec.template.spec.containers"


def test_patch_validation_and_conflicts(lab: Lab, deployment: str) -> None:
    negative = _patch(lab, deployment, {"spec": {"replicas": -1}}, "merge-patch").json()
    assert negative["code"] == 422
    assert negative["message"] == (
        f'Deployment.apps "{deployment}" is invalid: spec.replicas: Invalid value: -1: '
        "must be greater than or equal to 0"
    )
    stale = _patch(
        lab, deployment, {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 2}}, "merge-patch"
    )
    assert stale.status == 409 and stale.json()["reason"] == "Conflict"
    assert "the object has been modified" in stale.json()["message"]
    status_change = _patch(lab, deployment, {"status": {"replicas": 9}}, "merge-patch").json()
    assert status_change["status"].get("replicas") != 9  # status is not patchable through the main resource
    unsupported = _patch(lab, deployment, {"spec": {}}, "apply-patch")
    assert unsupported.status == 415


def test_dry_run_changes_nothing(lab: Lab, deployment: str, seeded: Seeded) -> None:
    before = _deployment(lab, deployment)
    preview = _patch(lab, deployment, {"spec": {"replicas": 3}}, "merge-patch", "?dryRun=All").json()
    assert preview["spec"]["replicas"] == 3
    assert _deployment(lab, deployment) == before
    lab.call(lambda: lab.store.create("pods", make_pod(lab, "keep-me", seeded.node, labels={"app": "keep"})))
    try:
        deleted = http(lab, "DELETE", f"/api/v1/namespaces/{NS}/pods/keep-me?dryRun=All")
        assert deleted.status == 200
        assert http(lab, "GET", f"/api/v1/namespaces/{NS}/pods/keep-me").status == 200
    finally:
        lab.call(lambda: lab.store.delete("pods", NS, "keep-me"))


def test_delete_pod_honours_uid_preconditions_and_grace(lab: Lab, seeded: Seeded) -> None:
    pod = lab.call(
        lambda: lab.store.create("pods", make_pod(lab, "doomed", seeded.node, labels={"app": "doomed"}))
    )
    path = f"/api/v1/namespaces/{NS}/pods/doomed"
    wrong = http(lab, "DELETE", path, {"preconditions": {"uid": "0000"}, "propagationPolicy": "Background"})
    uid = pod["metadata"]["uid"]
    assert wrong.status == 409 and wrong.json()["reason"] == "Conflict"
    assert wrong.json()["message"] == (
        f'Operation cannot be fulfilled on Pod "doomed": the UID in the precondition (0000) does not match '
        f"the UID in record ({uid}). The object might have been deleted and then recreated"
    )
    bad_policy = http(lab, "DELETE", path, {"propagationPolicy": "Sideways"})
    assert bad_policy.status == 422
    graceful = http(lab, "DELETE", path, {"preconditions": {"uid": uid}, "gracePeriodSeconds": 30})
    assert graceful.status == 200
    meta = graceful.json()["metadata"]
    if lab.sim.simulated:  # a live kubelet finishes the deletion later
        assert meta["deletionGracePeriodSeconds"] == 30 and meta["deletionTimestamp"]
        row = http(lab, "GET", path, accept=TABLE)
        assert row.status == 404 or row.json()["rows"][0]["cells"][2] == "Terminating"
    now = http(lab, "DELETE", path + "?gracePeriodSeconds=0")
    assert now.status in (200, 404)
    assert http(lab, "GET", path).status == 404


def test_delete_owner_cascades_or_orphans(lab: Lab, seeded: Seeded) -> None:
    def seed() -> None:
        for name in ("keep-owner", "drop-owner"):
            lab.sim.controllers.ignore("deployments", APPS_NS, name)  # served as given
            lab.sim.controllers.ignore("replicasets", APPS_NS, f"{name}-rs")
            owner = lab.store.create("deployments", make_deployment(name))
            reference = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": name,
                "uid": owner["metadata"]["uid"],
                "controller": True,
            }
            lab.store.create(
                "replicasets",
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {"name": f"{name}-rs", "namespace": APPS_NS, "ownerReferences": [reference]},
                    "spec": {
                        "replicas": 0,
                        "selector": owner["spec"]["selector"],
                        "template": owner["spec"]["template"],
                    },
                },
            )

    lab.call(seed)
    base = f"/apis/apps/v1/namespaces/{APPS_NS}"
    orphaned = http(lab, "DELETE", f"{base}/deployments/keep-owner", {"propagationPolicy": "Orphan"})
    assert orphaned.status == 200 and orphaned.json()["status"] == "Success"
    assert orphaned.json()["details"]["kind"] == "deployments"
    kept = http(lab, "GET", f"{base}/replicasets/keep-owner-rs")
    assert kept.status == 200 and kept.json()["metadata"]["ownerReferences"] == []
    assert (
        http(lab, "DELETE", f"{base}/deployments/drop-owner", {"propagationPolicy": "Background"}).status
        == 200
    )
    assert http(lab, "GET", f"{base}/replicasets/drop-owner-rs").status == 404
    assert http(lab, "GET", f"{base}/deployments/drop-owner").status == 404
    lab.call(lambda: lab.store.delete("replicasets", APPS_NS, "keep-owner-rs"))


def test_stop_ends_open_streams(make_lab: Any) -> None:
    small = make_lab(builtin_scenarios=False)
    small.call(lambda: small.store.create("namespaces", {"metadata": {"name": NS}}))

    def talk() -> None:
        nodes, _ = small.store.list("nodes")
        small.store.create("pods", make_pod(small, "chatty", nodes[0]["metadata"]["name"], labels={}))
        small.logs.start_instance(NS, "chatty", "app")
        small.logs.append(NS, "chatty", "app", small.clock.now().timestamp(), "hello")

    small.call(talk)

    async def scenario() -> float:
        async with (
            stream(small, f"/api/v1/namespaces/{NS}/pods?watch=1") as watching,
            stream(small, f"/api/v1/namespaces/{NS}/pods/chatty/log?follow=true") as following,
        ):
            assert (await following.content.readline()) == b"hello\n"
            await watching.content.readline()
            started = time.monotonic()
            await asyncio.to_thread(small.stop)
            await asyncio.wait_for(watching.content.read(), timeout=5)
            await asyncio.wait_for(following.content.read(), timeout=5)
            return time.monotonic() - started

    assert asyncio.run(scenario()) < 5


# -- logs ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def logged(lab: Lab, seeded: Seeded) -> str:
    """A two-container pod with a previous instance of `app` and a running current one."""

    def seed() -> None:
        lab.store.create(
            "pods", make_pod(lab, "talker", seeded.node, labels={"app": "talker"}, containers=("app", "side"))
        )
        base = lab.clock.now().timestamp()
        lab.logs.start_instance(NS, "talker", "app")
        for i in range(3):
            lab.logs.append(NS, "talker", "app", base - 200 + i, f"old line {i}")
        lab.logs.end_instance(NS, "talker", "app")
        lab.logs.start_instance(NS, "talker", "app")
        for i in range(5):
            lab.logs.append(NS, "talker", "app", base - 100 + i * 20, f"line {i}")

    lab.call(seed)
    return f"/api/v1/namespaces/{NS}/pods/talker/log"


def test_logs_select_and_format(lab: Lab, logged: str) -> None:
    def text(query: str) -> str:
        reply = http(lab, "GET", f"{logged}?{query}", accept="*/*")
        assert reply.status == 200, reply.body
        return reply.body.decode()

    assert text("container=app") == "".join(f"line {i}\n" for i in range(5))
    assert text("container=app&previous=true") == "old line 0\nold line 1\nold line 2\n"
    assert text("container=app&tailLines=2") == "line 3\nline 4\n"
    assert text("container=app&limitBytes=8") == "line 0\nl"
    assert text("container=app&sinceSeconds=50") == "line 3\nline 4\n"
    stamped = text("container=app&timestamps=true&tailLines=1").split(" ", 1)
    assert stamped[1] == "line 4\n" and len(stamped[0]) == len("2026-01-01T00:00:00.000000000Z")
    assert stamped[0].endswith("000Z")


def test_log_errors(lab: Lab, logged: str) -> None:
    def error(query: str) -> tuple[int, str]:
        reply = http(lab, "GET", f"{logged}?{query}")
        return reply.status, reply.json()["message"]

    assert error("container=side&previous=true") == (
        400,
        'previous terminated container "side" in pod "talker" not found',
    )
    assert error("container=nope") == (400, "container nope is not valid for pod talker")
    assert error("") == (400, "a container name must be specified for pod talker, choose one of: [app side]")
    assert (
        http(lab, "GET", f"/api/v1/namespaces/{NS}/pods/ghost/log").json()["message"]
        == 'pods "ghost" not found'
    )


def test_log_follow_streams_until_the_instance_ends(lab: Lab, logged: str) -> None:
    async def scenario() -> bytes:
        async with stream(lab, f"{logged}?container=app&follow=true&tailLines=1") as response:
            first = await response.content.readline()
            assert first == b"line 4\n"
            stamp = lab.clock.now().timestamp()
            await asyncio.to_thread(lab.call, lambda: lab.logs.append(NS, "talker", "app", stamp, "fresh"))
            await asyncio.to_thread(lab.call, lambda: lab.logs.end_instance(NS, "talker", "app"))
            rest = await asyncio.wait_for(response.content.read(), timeout=5)
        return first + rest

    assert asyncio.run(scenario()) == b"line 4\nfresh\n"


def test_log_follow_sends_each_line_whole_and_a_cut_line_without_newline(lab: Lab, logged: str) -> None:
    def write(text: str) -> None:
        stamp = lab.clock.now().timestamp()
        lab.call(lambda: lab.logs.append(NS, "talker", "app", stamp, text))

    async def scenario() -> tuple[bytes, bytes]:
        await asyncio.to_thread(lab.call, lambda: lab.logs.start_instance(NS, "talker", "app"))
        async with stream(lab, f"{logged}?container=app&follow=true") as response:
            await asyncio.to_thread(write, "written")
            # The newline comes with the line, not with the next one.
            first = await asyncio.wait_for(response.content.readline(), timeout=2)
            stamp = lab.clock.now().timestamp()
            await asyncio.to_thread(
                lab.call, lambda: lab.logs.end_instance(NS, "talker", "app", "killed mid-wr", stamp)
            )
            rest = await asyncio.wait_for(response.content.read(), timeout=5)
        return first, rest

    assert asyncio.run(scenario()) == (b"written\n", b"killed mid-wr")


# -- the command line ----------------------------------------------------------------------------

LAB_CLI = "import sys; from kcrash.lab.cli import main; sys.exit(main(sys.argv[1:]))"


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    config = tmp_path / "lab.kubeconfig"
    command = [
        sys.executable,
        "-c",
        LAB_CLI,
        "--kubeconfig",
        str(config),
        "--speed",
        "5",
        "--deny",
        "delete:pods",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("kcrash lab serving https://127.0.0.1:") and f"KUBECONFIG={config}" in line
        written = yaml.safe_load(config.read_text())
        cluster, user = written["clusters"][0]["cluster"], written["users"][0]["user"]
        context = ssl.create_default_context(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
        )
        client = opener(context)
        with pytest.raises(urllib.error.HTTPError) as anonymous:
            client.open(urllib.request.Request(cluster["server"] + "/api/v1/namespaces"), timeout=10)
        assert anonymous.value.code == 401
        bearer = {"Authorization": f"Bearer {user['token']}"}
        reply = client.open(
            urllib.request.Request(cluster["server"] + "/api/v1/namespaces", headers=bearer), timeout=10
        )
        assert reply.status == 200
        with pytest.raises(urllib.error.HTTPError) as denied:
            client.open(
                urllib.request.Request(
                    cluster["server"] + "/api/v1/namespaces/crashlab/pods/x", method="DELETE", headers=bearer
                )
            )
        assert denied.value.code == 403
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert (process.returncode, out, err) == (0, "", "")


@pytest.mark.parametrize(
    ("flags", "complaint"),
    [
        (["--speed", "0"], "argument --speed: must be greater than 0"),
        (["--deny", "pods"], "argument --deny: expected VERB:RESOURCE"),
        (["--load", "/no/such/file.yaml"], "argument --load: no such file"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_cli_rejects_bad_flags_in_one_line(flags: list[str], complaint: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LAB_CLI, *flags], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("kcrash lab: error: ") and complaint in result.stderr
    assert result.stderr.count("\n") == 1


def test_cli_rejects_a_bad_scenario_file_in_one_line(tmp_path: Path) -> None:
    scenarios = tmp_path / "broken.yaml"
    scenarios.write_text("scenarios:\n  - {name: x, nonsense: 1}\n")
    result = subprocess.run(
        [sys.executable, "-c", LAB_CLI, "--scenarios", str(scenarios)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("kcrash lab: error: ") and "Traceback" not in result.stderr


def test_cli_reports_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-c", LAB_CLI, "--port", str(port), "--no-builtin"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"kcrash lab: error: cannot serve on 127.0.0.1:{port}")
