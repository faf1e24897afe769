"""Deleting a pod: one DELETE, guarded by the pod's UID, and the owner brings a replacement."""

from __future__ import annotations

import time
from typing import Any

import msgspec.structs
import pytest

from kcrash.cluster.actions import after_delete, what_happens_next
from kcrash.cluster.errors import KcrashError
from kcrash.cluster.source import ClusterSource
from kcrash.core.records import OwnerRef, Pod


@pytest.mark.parametrize(
    ("owners", "expected"),
    [
        (
            (OwnerRef("ReplicaSet", "web-5d8f", controller=True),),
            "its ReplicaSet web-5d8f will create a replacement",
        ),
        (
            (OwnerRef("StatefulSet", "db", controller=True),),
            "its StatefulSet db will recreate it with the same name",
        ),
        ((), "nothing owns it, so it is gone for good"),
        ((OwnerRef("Rollout", "r", controller=True),), "its Rollout r decides whether it comes back"),
    ],
)
def test_what_happens_next(owners: tuple[OwnerRef, ...], expected: str) -> None:
    assert what_happens_next(Pod("ns", "p", owners=owners)) == expected


RS = (OwnerRef("ReplicaSet", "web-5d8f", controller=True),)


@pytest.mark.parametrize(
    ("owners", "failing", "says", "never_says"),
    [
        ((), True, ["gone for good", "nothing replaces it"], ["replacement", "same way", "come back"]),
        ((), False, ["gone for good"], ["replacement", "same way"]),
        (
            RS,
            True,
            ["ReplicaSet web-5d8f will create a replacement", "likely fail the same way"],
            ["gone for good"],
        ),
        (RS, False, ["ReplicaSet web-5d8f will create a replacement"], ["same way", "gone for good"]),
    ],
)
def test_the_delete_dialog_tells_one_story(
    owners: tuple[OwnerRef, ...], failing: bool, says: list[str], never_says: list[str]
) -> None:
    text = after_delete(Pod("ns", "p", owners=owners), failing=failing)
    assert all(words in text for words in says), text
    assert not any(words in text for words in never_says), text


def _healthy_pod(source: ClusterSource) -> Pod:
    pods = [
        p for p in source.list_pods() if p.name.startswith("healthy-web-") and p.deletion_timestamp is None
    ]
    assert pods
    return pods[0]


def test_delete_sends_one_delete_and_a_replacement_appears(lab: Any, source: ClusterSource) -> None:
    pod = _healthy_pod(source)
    before = {p.uid for p in source.list_pods() if p.name.startswith("healthy-web-")}
    lab.faults.clear_requests()

    result = source.delete_pod(pod)

    owner = pod.controller
    assert owner is not None
    assert result == f"pod/{pod.name} deleted; its ReplicaSet {owner.name} will create a replacement"
    writes = [r for r in lab.faults.requests() if r.method != "GET"]
    assert [(r.method, r.path) for r in writes] == [
        ("DELETE", f"/api/v1/namespaces/crashlab/pods/{pod.name}")
    ]
    assert writes[0].content_type.startswith("application/json")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = [
            p
            for p in source.list_pods()
            if p.name.startswith("healthy-web-") and p.deletion_timestamp is None
        ]
        if any(p.uid not in before for p in now):
            return
        time.sleep(0.1)
    pytest.fail("no replacement pod appeared")


def test_a_stale_uid_deletes_nothing(lab: Any, source: ClusterSource) -> None:
    pod = _healthy_pod(source)
    impostor = msgspec.structs.replace(pod, uid="00000000-0000-0000-0000-000000000000")
    lab.faults.clear_requests()
    with pytest.raises(KcrashError) as info:
        source.delete_pod(impostor)
    assert info.value.status == 409
    assert "newer pod" in str(info.value)
    assert len(lab.faults.requests("DELETE")) == 1
    still = source.api.get_pod(pod.namespace, pod.name)
    assert still.uid == pod.uid and still.deletion_timestamp is None


def test_deleting_a_gone_pod_says_so(source: ClusterSource) -> None:
    ghost = Pod("crashlab", "no-such-pod", uid="u")
    with pytest.raises(KcrashError, match="already gone"):
        source.delete_pod(ghost)


def test_delete_when_forbidden_is_one_line(lab: Any, source: ClusterSource) -> None:
    pod = _healthy_pod(source)
    lab.faults.deny("delete", "pods")
    try:
        with pytest.raises(KcrashError) as info:
            source.delete_pod(pod)
    finally:
        lab.faults.allow("delete", "pods")
    assert info.value.status == 403 and "\n" not in str(info.value)
