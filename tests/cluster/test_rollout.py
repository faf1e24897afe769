"""Rollout undo: kubectl's recipe piece by piece (pure), then the real thing against the lab."""

from __future__ import annotations

import copy
import time
from typing import Any

import orjson
import pytest

from kcrash.cluster.errors import KcrashError
from kcrash.cluster.rollout import (
    ANNOTATIONS_TO_SKIP,
    equal_ignore_hash,
    label_selector,
    paused_message,
    previous_revision,
    restored_annotations,
    revision_of,
    rollback_patch,
    skipped_message,
    template_changes,
)
from kcrash.core.records import ContainerSpec, EnvRef, Probe

DEPLOY_UID = "d-1"


def template(image: str, hash_: str = "", env: tuple[str, ...] = ()) -> dict[str, Any]:
    labels = {"app": "web"}
    if hash_:
        labels["pod-template-hash"] = hash_
    return {
        "metadata": {"labels": labels, "creationTimestamp": None},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": image,
                    "env": [{"name": n, "value": "x"} for n in env],
                    "resources": {},
                }
            ],
            "restartPolicy": "Always",
        },
    }


def replicaset(
    name: str, revision: str | None, image: str, created: str, **annotations: str
) -> dict[str, Any]:
    notes = dict(annotations)
    if revision is not None:
        notes["deployment.kubernetes.io/revision"] = revision
    return {
        "metadata": {
            "name": name,
            "namespace": "crashlab",
            "uid": f"rs-{name}",
            "creationTimestamp": created,
            "annotations": notes,
            "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": DEPLOY_UID, "controller": True}],
        },
        "spec": {"template": template(image, hash_=name[-5:])},
    }


def deployment(image: str, revision: str = "3", paused: bool = False) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web",
            "namespace": "crashlab",
            "uid": DEPLOY_UID,
            "annotations": {
                "deployment.kubernetes.io/revision": revision,
                "kubectl.kubernetes.io/last-applied-configuration": "{...}",
                "team": "payments",
            },
        },
        "spec": {"paused": paused, "template": template(image), "selector": {"matchLabels": {"app": "web"}}},
    }


HISTORY = [
    replicaset("web-aaaaa", "1", "web:1", "2024-01-01T00:00:00Z"),
    replicaset("web-bbbbb", "2", "web:2", "2024-01-02T00:00:00Z", **{"kubernetes.io/change-cause": "v2"}),
    replicaset("web-ccccc", "3", "web:3", "2024-01-03T00:00:00Z"),
]


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ({"deployment.kubernetes.io/revision": "7"}, 7),
        ({}, 0),  # absent counts as revision 0, as in deploymentutil.Revision
        ({"deployment.kubernetes.io/revision": "x"}, None),  # unparsable: kubectl skips it
    ],
)
def test_revision_of(annotations: dict[str, str], expected: int | None) -> None:
    assert revision_of({"metadata": {"annotations": annotations}}) == expected


@pytest.mark.parametrize(
    ("replicasets", "expected_name", "expected_revision"),
    [
        (HISTORY, "web-bbbbb", 2),
        (list(reversed(HISTORY)), "web-bbbbb", 2),  # list order does not matter
        (HISTORY[:2], "web-aaaaa", 1),
        (
            [HISTORY[0], replicaset("web-zzzzz", "x", "web:z", "2024-01-05T00:00:00Z"), HISTORY[2]],
            "web-aaaaa",
            1,
        ),
    ],
)
def test_previous_revision_is_second_highest(
    replicasets: list[dict[str, Any]], expected_name: str, expected_revision: int
) -> None:
    target, revision = previous_revision(deployment("web:3"), replicasets)
    assert (target["metadata"]["name"], revision) == (expected_name, expected_revision)


def test_no_history_is_kubectls_error() -> None:
    with pytest.raises(KcrashError, match='no rollout history found for deployment "web"'):
        previous_revision(deployment("web:3"), HISTORY[2:])


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (template("web:1", hash_="aaaaa"), template("web:1"), True),  # hash label ignored
        (template("web:1"), template("web:2"), False),
        (template("web:1", env=("A",)), template("web:1"), False),
        (
            {**template("web:1"), "spec": {**template("web:1")["spec"], "volumes": []}},
            template("web:1"),
            True,
        ),
    ],
)
def test_equal_ignore_hash(a: dict[str, Any], b: dict[str, Any], equal: bool) -> None:
    assert equal_ignore_hash(a, b) is equal


def test_patch_replaces_template_without_hash_and_keeps_the_deployments_own_annotations() -> None:
    target = copy.deepcopy(HISTORY[1])
    target["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] = "5,7"
    target["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{old}"
    ops = rollback_patch(deployment("web:3"), target)
    assert [(op["op"], op["path"]) for op in ops] == [
        ("replace", "/spec/template"),
        ("replace", "/metadata/annotations"),
    ]
    assert ops[0]["value"]["metadata"]["labels"] == {"app": "web"}
    assert ops[0]["value"]["spec"]["containers"][0]["image"] == "web:2"
    assert ops[1]["value"] == {
        "deployment.kubernetes.io/revision": "3",  # the deployment's, not the ReplicaSet's
        "kubectl.kubernetes.io/last-applied-configuration": "{...}",
        "kubernetes.io/change-cause": "v2",  # copied from the ReplicaSet
    }
    # "team" is on the deployment only and not in the skip list: kubectl drops it, so do we.
    assert "team" not in ops[1]["value"]
    assert "deployment.kubernetes.io/revision" in ANNOTATIONS_TO_SKIP
    assert restored_annotations(deployment("web:3"), target) == ops[1]["value"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2"),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["b", "a"]},
                    {"key": "env", "operator": "NotIn", "values": ["dev"]},
                    {"key": "owner", "operator": "Exists"},
                    {"key": "legacy", "operator": "DoesNotExist"},
                ],
            },
            "app=web,tier in (a,b),env notin (dev),owner,!legacy",
        ),
        ({}, ""),
    ],
)
def test_label_selector(selector: dict[str, Any], expected: str) -> None:
    assert label_selector(selector) == expected


def test_kubectl_texts() -> None:
    assert paused_message("web") == (
        "you cannot rollback a paused deployment; resume it first with "
        "'kubectl rollout resume deployment/web' and try again"
    )
    assert skipped_message(2) == "skipped rollback (current template already matches revision 2)"


PROBE = Probe("liveness", "GET :8080/healthz", initial_delay_seconds=5)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (
            ContainerSpec("app", "shop:2.0"),
            ContainerSpec("app", "shop:1.9"),
            ["app: image shop:2.0 → shop:1.9"],
        ),
        (
            ContainerSpec("app", "x", env_names=("A", "B")),
            ContainerSpec(
                "app", "x", env_names=("A",), env_refs=(EnvRef("Secret", "db", "pw", env_name="DB_PASSWORD"),)
            ),
            ["app: env adds DB_PASSWORD", "app: env drops B"],
        ),
        (
            ContainerSpec("app", "x", memory_limit=64 * 2**20),
            ContainerSpec("app", "x", memory_limit=128 * 2**20),
            ["app: memory limit 64Mi → 128Mi"],
        ),
        (
            ContainerSpec("app", "x", command=("run",), liveness=PROBE),
            ContainerSpec("app", "x", command=("serve", "--port", "80")),
            [
                "app: command `run` → `serve --port 80`",
                "app: liveness probe GET :8080/healthz (delay 5s, every 10s, timeout 1s, 3 failures) → none",
            ],
        ),
        (
            ContainerSpec("app", "x"),
            ContainerSpec("app", "x"),
            ["containers unchanged (the template differs elsewhere: labels, volumes or pod settings)"],
        ),
    ],
)
def test_template_changes(before: ContainerSpec, after: ContainerSpec, expected: list[str]) -> None:
    assert template_changes((before,), (after,)) == expected


# -- against the lab ------------------------------------------------------------------------------


def _bad_rollout_pod(source: Any) -> Any:
    pods = [p for p in source.list_pods() if p.name.startswith("bad-rollout-")]
    assert pods, "the lab has no bad-rollout pods"
    return max(pods, key=lambda p: p.created_at or 0)


def test_history_of_a_pod(source: Any) -> None:
    pod = _bad_rollout_pod(source)
    deployment_, revisions = source.deployment_history(pod)
    assert deployment_ is not None and deployment_.name == pod.controller.name.rsplit("-", 1)[0]
    assert [r.number for r in revisions] == sorted(r.number for r in revisions)
    assert len(revisions) >= 2


def test_read_only_sends_no_write(lab: Any, read_only_source: Any) -> None:
    pod = _bad_rollout_pod(read_only_source)
    lab.faults.clear_requests()
    plan = read_only_source.plan_undo(pod)
    assert plan.dry_run_error == "not checked: read-only mode"
    with pytest.raises(KcrashError):
        read_only_source.execute_undo(plan)
    with pytest.raises(KcrashError, match="read-only"):
        read_only_source.delete_pod(pod)
    access = read_only_source.access()
    assert not access.delete_pods.allowed and not access.patch_deployments.allowed
    writes = [r for r in lab.faults.requests() if r.method in ("POST", "PUT", "PATCH", "DELETE")]
    assert writes == []


def test_undo_sends_one_json_patch_after_its_dry_run_and_the_pods_recover(lab: Any, source: Any) -> None:
    pod = _bad_rollout_pod(source)
    lab.faults.clear_requests()
    plan = source.plan_undo(pod)
    assert plan.ready, plan
    assert plan.to_revision == plan.from_revision - 1
    assert any("image" in line for line in plan.changes)
    assert plan.kubectl.endswith(
        f"rollout undo deployment/{plan.deployment} --to-revision={plan.to_revision}"
    )
    assert [op["path"] for op in orjson.loads(plan.patch)] == ["/spec/template", "/metadata/annotations"]

    result = source.execute_undo(plan)
    assert result == f"deployment.apps/{plan.deployment} rolled back"
    patches = lab.faults.requests("PATCH")
    assert len(patches) == 2  # the dry run, then the real one
    assert all(p.content_type.startswith("application/json-patch+json") for p in patches)
    assert "dryRun=All" in patches[0].query
    assert "dryRun" not in patches[1].query
    assert lab.faults.requests("POST") == [] and lab.faults.requests("DELETE") == []

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pods = [p for p in source.list_pods() if p.name.startswith("bad-rollout-")]
        if pods and all(p.container_statuses and p.container_statuses[0].ready for p in pods):
            break
        time.sleep(0.2)
    else:
        pytest.fail("bad-rollout pods did not recover after the undo")

    # What kcrash shows as history afterwards: each revision with its own change-cause.
    _, revisions = source.deployment_history(_bad_rollout_pod(source))
    causes = {r.number: r.change_cause for r in revisions}
    assert causes[plan.from_revision + 1] == "deploy api 1.4.2", causes
    assert causes[plan.from_revision].endswith("api=registry.example.com/shop/api:1.5.0"), causes

    again = source.plan_undo(_bad_rollout_pod(source))
    # Undoing twice flips back to the broken revision, exactly as kubectl would.
    assert again.to_revision != again.from_revision


def test_paused_deployment_is_refused_with_kubectls_words(lab: Any, source: Any) -> None:
    pod = next(p for p in source.list_pods() if p.name.startswith("bad-rollout-"))
    name = pod.controller.name.rsplit("-", 1)[0]
    lab.store.mutate("deployments", "crashlab", name, lambda d: d["spec"].__setitem__("paused", True))
    lab.faults.clear_requests()
    plan = source.plan_undo(pod)
    assert plan.refused == paused_message(name)
    assert not plan.ready
    with pytest.raises(KcrashError, match="you cannot rollback a paused deployment"):
        source.execute_undo(plan)
    assert lab.faults.requests("PATCH") == []
