"""POST to a collection on the lab, through the real `kubernetes` client: what a real API server answers.

Statuses and their bodies (409 AlreadyExists, 422 Invalid with causes, 400 for a namespace that
does not match the URL, 404 for a namespace that does not exist), generateName, server-side dry
run, what create resets (uid, status), pod updates that may not change the spec, and the scale
subresource. The module has its own lab (module-scoped fixture).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from kcrash.lab.app import Lab

NS = "crashlab"


@pytest.fixture(scope="module")
def core(kubeconfig: Path) -> Iterator[k8s.CoreV1Api]:
    api_client = k8s_config.new_client_from_config(config_file=str(kubeconfig))
    yield k8s.CoreV1Api(api_client)
    api_client.close()


@pytest.fixture(scope="module")
def apps(kubeconfig: Path) -> Iterator[k8s.AppsV1Api]:
    api_client = k8s_config.new_client_from_config(config_file=str(kubeconfig))
    yield k8s.AppsV1Api(api_client)
    api_client.close()


def pod_body(name: str | None = None, **meta: Any) -> dict[str, Any]:
    metadata = {**({"name": name} if name else {}), **meta}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": [{"name": "app", "image": "registry.example.com/tools/hello:1.0"}]},
    }


def refusal(call: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(k8s.ApiException) as caught:
        call()
    return caught.value.status, json.loads(caught.value.body)


def test_create_returns_201_with_what_the_server_set(core: k8s.CoreV1Api) -> None:
    body = pod_body("made-1", uid="client-chosen", labels={"app": "made"})
    body["status"] = {"phase": "Succeeded"}
    raw = core.create_namespaced_pod(NS, body, _preload_content=False)
    assert raw.status == 201
    made = json.loads(raw.data)
    assert made["metadata"]["uid"] != "client-chosen" and made["metadata"]["resourceVersion"]
    assert made["metadata"]["creationTimestamp"] and made["metadata"]["namespace"] == NS
    assert made["status"]["phase"] == "Pending"  # status is the kubelet's to write
    assert made["spec"]["restartPolicy"] == "Always"
    assert made["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"


def test_already_exists_is_409(core: k8s.CoreV1Api) -> None:
    core.create_namespaced_config_map(NS, {"metadata": {"name": "once"}, "data": {"a": "1"}})
    status, body = refusal(lambda: core.create_namespaced_config_map(NS, {"metadata": {"name": "once"}}))
    assert status == 409
    assert (body["reason"], body["message"]) == ("AlreadyExists", 'configmaps "once" already exists')
    assert body["details"] == {"name": "once", "kind": "configmaps"}


def test_a_nameless_object_is_422(core: k8s.CoreV1Api) -> None:
    status, body = refusal(lambda: core.create_namespaced_pod(NS, pod_body()))
    assert (status, body["reason"]) == (422, "Invalid")
    assert (
        body["message"]
        == 'Pod "" is invalid: metadata.name: Required value: name or generateName is required'
    )
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value: name or generateName is required",
            "field": "metadata.name",
        }
    ]
    status, body = refusal(lambda: core.create_namespaced_pod(NS, pod_body("Not_A_Name")))
    assert status == 422 and "a lowercase RFC 1123 subdomain" in body["message"]
    container_less = {"metadata": {"name": "empty"}, "spec": {"containers": []}}
    status, body = refusal(lambda: core.create_namespaced_pod(NS, container_less))
    assert (status, body["message"]) == (422, 'Pod "empty" is invalid: spec.containers: Required value')


def test_namespace_mismatch_is_400_and_a_missing_namespace_404(core: k8s.CoreV1Api) -> None:
    status, body = refusal(lambda: core.create_namespaced_pod(NS, pod_body("moved", namespace="default")))
    assert (status, body["reason"]) == (400, "BadRequest")
    assert body["message"] == (
        "the namespace of the provided object does not match the namespace sent on the request"
    )
    status, body = refusal(lambda: core.create_namespaced_pod("nowhere", pod_body("lost")))
    assert (status, body["message"]) == (404, 'namespaces "nowhere" not found')


def test_generate_name_and_dry_run(core: k8s.CoreV1Api) -> None:
    made = core.create_namespaced_pod(NS, pod_body(generate_name="batch-"))
    assert made.metadata.name.startswith("batch-") and len(made.metadata.name) == len("batch-") + 5
    dry = core.create_namespaced_pod(NS, pod_body("dry-only"), dry_run="All")
    assert dry.metadata.name == "dry-only" and dry.metadata.uid
    status, _ = refusal(lambda: core.read_namespaced_pod("dry-only", NS))
    assert status == 404
    status, body = refusal(lambda: core.create_namespaced_pod(NS, pod_body("x"), dry_run="Some"))
    assert (status, body["message"]) == (
        422,
        'CreateOptions.meta.k8s.io "" is invalid: '
        'dryRun: Unsupported value: ["Some"]: supported values: "All"',
    )


def test_a_namespace_then_a_deployment_in_it(core: k8s.CoreV1Api, apps: k8s.AppsV1Api) -> None:
    namespace = core.create_namespace({"metadata": {"name": "fresh"}})
    assert namespace.status.phase == "Active"
    assert namespace.metadata.labels == {"kubernetes.io/metadata.name": "fresh"}
    labels = {"app": "fresh-web"}
    deployment = {
        "metadata": {"name": "fresh-web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "registry.example.com/web:1.0"}]},
            },
        },
    }
    made = apps.create_namespaced_deployment("fresh", deployment)
    assert made.metadata.generation == 1 and made.spec.strategy.type == "RollingUpdate"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod("fresh", label_selector="app=fresh-web").items
        if len(pods) == 2 and all(p.status.phase == "Running" for p in pods):
            break
        time.sleep(0.3)
    else:
        pytest.fail("the created Deployment never got two running pods")
    bad = {**deployment, "metadata": {"name": "mismatch"}}
    bad["spec"] = {**deployment["spec"], "selector": {"matchLabels": {"app": "other"}}}
    status, body = refusal(lambda: apps.create_namespaced_deployment("fresh", bad))
    assert status == 422 and "`selector` does not match template `labels`" in body["message"]


def test_a_pod_update_may_change_images_only(core: k8s.CoreV1Api) -> None:
    core.create_namespaced_pod(NS, pod_body("patched"))
    image = [{"name": "app", "image": "registry.example.com/tools/hello:1.1"}]
    changed = core.patch_namespaced_pod("patched", NS, {"spec": {"containers": image}})
    assert changed.spec.containers[0].image.endswith("hello:1.1")
    labelled = core.patch_namespaced_pod("patched", NS, {"metadata": {"labels": {"tier": "x"}}})
    assert labelled.metadata.labels == {"tier": "x"}
    status, body = refusal(
        lambda: core.patch_namespaced_pod("patched", NS, {"spec": {"restartPolicy": "Never"}})
    )
    assert status == 422 and "pod updates may not change fields other than" in body["message"]


def test_scale_subresource(apps: k8s.AppsV1Api, core: k8s.CoreV1Api) -> None:
    scale = apps.read_namespaced_deployment_scale("healthy-web", NS)
    assert scale.spec.replicas == 2 and scale.status.selector == "app=healthy-web"
    scaled = apps.patch_namespaced_deployment_scale("healthy-web", NS, {"spec": {"replicas": 3}})
    assert scaled.spec.replicas == 3
    assert apps.read_namespaced_deployment("healthy-web", NS).spec.replicas == 3
    status, body = refusal(
        lambda: apps.patch_namespaced_deployment_scale("healthy-web", NS, {"spec": {"replicas": -1}})
    )
    assert status == 422 and "spec.replicas: Invalid value: -1" in body["message"]


def test_secret_string_data_is_folded_into_data(core: k8s.CoreV1Api) -> None:
    made = core.create_namespaced_secret(
        NS, {"metadata": {"name": "folded"}, "data": {"a": "MQ=="}, "stringData": {"b": "two"}}
    )
    assert made.data == {"a": "MQ==", "b": "dHdv"} and made.string_data is None and made.type == "Opaque"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\x0a\x02hi", "provided object is not protobuf: missing the k8s magic prefix"),
        (b"k8s\x00\x12\x7f", "unable to decode the protobuf body: a field runs past the end"),
    ],
)
def test_a_broken_protobuf_body_is_400(lab: Lab, body: bytes, message: str) -> None:
    request = urllib.request.Request(f"{lab.url}/api/v1/namespaces/{NS}/configmaps", data=body, method="POST")
    request.add_header("Content-Type", "application/vnd.kubernetes.protobuf")
    request.add_header("Authorization", f"Bearer {lab.token}")
    context = lab.client_ssl_context()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, context=context, timeout=10)
    reply = json.loads(refused.value.read())
    assert (refused.value.code, reply["reason"], reply["message"]) == (400, "BadRequest", message)
