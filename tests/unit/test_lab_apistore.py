"""The lab's store against a real apiserver, without one: what comes in from the pod watch, what is
queued to go out, the Node as the apiserver gets it, and how old each scenario's pod is made."""

from __future__ import annotations

import copy
from typing import Any

from kcrash.lab.clock import SimClock
from kcrash.lab.realcp.apiclient import ApiClient
from kcrash.lab.realcp.apistore import ApiStore, event_body, node_body
from kcrash.lab.realcp.nodes import LabNodes
from kcrash.lab.scenarios import load_builtin_scenarios

NODE = "lab-worker-1"


def pod(name: str, node: str = NODE, uid: str = "uid-1", rv: str = "7", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "crashlab", "uid": uid, "resourceVersion": rv, **meta},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "example/app:1"}]},
        "status": {"phase": "Pending"},
    }


def store() -> ApiStore:
    # Never started: nothing is sent, writes stay queued where the test can see them.
    return ApiStore(SimClock(), ApiClient("https://127.0.0.1:1", "token", b""), lambda: {NODE})


def test_only_pods_bound_to_the_labs_nodes_come_in() -> None:
    s = store()
    s.apply_remote("pods", "ADDED", [pod("mine"), pod("theirs", node="elsewhere"), pod("unbound", node="")])
    assert [p["metadata"]["name"] for p in s.list("pods")[0]] == ["mine"]
    assert s._writes.qsize() == 0  # what came from the apiserver is not sent back


def test_the_local_status_survives_the_apiservers_echo_but_deletion_comes_through() -> None:
    s = store()
    s.apply_remote("pods", "ADDED", [pod("a")])
    local = copy.deepcopy(s.get("pods", "crashlab", "a"))
    assert local is not None
    local["status"] = {"phase": "Running"}
    s.replace("pods", local)
    s.apply_remote("pods", "MODIFIED", [pod("a", rv="8")])  # the echo of an older status
    assert s.get("pods", "crashlab", "a")["status"] == {"phase": "Running"}  # type: ignore[index]
    s.apply_remote("pods", "MODIFIED", [pod("a", rv="9", deletionTimestamp="2026-01-01T00:00:00Z")])
    current = s.get("pods", "crashlab", "a")
    assert current is not None and current["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:00Z"
    assert current["status"] == {"phase": "Running"}


def test_status_writes_of_one_pod_coalesce_into_the_newest() -> None:
    s = store()
    s.apply_remote("pods", "ADDED", [pod("a")])
    for phase in ("Pending", "Running", "Failed"):
        fresh = copy.deepcopy(s.get("pods", "crashlab", "a"))
        assert fresh is not None
        fresh["status"] = {"phase": phase}
        s.replace("pods", fresh)
    assert s._writes.qsize() == 1
    assert s._status[("crashlab", "a")]["status"] == {"phase": "Failed"}


def test_a_pod_deleted_here_is_not_brought_back_by_a_late_event() -> None:
    s = store()
    s.apply_remote("pods", "ADDED", [pod("a")])
    s.delete("pods", "crashlab", "a", uid="uid-1")
    s.apply_remote("pods", "MODIFIED", [pod("a", rv="12")])
    assert s.get("pods", "crashlab", "a") is None
    s.apply_remote("pods", "ADDED", [pod("a", uid="uid-2")])  # a new pod of that name is another matter
    assert s.get("pods", "crashlab", "a") is not None


def test_a_relist_forgets_pods_the_apiserver_no_longer_has() -> None:
    s = store()
    s.apply_remote("pods", "ADDED", [pod("a"), pod("b", uid="uid-b")])
    s.apply_remote("pods", "SYNC", [pod("b", uid="uid-b")])
    assert [p["metadata"]["name"] for p in s.list("pods")[0]] == ["b"]


def test_the_node_is_reachable_on_loopback_at_the_kubelet_port() -> None:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": NODE, "uid": "local", "resourceVersion": "3", "creationTimestamp": "x"},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "10.0.1.10"}],
            "conditions": [{"type": "Ready"}],
        },
    }
    body = node_body(node, 41234)
    assert body["status"]["addresses"][0] == {"type": "InternalIP", "address": "127.0.0.1"}
    assert body["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 41234}}
    assert set(body["metadata"]) == {"name"}
    assert body["status"]["conditions"][0]["lastHeartbeatTime"].endswith("Z")


def test_events_lose_the_local_stores_versions() -> None:
    event = {
        "metadata": {"name": "a.1", "namespace": "crashlab", "uid": "u", "resourceVersion": "4"},
        "involvedObject": {"kind": "Pod", "name": "a", "uid": "pod-uid", "resourceVersion": "3"},
    }
    body = event_body(event)
    assert body["kind"] == "Event" and "uid" not in body["metadata"]
    assert body["involvedObject"] == {"kind": "Pod", "name": "a", "uid": "pod-uid"}


def test_a_pods_past_is_its_scenarios_age_less_the_later_revisions() -> None:
    nodes = LabNodes(ApiClient("https://127.0.0.1:1", "token", b""), load_builtin_scenarios())
    good = pod("bad-rollout-6c8bdcc664-abcde")
    good["spec"]["containers"][0]["image"] = "registry.example.com/shop/api:1.4.2"
    bad = pod("bad-rollout-97f8bd6b7-abcde")
    bad["spec"]["containers"][0]["image"] = "registry.example.com/shop/api:1.5.0"
    assert nodes.started_ago(good) == 7200.0  # age 2h
    assert nodes.started_ago(bad) == 15 * 60.0  # the bad template came 105 minutes later
    assert nodes.started_ago(pod("oom-batch")) == 30 * 60.0
    assert nodes.started_ago(pod("not-a-scenario-x")) == 0.0
