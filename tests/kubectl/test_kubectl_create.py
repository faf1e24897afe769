"""Real kubectl writing to the lab: run, create, apply, scale, and the API server's refusals.

The module gets its own lab (the `lab` fixture is module-scoped), so the objects made here do not
disturb the scenario tests. Created Deployments must be reconciled by the lab's controllers into a
ReplicaSet and pods, and created Pods run by its kubelet.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.kubectl

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
NS = "crashlab"


def eventually(check: Callable[[], bool], timeout: float = 30.0, every: float = 0.3) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(every)


def write_json(tmp_path: Path, name: str, obj: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(obj), encoding="utf-8")
    return str(path)


def test_run_starts_a_healthy_pod(kubectl: Kubectl) -> None:
    out = kubectl("run", "hello", "--image=registry.example.com/tools/hello:1.0", "--labels=app=hello").stdout
    assert out.strip() == "pod/hello created"

    def running() -> bool:
        pod = json.loads(kubectl("get", "pod", "hello", "-o", "json").stdout)
        statuses = pod["status"].get("containerStatuses") or [{}]
        return pod["status"].get("phase") == "Running" and statuses[0].get("ready") is True

    eventually(running)
    pod = json.loads(kubectl("get", "pod", "hello", "-o", "json").stdout)
    assert pod["spec"]["nodeName"].startswith("lab-")
    assert pod["spec"]["restartPolicy"] == "Always" and pod["metadata"]["uid"]
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0


def test_create_deployment_is_reconciled_into_pods(kubectl: Kubectl) -> None:
    out = kubectl(
        "create", "deployment", "made", "--image=registry.example.com/shop/made:2.0", "--replicas=2"
    )
    assert out.stdout.strip() == "deployment.apps/made created"
    status = kubectl("rollout", "status", "deployment/made", "--timeout=40s", timeout=60).stdout
    assert "successfully rolled out" in status
    sets = kubectl("get", "rs", "-l", "app=made", "-o", "json").stdout
    (rs,) = json.loads(sets)["items"]
    assert rs["metadata"]["ownerReferences"][0]["name"] == "made"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    pods = json.loads(kubectl("get", "pods", "-l", "app=made", "-o", "json").stdout)["items"]
    assert len(pods) == 2 and all(p["status"]["phase"] == "Running" for p in pods)


def test_create_twice_is_already_exists(kubectl: Kubectl) -> None:
    kubectl("create", "configmap", "twice", "--from-literal=a=1")
    again = kubectl("create", "configmap", "twice", "--from-literal=a=1", check=False)
    assert again.returncode != 0
    assert again.stderr.strip() == 'error: failed to create configmap: configmaps "twice" already exists'


def test_scale_goes_through_the_scale_subresource(kubectl: Kubectl) -> None:
    kubectl("create", "deployment", "grow", "--image=registry.example.com/shop/grow:1.0")
    assert kubectl("scale", "deployment/grow", "--replicas=3").stdout.strip() == "deployment.apps/grow scaled"

    def three_ready() -> bool:
        got = kubectl("get", "deployment", "grow", "-o", "jsonpath={.status.readyReplicas}").stdout
        return got == "3"

    eventually(three_ready)
    scale = json.loads(
        kubectl("get", "--raw", f"/apis/apps/v1/namespaces/{NS}/deployments/grow/scale").stdout
    )
    assert (scale["kind"], scale["apiVersion"]) == ("Scale", "autoscaling/v1")
    assert scale["spec"] == {"replicas": 3} and scale["status"]["selector"] == "app=grow"


def test_apply_creates_then_patches(kubectl: Kubectl, tmp_path: Path) -> None:
    def manifest(image: str, data: str) -> str:
        labels = {"app": "applied"}
        deployment = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "applied", "annotations": {"kubernetes.io/change-cause": f"ship {image}"}},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": image}]},
                },
            },
        }
        config = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "applied"},
            "data": {"k": data},
        }
        path = tmp_path / "applied.yaml"  # two documents (JSON is YAML)
        path.write_text(json.dumps(deployment) + "\n---\n" + json.dumps(config) + "\n", encoding="utf-8")
        return str(path)

    first = kubectl("apply", "-f", manifest("registry.example.com/a:1.0", "one")).stdout.splitlines()
    assert first == ["deployment.apps/applied created", "configmap/applied created"]
    second = kubectl("apply", "-f", manifest("registry.example.com/a:1.1", "two")).stdout.splitlines()
    assert second == ["deployment.apps/applied configured", "configmap/applied configured"]
    assert kubectl("get", "configmap", "applied", "-o", "jsonpath={.data.k}").stdout == "two"
    kubectl("rollout", "status", "deployment/applied", "--timeout=40s", timeout=60)
    history = kubectl("rollout", "history", "deployment/applied").stdout
    assert re.search(r"^1\s+ship registry\.example\.com/a:1\.0$", history, re.M), history
    assert re.search(r"^2\s+ship registry\.example\.com/a:1\.1$", history, re.M), history


def test_generate_name_dry_run_and_refusals(kubectl: Kubectl, tmp_path: Path) -> None:
    container = {"name": "app", "image": "registry.example.com/tools/hello:1.0"}
    generated = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "gen-"},
        "spec": {"containers": [container]},
    }
    made = kubectl("create", "-f", write_json(tmp_path, "gen.json", generated), "-o", "name").stdout.strip()
    assert re.fullmatch(r"pod/gen-[bcdfghjklmnpqrstvwxz2456789]{5}", made), made

    dry = kubectl(
        "create", "deployment", "ghost", "--image=registry.example.com/g:1", "--dry-run=server", "-o", "json"
    )
    assert json.loads(dry.stdout)["metadata"]["uid"]
    missing = kubectl("get", "deployment", "ghost", check=False)
    assert 'deployments.apps "ghost" not found' in missing.stderr

    nameless = {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "spec": {"containers": [container]}}
    refused = kubectl("create", "-f", write_json(tmp_path, "nameless.json", nameless), check=False)
    assert refused.returncode != 0
    assert "is invalid: metadata.name: Required value: name or generateName is required" in refused.stderr

    elsewhere = {**generated, "metadata": {"name": "moved", "namespace": "default"}}
    path = write_json(tmp_path, "elsewhere.json", elsewhere)
    wrong = kubectl("create", "--raw", f"/api/v1/namespaces/{NS}/pods", "-f", path, check=False)
    assert wrong.returncode != 0
    assert (
        "the namespace of the provided object does not match the namespace sent on the request"
        in wrong.stderr
    )


def test_create_namespace_and_secret(kubectl: Kubectl) -> None:
    # kubectl's typed clients send these as protobuf.
    assert kubectl("create", "namespace", "team-x").stdout.strip() == "namespace/team-x created"
    kubectl("create", "secret", "generic", "db", "-n", "team-x", "--from-literal=url=postgres://db:5432/app")
    encoded = kubectl("get", "secret", "db", "-n", "team-x", "-o", "jsonpath={.data.url}").stdout
    assert base64.b64decode(encoded) == b"postgres://db:5432/app"
    assert kubectl("get", "secret", "db", "-n", "team-x", "-o", "jsonpath={.type}").stdout == "Opaque"
