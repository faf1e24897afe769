"""API JSON -> records, over recorded `kubectl get -o json` documents and the shapes old servers write."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from kcrash.cluster.parse import (
    ParsedObjects,
    memory_usage,
    parse_deployment,
    parse_event,
    parse_objects,
    parse_pod,
    parse_pod_metrics,
    parse_replicaset,
    parse_time,
)
from kcrash.core.records import ContainerState, EnvRef, MemorySample, Probe

DATA = Path(__file__).resolve().parent.parent / "data"
MI = 2**20


def load(relative: str) -> Any:
    return orjson.loads((DATA / relative).read_bytes())


def case(name: str) -> ParsedObjects:
    return parse_objects(load(f"pods/{name}.json"))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- time -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-20T10:00:00Z", at("2026-11-20T10:00:00")),
        ("2026-11-20T10:00:00.123456789Z", at("2026-11-20T10:00:00.123456")),
        ("2026-11-20T10:00:00.5Z", at("2026-11-20T10:00:00.500000")),
        ("2026-11-20T12:00:00+02:00", at("2026-11-20T10:00:00")),
        ("2026-11-20T10:00:00", at("2026-11-20T10:00:00")),  # no zone: the API means UTC
        ("0001-01-01T00:00:00Z", None),  # Go's zero time
        ("0001-01-01T00:00:00+01:00", None),  # ...written east of UTC: before year 1 in UTC
        ("1970-01-01T00:00:00Z", None),  # containerd's "never started"
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_parse_time(value: str | None, expected: datetime | None) -> None:
    assert parse_time(value) == expected


# --- pods -------------------------------------------------------------------------------------------


def test_pod_metadata_and_status_from_a_recorded_pod() -> None:
    pod = case("crash-missing-env").pods[0]
    assert pod.key == ("crashlab", "crash-missing-env-6d8f7c9b5d-x2lqp")
    assert pod.uid and pod.resource_version
    assert pod.created_at == at("2026-11-20T10:00:00")
    assert dict(pod.labels) == {"app": "crash-missing-env", "pod-template-hash": "6d8f7c9b5d"}
    assert pod.controller is not None
    assert (pod.controller.kind, pod.controller.name) == ("ReplicaSet", "crash-missing-env-6d8f7c9b5d")
    assert (pod.phase, pod.node_name, pod.pod_ip, pod.restart_policy) == (
        "Running",
        "kind-worker",
        "10.244.1.17",
        "Always",
    )
    ready = pod.condition("Ready")
    assert ready is not None and (ready.status, ready.reason) == ("False", "ContainersNotReady")


def test_container_spec_resources_probes_and_env() -> None:
    pod = case("crash-missing-env").pods[0]
    spec = pod.spec_for("api")
    assert spec is not None
    assert (spec.image, spec.memory_limit, spec.memory_request, spec.cpu_request) == (
        "ghcr.io/kcrash/demo-api:1.8.0",
        256 * MI,
        128 * MI,
        100,
    )
    assert spec.env_names == ("LOG_LEVEL", "PORT")
    assert spec.readiness == Probe("readiness", "GET :8080/ready", 0, 5, 1, 3, 1)
    assert spec.liveness is None and spec.startup is None


def test_container_status_with_last_state() -> None:
    status = case("crash-missing-env").pods[0].status_for("api")
    assert status is not None
    assert (status.ready, status.started, status.restart_count) == (False, False, 5)
    assert status.state.kind == "waiting" and status.state.reason == "CrashLoopBackOff"
    assert status.state.message.startswith("back-off 2m40s restarting failed container=api")
    last = status.last_state
    assert last is not None
    assert (last.kind, last.exit_code, last.reason) == ("terminated", 1, "Error")
    assert (last.started_at, last.finished_at) == (at("2026-11-20T10:25:00"), at("2026-11-20T10:25:01"))
    assert last.container_id.startswith("containerd://")


def test_init_containers_native_sidecar_and_default_container() -> None:
    pod = case("multi-container").pods[0]
    assert [c.name for c in pod.containers] == ["app", "metrics"]
    assert [(c.name, c.init, c.sidecar) for c in pod.init_containers] == [
        ("wait-for-db", True, False),
        ("log-shipper", True, True),
    ]
    assert pod.default_container == "app"
    waited = pod.status_for("wait-for-db")
    assert waited is not None and waited.state == ContainerState(
        "terminated",
        reason="Completed",
        exit_code=0,
        started_at=at("2026-11-20T10:00:03"),
        finished_at=at("2026-11-20T10:00:12"),
        container_id=waited.state.container_id,
    )
    assert waited.last_state is None  # `lastState: {}` means none
    shipper = pod.status_for("log-shipper")
    assert shipper is not None and shipper.state.kind == "running" and shipper.ready


@pytest.mark.parametrize(
    ("fixture", "container", "started", "last_state_kind"),
    [
        ("unhealthy-137", "web", None, "terminated"),  # old kubelet: no `started`
        ("missing-laststate", "api", None, None),  # no `lastState` key at all
        ("healthy-web", "web", True, None),
        ("init-failing", "migrate", False, "terminated"),
    ],
)
def test_status_fields_old_and_new(
    fixture: str, container: str, started: bool | None, last_state_kind: str | None
) -> None:
    status = case(fixture).pods[0].status_for(container)
    assert status is not None
    assert status.started is started
    assert (status.last_state.kind if status.last_state else None) == last_state_kind


def test_start_error_epoch_start_time_is_unset() -> None:
    status = case("bad-command").pods[0].status_for("api")
    assert status is not None and status.last_state is not None
    assert status.last_state.reason == "StartError"
    assert status.last_state.started_at is None
    assert status.last_state.finished_at == at("2026-11-20T10:28:21")
    assert 'exec: "pyhton"' in status.last_state.message


def test_probe_defaults_filled_for_a_sparse_manifest() -> None:
    spec = case("unhealthy-137").pods[0].spec_for("web")
    assert spec is not None
    assert spec.liveness == Probe("liveness", "GET :8080/status", 15, 10, 1, 3, 1)


def _probe_handler(probe: dict[str, Any]) -> str:
    pod = parse_pod({"spec": {"containers": [{"name": "c", "livenessProbe": probe}]}})
    assert pod.containers[0].liveness is not None
    return pod.containers[0].liveness.handler


@pytest.mark.parametrize(
    ("probe", "handler"),
    [
        ({"httpGet": {"path": "/healthz", "port": 8080}}, "GET :8080/healthz"),
        ({"httpGet": {"path": "healthz", "port": "http", "scheme": "HTTP"}}, "GET :http/healthz"),
        ({"httpGet": {"port": 8443, "scheme": "HTTPS", "host": "10.0.0.1"}}, "GET https://10.0.0.1:8443/"),
        ({"tcpSocket": {"port": 5432}}, "tcp :5432"),
        ({"grpc": {"port": 9090}}, "grpc :9090"),
        ({"grpc": {"port": 9090, "service": "health"}}, "grpc :9090 health"),
        ({"exec": {"command": ["cat", "/tmp/ready"]}}, "exec: cat /tmp/ready"),
        ({"periodSeconds": 5}, "unknown handler"),
    ],
)
def test_probe_handlers(probe: dict[str, Any], handler: str) -> None:
    assert _probe_handler(probe) == handler


def test_env_refs_from_env_envfrom_and_mounted_volumes() -> None:
    pod = parse_pod(load("parse/pod-env-refs.json"))
    spec = pod.spec_for("api")
    assert spec is not None
    assert spec.env_names == ("PLAIN_PASSWORD", "POD_IP")
    assert spec.env_refs == (
        EnvRef("Secret", "db", "password", "DB_PASSWORD"),
        EnvRef("ConfigMap", "flags", "features", "FEATURES", optional=True),
        EnvRef("ConfigMap", "app-env", via="envFrom"),
        EnvRef("Secret", "app-secrets", optional=True, via="envFrom"),
        EnvRef("Secret", "api-tls", "tls.crt", via="volume"),
        EnvRef("Secret", "api-tls", "tls.key", via="volume"),
        EnvRef("ConfigMap", "api-conf", via="volume"),
        EnvRef("Secret", "bundle-secret", via="volume"),
        EnvRef("ConfigMap", "bundle-cm", "a", via="volume"),
    )


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("parse/pod-env-refs.json", "hunter2-plain-value"),
        ("pods/missing-env-keyerror.json", "tok-do-not-leak-9f8e7d"),
    ],
)
def test_env_values_are_never_kept(source: str, value: str) -> None:
    parsed = parse_objects(load(source))
    assert parsed.pods
    assert value not in repr(parsed)


def test_secret_objects_are_dropped_unread() -> None:
    doc = load("parse/mixed-list.json")
    parsed = parse_objects(doc)
    text = repr(parsed)
    for secret_bit in ("c3VwZXItc2VjcmV0LXZhbHVl", "plain-secret-token", "Opaque"):
        assert secret_bit not in text
    assert [p.name for p in parsed.pods] == ["web-1"]


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"metadata": None, "spec": None, "status": None},
        {"spec": {"containers": [None, {"name": "a", "resources": None, "env": [{"name": "X"}, None]}]}},
        {
            "status": {
                "containerStatuses": [{"name": "a", "state": {}, "lastState": None, "restartCount": "3"}]
            }
        },
        {"spec": {"containers": [{"name": "a", "resources": {"limits": {"memory": "not-a-size"}}}]}},
    ],
)
def test_parse_pod_tolerates_missing_and_malformed_fields(obj: dict[str, Any]) -> None:
    pod = parse_pod(obj)
    assert pod.namespace == "default"
    assert pod.restart_policy == "Always"
    for status in pod.container_statuses:
        assert status.state.kind == "unknown" and status.last_state is None
    for spec in pod.containers:
        assert spec.memory_limit is None


def test_plain_byte_and_exponent_quantities_from_an_api_podlist() -> None:
    parsed = parse_objects(load("parse/podlist-api.json"))
    assert [p.name for p in parsed.pods] == ["legacy-0", "legacy-1"]
    spec = parsed.pods[0].spec_for("app")
    assert spec is not None
    assert (spec.memory_limit, spec.memory_request, spec.cpu_limit) == (256 * MI, 100_000_000, 500)
    assert spec.liveness is not None and spec.liveness.handler == "exec: cat /tmp/healthy"
    crashing = parsed.pods[1].status_for("app")
    assert crashing is not None and crashing.last_state is not None
    assert crashing.last_state.started_at is None and crashing.last_state.exit_code == 1


# --- events -----------------------------------------------------------------------------------------


def test_core_v1_event() -> None:
    events = case("slow-start-liveness").events
    killing = next(e for e in events if e.reason == "Killing")
    assert (killing.type, killing.count, killing.container) == ("Normal", 7, "web")
    assert killing.message == "Container web failed liveness probe, will be restarted"
    assert killing.involved_kind == "Pod" and killing.involved_name.startswith("slow-start-liveness-")
    assert (killing.first_seen, killing.last_seen) == (at("2026-11-20T10:00:20"), at("2026-11-20T10:27:00"))
    assert killing.source == "kubelet, kind-worker"


def test_init_container_events_name_their_container() -> None:
    events = case("init-failing").events
    assert {e.container for e in events if e.reason == "BackOff"} == {"migrate"}


@pytest.mark.parametrize(
    ("index", "reason", "message", "count", "first", "last"),
    [
        (
            0,
            "BackOff",
            "Back-off restarting failed container web in pod "
            "web-5c6d7f8b9-9mnbv_crashlab(8f14e45f-ceea-467f-a0e6-2a1b3c4d5e6f)",
            14,
            "2026-11-20T10:02:11",
            "2026-11-20T10:27:40",
        ),
        (
            1,
            "Unhealthy",
            "Liveness probe failed: HTTP probe failed with statuscode: 500",
            9,
            "2026-11-20T10:05:00.123456",
            "2026-11-20T10:29:30.500000",
        ),
    ],
)
def test_events_k8s_io_v1_shape(
    index: int, reason: str, message: str, count: int, first: str, last: str
) -> None:
    event = parse_objects(load("parse/events-k8s-io.json")).events[index]
    assert (event.reason, event.message, event.count, event.type) == (reason, message, count, "Warning")
    assert (event.first_seen, event.last_seen) == (at(first), at(last))
    assert (event.involved_name, event.container, event.source) == (
        "web-5c6d7f8b9-9mnbv",
        "web",
        "kubelet, kind-worker",
    )


def test_event_without_any_time_or_count() -> None:
    event = parse_event({"reason": "Pulled", "involvedObject": {"name": "p"}})
    assert (event.count, event.first_seen, event.last_seen, event.type) == (1, None, None, "Normal")


# --- workloads --------------------------------------------------------------------------------------


def test_deployment_and_its_revisions() -> None:
    parsed = case("bad-rollout")
    deployment = parsed.deployments[0]
    assert (deployment.name, deployment.revision, deployment.replicas, deployment.ready_replicas) == (
        "bad-rollout",
        3,
        2,
        2,
    )
    assert deployment.selector == (("app", "bad-rollout"),)
    assert [c.image for c in deployment.containers] == ["ghcr.io/kcrash/orders:2.3.0"]
    revisions = parsed.revisions_of(deployment)
    assert [(r.number, r.template_hash, r.ready_replicas) for r in revisions] == [
        (1, "5f6d7c8b9", 0),
        (2, "7d9c5b6f8", 2),
        (3, "8c7f6d9b5", 0),
    ]
    assert (
        revisions[-1].change_cause
        == "kubectl set image deployment/bad-rollout api=ghcr.io/kcrash/orders:2.3.0"
    )
    assert revisions[1].images == ("ghcr.io/kcrash/orders:2.2.1",)


def test_deployment_defaults() -> None:
    deployment = parse_deployment({"metadata": {"name": "d"}, "spec": {"paused": True}})
    assert (deployment.replicas, deployment.revision, deployment.paused) == (1, 0, True)
    assert parse_deployment({"spec": {"replicas": 0}}).replicas == 0


def test_replicaset_hash_from_template_labels_when_metadata_lacks_it() -> None:
    parsed = parse_objects(load("parse/mixed-list.json"))
    assert {r.name: r.template_hash for r in parsed.revisions} == {
        "web-6d5f": "6d5f",
        "web-5c4e": "5c4e",
        "orphan-1": "",
    }
    assert [r.name for r in parsed.revisions_of(parsed.deployments[0])] == ["web-5c4e", "web-6d5f"]
    assert parse_replicaset({}).number == 0


# --- metrics ----------------------------------------------------------------------------------------


def test_pod_metrics_list() -> None:
    parsed = parse_objects(load("parse/podmetrics-list.json"))
    when = at("2026-11-20T10:29:31")
    assert parsed.metrics_for("crashlab", "checkout-5d9f8c7b6-b8rvk") == (
        MemorySample(when, "app", 187340 * 1024),
        MemorySample(when, "metrics", 9 * MI),
        MemorySample(when, "log-shipper", 23068672),
    )
    # An unparseable quantity is no data, not zero.
    assert [s.container for s in parsed.metrics_for("crashlab", "healthy-web-5c6d7f8b9-9mnbv")] == ["web"]
    assert parsed.metrics_for("crashlab", "no-timestamp") == ()
    assert parsed.metrics_for("crashlab", "absent") == ()


def test_metrics_snapshots_merge_in_time_order() -> None:
    parsed = parse_objects(load("pods/oom-leak.metrics.json")[::-1])
    samples = parsed.metrics_for("crashlab", "oom-leak-7f6b5c4d9-r8tnm")
    assert len(samples) == 16
    assert [s.at for s in samples] == sorted(s.at for s in samples)
    assert (samples[0].bytes, samples[-1].bytes) == (40 * MI, 235 * MI)


def test_parse_pod_metrics_single_object() -> None:
    sample = parse_pod_metrics(load("parse/mixed-list.json")["items"][-1])
    assert sample == (MemorySample(at("2026-11-20T10:01:00"), "web", 10 * MI),)


@pytest.mark.parametrize(
    "item",
    [
        {"timestamp": "2026-11-20T10:01:00Z", "containers": [{"name": "a", "usage": {"memory": "40960Ki"}}]},
        {"timestamp": "2026-11-20T10:01:00Z", "containers": [{"name": "a", "usage": {"cpu": "5m"}}]},
        {"timestamp": "2026-11-20T10:01:00Z", "containers": [{"name": "a", "usage": "broken"}, "junk"]},
        {"timestamp": "2026-11-20T10:01:00Z", "containers": [{"name": "b", "usage": {"memory": "1.5Gi"}}]},
        {"timestamp": "2026-11-20T10:01:00Z", "containers": [{"name": "b", "usage": {"memory": "lots"}}]},
        {"containers": [{"name": "a", "usage": {"memory": "1Mi"}}]},
        {"timestamp": "2026-11-20T10:01:00Z", "containers": "none"},
    ],
)
def test_memory_usage_reads_what_parse_pod_metrics_reads(item: dict[str, Any]) -> None:
    stamp, usage = memory_usage(item)
    samples = parse_pod_metrics(item)
    assert usage == [(s.container, s.bytes) for s in samples] or not stamp
    assert all(s.at == at(stamp.removesuffix("Z")) for s in samples)


# --- documents --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "counts"),
    [
        (load("pods/bad-image-tag.json"), (1, 6, 1, 2)),
        (load("parse/mixed-list.json"), (1, 1, 1, 3)),
        (load("parse/podlist-api.json"), (2, 0, 0, 0)),
        (load("parse/events-k8s-io.json"), (0, 2, 0, 0)),
        (load("pods/healthy-web.json")["items"][0], (1, 0, 0, 0)),  # a bare Pod
        ([load("pods/healthy-web.json"), load("parse/podlist-api.json")], (3, 2, 0, 0)),  # several documents
        (
            {"type": "MODIFIED", "object": load("pods/healthy-web.json")["items"][0]},
            (1, 0, 0, 0),
        ),  # a watch line
        ({"kind": "PodList", "items": None}, (0, 0, 0, 0)),
        (None, (0, 0, 0, 0)),
        ("not a document", (0, 0, 0, 0)),
        ([1, 2, 3], (0, 0, 0, 0)),
    ],
)
def test_parse_objects_sorts_documents_by_kind(doc: Any, counts: tuple[int, int, int, int]) -> None:
    parsed = parse_objects(doc)
    assert (len(parsed.pods), len(parsed.events), len(parsed.deployments), len(parsed.revisions)) == counts


# --- what pods of one template share ----------------------------------------------------------------


def replica(
    name: str,
    *,
    token_volume: str = "kube-api-access-abcde",
    image: str = "shop/api:1.0",
    settings: str = "shop-settings",
    ready_since: str = "2026-11-20T10:00:05Z",
) -> dict[str, Any]:
    """A pod as a ReplicaSet makes them: the same containers, its own token volume name."""
    return {
        "metadata": {"name": name, "namespace": "shop", "uid": f"u-{name}"},
        "spec": {
            "containers": [
                {
                    "name": "api",
                    "image": image,
                    "resources": {"limits": {"memory": "256Mi"}},
                    "volumeMounts": [
                        {"name": token_volume, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
                        {"name": "settings", "mountPath": "/etc/shop"},
                    ],
                }
            ],
            "volumes": [
                {
                    "name": token_volume,
                    "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt"}}]},
                },
                {"name": "settings", "configMap": {"name": settings}},
            ],
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": ready_since},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-20T10:00:00Z"},
            ],
        },
    }


MOUNTED = (
    EnvRef("ConfigMap", "kube-root-ca.crt", via="volume"),
    EnvRef("ConfigMap", "shop-settings", via="volume"),
)


@pytest.mark.parametrize(
    ("other", "shared", "refs"),
    [
        pytest.param(replica("b", token_volume="kube-api-access-zzzzz"), True, MOUNTED, id="token-name-only"),
        pytest.param(replica("b", image="shop/api:1.1"), False, MOUNTED, id="other-image"),
        pytest.param(
            replica("b", settings="shop-settings-v2"),
            False,
            (MOUNTED[0], EnvRef("ConfigMap", "shop-settings-v2", via="volume")),
            id="same-container-other-volume",
        ),
    ],
)
def test_container_specs_are_shared_only_when_equal(
    other: dict[str, Any], shared: bool, refs: tuple[EnvRef, ...]
) -> None:
    first, second = parse_pod(replica("a")), parse_pod(other)
    assert first.containers[0].env_refs == MOUNTED
    assert second.containers[0].env_refs == refs
    assert (first.containers[0] is second.containers[0]) is shared
    assert second.containers[0].memory_limit == 256 * MI


def test_yaml_values_that_are_not_json_are_parsed_not_shared() -> None:
    # A YAML paste turns an unquoted timestamp into a datetime: no JSON key, built every time.
    odd = replica("a")
    odd["spec"]["containers"][0]["args"] = [datetime(2026, 11, 20, tzinfo=UTC)]
    odd["status"]["conditions"][0]["lastTransitionTime"] = datetime(2026, 11, 20, tzinfo=UTC)
    first, second = parse_pod(odd), parse_pod(odd)
    assert first.containers[0].args == ("2026-11-20 00:00:00+00:00",)
    assert first.containers[0] == second.containers[0]
    assert first.containers[0] is not second.containers[0]
    assert first.condition("Ready") is not None
